"""Shared fixtures: real Redwood and redis-server processes, and the differential helper.

`diff("SET", "k", "v")` sends one command to both servers and asserts the reply
bytes are identical; it returns them. Both servers are flushed before each test.
"""
import os
import shutil

import pytest

from tests.servers import RawClient, RealRedis, Redwood, encode_command, fresh_dir, reply_end
from tests.test_diff_strings import command


@pytest.fixture(scope="session")
def workdir():
    path = fresh_dir("redwood-tests-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def real_redis(workdir):
    server = RealRedis(workdir).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def shared_redwood(workdir):
    """One Redwood for the many tests that only need a clean keyspace."""
    data = os.path.join(workdir, "shared-data")
    os.makedirs(data)
    server = Redwood(data).start()
    yield server
    server.stop()


@pytest.fixture
def redwood_server(tmp_path):
    """A Redwood of the test's own, on its own data directory (for restarts and kills)."""
    data = tmp_path / "data"
    data.mkdir()
    server = Redwood(str(data))
    yield server
    server.stop()


@pytest.fixture
def r(shared_redwood):
    """A redis-py client on the shared Redwood, keyspace flushed."""
    client = shared_redwood.client()
    client.flushall()
    yield client
    client.close()


def reply_items(raw: bytes) -> list[bytes]:
    """The raw bytes of each element of an array reply (the reply itself if it is no array)."""
    if raw[:1] != b"*":
        return [raw]
    pos, items = raw.index(b"\r\n") + 2, []
    while pos < len(raw):
        end = reply_end(raw, pos)
        items.append(raw[pos:end])
        pos = end
    return items


class Differential:
    def __init__(self, redis_port, redwood_port):
        self.redis = RawClient(redis_port)
        self.redwood = RawClient(redwood_port)

    def __call__(self, *argv) -> bytes:
        expected = self.redis.call(*argv)
        actual = self.redwood.call(*argv)
        assert actual == expected, f"{argv!r}: Redis said {expected!r}, Redwood said {actual!r}"
        return actual

    def run(self, commands):
        """Each command (a string split on spaces, or an argv tuple) must get the same bytes."""
        for cmd in commands:
            self(*(cmd.split(" ") if isinstance(cmd, str) else cmd))

    def approx(self, *argv, within: int):
        """For TTLs, read a moment apart: the same bytes, or integers at most `within` apart."""
        expected, actual = self.both(*argv)
        if expected != actual:
            assert expected[:1] == actual[:1] == b":", f"{argv!r}: {expected!r} vs {actual!r}"
            assert abs(int(expected[1:-2]) - int(actual[1:-2])) <= within, f"{argv!r}: {expected!r} vs {actual!r}"
        return actual

    def unordered(self, *argv):
        """For KEYS and the like, whose order is Redis's hash-table order: the same elements."""
        expected, actual = self.both(*argv)
        assert sorted(reply_items(expected)) == sorted(reply_items(actual)), \
            f"{argv!r}: Redis said {expected!r}, Redwood said {actual!r}"
        return actual

    def both(self, *argv) -> tuple[bytes, bytes]:
        """Both replies, for commands whose replies may legitimately differ (TTLs, random)."""
        return self.redis.call(*argv), self.redwood.call(*argv)

    def close(self):
        self.redis.close()
        self.redwood.close()


@pytest.fixture
def diff(real_redis, shared_redwood):
    d = Differential(real_redis.port, shared_redwood.port)
    d.both("FLUSHALL")
    yield d
    d.close()


# -- several connections per server ------------------------------------------------
class Sessions:
    """Named connections to one server, opened on first use."""

    def __init__(self, port):
        self.port, self.clients = port, {}

    def __getitem__(self, name) -> RawClient:
        if name not in self.clients:
            self.clients[name] = RawClient(self.port)
        return self.clients[name]

    def close(self):
        for client in self.clients.values():
            client.close()


def _step(sessions, line) -> bytes:
    """`A: CMD …` sends a command on connection A and reads its reply; `A> CMD …` only sends it
    (a blocking command); `A<` reads one more reply or message that A has coming."""
    name, mark, rest = line[0], line[1], line[2:].strip()
    client = sessions[name]
    if mark == "<":
        return client.read_reply()
    if mark == ">":
        client.send_raw(encode_command(command(rest)))
        return b""
    return client.call(*command(rest))


@pytest.fixture
def both(real_redis, shared_redwood):
    """Named connections to real Redis and to Redwood, for steps that need several clients."""
    pair = Sessions(real_redis.port), Sessions(shared_redwood.port)
    for sessions in pair:
        sessions["setup"].call("FLUSHALL")
        sessions["setup"].call("CONFIG", "SET", "notify-keyspace-events", "")
    yield pair
    for sessions in pair:
        sessions["setup"].call("CONFIG", "SET", "notify-keyspace-events", "")
        sessions.close()


def run_steps(both, steps):
    """Each step must get the same bytes on both servers, except `~` steps (HELLO's client id),
    and `%` steps, whose array is in Redis's hash-table order: the same elements."""
    redis, redwood = both
    for line in steps:
        mark = line[0] if line[0] in "~%" else ""
        line = line[len(mark):]
        expected, actual = _step(redis, line), _step(redwood, line)
        if mark == "%":
            expected, actual = sorted(reply_items(expected)), sorted(reply_items(actual))
        assert actual == expected or mark == "~", \
            f"{line!r}: Redis said {expected!r}, Redwood said {actual!r}"
