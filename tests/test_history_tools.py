"""`redwood restore`, `redwood log` and `redwood diff` run as real processes on histories real
servers wrote, with the states and times recorded as they were written; and the pure helpers
of engine.history (instants, event filters) in-process."""
import json
import os
import select
import signal
import subprocess
import sys
import time
from fnmatch import fnmatchcase

import pytest

from engine import events
from engine.events import Event, Origin
from engine.history import EventFilter, iso_time, parse_instant
from tests.servers import ROOT, Redwood, open_store
from tests.test_diff_random import dump
from tests.test_migrations import redwood_cli
from tests.test_snapshots import wait_for

KINDS = ("lmdb", "sqlite")
BACKEND = os.environ.get("REDWOOD_TEST_BACKEND", "lmdb")


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return str(path)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def last_seq(server) -> int:
    with server.client() as client:
        return client.info("persistence")["log_last_seq"]


def tool(*argv):
    result = redwood_cli(*argv)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def quiet_ms() -> int:
    """A time strictly between the events before it and those after (event times are ms)."""
    time.sleep(0.003)
    moment = now_ms()
    time.sleep(0.003)
    return moment


# -- restore -------------------------------------------------------------------------------
# Every type, several dbs, a transaction, expiry times, and what rewrites many keys at once.
STEPS = [
    ("SET", "s", "v1"), ("SET", "n", "10"), ("INCRBYFLOAT", "n", "1.5"), ("APPEND", "s", "-more"),
    ("HSET", "h", "a", "1", "b", "2"), ("RPUSH", "l", "x", "y", "z"), ("SADD", "S", "1", "2", "3"),
    ("ZADD", "z", "1", "m1", "2.5", "m2"), ("PEXPIRE", "h", "100000000"), ("SAVE",),
    ("LPOP", "l"), ("SREM", "S", "2"), ("ZINCRBY", "z", "3", "m1"), ("SELECT", "3"),
    ("SET", "other", "db3"), ("SELECT", "0"), ("MOVE", "s", "3"), ("SWAPDB", "0", "3"),
    ("MULTI",), ("HDEL", "h", "a"), ("SET", "t", "tx", "PX", "100000000"), ("EXEC",),
    ("SETRANGE", "other", "1", "XY"), ("FLUSHDB",), ("SET", "last", "1"),
]


def record_history(server) -> list[tuple[int, int, list]]:
    """Run STEPS, recording after each write (seq, a time before the next one, the dump)."""
    raw, recorded = server.raw(), []
    for step in STEPS:
        raw.call(*step)
        seq = last_seq(server)
        if step[0] in ("SELECT", "MULTI") or (recorded and recorded[-1][0] == seq):
            continue
        recorded.append((seq, quiet_ms(), dump(raw)))      # (it leaves db 0 selected)
    raw.close()
    return recorded


def served_dump(path: str, kind: str) -> list:
    server = Redwood(path, "--backend", kind).start()
    try:
        raw = server.raw()
        state = dump(raw)
        raw.close()
        return state
    finally:
        server.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_restore_to_every_kth_seq_serves_the_recorded_state(tmp_path, data, kind):
    server = Redwood(data, "--backend", kind).start()
    try:
        recorded = record_history(server)
    finally:
        server.stop()
    source = open_store(data)
    log_id, snapshots = source.get_meta("log_id"), [info.seq for info in source.snapshots()]
    source.close()
    assert snapshots and recorded[-1][0] > snapshots[0]     # restores before and after the SAVE
    for n, (seq, moment, state) in enumerate(recorded[::4] + recorded[-1:]):
        out = str(tmp_path / f"at-{seq}")
        target = ("--to-seq", str(seq)) if n % 2 else ("--to-time", iso_time(moment))
        result = tool("restore", "--dir", data, *target, "--out", out, "--json")
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        assert report["seq"] == seq and report["backend"] == kind
        assert "events/s" in result.stderr and "ETA" in result.stderr
        restored = open_store(out)
        try:
            assert restored.get_meta("log_id") == log_id and restored.last_seq == seq
            assert [info.seq for info in restored.snapshots()] == sorted({*(s for s in snapshots if s <= seq), seq})
            assert [record for _, record in restored.read(1)] == [record for _, record in source_records(data, seq)]
        finally:
            restored.close()
        assert served_dump(out, kind) == state, f"restored to event {seq}"


def source_records(data: str, to_seq: int) -> list:
    backend = open_store(data)
    try:
        return list(backend.read(1, to_seq))
    finally:
        backend.close()


def test_restore_by_relative_time_and_its_refusals(tmp_path, data):
    server = Redwood(data).start()
    with server.client() as client:
        client.set("a", "1")
        client.hset("h", "f", "v")
    expected = dump(server.raw())
    server.stop()
    latest = tool("restore", "--dir", data, "--to-time", "-0s", "--out", str(tmp_path / "now"))
    assert latest.returncode == 0, latest.stderr
    assert "event 2" in latest.stdout and "2 keys" in latest.stdout
    assert served_dump(str(tmp_path / "now"), BACKEND) == expected
    before = tool("restore", "--dir", data, "--to-time", "-1d", "--out", str(tmp_path / "empty"), "--json")
    assert before.returncode == 0 and json.loads(before.stdout)["keys"] == 0     # before the first event
    assert served_dump(str(tmp_path / "empty"), BACKEND) == []
    for argv, message in [
            (("--to-seq", "3", "--out", str(tmp_path / "x")), "not in the log, which ends at event 2"),
            (("--to-time", "yesterday", "--out", str(tmp_path / "x")), "is not a time"),
            (("--to-seq", "1", "--out", str(tmp_path / "now")), "is not empty")]:
        refused = tool("restore", "--dir", data, *argv)
        assert refused.returncode == 1 and message in refused.stderr, refused.stderr


def test_restore_refuses_an_instant_before_the_retention_horizon(tmp_path, data):
    server = Redwood(data).start()
    client = server.client()
    for i in range(20):
        client.set(f"k{i % 3}", i)
    old = quiet_ms()
    for i in range(20):
        client.set(f"k{i % 3}", i + 100)
    client.config_set("log-retention", "1b")
    client.bgrewriteaof()
    wait_for(lambda: client.info("persistence")["log_first_seq"] > 1
             and client.info("persistence")["aof_rewrite_in_progress"] == 0)
    horizon = client.info("persistence")["log_first_seq"]
    client.set("after", "1")
    recent = quiet_ms()
    client.set("later", "1")
    expected = dump(server.raw())
    server.stop()
    for target in (("--to-time", iso_time(old)), ("--to-time", "-1d"), ("--to-seq", "20")):
        refused = tool("restore", "--dir", data, *target, "--out", str(tmp_path / "x"))
        assert refused.returncode == 1, refused.stdout
        assert f"before the retention horizon: the oldest restorable state is event {horizon}" in refused.stderr
        assert not os.path.exists(tmp_path / "x")
    inside = tool("restore", "--dir", data, "--to-time", iso_time(recent), "--out", str(tmp_path / "ok"))
    assert inside.returncode == 0 and f"event {horizon + 1}" in inside.stdout, inside.stderr
    assert served_dump(str(tmp_path / "ok"), BACKEND) == [row for row in expected if row[1] != b"later"]
    at_end = tool("restore", "--dir", data, "--to-seq", str(horizon + 2), "--out", str(tmp_path / "end"))
    assert at_end.returncode == 0, at_end.stderr
    assert served_dump(str(tmp_path / "end"), BACKEND) == expected


# -- log -----------------------------------------------------------------------------------
def write_audited_history(server) -> tuple[int, int, str]:
    """Two named clients, two users, several dbs; returns two times between phases and
    client a's address."""
    admin = server.client()
    admin.execute_command("ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all")
    a = server.client(client_name="writer-a")
    b = server.client(username="alice", password="pw", client_name="writer-b")
    a.set("user:1", "x" * 200)
    b.mset({"user:2": "2", "item:1": "i"})
    first_phase = quiet_ms()
    a.hset("user:1:h", "f", "v")
    b.delete("user:2", "item:1")
    b.execute_command("SELECT", "3")
    b.set("user:3", "three")
    b.rpush("queue", "job")
    second_phase = quiet_ms()
    a.execute_command("SELECT", "5")
    a.set("gone", "1")
    a.flushdb()
    b.execute_command("SELECT", "0")
    b.set("item:2", b"\xff")
    addr = next(info["addr"] for info in admin.client_list() if info["name"] == "writer-a")
    for client in (admin, a, b):
        client.close()
    return first_phase, second_phase, addr


def keys_of(event) -> list[bytes]:
    name = event.argv[0].lower()
    if name == b"mset":
        return event.argv[1::2]
    if name == b"del":
        return event.argv[1:]
    return event.argv[1:2]


def test_log_filters_return_exactly_the_matching_events(data):
    server = Redwood(data).start()
    first_phase, second_phase, addr = write_audited_history(server)
    server.stop()
    backend = open_store(data)
    every = [events.decode(seq, record) for seq, record in backend.read(1)]
    backend.close()
    cases = [
        (["--key", "user:*"], lambda e: e.argv[0].lower() == b"flushdb"
            or any(fnmatchcase(key.decode(), "user:*") for key in keys_of(e))),
        (["--client", "writer-b"], lambda e: e.origin.name == "writer-b"),
        (["--client", addr], lambda e: e.origin.addr == addr),
        (["--client", addr.rsplit(":", 1)[0]], lambda e: e.origin.kind == "client"),
        (["--user", "alice"], lambda e: e.origin.user == "alice"),
        (["--db", "3"], lambda e: e.db == 3),
        (["--command", "SET,del"], lambda e: e.argv[0].lower() in (b"set", b"del")),
        (["--since", iso_time(first_phase), "--until", str(second_phase)],
            lambda e: first_phase <= e.ts <= second_phase),
        (["--key", "user:*", "--user", "alice", "--db", "0"],
            lambda e: e.origin.user == "alice" and e.db == 0 and any(key.startswith(b"user:") for key in keys_of(e))),
        (["--key", "nothing"], lambda e: e.argv[0].lower() == b"flushdb"),
        (["--key", "item:2"], lambda e: e.argv[0].lower() == b"flushdb" or b"item:2" in keys_of(e)),  # the index
        (["--key", "item:2", "--since", str(second_phase)],
            lambda e: e.ts >= second_phase and (e.argv[0].lower() == b"flushdb" or b"item:2" in keys_of(e))),
    ]
    for argv, wanted in cases:
        expected = [e.seq for e in every if wanted(e)]
        assert expected, argv
        result = tool("log", "--dir", data, "--json", *argv)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == expected, argv
    lines = tool("log", "--dir", data, "--json", "--from-seq", "3", "--count", "2").stdout.splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [3, 4]
    last = json.loads(tool("log", "--dir", data, "--json", "--from-seq", str(every[-1].seq)).stdout)
    assert last["argv"] == ["SET", "item:2", "\\xff"] and last["origin"]["name"] == "writer-b"
    assert last["origin"]["user"] == "alice" and last["time"] == iso_time(last["ts"])


def test_log_prints_a_table_with_long_values_shortened(data):
    server = Redwood(data).start()
    with server.client(client_name="app") as client:
        client.set("long", "v" * 500)
        client.set("short", "a b")
    server.stop()
    result = tool("log", "--dir", data)
    assert result.returncode == 0, result.stderr
    header, first, second = result.stdout.splitlines()
    assert header.split() == ["seq", "time", "db", "user", "client", "command"]
    assert '"SET" "long" "vvvv' in first and '…"' in first and len(first) <= 160 and "v" * 100 not in first
    assert second.split()[0] == "2" and second.endswith('"SET" "short" "a b"') and "(app)" in second


@pytest.mark.parametrize("kind, stop", [("lmdb", signal.SIGTERM), ("sqlite", signal.SIGINT)])
def test_log_follow_prints_events_as_a_live_server_commits_them(data, kind, stop):
    server = Redwood(data, "--backend", kind).start()
    client = server.client()
    client.set("before", "1")
    follower = subprocess.Popen([sys.executable, "-m", "server.cli", "log", "--dir", data, "--follow",
                                 "--json", "--key", "k*"], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        lines = Lines(follower)
        client.set("k1", "first")
        assert json.loads(lines.next())["argv"] == ["SET", "k1", "first"]
        client.set("other", "skipped")
        client.rpush("k2", "second")
        assert json.loads(lines.next())["argv"] == ["RPUSH", "k2", "second"]
        assert follower.pid > 0
        os.kill(follower.pid, stop)
        assert follower.wait(timeout=30) == 0, follower.stderr.read()
        assert b"Traceback" not in follower.stderr.read()
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
        client.close()
        server.stop()


class Lines:
    """A subprocess's stdout read line by line, each within a deadline."""

    def __init__(self, proc):
        self.fd, self.buffer = proc.stdout.fileno(), b""

    def next(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, f"no line within {timeout}s; got {self.buffer!r}"
            if select.select([self.fd], [], [], left)[0]:
                chunk = os.read(self.fd, 65536)
                assert chunk, f"the output ended; got {self.buffer!r}"
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


# -- diff ----------------------------------------------------------------------------------
def test_diff_reports_added_removed_and_changed_keys(data):
    server = Redwood(data).start()
    c = server.client()
    c.set("same", "1")
    c.set("value", "old")
    c.set("gone", "1")
    c.hset("h", mapping={"a": "1"})
    c.rpush("retyped", "x")
    c.sadd("ttl", "m")
    c.execute_command("SELECT", "3")
    c.set("flushed", "1")
    c.execute_command("SELECT", "4")
    c.set("swapped", "1")
    c.execute_command("SELECT", "0")
    start = quiet_ms()
    c.set("value", "newer")
    c.delete("gone")
    c.set("added", "1")
    c.hset("h", mapping={"b": "2", "c": "3"})
    c.delete("retyped")
    c.set("retyped", "now a string")
    c.pexpire("ttl", 100_000_000)
    c.set("transient", "1")
    c.delete("transient")
    c.set("same", "1")
    c.execute_command("SELECT", "3")
    c.flushdb()
    c.swapdb(4, 5)
    end = quiet_ms()
    c.set("later", "1")
    server.stop()
    result = tool("diff", "--dir", data, "--from", iso_time(start), "--to", iso_time(end), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    changes = {(k["db"], k["key"]): (k["change"], k["before"] and k["before"]["size"],
                                     k["after"] and k["after"]["size"]) for k in report["keys"]}
    assert changes == {
        (0, "added"): ("added", None, 1), (0, "gone"): ("removed", 1, None),
        (0, "h"): ("value", 1, 3), (0, "retyped"): ("type", 1, 12), (0, "ttl"): ("ttl", 1, 1),
        (0, "value"): ("value", 3, 5), (3, "flushed"): ("removed", 1, None),
        (4, "swapped"): ("removed", 1, None), (5, "swapped"): ("added", None, 1)}
    ttl = next(k for k in report["keys"] if k["key"] == "ttl")
    assert ttl["before"]["expires"] is None and ttl["after"]["expires"] > end
    assert report["from"]["ts"] == start and report["to"]["seq"] == report["from"]["seq"] + 12
    text = tool("diff", "--dir", data, "--from", iso_time(start), "--to", str(end))
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1].startswith("9 keys changed between")
    assert ' 0  "retyped"  type       list -> string, size 1 -> 12' in text.stdout
    nothing = tool("diff", "--dir", data, "--from", iso_time(end), "--to", "-0s", "--json")
    assert [k["key"] for k in json.loads(nothing.stdout)["keys"]] == ["later"]


# -- the pure helpers ----------------------------------------------------------------------
def test_parse_instant_reads_iso_relative_and_epoch_forms():
    now = 1_795_428_930_250
    assert parse_instant("2026-11-23T10:15:30.250Z", now) == now
    assert parse_instant("2026-11-23T10:15:30.250", now) == now
    assert parse_instant("2026-11-23T12:15:30.250+02:00", now) == now
    assert parse_instant("2026-11-23T10:15:30Z", now) == now - 250
    assert parse_instant(str(now), 0) == now
    for text, back in [("-15m", 900_000), ("-2h", 7_200_000), ("-30s", 30_000), ("-1d", 86_400_000),
                       ("-500ms", 500), ("-0s", 0)]:
        assert parse_instant(text, now) == now - back, text
    assert iso_time(now) == "2026-11-23T10:15:30.250Z"
    for bad in ("", "yesterday", "-15", "-15x", "15m", "2026-13-01"):
        with pytest.raises(ValueError, match="is not a time"):
            parse_instant(bad, now)


APP = Origin("client", 7, "10.0.0.1:5000", "app", "alice")


def event(argv, db=0, ts=1000, origin=APP):
    return Event(1, ts, db, 0, origin, [arg.encode() for arg in argv])


def test_event_filter_matches_every_criterion():
    mset = event(["MSET", "user:1", "a", "item:1", "b"])
    assert EventFilter().matches(mset)
    assert EventFilter(keys="item:*").matches(mset) and not EventFilter(keys="order:*").matches(mset)
    assert EventFilter(keys="user:[0-9]").matches(mset) and not EventFilter(keys="a").matches(mset)
    assert EventFilter(keys="dst").matches(event(["ZUNIONSTORE", "dst", "2", "s1", "s2"]))
    assert EventFilter(keys="s2").matches(event(["ZUNIONSTORE", "dst", "2", "s1", "s2"]))
    assert not EventFilter(keys="2").matches(event(["ZUNIONSTORE", "dst", "2", "s1", "s2"]))
    for whole in (["FLUSHDB"], ["FLUSHALL"], ["SWAPDB", "0", "1"]):
        assert EventFilter(keys="anything").matches(event(whole))
    for client in ("10.0.0.1:5000", "10.0.0.1", "app"):
        assert EventFilter(client=client).matches(mset)
    for client in ("10.0.0.1:5001", "10.0.0", "ap"):
        assert not EventFilter(client=client).matches(mset)
    assert EventFilter(user="alice").matches(mset) and not EventFilter(user="bob").matches(mset)
    expired = event(["DEL", "k"], origin=Origin("expire"))
    assert not EventFilter(user="alice").matches(expired) and not EventFilter(client="app").matches(expired)
    assert EventFilter(db=2).matches(event(["SET", "k", "v"], db=2))
    assert not EventFilter(db=2).matches(event(["SET", "k", "v"], db=1))
    assert EventFilter(db=4).matches(event(["MOVE", "k", "4"]))
    assert EventFilter(db=4).matches(event(["SWAPDB", "4", "9"], db=1))
    assert EventFilter(db=4).matches(event(["FLUSHALL"], db=1))
    assert EventFilter(db=4).matches(event(["COPY", "a", "b", "DB", "4"]))
    assert not EventFilter(db=4).matches(event(["COPY", "a", "b"]))
    assert EventFilter(commands={b"mset", b"del"}).matches(mset)
    assert not EventFilter(commands={b"set"}).matches(mset)
    assert EventFilter(since_ms=1000, until_ms=1000).matches(mset)
    assert not EventFilter(since_ms=1001).matches(mset) and not EventFilter(until_ms=999).matches(mset)
    assert not EventFilter(keys="user:*", user="bob").matches(mset)
