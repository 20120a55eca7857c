"""Sets against real Redis: every case is sent to real redis-server and to Redwood and the
replies must be the same bytes, intset order included (Redis walks an intset in ascending
numeric order). A case written "~ CMD …" replies in Redis's hash-table order (a hashtable-
encoded set is walked): it is compared as a multiset. Random replies (SPOP, SRANDMEMBER)
are checked by their invariants on Redwood, and by the state they leave.
"""
import collections
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.commands.sets import SetValue
from tests.servers import parse_reply
from tests.test_diff_random import assert_same_state, dump
from tests.test_diff_strings import command, run_case

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

CASES = {
    "sadd-srem-scard": [
        "SADD s a b c", "SADD s a d", "SCARD s", "SCARD nokey", "SREM s a x", "SREM s x", "SCARD s",
        "SREM s b c d", "EXISTS s", "TYPE s", "SADD s", "SREM s", "SREM nokey a", "SADD s ''",
        "SCARD s", "SISMEMBER s ''", "SADD s a a a", "SCARD s", "SCARD s x", "TYPE s", "SCARD",
    ],
    "sismember-smismember": [
        "SADD s 1 a", "SISMEMBER s 1", "SISMEMBER s 01", "SISMEMBER s A", "SISMEMBER nokey a",
        "SMISMEMBER s 1 a b 1", "SMISMEMBER nokey a b", "SMISMEMBER s", "SISMEMBER s", "SISMEMBER s a b",
    ],
    "intset-order": [
        "SADD s 5 -3 100 0 -9223372036854775808 9223372036854775807 42 7", "OBJECT ENCODING s",
        "SMEMBERS s", "SSCAN s 0", "SSCAN s 0 COUNT 1", "SSCAN s 12345", "SSCAN s 0 MATCH *4*",
        "SRANDMEMBER s 8", "SRANDMEMBER s 100", "SUNION s", "SDIFF s", "SINTER s", "SREM s 42",
        "SMEMBERS s", "SADD t 6 -4 5", "SUNION s t", "SUNION t s", "SDIFF s t", "SINTER s t",
    ],
    # Only canonical int64 decimals keep an intset (string2ll()).
    "intset-members": [
        *[step for member in ("01", "+1", "' 1'", "'1 '", "1.0", "-0", "9223372036854775808",
                              "-9223372036854775809", "0x1", "1e3", "''", "'\\x001'")
          for step in (f"SADD k 1 {member}", "OBJECT ENCODING k", "DEL k")],
        "SADD k -9223372036854775808 9223372036854775807 0 -1", "OBJECT ENCODING k",
        "SADD j x", "OBJECT ENCODING j", "SADD j 1", "OBJECT ENCODING j",
    ],
    "hashtable-is-sticky": [
        "SADD s 1 2 x", "OBJECT ENCODING s", "SREM s x", "OBJECT ENCODING s", "~ SMEMBERS s",
        "SADD s 3", "OBJECT ENCODING s", "~ SRANDMEMBER s 10", "~ SSCAN s 0", "SISMEMBER s 3",
        "SUNION s",            # a fresh set of integers: an intset, so in order
        "SDIFF s nokey", "SPOP s 100", "EXISTS s",
    ],
    "thresholds": [
        "CONFIG SET set-max-intset-entries 3", "SADD s 1 2 3", "OBJECT ENCODING s", "SADD s 3",
        "OBJECT ENCODING s", "SADD s 4", "OBJECT ENCODING s", "SREM s 4 3", "OBJECT ENCODING s",
        "SADD t 1 2 3 4", "OBJECT ENCODING t", "SADD u 1 2 3 x", "OBJECT ENCODING u",
        "CONFIG SET set-max-intset-entries 1", "SADD v 1", "OBJECT ENCODING v", "SADD v 1",
        "OBJECT ENCODING v", "SADD v 2", "OBJECT ENCODING v",
        "CONFIG SET set-max-intset-entries 0", "SADD w 1", "OBJECT ENCODING w", "SMOVE w w2 1",
        "OBJECT ENCODING w2",
        # Lowering the limit converts nothing until an insertion.
        "CONFIG SET set-max-intset-entries 5", "SADD x 1 2 3 4", "CONFIG SET set-max-intset-entries 2",
        "OBJECT ENCODING x", "SADD x 4", "OBJECT ENCODING x", "SREM x 4", "OBJECT ENCODING x",
        "SMEMBERS x", "SADD x 4", "OBJECT ENCODING x",
    ],
    "store-encodings": [
        "CONFIG SET set-max-intset-entries 4", "SADD a 1 2 3 4 5", "OBJECT ENCODING a", "SREM a 5",
        "OBJECT ENCODING a", "COPY a a2", "OBJECT ENCODING a2", "SINTERSTORE d a", "OBJECT ENCODING d",
        "SUNIONSTORE d a", "OBJECT ENCODING d", "SDIFFSTORE d a", "OBJECT ENCODING d",
        "SADD b 1 2 3 4 5", "SDIFFSTORE d b a", "OBJECT ENCODING d", "SMEMBERS d",
        "SADD big 1 2 3 4 5 6 7 8 9 10 11 12", "SADD s1 1", "SADD s2 2", "SADD s3 3", "SADD s4 4",
        "SADD s5 5", "SADD s6 6", "SADD s7 7", "SADD s8 8",
        # SDIFF's second algorithm (many small sets) builds the whole first set, then removes.
        "SDIFFSTORE d big s1 s2 s3 s4 s5 s6 s7 s8", "OBJECT ENCODING d",
        "~ SDIFF big s1 s2 s3 s4 s5 s6 s7 s8",
        "SDIFFSTORE d big s1", "OBJECT ENCODING d", "SADD few 9 10 11 12 13 14 15 16 17 18 19 20",
        "SDIFFSTORE d big few", "OBJECT ENCODING d", "~ SMEMBERS d", "SINTERSTORE d big few",
        "OBJECT ENCODING d", "SUNIONSTORE d s1 s2 s3 s4", "OBJECT ENCODING d", "SMEMBERS d",
        "SUNIONSTORE d s1 s2 s3 s4 s5", "OBJECT ENCODING d", "SADD x a 1", "SINTERSTORE d x s1",
        "OBJECT ENCODING d", "SMEMBERS d", "COPY x x2", "OBJECT ENCODING x2", "COPY s1 s1c",
        "OBJECT ENCODING s1c",
    ],
    "smove": [
        "SADD a 1 2 x", "SADD b 3", "SMOVE a b 1", "SMEMBERS b", "~ SMEMBERS a", "SMOVE a b 1",
        "SMOVE a b nomember", "SMOVE a c x", "OBJECT ENCODING c", "SMOVE a c 2", "EXISTS a",
        "SMOVE nokey b 1", "SET str v", "SMOVE nokey str m", "SMOVE str b m", "SMOVE b str 3",
        "SMOVE b b 3", "SMOVE b b 9", "SMOVE str str x", "SMOVE nokey nokey x", "SMOVE b",
        "SADD d 5", "EXPIRE d 100", "SMOVE b d 3", "TTL d", "SMEMBERS d", "SMOVE d c 5",
        "SMOVE d c 3", "EXISTS d", "OBJECT ENCODING c", "SADD e 3", "SMOVE c e 3", "SMEMBERS e",
        "SMOVE e f 3", "SMEMBERS f", "EXISTS e", "SMOVE f g 3 4",
    ],
    "smove-member-in-both": [
        "SADD a 1 2", "SADD b 2 3", "SMOVE a b 2", "SMEMBERS a", "SMEMBERS b", "SMOVE a b 1",
        "EXISTS a", "SMEMBERS b", "SADD c x", "SMOVE c b x", "OBJECT ENCODING b", "EXISTS c",
    ],
    # Redis's strategy for popping most of a set builds a new set of the few left: encoded
    # afresh (a hashtable of integers becomes an intset), TTL kept. "? " runs without comparing.
    "spop-most-reencodes": [
        "SADD h 1 2 3 4 5 6 7 8 9 10 11 12 13 x", "SREM h x", "OBJECT ENCODING h", "EXPIRE h 100",
        "? SPOP h 12", "OBJECT ENCODING h", "TTL h", "SCARD h", "SADD h2 1 2 3 4 5 6 x y",
        "? SPOP h2 7", "SCARD h2", "SADD i 1 2 3 4 5 6 7", "? SPOP i 6", "OBJECT ENCODING i",
    ],
    "spop-deterministic": [
        "SPOP nokey", "SPOP nokey 1", "SPOP nokey 0", "SPOP nokey -1", "SADD s 7", "SPOP s",
        "EXISTS s", "SADD s 3 1 2", "SPOP s 0", "SPOP s -1", "SPOP s x", "SPOP s 1 2",
        "SPOP s 9223372036854775807", "EXISTS s", "SADD s 3 1 2", "SPOP s 3", "SADD h b a c",
        "~ SPOP h 5", "SET str x", "SPOP str", "SPOP str 0", "SPOP str -1", "SPOP s 9223372036854775808",
        "SPOP", "SADD t 5", "EXPIRE t 100", "SPOP t 0", "TTL t",
    ],
    "srandmember-deterministic": [
        "SRANDMEMBER nokey", "SRANDMEMBER nokey 5", "SRANDMEMBER nokey -5", "SRANDMEMBER nokey 0",
        "SADD s x", "SRANDMEMBER s", "SRANDMEMBER s 1", "SRANDMEMBER s -3", "SRANDMEMBER s 5",
        "SADD i 3 1 2", "SRANDMEMBER i 3", "SRANDMEMBER i 9223372036854775807", "SRANDMEMBER i 0",
        "SRANDMEMBER i -9223372036854775808", "SRANDMEMBER i -9223372036854775807x",
        "SRANDMEMBER i 9223372036854775808", "SRANDMEMBER i x", "SRANDMEMBER i 1 2", "SET str x",
        "SRANDMEMBER str", "SRANDMEMBER str 0", "SRANDMEMBER str x", "SADD h a b c",
        "~ SRANDMEMBER h 3", "SRANDMEMBER", "SRANDMEMBER nokey -9223372036854775808",
    ],
    "sinter": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5 6", "SADD c 3 4 x", "SINTER a b", "SINTER b a",
        "~ SINTER a c", "SINTER a nokey", "SINTER nokey a", "SET str v", "SINTER nokey str",
        "SINTER str nokey", "SINTER a str", "SINTER a a", "~ SINTER a b c", "SINTER", "SINTER nokey",
        "SADD d x y z", "~ SINTER d c", "SINTER d a",
    ],
    "sintercard": [
        "SADD a 1 2 3 4", "SADD b 2 3 4 5 6", "SINTERCARD 2 a b", "SINTERCARD 1 a",
        "SINTERCARD 2 a b LIMIT 2", "SINTERCARD 2 a b LIMIT 0", "SINTERCARD 2 a b LIMIT 100",
        "SINTERCARD 2 a b limit 1 LIMIT 2", "SINTERCARD 2 a nokey", "SINTERCARD 0 a",
        "SINTERCARD -1 a", "SINTERCARD abc a", "SINTERCARD 9223372036854775808 a", "SINTERCARD 3 a b",
        "SINTERCARD 1 a LIMIT", "SINTERCARD 1 a LIMIT -1", "SINTERCARD 1 a LIMIT x",
        "SINTERCARD 1 a FOO 1", "SINTERCARD 1 nokey str", "SET str v", "SINTERCARD 2 nokey str",
        "SINTERCARD 2 a str", "SINTERCARD 1", "SINTERCARD 1 a LIMIT 1 x", "SINTERCARD 2 a a",
    ],
    "sunion-sdiff": [
        "SADD a 1 2 3 4", "SADD b 3 4 5", "SADD c x 4", "SUNION a b", "~ SUNION a c", "SUNION nokey",
        "SUNION a nokey", "SDIFF a b", "SDIFF b a", "SDIFF a b c", "~ SDIFF c a", "SDIFF a a",
        "SDIFF nokey a", "SDIFF a nokey", "SET str v", "SUNION a str", "SUNION str nokey",
        "SDIFF nokey str", "SDIFF a str", "SUNION", "SDIFF",
    ],
    "stores": [
        "SADD a 1 2 3", "SADD b 3 4 x", "SINTERSTORE d a b", "SMEMBERS d", "OBJECT ENCODING d",
        "SUNIONSTORE d a b", "~ SMEMBERS d", "OBJECT ENCODING d", "SDIFFSTORE d a b", "SMEMBERS d",
        "~ SDIFFSTORE d b a", "SET str v", "SINTERSTORE str a b", "TYPE str", "SET str v",
        "SINTERSTORE str a nokey", "EXISTS str", "SET str v", "SUNIONSTORE d str", "SDIFFSTORE d a str",
        "SINTERSTORE d str a", "~ SMEMBERS d", "SUNIONSTORE d nokey", "EXISTS d", "SADD d 1",
        "EXPIRE d 100", "SUNIONSTORE d d a", "TTL d", "SINTERSTORE a a b", "SMEMBERS a",
        "SDIFFSTORE x nokey a", "EXISTS x", "SINTERSTORE", "SINTERSTORE d", "SUNIONSTORE d",
        "SDIFFSTORE d", "SADD e 1", "SDIFFSTORE e e", "EXISTS e", "SET str v", "SDIFFSTORE str a a",
        "EXISTS str",
    ],
    "sscan": [
        "SSCAN nokey 0", "SSCAN nokey x", "SSCAN nokey 0 COUNT 0", "SSCAN nokey 0 FOO",
        "SADD s 10 3 7 1", "SSCAN s 0", "SSCAN s 0 COUNT 1", "SSCAN s 99", "SSCAN s -1", "SSCAN s ''",
        "SSCAN s 0 MATCH 1*", "SSCAN s 0 MATCH 7", "SSCAN s 0 MATCH", "SSCAN s 0 COUNT 0",
        "SSCAN s 0 COUNT x", "SSCAN s 0 TYPE string", "SSCAN s 0 FOO bar", "SSCAN s ' 1'",
        "SSCAN s 18446744073709551616", "SSCAN s 0 MATCH x COUNT 5 MATCH 3", "SET str v",
        "SSCAN str 0", "SSCAN str x", "SSCAN str 0 COUNT 0", "SSCAN s", "SADD h a b ab",
        "~ SSCAN h 0", "SSCAN h 0 MATCH b", "SSCAN h 0 MATCH nope", "~ SSCAN h 0 MATCH a*",
    ],
    "wrongtype-both-ways": [
        "SET str v", "SADD str a", "SREM str a", "SCARD str", "SISMEMBER str a", "SMISMEMBER str a",
        "SMEMBERS str", "SPOP str", "SRANDMEMBER str", "SINTER str", "SUNION str", "SDIFF str",
        "SINTERCARD 1 str", "SINTERSTORE d str", "SUNIONSTORE d str", "SDIFFSTORE d str",
        "SSCAN str 0", "GET str", "SADD s 1", "GET s", "APPEND s x", "INCR s", "STRLEN s",
        "SETRANGE s 0 x", "GETDEL s", "TYPE s", "SET s x", "TYPE s", "GET s",
    ],
    "ttl-kept-by-changes": [
        "SADD s 1 2 3 4", "EXPIRE s 100", "SADD s 5", "SREM s 1", "TTL s", "SMOVE s t 2", "TTL s",
        "TTL t", "RENAME s r", "TTL r", "EXPIREAT r 1", "EXISTS r", "SCARD r", "SADD p 1 2 3",
        "EXPIRE p 100", "? SPOP p", "TTL p", "? SPOP p 1", "TTL p", "SCARD p", "SINTERSTORE p p",
        "TTL p",
    ],
    "binary-members": [
        ("SADD", "b", b"\x00", b"\r\n", b"\xff", b"a\x00b"), ("SISMEMBER", "b", b"a\x00b"),
        ("SISMEMBER", "b", b"a"), ("SREM", "b", b"\x00"), ("SCARD", "b"),
        ("SADD", b"\x00k", b"1"), ("SMEMBERS", b"\x00k"), ("SADD", b"", b""), ("SMEMBERS", b""),
    ],
    "arity": [
        "SADD s", "SREM s", "SCARD", "SISMEMBER s", "SMISMEMBER s", "SMEMBERS", "SMEMBERS a b",
        "SPOP", "SRANDMEMBER", "SMOVE a b", "SINTER", "SINTERCARD 1", "SINTERSTORE d", "SUNION",
        "SUNIONSTORE d", "SDIFF", "SDIFFSTORE d", "SSCAN s",
    ],
}

# Replies with RESP3 shapes: sets (`~`), nulls (`_`), arrays.
RESP3_CASES = [
    "SADD s 3 1 2", "SPOP nokey", "SPOP nokey 1", "SPOP s 0", "SRANDMEMBER nokey",
    "SRANDMEMBER nokey 2", "SRANDMEMBER s 5", "SRANDMEMBER s 0", "SMEMBERS s", "SMEMBERS nokey",
    "SINTER s nokey", "SINTER s", "SUNION s", "SDIFF s", "SMISMEMBER s 1 9", "SSCAN s 0",
    "SSCAN nokey 0", "SINTERCARD 1 s", "SISMEMBER s 1", "SCARD s", "SADD h a", "~ SMEMBERS h",
    "~ SUNION h s", "SPOP s 3", "SADD t 9", "SPOP t 1", "SADD u 8", "SPOP u",
]


@pytest.fixture
def sets_diff(diff):
    yield diff
    diff.both("CONFIG", "SET", "set-max-intset-entries", "512")


def run(diff, case):
    if isinstance(case, str) and case.startswith("? "):
        return diff.both(*command(case[2:]))
    if isinstance(case, str) and case.startswith("~ "):
        argv = command(case[2:])
        expected, actual = diff.both(*argv)
        assert expected[:1] == actual[:1] and _multiset(expected) == _multiset(actual), \
            f"{argv!r}: Redis said {expected!r}, Redwood said {actual!r}"
        return actual
    return run_case(diff, case)


def _multiset(raw: bytes):
    """A reply with the order of its (innermost) arrays ignored."""
    value = parse_reply(raw)
    if isinstance(value, list):
        return sorted(_multiset_item(v) for v in value)
    return value


def _multiset_item(value):
    return repr(sorted(map(repr, value))) if isinstance(value, list) else repr(value)


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(sets_diff, name):
    for case in CASES[name]:
        run(sets_diff, case)


def test_resp3_replies(sets_diff):
    sets_diff.both("HELLO", "3")
    for case in RESP3_CASES:
        run(sets_diff, case)


def test_the_multiset_comparison_can_fail(sets_diff):
    sets_diff.redwood.call("SADD", "h", "extra")
    sets_diff.both("SADD", "h", "a", "b")
    with pytest.raises(AssertionError):
        run(sets_diff, "~ SMEMBERS h")


# -- SSCAN over a hashtable: cursors differ, a whole iteration returns the same members ---------
def _scan_all(client, key, *options) -> list:
    cursor, seen = b"0", []
    for _ in range(10_000):
        cursor, found = parse_reply(client.call("SSCAN", key, cursor, *options))
        seen.extend(found)
        if cursor == b"0":
            return seen
    raise AssertionError("SSCAN did not finish")


@pytest.mark.parametrize("options", [(), ("COUNT", "7"), ("MATCH", "*1*", "COUNT", "3"), ("COUNT", "1000")])
def test_sscan_hashtable_iteration(sets_diff, options):
    members = [b"m%d" % i for i in range(300)]
    sets_diff.both("SADD", "h", *members)
    theirs, ours = _scan_all(sets_diff.redis, "h", *options), _scan_all(sets_diff.redwood, "h", *options)
    assert len(ours) == len(set(ours))          # no duplicates here (Redis may have some)
    assert set(ours) == set(theirs)


def test_sscan_sees_members_present_throughout(r):
    r.sadd("h", *[b"m%d" % i for i in range(100)])
    cursor, seen = 0, set()
    cursor, found = r.sscan("h", cursor, count=10)
    seen.update(found)
    r.srem("h", *[b"m%d" % i for i in range(90, 100)])     # deleted meanwhile
    r.sadd("h", *[b"n%d" % i for i in range(50)])          # added meanwhile: may or may not be seen
    while cursor:
        cursor, found = r.sscan("h", cursor, count=10)
        seen.update(found)
    assert {b"m%d" % i for i in range(90)} <= seen


# -- random replies: invariants on Redwood ------------------------------------------------------
def _fill(client, key, members):
    client.call("DEL", key)
    client.call("SADD", key, *members)


@pytest.mark.parametrize("members", [[b"%d" % i for i in range(20)], [b"m%d" % i for i in range(20)]],
                         ids=["intset", "hashtable"])
def test_srandmember_invariants(shared_redwood, members):
    client = shared_redwood.raw()
    _fill(client, "s", members)
    universe = set(members)
    for count in (1, 2, 6, 7, 15, 19):          # count*3 <= size, > size: both of Redis's strategies
        for _ in range(20):
            reply = parse_reply(client.call("SRANDMEMBER", "s", count))
            assert len(reply) == count and len(set(reply)) == count and set(reply) <= universe
    for count in (-1, -5, -50):
        reply = parse_reply(client.call("SRANDMEMBER", "s", count))
        assert len(reply) == -count and set(reply) <= universe
    assert len(set(parse_reply(client.call("SRANDMEMBER", "s", -2000)))) == 20   # repetitions, every member
    assert parse_reply(client.call("SRANDMEMBER", "s")) in universe
    assert parse_reply(client.call("SCARD", "s")) == 20
    client.close()


@pytest.mark.parametrize("count", [1, 3, 10, 16, 17, 19, 20, 25])
@pytest.mark.parametrize("kind", ["intset", "hashtable", "hashtable-of-integers"])
def test_spop_invariants_and_replay(sets_diff, kind, count):
    """Every strategy of SPOP (few popped, most popped, all popped): the members popped are
    distinct and leave the set, what stays matches the encoding Redis gives it, replay agrees."""
    members = [b"%d" % i for i in range(20)] if kind != "hashtable" else [b"m%d" % i for i in range(20)]
    ours = sets_diff.redwood
    for client in (ours, sets_diff.redis):
        client.call("SADD", "s", *members, *([b"x"] if kind == "hashtable-of-integers" else []))
        client.call("SREM", "s", "x")
        client.call("EXPIRE", "s", "1000")
    popped = parse_reply(ours.call("SPOP", "s", count))
    assert len(popped) == min(count, 20) and len(set(popped)) == len(popped)
    assert set(popped) <= set(members)
    left = set(parse_reply(ours.call("SMEMBERS", "s")))
    assert left == set(members) - set(popped)
    most = count < 20 and (20 - count) * 5 <= count          # Redis keeps the few left in a new set
    if (kind == "intset" and most) or (count >= 20 and kind != "hashtable"):
        assert popped == sorted(popped, key=int)               # walked as an intset
    # Redis with the same members popped: SREM, or for its "most popped" strategy a new set.
    if popped and count < 20:
        sets_diff.redis.call("SREM", "s", *popped)
        if most:
            sets_diff.redis.call("SINTERSTORE", "s", "s")
            sets_diff.redis.call("EXPIRE", "s", "1000")
    else:
        sets_diff.redis.call("DEL", "s")
    run(sets_diff, "OBJECT ENCODING s")
    sets_diff.approx("TTL", "s", within=1)
    live = dump_with_encodings(ours)
    assert ours.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump_with_encodings(ours) == live


def test_spop_one_at_a_time_until_empty(shared_redwood):
    client = shared_redwood.raw()
    members = {b"m%d" % i for i in range(50)}
    client.call("SADD", "s", *members)
    popped = [parse_reply(client.call("SPOP", "s")) for _ in range(50)]
    assert set(popped) == members
    assert client.call("EXISTS", "s") == b":0\r\n" and client.call("SPOP", "s") == b"$-1\r\n"
    client.close()


# -- the value class: uniform O(1) draws while members come and go --------------------------------
def test_draws_stay_uniform_over_live_members():
    value = SetValue({b"m%d" % i for i in range(100)})
    value.random_member()                                   # the draw list now exists
    value.remove([b"m%d" % i for i in range(40)])           # stale entries in it
    value.add([b"m%d" % i for i in range(10)] + [b"n%d" % i for i in range(10)], 512)
    live = value.members
    assert len(live) == 80
    assert len(value.picks) - len(value.stale) == 80 and len(set(value.picks)) == len(value.picks)
    counts = collections.Counter(value.random_member() for _ in range(80_000))
    assert set(counts) == live
    assert all(700 < n < 1300 for n in counts.values()), counts.most_common(3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "remove", "draw", "pop"]),
                          st.lists(st.integers(0, 15).map(lambda n: b"%d" % n), max_size=4)),
                max_size=40))
def test_draw_list_holds_each_live_member_once(steps):
    """Whatever the adds, removes, draws and pops: the draw list is the live members once
    each plus stale ones (removed, not yet dropped), so draws stay uniform."""
    value, model = SetValue(), set()
    for op, members in steps:
        if op == "add":
            value.add(members, 512)
            model.update(members)
        elif op == "remove":
            value.remove(members)
            model.difference_update(members)
        elif model and op == "draw":
            assert value.random_member() in model
        elif model:
            model.remove(value.pop_random())
        assert value.members == model
        if value.picks is not None:
            assert len(value.picks) == len(set(value.picks))
            assert set(value.picks) == model | value.stale and not model & value.stale


def test_draw_list_is_dropped_when_mostly_stale():
    value = SetValue({b"%d" % i for i in range(10)})
    value.random_member()
    value.remove([b"%d" % i for i in range(6)])
    assert value.picks is None                              # rebuilt on the next draw
    assert value.random_member() in value.members and len(value.picks) == 4


def test_pops_are_distinct_and_empty_the_set():
    value = SetValue({b"%d" % i for i in range(1000)})
    value.remove([b"%d" % i for i in range(0, 1000, 3)])
    value.random_member()
    value.add([b"3", b"6"], 512)
    expected = set(value.members)
    popped = [value.pop_random() for _ in range(len(expected))]
    assert sorted(popped) == sorted(expected) and not value.members


def test_memory_per_member_within_twice_redis(real_redis):
    """200k members: Redwood's set (with its draw list built) against Redis's used_memory."""
    n, chunk = 200_000, 10_000
    client = real_redis.raw()
    client.call("FLUSHALL")
    before = _used_memory(client)
    for start in range(0, n, chunk):
        client.call("SADD", "big", *[b"member:%d" % i for i in range(start, start + chunk)])
    theirs = _used_memory(client) - before
    client.call("FLUSHALL")
    client.close()
    tracemalloc.start()
    try:
        value = SetValue()
        for start in range(0, n, chunk):
            value.add([b"member:%d" % i for i in range(start, start + chunk)], 512)
        value.random_member()
        ours = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert ours <= 2 * theirs, (ours / n, theirs / n)


def _used_memory(client) -> int:
    info = client.call("INFO", "memory").decode()
    return int(info.split("used_memory:", 1)[1].split("\r\n", 1)[0])


# -- random sequences: same replies and state as Redis, replay equals live ------------------------
def dump_with_encodings(client) -> list:
    """test_diff_random's dump, plus each key's OBJECT ENCODING."""
    entries = dump(client)
    encodings = []
    for entry in entries:
        client.call("SELECT", entry[0])
        encodings.append(client.call("OBJECT", "ENCODING", entry[1]))
    client.call("SELECT", 0)
    return [(*entry, encoding) for entry, encoding in zip(entries, encodings)]


SET_KEYS = st.sampled_from([b"a", b"b", b"c", b"str"])
MEMBERS = st.sampled_from([b"1", b"2", b"3", b"-1", b"10", b"7", b"01", b"a", b"b", b"", b"\x00x",
                           b"9223372036854775807"])
SOME = st.lists(MEMBERS, min_size=1, max_size=5)
COUNTS = st.sampled_from([b"0", b"1", b"2", b"3", b"5", b"9", b"100", b"-1", b"-3", b"x"])


def cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts])


def with_members(name, *keys):
    return st.tuples(*[st.just(name), *keys], SOME).map(lambda t: (*t[:-1], *t[-1]))


SET_COMMANDS = st.one_of(
    with_members(b"SADD", SET_KEYS), with_members(b"SADD", SET_KEYS), with_members(b"SREM", SET_KEYS),
    cmd(b"SCARD", SET_KEYS), cmd(b"SISMEMBER", SET_KEYS, MEMBERS), with_members(b"SMISMEMBER", SET_KEYS),
    cmd(b"SMEMBERS", SET_KEYS), cmd(b"SMOVE", SET_KEYS, SET_KEYS, MEMBERS),
    cmd(b"SINTER", SET_KEYS, SET_KEYS), cmd(b"SUNION", SET_KEYS, SET_KEYS),
    cmd(b"SDIFF", SET_KEYS, SET_KEYS, SET_KEYS), cmd(b"SINTERCARD", b"2", SET_KEYS, SET_KEYS),
    cmd(b"SINTERCARD", b"2", SET_KEYS, SET_KEYS, b"LIMIT", COUNTS),
    cmd(b"SINTERSTORE", SET_KEYS, SET_KEYS, SET_KEYS), cmd(b"SUNIONSTORE", SET_KEYS, SET_KEYS, SET_KEYS),
    # COUNT 100: one call covers any set here, whatever the encoding (cursors are ours).
    cmd(b"SDIFFSTORE", SET_KEYS, SET_KEYS, SET_KEYS), cmd(b"SSCAN", SET_KEYS, b"0", b"COUNT", b"100"),
    cmd(b"SSCAN", SET_KEYS, b"0", b"MATCH", st.sampled_from([b"*1*", b"a", b"?"]), b"COUNT", b"100"),
    cmd(b"SPOP", SET_KEYS), cmd(b"SPOP", SET_KEYS, COUNTS), cmd(b"SRANDMEMBER", SET_KEYS),
    cmd(b"SRANDMEMBER", SET_KEYS, COUNTS),
    cmd(b"SET", SET_KEYS, MEMBERS), cmd(b"GET", SET_KEYS), cmd(b"DEL", SET_KEYS), cmd(b"TYPE", SET_KEYS),
    cmd(b"OBJECT", b"ENCODING", SET_KEYS), cmd(b"EXPIRE", SET_KEYS, b"1000"), cmd(b"TTL", SET_KEYS),
    cmd(b"COPY", SET_KEYS, SET_KEYS, b"REPLACE"), cmd(b"RENAME", SET_KEYS, SET_KEYS),
)

# Replies that walk sets: in order when every set walked is an intset (then so is the result).
WALKS = {b"SMEMBERS", b"SINTER", b"SUNION", b"SDIFF", b"SSCAN"}


class Checker:
    def __init__(self, diff, max_intset: int):
        self.diff, self.max_intset = diff, max_intset

    def redis(self, *argv):
        return self.diff.redis.call(*argv)

    def run(self, argv):
        name = argv[0].upper()
        if name in WALKS:
            return self.walk(argv)
        if name in (b"SPOP", b"SRANDMEMBER") and self.redis("TYPE", argv[1]) == b"+set\r\n" \
                and (len(argv) == 2 or argv[2].lstrip(b"-").isdigit() and argv[2] != b"0"):
            return self.spop(argv) if name == b"SPOP" else self.srandmember(argv)
        return run_case(self.diff, argv)

    def walk(self, argv):
        expected, actual = self.diff.both(*argv)
        if expected == actual:
            return
        scan = argv[0].upper() == b"SSCAN"
        keys = argv[1:2] if scan or argv[0].upper() == b"SMEMBERS" else argv[1:]
        size = len(parse_reply(expected)[1] if scan else parse_reply(expected))
        ordered = size <= self.max_intset and all(
            self.redis("OBJECT", "ENCODING", key) in (b"$-1\r\n", b"$6\r\nintset\r\n") for key in keys)
        assert not ordered and _multiset(expected) == _multiset(actual), (argv, expected, actual)

    def spop(self, argv):
        key, count = argv[1], int(argv[2]) if len(argv) == 3 else None
        if count is not None and count < 0:
            return run_case(self.diff, argv)
        size = parse_reply(self.redis("SCARD", key))
        reply = parse_reply(self.diff.redwood.call(*argv))
        popped = [reply] if count is None else reply
        assert len(popped) == len(set(popped)) == (1 if count is None else min(count, size))
        assert all(parse_reply(self.redis("SISMEMBER", key, member)) for member in popped)
        if len(popped) == size:
            self.redis("DEL", key)
            return
        self.redis("SREM", key, *popped)
        if count is not None and (size - count) * 5 <= count:   # Redis keeps the rest in a new set
            when = self.redis("PEXPIRETIME", key)
            self.redis("SINTERSTORE", key, key)
            if when != b":-1\r\n":
                self.redis("PEXPIREAT", key, when[1:-2])

    def srandmember(self, argv):
        expected, actual = self.diff.both(*argv)
        theirs, ours = parse_reply(expected), parse_reply(actual)
        members = set(parse_reply(self.redis("SMEMBERS", argv[1])))
        if len(argv) == 2:
            assert ours in members
            return
        assert len(ours) == len(theirs) and set(ours) <= members
        if int(argv[2]) > 0:
            assert len(set(ours)) == len(ours)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from([b"2", b"4", b"512"]), st.lists(SET_COMMANDS, min_size=1, max_size=25))
def test_random_sequences_match_redis_and_replay(sets_diff, max_intset, commands):
    diff = sets_diff
    diff.both("FLUSHALL")
    diff.both("CONFIG", "SET", "set-max-intset-entries", max_intset)
    checker = Checker(diff, int(max_intset))
    for argv in commands:
        checker.run(argv)
    live = dump_with_encodings(diff.redwood)
    theirs = dump_with_encodings(diff.redis)
    assert_same_state([entry[:5] for entry in live], [entry[:5] for entry in theirs])
    assert [entry[5] for entry in live] == [entry[5] for entry in theirs]
    assert diff.redwood.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump_with_encodings(diff.redwood) == live      # replay equals live, encodings too
