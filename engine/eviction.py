"""maxmemory: what "used memory" is, the keys' access metadata, and Redis's sampled eviction.

Used memory is what the allocator holds for live objects, as Redis's `used_memory`:
- under jemalloc (Redis's allocator; server.cli re-executes Redwood with it preloaded and
  PYTHONMALLOC=malloc when the system has libjemalloc), the bytes allocated, exact: jemalloc's
  counters of this thread, read in ~0.1 µs, re-based at each refresh on `stats.allocated` less
  what the thread caches hold (freed blocks kept for reuse: up to hundreds of KB, which jemalloc
  still counts as allocated and Redis's own counter does not);
- otherwise (pymalloc), an estimate: glibc's mallinfo2() for the blocks pymalloc passes to
  malloc, plus pymalloc's allocated blocks times their mean size. Both walk the heap (40 µs
  per million keys, milliseconds for a fragmented malloc heap), so it is re-read at most
  every 10 ms, and every 16 evictions while evicting.
Both go down when keys are deleted, unlike the resident size (freed memory stays mapped).
Eviction leaves out the log batch not yet committed, as Redis leaves out its AOF buffer
(freeMemoryGetNotCountedMemory): it holds a copy of every value the pass wrote (200 KB for a
pipeline of 200 SETs of 1 KB) and the DELs of the evictions themselves; counted, it had keys
evicted to make room for records that the commit frees moments later.

Access metadata (LRU clock or LFU counter per key) is kept only while the policy needs it,
starting empty when the policy is switched on: a key without it counts as accessed then.
"""
import bisect
import ctypes
import os
import random
import sys
import time

from engine.errors import RedisError

OOM = RedisError("OOM command not allowed when used memory > 'maxmemory'.")

POOL_SIZE = 16          # EVPOOL_SIZE
# A staged event's objects beside its record's bytes: the (seq, record) tuple, seq, the bytes
# header, its list slot (64 + 32 + 33 + 8); size-class rounding is left in the count.
STAGED_EVENT_OVERHEAD = 137
# Its key index entry: the (seq, digests) tuple, the digests bytes (one key's), its list slot
# (64 + 48 + 8).
STAGED_INDEX_OVERHEAD = 120
LFU_INIT_VAL = 5
# Commands that MULTI does not queue and that Redis never refuses for memory (processCommand).
NEVER_REFUSED_IN_MULTI = frozenset({"exec", "discard", "quit", "reset"})


# -- used memory ---------------------------------------------------------------------------
class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


class JemallocMeter:
    """Bytes allocated, from jemalloc's own counters (Redis's `used_memory` under jemalloc)."""

    def __init__(self, libc):
        self.malloc_stats_print = libc.malloc_stats_print
        self.mallctl = libc.mallctl
        self.mallctl.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t),
                                 ctypes.c_void_p, ctypes.c_size_t]
        self.allocated = ctypes.c_uint64.from_address(self._read(b"thread.allocatedp", ctypes.c_void_p))
        self.deallocated = ctypes.c_uint64.from_address(self._read(b"thread.deallocatedp", ctypes.c_void_p))
        self.name = "jemalloc-" + self._read(b"version", ctypes.c_char_p).decode().split("-")[0]
        self.base = 0
        self.refresh()

    def _read(self, name: bytes, kind):
        value, size = kind(), ctypes.c_size_t(ctypes.sizeof(kind))
        if self.mallctl(name, ctypes.byref(value), ctypes.byref(size), None, 0):
            raise OSError(f"mallctl {name.decode()} failed")
        return value.value

    def used(self) -> int:
        return self.base + self.allocated.value - self.deallocated.value

    def refresh(self) -> int:
        """Re-base on the whole process's figure (other threads allocate too, a little), less
        the thread caches: counted in, they made the reading depend on how many blocks the
        last frees left cached when it was taken."""
        epoch = ctypes.c_uint64(1)
        self.mallctl(b"epoch", None, None, ctypes.byref(epoch), 8)
        self.base = (self._read(b"stats.allocated", ctypes.c_size_t)
                     - self._read(b"stats.arenas.4096.tcache_bytes", ctypes.c_size_t)   # MALLCTL_ARENAS_ALL
                     - (self.allocated.value - self.deallocated.value))
        return self.used()

    def allocator_stats(self) -> tuple:
        """(allocated, active, resident): MEMORY STATS's allocator.* fields."""
        used = self.refresh()
        return used, self._read(b"stats.active", ctypes.c_size_t), self._read(b"stats.resident", ctypes.c_size_t)

    def stats_text(self) -> bytes:
        parts = []
        write = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)(lambda _, text: parts.append(text))
        self.malloc_stats_print(write, None, None)
        return b"".join(parts)

    def purge(self):
        self.mallctl(b"arena.4096.purge", None, None, None, 0)   # MALLCTL_ARENAS_ALL


class PymallocMeter:
    """An estimate under pymalloc: malloc's in-use bytes plus pymalloc's blocks × their mean size
    (48 to 64 bytes for the small bytes objects that keys and short values are)."""
    MEAN_BLOCK = 56
    MAX_AGE = 0.01      # seconds a reading is reused

    def __init__(self, libc):
        self.name = "libc" if os.environ.get("PYTHONMALLOC") == "malloc" else "pymalloc"
        self.mallinfo2 = getattr(libc, "mallinfo2", None)
        if self.mallinfo2 is not None:
            self.mallinfo2.restype = _MallInfo2
        self.value, self.at = 0, 0.0
        self.refresh()

    def used(self) -> int:
        if time.monotonic() - self.at > self.MAX_AGE:
            self.refresh()
        return self.value

    def refresh(self) -> int:
        info = self.mallinfo2() if self.mallinfo2 is not None else None
        malloced = info.uordblks + info.hblkhd if info is not None else 0
        self.value = malloced + sys.getallocatedblocks() * self.MEAN_BLOCK
        self.at = time.monotonic()
        return self.value

    def allocator_stats(self) -> tuple:
        return self.refresh(), None, None

    def stats_text(self) -> None:
        return None

    def purge(self):
        libc = ctypes.CDLL(None)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def open_meter():
    """jemalloc's exact counters when it is the allocator (server.cli preloads it), else the
    pymalloc estimate."""
    libc = ctypes.CDLL(None)
    if os.environ.get("PYTHONMALLOC") == "malloc" and hasattr(libc, "mallctl"):
        try:
            return JemallocMeter(libc)
        except OSError:
            pass
    return PymallocMeter(libc)


# -- access metadata ------------------------------------------------------------------------
class LRUClock(dict):
    """key -> when it was last accessed (ms): the `now` of the command, shared by every key
    that command touched, so the clock costs a dict entry per key and no int of its own."""
    __slots__ = ("keyspace", "since")

    def __init__(self, keyspace):
        super().__init__()
        self.keyspace, self.since = keyspace, keyspace.now

    def touch(self, key):
        self[key] = self.keyspace.now

    def idle_ms(self, key) -> int:
        return max(0, self.keyspace.now - self.get(key, self.since))


class LFUCounters(dict):
    """key -> (minutes << 8) | counter: Redis's logarithmic access counter and its decay."""
    __slots__ = ("keyspace", "settings")

    def __init__(self, keyspace, settings):
        super().__init__()
        self.keyspace, self.settings = keyspace, settings

    def minutes(self) -> int:
        return (self.keyspace.now // 60000) & 65535

    def touch(self, key):
        """An access: a new key starts at LFU_INIT_VAL; a known one decays, then may count
        one more, the less likely the higher it is (updateLFU)."""
        packed = self.get(key)
        if packed is None:
            counter = LFU_INIT_VAL
        else:
            counter = self._decayed(packed)
            if counter < 255:
                base = max(counter - LFU_INIT_VAL, 0)
                if random.random() < 1.0 / (base * self.settings.lfu_log_factor + 1):
                    counter += 1
        self[key] = self.minutes() << 8 | counter

    def counter(self, key) -> int:
        """OBJECT FREQ, and the eviction score: the key's counter after its decay."""
        packed = self.get(key)
        return LFU_INIT_VAL if packed is None else self._decayed(packed)

    def _decayed(self, packed: int) -> int:
        """LFUDecrAndReturn(): one less per decay period since the last access."""
        counter, decay = packed & 255, self.settings.lfu_decay_time
        if decay:
            now, then = self.minutes(), packed >> 8
            elapsed = now - then if now >= then else 65535 - then + now
            counter = max(0, counter - elapsed // decay)
        return counter


def untouched(db, key):
    """The live value of key, looked up without counting as an access (LOOKUP_NOTOUCH)."""
    access, db.access = db.access, None
    try:
        return db.get(key)
    finally:
        db.access = access


# -- eviction ---------------------------------------------------------------------------------
class Eviction:
    """performEvictions(): before each command while maxmemory is set, delete keys the policy
    picks until used memory is under the limit or the time budget (tenacity) is spent."""

    def __init__(self, state):
        self.state = state
        self.meter = open_meter()
        self.startup = self.meter.refresh()     # used_memory_startup: the interpreter and the code
        self.pool = []          # (score, db index, key), ascending: the best candidate is last
        self.samples = {}       # (db index, volatile) -> (source dict, tuple of its keys)
        self.next_db = 0
        self.policy = None
        config = state.config
        for name in ("maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor",
                     "lfu-decay-time", "maxmemory-eviction-tenacity"):
            config.on_change(name, self.configure)
        self.configure()

    def configure(self, _value=None):
        config, keyspace = self.state.config, self.state.keyspace
        # A replica ignores maxmemory, as Redis's replica-ignore-maxmemory: its primary's DELs evict.
        self.state.maxmemory = 0 if keyspace.replica else config["maxmemory"]
        self.sample_size = config["maxmemory-samples"]
        self.lfu_log_factor, self.lfu_decay_time = config["lfu-log-factor"], config["lfu-decay-time"]
        tenacity = config["maxmemory-eviction-tenacity"]    # evictionTimeLimitUs()
        self.time_limit = (50e-6 * tenacity if tenacity <= 10 else
                           500e-6 * 1.15 ** (tenacity - 10) if tenacity < 100 else float("inf"))
        policy = config["maxmemory-policy"]
        if policy != self.policy:
            self.policy, self.pool = policy, []
            self.volatile = policy.startswith("volatile")
            kind = LFUCounters if policy.endswith("lfu") else LRUClock if policy.endswith("lru") else None
            for db in keyspace.dbs:
                if kind is None:
                    db.access = None
                elif type(db.access) is not kind:
                    db.access = kind(keyspace) if kind is LRUClock else kind(keyspace, self)

    def before_command(self, client, spec):
        """processCommand's maxmemory step: evict if over; OOM for a command that may grow
        memory (denyoom, an EXEC of one, anything queued by MULTI) when nothing could be freed."""
        if self.meter.used() <= self.state.maxmemory or self.evict():     # the total first, as getMaxmemoryState
            return
        if client.multi is not None:
            refuse = spec.name not in NEVER_REFUSED_IN_MULTI or (
                spec.name == "exec" and any("denyoom" in queued.flags for queued, _ in client.multi))
        else:
            refuse = "denyoom" in spec.flags
        if refuse:
            raise OOM

    def evict(self) -> bool:
        """Delete keys until under the limit: True, also when the time budget ran out first
        (Redis's EVICT_RUNNING: the next command goes on); False when nothing can be evicted."""
        state, limit = self.state, self.state.maxmemory
        if self.used() <= limit:
            return True
        if self.policy == "noeviction":
            return False
        state.keyspace.now = time.time_ns() // 1_000_000      # the clock of idle times and of the DELs
        deadline = time.perf_counter() + self.time_limit
        freed = 0
        while self.used() > limit:
            found = self._pick()
            if found is None:
                return False
            db, key = found
            db.delete(key)
            state.log_evicted(db.index, key)
            freed += 1
            if not freed % 16:
                if time.perf_counter() > deadline:
                    return True
                self.meter.refresh()
        return True

    def used(self) -> int:
        """Used memory as maxmemory counts it (getMaxmemoryState): the staged log batch left out."""
        store = self.state.store
        return (self.meter.used() - store.batch_bytes - len(store.batch) * STAGED_EVENT_OVERHEAD
                - len(store.index) * STAGED_INDEX_OVERHEAD)

    def _pick(self):
        """The (db, key) to evict next, or None when the policy finds nothing."""
        dbs = self.state.keyspace.dbs
        if self.policy.endswith("random"):
            for _ in range(len(dbs)):
                self.next_db = (self.next_db + 1) % len(dbs)
                db = dbs[self.next_db]
                keys = self._sample(db, 1)
                if keys:
                    return db, keys[0]
            return None
        pool = self.pool
        while True:
            populated = False
            for db in dbs:
                if db.expires if self.volatile else db.data:
                    self._populate(db)
                    populated = True
            if not populated:
                return None
            while pool:
                _, index, key = pool.pop()
                db = dbs[index]
                if key in (db.expires if self.volatile else db.data):
                    return db, key
                # A ghost: deleted since it was sampled; try the next best.

    def _populate(self, db):
        """evictionPoolPopulate(): sample keys of db, keep the POOL_SIZE best by score."""
        pool, policy = self.pool, self.policy
        for key in self._sample(db, self.sample_size):
            if policy.endswith("lru"):
                score = db.access.idle_ms(key)
            elif policy.endswith("lfu"):
                score = 255 - db.access.counter(key)
            else:   # volatile-ttl: the sooner it expires, the better
                score = -db.expires[key]
            if len(pool) < POOL_SIZE or score > pool[0][0]:
                bisect.insort(pool, (score, db.index, key))
                if len(pool) > POOL_SIZE:
                    del pool[0]

    def _sample(self, db, count: int) -> list:
        """Up to `count` random live keys of db's keys (volatile: its keys with a TTL), drawn
        from a cached tuple of them that is rebuilt when most draws find deleted keys
        (amortised O(1) per key, as dictGetSomeKeys is)."""
        source = db.expires if self.volatile else db.data
        if not source:
            return []
        cached = self.samples.get((db.index, self.volatile))
        if cached is None or cached[0] is not source or len(cached[1]) < len(source) // 2:
            cached = self.samples[(db.index, self.volatile)] = (source, tuple(source))
        keys, found = cached[1], []
        for _ in range(2 * count):
            key = keys[random.randrange(len(keys))]
            if key in source:
                found.append(key)
                if len(found) == count:
                    return found
        # Most draws found deleted keys: rebuild the cache.
        self.samples[(db.index, self.volatile)] = (source, tuple(source))
        return found or self._sample(db, count)
