"""Strings, counters, ranges and bits: every case is sent to real Redis and to Redwood,
and the replies must be the same bytes. A case is a short sequence run on an empty keyspace."""
import pytest

CASES = {
    "get-set": ["GET k", "SET k v", "GET k", "SET k w", "GET k", "SET k", "GET", "GET k k"],
    "set-options": [
        "SET k v NX", "SET k w NX", "SET k w XX", "GET k", "SET n v XX", "GET n",
        "SET k x GET", "SET k y NX GET", "SET n y XX GET", "SET k v NX XX", "SET k v EX 10 PX 10",
        "SET k v KEEPTTL EX 1", "SET k v EX", "SET k v FOO", "SET k v ex 0", "SET k v px -1",
        "SET k v EX abc", "SET k v EX 9223372036854775807", "SET k v PX 9223372036854775807",
        "SET k v EXAT 1", "GET k", "SET k v PXAT 1 GET", "SET k v get get",
        "SET k v nx get", "SET k v KEEPTTL", "TTL k", "SET k v EX 100", "SET k w KEEPTTL", "TTL k",
    ],
    "set-get-wrongtype": ["SET k v", "SETBIT b 1 1", "APPEND k x", "GET k"],
    "setnx-setex": [
        "SETNX k v", "SETNX k w", "GET k", "SETEX k 100 v", "TTL k", "SETEX k 0 v", "SETEX k -1 v",
        "SETEX k x v", "PSETEX k 100000 v", "PTTL k", "PSETEX k 0 v", "SETEX k", "SETEX k 10",
    ],
    "getset-getdel": ["GETSET k v", "GETSET k w", "GETDEL k", "GETDEL k", "EXISTS k"],
    "getex": [
        "GETEX k", "SET k v", "GETEX k", "GETEX k EX 100", "TTL k", "GETEX k PERSIST", "TTL k",
        "GETEX k PX 100000", "PTTL k", "GETEX k EX 0", "GETEX k EX 10 PX 10", "GETEX k NX",
        "GETEX k EXAT 1", "EXISTS k", "SET k v", "GETEX k PERSIST EX 10", "GETEX k KEEPTTL",
    ],
    "mget-mset": [
        "MSET a 1 b 2 c 3", "MGET a b c d", "MSET a", "MSET a 1 b", "MSETNX a 1 z 2", "MGET z",
        "MSETNX y 1 z 2", "MGET y z", "SETBIT bits 1 1", "MGET a bits", "MSETNX a 1 a 2",
    ],
    "append-strlen": [
        "APPEND k abc", "APPEND k def", "GET k", "STRLEN k", "STRLEN nokey", "APPEND e ''",
        "EXISTS e", "SET n 10", "APPEND n 5", "GET n",
    ],
    "incr-decr": [
        "INCR n", "INCR n", "DECR n", "INCRBY n 10", "DECRBY n 3", "GET n", "INCRBY n x",
        "INCRBY n 9223372036854775807", "SET n 9223372036854775807", "INCR n",
        "SET n -9223372036854775808", "DECR n", "DECRBY n -9223372036854775808",
        "SET n ' 1'", "INCR n", "SET n 01", "INCR n", "SET n 1.5", "INCR n", "SET n ''",
        "INCR n", "INCRBY n 1 2", "SET n 10", "EXPIRE n 100", "INCR n", "TTL n",
    ],
    "incrbyfloat": [
        "INCRBYFLOAT f 1.5", "INCRBYFLOAT f 0.1", "INCRBYFLOAT f -1.6", "GET f",
        "INCRBYFLOAT f 1e3", "INCRBYFLOAT f 3.0e3", "INCRBYFLOAT f abc", "INCRBYFLOAT f inf",
        "INCRBYFLOAT f nan", "INCRBYFLOAT f ' 1'", "INCRBYFLOAT f 0x10", "SET f 1.1",
        "INCRBYFLOAT f 2.2", "SET f 10", "INCRBYFLOAT f 5.0e-1", "SET f 1e308",
        "INCRBYFLOAT f 1e308", "SET f 5", "EXPIRE f 100", "INCRBYFLOAT f 1", "TTL f",
        "INCRBYFLOAT g 3.000000000000000000001", "INCRBYFLOAT h 1.23456789012345678901234",
    ],
    "getrange-setrange": [
        "SET k 'Hello World'", "GETRANGE k 0 4", "GETRANGE k -5 -1", "GETRANGE k 5 1",
        "GETRANGE k -1 -5", "GETRANGE k 0 100", "GETRANGE k -100 2", "SUBSTR k 0 2",
        "GETRANGE nokey 0 1", "GETRANGE k a 1", "SETRANGE k 6 Redis", "GET k",
        "SETRANGE k 20 x", "GET k", "SETRANGE k -1 x", "SETRANGE new 0 ''", "EXISTS new",
        "SETRANGE new 3 ab", "GET new", "SETRANGE k 0 ''", "SETRANGE k 536870911 x",
        "SETRANGE k 536870912 x",
    ],
    "lcs": [
        "MSET a ohmytext b mynewtext", "LCS a b", "LCS a b LEN", "LCS a b IDX",
        "LCS a b IDX MINMATCHLEN 4", "LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN", "LCS a b IDX LEN",
        "LCS a nokey", "LCS a b FOO", "LCS a b MINMATCHLEN", "LCS a b MINMATCHLEN x",
        "SETBIT x 1 1", "LCS a x", "LCS a b WITHMATCHLEN IDX",
    ],
    "setbit-getbit": [
        "SETBIT k 7 1", "GET k", "GETBIT k 7", "GETBIT k 6", "GETBIT k 100", "SETBIT k 7 0",
        "SETBIT k 7 2", "SETBIT k -1 1", "SETBIT k 4294967296 1", "SETBIT k x 1",
        "GETBIT nokey 0", "SETBIT k 100 1", "STRLEN k", "SET s a", "SETBIT s 1 0", "GET s",
    ],
    "bitcount-bitpos": [
        "SET k foobar", "BITCOUNT k", "BITCOUNT k 0 0", "BITCOUNT k 1 1", "BITCOUNT k 1 -2",
        "BITCOUNT k 5 30 BIT", "BITCOUNT k 0 -1 BYTE", "BITCOUNT k 0", "BITCOUNT k 0 1 FOO",
        "BITCOUNT nokey 0 1", "BITCOUNT k -1 -5", "SET z '\\xff\\xf0\\x00'", "BITPOS z 0",
        "BITPOS z 1 2", "BITPOS z 0 0 -1 BIT", "BITPOS z 1 7 15 BIT", "BITPOS nokey 1",
        "BITPOS nokey 0", "BITPOS z 2", "BITPOS k 1 0 -1 FOO", "BITPOS k 0 1 2 3 4",
    ],
    "bitop": [
        "SET a abc", "SET b 'a c'", "BITOP AND d a b", "GET d", "BITOP OR d a b", "GET d",
        "BITOP XOR d a b", "GET d", "BITOP NOT d a", "GET d", "BITOP NOT d a b", "BITOP FOO d a",
        "BITOP AND d nokey", "EXISTS d", "BITOP OR d a nokey", "GET d",
    ],
    "bitfield": [
        "BITFIELD k SET i8 0 100 GET i8 0", "BITFIELD k INCRBY i8 0 100", "BITFIELD k INCRBY u2 100 1",
        "BITFIELD k OVERFLOW SAT INCRBY i8 0 100", "BITFIELD k OVERFLOW FAIL INCRBY i8 0 100",
        "BITFIELD k OVERFLOW WRAP INCRBY u8 #1 300", "GET k", "BITFIELD k GET u64 0",
        "BITFIELD k GET i64 0", "BITFIELD k GET x8 0", "BITFIELD k OVERFLOW FOO", "BITFIELD k SET i8",
        "BITFIELD_RO k GET i8 0", "BITFIELD_RO k SET i8 0 1", "BITFIELD k", "BITFIELD n GET u4 0",
        "EXISTS n", "BITFIELD k SET i64 0 -9223372036854775808 INCRBY i64 0 -1",
        "BITFIELD k OVERFLOW SAT SET u4 0 100", "BITFIELD k SET u63 0 -1",
    ],
    "binary-and-empty-keys": [
        ("SET", b"", b"empty"), ("GET", b""), ("SET", b"\x00\xff\r\n", b"\x00bin"),
        ("GET", b"\x00\xff\r\n"), ("STRLEN", b"\x00\xff\r\n"), ("APPEND", b"\x00\xff\r\n", b"\x00"),
        ("GET", b"\x00\xff\r\n"),
    ],
}


def command(case):
    if isinstance(case, tuple):
        return case
    return tuple(_unquote(word) for word in _split(case))


def _split(line):
    """Split on spaces, keeping '…' quoted words whole (with \\xHH escapes)."""
    words, current, quoted = [], "", False
    for ch in line:
        if ch == "'":
            quoted = not quoted
            current += ch
        elif ch == " " and not quoted:
            words.append(current)
            current = ""
        else:
            current += ch
    words.append(current)
    return words


def _unquote(word):
    if len(word) >= 2 and word[0] == word[-1] == "'":
        return word[1:-1].encode("latin-1").decode("unicode_escape").encode("latin-1")
    return word.encode()


# TTLs are read a moment apart on the two servers: they may differ by one unit.
TOLERANCE = {b"TTL": 1, b"PTTL": 1000, b"EXPIRETIME": 1, b"PEXPIRETIME": 1000}


# Replies whose order is Redis's hash-table order (unspecified): compared as multisets.
UNORDERED = {b"KEYS"}


def run_case(diff, case):
    argv = command(case)
    name = argv[0].upper()
    if name in UNORDERED:
        return diff.unordered(*argv)
    within = TOLERANCE.get(name)
    return diff(*argv) if within is None else diff.approx(*argv, within=within)


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    for case in CASES[name]:
        run_case(diff, case)
