"""Who may connect and for how long, side by side with a real redis-server: protected mode,
`maxclients`, `timeout` and `client-query-buffer-limit`. The refused or dropped client gets the
same bytes from both, the connection counters agree, and the other clients carry on.

Protected mode is tested for real: Redis 7.0 lets in only the peers 127.0.0.1 and ::1, so a
client whose socket is bound to 127.0.0.2 is, for both servers, a non-loopback peer."""
import socket

import pytest

from tests.servers import RealRedis, Redwood, encode_command

PING = encode_command(["PING"])


@pytest.fixture
def pair(tmp_path):
    """A fresh real redis-server and a fresh Redwood (their counters start from zero)."""
    started = []
    data = tmp_path / "data"
    data.mkdir()
    try:
        for server in (RealRedis(str(tmp_path)), Redwood(str(data))):
            started.append(server.start())
        yield started
    finally:
        for server in started:
            server.stop()


def connect(port, source="127.0.0.1") -> socket.socket:
    sock = socket.socket()
    sock.settimeout(10)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    return sock


def read_until_closed(sock) -> bytes:
    """What the server sent before closing (a reset counts as closing)."""
    data = b""
    try:
        while chunk := sock.recv(1 << 16):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def read_line(sock) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    return data


def connection_stats(client) -> list[bytes]:
    return [line for line in client.call("INFO", "stats").split(b"\r\n")
            if line.startswith((b"total_connections_received:", b"rejected_connections:"))]


def test_protected_mode_refuses_non_loopback_peers(pair):
    seen = []
    for server in pair:
        with connect(server.port, "127.0.0.2") as outsider:
            refused = read_until_closed(outsider)
        admin = server.raw()
        stats = connection_stats(admin)
        assert admin.call("CONFIG", "SET", "protected-mode", "no") == b"+OK\r\n"
        with connect(server.port, "127.0.0.2") as outsider:
            outsider.sendall(PING)
            unprotected = read_line(outsider)
        assert admin.call("CONFIG", "SET", "protected-mode", "yes",
                          "requirepass", "secret") == b"+OK\r\n"
        with connect(server.port, "127.0.0.2") as outsider:     # a password protects instead
            outsider.sendall(PING)
            with_password = read_line(outsider)
        admin.close()
        seen.append((refused, stats, unprotected, with_password))
    assert seen[1] == seen[0]
    refused, stats, unprotected, with_password = seen[0]
    assert refused.startswith(b"-DENIED Redis is running in protected mode because")
    assert stats == [b"total_connections_received:2", b"rejected_connections:1"]
    assert (unprotected, with_password) == (b"+PONG\r\n", b"-NOAUTH Authentication required.\r\n")


def test_maxclients(pair):
    seen = []
    for server in pair:
        admin = server.raw()
        assert admin.call("CONFIG", "SET", "maxclients", "2") == b"+OK\r\n"
        second = server.raw()
        assert second.call("PING") == b"+PONG\r\n"
        with connect(server.port) as third:
            refused = read_until_closed(third)
        assert second.call("PING") == b"+PONG\r\n"
        seen.append((refused, connection_stats(admin)))
        admin.close()
        second.close()
    assert seen[1] == seen[0]
    assert seen[0][0] == b"-ERR max number of clients reached\r\n"


def test_timeout_closes_idle_clients_but_not_subscribers_or_blocked_ones(pair):
    """The subscriber and the blocked client are idle longer than the closed one: the pass
    that closed it looked at them too."""
    seen = []
    for server in pair:
        admin = server.raw()
        assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
        subscriber = server.raw()
        subscriber.call("SUBSCRIBE", "news")
        blocked = server.raw()
        blocked.send_raw(encode_command(["BLPOP", "queue", "0"]))
        idle = server.raw()
        assert idle.call("PING") == b"+PONG\r\n"
        closed = idle.read_until_closed(timeout=20), admin.read_until_closed(timeout=20)
        fresh = server.raw()
        fresh.call("PUBLISH", "news", "hello")
        fresh.call("RPUSH", "queue", "job")
        seen.append((closed, subscriber.read_reply(), blocked.read_reply()))
        fresh.call("CONFIG", "SET", "timeout", "0")
        for client in (fresh, subscriber, blocked, idle, admin):
            client.close()
    assert seen[1] == seen[0]
    assert seen[0][0] == (b"", b"")


def test_query_buffer_limit_drops_the_client_and_others_carry_on(pair):
    """A bulk argument larger than the limit, sent slowly: the client is closed without a
    reply before the argument is complete; nothing of it is stored."""
    header = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n"
    for server in pair:
        admin = server.raw()
        assert admin.call("CONFIG", "SET", "client-query-buffer-limit", "1mb") == b"+OK\r\n"
        with connect(server.port) as flooder:
            flooder.sendall(header)
            try:
                for _ in range(3_999_999 // 65536):
                    flooder.sendall(b"x" * 65536)
            except (BrokenPipeError, ConnectionResetError):
                pass        # closed while we were still sending
            assert read_until_closed(flooder) == b""
        assert admin.call("PING") == b"+PONG\r\n"
        assert admin.call("EXISTS", "k") == b":0\r\n"
        admin.close()
