"""Server-wide state that handlers may consult: keyspace, store, config, clients, stats."""
import os
import time
from collections import deque
from dataclasses import dataclass, field

from engine.config import Config
from engine.events import FORMAT_VERSION, ORIGIN_EXPIRE
from engine.keyspace import Keyspace
from engine.store import Store


@dataclass
class Stats:
    total_connections_received: int = 0
    total_commands_processed: int = 0
    rejected_connections: int = 0
    expired_keys: int = 0
    keyspace_hits: int = 0
    keyspace_misses: int = 0
    net_input_bytes: int = 0
    net_output_bytes: int = 0
    samples: deque = field(default_factory=lambda: deque(maxlen=16))

    def reset(self):
        """CONFIG RESETSTAT."""
        self.__init__()

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
        self.stats = Stats()
        self.loading = Loading()
        self.started = time.time()
        self.pid = os.getpid()
        self.run_id = os.urandom(20).hex()
        self.log_id = open_log_metadata(backend)
        self.tcp_port = config["port"]
        self.active_expire = True
        self.peak_memory = 0
        self.shutdown = _refuse_shutdown   # the server installs the real one: shutdown(save: bool)
        self.keyspace.log_expired = self._log_expired
        config.on_change("appendfsync", self._set_appendfsync)

    def _log_expired(self, db_index: int, key: bytes):
        self.stats.expired_keys += 1
        self.store.append(db_index, [b"DEL", key], ORIGIN_EXPIRE)

    def _set_appendfsync(self, value):
        self.store.appendfsync = value


class FormatError(Exception):
    pass


def open_log_metadata(backend) -> str:
    """The log's id (the replication id), created with the log; refuses a newer format."""
    version = backend.get_meta("format_version")
    if version is None:
        if backend.last_seq:
            raise FormatError("the log has events but no format version: not a Redwood log?")
        backend.set_meta("format_version", b"%d" % FORMAT_VERSION)
        backend.set_meta("log_id", os.urandom(20).hex().encode())
    elif int(version) > FORMAT_VERSION:
        raise FormatError(f"the data directory has format version {int(version)}; "
                          f"this Redwood reads up to version {FORMAT_VERSION}: upgrade Redwood")
    return backend.get_meta("log_id").decode()


def _refuse_shutdown(save):
    raise RuntimeError("no server to shut down")
