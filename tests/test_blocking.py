"""Blocking commands, run as scenarios of several clients against real Redis and Redwood.

A scenario is a list of steps `(client, command, mode)`:
- "call": send and read the reply ("setup": the same, reply not compared);
- "block": send, then wait until the server shows the client blocked (CLIENT LIST flags=b);
- "send": send without reading (a command queued behind a blocked one);
- "read": read the client's next reply (a wake-up, a timeout, or a queued command's reply).
Both servers must give every client the same bytes, in the same order.
"""
import time

import pytest

from tests.servers import RawClient, encode_command
from tests.test_diff_strings import command

SCENARIOS = {
    "served-in-fifo-order": [
        (1, "BLPOP k 5", "block"), (2, "BLPOP k 5", "block"), (3, "BRPOP k 5", "block"),
        (0, "RPUSH k a b", "call"), (1, "", "read"), (2, "", "read"),
        (0, "LPUSH k c", "call"), (3, "", "read"), (0, "EXISTS k", "call"),
    ],
    "one-push-of-many-feeds-several-waiters": [
        (1, "BLPOP k 5", "block"), (2, "BLPOP k 5", "block"), (3, "BLPOP k 5", "block"),
        (0, "LPUSH k a b", "call"), (1, "", "read"), (2, "", "read"), (0, "LPUSH k c", "call"),
        (3, "", "read"), (0, "LLEN k", "call"),
    ],
    "first-ready-key-wins": [
        (1, "BRPOP a b c 5", "block"), (0, "RPUSH c 1 2", "call"), (1, "", "read"),
        (0, "LRANGE c 0 -1", "call"),
    ],
    "served-inside-multi-after-exec": [
        (1, "BLPOP k 5", "block"), (0, "MULTI", "call"), (0, "LPUSH k x", "call"),
        (0, "LPUSH k y", "call"), (0, "EXEC", "call"), (1, "", "read"), (0, "LRANGE k 0 -1", "call"),
    ],
    "multi-that-pushes-and-pops-serves-nobody": [
        (1, "BLPOP k 1", "block"), (0, "MULTI", "call"), (0, "LPUSH k x", "call"),
        (0, "LPOP k", "call"), (0, "EXEC", "call"), (0, "RPUSH k z", "call"), (1, "", "read"),
    ],
    "blmove-chain": [
        (1, "BLMOVE a b LEFT RIGHT 5", "block"), (2, "BLMOVE b c RIGHT LEFT 5", "block"),
        (0, "RPUSH a x", "call"), (1, "", "read"), (2, "", "read"),
        (0, "EXISTS a b", "call"), (0, "LRANGE c 0 -1", "call"),
    ],
    "blmove-to-itself": [
        (1, "BLMOVE a a LEFT RIGHT 5", "block"), (0, "RPUSH a x y", "call"), (1, "", "read"),
        (0, "LRANGE a 0 -1", "call"),
    ],
    "brpoplpush-destination-of-another-type": [
        (0, "SET d s", "call"), (1, "BRPOPLPUSH a d 5", "block"), (0, "RPUSH a x", "call"),
        (1, "", "read"), (0, "LRANGE a 0 -1", "call"),
    ],
    "key-of-another-type-keeps-the-waiter": [
        (1, "BLPOP k 5", "block"), (0, "SET k v", "call"), (0, "DEL k", "call"),
        (0, "RPUSH k x", "call"), (1, "", "read"),
    ],
    "commands-behind-a-blocked-one-wait": [
        (1, "BLPOP k 5", "block"), (1, "SET after 1", "send"), (1, "GET after", "send"),
        (0, "EXISTS after", "call"), (0, "RPUSH k x", "call"),
        (1, "", "read"), (1, "", "read"), (1, "", "read"), (0, "EXISTS after", "call"),
    ],
    "rename-copy-move-and-swapdb-feed-waiters": [
        (1, "BLPOP k 5", "block"), (0, "RPUSH tmp x", "call"), (0, "RENAME tmp k", "call"), (1, "", "read"),
        (1, "BLPOP k 5", "block"), (0, "RPUSH tmp y", "call"), (0, "COPY tmp k", "call"), (1, "", "read"),
        (1, "BLPOP k 5", "block"), (0, "SELECT 1", "call"), (0, "RPUSH k z", "call"),
        (0, "SWAPDB 0 1", "call"), (1, "", "read"), (0, "EXISTS k", "call"), (0, "SELECT 0", "call"),
        (0, "RPUSH w 1", "call"), (2, "SELECT 1", "call"), (2, "BLPOP w 5", "block"), (0, "MOVE w 1", "call"),
        (2, "", "read"), (0, "DBSIZE", "call"),
    ],
    "sorted-sets": [
        (1, "BZPOPMIN z 5", "block"), (2, "BZPOPMAX z 5", "block"), (3, "BZMPOP 5 2 y z MAX COUNT 2", "block"),
        (0, "ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g", "call"), (1, "", "read"), (2, "", "read"), (3, "", "read"),
        (0, "ZRANGE z 0 -1 WITHSCORES", "call"), (1, "BZPOPMIN nokey z 0", "call"),
        (1, "BZMPOP 0 1 z MIN COUNT 9", "call"), (1, "BZPOPMAX z 0.01", "call"), (1, "BZMPOP 0.01 1 z MIN", "call"),
        (0, "SET s x", "call"), (1, "BZPOPMIN s 0", "call"), (1, "BZMPOP 0 1 s MIN", "call"),
        (1, "BZMPOP 0 1 z FOO", "call"), (1, "BZPOPMIN z -1", "call"), (1, "MULTI", "call"),
        (1, "BZPOPMIN z 0", "call"), (1, "BZMPOP 0 1 z MAX", "call"), (1, "EXEC", "call"),
    ],
    "a-list-waiter-ignores-a-zset": [
        (1, "BLPOP k 5", "block"), (2, "BZPOPMIN k 5", "block"), (0, "ZADD k 1 a", "call"), (2, "", "read"),
        (0, "DEL k", "call"), (0, "RPUSH k x", "call"), (1, "", "read"),
    ],
    "resp3-sorted-sets": [
        (1, "HELLO 3", "setup"), (1, "BZPOPMIN z 5", "block"), (0, "ZADD z 1.5 a 2 b", "call"), (1, "", "read"),
        (1, "BZMPOP 0 1 z MIN", "call"), (1, "BZPOPMAX z 0.01", "call"),
    ],
    "timeouts": [
        (1, "BLPOP k 0.05", "call"), (1, "BRPOP k 0.01", "call"), (1, "BLMOVE a b LEFT LEFT 0.01", "call"),
        (1, "BRPOPLPUSH a b 0.01", "call"), (1, "BLMPOP 0.01 2 a b LEFT", "call"),
    ],
    "blmpop": [
        (1, "BLMPOP 5 2 a b RIGHT COUNT 3", "block"), (0, "RPUSH b 1 2 3 4", "call"), (1, "", "read"),
        (0, "LRANGE b 0 -1", "call"), (0, "RPUSH a 9", "call"), (1, "BLMPOP 0 2 a b LEFT", "call"),
    ],
    "not-blocking-when-there-is-data": [
        (0, "RPUSH k 1 2 3 4 5", "call"), (1, "BLPOP nokey k 0", "call"), (1, "BRPOP k 0", "call"),
        (1, "BLMOVE k d LEFT LEFT 0", "call"), (1, "BLMPOP 0 1 k LEFT COUNT 9", "call"),
        (0, "SET s x", "call"), (1, "BLPOP nokey s 0", "call"), (1, "BLMOVE s d LEFT LEFT 0", "call"),
    ],
    "inside-multi-they-do-not-block": [
        (1, "MULTI", "call"), (1, "BLPOP k 0", "call"), (1, "BLMOVE k d LEFT LEFT 0", "call"),
        (1, "BRPOPLPUSH k d 0", "call"), (1, "BLMPOP 0 1 k LEFT", "call"), (1, "EXEC", "call"),
    ],
    "bad-timeouts": [
        (1, "BLPOP k -1", "call"), (1, "BLPOP k abc", "call"), (1, "BLPOP k 1e400", "call"),
        (1, "BLPOP k inf", "call"), (1, "BLPOP k nan", "call"), (1, "BLMOVE a b LEFT UP -1", "call"),
        (1, "BLMPOP -1 1 a LEFT", "call"), (1, "BLMPOP 0 0 a LEFT", "call"),
        (1, "BLMPOP 0 1 a LEFT COUNT 0", "call"), (1, "BLPOP k 1e16", "call"),
        (1, "BLPOP k -0.0001", "send"), (0, "RPUSH k x", "call"), (1, "", "read"),
    ],
    "resp3-timeout": [(1, "HELLO 3", "setup"), (1, "BLPOP k 0.01", "call"), (1, "BLMOVE a b LEFT LEFT 0.01", "call")],
}


def run_scenario(port: int, steps) -> list:
    control = RawClient(port)
    clients, transcript = {}, []
    try:
        for who, text, mode in steps:
            client = clients.get(who)
            if client is None:
                client = clients[who] = RawClient(port)
                client.id = int(client.call("CLIENT", "ID")[1:-2])
            if mode in ("call", "setup"):
                reply = client.call(*command(text))
                if mode == "call":
                    transcript.append((who, text, reply))
            elif mode in ("block", "send"):
                client.send_raw(encode_command(command(text)))
                if mode == "block":
                    _wait_blocked(control, client.id)
            else:
                transcript.append((who, "read", client.read_reply()))
    finally:
        for client in [control, *clients.values()]:
            client.close()
    return transcript


def _wait_blocked(control, client_id: int):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        line = control.call("CLIENT", "LIST", "ID", str(client_id))
        flags = line.split(b"flags=")[1].split(b" ")[0]
        if b"b" in flags:
            return
        time.sleep(0.005)
    raise AssertionError(f"client {client_id} never blocked")


@pytest.mark.parametrize("name", SCENARIOS)
def test_blocking_scenario_matches_redis(real_redis, shared_redwood, name):
    for port in (real_redis.port, shared_redwood.port):
        flush = RawClient(port)
        flush.call("FLUSHALL")
        flush.close()
    theirs = run_scenario(real_redis.port, SCENARIOS[name])
    ours = run_scenario(shared_redwood.port, SCENARIOS[name])
    assert ours == theirs


def test_disconnect_while_blocked_cleans_up(shared_redwood):
    other = shared_redwood.client()
    other.flushall()
    waiter = _block(shared_redwood.port, "BLPOP", "k", "0")
    assert other.info("clients")["blocked_clients"] == 1
    waiter.close()
    deadline = time.monotonic() + 5
    while other.info("clients")["blocked_clients"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert other.info("clients")["blocked_clients"] == 0
    assert other.rpush("k", "x") == 1
    assert other.lrange("k", 0, -1) == [b"x"]     # nobody took it
    other.close()


def _block(port: int, *argv) -> RawClient:
    """A client that sent argv and is now blocked in it."""
    waiter, control = RawClient(port), RawClient(port)
    waiter.id = int(waiter.call("CLIENT", "ID")[1:-2])
    waiter.send_raw(encode_command(argv))
    _wait_blocked(control, waiter.id)
    control.close()
    return waiter


def test_client_unblock(shared_redwood):
    other = shared_redwood.client()
    other.flushall()
    for error, reply in ((False, b"*-1\r\n"), (True, b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")):
        waiter = _block(shared_redwood.port, "BLPOP", "k", "0")
        assert other.client_unblock(waiter.id, error=error) == 1
        assert waiter.read_reply() == reply
        assert other.client_unblock(waiter.id) == 0
        waiter.close()
    other.close()


def test_served_pops_are_logged_as_plain_pops(shared_redwood):
    """The waiter's pop is in the log as LMOVE: replay gives the same lists."""
    other = shared_redwood.client()
    other.flushall()
    waiter = _block(shared_redwood.port, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0")
    other.rpush("a", "x", "y")
    assert waiter.read_reply() == b"$1\r\nx\r\n"
    assert other.execute_command("DEBUG", "RELOAD") == b"OK"
    assert (other.lrange("a", 0, -1), other.lrange("b", 0, -1)) == ([b"y"], [b"x"])
    waiter.close()
    other.close()


def test_a_blocked_client_is_not_idle(redwood_server):
    """`timeout` closes idle clients, not the ones waiting in a blocking command."""
    server = redwood_server.start()
    waiter = _block(server.port, "BLPOP", "k", "0")
    idle = server.raw()
    assert idle.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
    assert idle.read_until_closed(timeout=10) == b""      # the idle one is closed after ~1-2 s
    pusher = server.raw()
    assert pusher.call("RPUSH", "k", "x") == b":1\r\n"
    assert waiter.read_reply() == b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n"
    waiter.close()
    pusher.close()
