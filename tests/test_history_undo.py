"""HISTORY REVERT and REVERTDB on a real server: a key or a database set back to a past
event, exactly, as new write events that the key's history shows as an undo."""
import time

import pytest

from tests.servers import parse_reply
from tests.test_diff_random import contents, dump


@pytest.fixture
def server(redwood_server):
    return redwood_server.start()


def last_seq(raw) -> int:
    reply = parse_reply(raw.call("HISTORY", "POSITION"))
    return dict(zip(reply[0::2], reply[1::2]))[b"last-seq"]


def key_state(raw, key):
    kind = raw.call("TYPE", key)
    return kind, contents(raw, key, kind), raw.call("PEXPIRETIME", key)


WRITES = [
    ("s", [("SET", "s", "one"), ("APPEND", "s", "+two"), ("PEXPIREAT", "s", "4102444800000")],
     [("SET", "s", "other"), ("PERSIST", "s")]),
    ("l", [("RPUSH", "l", "a", "b", "c")], [("LPOP", "l"), ("RPUSH", "l", "z")]),
    ("h", [("HSET", "h", "f1", "v1", "f2", "v2")], [("HDEL", "h", "f1"), ("HSET", "h", "f3", "v3")]),
    ("S", [("SADD", "S", "1", "2", "x")], [("SREM", "S", "x"), ("SADD", "S", "9")]),
    ("z", [("ZADD", "z", "1.5", "a", "-inf", "b", "1e300", "c")], [("ZINCRBY", "z", "2", "a"), ("ZREM", "z", "b")]),
    ("t", [("SET", "t", "string now")], [("DEL", "t"), ("RPUSH", "t", "a list later")]),
]


@pytest.mark.parametrize("key, before, after", WRITES, ids=[case[0] for case in WRITES])
def test_revert_sets_a_key_back_exactly_and_the_undo_is_audited(server, key, before, after):
    raw = server.raw()
    raw.call("CLIENT", "SETNAME", "undoer")
    for argv in before:
        raw.call(*argv)
    then, seq = key_state(raw, key), last_seq(raw)
    for argv in after:
        raw.call(*argv)
    assert key_state(raw, key) != then
    assert raw.call("HISTORY", "REVERT", key, "SEQ", str(seq)) == b":1\r\n"
    assert key_state(raw, key) == then
    assert raw.call("HISTORY", "REVERT", key, "SEQ", str(seq)) == b":0\r\n"     # already as then
    newest = parse_reply(raw.call("HISTORY", "KEY", key, "COUNT", "1"))[1][0]
    assert newest[7] == b"undo" and newest[5] == b"undoer" and newest[3] == b"default"
    raw.call("DEBUG", "RELOAD")                          # the undo replays from the log as it ran
    assert key_state(raw, key) == then
    raw.close()


def test_revert_to_before_a_key_existed_deletes_it_and_a_lapsed_ttl_counts_as_gone(server):
    raw = server.raw()
    raw.call("SET", "other", "1")
    before = last_seq(raw)
    raw.call("SET", "k", "v")
    assert raw.call("HISTORY", "REVERT", "k", "SEQ", str(before)) == b":1\r\n"
    assert raw.call("EXISTS", "k") == b":0\r\n"
    raw.call("SET", "brief", "v", "PX", "150")
    alive = last_seq(raw)
    raw.call("SET", "brief", "longer")
    server.client().execute_command("DEBUG", "SLEEP", "0.2")
    assert raw.call("HISTORY", "REVERT", "brief", "SEQ", str(alive)) == b":1\r\n"
    assert raw.call("EXISTS", "brief") == b":0\r\n"   # it would have expired by now
    raw.close()


def test_revertdb_sets_the_database_back_and_leaves_the_others(server):
    raw = server.raw()
    for argv in [("SET", "a", "1"), ("RPUSH", "l", "x", "y"), ("HSET", "h", "f", "v"), ("SET", "gone", "soon")]:
        raw.call(*argv)
    seq, then = last_seq(raw), dump(raw)
    for argv in [("SET", "a", "2"), ("DEL", "gone"), ("SADD", "new", "m"), ("HSET", "h", "g", "w"),
                 ("SELECT", "1"), ("SET", "elsewhere", "kept"), ("SELECT", "0")]:
        raw.call(*argv)
    assert raw.call("HISTORY", "REVERTDB", "SEQ", str(seq)) == b":4\r\n"     # a, gone, new, h
    now = dump(raw)
    assert [entry for entry in now if entry[0] == 0] == then
    assert [entry[1] for entry in now if entry[0] == 1] == [b"elsewhere"]
    raw.close()


def test_revert_by_time_and_refusals(server):
    raw = server.raw()
    raw.call("SET", "k", "old")
    (entry,) = parse_reply(raw.call("HISTORY", "KEY", "k"))[1]
    time.sleep(0.005)                                 # the next write's time is later than entry's
    raw.call("SET", "k", "new")
    assert raw.call("HISTORY", "REVERT", "k", "TIME", str(entry[1])) == b":1\r\n"
    assert raw.call("GET", "k") == b"$3\r\nold\r\n"
    assert raw.call("HISTORY", "REVERT", "k", "SEQ", "999").startswith(b"-ERR event 999 is not in the log yet")
    assert raw.call("HISTORY", "REVERT", "k", "WHEN", "1") == b"-ERR syntax error\r\n"
    c = server.client()
    c.acl_setuser("limited", enabled=True, passwords=["+pw"], keys=["mine:*"], commands=["+@all"])
    assert raw.call("AUTH", "limited", "pw") == b"+OK\r\n"
    assert raw.call("HISTORY", "REVERT", "k", "SEQ", "1").startswith(b"-NOPERM")
    assert raw.call("HISTORY", "REVERTDB", "SEQ", "1").startswith(b"-NOPERM")
    assert raw.call("HISTORY", "REVERT", "mine:x", "SEQ", "1") == b":0\r\n"
    raw.close()
