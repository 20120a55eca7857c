"""Server-wide state that handlers may consult: keyspace, store, config, clients, stats."""
import os
import time
from collections import deque
from dataclasses import dataclass, field

from engine.acl import Users
from engine.changes import KEYEVENT, KEYSPACE, NEW
from engine.config import Config
from engine.events import ORIGIN_EVICT, ORIGIN_EXPIRE
from engine.eviction import Eviction
from engine.keyspace import Keyspace
from engine.observe import THRESHOLDS, Latency, Slowlog, slow_ns
from engine.pubsub import PubSub
from engine.functions import Functions
from engine.scripting import Scripts
from engine.tracking import TrackingTable
from engine.store import Store


@dataclass
class Stats:
    total_connections_received: int = 0
    total_commands_processed: int = 0
    rejected_connections: int = 0
    expired_keys: int = 0
    evicted_keys: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    samples: deque = field(default_factory=lambda: deque(maxlen=16))
    error_replies: int = 0
    sync_full: int = 0              # replicas given a full resync, LOGSYNCs continued, refused
    sync_partial_ok: int = 0
    sync_partial_err: int = 0
    errors: dict = field(default_factory=dict)      # INFO errorstats: error code -> count

    def reset(self):
        """CONFIG RESETSTAT (the commands' own counters are reset by their table)."""
        self.__init__()

    def error(self, exc):
        """An error reply, counted by its code (its first word), as Redis's errorstats; like
        Redis, at most 128 distinct codes are kept."""
        self.error_replies += 1
        code = exc.message.split(" ", 1)[0]
        if code in self.errors or len(self.errors) < 128:
            self.errors[code] = self.errors.get(code, 0) + 1

    def sample(self, now: float):
        """Called every 100 ms; instantaneous_ops_per_sec is the mean over the last samples."""
        self.samples.append((now, self.total_commands_processed))

    def ops_per_sec(self) -> int:
        if len(self.samples) < 2:
            return 0
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return int((n1 - n0) / (t1 - t0)) if t1 > t0 else 0


@dataclass
class Loading:
    snapshot_seq: int = 0       # the snapshot the last load started from (0: the log's start)
    events: int = 0
    seconds: float = 0.0
    in_progress: bool = False

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


class ServerState:
    def __init__(self, config: Config, backend):
        self.config = config
        self.backend = backend
        self.keyspace = Keyspace(config["databases"])
        self.store = Store(backend, self.keyspace, config["appendfsync"])
        self.clients: dict = {}
        self.users = Users(self)             # ACL users, ACL LOG (engine.acl)
        self.stats = Stats()
        self.loading = Loading()
        self.started = time.time()
        self.pid = os.getpid()
        self.run_id = os.urandom(20).hex()
        # Created with the directory by migration 0001 (server.app migrates before this); a
        # bare memory backend of the unit tests has none.
        self.log_id = (backend.get_meta("log_id") or b"").decode()
        self.tcp_port = config["port"]
        self.active_expire = True
        self.peak_memory = 0
        self.snapshots = None                # server.snapshots.Snapshots, installed by the server
        self.replication = None              # replication.role.Replication, installed by the server
        self.history_views = {}              # HISTORY ASOF's views of past instants: seq -> view
        self.on_publish = _ignore            # PUBLISH / SPUBLISH go to the replicas too
        # What the executor refuses now (replication keeps them in step): writes on a read-only
        # replica or below min-replicas-to-write, commands without `stale` while a replica's
        # link is down; `restricted` says either is set, one check per command.
        self.restricted = False
        self.refuse_writes = None
        self.refuse_stale = None
        self.shutdown = _refuse_shutdown   # the server installs the real one: shutdown(save: bool)
        self.keyspace.log_expired = self._log_expired
        config.on_change("appendfsync", self._set_appendfsync)
        self.pubsub = PubSub()
        self.keyspace.tracking = TrackingTable(self)
        self.maxmemory = 0                   # non-zero: the executor runs self.eviction before commands
        self.eviction = Eviction(self)       # keeps maxmemory and the keys' access metadata in step with the config
        config.on_change("notify-keyspace-events", self._set_notify_flags)
        self._set_notify_flags(config["notify-keyspace-events"])
        self.slowlog, self.latency = Slowlog(), Latency()     # engine.observe
        self.monitors: list = []             # clients in MONITOR mode
        self.slow_ns = slow_ns(config)       # the executor records commands at least this slow
        for name in THRESHOLDS:
            config.on_change(name, self._set_slow_ns)
        self.pause_mode = ""                 # CLIENT PAUSE: "write" or "all" until pause_end
        self.pause_end = 0.0                 # time.monotonic()
        self.postponed: dict = {}            # connections holding commands until the pause ends
        self.scripts = Scripts(self)         # the Lua state, the script cache, the running script
        self.functions = Functions(self)     # FUNCTION's libraries (keyspace.libraries) compiled there
        self.busy_script = None              # BUSY's error while a script is past busy-reply-threshold

    def _log_expired(self, db_index: int, key: bytes):
        self.stats.expired_keys += 1
        self._log_removal(db_index, key, ORIGIN_EXPIRE, "expired")

    def log_evicted(self, db_index: int, key: bytes):
        """An evicted key (deleted already) is logged as `DEL key`, origin `evict`."""
        self.stats.evicted_keys += 1
        self._log_removal(db_index, key, ORIGIN_EVICT, "evicted")

    def _log_removal(self, db_index: int, key: bytes, origin: bytes, cause: str):
        """A key the server removed (not a command): DEL in the log, and a change for WATCH,
        keyspace notifications and tracking (engine.changes)."""
        self.store.append(db_index, [b"DEL", key], origin)
        if self.keyspace.observed:
            self.keyspace.changes.append((db_index, key, cause))

    def _set_notify_flags(self, flags: int):
        keyspace = self.keyspace
        keyspace.notify_flags = flags if flags & (KEYSPACE | KEYEVENT) else 0
        keyspace.notify_new = bool(keyspace.notify_flags & NEW)
        keyspace.miss_scope = None
        keyspace.update_observed()

    def _set_appendfsync(self, value):
        self.store.appendfsync = value

    def _set_slow_ns(self, value):
        self.slow_ns = slow_ns(self.config)


def _ignore(*args):
    pass


def _refuse_shutdown(save):
    raise RuntimeError("no server to shut down")
