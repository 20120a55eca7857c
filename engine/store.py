"""The store: turns logged commands into events and commits them, one batch per loop pass.

Handlers call `client.log(argv)` at the moment they change state; the store
encodes the event and stages it. The server calls `flush()` once per event-loop
pass (group commit): one backend transaction, synced when `appendfsync` is
`always`. Connections whose replies must not leave before that wait on the
store (`wait(callback)`), and are released with the outcome.
"""
import logging
import time

from backends.base import LogUnavailable
from engine import events, keyindex
from engine.errors import RedisError

log = logging.getLogger("redwood.store")


class Store:
    def __init__(self, backend, keyspace, appendfsync: str = "always"):
        self.backend = backend
        self.keyspace = keyspace
        self.appendfsync = appendfsync
        self.next_seq = backend.last_seq + 1
        self.last_ts = 0
        self.batch: list[tuple[int, bytes]] = []
        self.index: list[tuple[int, bytes]] = []     # the batch's key index entries (engine.keyindex)
        self.batch_bytes = 0                     # the records' length: maxmemory leaves the batch out
        self.waiters: list = []
        self.failure: RedisError | None = None   # set while the log cannot be written
        self.unsynced = False                    # committed but not yet fsynced (everysec/no)
        self.flags = 0                           # record flags for the events being staged
        self.on_batch_started = _noop            # the server schedules flush() here
        self.on_failure = _noop                  # the server rebuilds the views here
        self.on_committed = _noop                # replication streams each committed batch
        self.events_logged = 0
        self.last_commit_time = time.time()      # LASTSAVE: every commit is a save

    def append(self, db: int, argv, origin: bytes):
        name = argv[0].lower()
        if name not in events.VOCABULARY:
            raise AssertionError(f"{name!r} is not in the log vocabulary")
        ts = self.keyspace.now
        if ts < self.last_ts:
            ts = self.last_ts
        self.last_ts = ts
        seq = self.next_seq
        self.next_seq = seq + 1
        if not self.batch:
            self.on_batch_started()
        record = events.encode(seq, ts, db, origin, argv, self.flags)
        self.batch.append((seq, record))
        self.batch_bytes += len(record)
        if digests := keyindex.digests(argv):
            self.index.append((seq, digests))
        return seq

    def append_record(self, seq: int, ts: int, record: bytes, argv):
        """Stage a record exactly as another log holds it (a replica appending its primary's
        events: the same seq, the same bytes); argv is its command, which the caller decoded."""
        if seq != self.next_seq:
            raise AssertionError(f"event {seq} arrived where {self.next_seq} was expected")
        self.next_seq = seq + 1
        self.last_ts = max(self.last_ts, ts)
        if not self.batch:
            self.on_batch_started()
        self.batch.append((seq, record))
        self.batch_bytes += len(record)
        if digests := keyindex.digests(argv):
            self.index.append((seq, digests))

    def restart_at(self, seq: int):
        """The next event is `seq` (a replica's full resync starts its log over there)."""
        self.next_seq = seq
        self.last_ts = 0

    @property
    def pending(self) -> bool:
        """Events are staged that are not yet durable as `appendfsync` requires."""
        return bool(self.batch)

    def wait(self, callback):
        """Call callback(ok: bool) once this pass's batch is committed (or has failed)."""
        self.waiters.append(callback)

    def flush(self):
        batch, index = self.batch, self.index
        self.batch, self.index, self.batch_bytes = [], [], 0
        waiters, self.waiters = self.waiters, []
        ok = True
        if batch:
            try:
                self.backend.append(batch, index)
                self.backend.commit(sync=self.appendfsync == "always")
                self.events_logged += len(batch)
                self.last_commit_time = time.time()
                self.unsynced = self.appendfsync != "always"
            except LogUnavailable as exc:
                ok = False
                self.fail(exc)
            else:
                self.on_committed(batch)
        for callback in waiters:
            callback(ok)

    def sync(self):
        """The `everysec` tick: flush committed events to stable storage."""
        if self.unsynced:
            self.unsynced = False
            try:
                self.backend.sync()
            except LogUnavailable as exc:
                self.fail(exc)

    def fail(self, exc):
        log.error("writing the event log failed: %s; refusing writes", exc)
        self.backend.abort()
        self.next_seq = self.backend.last_seq + 1
        self.failure = RedisError(f"MISCONF Errors writing to the event log: {exc}")
        self.on_failure()

    def retry(self) -> bool:
        """Try the log again after a failure (an empty sync); clears the failure on success."""
        try:
            self.backend.sync()
        except LogUnavailable:
            return False
        self.failure = None
        return True


def _noop(*args):
    pass
