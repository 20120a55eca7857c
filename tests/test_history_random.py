"""Random histories (hypothesis) on one Redwood per module, checked against what was recorded
while they were written: HISTORY ASOF and `redwood restore` give back the state recorded after
each write; HISTORY KEY and HISTORY LOG return exactly the events a model of the writes names,
each once; HISTORY FOLLOW delivers every event once and in order across forced disconnects.

Examples are few and each starts from FLUSHALL (the log goes on growing across them): the
model speaks of the events after the seq an example starts from.
"""
import shutil
import socket
import struct
import tempfile
import threading
from fnmatch import fnmatchcase

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests.proxy import Proxy
from tests.servers import RawClient, Redwood, encode_command, parse_reply
from tests.test_diff_random import FAR, SMALL_INT, cmd, dump
from tests.test_history_commands import position
from tests.test_history_tools import BACKEND, served_dump, tool

# No explain phase: each of its runs replays a whole example on the server, minutes in all.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
DBS = 3                                       # the steps use databases 0..2
FAR_AT = st.integers(min_value=4 * 10**12, max_value=5 * 10**12).map(lambda n: b"%d" % n)   # ms, ~2100
VALUES = st.one_of(st.sampled_from([b"", b"1", b"-7", b"x"]), st.binary(max_size=6))
MEMBERS = st.sampled_from([b"m", b"n", b"1", b""])
SCORES = st.sampled_from([b"0", b"1.5", b"-2", b"inf"])
DB = st.sampled_from([b"0", b"1", b"2"])
END = st.sampled_from([b"LEFT", b"RIGHT"])


def writes(keys):
    """Writes of every type over keys (some refused, some changing nothing: those log nothing)."""
    return st.one_of(
        cmd(b"SET", keys, VALUES), cmd(b"SET", keys, VALUES, b"PXAT", FAR_AT), cmd(b"APPEND", keys, VALUES),
        cmd(b"INCR", keys), cmd(b"SETRANGE", keys, st.sampled_from([b"0", b"3"]), VALUES), cmd(b"GETDEL", keys),
        cmd(b"EXPIRE", keys, FAR), cmd(b"PEXPIREAT", keys, FAR_AT), cmd(b"PERSIST", keys),
        cmd(b"EXPIRE", keys, b"-1"),
        cmd(b"RPUSH", keys, VALUES, VALUES), cmd(b"LPUSH", keys, VALUES), cmd(b"LPOP", keys),
        cmd(b"LREM", keys, b"0", VALUES), cmd(b"LMOVE", keys, keys, END, END),
        cmd(b"HSET", keys, MEMBERS, VALUES), cmd(b"HDEL", keys, MEMBERS), cmd(b"HINCRBY", keys, MEMBERS, SMALL_INT),
        cmd(b"SADD", keys, MEMBERS, MEMBERS), cmd(b"SREM", keys, MEMBERS), cmd(b"SMOVE", keys, keys, MEMBERS),
        cmd(b"SUNIONSTORE", keys, keys, keys),
        cmd(b"ZADD", keys, SCORES, MEMBERS), cmd(b"ZREM", keys, MEMBERS), cmd(b"ZINCRBY", keys, SCORES, MEMBERS),
        cmd(b"ZPOPMIN", keys),
        cmd(b"DEL", keys, keys), cmd(b"RENAME", keys, keys), cmd(b"COPY", keys, keys, b"REPLACE"),
        cmd(b"COPY", keys, keys, b"DB", DB), cmd(b"MOVE", keys, DB), cmd(b"SWAPDB", DB, DB),
        cmd(b"FLUSHDB"), cmd(b"FLUSHALL"))


KEY_NAMES = [b"a", b"b", b"c", b"k\xff"]
STEPS = st.lists(st.one_of(writes(st.sampled_from(KEY_NAMES)), cmd(b"SELECT", DB), cmd(b"SAVE")),
                 min_size=5, max_size=30)


def last_seq(raw) -> int:
    return position(raw)[b"last-seq"]


def play(raw, steps, with_state=True) -> tuple[int, list]:
    """Run steps on raw from an empty dataset in db 0: the seq the run starts after, and
    (seq, db, argv as logged, state) for the start and each step that logged an event, state
    being the dataset's then (None without with_state)."""
    assert raw.call("FLUSHALL") == b"+OK\r\n"
    raw.call("SELECT", "0")
    db = 0
    start = last = last_seq(raw)
    recorded = [(start, db, None, state(raw, db) if with_state else None)]
    for argv in steps:
        reply = raw.call(*argv)
        if argv[0] == b"SELECT":
            db = int(argv[1])
            continue
        seq = last_seq(raw)
        assert seq - last in (0, 1), (argv, reply)      # one command, at most one event
        if seq != last:
            recorded.append((seq, db, logged(raw, seq), state(raw, db) if with_state else None))
        last = seq
    return start, recorded


def logged(raw, seq: int) -> list:
    """The argv event seq holds (a write is logged as its effect: DEL of the keys it deleted …)."""
    _, [entry] = parse_reply(raw.call("HISTORY", "LOG", "AFTER", str(seq - 1), "COUNT", "1"))
    assert entry[0] == seq
    return entry[6]


def state(client, db: int = 0) -> tuple:
    """The whole dataset (dump), each db's DBSIZE, SCAN (paged) and EXISTS of every key name;
    db selected again after."""
    listing = []
    for index in range(DBS):
        client.call("SELECT", index)
        cursor, scanned = b"0", []
        while True:
            cursor, page = parse_reply(client.call("SCAN", cursor, "COUNT", "2"))
            scanned += page
            if cursor == b"0":
                break
        listing.append((client.call("DBSIZE"), sorted(scanned), client.call("EXISTS", *KEY_NAMES)))
    snapshot = (dump(client), listing)
    client.call("SELECT", db)
    return snapshot


class AsOf:
    """A client whose commands run as of event seq (HISTORY ASOF SEQ seq …); SELECT picks the db."""

    def __init__(self, raw, seq: int):
        self.raw, self.seq = raw, seq

    def call(self, *argv):
        if argv[0] == "SELECT":
            return self.raw.call(*argv)
        return self.raw.call("HISTORY", "ASOF", "SEQ", str(self.seq), *argv)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("histtests") / "data"
    data.mkdir()
    server = Redwood(str(data)).start()
    yield server
    server.stop()


# -- 1, 2: the past, rebuilt -------------------------------------------------------------------
@settings(phases=PHASES, max_examples=20, deadline=None)
@given(steps=STEPS)
def test_read_as_of_every_seq_equals_the_state_recorded_then(server, steps):
    raw = server.raw()
    try:
        _, recorded = play(raw, steps)
        for seq, db, argv, expected in recorded:
            assert state(AsOf(raw, seq)) == expected, f"as of event {seq} (after {argv!r} in db {db})"
    finally:
        raw.close()


@settings(phases=PHASES, max_examples=4, deadline=None)
@given(steps=STEPS)
def test_restore_to_every_kth_seq_serves_the_state_recorded_then(server, steps):
    raw = server.raw()
    try:
        _, recorded = play(raw, steps)
    finally:
        raw.close()
    work = tempfile.mkdtemp(prefix="histtests-restore-", dir=server.dir + "/..")
    try:
        chosen = recorded[::max(1, len(recorded) // 3)]           # the start (empty) among them
        if chosen[-1] is not recorded[-1]:
            chosen.append(recorded[-1])
        for seq, _, argv, (expected, _) in chosen:
            out = f"{work}/at-{seq}"
            result = tool("restore", "--dir", server.dir, "--to-seq", str(seq), "--out", out)
            assert result.returncode == 0, result.stderr
            assert served_dump(out, BACKEND) == expected, f"restored to event {seq} (after {argv!r})"
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- 3: HISTORY KEY ------------------------------------------------------------------------------
def touches(argv, ran_in: int, db: int, key: bytes) -> bool:
    """Whether the event argv (as logged), run in db ran_in, names key of db (as read or changed)."""
    name = argv[0].upper()
    if name == b"FLUSHALL":
        return True
    if name == b"FLUSHDB":
        return db == ran_in
    if name == b"SWAPDB":
        return db in (int(argv[1]), int(argv[2]))
    if name == b"MOVE":
        return key == argv[1] and db in (ran_in, int(argv[2]))
    if name == b"COPY" and argv[3:4] == [b"DB"]:
        return (db, key) in {(ran_in, argv[1]), (int(argv[4]), argv[2])}
    return db == ran_in and key in keys_of(argv)


def keys_of(argv) -> list[bytes]:
    """The keys an event of writes() names, as logged (not FLUSH*, SWAPDB: every key)."""
    name = argv[0].upper()
    if name in (b"DEL", b"SUNIONSTORE"):
        return list(argv[1:])
    if name in (b"LMOVE", b"SMOVE", b"RENAME", b"COPY"):
        return list(argv[1:3])
    return [argv[1]]


def key_history(raw, key: bytes, count: int, after: int) -> list[tuple[int, int]]:
    """(seq, db) of HISTORY KEY key's events after seq `after`, paged COUNT count with the cursor."""
    found, before = [], None
    while True:
        argv = ["HISTORY", "KEY", key, "COUNT", str(count)] + (["BEFORE", str(before)] if before else [])
        cursor, entries = parse_reply(raw.call(*argv))
        assert len(entries) <= count and (not cursor or not before or cursor < before), (before, cursor)
        before = cursor
        found += [(entry[0], entry[2]) for entry in entries]
        if not before or (found and found[-1][0] <= after):
            return [(seq, db) for seq, db in found if seq > after]


@settings(phases=PHASES, max_examples=20, deadline=None)
@given(steps=STEPS, count=st.integers(min_value=1, max_value=4))
def test_key_history_names_exactly_the_writes_of_each_key_newest_first(server, steps, count):
    raw = server.raw()
    try:
        start, recorded = play(raw, steps, with_state=False)
        for db in range(DBS):
            raw.call("SELECT", db)
            for key in KEY_NAMES:
                said = {seq: touches(argv, ran_in, db, key) for seq, ran_in, argv, _ in recorded[1:]}
                expected = [(seq, ran_in) for seq, ran_in, _, _ in reversed(recorded[1:]) if said[seq]]
                found = key_history(raw, key, count, start)
                assert found == expected, (db, key)
    finally:
        raw.close()


def test_a_copy_to_another_db_is_in_the_history_of_its_two_keys_only(server):
    raw = server.raw()
    try:
        raw.call("FLUSHALL")
        raw.call("SELECT", "0")
        start = last_seq(raw)
        raw.call("SET", "a", "1")
        raw.call("COPY", "a", "b", "DB", "1")
        copy = last_seq(raw)
        assert key_history(raw, b"a", 10, start) == [(copy, 0), (copy - 1, 0)]
        raw.call("SELECT", "1")
        assert key_history(raw, b"b", 10, start) == [(copy, 0)]
        assert key_history(raw, b"a", 10, start) == []          # fails: [(copy, 0)]
        raw.call("SELECT", "0")
        assert key_history(raw, b"b", 10, start) == []          # fails: [(copy, 0)]
    finally:
        raw.close()


# -- 4: HISTORY LOG ------------------------------------------------------------------------------
LOG_KEYS = st.sampled_from([b"p:a", b"p:b", b"q:a", b"qq"])
PATTERNS = ["p:*", "*a", "q?a", "[pq]:b", "nothing"]
WRITERS = ("default", "alice", "bob")


@pytest.fixture(scope="module")
def writers(server):
    """A connection per user (default, alice, bob), each named w-<user>: (conn, user, name, addr)."""
    admin = server.raw()
    admin.call("ACL", "SETUSER", "alice", "on", ">pw", "~*", "+@all")
    admin.call("ACL", "SETUSER", "bob", "on", ">pw", "~*", "+@all")
    admin.call("ACL", "SETUSER", "carol", "on", ">pw", "~p:*", "+@all")
    admin.close()
    conns = []
    for user in WRITERS:
        conn = server.raw()
        if user != "default":
            assert conn.call("AUTH", user, "pw") == b"+OK\r\n"
        conn.call("CLIENT", "SETNAME", f"w-{user}")
        info = parse_reply(conn.call("CLIENT", "INFO")).decode()
        addr = next(field[5:] for field in info.split() if field.startswith("addr="))
        conns.append((conn, user, f"w-{user}", addr))
    yield conns
    for conn, *_ in conns:
        conn.close()


def log_pages(raw, after: int, count: int, *options) -> list:
    """Every entry of HISTORY LOG … after seq `after`, following the cursor COUNT count at a time."""
    found = []
    while True:
        reply = parse_reply(raw.call("HISTORY", "LOG", "AFTER", str(after), "COUNT", str(count), *options))
        assert isinstance(reply, list), (reply, options)
        cursor, entries = reply
        assert len(entries) <= count and (not cursor or cursor > after), (after, cursor)
        after = cursor
        found += entries
        if not after:
            return found


QUERIES = st.fixed_dictionaries({}, optional={
    "USER": st.sampled_from([*WRITERS, "nobody"]),
    "CLIENT": st.sampled_from(["w-alice", "w-default", "127.0.0.1", "nobody", "addr:alice", "addr:bob"]),
    "MATCH": st.sampled_from(PATTERNS),
    "SINCE": st.tuples(st.floats(0, 1), st.sampled_from([-1, 0, 1])),
    "UNTIL": st.tuples(st.floats(0, 1), st.sampled_from([-1, 0, 1])),
})


@settings(phases=PHASES, max_examples=20, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 2), writes(LOG_KEYS)), min_size=5, max_size=25),
       queries=st.lists(st.tuples(QUERIES, st.integers(1, 4)), min_size=3, max_size=6))
def test_log_filters_return_exactly_the_matching_events_oldest_first(server, writers, steps, queries):
    raw = server.raw()
    try:
        raw.call("FLUSHALL")
        start = last = last_seq(raw)
        recorded = []                       # (seq, user, name, addr, argv)
        for writer, argv in steps:
            conn, user, name, addr = writers[writer]
            conn.call(*argv)
            seq = last_seq(raw)
            assert seq - last in (0, 1), argv
            if seq != last:
                recorded.append((seq, user, name, addr, logged(raw, seq)))
            last = seq
        every = log_pages(raw, start, 1000)
        assert [(e[0], e[3].decode(), e[5].decode(), e[4].decode()) for e in every] == \
            [(seq, user, name, addr) for seq, user, name, addr, _ in recorded]
        times = [entry[1] for entry in every]
        assert times == sorted(times)
        ts = dict(zip([entry[0] for entry in every], times))
        addrs = {user: addr for _, user, _, addr in writers}
        for query, count in queries:
            options, wanted = [], []
            for option, value in query.items():
                if option in ("SINCE", "UNTIL"):
                    at, shift = value
                    value = max(0, (times[int(at * (len(times) - 1))] if times else 0) + shift)
                elif value.startswith("addr:"):
                    value = addrs[value[5:]]
                options += [option, str(value)]
                wanted.append(criterion(option, value, ts))
            expected = [seq for seq, *event in recorded if all(keep(seq, *event) for keep in wanted)]
            assert [entry[0] for entry in log_pages(raw, start, count, *options)] == expected, options
        carol = server.raw()                # may read p:* only: sees the events of those keys alone
        assert carol.call("AUTH", "carol", "pw") == b"+OK\r\n"
        readable = [seq for seq, *_, argv in recorded if not whole_db(argv)
                    and all(fnmatchcase(key, b"p:*") for key in keys_of(argv))]
        assert [entry[0] for entry in log_pages(carol, start, 3)] == readable
        carol.close()
    finally:
        raw.close()


def whole_db(argv) -> bool:
    return argv[0].upper() in (b"FLUSHDB", b"FLUSHALL", b"SWAPDB")


def criterion(option: str, value, ts: dict):
    """The model of one HISTORY LOG filter: keep(seq, user, name, addr, argv)."""
    if option == "USER":
        return lambda seq, user, name, addr, argv: user == value
    if option == "CLIENT":
        return lambda seq, user, name, addr, argv: value in (name, addr, addr.rpartition(":")[0])
    if option == "MATCH":
        return lambda seq, user, name, addr, argv: whole_db(argv) or any(
            fnmatchcase(key, value.encode()) for key in keys_of(argv))
    if option == "SINCE":
        return lambda seq, *_: ts[seq] >= value
    return lambda seq, *_: ts[seq] <= value


# -- 5: HISTORY FOLLOW ---------------------------------------------------------------------------
# Writes whose logged argv is the one sent, each logging exactly one event (values are unique).
STREAM_WRITES = st.sampled_from([b"SET", b"RPUSH", b"APPEND", b"HSET"])
CUTS = st.lists(st.tuples(st.integers(0, 15), st.sampled_from(["reset", "proxy", "before-reply"])), max_size=5)


@pytest.fixture(scope="module")
def proxy(server):
    proxy = Proxy(server.port)
    yield proxy
    proxy.close()


def write_batches(port: int, name: str, tag: int, batches, sent: list, failures: list):
    """Send each batch (a transaction when it has several commands); sent gets each argv."""
    conn = RawClient(port)
    try:
        conn.call("CLIENT", "SETNAME", name)
        for n, batch in enumerate(batches):
            argvs = [stream_argv(kind, stream_value(name, tag, n, i)) for i, kind in enumerate(batch)]
            if len(argvs) > 1:
                conn.call("MULTI")
            for argv in argvs:
                conn.call(*argv)
            if len(argvs) > 1:
                assert parse_reply(conn.call("EXEC")) is not None
            sent += argvs
    except Exception as exc:        # noqa: BLE001  (re-raised by the test's thread)
        failures.append(exc)
    finally:
        conn.close()


def stream_value(name: str, tag: int, batch: int, i: int) -> bytes:
    """A value no write had before (one that changed nothing would log nothing)."""
    return f"{name}-{tag}-{batch}-{i}".encode()


def stream_argv(kind: bytes, value: bytes) -> list:
    key = b"s:" + kind.lower()
    return [kind, key, b"f", value] if kind == b"HSET" else [kind, key, value]


def reset(raw: RawClient):
    """Close abruptly: the peer gets a RST, whatever it was sending."""
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


@settings(phases=PHASES, max_examples=20, deadline=None)
@given(batches=st.lists(st.lists(STREAM_WRITES, min_size=1, max_size=4), min_size=4, max_size=30), cuts=CUTS)
def test_the_change_stream_delivers_every_event_once_across_forced_disconnects(server, proxy, batches, cuts):
    raw = server.raw()
    start = last_seq(raw) + 1
    total = sum(len(batch) for batch in batches)
    sent, failures = ({"w1": [], "w2": []}), []
    threads = [threading.Thread(target=write_batches, args=(server.port, name, start, batches[i::2], sent[name], failures))
               for i, name in enumerate(sent)]
    for thread in threads:
        thread.start()
    seen = []

    def follow(through_proxy: bool) -> RawClient:
        follower = RawClient(proxy.port if through_proxy else server.port)
        follower.call("HELLO", "3")
        follower.send_raw(encode_command(["HISTORY", "FOLLOW", seen[-1][1] + 1 if seen else start]))
        return follower

    def take(follower, n: int):
        follower.sock.settimeout(10)
        for _ in range(n):
            try:
                message = parse_reply(follower.read_reply())
            except TimeoutError:
                raise AssertionError(f"{len(seen)} of {total} events came (the log ends at {last_seq(raw)})") from None
            assert message[0] == b"history" and message[1] == (seen[-1][1] + 1 if seen else start), message[:2]
            seen.append(message)

    try:
        for reads, how in cuts:
            follower = follow(how == "proxy")
            if how != "before-reply":
                assert follower.read_reply() == b"+OK\r\n"
                take(follower, min(reads, total - len(seen)))
            if how == "proxy":
                assert proxy.cut() >= 1
                follower.close()
            else:
                reset(follower)
        follower = follow(False)
        assert follower.read_reply() == b"+OK\r\n"
        take(follower, total - len(seen))
        for thread in threads:
            thread.join()
        assert not failures, failures
        assert follower.call("PING") == b"+PONG\r\n"       # nothing more came: no duplicate at the end
        follower.close()
        assert last_seq(raw) == start + total - 1
        entries = log_pages(raw, start - 1, 1000)
        assert [message[1:] for message in seen] == entries        # each as the log holds it
        for name, argvs in sent.items():
            assert [message[7] for message in seen if message[6] == name.encode()] == argvs
        for n, batch in enumerate(batches):                     # a transaction's events are consecutive
            name = f"w{n % 2 + 1}"
            first = stream_value(name, start, n // 2, 0)
            at = next(i for i, message in enumerate(seen) if message[6] == name.encode() and message[7][-1] == first)
            assert [message[7][-1] for message in seen[at:at + len(batch)]] == \
                [stream_value(name, start, n // 2, i) for i in range(len(batch))]
    finally:
        for thread in threads:
            thread.join()
        raw.close()
