"""Bad input: each gets Redis's reply (compared with real redis-server), the offending
connection is closed as Redis closes it, and the server and its other clients carry on."""
import socket
import time

import pytest

from tests.servers import RawClient, encode_command

MALFORMED = [
    b"*abc\r\n",
    b"*3000000000\r\n",
    b"*1\r\n$3000000000\r\n",                 # a 3 GB declared bulk: refused before any payload
    b"*1\r\n$-1\r\n",
    b"*1\r\n$04\r\nPING\r\n",
    b"*1\r\n+PING\r\n",
    b"*2\r\n$4\r\nECHO\r\n:5\r\n",
    b'SET a "b\r\n',
    b"SET a 'b'c\r\n",
    b"PING\r\n*1\r\n$x\r\n",                  # a good command, then garbage in the same read
    b"*1\r\n$4\r\nPING\r\n*1\r\n+x\r\nPING\r\n",
    b"x" * (70 * 1024),                       # an inline request past 64 KB without a newline
    b"*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n",         # an array nested in a command
    b"*1\r\n$4\r\nPING\r\n*1\r\n*0\r\n",
    b"*01\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n+OK\r\n",               # a simple string where a bulk belongs
    b"*3\r\n$3\r\nSET\r\n+ab\r\n=5\r\ntxt:x\r\n",     # a simple string and a verbatim one
    b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$4\r\n+inf\r\n*1\r\n-x\r\n",  # `+inf` is a payload; `-x` is not
]


def exchange(port, data: bytes) -> bytes:
    """Send data, then read everything until the server closes the connection."""
    client = RawClient(port)
    try:
        client.send_raw(data)
        return client.read_until_closed(timeout=10)
    finally:
        client.close()


@pytest.mark.parametrize("data", MALFORMED, ids=lambda d: repr(d[:24]))
def test_malformed_requests_get_redis_reply_and_close(real_redis, shared_redwood, data):
    bystander = shared_redwood.raw()
    try:
        expected = exchange(real_redis.port, data)
        assert expected.startswith((b"-ERR Protocol error", b"+PONG"))
        assert exchange(shared_redwood.port, data) == expected
        assert bystander.call("PING") == b"+PONG\r\n"     # other clients carry on
    finally:
        bystander.close()


def test_inline_commands_like_redis(diff):
    for line in (b"SET k 'a b'\r\n", b"GET k\r\n", b"  \r\n", b'ECHO "\\x41\\n"\r\n', b"PING\n",
                 b"MGET k nokey\r\n", b"NOSUCH a\r\n"):
        diff.redis.send_raw(line)
        diff.redwood.send_raw(line)
        if line.strip():
            assert diff.redwood.read_reply() == diff.redis.read_reply(), line
    assert diff("PING") == b"+PONG\r\n"


def test_wrong_types_and_arity(diff):
    diff.run(["SET s v", "SETBIT b 1 1", "INCR s", "GETRANGE s", "SETRANGE s 1", "BITCOUNT s 1",
              ("GET", "a", "b"), "GETBIT s x", "EXPIRE s abc", "LCS s"])


def test_binary_and_empty_keys_and_values(diff):
    for key in (b"", b"\x00", b"\r\n", bytes(range(256))):
        diff("SET", key, key + b"v")
        diff("GET", key)
        diff("APPEND", key, b"\x00\xff")
        diff("STRLEN", key)
        diff("EXISTS", key)


def test_one_megabyte_values(diff):
    value = bytes(range(256)) * 4096
    diff("SET", "big", value)
    assert diff("GET", "big") == b"$%d\r\n%s\r\n" % (len(value), value)
    diff("APPEND", "big", value)
    diff("STRLEN", "big")
    diff("GETRANGE", "big", "1048570", "1048580")


def test_mset_with_100k_arguments(diff):
    argv = ["MSET"]
    for i in range(50_000):
        argv += [f"key:{i}", f"value:{i}"]
    diff(*argv)
    diff("DBSIZE")
    diff("MGET", "key:0", "key:49999", "key:50000")


def test_pipelined_burst_gets_every_reply_in_order(shared_redwood):
    client = shared_redwood.raw()
    try:
        client.send_raw(b"".join(encode_command(("INCR", "burst")) for _ in range(10_000)))
        assert [client.read_reply() for _ in range(10_000)][-1] == b":10000\r\n"
    finally:
        client.close()


def used_memory(client) -> int:
    info = client.call("INFO", "memory")
    for line in info.split(b"\r\n"):
        if line.startswith(b"used_memory:"):
            return int(line.split(b":")[1])
    raise AssertionError("no used_memory in INFO memory")


def test_oversized_request_is_cut_off_without_buffering_it(redwood_server):
    """A client streaming a 1 GB argument past client-query-buffer-limit is disconnected
    once it passes the limit; the server's memory does not grow by the payload."""
    server = redwood_server.start()
    admin = server.raw()
    try:
        assert admin.call("CONFIG", "SET", "client-query-buffer-limit", "32mb") == b"+OK\r\n"
        before = used_memory(admin)
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000000\r\n")
        chunk, sent = b"x" * (1 << 20), 0
        with pytest.raises(OSError):
            while sent < 200 * (1 << 20):          # the server must close the connection first
                sock.sendall(chunk)
                sent += len(chunk)
            sock.settimeout(10)
            if sock.recv(1) == b"":
                raise ConnectionResetError("closed")
        sock.close()
        assert sent <= 64 * (1 << 20)
        time.sleep(0.2)
        assert used_memory(admin) - before < 100 * (1 << 20)
        assert admin.call("PING") == b"+PONG\r\n"
        assert admin.call("EXISTS", "k") == b":0\r\n"
    finally:
        admin.close()


def test_proto_max_bulk_len_is_enforced_and_settable(real_redis, shared_redwood):
    for server in (real_redis, shared_redwood):
        admin = server.raw()
        admin.call("CONFIG", "SET", "proto-max-bulk-len", "1mb")
    try:
        # Only the headers: the length alone is refused (a payload left unread would make the
        # kernel reset the connection and could eat the reply).
        data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"
        expected = exchange(real_redis.port, data)
        assert expected == b"-ERR Protocol error: invalid bulk length\r\n"
        assert exchange(shared_redwood.port, data) == expected
    finally:
        for server in (real_redis, shared_redwood):
            server.raw().call("CONFIG", "SET", "proto-max-bulk-len", "512mb")
