"""SORT and SORT_RO against real Redis, and the generic key commands on every type."""
import pytest

from tests.test_diff_random import dump
from tests.test_diff_strings import command, run_case

CASES = {
    "numeric": [
        "RPUSH l 3 1 2 10 -1.5 1e2", "SORT l", "SORT l DESC", "SORT l LIMIT 1 2", "SORT l LIMIT 1 -1",
        "SORT l LIMIT -5 2", "SORT l LIMIT 10 2", "SORT l LIMIT 0 0", "SORT l DESC LIMIT 0 3",
        "SORT l ASC DESC", "SORT l DESC ASC", "SORT nokey", "SORT l LIMIT 1", "SORT l LIMIT a 1",
        "SORT l FOO", "RPUSH dup 2 1 2 1", "SORT dup", "SORT dup DESC",
    ],
    "not-numbers": [
        "RPUSH w a 1", "SORT w", "SORT w ALPHA", "RPUSH e ''", "SORT e", "RPUSH sp ' 1' 2", "SORT sp",
        "RPUSH t '1 '", "SORT t", "RPUSH n nan", "SORT n", "RPUSH h 0x10 1", "SORT h", "RPUSH i inf -inf 0",
        "SORT i", "RPUSH big 1e400", "SORT big",
    ],
    "alpha": [
        "RPUSH l b a c B '' aa", "SORT l ALPHA", "SORT l ALPHA DESC", "SORT l ALPHA LIMIT 1 3",
        "SADD s b a c", "SORT s ALPHA", "SORT s ALPHA DESC",
    ],
    "nosort": [
        "RPUSH l 3 1 2 10", "SORT l BY nosort", "SORT l BY nosort DESC", "SORT l BY nosort LIMIT 1 2",
        "SORT l BY nosort DESC LIMIT 0 2", "SORT l BY nosort ALPHA", "SADD s 5 1 3", "SORT s BY nosort",
        "SORT s BY nosort STORE dst", "LRANGE dst 0 -1", "SADD t x y z", "SORT t BY nosort STORE dst",
        "LRANGE dst 0 -1",
    ],
    "by-and-get": [
        "RPUSH l 1 2 3", "MSET w_1 30 w_2 10 w_3 20 o_1 one o_2 two", "SORT l BY w_*", "SORT l BY w_* DESC",
        "SORT l BY w_* GET o_*", "SORT l BY w_* GET # GET o_*", "SORT l GET o_* GET nostar",
        "HSET h_1 f 3 g x", "HSET h_2 f 1", "HSET h_3 f 2", "SORT l BY h_*->f", "SORT l BY h_*->f GET h_*->g",
        "SORT l BY h_*-> GET h_*->", "SORT l BY w_* ALPHA", "MSET a_1 b a_2 a a_3 c", "SORT l BY a_* ALPHA",
        "SORT l BY a_*", "SET w_2 notnum", "SORT l BY w_*", "SORT l BY missing_*", "SORT l GET h_*",
        "SORT l GET #", "RPUSH k2 1", "SORT l GET k*", "SORT l BY h_*->f GET",
    ],
    "store": [
        "RPUSH l 3 1 2", "SORT l STORE dst", "LRANGE dst 0 -1", "TYPE dst", "SET s x", "SORT l STORE s",
        "TYPE s", "SORT l GET nothing_* STORE dst", "LRANGE dst 0 -1", "EXPIRE dst 100",
        "SORT l STORE dst", "TTL dst", "SORT nokey STORE dst", "EXISTS dst", "SORT l STORE",
        "SORT l LIMIT 0 0 STORE dst", "EXISTS dst", "SORT_RO l STORE dst", "SORT_RO l", "SORT_RO l DESC LIMIT 0 1",
    ],
    "types": [
        "SET str 1", "SORT str", "SORT_RO str", "HSET h a 1", "SORT h", "SADD s 3 1 2", "SORT s",
        "SORT s DESC LIMIT 0 2", "ZADD z 3 a 1 b 2 c", "SORT z BY nosort", "SORT z BY nosort DESC",
        "SORT z BY nosort LIMIT 1 1", "SORT z ALPHA", "SORT z", "ZADD n 1 10 2 2 3 33", "SORT n", "SORT n DESC",
    ],
}


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    for case in CASES[name]:
        argv = command(case)
        if argv[:3] == (b"SORT", b"s", b"BY") and len(argv) == 4:
            diff.unordered(*argv)      # an unsorted set comes in hash-table order
        else:
            run_case(diff, case)


GENERIC = {
    "type-and-encoding": [
        "RPUSH l a", "HSET h f v", "SADD s 1", "SADD t a", "ZADD z 1 a", "SET str x",
        "TYPE l", "TYPE h", "TYPE s", "TYPE z", "TYPE str", "OBJECT ENCODING l", "OBJECT ENCODING h",
        "OBJECT ENCODING s", "OBJECT ENCODING t", "OBJECT ENCODING z",
    ],
    "rename-copy-move-keep-contents-and-ttl": [
        "RPUSH l a b", "HSET h f v", "SADD s 1 x", "ZADD z 1 a 2 b", "EXPIRE l 100", "EXPIRE z 100",
        "RENAME l l2", "LRANGE l2 0 -1", "TTL l2", "COPY h h2", "HGETALL h2", "COPY z z2", "ZRANGE z2 0 -1 WITHSCORES",
        "TTL z2", "MOVE s 1", "EXISTS s", "SELECT 1", "SCARD s", "SELECT 0", "COPY z2 z DB 0 REPLACE",
        "ZRANGE z 0 -1", "RENAMENX h2 z2", "RENAMENX h2 new", "HGETALL new",
    ],
    "copies-are-independent": [
        "RPUSH l a", "COPY l l2", "RPUSH l2 b", "LRANGE l 0 -1", "HSET h f 1", "COPY h h2", "HSET h2 g 2",
        "HLEN h", "SADD s a", "COPY s s2", "SADD s2 b", "SCARD s", "ZADD z 1 a", "COPY z z2", "ZADD z2 2 b",
        "ZCARD z",
    ],
    "scan-type": [
        "RPUSH l a", "HSET h f v", "SADD s 1", "ZADD z 1 a", "SET str x", "SCAN 0 TYPE list", "SCAN 0 TYPE hash",
        "SCAN 0 TYPE set", "SCAN 0 TYPE zset", "SCAN 0 TYPE string", "SCAN 0 TYPE nosuchtype",
    ],
    "wrongtype-from-string-commands": [
        "RPUSH l a", "GET l", "APPEND l x", "INCR l", "SETRANGE l 0 x", "GETRANGE l 0 1", "STRLEN l",
        "SET l x", "TYPE l", "HSET h f v", "BITCOUNT h", "GETDEL h", "EXISTS h",
    ],
    "emptied-aggregates-disappear": [
        "RPUSH l a", "LPOP l", "EXISTS l", "HSET h f v", "HDEL h f", "TYPE h", "SADD s a", "SREM s a",
        "EXISTS s", "ZADD z 1 a", "ZREM z a", "TYPE z", "SADD s2 a", "SPOP s2", "EXISTS s2",
    ],
}


@pytest.mark.parametrize("name", GENERIC)
def test_generic_key_commands_on_every_type(diff, name):
    for case in GENERIC[name]:
        argv = command(case)
        if argv[0] == b"SCAN":
            diff.unordered(*argv)
        else:
            run_case(diff, case)
    diff.both("SELECT", "0")


def test_sort_store_replays_to_the_same_list(diff):
    for case in ["SADD s b a c", "MSET w_a 1 w_b 1 w_c 1", "SORT s BY w_* ALPHA STORE d1",
                 "SORT s BY nosort STORE d2", "SORT s ALPHA DESC STORE d3", "SORT s BY w_* GET # STORE d4"]:
        diff.redwood.call(*command(case))
    live = dump(diff.redwood)
    assert diff.redwood.call("DEBUG", "RELOAD") == b"+OK\r\n"
    assert dump(diff.redwood) == live
