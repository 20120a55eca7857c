"""Lists: every case is sent to real Redis and to Redwood, and the replies must be the same bytes.
A case is a short sequence run on an empty keyspace; then random sequences (hypothesis) compare
the whole state with Redis and check that replaying the log (DEBUG RELOAD) rebuilds it."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.test_diff_random import assert_same_state, dump
from tests.test_diff_strings import run_case

CASES = {
    "push-len-range": [
        "LPUSH l a", "LPUSH l b c", "RPUSH l d e", "LRANGE l 0 -1", "LLEN l", "LLEN nokey",
        "LPUSH l", "RPUSH", "LRANGE l 1 2", "LRANGE l -2 -1", "LRANGE l -100 100", "LRANGE l 3 1",
        "LRANGE l 5 10", "LRANGE l -1 -5", "LRANGE l 0 0", "LRANGE l 4 4", "LRANGE l -5 -5",
        "LRANGE nokey 0 -1", "LRANGE l x 1", "LRANGE l 0 y", "LRANGE nokey x 1",
        "LRANGE l -9223372036854775808 9223372036854775807", "LRANGE l 9223372036854775808 1",
        "LRANGE l 01 2", "LRANGE l 0", "RPUSH l 1 2 3", "LRANGE l 0 -1", "TYPE l",
        "OBJECT ENCODING l",
    ],
    "pushx": [
        "LPUSHX l a", "RPUSHX l a b", "EXISTS l", "RPUSH l x", "LPUSHX l a b", "RPUSHX l c d",
        "LRANGE l 0 -1", "LPUSHX l", "SET s v", "LPUSHX s a", "RPUSHX s a", "LPUSH s a", "RPUSH s a",
        "LPUSHX nokey a", "RPUSHX nokey a",
    ],
    "pop": [
        "RPUSH l a b c d e", "LPOP l", "RPOP l", "LPOP l 2", "LRANGE l 0 -1", "LPOP l 0", "RPOP l 0",
        "LPOP l -1", "LPOP l x", "RPOP l 9223372036854775807", "EXISTS l", "LPOP l", "RPOP l",
        "LPOP l 0", "LPOP l 2", "RPOP l 5", "LPOP nokey x", "LPOP nokey -1", "LPOP l 1 2", "RPOP l 1 2",
        "LPOP", "RPUSH l a", "RPOP l 1", "EXISTS l", "RPUSH l a b", "LPOP l 1", "LPOP l 1",
        "EXISTS l", "RPUSH l a", "LPOP l 01", "LPOP l ' 1'", "LPOP l 9223372036854775808",
    ],
    "index-set": [
        "LINDEX nokey 0", "LINDEX nokey x", "RPUSH l a b c", "LINDEX l 0", "LINDEX l 2", "LINDEX l 3",
        "LINDEX l -1", "LINDEX l -3", "LINDEX l -4", "LINDEX l x", "LINDEX l 9223372036854775807",
        "LINDEX l -9223372036854775808", "LSET l 0 A", "LSET l -1 C", "LSET l 3 x", "LSET l -4 x",
        "LSET l x y", "LSET nokey 0 x", "LSET nokey x y", "LRANGE l 0 -1", "LSET l 1 ''",
        "LINDEX l 1", "LSET l 9223372036854775807 x", "LSET l -9223372036854775808 x",
    ],
    "insert": [
        "LINSERT nokey BEFORE a b", "LINSERT nokey MIDDLE a b", "RPUSH l a b c b",
        "LINSERT l BEFORE b x", "LINSERT l after b y", "LRANGE l 0 -1", "LINSERT l BEFORE zz q",
        "LINSERT l AFTER c z", "LINSERT l before a first", "LRANGE l 0 -1", "LINSERT l MIDDLE a b",
        "LINSERT l BEFORE a", "SET s v", "LINSERT s BEFORE a b", "LINSERT s MIDDLE a b",
        "RPUSH n 1 2 3", "LINSERT n AFTER 2 20", "LINSERT n AFTER 02 x", "LRANGE n 0 -1",
    ],
    "rem": [
        "LREM nokey 0 a", "LREM nokey x a", "RPUSH l a b a c a d a", "LREM l 2 a", "LRANGE l 0 -1",
        "LREM l -1 a", "LRANGE l 0 -1", "LREM l 0 a", "LRANGE l 0 -1", "LREM l 0 zz", "LREM l x b",
        "LREM l 1 b", "LREM l -9223372036854775808 c", "LREM l 9223372036854775807 d", "EXISTS l",
        "RPUSH m x y x y x y x", "LREM m -2 x", "LRANGE m 0 -1", "LREM m 3 y", "LRANGE m 0 -1",
        "RPUSH r 1 1 2 1 1 1 1 1 3", "LREM r 5 1", "LRANGE r 0 -1", "RPUSH r 1 1 1 1 1",
        "LREM r -4 1", "LRANGE r 0 -1", "LREM r 0 1", "LRANGE r 0 -1", "SET s v", "LREM s 0 a",
        # Short spans at either end (popped off and the survivors pushed back, in order).
        "RPUSH q a b c a d e f g h i j", "LREM q 2 a", "LRANGE q 0 -1", "RPUSH t a b c d e f g x p q x",
        "LREM t -2 x", "LRANGE t 0 -1", "LREM t 0 b", "LRANGE t 0 -1",
    ],
    "trim": [
        "LTRIM nokey 0 1", "LTRIM nokey x 1", "RPUSH l a b c d e f", "LTRIM l 0 -1", "LRANGE l 0 -1",
        "LTRIM l 1 -2", "LRANGE l 0 -1", "LTRIM l -100 100", "LRANGE l 0 -1", "LTRIM l 0 0",
        "LRANGE l 0 -1", "LTRIM l 1 0", "EXISTS l", "RPUSH l a b c", "LTRIM l 5 10", "EXISTS l",
        "RPUSH l a b c", "LTRIM l -1 -1", "LRANGE l 0 -1", "LTRIM l x 0", "LTRIM l 0 y",
        "RPUSH big 0 1 2 3 4 5 6 7 8 9", "LTRIM big 2 3", "LRANGE big 0 -1",
        "RPUSH big2 0 1 2 3 4 5 6 7 8 9", "LTRIM big2 1 7", "LRANGE big2 0 -1", "SET s v",
        "LTRIM s 0 1", "LTRIM l -9223372036854775808 9223372036854775807", "LRANGE l 0 -1",
    ],
    "lpos": [
        "RPUSH l a b c a b c a", "LPOS l a", "LPOS l c", "LPOS l z", "LPOS l a RANK 2",
        "LPOS l a RANK -1", "LPOS l a RANK -2", "LPOS l a RANK 4", "LPOS l a RANK -4",
        "LPOS l a COUNT 0", "LPOS l a COUNT 2", "LPOS l z COUNT 0", "LPOS l a RANK -1 COUNT 0",
        "LPOS l a RANK 2 COUNT 1", "LPOS l a RANK 3 COUNT 0", "LPOS l a RANK 4 COUNT 0",
        "LPOS l a MAXLEN 1", "LPOS l a MAXLEN 1 RANK -1", "LPOS l a RANK 2 MAXLEN 4",
        "LPOS l a RANK 2 MAXLEN 3", "LPOS l a RANK 2 MAXLEN 4 COUNT 0", "LPOS l a MAXLEN 0 COUNT 0",
        "LPOS l a RANK -2 MAXLEN 4 COUNT 0", "LPOS l a RANK 0", "LPOS l a RANK x", "LPOS l a RANK",
        "LPOS l a COUNT -1", "LPOS l a COUNT x", "LPOS l a MAXLEN -1", "LPOS l a MAXLEN x",
        "LPOS l a FOO 1", "LPOS l a FOO", "LPOS l a COUNT 1 COUNT 2", "LPOS l a rank 1 rank -2",
        "LPOS l a COUNT -1 RANK 0", "LPOS l a RANK 0 COUNT -1", "LPOS l a COUNT 9223372036854775807", "LPOS l a MAXLEN 9223372036854775807 RANK -3",
        "LPOS l a RANK -9223372036854775808", "LPOS l a RANK -9223372036854775808 COUNT 2",
        "LPOS l a RANK -9223372036854775808 COUNT 0", "LPOS l a RANK -9223372036854775808 MAXLEN 2",
        "LPOS l a RANK -9223372036854775807 COUNT 0", "LPOS l a RANK 9223372036854775807",
        "LPOS nokey a", "LPOS nokey a COUNT 0", "LPOS nokey a RANK 0", "LPOS l", "SET s v",
        "LPOS s a", "LPOS s a COUNT 0", "LPOS s a RANK 0", "LPOS l '' COUNT 0",
    ],
    "move": [
        "RPUSH src a b c", "LMOVE src dst LEFT RIGHT", "LMOVE src dst RIGHT LEFT", "LRANGE src 0 -1",
        "LRANGE dst 0 -1", "LMOVE src dst left left", "EXISTS src", "LMOVE src dst LEFT LEFT",
        "LMOVE dst dst LEFT RIGHT", "LRANGE dst 0 -1", "LMOVE dst dst RIGHT LEFT", "LRANGE dst 0 -1",
        "LMOVE dst x UP LEFT", "LMOVE dst x LEFT DOWN", "LMOVE nokey x UP LEFT", "SET s v",
        "LMOVE dst s LEFT LEFT", "LRANGE dst 0 -1", "LMOVE s dst LEFT LEFT", "LMOVE nokey s LEFT LEFT",
        "RPOPLPUSH dst out", "LRANGE out 0 -1", "RPOPLPUSH dst s", "RPOPLPUSH nokey out",
        "RPOPLPUSH s out", "RPUSH one x", "RPOPLPUSH one one", "LRANGE one 0 -1", "RPOPLPUSH one o2",
        "EXISTS one", "LMOVE a b LEFT", "RPOPLPUSH a", "LMOVE o2 o2 LEFT LEFT", "LRANGE o2 0 -1",
    ],
    "lmpop": [
        "LMPOP 1 nokey LEFT", "RPUSH a 1 2 3", "RPUSH b 4 5 6", "LMPOP 2 nokey a LEFT",
        "LMPOP 2 nokey b RIGHT COUNT 2", "LMPOP 2 a b LEFT COUNT 10", "EXISTS a", "LMPOP 1 b right",
        "LMPOP 0 a LEFT", "LMPOP -1 a LEFT", "LMPOP x a LEFT", "LMPOP 2 a LEFT", "LMPOP 1 a MIDDLE",
        "LMPOP 1 a LEFT COUNT 0", "LMPOP 1 a LEFT COUNT -1", "LMPOP 1 a LEFT COUNT x",
        "LMPOP 1 a LEFT COUNT", "LMPOP 1 a LEFT COUNT 1 COUNT 2", "LMPOP 1 a LEFT FOO",
        "LMPOP 10000000000 a LEFT", "LMPOP 9223372036854775807 a LEFT", "LMPOP 1 a", "SET s v", "RPUSH c x", "LMPOP 2 s c LEFT",
        "LMPOP 2 c s LEFT", "LMPOP 2 c s LEFT", "LMPOP 1 s LEFT COUNT 0", "LMPOP 3 a b c LEFT COUNT 1",
        "LMPOP 1 c LEFT count 9223372036854775807", "LMPOP 1 c LEFT COUNT 9223372036854775808",
    ],
    "wrongtype": [
        "SET s v", "LPUSH s a", "RPUSH s a", "LPOP s", "RPOP s", "LPOP s 0", "LPOP s 2", "LLEN s",
        "LRANGE s 0 -1", "LINDEX s 0", "LINDEX s x", "LSET s 0 x", "LSET s x y", "LTRIM s 0 1",
        "LREM s 1 a", "LPOS s a", "RPUSH l a", "GET l", "APPEND l x", "INCR l", "STRLEN l",
        "SET l x", "TYPE l", "LRANGE l 0 -1",
    ],
    "ttl-kept": [
        "RPUSH l a b c", "EXPIRE l 100", "LPUSH l x", "TTL l", "RPOP l", "LSET l 0 y", "LREM l 0 a",
        "LTRIM l 0 0", "LINSERT l BEFORE y z", "TTL l", "LMOVE l l LEFT RIGHT", "TTL l",
        "RPOPLPUSH l other", "TTL other", "TTL l", "LRANGE l 0 -1",
    ],
    "copy-rename": [
        "RPUSH l a b c", "COPY l c", "LPUSH c z", "LRANGE l 0 -1", "LRANGE c 0 -1",
        "OBJECT ENCODING c", "RENAME c d", "LRANGE d 0 -1", "MOVE d 1", "SELECT 1", "LRANGE d 0 -1",
        "SELECT 0", "TYPE l", "DEL l", "TYPE l", "LLEN l",
    ],
    "binary-elements": [
        ("RPUSH", b"\x00k", b"", b"\x00", b"\r\n", b"\xff" * 3, b"a" * 100),
        ("LRANGE", b"\x00k", b"0", b"-1"), ("LPOS", b"\x00k", b""), ("LPOS", b"\x00k", b"\r\n"),
        ("LREM", b"\x00k", b"0", b""), ("LINSERT", b"\x00k", b"AFTER", b"\x00", b"\x00\x00"),
        ("LRANGE", b"\x00k", b"0", b"-1"), ("LPUSH", b"", b"empty"), ("LRANGE", b"", b"0", b"-1"),
        ("LMOVE", b"\x00k", b"", b"RIGHT", b"LEFT"), ("LRANGE", b"", b"0", b"-1"),
        ("LINSERT", b"\x00k", b"BEFORE\x00x", b"\x00", b"y"), ("LMOVE", b"", b"\x00k", b"LEFT\x00", b"RIGHT"),
    ],
    "object-encoding": [
        # Redis 7.0 has no listpack lists: every list is a quicklist, whatever the size settings.
        "CONFIG SET list-max-listpack-size 2", "RPUSH l a", "OBJECT ENCODING l", "RPUSH l b c d e",
        "OBJECT ENCODING l", "LTRIM l 0 0", "OBJECT ENCODING l",
        "CONFIG SET list-max-listpack-size -2", "RPUSH big " + "x" * 9000, "OBJECT ENCODING big",
        "COPY big c", "OBJECT ENCODING c",
    ],
    "arity": [
        "LPUSH", "LPUSH l", "LPUSHX l", "LLEN", "LLEN a b", "LRANGE l 0", "LINDEX l", "LSET l 0",
        "LINSERT l BEFORE a", "LREM l 0", "LTRIM l 0", "LPOS l", "LMOVE a b LEFT", "RPOPLPUSH a",
        "LMPOP 1 a", "RPOP", "LPOP a 1 2",
    ],
}

# Replies with a key name inside an array, checked under RESP3 as well as RESP2.
RESP3_CASES = [
    "LPOP nokey", "LPOP nokey 0", "LPOP nokey 2", "RPUSH l a b c", "LPOP l 0", "LPOP l 1",
    "RPOP l 5", "LMPOP 1 nokey LEFT", "RPUSH l a b c", "LMPOP 2 nokey l RIGHT COUNT 2", "LINDEX nokey 0",
    "LINDEX l 9", "LPOS l z", "LPOS l z COUNT 0", "LPOS nokey z COUNT 0", "LRANGE nokey 0 -1",
    "LMOVE nokey x LEFT LEFT", "RPOPLPUSH nokey x", "LRANGE l 0 -1",
]


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    try:
        for case in CASES[name]:
            run_case(diff, case)
    finally:
        diff.both("CONFIG", "SET", "list-max-listpack-size", "-2")


def test_resp3_replies(diff):
    diff.both("HELLO", "3")
    for case in RESP3_CASES:
        run_case(diff, case)


def test_long_list_ranges_walk_from_either_end(diff):
    """Indexes near the head, the middle and the tail of a list of many elements."""
    elements = [b"%d" % i for i in range(3000)]
    diff("RPUSH", "l", *elements)
    for start, stop in [(0, 10), (-10, -1), (1490, 1510), (2990, 5000), (-3000, -2990), (2000, 100)]:
        diff("LRANGE", "l", str(start), str(stop))
    for index in (0, 1, 1499, 2998, 2999, 3000, -1, -3000, -3001):
        diff("LINDEX", "l", str(index))
        diff("LSET", "l", str(index), b"set%d" % index)
    diff("LINSERT", "l", "AFTER", "2500", "after")
    diff("LINSERT", "l", "BEFORE", "5", "before")
    diff("LPOS", "l", "2999", "RANK", "-1")
    diff("LREM", "l", "-1", "2997")
    diff("LREM", "l", "2", "3")
    diff("LTRIM", "l", "5", "-5")
    diff("LTRIM", "l", "1000", "1100")
    diff("LRANGE", "l", "0", "-1")
    diff("RPUSH", "m", *[b"x" if i % 2 else b"y%d" % (i % 7) for i in range(2000)])
    diff("LREM", "m", "900", "x")       # a span past the middle: rebuilt
    diff("LREM", "m", "-10", "x")       # a short span at the tail: popped and pushed back
    diff("LREM", "m", "10", "x")        # and at the head
    diff("LREM", "m", "0", "y3")
    diff("LRANGE", "m", "0", "-1")


# -- random sequences ------------------------------------------------------------------------
KEYS = st.sampled_from([b"a", b"b", b"c"])
ELEMENTS = st.sampled_from([b"x", b"y", b"z", b"1", b"", b"\x00"])
INDEX = st.integers(min_value=-6, max_value=6).map(lambda n: b"%d" % n)
SIDE = st.sampled_from([b"LEFT", b"RIGHT"])


def cmd(*parts):
    return st.tuples(*[p if isinstance(p, st.SearchStrategy) else st.just(p) for p in parts])


COMMANDS = st.one_of(
    st.tuples(st.sampled_from([b"LPUSH", b"RPUSH", b"LPUSHX", b"RPUSHX"]), KEYS,
              st.lists(ELEMENTS, min_size=1, max_size=4)).map(lambda t: (t[0], t[1], *t[2])),
    cmd(st.sampled_from([b"LPOP", b"RPOP"]), KEYS),
    cmd(st.sampled_from([b"LPOP", b"RPOP"]), KEYS, st.sampled_from([b"0", b"1", b"2", b"5"])),
    cmd(b"LLEN", KEYS), cmd(b"LRANGE", KEYS, INDEX, INDEX), cmd(b"LINDEX", KEYS, INDEX),
    cmd(b"LSET", KEYS, INDEX, ELEMENTS),
    cmd(b"LINSERT", KEYS, st.sampled_from([b"BEFORE", b"AFTER"]), ELEMENTS, ELEMENTS),
    cmd(b"LREM", KEYS, INDEX, ELEMENTS), cmd(b"LTRIM", KEYS, INDEX, INDEX),
    cmd(b"LPOS", KEYS, ELEMENTS), cmd(b"LPOS", KEYS, ELEMENTS, b"RANK", st.sampled_from([b"-2", b"-1", b"2"]),
                                      b"COUNT", st.sampled_from([b"0", b"1", b"2"])),
    cmd(b"LMOVE", KEYS, KEYS, SIDE, SIDE), cmd(b"RPOPLPUSH", KEYS, KEYS),
    cmd(b"LMPOP", b"2", KEYS, KEYS, SIDE), cmd(b"LMPOP", b"1", KEYS, SIDE, b"COUNT", st.sampled_from([b"1", b"3"])),
    cmd(b"SET", KEYS, ELEMENTS), cmd(b"DEL", KEYS), cmd(b"TYPE", KEYS), cmd(b"EXPIRE", KEYS, b"1000"),
    cmd(b"COPY", KEYS, KEYS), cmd(b"RENAME", KEYS, KEYS),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(COMMANDS, min_size=1, max_size=25))
def test_random_sequences_match_redis_and_replay(diff, commands):
    diff.both("FLUSHALL")
    for argv in commands:
        run_case(diff, argv)
    live = dump(diff.redwood)
    assert_same_state(live, dump(diff.redis))
    assert diff.redwood.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump(diff.redwood) == live          # replay equals live


def test_logged_forms_replay_to_the_same_lists(diff):
    """RPOPLPUSH, LMPOP and the count pops are logged in other forms; after a reload the lists
    are the same (the dump is compared with Redis before and after)."""
    for case in ["RPUSH a 1 2 3 4 5 6", "RPOPLPUSH a b", "LMPOP 2 x a RIGHT COUNT 2", "LPOP a 2",
                 "LMOVE a b LEFT RIGHT", "RPUSH c x", "LTRIM c 1 0", "LPUSH d y", "LREM d 0 y",
                 "RPUSH e 1 2 1 2", "LREM e -1 1", "LSET e -1 9", "LINSERT e AFTER 9 10"]:
        run_case(diff, case)
    live = dump(diff.redwood)
    assert_same_state(live, dump(diff.redis))
    assert diff.redwood.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump(diff.redwood) == live
