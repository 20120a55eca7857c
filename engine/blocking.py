"""Blocking commands (BLPOP, BLMOVE, BZPOPMIN …): clients waiting on keys, served first come first served.

A blocking handler first tries its plain form. When there is nothing to pop it
returns `block(client, keys, timeout_ms, serve)`: the client waits, and its
connection runs none of its later commands until it is served, times out, is
unblocked (CLIENT UNBLOCK) or goes away.

A write that stores a value at a key someone waits on marks the key ready
(`Database.set` → `Keyspace.signal`). After each command — after EXEC for a
transaction — the executor calls `serve_ready()`, which offers every ready key
to its waiters in the order they blocked. `serve(key)` runs as the waiting
client: it pops and logs the plain form (LPOP, LMOVE, ZPOPMIN …), so the log
never holds a blocking command, and returns the reply, or None when the key
holds nothing for it (it keeps waiting).
"""
import math
import time

from engine import errors
from engine.parsing import INT64_MAX, to_float
from engine.replies import NULL_ARRAY

NOT_A_TIMEOUT = errors.err("timeout is not a float or out of range")
NEGATIVE_TIMEOUT = errors.err("timeout is negative")


class Waiter:
    """A blocked client: the keys it waits on, when it gives up, and how to serve it."""
    __slots__ = ("client", "keys", "timeout_ms", "serve", "timer", "timeout_reply")

    def __init__(self, client, keys, timeout_ms: int, serve, timeout_reply=NULL_ARRAY):
        self.client, self.keys, self.timeout_ms, self.serve = client, keys, timeout_ms, serve
        self.timer = None       # the connection's timeout handle
        self.timeout_reply = timeout_reply  # what it answers on timeout (and CLIENT UNBLOCK TIMEOUT);
                                            # a callable: its result then (WAIT's count)


def parse_timeout(raw: bytes) -> int:
    """A timeout in seconds (a double, as Redis reads it) -> ms, rounded up; 0 = forever."""
    value = to_float(raw, overflow=True)
    if value is None:
        raise NOT_A_TIMEOUT
    ms = value * 1000
    # Redis converts a long double to long long: anything out of range comes out negative.
    if math.isinf(ms) or ms >= INT64_MAX or math.ceil(ms) < 0:
        raise NEGATIVE_TIMEOUT
    return math.ceil(ms)


def block(client, keys, timeout_ms: int, serve, cannot_wait=NULL_ARRAY, timeout_reply=NULL_ARRAY):
    """Make client wait on keys; returns the reply the handler should return now.

    Inside a transaction (or wherever a client cannot wait) a blocking command
    answers `cannot_wait` at once, as Redis does; `timeout_reply` when it times out."""
    if client.connection is None or client.in_exec:
        return cannot_wait
    waiter = client.blocked = Waiter(client, list(dict.fromkeys(keys)), timeout_ms, serve, timeout_reply)
    blocked_keys, index = client.keyspace.blocked_keys, client.db.index
    for key in waiter.keys:
        blocked_keys.setdefault((index, key), []).append(waiter)
    return BLOCKED


def unblock(client):
    """Forget that client waits (served, timed out, unblocked or disconnected); returns
    its Waiter (the connection cancels the timer), None if it was not waiting."""
    waiter, client.blocked = client.blocked, None
    if waiter is None:
        return None
    blocked_keys, index = client.keyspace.blocked_keys, client.db.index
    for key in waiter.keys:
        queue = blocked_keys.get((index, key))
        if queue is not None:
            queue.remove(waiter)
            if not queue:
                del blocked_keys[(index, key)]
    return waiter


def serve_ready(keyspace):
    """Offer each ready key to its waiters, in the order they blocked, while it has something."""
    while keyspace.ready:
        ready, keyspace.ready = keyspace.ready, {}
        for index, key in ready:
            data = keyspace.dbs[index].data
            for waiter in list(keyspace.blocked_keys.get((index, key), ())):
                if key not in data:
                    break
                client = waiter.client
                keyspace.now = time.time_ns() // 1_000_000
                try:
                    reply = waiter.serve(key)
                except errors.RedisError as exc:
                    reply = exc
                if reply is not None:
                    client.connection.unblocked(reply)    # which unblocks it first


class Blocked:
    """What a handler returns when its client now waits: no reply yet."""
    __slots__ = ()

    def __repr__(self):
        return "BLOCKED"


BLOCKED = Blocked()
