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
import time

from engine import errors

ORIGIN_EXPIRE = "expire"

# A string value is `bytes`, or a `bytearray` once SETBIT, SETRANGE, APPEND … modified it
# in place: Redis's "raw" encoding, grown in place (amortised O(1) APPEND, as with an sds).
STRINGS = (bytes, bytearray)


class Database:
    __slots__ = ("index", "data", "expires", "heap", "keyspace", "_sample", "access")

    def __init__(self, index: int, keyspace: "Keyspace"):
        self.index = index
        self.keyspace = keyspace
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}    # key -> unix time in ms
        self.heap: list[tuple[int, bytes]] = []  # (when, key); stale entries skipped on pop
        self._sample: tuple = ()                 # cached key tuple for RANDOMKEY and sampling
        self.access = None   # per-key LRU clock or LFU counter while the maxmemory policy needs one

    def __len__(self):
        return len(self.data)

    # -- reads -------------------------------------------------------------
    def get(self, key: bytes):
        """The live value of key, or None; expires it first if it is due."""
        value = self.data.get(key)
        if value is not None:
            if self.expires:
                when = self.expires.get(key)
                if when is not None and when <= self.keyspace.now and self.keyspace.expiring:
                    # CLIENT PAUSE, and a replica (its primary's DEL does it): the key stays,
                    # expired for reads
                    if not self.keyspace.replica and self.keyspace.pause_end <= time.monotonic():
                        self.expire(key)
                    return self._miss(key)
            if self.access is not None:
                self.access.touch(key)
            return value
        return self._miss(key)

    def _miss(self, key: bytes):
        if self.keyspace.miss_scope is not None:
            self.keyspace.missed(self.index, key)
        return None

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
        keyspace = self.keyspace
        if keyspace.notify_new and key not in self.data:
            keyspace.changes.append((self.index, key, "new"))
        self.data[key] = value
        if not keepttl and self.expires:
            self.expires.pop(key, None)
        if self.access is not None:
            self.access.touch(key)
        if keyspace.blocked_keys:
            keyspace.signal(self.index, key)

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        if self.access is not None:
            self.access.pop(key, None)
        return True

    def set_expire(self, key: bytes, when: int):
        self.expires[key] = when
        heapq.heappush(self.heap, (when, key))
        if len(self.heap) > 2 * len(self.expires) + 1024:
            self._rebuild_heap()

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def is_expired(self, key: bytes) -> bool:
        """Whether key is still stored but past its expiry time (not yet deleted)."""
        when = self.expires.get(key)
        return when is not None and when <= self.keyspace.now and key in self.data

    def clear(self):
        if self.keyspace.watched_keys:
            self.keyspace.touch_db(self)
        self.data = {}
        self.expires = {}
        self.heap = []
        self._sample = ()
        if self.access is not None:
            self.access.clear()

    def swap(self, other: "Database"):
        if self.keyspace.watched_keys:
            self.keyspace.touch_db(self, other)
            self.keyspace.touch_db(other, self)
        for name in ("data", "expires", "heap", "_sample", "access"):
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
        # WATCHed keys: (db index, key) -> {client: None}.
        self.watched_keys: dict[tuple[int, bytes], dict] = {}
        # While anything reacts to writes (WATCH, keyspace notifications, client-side caching),
        # `observed` is true and every logged write is also noted in `changes` as
        # (db index, argv or key, cause) for engine.changes to process after the command.
        self.observed = False
        self.changes: list = []
        self.notify_flags = 0       # notify-keyspace-events, as engine.changes' bits
        self.notify_new = False     # the `n` class: note key creation in db.set
        self.tracking = None        # engine.tracking's table (false while no client tracks keys)
        self.miss_scope = None      # with class m on: which lookups announce a miss (changes.miss_scope)
        self.pause_end = 0.0        # CLIENT PAUSE (time.monotonic()): keys expire for reads, not deleted
        self.replica = False        # following a primary: expired keys are hidden, never deleted here
        self.libraries: dict = {}   # FUNCTION's libraries, name -> code (engine.functions); a new dict at each change

    def signal(self, db_index: int, key: bytes):
        """Note that a key clients are blocked on may have become servable."""
        if (db_index, key) in self.blocked_keys:
            self.ready[(db_index, key)] = None

    def clear(self):
        for db in self.dbs:
            db.clear()
        self.libraries = {}

    def missed(self, db_index: int, key: bytes):
        scope = self.miss_scope
        if scope is True or key in scope:
            self.changes.append((db_index, key, "keymiss"))

    def update_observed(self):
        self.observed = bool(self.watched_keys or self.notify_flags or self.tracking)

    # -- WATCH ---------------------------------------------------------------
    def watch(self, client, db: Database, key: bytes):
        """Watch key for client. A key already past its expiry time is noted as such: its
        deletion is then no change (Redis 7.0's rule), anything else is."""
        slot = (db.index, key)
        if client.watched is None:
            client.watched = {}
        if slot not in client.watched:
            client.watched[slot] = db.is_expired(key)
            self.watched_keys.setdefault(slot, {})[client] = None
            self.observed = True

    def unwatch(self, client):
        watched, client.watched = client.watched, None
        for slot in watched or ():
            clients = self.watched_keys[slot]
            del clients[client]
            if not clients:
                del self.watched_keys[slot]
        if watched:
            self.update_observed()

    def touch(self, db_index: int, key: bytes):
        """A write changed key: clients watching it will fail their EXEC."""
        for client in list(self.watched_keys.get((db_index, key), ())):
            if client.watched[(db_index, key)] and key not in self.dbs[db_index].data:
                client.watched[(db_index, key)] = False   # a key expired at WATCH went away
                continue
            client.dirty = True
            self.unwatch(client)

    def touch_db(self, emptied: Database, replaced_with: Database | None = None):
        """FLUSHDB, FLUSHALL, SWAPDB: watched keys of `emptied` that existed, or that the
        database swapped in has, are changed (keys expired at WATCH as in touch())."""
        for (index, key), clients in list(self.watched_keys.items()):
            if index != emptied.index:
                continue
            existed = key in emptied.data
            arrives = replaced_with is not None and key in replaced_with.data
            if not (existed or arrives):
                continue
            for client in list(clients):
                if client.watched[(index, key)]:
                    if not arrives:
                        client.watched[(index, key)] = False
                        continue
                    if replaced_with.is_expired(key):
                        continue
                elif not existed and replaced_with.is_expired(key):
                    client.watched[(index, key)] = True
                    continue
                client.dirty = True
                self.unwatch(client)

    def watched_expired(self, client) -> bool:
        """At EXEC: a watched key (live when watched) has expired since, deleted or not."""
        for (index, key), expired_at_watch in client.watched.items():
            if not expired_at_watch and self.dbs[index].is_expired(key):
                return True
        return False

    def total_keys(self) -> int:
        return sum(len(db.data) for db in self.dbs)


def _ignore_expired(db_index: int, key: bytes):
    pass
