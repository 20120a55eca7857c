"""Compaction and retention: what is dropped, what stays, and that every instant inside the
window stays restorable."""
import os
import time

import pytest

from backends import open_backend
from engine import commands  # noqa: F401  (registers the handlers)
from engine import recovery, snapshot
from engine.client import Client
from engine.config import Config
from engine.executor import execute, replay
from engine.state import ServerState
from tests.test_snapshots import info, wait_for

KIND = os.environ.get("REDWOOD_TEST_BACKEND", "lmdb")


@pytest.fixture
def backend(tmp_path):
    b = open_backend(KIND, str(tmp_path / "data"))
    yield b
    b.close()


def write(state, n: int, tag: str):
    client = Client(state)
    for i in range(n):
        execute(client, [b"SET", b"k%d" % (i % 7), b"%s%d" % (tag.encode(), i)])
        execute(client, [b"HSET", b"h", b"f%d" % (i % 5), b"%s%d" % (tag.encode(), i)])
        state.store.flush()
        time.sleep(0.002)             # each pair of events its own milliseconds: seq_at is exact


def snapshot_at(backend) -> int:
    """The snapshot builder's job, in this process: a fresh state, the previous snapshot + log."""
    return recovery.build_snapshot(ServerState(Config(), backend), backend.last_seq).seq


def fingerprints(backend) -> dict:
    """The state after every event, replayed one event at a time from the start."""
    state, out = ServerState(Config(), backend), {}
    for seq in range(1, backend.last_seq + 1):
        replay(state, seq, seq)
        out[seq] = snapshot.fingerprint(state.keyspace)
    return out


def test_retention_by_age_keeps_the_window_restorable(backend):
    state = ServerState(Config(), backend)
    marks = []
    for tag in "abcd":
        write(state, 10, tag)
        marks.append(snapshot_at(backend))          # snapshots at 20, 40, 60, 80
    write(state, 10, "e")
    expected = fingerprints(backend)
    assert [info.seq for info in backend.snapshots()] == marks == [20, 40, 60, 80]

    # The window starts at event 50: the snapshot at 40 is the oldest it needs.
    now = recovery.event_ts(backend, 50) + 1000
    dropped, deleted = recovery.compact(backend, recovery.Retention(age_ms=1000, snapshots=3), now_ms=now)
    assert backend.first_seq == 40 and dropped == 39
    assert deleted == [20] and [info.seq for info in backend.snapshots()] == [40, 60, 80]
    assert recovery.horizon(backend) == (40, recovery.event_ts(backend, 40))
    for seq in range(40, backend.last_seq + 1):     # every instant inside the window
        restored = ServerState(Config(), backend)
        recovery.restore(restored, seq)
        assert snapshot.fingerprint(restored.keyspace) == expected[seq], seq
    with pytest.raises(recovery.Unrecoverable):
        recovery.restore(ServerState(Config(), backend), 30)


def test_retention_by_size_and_by_count(backend):
    state = ServerState(Config(), backend)
    for tag in "abc":
        write(state, 10, tag)
        snapshot_at(backend)                        # 20, 40, 60
    write(state, 5, "d")
    expected = snapshot.fingerprint(state.keyspace)

    assert recovery.compact(backend, recovery.Retention(size=1 << 40)) == (0, [])
    # A log window of a few records: the newest snapshot before it anchors; one kept by count.
    recovery.compact(backend, recovery.Retention(size=1, snapshots=1))
    assert backend.first_seq == 60 and [info.seq for info in backend.snapshots()] == [60]
    restored = ServerState(Config(), backend)
    assert recovery.restore(restored) == (60, 10)
    assert snapshot.fingerprint(restored.keyspace) == expected


def test_without_log_retention_the_log_stays_and_snapshots_are_counted(backend):
    state = ServerState(Config(), backend)
    for tag in "abcd":
        write(state, 3, tag)
        snapshot_at(backend)
    dropped, deleted = recovery.compact(backend, recovery.Retention(snapshots=2))
    assert dropped == 0 and deleted == [6, 12] and backend.first_seq == 1
    assert recovery.horizon(backend) == (0, 0)


def test_the_snapshot_a_dropped_head_needs_is_never_deleted(backend):
    state = ServerState(Config(), backend)
    for tag in "abc":
        write(state, 3, tag)
        snapshot_at(backend)                        # 6, 12, 18
    write(state, 3, "d")
    recovery.compact(backend, recovery.Retention(size=1, snapshots=3))
    assert backend.first_seq == 18
    recovery.compact(backend, recovery.Retention(snapshots=1))    # retention off again
    write(state, 3, "e")
    snapshot_at(backend)
    recovery.compact(backend, recovery.Retention(snapshots=1))
    assert [info.seq for info in backend.snapshots()] == [18, 30]
    assert recovery.restore(ServerState(Config(), backend), 20)[0] == 18


def test_config_parses_and_shows_retention(r):
    assert r.config_get("log-retention") == {"log-retention": ""}
    r.config_set("log-retention", "168h 10240mb")
    assert r.config_get("log-retention") == {"log-retention": "1w 10gb"}
    with pytest.raises(Exception, match="log-retention.*must be an age"):
        r.config_set("log-retention", "7 days")
    with pytest.raises(Exception, match="snapshot-retention"):
        r.config_set("snapshot-retention", "0")
    r.config_set("log-retention", "")


def test_bgrewriteaof_compacts_and_the_server_restarts_from_the_snapshot(redwood_server):
    server = redwood_server.start()
    c = server.client()
    for i in range(300):
        c.set(f"k{i % 50}", i)
    c.config_set("log-retention", "1b")
    c.execute_command("BGREWRITEAOF")
    wait_for(lambda: info(c, "aof_rewrite_in_progress") == 0 and info(c, "aof_rewrites") == 1)
    assert info(c, "log_first_seq") == info(c, "snapshot_seq") == 300
    assert info(c, "retention_horizon_seq") == 300 and info(c, "log_retention") == "1b"
    c.set("after", "1")
    values = {key: c.get(key) for key in c.keys("*")}
    server.kill()
    c = server.restart().client()
    assert {key: c.get(key) for key in c.keys("*")} == values
    assert info(c, "loading_snapshot_seq") == 300 and info(c, "loading_events") == 1
