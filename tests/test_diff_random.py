"""Random command sequences (hypothesis) against real Redis and Redwood.

Each generated sequence runs on both servers from an empty keyspace; every reply
must match (TTL readings within a unit, KEYS as a multiset). Afterwards the whole
state is dumped from both (every db, key, type, value and expiry time) and must
match; then Redwood rebuilds its views from the log (`DEBUG RELOAD`) and must
dump the same again: replay equals live.
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.servers import parse_reply
from tests.test_diff_strings import run_case

KEYS = st.sampled_from([b"a", b"b", b"c", b"\x00k", b""])
SMALL_INT = st.integers(min_value=-20, max_value=20).map(lambda n: b"%d" % n)
VALUES = st.one_of(st.sampled_from([b"", b"0", b"10", b"-1", b"1.5", b"abc", b"9223372036854775807"]),
                   st.binary(max_size=12))
# TTLs that outlive the test, in seconds and in milliseconds.
FAR = st.integers(min_value=100, max_value=100000).map(lambda n: b"%d" % n)
FAR_MS = st.integers(min_value=100_000, max_value=100_000_000).map(lambda n: b"%d" % n)
OFFSET = st.integers(min_value=0, max_value=40).map(lambda n: b"%d" % n)
DB = st.integers(min_value=0, max_value=2).map(lambda n: b"%d" % n)
FIELD = st.sampled_from([b"u8", b"i8", b"u4", b"i16", b"i64", b"u1"])


def cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts])


SET_OPTIONS = st.lists(st.sampled_from([[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"EX", b"1000"],
                                        [b"PX", b"900000"]]), max_size=2)

COMMANDS = st.one_of(
    cmd(b"SET", KEYS, VALUES), cmd(b"GET", KEYS), cmd(b"DEL", KEYS, KEYS), cmd(b"EXISTS", KEYS, KEYS),
    st.tuples(KEYS, VALUES, SET_OPTIONS).map(lambda t: (b"SET", t[0], t[1], *sum(t[2], []))),
    cmd(b"SETNX", KEYS, VALUES), cmd(b"GETSET", KEYS, VALUES), cmd(b"GETDEL", KEYS),
    cmd(b"GETEX", KEYS, st.sampled_from([b"PERSIST", b"EX"])).map(
        lambda t: t + (b"5000",) if t[2] == b"EX" else t),
    cmd(b"MSET", KEYS, VALUES, KEYS, VALUES), cmd(b"MSETNX", KEYS, VALUES, KEYS, VALUES),
    cmd(b"MGET", KEYS, KEYS, KEYS), cmd(b"APPEND", KEYS, VALUES), cmd(b"STRLEN", KEYS),
    cmd(b"INCR", KEYS), cmd(b"DECR", KEYS), cmd(b"INCRBY", KEYS, SMALL_INT), cmd(b"DECRBY", KEYS, SMALL_INT),
    cmd(b"INCRBYFLOAT", KEYS, st.sampled_from([b"0.1", b"1.5", b"-3", b"1e2", b"abc"])),
    cmd(b"GETRANGE", KEYS, SMALL_INT, SMALL_INT), cmd(b"SETRANGE", KEYS, OFFSET, VALUES),
    cmd(b"SETBIT", KEYS, OFFSET, st.sampled_from([b"0", b"1"])), cmd(b"GETBIT", KEYS, OFFSET),
    cmd(b"BITCOUNT", KEYS), cmd(b"BITCOUNT", KEYS, SMALL_INT, SMALL_INT),
    cmd(b"BITPOS", KEYS, st.sampled_from([b"0", b"1"])),
    cmd(b"BITOP", st.sampled_from([b"AND", b"OR", b"XOR"]), KEYS, KEYS, KEYS), cmd(b"BITOP", b"NOT", KEYS, KEYS),
    cmd(b"BITFIELD", KEYS, st.sampled_from([b"SET", b"INCRBY"]), FIELD, OFFSET, SMALL_INT),
    cmd(b"BITFIELD", KEYS, b"OVERFLOW", st.sampled_from([b"SAT", b"FAIL", b"WRAP"]), b"INCRBY", FIELD,
        OFFSET, SMALL_INT),
    cmd(b"LCS", KEYS, KEYS),
    cmd(b"TYPE", KEYS), cmd(b"RENAME", KEYS, KEYS), cmd(b"RENAMENX", KEYS, KEYS),
    cmd(b"COPY", KEYS, KEYS), cmd(b"COPY", KEYS, KEYS, b"REPLACE"), cmd(b"COPY", KEYS, KEYS, b"DB", DB),
    cmd(b"MOVE", KEYS, DB), cmd(b"SELECT", DB), cmd(b"SWAPDB", DB, DB),
    cmd(b"EXPIRE", KEYS, FAR), cmd(b"PEXPIRE", KEYS, FAR_MS, st.sampled_from([b"NX", b"XX", b"GT", b"LT"])),
    cmd(b"PERSIST", KEYS), cmd(b"TTL", KEYS), cmd(b"EXPIRE", KEYS, b"-1"), cmd(b"EXPIREAT", KEYS, b"1"),
    cmd(b"DBSIZE"), cmd(b"KEYS", st.sampled_from([b"*", b"?", b"[ab]", b"a*"])),
    cmd(b"FLUSHDB"), cmd(b"OBJECT", b"ENCODING", KEYS),
)


def dump(client) -> list:
    """Every key of every db with its type, contents and expiry time, as raw reply bytes
    (contents whose order is Redis's hash-table order are sorted)."""
    state = []
    for db in range(16):
        client.call("SELECT", db)
        keys = client.call("KEYS", "*")
        for key in sorted(parse_reply(keys)):
            kind = client.call("TYPE", key)
            state.append((db, key, kind, contents(client, key, kind), client.call("PEXPIRETIME", key)))
    client.call("SELECT", 0)
    return state


def contents(client, key, kind: bytes):
    """A key's whole value, in a form that compares equal when the values are equal."""
    if kind == b"+list\r\n":
        return client.call("LRANGE", key, "0", "-1")
    if kind == b"+hash\r\n":
        return sorted(_pairs(parse_reply(client.call("HGETALL", key))))
    if kind == b"+set\r\n":
        return sorted(parse_reply(client.call("SMEMBERS", key)))
    if kind == b"+zset\r\n":
        return client.call("ZRANGE", key, "0", "-1", "WITHSCORES")
    return client.call("GET", key)


def _pairs(items: list) -> list:
    return list(zip(items[::2], items[1::2]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COMMANDS, min_size=1, max_size=25))
def test_random_sequences_match_redis_and_replay(diff, commands):
    diff.both("FLUSHALL")
    diff.both("SELECT", "0")
    last_write = {}
    for argv in commands:
        if argv[:2] == (b"OBJECT", b"ENCODING") and last_write.get(argv[2]) == b"INCRBYFLOAT":
            # Known difference: Redis keeps an INCRBYFLOAT result as embstr even when it reads
            # as an integer ("-3"); Redwood derives the encoding from the bytes and says int.
            # (After a restart Redis re-reads it as int too.)
            expected, actual = diff.both(*argv)
            assert actual == expected or (expected, actual) == (b"$6\r\nembstr\r\n", b"$3\r\nint\r\n")
            continue
        run_case(diff, argv)
        if len(argv) > 1:
            last_write[argv[1]] = argv[0]
    live = dump(diff.redwood)
    assert_same_state(live, dump(diff.redis))
    assert diff.redwood.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump(diff.redwood) == live          # replay equals live: exactly, expiry times too


def assert_same_state(ours, theirs):
    """Equal dumps, except that a relative TTL (EX 5000) was turned into an absolute time on
    each server's clock a moment apart: expiry times may differ by up to a second."""
    assert [entry[:4] for entry in ours] == [entry[:4] for entry in theirs]
    for mine, redis_entry in zip(ours, theirs):
        a, b = int(mine[4][1:-2]), int(redis_entry[4][1:-2])
        assert a == b or (a > 0 and b > 0 and abs(a - b) <= 1000), (mine, redis_entry)


def test_dump_sees_every_kind_of_difference(diff):
    """The dump compared above is sensitive to values, TTLs and dbs (it can fail)."""
    diff.redwood.call("SET", "k", "v")
    before = dump(diff.redwood)
    for change in (("SET", "k", "w"), ("EXPIRE", "k", "100"), ("MOVE", "k", "1")):
        diff.redwood.call(*change)
        after = dump(diff.redwood)
        assert after != before
        before = after
