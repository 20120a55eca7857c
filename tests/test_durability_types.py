"""Durability of lists, hashes, sets and sorted sets: kill -9, restart, and nothing acknowledged is lost.

Writers push to aggregates as fast as they can while a consumer takes jobs with BLPOP; the
server is killed mid-run. After the restart every acknowledged write is there, no
acknowledged pop has come back, and a full dump taken before a kill equals the one after.
"""
import threading
import time

import redis

from tests.servers import RawClient
from tests.test_diff_random import dump
from tests.test_durability import no_retry_client

WRITERS = 3


class AggregateWriter(threading.Thread):
    """Step i: RPUSH list:c i, HSET hash:c f<i> i, SADD set:c i, ZADD zset:c i m<i>, RPUSH jobs c:i.
    `acked` steps completed; `in_flight` the command of step `acked` whose reply never came."""

    def __init__(self, port: int, conn: int):
        super().__init__(daemon=True)
        self.port, self.conn = port, conn
        self.acked, self.in_flight, self.error = 0, None, None

    def run(self):
        client, c = no_retry_client(self.port), self.conn
        try:
            i = 0
            while True:
                for name, call in (("rpush", lambda: client.rpush(f"list:{c}", i) == i + 1),
                                   ("hset", lambda: client.hset(f"hash:{c}", f"f{i}", i) == 1),
                                   ("sadd", lambda: client.sadd(f"set:{c}", i) == 1),
                                   ("zadd", lambda: client.zadd(f"zset:{c}", {f"m{i}": i}) == 1),
                                   ("job", lambda: client.rpush("jobs", f"{c}:{i}") >= 1)):
                    self.in_flight = name
                    assert call(), f"{name} {i} replied unexpectedly"
                self.in_flight = None
                i = self.acked = i + 1
        except redis.ConnectionError:
            pass
        except BaseException as exc:
            self.error = exc
        finally:
            client.close()


class Consumer(threading.Thread):
    """Takes jobs with BLPOP; `taken` are the jobs whose pop was acknowledged."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.taken, self.error = port, [], None

    def run(self):
        client = no_retry_client(self.port)
        try:
            while True:
                reply = client.blpop("jobs", 5)
                if reply is not None:
                    self.taken.append(reply[1])
        except redis.ConnectionError:
            pass
        except BaseException as exc:
            self.error = exc
        finally:
            client.close()


def test_kill_9_under_load_keeps_every_acknowledged_aggregate_write(redwood_server):
    server = redwood_server.start()
    writers = [AggregateWriter(server.port, c) for c in range(WRITERS)]
    consumer = Consumer(server.port)
    for thread in (*writers, consumer):
        thread.start()
    time.sleep(1.0)
    server.kill()
    for thread in (*writers, consumer):
        thread.join(timeout=30)
        assert not thread.is_alive() and thread.error is None, thread.error
    assert all(w.acked > 10 for w in writers), [w.acked for w in writers]
    assert consumer.taken, "the consumer never got a job: BLPOP was not exercised"

    server.restart()
    client = server.client()
    for w in writers:
        c, n = w.conn, w.acked
        done = {"rpush": 0, "hset": 1, "sadd": 2, "zadd": 3, "job": 4}.get(w.in_flight, 5)
        # Step n was in flight at its `done`-th command: those before it landed, it may have.
        expect = [n + (done > k) for k in range(4)]
        lengths = [client.llen(f"list:{c}"), client.hlen(f"hash:{c}"), client.scard(f"set:{c}"),
                   client.zcard(f"zset:{c}")]
        for k, (length, acked) in enumerate(zip(lengths, expect)):
            allowed = {acked, acked + 1} if k == done else {acked}
            assert length in allowed, (c, k, lengths, expect, w.in_flight)
        assert client.lrange(f"list:{c}", 0, n - 1) == [b"%d" % i for i in range(n)]
        assert client.hmget(f"hash:{c}", [f"f{i}" for i in range(n)]) == [b"%d" % i for i in range(n)]
        assert all(client.smismember(f"set:{c}", list(range(n))))
        assert client.zrange(f"zset:{c}", 0, n - 1, withscores=True) == [(b"m%d" % i, i) for i in range(n)]
    # Every acknowledged job is either still queued or was taken, never both, never twice,
    # except one: the consumer's last BLPOP may have been committed with its reply lost in
    # the kill (as with Redis, a pop whose reply is lost takes the element with it).
    queued = client.lrange("jobs", 0, -1)
    taken = set(consumer.taken)
    assert len(taken) == len(consumer.taken)
    assert not taken & set(queued), "an acknowledged BLPOP came back after the restart"
    missing = [job for w in writers for job in (b"%d:%d" % (w.conn, i) for i in range(w.acked))
               if job not in taken and job not in queued]
    assert len(missing) <= 1, f"acknowledged jobs lost: {missing}"
    client.close()


def test_kill_9_keeps_every_type_exactly(redwood_server):
    """Each family's writes (the random ones and the float ones too), killed without a shutdown."""
    server = redwood_server.start()
    raw = RawClient(server.port)
    for argv in [
        "RPUSH l a b c d e", "LPOP l", "LINSERT l BEFORE c x", "LSET l 0 y", "LTRIM l 0 2", "LMOVE l l2 LEFT RIGHT",
        "HSET h a 1 b 2 c 3", "HINCRBY h a 10", "HINCRBYFLOAT h b 0.1", "HDEL h c", "HSETNX h d 4",
        "SADD s 1 2 3 4 5 6 x", "SPOP s 2", "SREM s 1", "SMOVE s s2 x", "SADD t 2 3 4 5 6 9", "SINTERSTORE i s t",
        "SUNIONSTORE u s t", "SDIFFSTORE d s t",
        "ZADD z 1 a 2 b 3 c 4 d", "ZINCRBY z 0.5 a", "ZADD z INCR 1.25 b", "ZPOPMIN z", "ZREM z d",
        "ZADD w 10 a 20 q", "ZUNIONSTORE zu 2 z w WEIGHTS 2 0.5", "ZINTERSTORE zi 2 z w AGGREGATE MAX",
        "ZRANGESTORE zr z 0 -1", "ZREMRANGEBYSCORE w 15 +inf",
        "SET counter 10", "EXPIRE l2 1000", "SELECT 2", "RPUSH other 1", "SELECT 0",
    ]:
        reply = raw.call(*argv.split())
        assert not reply.startswith(b"-"), (argv, reply)
    before = dump(raw)
    raw.close()
    server.kill()
    server.restart()
    raw = RawClient(server.port)
    after = dump(raw)
    raw.close()
    kinds = {entry[2] for entry in before}
    assert kinds == {b"+%s\r\n" % kind for kind in (b"list", b"hash", b"set", b"zset", b"string")}, kinds
    assert after == before
