"""`redwood replay`, run as a real process on a history a real Redwood server wrote, into a
real redis-server, another Redwood and a new store; compared by full dumps."""
import json
import time
from typing import NamedTuple

import pytest

from engine import history
from tests.servers import RealRedis, Redwood, open_store
from tests.test_diff_random import dump
from tests.test_migrations import redwood_cli


class History(NamedTuple):
    dir: str
    mid_seq: int        # a seq in the middle of the history…
    mid_dump: list      # … and the dump of the live server at that seq
    dump: list          # at the end
    log_id: str


def write_history(client):
    """Every type over several dbs: TTLs, a transaction, DEL, FLUSHDB in one db, SWAPDB."""
    client.set("user:1", "ada", px=50_000_000)           # logged as SET … PXAT
    client.hset("user:2", mapping={"name": "bob", "age": 42})
    client.rpush("list", *range(10))
    client.sadd("set", *range(10))
    client.zadd("zset", {f"m{i}": i / 4 for i in range(10)})
    client.incrbyfloat("float", 2.5)
    client.expire("list", 40_000)
    with client.pipeline(transaction=True) as multi:
        multi.set("user:3", "cy").lpush("list", "head").hincrby("user:2", "age", 1).delete("set")
        multi.execute()
    client.lpop("list")
    client.zincrby("zset", 10, "m0")


def write_other_dbs(server) -> None:
    for db, tag in ((1, "one"), (2, "two"), (3, "three")):
        client = server.client(db=db)
        client.set(f"{tag}:s", tag)
        client.hset(f"user:{tag}", "db", db)
        client.sadd(f"{tag}:set", "a", "b", "c")
    one = server.client(db=1)
    one.flushdb()
    one.rpush("one:after", "x", "y")
    server.client().swapdb(2, 3)
    server.client(db=2).srem("three:set", "a")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> History:
    data = str(tmp_path_factory.mktemp("source"))
    server = Redwood(data).start()
    try:
        client = server.client()
        write_history(client)
        mid_seq, mid_dump = client.info("persistence")["log_last_seq"], dump(server.raw())
        write_other_dbs(server)
        client.delete("float")
        client.set("user:4", "dee")
        final = dump(server.raw())
    finally:
        server.stop()
    backend = open_store(data)
    try:
        log_id = backend.get_meta("log_id").decode()
    finally:
        backend.close()
    return History(data, mid_seq, mid_dump, final, log_id)


@pytest.fixture
def target(tmp_path):
    server = RealRedis(str(tmp_path)).start()
    yield server
    server.stop()


def replay(recorded_dir, *argv):
    result = redwood_cli("replay", "--dir", recorded_dir, *argv)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def url(server) -> str:
    return f"redis://127.0.0.1:{server.port}"


def logged(path: str) -> list:
    backend = open_store(path)
    try:
        return list(history.events(backend))
    finally:
        backend.close()


def test_a_full_replay_into_redis_and_into_redwood_dumps_the_same(recorded, target, tmp_path):
    result = replay(recorded.dir, "--to", url(target), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["events"] == len(logged(recorded.dir)) > 20
    assert dump(target.raw()) == recorded.dump

    redwood = Redwood(str(tmp_path)).start()
    try:
        result = replay(recorded.dir, "--to", url(redwood))
        assert result.returncode == 0, result.stderr
        assert f"{summary['events']} events replayed into {url(redwood)}" in result.stdout
        assert dump(redwood.raw()) == recorded.dump
    finally:
        redwood.stop()


def test_a_slice_up_to_a_seq_dumps_as_the_server_did_then(recorded, target):
    result = replay(recorded.dir, "--to-seq", str(recorded.mid_seq), "--to", url(target), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events"] == recorded.mid_seq
    assert dump(target.raw()) == recorded.mid_dump != recorded.dump
    assert any(db == 0 and key == b"user:1" for db, key, *_ in recorded.mid_dump)


def test_out_writes_a_new_store_with_a_history_of_its_own(recorded, tmp_path):
    out = str(tmp_path / "replayed")
    result = replay(recorded.dir, "--out", out)
    assert result.returncode == 0, result.stderr
    source, replayed = logged(recorded.dir), logged(out)
    assert [(e.ts, e.db, e.flags, e.argv) for e in replayed] == [(e.ts, e.db, e.flags, e.argv) for e in source]
    assert [e.origin for e in replayed] == [e.origin for e in source]
    backend = open_store(out)
    try:
        assert backend.get_meta("log_id").decode() not in ("", recorded.log_id)
    finally:
        backend.close()
    server = Redwood(out).start()
    try:
        assert dump(server.raw()) == recorded.dump
    finally:
        server.stop()
    refused = replay(recorded.dir, "--out", out)
    assert refused.returncode == 1 and "is not empty" in refused.stderr


def test_a_key_filter_replays_only_those_keys(recorded, target):
    result = replay(recorded.dir, "--key", "user:*", "--to", url(target))
    assert result.returncode == 0, result.stderr
    replayed = dump(target.raw())
    assert {key for _, key, *_ in replayed} == {b"user:1", b"user:2", b"user:3", b"user:4",
                                                b"user:two", b"user:three"}
    assert replayed == [entry for entry in recorded.dump if entry[1].startswith(b"user:")]


def test_a_dry_run_prints_the_events_and_sends_nothing(recorded, target):
    count = len(logged(recorded.dir))
    table = replay(recorded.dir, "--to", url(target), "--dry-run")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0] == history.TABLE_HEADER and len(rows) == count + 1
    assert '"FLUSHDB"' in table.stdout.upper() and '"SWAPDB" "2" "3"' in table.stdout.upper()
    lines = replay(recorded.dir, "--to", url(target), "--dry-run", "--json", "--from-seq", "3")
    assert [json.loads(line)["seq"] for line in lines.stdout.splitlines()] == list(range(3, count + 1))
    assert dump(target.raw()) == []


def test_speed_1x_keeps_the_recorded_gaps(tmp_path_factory, target):
    data = str(tmp_path_factory.mktemp("paced"))
    server = Redwood(data).start()
    try:
        client = server.client()
        client.set("a", 1)
        time.sleep(0.5)
        client.set("b", 2)
    finally:
        server.stop()
    first, second = logged(data)
    gap = (second.ts - first.ts) / 1000
    assert gap >= 0.5
    for speed, least in (("1x", gap), ("2x", gap / 2)):
        result = replay(data, "--to", url(target), "--speed", speed, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["seconds"] >= least * 0.95
    assert target.client().mget("a", "b") == [b"1", b"2"]
    assert replay(data, "--to", url(target), "--speed", "fast").returncode == 1


def test_an_error_reply_stops_the_replay_naming_the_event(recorded, target):
    target.client().set("user:2", "a string")
    wrong = next(e for e in logged(recorded.dir) if e.db == 0 and e.argv[1:2] == [b"user:2"])
    result = replay(recorded.dir, "--to", url(target), "--json")
    assert result.returncode == 1
    assert f'event {wrong.seq} ("HSET" "user:2"' in result.stderr and "WRONGTYPE" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["error"]["seq"] == wrong.seq and summary["events"] == wrong.seq - 1


def test_a_server_with_a_password_is_replayed_into_after_auth(recorded, tmp_path):
    server = RealRedis(str(tmp_path), "--requirepass", "s3cret").start()
    try:
        refused = replay(recorded.dir, "--to-seq", "2", "--to", f"redis://default:wrong@127.0.0.1:{server.port}")
        assert refused.returncode == 1 and "WRONGPASS" in refused.stderr
        assert ":***@" in refused.stderr and ":wrong@" not in refused.stderr     # no password printed
        result = replay(recorded.dir, "--to-seq", "2", "--to", f"redis://:s3cret@127.0.0.1:{server.port}")
        assert result.returncode == 0, result.stderr
        assert server.client(password="s3cret").hget("user:2", "name") == b"bob"
    finally:
        server.stop()
