"""The replica's side: follow a primary's log (PROTOCOL.md).

The Follower connects, asks for the events after its own last seq, and for each EVENTS
frame stages the records as they are (same seqs, same bytes) in its own store and applies
them with the same handlers replay uses, the clock taken from each event; the store
commits them with the loop pass, and after the commit the replica acknowledges. It never
expires keys by its own clock: expired keys are hidden from reads until the primary's DEL
arrives. A broken link is retried with a backoff, from the replica's own last seq.
"""
import asyncio
import logging
import time

import hiredis

from engine import changes, pubsub, snapshot
from engine.client import Client
from engine.errors import RedisError
from engine.events import CRC, CorruptRecord, replay_stream
from engine.registry import lookup

log = logging.getLogger("redwood.replication")

BACKOFF_FIRST, BACKOFF_LAST = 0.1, 5.0
SYNCING = "sync_in_progress"     # metadata: a full resync started and has not finished


class ReplicationError(Exception):
    pass


class Applier(Client):
    """Applies the primary's events: they are already staged in the store by the Follower,
    so logging only notes the change (WATCH, notifications, tracking on the replica)."""
    __slots__ = ()

    def log(self, argv):
        if self.keyspace.observed:
            self.keyspace.changes.append((self.db.index, argv, argv[0].decode(errors="replace").lower()))


def discard_partial_sync(backend) -> bool:
    """At start-up: a full resync that did not finish leaves a store that is neither the old
    one nor the primary's; empty it (the replica resyncs in full). True if it did."""
    if backend.get_meta(SYNCING) != b"1":
        return False
    wipe(backend)
    backend.set_meta(SYNCING, b"0")
    return True


def wipe(backend):
    for info in backend.snapshots():
        backend.delete_snapshot(info.seq)
    if backend.last_seq:
        backend.delete_records(backend.first_seq or 1)


class Follower:
    def __init__(self, state, host: str, port: int):
        self.state, self.host, self.port = state, host, port
        self.task = None
        self.writer = None
        self.stream = None            # the current connection's replies and frames (_Stream)
        self.link_up = False
        self.sync_in_progress = False
        self.last_io = 0.0            # time.monotonic() of the last frame
        self.down_since = time.monotonic()
        self.lag_ms = -1              # how old the newest event was when it arrived
        self.applier = Applier(state)
        self.ack_due = False          # an ACK waits for the store's commit
        self.seed = 0                 # during a full resync: the snapshot's own event (not applied)

    def start(self):
        self.task = asyncio.get_running_loop().create_task(self._run())

    def stop(self):
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()
        self.link_up = False

    def _link(self, up: bool):
        """The link went up or down: what the server refuses may change (MASTERDOWN)."""
        self.link_up = up
        self.state.replication.restrict()

    async def _run(self):
        backoff = BACKOFF_FIRST
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (OSError, EOFError, asyncio.TimeoutError, ReplicationError, CorruptRecord,
                    snapshot.CorruptSnapshot) as exc:
                if self.link_up or backoff == BACKOFF_FIRST:
                    log.warning("replication link to %s:%d: %s", self.host, self.port, exc or type(exc).__name__)
            finally:
                if self.writer is not None:
                    self.writer.close()
                    self.writer = None
                if self.link_up:
                    backoff = BACKOFF_FIRST
                    self.down_since = time.monotonic()
                    self._link(False)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_LAST)

    # -- one connection ----------------------------------------------------------------------
    async def _session(self):
        config = self.state.config
        reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, ssl=self._tls()), timeout=config["repl-timeout"])
        self.stream = _Stream(reader, config["repl-timeout"])
        if config["masterauth"]:
            user = (config["masteruser"],) if config["masteruser"] else ()
            await self._call(b"AUTH", *user, config["masterauth"])
        await self._call(b"REPLCONF", b"listening-port", self.state.tcp_port)
        store, backend = self.state.store, self.state.backend
        store.flush()
        seq = backend.last_seq
        crc = next((CRC.unpack_from(record)[0] for _, record in backend.read(seq, seq)), 0) if seq else 0
        # An empty log has nothing to continue: "?" asks for the whole (as Redis's PSYNC ? -1).
        reply = (await self._call(b"LOGSYNC", self.state.log_id if seq else "?", seq, crc)).split()
        self.last_io = time.monotonic()
        if reply[0] == b"FULLRESYNC":
            await self._full_resync(reply[1].decode(), int(reply[2]), int(reply[3]))
        elif reply[0] != b"CONTINUE" or int(reply[2]) != store.next_seq:
            raise ReplicationError(f"unexpected LOGSYNC reply {reply!r}")
        self._link(True)
        log.info("replica of %s:%d: %s from event %d", self.host, self.port, reply[0].decode().lower(),
                 int(reply[-1]))
        while True:
            self._frame(await self.stream.next())

    def _tls(self):
        if not self.state.config["tls-replication"]:
            return None
        from server import tls
        return tls.client_context(self.state.config)

    async def _call(self, *argv):
        self.writer.write(hiredis.pack_command(argv))
        reply = await self.stream.next()
        if isinstance(reply, hiredis.ReplyError):
            raise ReplicationError(f"{argv[0].decode()}: {reply}")
        return reply

    async def _full_resync(self, log_id: str, snapshot_seq: int, first: int):
        """Take the primary's snapshot (received whole first: the old data is served meanwhile),
        then replace our store with it; the events from `first` follow."""
        state, backend, store = self.state, self.state.backend, self.state.store
        self.sync_in_progress = True
        log.info("full resync from %s:%d: snapshot at event %d", self.host, self.port, snapshot_seq)
        chunks = []
        while snapshot_seq:
            item = await self.stream.next()
            if item[0] == b"SNAPSHOT-END":
                break
            if item[0] != b"SNAPSHOT" or int(item[1]) != len(chunks):
                raise ReplicationError(f"expected snapshot chunk {len(chunks)}, got {item[:2]!r}")
            chunks.append(item[2])
        for link in list(state.replication.primary.links.values()):
            link.drop()                         # our own replicas follow a log that is going away
        store.flush()
        backend.set_meta(SYNCING, b"1")
        wipe(backend)
        backend.set_meta("log_id", log_id.encode())
        state.log_id = log_id
        store.restart_at(first)
        state.keyspace.clear()
        if snapshot_seq:
            seq, ts = snapshot.decode(state.keyspace, chunks)
            backend.write_snapshot(seq, ts, chunks)
            if state.snapshots is not None:
                state.snapshots.saved_seq = seq
        self.seed = snapshot_seq      # the record at the snapshot's seq: appended, not applied
        if not snapshot_seq:          # nothing to wait for: the store is the primary's (empty) start
            self.sync_in_progress = False
            backend.set_meta(SYNCING, b"0")

    # -- frames ------------------------------------------------------------------------------
    def _frame(self, item):
        self.last_io = time.monotonic()
        kind = item[0]
        if kind == b"EVENTS":
            self._events(int(item[1]), item[2:])
        elif kind == b"PUBLISH":
            pubsub.publish(self.state, item[1], item[2])
        elif kind == b"SPUBLISH":
            pubsub.spublish(self.state, item[1], item[2])
        elif kind != b"PING":
            raise ReplicationError(f"unexpected frame {kind!r}")

    def _events(self, first: int, records: list):
        """Stage each new record in our store as it is, and apply it (not the seed)."""
        state, store = self.state, self.state.store
        keyspace, applier = state.keyspace, self.applier
        expected = store.next_seq
        if first > expected:
            raise ReplicationError(f"events from {first} arrived where {expected} was expected")
        new = records[expected - first:]
        dbs = keyspace.dbs
        keyspace.expiring = False               # the primary's DELs expire keys, not our clock
        try:
            for key, ts, db, argv in replay_stream(
                    (seq.to_bytes(8, "big"), record) for seq, record in enumerate(new, expected)):
                seq = int.from_bytes(key, "big")
                store.append_record(seq, ts, new[seq - expected], argv)
                if seq == self.seed:
                    continue
                keyspace.now = ts
                applier.db = dbs[db]
                try:
                    lookup(argv).handler(applier, argv)
                except RedisError as exc:       # as in replay: the event is logged all the same
                    log.error("event %d (%r) failed on the replica: %s", seq, argv[0], exc.message)
        finally:
            keyspace.expiring = True
        if new:
            self.lag_ms = max(time.time_ns() // 1_000_000 - ts, 0)
        if keyspace.changes:
            changes.process(state)
        if store.pending and not self.ack_due:
            self.ack_due = True
            store.wait(self._committed)

    def _committed(self, ok: bool):
        """After the store's commit: acknowledge, and end a full resync."""
        self.ack_due = False
        if not ok:
            return
        seq = self.state.backend.last_seq
        if self.sync_in_progress and seq >= self.seed:
            self.sync_in_progress = False
            self.seed = 0
            self.state.backend.set_meta(SYNCING, b"0")
        self.ack(seq)

    def ack(self, seq: int | None = None):
        seq = self.state.backend.last_seq if seq is None else seq
        if self.writer is not None and self.link_up:
            self.writer.write(hiredis.pack_command((b"REPLCONF", b"ACK", seq)))


class _Stream:
    """Replies and frames off the socket, parsed by hiredis; repl-timeout without any is an error."""

    def __init__(self, reader, timeout: int):
        self.reader, self.timeout = reader, timeout
        self.parser = hiredis.Reader()

    async def next(self):
        while True:
            item = self.parser.gets()
            if item is not False:
                return item
            data = await asyncio.wait_for(self.reader.read(1 << 20), timeout=self.timeout)
            if not data:
                raise EOFError("the primary closed the connection")
            self.parser.feed(data)
