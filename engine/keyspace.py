"""The materialized view: databases of keys, their values and their expiry times.

Values are the view classes: `bytes` (or `bytearray`) for strings, and one
class per aggregate family (each defined in its module in `engine/commands/`).
Expiry is lazy on lookup, plus an active cycle that pops due keys from a heap;
every expiry is logged as `DEL key` with origin `expire`, so replay and
replicas never consult a clock. While replaying (or following a
primary), keys are never expired here: the log's DEL events do it.
"""
import heapq
import random

from engine import errors

ORIGIN_EXPIRE = "expire"

# A string value is `bytes`, or a `bytearray` once SETBIT, SETRANGE, APPEND … modified it
# in place: Redis's "raw" encoding, grown in place (amortised O(1) APPEND, as with an sds).
STRINGS = (bytes, bytearray)


class Database:
    __slots__ = ("index", "data", "expires", "heap", "keyspace", "_sample")

    def __init__(self, index: int, keyspace: "Keyspace"):
        self.index = index
        self.keyspace = keyspace
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}    # key -> unix time in ms
        self.heap: list[tuple[int, bytes]] = []  # (when, key); stale entries skipped on pop
        self._sample: tuple = ()                 # cached key tuple for RANDOMKEY and sampling

    def __len__(self):
        return len(self.data)

    # -- reads -------------------------------------------------------------
    def get(self, key: bytes):
        """The live value of key, or None; expires it first if it is due."""
        value = self.data.get(key)
        if value is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and when <= self.keyspace.now and self.keyspace.expiring:
                self.expire(key)
                return None
        return value

    def get_string(self, key: bytes):
        """The string at key (bytes, or bytearray once modified in place: Redis's "raw"),
        None if absent; WRONGTYPE for another type."""
        value = self.get(key)
        if value is not None and type(value) not in STRINGS:
            raise errors.WRONGTYPE
        return value

    def get_typed(self, key: bytes, cls: type):
        """The value at key if it is a `cls`, None if absent; WRONGTYPE for another type."""
        value = self.get(key)
        if value is not None and type(value) is not cls:
            raise errors.WRONGTYPE
        return value

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        when = self.expires.get(key)
        return None if when is None else when - self.keyspace.now

    # -- writes ------------------------------------------------------------
    def set(self, key: bytes, value, keepttl: bool = False):
        """Store a value (a new aggregate is stored once, then changed in place).
        A client blocked on this key (BLPOP …) is told it may be served."""
        self.data[key] = value
        if not keepttl and self.expires:
            self.expires.pop(key, None)
        if self.keyspace.blocked_keys:
            self.keyspace.signal(self.index, key)

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        return True

    def set_expire(self, key: bytes, when: int):
        self.expires[key] = when
        heapq.heappush(self.heap, (when, key))
        if len(self.heap) > 2 * len(self.expires) + 1024:
            self._rebuild_heap()

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def clear(self):
        self.data = {}
        self.expires = {}
        self.heap = []
        self._sample = ()

    def swap(self, other: "Database"):
        for name in ("data", "expires", "heap", "_sample"):
            mine, theirs = getattr(self, name), getattr(other, name)
            setattr(self, name, theirs)
            setattr(other, name, mine)
        keyspace = self.keyspace
        for index, key in list(keyspace.blocked_keys):   # a swapped-in list may serve a waiter
            if index in (self.index, other.index) and key in keyspace.dbs[index].data:
                keyspace.signal(index, key)

    # -- expiry ------------------------------------------------------------
    def expire(self, key: bytes):
        """Delete a due key and log it as `DEL key`, origin `expire`."""
        self.delete(key)
        self.keyspace.log_expired(self.index, key)

    def expire_due(self, limit: int) -> int:
        """Expire at most `limit` due keys (the active cycle's bounded step)."""
        heap, expires, now = self.heap, self.expires, self.keyspace.now
        done = 0
        while heap and done < limit and heap[0][0] <= now:
            when, key = heapq.heappop(heap)
            if expires.get(key) == when:
                self.expire(key)
                done += 1
        return done

    def _rebuild_heap(self):
        self.heap = [(when, key) for key, when in self.expires.items()]
        heapq.heapify(self.heap)

    def random_key(self) -> bytes | None:
        """A random live key in amortised O(1): draws from a cached tuple of keys,
        refreshed when too many draws miss (keys deleted since it was taken)."""
        while self.data:
            sample = self._sample
            if len(sample) < len(self.data) // 2 or not sample:
                sample = self._sample = tuple(self.data)
            for _ in range(8):
                key = random.choice(sample)
                if key in self.data:
                    if self.get(key) is not None:
                        return key
                    break  # it expired: the data changed, draw again
            else:
                self._sample = ()
        return None


class Keyspace:
    """All databases, the clock commands see, and the hook that logs expiries."""

    def __init__(self, databases: int = 16):
        self.dbs = [Database(i, self) for i in range(databases)]
        self.now = 0            # ms; set by the executor before each command, or from the event in replay
        self.expiring = True    # False while replaying and on replicas: the log's DELs expire keys
        self.log_expired = _ignore_expired
        # Keys that blocked clients wait on: (db index, key) -> FIFO of waiters (engine.blocking),
        # and the ones written since they were last looked at.
        self.blocked_keys: dict[tuple[int, bytes], list] = {}
        self.ready: dict[tuple[int, bytes], None] = {}

    def signal(self, db_index: int, key: bytes):
        """Note that a key clients are blocked on may have become servable."""
        if (db_index, key) in self.blocked_keys:
            self.ready[(db_index, key)] = None

    def clear(self):
        for db in self.dbs:
            db.clear()

    def total_keys(self) -> int:
        return sum(len(db.data) for db in self.dbs)


def _ignore_expired(db_index: int, key: bytes):
    pass
