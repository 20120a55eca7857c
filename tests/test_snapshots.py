"""Snapshots: the format, snapshot + tail equals full replay, and the server's SAVE, BGSAVE,
BGREWRITEAOF, save rules and start-up from a snapshot."""
import os
import signal
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.memory import MemoryBackend
from engine import commands  # noqa: F401  (registers the handlers)
from backends import snapshot_writer
from engine import recovery, snapshot
from engine.client import Client
from engine.config import Config
from engine.executor import execute, replay
from engine.keyspace import Keyspace
from engine.state import ServerState
from tests.servers import open_store

# -- the format ----------------------------------------------------------------------------
KEYS = st.sampled_from([b"a", b"b", b"c", b"\x00k", b""])
MEMBERS = st.sampled_from([b"1", b"2", b"30", b"-4", b"x", b"y", b"long-member-" * 3, b""])
SCORES = st.sampled_from([b"0", b"-0", b"1.5", b"-2", b"inf", b"-inf", b"3e10", b"7"])
NUMBERS = st.integers(min_value=-3, max_value=5).map(lambda n: b"%d" % n)


def cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts])


WRITES = st.one_of(
    cmd(b"SET", KEYS, MEMBERS), cmd(b"APPEND", KEYS, MEMBERS), cmd(b"SETRANGE", KEYS, NUMBERS, MEMBERS),
    cmd(b"INCRBYFLOAT", KEYS, SCORES), cmd(b"DEL", KEYS), cmd(b"PEXPIREAT", KEYS, st.just(b"99999999999999")),
    cmd(b"PERSIST", KEYS), cmd(b"RENAME", KEYS, KEYS), cmd(b"COPY", KEYS, KEYS, b"DB", b"1"),
    cmd(b"MOVE", KEYS, b"2"), cmd(b"SWAPDB", b"0", b"1"), cmd(b"SELECT", st.sampled_from([b"0", b"1"])),
    cmd(b"HSET", KEYS, MEMBERS, MEMBERS, MEMBERS, MEMBERS), cmd(b"HDEL", KEYS, MEMBERS),
    cmd(b"HINCRBY", KEYS, MEMBERS, NUMBERS),
    cmd(b"RPUSH", KEYS, MEMBERS, MEMBERS), cmd(b"LPUSH", KEYS, MEMBERS), cmd(b"LPOP", KEYS),
    cmd(b"LSET", KEYS, NUMBERS, MEMBERS), cmd(b"LREM", KEYS, NUMBERS, MEMBERS),
    cmd(b"SADD", KEYS, MEMBERS, MEMBERS, MEMBERS), cmd(b"SREM", KEYS, MEMBERS), cmd(b"SPOP", KEYS),
    cmd(b"SINTERSTORE", KEYS, KEYS, KEYS), cmd(b"SUNIONSTORE", KEYS, KEYS, KEYS),
    cmd(b"ZADD", KEYS, SCORES, MEMBERS, SCORES, MEMBERS), cmd(b"ZINCRBY", KEYS, SCORES, MEMBERS),
    cmd(b"ZREM", KEYS, MEMBERS), cmd(b"ZPOPMIN", KEYS), cmd(b"ZUNIONSTORE", KEYS, b"2", KEYS, KEYS),
    cmd(b"ZRANGESTORE", KEYS, KEYS, b"0", b"-1"), cmd(b"FLUSHDB"),
)


def small_config() -> Config:
    """Thresholds low enough that generated histories cross every encoding change."""
    config = Config()
    for name, value in (("hash-max-listpack-entries", "3"), ("hash-max-listpack-value", "8"),
                        ("set-max-intset-entries", "3"), ("zset-max-listpack-entries", "3"),
                        ("zset-max-listpack-value", "8")):
        config.load(name, value)
    return config


def run(state, argvs):
    client = Client(state)
    for argv in argvs:
        execute(client, list(argv))
    state.store.flush()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(WRITES, max_size=30), st.lists(WRITES, max_size=30))
def test_snapshot_plus_tail_equals_full_replay(monkeypatch, before, after):
    monkeypatch.setattr(snapshot, "PART", 2)           # big aggregates span records and chunks
    monkeypatch.setattr(snapshot, "CHUNK_BYTES", 64)
    backend = MemoryBackend()
    live = ServerState(small_config(), backend)
    run(live, before)
    seq = backend.last_seq
    backend.write_snapshot(seq, live.store.last_ts, snapshot.encode(live.keyspace, seq, live.store.last_ts))
    assert snapshot.fingerprint(_decoded(backend, seq)) == snapshot.fingerprint(live.keyspace)
    run(live, after)

    from_snapshot = ServerState(small_config(), backend)
    assert recovery.restore(from_snapshot)[0] == seq
    full = ServerState(small_config(), backend)
    replay(full, 1)
    assert snapshot.fingerprint(from_snapshot.keyspace) == snapshot.fingerprint(full.keyspace) \
        == snapshot.fingerprint(live.keyspace)


def _decoded(backend, seq) -> Keyspace:
    keyspace = Keyspace(16)
    snapshot.decode(keyspace, backend.read_snapshot(seq))
    return keyspace


def _sample_chunks() -> list:
    state = ServerState(small_config(), MemoryBackend())
    run(state, [(b"SET", b"s", b"v"), (b"HSET", b"h", b"f", b"v"), (b"RPUSH", b"l", b"a"),
                (b"SADD", b"S", b"1"), (b"ZADD", b"z", b"-0", b"m"), (b"SET", b"r", b"x"), (b"APPEND", b"r", b"y"),
                (b"PEXPIREAT", b"s", b"99999999999999")])
    return list(snapshot.encode(state.keyspace, 7, 1234))


def test_fingerprint_sees_values_encodings_and_expiry():
    chunks = _sample_chunks()
    base = snapshot.fingerprint(_load(chunks))
    for change in (lambda ks: ks.dbs[0].data.__setitem__(b"s", b"w"),
                   lambda ks: setattr(ks.dbs[0].data[b"h"], "hashtable", True),
                   lambda ks: ks.dbs[0].expires.pop(b"s"),
                   lambda ks: ks.dbs[0].data.__setitem__(b"r", b"xy"),       # raw -> embstr
                   lambda ks: ks.dbs[1].data.__setitem__(b"s", b"v")):
        keyspace = _load(chunks)
        change(keyspace)
        assert snapshot.fingerprint(keyspace) != base


def _load(chunks) -> Keyspace:
    keyspace = Keyspace(16)
    assert snapshot.decode(keyspace, chunks) == (7, 1234)
    return keyspace


def test_every_damage_is_found():
    chunks = _sample_chunks()
    assert snapshot.header(chunks[0]) == (snapshot.FORMAT_VERSION, 7, 1234)
    for i, chunk in enumerate(chunks):
        for pos in (0, 4, len(chunk) // 2, len(chunk) - 1):
            flipped = chunk[:pos] + bytes([chunk[pos] ^ 0x10]) + chunk[pos + 1:]
            with pytest.raises(snapshot.CorruptSnapshot):
                _load(chunks[:i] + [flipped] + chunks[i + 1:])
    for damaged in (chunks[:-1], chunks[1:], [chunks[0], chunks[2], chunks[1], *chunks[3:]],
                    chunks + [chunks[-1]]):
        with pytest.raises(snapshot.CorruptSnapshot):
            _load(damaged)


# -- the server ------------------------------------------------------------------------------
def info(client, field):
    return client.info("persistence")[field]


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def fill(client, n, prefix="k"):
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(f"{prefix}{i}", f"v{i}")
        if i % 7 == 0:
            pipe.hset(f"h{prefix}{i}", mapping={"f": i, "g": "x"})
            pipe.zadd(f"z{prefix}{i}", {"m": i / 3})
            pipe.pexpireat(f"{prefix}{i}", 99999999999999)
    pipe.execute()


def state_of(client) -> dict:
    out = {}
    for key in client.keys("*"):
        kind = client.type(key)
        value = {b"string": client.get, b"hash": client.hgetall,
                 b"zset": lambda k: client.zrange(k, 0, -1, withscores=True)}[kind](key)
        out[key] = (kind, value, client.pexpiretime(key))
    return out


def test_bgsave_then_restart_loads_snapshot_and_tail(redwood_server):
    server = redwood_server.start()
    c = server.client()
    fill(c, 500)
    assert c.bgsave() is True
    wait_for(lambda: info(c, "rdb_bgsave_in_progress") == 0)
    seq = info(c, "log_last_seq")
    assert info(c, "snapshot_seq") == seq and info(c, "rdb_last_bgsave_status") == "ok"
    assert info(c, "rdb_changes_since_last_save") == 0 and info(c, "snapshot_count") == 1
    fill(c, 50, prefix="tail")
    assert info(c, "rdb_changes_since_last_save") > 0
    before = state_of(c)
    server.kill()
    c = server.restart().client()
    assert state_of(c) == before
    assert info(c, "loading_snapshot_seq") == seq
    assert info(c, "loading_events") == info(c, "log_last_seq") - seq


def test_save_bgsave_bgrewriteaof_and_lastsave(redwood_server):
    server = redwood_server.start()
    c, raw = server.client(), server.raw()
    c.set("a", "1")
    saves = info(c, "rdb_saves")
    assert raw.call("SAVE") == b"+OK\r\n"
    assert info(c, "rdb_saves") == saves + 1 and info(c, "snapshot_seq") == info(c, "log_last_seq")
    assert abs(c.lastsave().timestamp() - time.time()) < 60
    assert raw.call("BGSAVE") == b"+Background saving started\r\n"
    assert raw.call("BGSAVE") == b"-ERR Background save already in progress\r\n"
    assert raw.call("SAVE") == b"-ERR Background save already in progress\r\n"
    wait_for(lambda: info(c, "rdb_bgsave_in_progress") == 0)
    assert raw.call("BGREWRITEAOF") == b"+Background append only file rewriting started\r\n"
    assert raw.call("BGREWRITEAOF") == b"-ERR Background append only file rewriting already in progress\r\n"
    assert raw.call("BGSAVE") == (b"-ERR Another child process is active (AOF?): can't BGSAVE right now. "
                                  b"Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.\r\n")
    assert raw.call("BGSAVE", "SCHEDULE") == b"+Background saving scheduled\r\n"
    wait_for(lambda: info(c, "rdb_saves") == saves + 3)     # SAVE, BGSAVE, then the scheduled one
    assert info(c, "aof_rewrites") == 1
    assert raw.call("MULTI") == b"+OK\r\n" and raw.call("BGSAVE") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+Background saving scheduled\r\n"
    wait_for(lambda: info(c, "rdb_saves") == saves + 4)
    raw.close()


def test_save_blocks_only_its_caller(redwood_server):
    server = redwood_server.start()
    fill(server.client(), 2000)
    saver, other = server.raw(), server.raw()
    saver.send_raw(b"*1\r\n$4\r\nSAVE\r\n")
    wait_for(lambda: info(server.client(), "rdb_bgsave_in_progress") == 1)
    assert other.call("SET", "during", "save") == b"+OK\r\n"     # served while SAVE waits
    assert other.call("GET", "during") == b"$4\r\nsave\r\n"
    assert info(server.client(), "rdb_bgsave_in_progress") == 1       # ... and before it ended
    assert saver.read_reply() == b"+OK\r\n"
    assert info(server.client(), "rdb_saves") == 1
    saver.close()
    other.close()


def test_save_rules_take_snapshots(redwood_server):
    c = redwood_server.restart("--save", "1 3").client()
    assert c.config_get("save") == {"save": "1 3"}
    c.set("a", 1)
    c.set("b", 2)
    time.sleep(1.5)
    assert info(c, "rdb_saves") == 0              # 2 changes (events): not enough
    c.set("c", 3)
    wait_for(lambda: info(c, "rdb_saves") == 1)
    assert info(c, "snapshot_seq") == 3
    c.config_set("save", "")
    c.set("d", 4)
    time.sleep(1.5)
    assert info(c, "rdb_saves") == 1


def test_a_corrupt_snapshot_is_skipped_for_the_one_before(redwood_server):
    server = redwood_server.start()
    c = server.client()
    fill(c, 100)
    c.execute_command("SAVE")
    first = info(c, "snapshot_seq")
    fill(c, 100, prefix="more")
    c.execute_command("SAVE")
    second = info(c, "snapshot_seq")
    before = state_of(c)
    server.stop()
    backend = open_store(server.dir)
    chunks = list(backend.read_snapshot(second))
    chunks[1] = chunks[1][:-3] + bytes([chunks[1][-3] ^ 1]) + chunks[1][-2:]
    backend.write_snapshot(second, 0, chunks)
    backend.close()
    c = server.restart().client()
    assert state_of(c) == before
    assert info(c, "loading_snapshot_seq") == first
    assert "unusable" in server.output()


def test_kill_9_of_the_snapshot_process_leaves_the_previous_one(redwood_server):
    """The builder killed before it finished: the save failed, the previous snapshot serves.
    (A kill in the middle of the chunks is the backend contract's test.)"""
    server = redwood_server.start()
    c = server.client()
    fill(c, 200)
    c.execute_command("SAVE")
    previous = info(c, "snapshot_seq")
    fill(c, 3000, prefix="big")
    c.execute_command("BGSAVE")
    wait_for(lambda: info(c, "snapshot_pid") != -1)    # it takes far longer to get to work
    pid = info(c, "snapshot_pid")
    assert pid > 0                          # (never os.kill(-1, …): that is every process)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: info(c, "rdb_bgsave_in_progress") == 0)
    assert info(c, "rdb_last_bgsave_status") == "err"
    assert info(c, "snapshot_seq") == previous and info(c, "snapshot_count") == 1
    before = state_of(c)
    server.kill()
    c = server.restart().client()
    assert state_of(c) == before
    assert info(c, "loading_snapshot_seq") == previous


def test_one_snapshot_writer_at_a_time(redwood_server):
    """A second writer (here: this test holding the lock, as an offline `redwood snapshot`
    would) makes BGSAVE fail instead of deleting the other's chunks."""
    server = redwood_server.start()
    c = server.client()
    c.set("k", "v")
    with snapshot_writer(server.dir):
        c.bgsave()
        wait_for(lambda: info(c, "rdb_bgsave_in_progress") == 0)
        assert info(c, "rdb_last_bgsave_status") == "err" and info(c, "snapshot_count") == 0
    assert "another process is writing a snapshot" in server.output()
    c.bgsave()
    wait_for(lambda: info(c, "rdb_bgsave_in_progress") == 0)
    assert info(c, "rdb_last_bgsave_status") == "ok" and info(c, "snapshot_count") == 1


def test_bgsave_syntax_matches_redis(diff):
    diff.run(["BGSAVE foo", "BGSAVE SCHEDULE x", "SAVE x", "BGREWRITEAOF x", "LASTSAVE x"])
