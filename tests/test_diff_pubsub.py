"""Pub/Sub and keyspace notifications against real Redis: the same steps on both servers, with
several connections each, and every reply and message must be the same bytes."""
import pytest

from tests.conftest import run_steps
from tests.test_diff_strings import command


CASES = {
    "subscribe-publish": [
        "A: SUBSCRIBE a b", "A<", "B: PUBLISH a hello", "A<", "B: PUBLISH nobody x",
        "B: PUBLISH b ''", "A<", "A: UNSUBSCRIBE a", "B: PUBLISH a again", "A: UNSUBSCRIBE",
        "A: UNSUBSCRIBE", "A: GET x"],
    "subscribe-twice-counts-once": ["A: SUBSCRIBE a", "A: SUBSCRIBE a", "B: PUBSUB NUMSUB a b",
                                    "B: PUBLISH a m", "A<", "A: UNSUBSCRIBE a b"],
    "patterns": [
        "A: PSUBSCRIBE news.* h?llo [ab]c", "A<", "A<", "B: PUBLISH news.art x", "A<",
        "B: PUBLISH hello y", "A<", "B: PUBLISH bc z", "A<", "B: PUBLISH dc none",
        "B: PUBSUB NUMPAT", "A: PUNSUBSCRIBE h?llo", "B: PUBSUB NUMPAT", "B: PUBLISH hello gone",
        "A: PUNSUBSCRIBE nothing", "A: PUNSUBSCRIBE news.*", "A: PUNSUBSCRIBE [ab]c", "A: PUNSUBSCRIBE"],
    "channel-and-pattern-both-deliver": [
        "A: SUBSCRIBE news.1", "A: PSUBSCRIBE news.*", "B: PUBLISH news.1 m", "A<", "A<",
        "C: PSUBSCRIBE *", "B: PUBLISH news.1 n", "A<", "A<", "C<"],
    "subscribed-mode-refuses-other-commands": [
        "A: SUBSCRIBE a", "A: GET k", "A: SET k v", "A: MULTI", "A: CLIENT ID x", "A: PING",
        "A: PING hi", "A: NOSUCH", "A: SUBSCRIBE", "A: UNSUBSCRIBE", "A: PING", "A: GET k"],
    "shard-channels": [
        "A: SSUBSCRIBE s1 s2", "A<", "B: SPUBLISH s1 m", "A<", "B: PUBLISH s1 not-shard",
        "B: PUBSUB SHARDNUMSUB s1 s2 s3", "%B: PUBSUB SHARDCHANNELS", "B: PUBSUB SHARDCHANNELS s1*",
        "A: SUNSUBSCRIBE s1", "A: SUNSUBSCRIBE s2", "A: SUNSUBSCRIBE", "B: SPUBLISH s1 x"],
    "pubsub-introspection": [
        "A: SUBSCRIBE x1", "B: SUBSCRIBE x1", "C: PUBSUB NUMSUB x1 x2", "C: PUBSUB CHANNELS x*",
        "C: PUBSUB CHANNELS nothing*", "C: PUBSUB NUMSUB", "C: PUBSUB NUMPAT", "C: PUBSUB CHANNELS a b",
        "C: PUBSUB NOSUCH", "C: PUBSUB HELP", "C: PUBSUB", "C: PUBLISH x1"],
    "resp3-pushes": [
        "~A: HELLO 3", "A: SUBSCRIBE a", "A: GET k", "B: PUBLISH a m", "A<", "A: PING",
        "A: PSUBSCRIBE p*", "B: PUBLISH pa m", "A<", "A: UNSUBSCRIBE", "A: PUNSUBSCRIBE",
        "A: SSUBSCRIBE s", "B: SPUBLISH s m", "A<", "A: SUNSUBSCRIBE"],
    "subscribe-inside-multi": [
        "A: MULTI", "A: SUBSCRIBE a", "A: EXEC", "A: PING", "A: MULTI", "A: EXEC", "A: HELLO 3",
        "A: WATCH k", "A: RESET", "A: MULTI", "A: PSUBSCRIBE y*", "A: EXEC"],
    "reply-off-drops-messages": [
        "~A: HELLO 3", "A: SUBSCRIBE c", "A> CLIENT REPLY OFF", "B: PUBLISH c lost", "A: CLIENT REPLY ON",
        "B: PUBLISH c heard", "A<", "A: PING"],
    "reset-unsubscribes": ["A: SUBSCRIBE a", "A: PSUBSCRIBE b*", "A: RESET", "B: PUBSUB NUMSUB a",
                           "B: PUBSUB NUMPAT", "A: GET k"],
    "reset-forgets-name-and-tracking": ["A: CLIENT SETNAME x", "A: CLIENT TRACKING on", "A: RESET",
                                        "A: CLIENT GETNAME", "A: CLIENT TRACKINGINFO"],
    "notify-config": [
        "A: CONFIG SET notify-keyspace-events KEA", "A: CONFIG GET notify-keyspace-events",
        "A: CONFIG SET notify-keyspace-events Elg$", "A: CONFIG GET notify-keyspace-events",
        "A: CONFIG SET notify-keyspace-events KAnm", "A: CONFIG GET notify-keyspace-events",
        "A: CONFIG SET notify-keyspace-events Ktdxe", "A: CONFIG GET notify-keyspace-events",
        "A: CONFIG SET notify-keyspace-events KEQ", "A: CONFIG GET notify-keyspace-events"],
}


@pytest.mark.parametrize("name", CASES)
def test_same_messages_as_redis(both, name):
    run_steps(both, CASES[name])


# Every write family, so that each logged event's announcement is compared with Redis's.
WRITES = [
    "SET s v", "SET s v EX 100", "SETEX s 100 v", "SETNX s2 v", "GETSET s w", "APPEND s x",
    "SETRANGE s 1 y", "INCR n", "INCRBY n 5", "DECR n", "DECRBY n 2", "INCRBYFLOAT f 1.5",
    "MSET m1 a m2 b", "MSETNX m3 c m4 d", "GETDEL m1", "GETEX m2 PX 100000", "GETEX m2 PERSIST",
    "EXPIRE s 100", "PEXPIRE s 100000", "EXPIREAT s 99999999999", "PERSIST s", "EXPIRE s 0",
    "SETBIT b 7 1", "BITOP OR b2 b b", "BITOP AND b3 nosuch", "BITFIELD b SET u8 0 255",
    "RENAME b b4", "RENAMENX b4 b5", "COPY b5 b6", "MOVE b6 1", "DEL b5 nosuch", "UNLINK b2",
    "RPUSH l a b c d", "LPUSH l z", "LPUSHX l y", "RPUSHX nolist x", "LPOP l", "RPOP l 2",
    "LSET l 0 q", "LINSERT l BEFORE q p", "LREM l 1 p", "LTRIM l 0 0", "LMOVE l l2 LEFT RIGHT",
    "RPOPLPUSH l2 l3", "LPOP l3",
    "HSET h f 1 g 2", "HSETNX h k 3", "HINCRBY h f 2", "HINCRBYFLOAT h f 0.5", "HDEL h f g k",
    "SADD st a b c", "SREM st a", "SMOVE st st2 b", "SPOP st", "SINTERSTORE st3 st2 st2",
    "SUNIONSTORE st4 st2 nosuch", "SDIFFSTORE st5 st2 st2", "SDIFFSTORE st4 st2 st2",
    "ZADD z 1 a 2 b 3 c", "ZADD z INCR 5 a", "ZINCRBY z 1 b", "ZREM z c", "ZPOPMIN z",
    "ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 0 0", "ZREMRANGEBYSCORE z 4 4",
    "ZREMRANGEBYLEX z - +", "ZADD z 1 a 2 b", "ZPOPMAX z 5", "ZADD z 1 a 2 b",
    "ZRANGESTORE z2 z 0 -1", "ZUNIONSTORE z3 2 z z2", "ZINTERSTORE z4 1 nosuch", "ZDIFFSTORE z2 1 nosuch",
    "RPUSH sl 3 1 2", "SORT sl STORE sl2", "SORT nosuch STORE sl2", "COPY nosuch x",
    "SET e v PX 1", "DEBUG SLEEP 0.01", "GET e", "GET missing", "HGET missing f", "EXISTS missing",
    "SWAPDB 0 1", "SWAPDB 0 1", "FLUSHDB",
]


@pytest.mark.parametrize("classes", ["KEA", "KA", "EA", "Kg", "E$lshz", "Exn", "KEm", "KEn"])
def test_keyspace_notifications_match_redis(both, classes):
    """A subscriber to every notification sees the same messages, in the same order, after the
    same writes; an `end` message published last marks the end of the stream."""
    streams = []
    for sessions in both:
        sessions["W"].call("CONFIG", "SET", "notify-keyspace-events", classes)
        sessions["S"].call("PSUBSCRIBE", "__key*__:*")
        sessions["S"].call("SUBSCRIBE", "end")
        replies = [sessions["W"].call(*command(line)) for line in WRITES]
        sessions["W"].call("PUBLISH", "end", "now")
        messages = []
        while not messages or b"end" not in messages[-1]:
            messages.append(sessions["S"].read_reply())
        streams.append((replies, messages))
    (redis_replies, redis_messages), (replies, messages) = streams
    for line, expected, actual in zip(WRITES, redis_replies, replies):
        assert actual == expected, f"{line!r}: Redis said {expected!r}, Redwood said {actual!r}"
    for i, (expected, actual) in enumerate(zip(redis_messages, messages)):
        assert actual == expected, f"message {i}: Redis sent {expected!r}, Redwood {actual!r}; " \
                                   f"Redis's messages around it: {redis_messages[max(0, i - 4):i + 2]!r}"
    assert len(messages) == len(redis_messages)
