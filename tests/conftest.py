"""Shared fixtures: real Redwood and redis-server processes, and the differential helper.

`diff("SET", "k", "v")` sends one command to both servers and asserts the reply
bytes are identical; it returns them. Both servers are flushed before each test.
"""
import os
import shutil

import pytest

from tests.servers import RawClient, RealRedis, Redwood, fresh_dir


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


class Differential:
    def __init__(self, redis_port, redwood_port):
        self.redis = RawClient(redis_port)
        self.redwood = RawClient(redwood_port)

    def __call__(self, *argv) -> bytes:
        expected = self.redis.call(*argv)
        actual = self.redwood.call(*argv)
        assert actual == expected, f"{argv!r}: Redis said {expected!r}, Redwood said {actual!r}"
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
