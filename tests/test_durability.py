"""Durability against real processes: nothing acknowledged is ever lost.

Each test writes to a Redwood of its own, kills it (SIGKILL) or shuts it down,
starts it again on the same data directory and reads back what was acknowledged.
"""
import re
import threading
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from engine import events
from tests.servers import Redwood, open_store

WRITERS = 4


def connect(server, db: int = 0) -> redis.Redis:
    return server.client(db=db)


def no_retry_client(port: int) -> redis.Redis:
    """redis-py retries on connection errors by default; a retried INCR could count twice."""
    return redis.Redis(port=port, socket_timeout=10, retry=Retry(NoBackoff(), 0))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def set_key(conn: int, i: int) -> bytes:
    return b"k:%d:%d" % (conn, i)


def set_value(conn: int, i: int) -> bytes:
    return b"v:%d:%d:" % (conn, i) + b"x" * (i % 61)


def counter_key(conn: int) -> bytes:
    return b"counter:%d" % conn


class Writer(threading.Thread):
    """One connection writing SET k:<conn>:<i> and INCR counter:<conn> in turn, as fast as it can.

    `acked_sets` SETs (indexes 0..acked_sets-1) and every INCR up to `last_incr` got
    their reply; `lost` names the command whose reply never came when the connection broke."""

    def __init__(self, port: int, conn: int, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.conn, self.stop = port, conn, stop
        self.acked_sets = 0
        self.last_incr = 0
        self.lost = None
        self.error = None

    def run(self):
        client = no_retry_client(self.port)
        try:
            i = 0
            while not self.stop.is_set():
                self.lost = "set"
                assert client.set(set_key(self.conn, i), set_value(self.conn, i)) is True
                self.acked_sets = i + 1
                self.lost = "incr"
                reply = client.incr(counter_key(self.conn))
                assert reply == self.last_incr + 1, f"INCR replied {reply} after {self.last_incr}"
                self.last_incr = reply
                i += 1
            self.lost = None
        except redis.ConnectionError:
            pass   # the server was killed: `lost` says which command may or may not have landed
        except BaseException as exc:
            self.error = exc
        finally:
            client.close()


@pytest.mark.parametrize("kill_after", [0.3, 0.8, 1.5])
def test_kill_9_under_load_loses_nothing_acknowledged(redwood_server, kill_after):
    server = redwood_server.start()
    stop = threading.Event()
    writers = [Writer(server.port, conn, stop) for conn in range(WRITERS)]
    for w in writers:
        w.start()
    time.sleep(kill_after)
    server.kill()
    # Writers run until the kill breaks their connection: each was writing up to that moment.
    for w in writers:
        w.join(timeout=30)
    stop.set()   # only for a writer the kill did not stop
    for w in writers:
        assert not w.is_alive(), f"writer {w.conn} was still writing 30 s after the kill"
        assert w.error is None, f"writer {w.conn} failed: {w.error!r}"
        assert w.lost is not None, f"writer {w.conn} stopped without a connection error"
    acked = sum(w.acked_sets for w in writers)
    assert all(w.acked_sets > 0 for w in writers), [w.acked_sets for w in writers]
    assert acked >= 20, f"only {acked} acknowledged SETs: the load never got going"

    server.restart()
    client = connect(server)
    for w in writers:
        c, n = w.conn, w.acked_sets
        for start in range(0, n, 1000):
            indexes = range(start, min(start + 1000, n))
            values = client.mget([set_key(c, i) for i in indexes])
            missing = [(i, v) for i, v in zip(indexes, values) if v != set_value(c, i)]
            assert not missing, f"writer {c}: acknowledged SETs lost or wrong after kill -9 " \
                                f"(index, value read): {missing[:5]} ({len(missing)} in all)"
        # The SET in flight may or may not have landed; nothing after it was ever sent.
        in_flight = client.get(set_key(c, n))
        if w.lost == "set":
            assert in_flight in (None, set_value(c, n))
        else:
            assert in_flight is None
        assert client.get(set_key(c, n + 1)) is None
        counter = int(client.get(counter_key(c)) or 0)
        allowed = {w.last_incr, w.last_incr + 1} if w.lost == "incr" else {w.last_incr}
        assert counter in allowed, f"writer {c}: counter:{c} is {counter} after kill -9; last " \
                                   f"acknowledged INCR replied {w.last_incr}, lost reply: {w.lost}"
    client.close()


def shutdown(server) -> int:
    """SHUTDOWN from redis-py, which raises if any reply comes back; returns the exit code."""
    client = connect(server)
    try:
        client.shutdown()   # Redis closes the connection without a reply; redis-py expects that
    except redis.ConnectionError:
        pass
    finally:
        client.close()
    return server.proc.wait(timeout=30)


def assert_ttl_ms(pttl: int, deadline_bounds: tuple[int, int], read_bounds: tuple[int, int]):
    """PTTL read between read_bounds for a key whose absolute deadline lies within deadline_bounds."""
    low = deadline_bounds[0] - read_bounds[1] - 50
    high = deadline_bounds[1] - read_bounds[0] + 50
    assert low <= pttl <= high, f"PTTL {pttl} ms, expected between {low} and {high}"


def test_clean_shutdown_keeps_every_db_and_ttl(redwood_server):
    server = redwood_server.start()
    dbs = (0, 3, 15)
    before = now_ms()
    for db in dbs:
        client = connect(server, db)
        client.set("plain", f"plain-{db}")
        client.set("ttl", f"ttl-{db}", ex=100 + db)
        client.set("pttl", f"pttl-{db}")
        client.pexpire("pttl", 200_000 + db)
        client.incrby("counter", 10 + db)
        client.append("appended", "abc")
        client.append("appended", f"-{db}")
        client.setbit("bits", 7 + db, 1)
        client.set("persisted", "p", ex=50)
        client.persist("persisted")
        client.set("deleted", "gone")
        client.delete("deleted")
        client.close()
    after = now_ms()

    assert shutdown(server) == 0, server.output()
    server.restart()
    restarted = now_ms()
    for db in dbs:
        client = connect(server, db)
        assert client.dbsize() == 7, (db, sorted(client.keys()))
        assert client.get("plain") == f"plain-{db}".encode()
        assert client.get("ttl") == f"ttl-{db}".encode()
        assert client.get("pttl") == f"pttl-{db}".encode()
        assert client.get("counter") == b"%d" % (10 + db)
        assert client.get("appended") == f"abc-{db}".encode()
        assert client.getbit("bits", 7 + db) == 1 and client.bitcount("bits") == 1
        assert client.get("persisted") == b"p" and client.ttl("persisted") == -1
        assert client.exists("deleted") == 0
        assert client.ttl("plain") == -1
        assert_ttl_ms(client.pttl("ttl"), (before + (100 + db) * 1000, after + (100 + db) * 1000),
                      (restarted, now_ms()))
        assert_ttl_ms(client.pttl("pttl"), (before + 200_000 + db, after + 200_000 + db),
                      (restarted, now_ms()))
        client.close()
    client = connect(server, 1)
    assert client.dbsize() == 0
    client.close()


def flip_last_value_byte(data_dir: str, position: str) -> int:
    """Flip a byte inside the last argument of one event, in place; returns that event's seq."""
    backend = open_store(data_dir)
    try:
        records = list(backend.read(1))
        assert len(records) >= 3, records
        seq, record = records[-1] if position == "last" else records[len(records) // 2]
        assert record.endswith(b"\r\n")
        flipped = bytearray(record)
        flipped[-3] ^= 0x20   # the last byte of the last argument, before its \r\n
        backend.put_records([(seq, bytes(flipped))])
    finally:
        backend.close()
    return seq


@pytest.mark.parametrize("position", ["last", "middle"])
def test_corrupt_record_refuses_to_start(redwood_server, position):
    server = redwood_server.start()
    client = connect(server)
    for i in range(10):
        client.set(f"key:{i}", f"value-{i}")
    client.close()
    server.stop()
    assert server.proc.returncode == 0, server.output()

    seq = flip_last_value_byte(server.dir, position)
    seen = len(server.output())
    with pytest.raises(RuntimeError):
        server.start()
        client = connect(server)
        pytest.fail(f"Redwood started on a log whose event {seq} is corrupt, serving "
                    f"{client.dbsize()} keys: {sorted(client.keys())}")
    output = server.output()[seen:]
    assert server.proc.returncode not in (0, None), output
    lines = [line for line in output.splitlines() if re.search(r"corrupt|checksum", line, re.I)]
    assert lines, f"no mention of corruption or checksum in the output:\n{output}"
    assert any(re.search(rf"\b{seq}\b", line) for line in lines), \
        f"the error does not name the corrupt event {seq}:\n{output}"


def logged_commands(data_dir: str) -> list[list[bytes]]:
    """The argv of every event in the log, in seq order (read while the server is down)."""
    backend = open_store(data_dir)
    try:
        return [events.decode(seq, record).argv for seq, record in backend.read(1)]
    finally:
        backend.close()


def test_expiry_survives_kill_9(redwood_server):
    server = redwood_server.start()
    client = connect(server)
    client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")   # only a read can expire "short"
    client.set("short", "v", px=300)
    client.set("long", "v")
    before = now_ms()
    assert client.expire("long", 100)
    after = now_ms()
    client.set("long-px", "v", px=150_000)
    after_px = now_ms()
    time.sleep(0.4)
    assert client.get("short") is None   # lazy expiry: logged as a DEL
    client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    client.set("short-active", "v", px=300)
    time.sleep(0.6)   # past its 300 ms and a few active-expiry cycles (hz 10)
    client.close()
    server.kill()
    logged = [argv[:2] for argv in logged_commands(server.dir)]
    for key in (b"short", b"short-active"):
        assert [name.upper() for name, k in logged if k == key] == [b"SET", b"DEL"], \
            f"{key!r}: its expiry is not logged as a DEL after its SET: {logged}"

    server.restart()
    restarted = now_ms()
    client = connect(server)
    assert client.dbsize() == 2
    assert client.get("short") is None
    assert client.exists("short-active") == 0
    assert sorted(client.keys()) == [b"long", b"long-px"]
    assert client.get("long") == b"v"
    assert_ttl_ms(client.pttl("long"), (before + 100_000, after + 100_000), (restarted, now_ms()))
    assert_ttl_ms(client.pttl("long-px"), (after + 150_000, after_px + 150_000), (restarted, now_ms()))
    client.close()


def test_everysec_writes_survive_kill_9(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = Redwood(str(data), "--appendfsync", "everysec")
    try:
        server.start()
        client = connect(server)
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        for i in range(200):
            client.set(f"key:{i}", f"value-{i}")
        client.incrby("counter", 200)
        client.close()
        time.sleep(1.6)
        server.kill()

        server.restart()
        client = connect(server)
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        values = client.mget([f"key:{i}" for i in range(200)])
        assert values == [f"value-{i}".encode() for i in range(200)]
        assert client.get("counter") == b"200"
        assert client.dbsize() == 201
        client.close()
    finally:
        server.stop()
