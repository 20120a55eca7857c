"""The contract every backend keeps. The engine imports this, never a concrete backend.

A backend holds four things for one data directory: the log (seq -> event record), the key
index (key digest -> the seqs of the events that touched the key, engine.keyindex), the
snapshots (each a sequence of chunks, as of one seq) and the metadata (name -> bytes).
The live server is the only writer of the log; a second process (the snapshot builder,
`redwood check`, `redwood info`) may open the same directory at the same time to read
the log, write snapshots and drop the log's head (`truncate_before`). Every write that
second process makes is a short transaction (one chunk, or a few thousand records), so
the server's commits never wait for more than one of them.
"""
from typing import Iterable, Iterator, NamedTuple, Protocol


DIGEST_BYTES = 8    # a key's digest in the key index (engine.keyindex)


class LogUnavailable(Exception):
    """The log cannot be written (disk full, I/O error): writes must stop."""


class SnapshotInfo(NamedTuple):
    seq: int        # the last event the snapshot contains; also its name (one snapshot per seq)
    ts: int         # that event's time, ms since the epoch
    size: int       # bytes, all chunks
    chunks: int     # how many chunks
    created: int    # when it was written, ms since the epoch


class DiskUsage(NamedTuple):
    log: int        # bytes the log's records take on disk (pages), an estimate where exact is dear
    snapshots: int  # bytes of the complete snapshots' chunks
    total: int      # the data directory's files


class Backend(Protocol):
    kind: str       # "lmdb", "sqlite", "memory"

    # -- the log ---------------------------------------------------------------------------
    def append(self, batch: list[tuple[int, bytes]], index: list[tuple[int, bytes]] = ()) -> int:
        """Stage (seq, record) pairs, seqs dense and increasing, with the key index's entries
        for them: (seq, digests), the 8-byte digests of the keys that event touched
        (engine.keyindex), concatenated. Returns the last seq. Nothing is visible to readers
        or durable before `commit`."""

    def commit(self, sync: bool) -> None:
        """Make the staged batch one transaction; with sync, on stable storage before returning.
        Raises LogUnavailable and discards the batch when it cannot."""

    def abort(self) -> None:
        """Discard a staged batch."""

    def sync(self) -> None:
        """Flush committed transactions to stable storage (the `everysec` tick)."""

    def read(self, from_seq: int, to_seq: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Committed (seq, record) pairs from from_seq to to_seq inclusive, streaming."""

    def scan(self, from_seq: int, to_seq: int | None = None) -> Iterator[tuple[bytes, object]]:
        """Like read, zero-copy, for replay: (8-byte big-endian seq, record buffer) pairs, each
        valid only until the next one is taken."""

    @property
    def first_seq(self) -> int:
        """The oldest seq held (0 when the log is empty); read afresh, since another process
        may have dropped the log's head."""

    @property
    def last_seq(self) -> int:
        """The newest committed seq (0 when the log is empty)."""

    def truncate_before(self, seq: int) -> int:
        """Drop the records with a seq below `seq` (which must be <= last_seq, so the log is
        never emptied and its seqs go on) and their index entries, in short transactions;
        returns how many records."""

    def put_records(self, records: Iterable[tuple[int, bytes]]) -> None:
        """Write committed (seq, record) pairs as they are, replacing any at the same seq,
        in short transactions, synced at the end: for tools (`redwood convert`, migrations, `check
        --truncate` uses delete_records), never for the live server, which appends."""

    def delete_records(self, from_seq: int) -> int:
        """Drop the records from from_seq to the end (a torn tail) and their index entries;
        returns how many records."""

    # -- the key index ---------------------------------------------------------------------
    def key_seqs(self, digest: bytes, before: int, limit: int) -> list[int]:
        """The seqs indexed under `digest` that are below `before`, newest first, at most
        `limit` of them. The entries are durable with their records (`commit`); a durable
        backend may write its by-digest lookup behind them (backends.IndexTail), but reads
        them all here."""

    def index_items(self, from_seq: int, to_seq: int) -> Iterator[tuple[int, bytes]]:
        """The (seq, digests) index entries from from_seq to to_seq inclusive, in seq order
        (tools copy them instead of decoding every record again)."""

    def put_index(self, entries: Iterable[tuple[int, bytes]]) -> None:
        """Write the (seq, digests) index entries of records the log holds that have none
        yet, in short transactions, synced at the end (tools and migrations)."""

    def drop_index(self) -> None:
        """Delete every index entry, in the current layout and in earlier ones (a migration
        then writes them again in the current one)."""

    # -- snapshots -------------------------------------------------------------------------
    def write_snapshot(self, seq: int, ts: int, chunks: Iterable[bytes]) -> SnapshotInfo:
        """Store a snapshot chunk by chunk, one short transaction each, and make it visible
        at the end, synced, in one step: a crash before that leaves no snapshot at `seq`
        (its partial chunks are removed by the next write_snapshot or delete_snapshot).
        An existing snapshot at the same seq is replaced."""

    def snapshots(self) -> list[SnapshotInfo]:
        """The complete snapshots, oldest first."""

    def read_snapshot(self, seq: int) -> Iterator[bytes]:
        """The chunks of the snapshot at `seq`, in order (KeyError if there is none)."""

    def delete_snapshot(self, seq: int) -> None: ...

    # -- metadata and the directory --------------------------------------------------------
    def get_meta(self, name: str) -> bytes | None: ...

    def set_meta(self, name: str, value: bytes) -> None:
        """Set and sync one metadata entry."""

    def meta_items(self) -> dict[str, bytes]:
        """Every metadata entry (for convert and info)."""

    def disk_usage(self) -> DiskUsage: ...

    def backup(self, dest: str) -> None:
        """A consistent copy of the whole store (log, snapshots, metadata) into the new
        directory `dest`, openable as a store of the same kind."""

    def close(self) -> None: ...

