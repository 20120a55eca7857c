"""HISTORY POSITION and HISTORY KEY on a real server: what the log holds, read back online."""
import pytest

from engine.commands import history as history_commands
from tests.servers import parse_reply


def call(server, *argv):
    raw = server.raw()
    try:
        return parse_reply(raw.call(*argv))
    finally:
        raw.close()


@pytest.fixture
def server(redwood_server):
    return redwood_server.start()


def position(raw) -> dict:
    reply = parse_reply(raw.call("HISTORY", "POSITION"))
    return dict(zip(reply[0::2], reply[1::2]))


def test_position_names_this_connections_last_write(server):
    raw = server.raw()
    assert position(raw)[b"last-write"] == 0                         # nothing written yet
    raw.call("SET", "a", "1")
    raw.call("SET", "b", "2")
    mine = position(raw)
    other = server.client()
    other.set("c", 3)
    last = other.info("persistence")["log_last_seq"]
    assert mine[b"last-write"] == last - 1 and mine[b"first-seq"] == 1
    position_now = position(raw)
    raw.close()
    assert position_now[b"last-seq"] == last and position_now[b"last-write"] == last - 1
    assert position_now[b"last-time"] >= position_now[b"first-time"] > 0


def test_key_history_newest_first_with_who_and_what(server):
    c = server.client()
    c.client_setname("writer")
    c.set("k", "v1")
    c.set("other", "x")
    c.append("k", "v2")
    c.hset("h", "f", "v")
    c.delete("k")
    cursor, entries = call(server, "HISTORY", "KEY", "k")
    assert cursor == 0
    assert [entry[6] for entry in entries] == [[b"DEL", b"k"], [b"APPEND", b"k", b"v2"], [b"SET", b"k", b"v1"]]
    seqs = [entry[0] for entry in entries]
    assert seqs == sorted(seqs, reverse=True)
    seq, ts, db, user, addr, name, _, origin = entries[0]
    assert db == 0 and user == b"default" and name == b"writer" and addr.startswith(b"127.0.0.1:")
    assert origin == b"client"
    assert ts > 0
    c.flushdb()                                       # touches every key of its database
    cursor, entries = call(server, "HISTORY", "KEY", "k", "COUNT", "1")
    assert entries[0][6] == [b"FLUSHDB"] and cursor == entries[0][0]
    assert [entry[6] for entry in call(server, "HISTORY", "KEY", "never")[1]] == [[b"FLUSHDB"]]


def test_paging_with_before_and_count(server):
    c = server.client()
    for i in range(30):
        c.set(f"k{i % 3}", i)                         # k0 at events 1, 4, 7, …
    seen, before = [], None
    while True:
        argv = ["HISTORY", "KEY", "k0", "COUNT", "4"] + (["BEFORE", str(before)] if before else [])
        before, entries = call(server, *argv)
        seen += [entry[0] for entry in entries]
        if not before:
            break
    assert seen == list(range(28, 0, -3))


def test_errors_and_acl(server):
    raw = server.raw()
    assert raw.call("HISTORY", "KEY", "k", "COUNT") == b"-ERR syntax error\r\n"
    assert raw.call("HISTORY", "KEY", "k", "COUNT", "x") == b"-ERR value is not an integer or out of range\r\n"
    assert raw.call("HISTORY", "KEY", "k", "COUNT", "0") == b"-ERR COUNT must be positive\r\n"
    assert raw.call("HISTORY", "NOPE").startswith(b"-ERR unknown subcommand 'NOPE'")
    c = server.client()
    c.acl_setuser("reader", enabled=True, passwords=["+pw"], keys=["public:*"], commands=["+@all"])
    c.set("public:a", 1)
    c.set("secret", 1)
    assert raw.call("HISTORY", "KEY", "k", "BEFORE", "1").startswith(b"-ERR event 1 is outside the retention window")
    assert raw.call("AUTH", "reader", "pw") == b"+OK\r\n"
    assert parse_reply(raw.call("HISTORY", "KEY", "public:a"))[1][0][6] == [b"SET", b"public:a", b"1"]
    assert raw.call("HISTORY", "KEY", "secret").startswith(b"-NOPERM")
    assert raw.call("HISTORY", "ASOF", "SEQ", "2", "GET", "secret").startswith(b"-NOPERM")
    assert parse_reply(raw.call("HISTORY", "ASOF", "SEQ", "1", "GET", "public:a")) == b"1"
    raw.close()


def test_a_key_is_found_through_the_index_however_long_the_log(server):
    """The key's history comes from the key index: events of other keys cost nothing."""
    c = server.client()
    c.set("rare", "first")
    pipe = c.pipeline(transaction=False)
    for i in range(20_000):
        pipe.set(f"noise{i}", i)
    pipe.execute()
    c.set("rare", "last")
    cursor, entries = call(server, "HISTORY", "KEY", "rare", "COUNT", "5")
    assert [entry[6][2] for entry in entries] == [b"last", b"first"] and cursor == 0


def test_a_busy_namesake_in_another_db_pages_by_the_scan_limit(server):
    """The index leaves the database out: a key written often in another database fills
    the entries a call looks at, so the call returns what it found with the cursor where it
    stopped, and following the cursor finds the rest."""
    c = server.client()
    c.set("rare", "first")
    other = server.client(db=1)
    noise = history_commands.SCAN_LIMIT + 1000
    pipe = other.pipeline(transaction=False)
    for i in range(noise):
        pipe.set("rare", i)
    pipe.execute()
    c.set("rare", "last")
    cursor, entries = call(server, "HISTORY", "KEY", "rare", "COUNT", "5")
    assert [entry[6][2] for entry in entries] == [b"last"]
    assert 1 < cursor < noise                       # stopped at the limit, not at the key's start
    cursor, entries = call(server, "HISTORY", "KEY", "rare", "COUNT", "5", "BEFORE", str(cursor))
    assert [entry[6][2] for entry in entries] == [b"first"] and cursor == 0


def test_the_change_stream_delivers_every_event_once_across_disconnects(server):
    writer = server.client()
    for i in range(5):
        writer.set(f"k{i}", i)

    def follow(from_seq):
        raw = server.raw()
        raw.call("HELLO", "3")
        assert raw.call("HISTORY", "FOLLOW", str(from_seq)) == b"+OK\r\n"
        return raw

    def take(raw, n):
        return [parse_reply(raw.read_reply()) for _ in range(n)]

    raw = follow(1)
    got = take(raw, 5)
    assert [m[0] for m in got] == [b"history"] * 5 and [m[1] for m in got] == [1, 2, 3, 4, 5]
    assert got[2][7] == [b"SET", b"k2", b"2"] and got[0][4] == b"default"
    writer.hset("h", "f", "v")
    writer.delete("k0")
    live = take(raw, 2)
    assert [m[7] for m in live] == [[b"HSET", b"h", b"f", b"v"], [b"DEL", b"k0"]]
    last_seen = live[-1][1]
    raw.close()                                     # cut off; the writes go on
    writer.set("while", "away")
    pipe = writer.pipeline(transaction=True)
    pipe.incr("n")
    pipe.incr("n")
    pipe.execute()
    raw = follow(last_seen + 1)                     # resume: exactly the events missed, once
    resumed = take(raw, 3)
    assert [m[1] for m in resumed] == [last_seen + 1, last_seen + 2, last_seen + 3]
    assert [m[7] for m in resumed] == [[b"SET", b"while", b"away"], [b"INCRBY", b"n", b"1"], [b"INCRBY", b"n", b"1"]]
    assert raw.call("HISTORY", "UNFOLLOW") == b"+OK\r\n"
    writer.set("after", "unfollow")
    assert raw.call("PING") == b"+PONG\r\n"         # no event came before the reply
    raw.close()


def test_follow_outside_the_window_is_refused(server):
    raw = server.raw()
    assert raw.call("HISTORY", "FOLLOW", "0").startswith(b"-ERR event 0 is outside the retention window")
    assert raw.call("HISTORY", "FOLLOW", "x") == b"-ERR value is not an integer or out of range\r\n"
    raw.close()


def test_audit_queries_by_user_client_key_and_time(server):
    import time
    admin = server.client()
    admin.acl_setuser("alice", enabled=True, passwords=["+pw"], keys=["*"], commands=["+@all"])
    admin.acl_setuser("bob", enabled=True, passwords=["+pw"], keys=["bob:*"], commands=["+@all"])
    alice = server.client(username="alice", password="pw")
    alice.client_setname("alice-app")
    bob = server.client(username="bob", password="pw")
    alice.set("a:1", 1)
    bob.set("bob:1", 1)
    time.sleep(0.01)
    middle = int(time.time() * 1000)
    time.sleep(0.01)
    alice.set("a:2", 2)
    bob.set("bob:2", 2)
    alice.set("bob:3", 3)

    def log(raw, *options):
        cursor, entries = parse_reply(raw.call("HISTORY", "LOG", *options))
        return cursor, [(entry[3], entry[6][1]) for entry in entries]

    raw = server.raw()
    assert log(raw, "USER", "alice") == (0, [(b"alice", b"a:1"), (b"alice", b"a:2"), (b"alice", b"bob:3")])
    assert log(raw, "CLIENT", "alice-app")[1] == log(raw, "USER", "alice")[1]
    assert log(raw, "MATCH", "bob:*")[1] == [(b"bob", b"bob:1"), (b"bob", b"bob:2"), (b"alice", b"bob:3")]
    assert log(raw, "SINCE", str(middle))[1] == [(b"alice", b"a:2"), (b"bob", b"bob:2"), (b"alice", b"bob:3")]
    assert log(raw, "UNTIL", str(middle))[1] == [(b"alice", b"a:1"), (b"bob", b"bob:1")]
    cursor, page = log(raw, "COUNT", "2")
    assert page == [(b"alice", b"a:1"), (b"bob", b"bob:1")] and cursor
    assert log(raw, "AFTER", str(cursor), "COUNT", "2")[1] == [(b"alice", b"a:2"), (b"bob", b"bob:2")]
    assert raw.call("HISTORY", "LOG", "SINCE", "yesterday").startswith(b"-ERR 'yesterday' is not a time")
    assert raw.call("HISTORY", "LOG", "COUNT") == b"-ERR syntax error\r\n"
    raw.call("AUTH", "bob", "pw")                   # bob may read bob:* only: he sees no other key
    assert log(raw, "USER", "alice")[1] == [(b"alice", b"bob:3")]
    raw.close()


def test_asof_reads_the_past_as_restore_rebuilds_it(server):
    import time
    c = server.client()
    c.set("s", "one")
    c.rpush("l", "a", "b")
    c.hset("h", mapping={"f": "1"})
    c.zadd("z", {"m": 1.5})
    c.sadd("S", "x")
    c.set("gone", "soon", px=300)
    seq = c.info("persistence")["log_last_seq"]
    time.sleep(0.02)
    stamp = int(time.time() * 1000)
    time.sleep(0.02)
    c.set("s", "two")
    c.rpush("l", "c")
    c.hset("h", "g", "2")
    c.delete("z", "S")
    time.sleep(0.4)                                          # "gone" has expired by now
    raw = server.raw()
    asof = lambda *argv: parse_reply(raw.call("HISTORY", "ASOF", "SEQ", str(seq), *argv))  # noqa: E731
    assert asof("GET", "s") == b"one" and c.get("s") == b"two"
    assert asof("LRANGE", "l", "0", "-1") == [b"a", b"b"]
    assert asof("HGETALL", "h") == [b"f", b"1"]
    assert asof("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"m", b"1.5"]
    assert asof("SMEMBERS", "S") == [b"x"] and asof("EXISTS", "S") == 1
    assert asof("GET", "gone") == b"soon"                    # not expired at that instant
    assert parse_reply(raw.call("HISTORY", "ASOF", "TIME", str(stamp), "GET", "s")) == b"one"
    assert parse_reply(raw.call("HISTORY", "ASOF", "SEQ", "1", "GET", "s")) == b"one"
    assert parse_reply(raw.call("HISTORY", "ASOF", "SEQ", "1", "LRANGE", "l", "0", "-1")) == []
    assert raw.call("HISTORY", "ASOF", "SEQ", str(seq), "SET", "s", "x") == \
        b"-ERR HISTORY ASOF runs read-only commands, not 'set'\r\n"
    assert raw.call("HISTORY", "ASOF", "SEQ", "99999", "GET", "s").startswith(b"-ERR event 99999 is not in the log")
    assert raw.call("HISTORY", "ASOF", "NOW", "1", "GET", "s") == b"-ERR syntax error\r\n"
    assert c.get("s") == b"two"                              # the live data is untouched
    raw.close()


def test_other_clients_are_served_while_a_view_builds(server):
    """A view to build is built off the event loop: the asking client waits for it, the
    others go on (a PING sent after it is answered before it)."""
    import socket

    writer = server.client()
    writer.config_set("save", "")                     # no snapshot: the view replays the whole log
    pipe = writer.pipeline(transaction=False)
    for i in range(150_000):
        pipe.set(f"k{i % 1000}", i)
    pipe.execute()
    asking, other = server.raw(), server.raw()
    asking.send_raw(b"*6\r\n$7\r\nHISTORY\r\n$4\r\nASOF\r\n$3\r\nSEQ\r\n$6\r\n149000\r\n$3\r\nGET\r\n$4\r\nk999\r\n")
    assert other.call("PING") == b"+PONG\r\n"
    asking.sock.settimeout(0)
    with pytest.raises(BlockingIOError):              # the view is still being built
        asking.sock.recv(1, socket.MSG_PEEK)
    asking.sock.settimeout(30)
    assert asking.read_reply() == b"$6\r\n148999\r\n"
    assert asking.call("HISTORY", "ASOF", "SEQ", "149000", "GET", "k0") == b"$6\r\n148000\r\n"   # cached
    asking.close()
    other.close()
