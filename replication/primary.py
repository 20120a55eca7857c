"""The primary's side: stream the log to the replicas that asked for it (PROTOCOL.md).

A replica's connection stays a normal client connection (its REPLCONF ACKs are commands);
after LOGSYNC it is also a Link, which first catches up (the snapshot, then the log read in
batches, never more than a few MB ahead of the socket) and is then online: every batch the
store commits goes to every online link as one EVENTS frame, packed once.
"""
import asyncio
import logging
import time

import hiredis

from engine.events import CRC, FLAG_MULTI, HEADER

log = logging.getLogger("redwood.replication")

CATCH_UP_RECORDS = 1000          # records per EVENTS frame while catching up
AHEAD = 4 << 20                  # bytes of stream a catching-up link may have unsent


def frame(*items) -> bytes:
    return hiredis.pack_command(items)


def _whole_transactions(backend, seq: int, last: int) -> list:
    """About CATCH_UP_RECORDS records from seq, never ending inside a transaction (a run of
    FLAG_MULTI records): a replica applies a frame in one go, so its readers see a MULTI/EXEC
    whole, as they do in the live stream, where a commit holds whole transactions. (Adjacent
    transactions look like one run; past 100 times the batch, a run is cut all the same.)"""
    records = []
    for _, record in backend.read(seq, last):
        if len(records) >= CATCH_UP_RECORDS and (
                not HEADER.unpack_from(record)[3] & FLAG_MULTI or len(records) >= 100 * CATCH_UP_RECORDS):
            break
        records.append(record)
    return records


async def drain(connection, ahead: int):
    """Between the batches of a catch-up: let the loop run, then wait while the connection has
    more than `ahead` bytes unsent (a stream read from the log never runs far ahead of its socket)."""
    await asyncio.sleep(0)
    while connection is not None and not connection.closing and \
            connection.transport.get_write_buffer_size() > ahead:
        await asyncio.sleep(0.005)


class Link:
    """One replica, as its primary sees it."""

    def __init__(self, client, port: int):
        self.client, self.port = client, port
        self.online = False
        self.ack_seq = 0
        self.ack_time = time.monotonic()
        self.task = None

    @property
    def ip(self) -> str:
        return self.client.addr.rsplit(":", 1)[0].strip("[]")

    def write(self, data: bytes):
        connection = self.client.connection
        if connection is None or connection.closing:
            return
        connection.transport.write(data)
        self.client.state.stats.net_output_bytes += len(data)
        if connection.transport.get_write_buffer_size():
            connection.check_output_limit()

    def drop(self):
        """Close at once: a replica that does not read would never let a graceful close end."""
        connection = self.client.connection
        if connection is not None and not connection.closing:
            connection.closing = True
            connection.transport.abort()

    @property
    def closed(self) -> bool:
        connection = self.client.connection
        return connection is None or connection.closing


class Primary:
    """The links of this server's replicas, and the stream they get."""

    def __init__(self, state):
        self.state = state
        self.links: dict = {}            # client -> Link
        self.last_ping = time.monotonic()

    # -- LOGSYNC ---------------------------------------------------------------------------
    def sync(self, client, log_id: bytes, seq: int, crc: int, port: int):
        """Answer a replica's LOGSYNC (+CONTINUE or +FULLRESYNC) and start its stream."""
        state, backend = self.state, self.state.backend
        state.store.flush()
        stats = state.stats
        link = self.links[client] = Link(client, port)
        client.replication = link
        if self._continues(log_id, seq, crc):
            stats.sync_partial_ok += 1
            link.write(b"+CONTINUE %s %d\r\n" % (state.log_id.encode(), seq + 1))
            link.task = asyncio.get_running_loop().create_task(self._stream(link, 0, seq + 1))
            log.info("replica %s:%d continues from event %d", link.ip, port, seq + 1)
            return
        if log_id != b"?":
            stats.sync_partial_err += 1
        stats.sync_full += 1
        snapshots = backend.snapshots()
        snapshot_seq = snapshots[-1].seq if snapshots and snapshots[-1].seq else 0
        first = snapshot_seq or 1
        link.write(b"+FULLRESYNC %s %d %d\r\n" % (state.log_id.encode(), snapshot_seq, first))
        link.task = asyncio.get_running_loop().create_task(self._stream(link, snapshot_seq, first))
        log.info("replica %s:%d resyncs in full (snapshot at event %d)", link.ip, port, snapshot_seq)

    def _continues(self, log_id: bytes, seq: int, crc: int) -> bool:
        """Whether the replica's log is a prefix of ours."""
        backend = self.state.backend
        if log_id != self.state.log_id.encode():
            return False
        if not seq:                         # ours, empty: fine while our log starts at 1
            return backend.first_seq <= 1
        if not backend.first_seq <= seq <= backend.last_seq:
            return False
        return any(CRC.unpack_from(record)[0] == crc for _, record in backend.read(seq, seq))

    async def _stream(self, link, snapshot_seq: int, first: int):
        """Catch the link up (snapshot, then the log from `first`), then mark it online."""
        backend = self.state.backend
        try:
            if snapshot_seq:
                chunks = 0
                for chunks, chunk in enumerate(backend.read_snapshot(snapshot_seq), 1):
                    link.write(frame(b"SNAPSHOT", chunks - 1, chunk))
                    await drain(link.client.connection, AHEAD)
                link.write(frame(b"SNAPSHOT-END", chunks))
            seq = first
            while not link.closed:
                last = backend.last_seq
                if seq > last:
                    link.online = True      # from here on, broadcast() sends it every commit
                    return
                records = _whole_transactions(backend, seq, last)
                link.write(frame(b"EVENTS", seq, *records))
                seq += len(records)
                await drain(link.client.connection, AHEAD)
        except KeyError:                    # the snapshot went (retention) while being sent
            log.warning("replica %s:%d: its snapshot was deleted meanwhile; dropping it", link.ip, link.port)
            link.drop()


    # -- the live stream -------------------------------------------------------------------
    def broadcast(self, batch):
        """A committed batch of (seq, record): one EVENTS frame to every online link."""
        if not self.links:
            return
        data = frame(b"EVENTS", batch[0][0], *[record for _, record in batch])
        for link in self.links.values():
            if link.online:
                link.write(data)

    def publish(self, kind: bytes, channel: bytes, message: bytes):
        """PUBLISH or SPUBLISH, for the replicas' subscribers."""
        if self.links:
            data = frame(kind, channel, message)
            for link in self.links.values():
                if link.online:
                    link.write(data)

    def tick(self):
        """Every second: PING the links each repl-ping-replica-period; drop the online ones
        silent (no ACK) for repl-timeout seconds, as Redis does."""
        now = time.monotonic()
        timeout = self.state.config["repl-timeout"]
        for link in list(self.links.values()):
            if link.online and now - link.ack_time > timeout:
                log.warning("replica %s:%d timed out (no ACK for %d s): dropped", link.ip, link.port, timeout)
                link.drop()
        if self.links and now - self.last_ping >= self.state.config["repl-ping-replica-period"]:
            self.last_ping = now
            data = frame(b"PING")
            for link in self.links.values():
                if link.online:
                    link.write(data)

    def ack(self, client, seq: int):
        link = self.links.get(client)
        if link is not None:
            link.ack_seq, link.ack_time = seq, time.monotonic()

    def forget(self, client):
        link = self.links.pop(client, None)
        if link is not None:
            client.replication = None
            if link.task is not None:
                link.task.cancel()
            log.info("replica %s:%d disconnected", link.ip, link.port)

    # -- what the others read --------------------------------------------------------------
    def acked(self, seq: int) -> int:
        """How many replicas have acknowledged event `seq`."""
        return sum(1 for link in self.links.values() if link.ack_seq >= seq)

    def good(self, max_lag: int) -> int:
        """Online replicas that acknowledged within max_lag seconds (min-replicas-to-write)."""
        now = time.monotonic()
        return sum(1 for link in self.links.values() if link.online and now - link.ack_time <= max_lag)
