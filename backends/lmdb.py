"""The LMDB backend: sub-databases `log` (8-byte big-endian seq -> record), `meta`
(name -> value), `snap` (seq + 4-byte chunk index -> chunk), `snaps` (seq -> SnapshotInfo),
and the key index: `keyseqs` (seq -> its digests, written with the record) and `keys` (4-byte
epoch + digest -> seq, sorted duplicates of one size, which LMDB packs eight bytes each),
written behind: it holds the entries up to the seq in meta `index_to` (backends.IndexTail).

The environment is opened without LMDB's own syncing; `commit(sync=True)`
flushes explicitly, so one environment serves `always`, `everysec` and `no`.
Other processes may open the same directory (LMDB's lock file): the snapshot
builder reads the log, writes snapshots and drops the log's head while the
server appends, each in short write transactions, since every writer waits on
LMDB's one writer lock.
"""
import os
import struct
import time
from contextlib import contextmanager

import lmdb

from backends import (EPOCH_BITS, INDEX_CHUNK, IndexTail, batches, complete_backup, directory_size, epoch_seqs,
                      in_short_transactions)
from backends.base import DIGEST_BYTES, DiskUsage, LogUnavailable, SnapshotInfo

SEQ_BYTES = 8
MAP_SIZE = 1 << 40   # sparse: address space, not disk
RECORDS_PER_TXN = 1000   # ~0.3 ms of deletes: the server's commit waits at most that
CHUNKS_PER_TXN = 16
INDEX_PER_TXN = 10_000   # put_index runs offline (tools, migrations): a transaction rewrites each page it touches once
SNAP_INFO = struct.Struct(">QQQQ")   # ts, size, chunks, created
CHUNK_INDEX = struct.Struct(">I")
EPOCH = struct.Struct(">I")
INDEX_TO = b"index_to"      # meta: `keys` holds the key index entries up to this seq


def seq_key(seq: int) -> bytes:
    return seq.to_bytes(SEQ_BYTES, "big")


def chunk_key(seq: int, n: int) -> bytes:
    return seq_key(seq) + CHUNK_INDEX.pack(n)


def index_key(epoch: int, digest: bytes) -> bytes:
    return EPOCH.pack(epoch) + digest


class LmdbBackend:
    kind = "lmdb"

    def __init__(self, path: str):
        self.path = path
        try:
            os.makedirs(path, exist_ok=True)
            self.env = lmdb.open(
                os.path.join(path, "log.lmdb"), map_size=MAP_SIZE, max_dbs=8,
                sync=False, metasync=False, readahead=False,
            )
            self.env.reader_check()   # free the reader slots of killed processes
            self.log, self.meta, self.snap, self.snaps, self.keyseqs = (
                self.env.open_db(name) for name in (b"log", b"meta", b"snap", b"snaps", b"keyseqs"))
            self.keys = self.env.open_db(b"keys", dupsort=True, dupfixed=True)
        except (lmdb.Error, OSError) as exc:
            raise LogUnavailable(f"cannot open {path!r}: {exc}") from exc
        self._txn = None
        self._staged_last = 0
        self._staged_index = []
        self._tail = None   # IndexTail, read from `keyseqs` when first needed
        self._last = None   # cached once this process commits: it is then the log's writer

    @contextmanager
    def _write(self):
        """One write transaction (committed on exit), its failures as LogUnavailable."""
        try:
            with self.env.begin(write=True) as txn:
                yield txn
        except lmdb.Error as exc:
            raise LogUnavailable(str(exc)) from exc

    # -- the log -----------------------------------------------------------------------------
    def append(self, batch, index=()):
        try:
            if self._txn is None:
                self._txn = self.env.begin(write=True, db=self.log)
            with self._txn.cursor() as cur:
                cur.putmulti([(seq_key(seq), record) for seq, record in batch], append=True)
            if index:
                with self._txn.cursor(self.keyseqs) as cur:
                    cur.putmulti([(seq_key(seq), found) for seq, found in index], append=True)
        except lmdb.Error as exc:
            self.abort()
            raise LogUnavailable(str(exc)) from exc
        self._staged_index += index
        self._staged_last = batch[-1][0]
        return self._staged_last

    def commit(self, sync):
        """The staged batch, and once the tail reaches INDEX_CHUNK entries, the tail put in
        `keys`, in one transaction."""
        txn, self._txn = self._txn, None
        if txn is None:
            return
        tail, staged = self._index_tail(), self._staged_index
        self._staged_index = []
        settle = len(tail) + len(staged) >= INDEX_CHUNK
        try:
            if settle:
                self._settle(txn, tail.entries + staged)
            txn.commit()
        except lmdb.Error as exc:
            txn.abort()
            raise LogUnavailable(str(exc)) from exc
        if settle:
            tail.entries = []
        else:
            tail.entries += staged
        self._last = self._staged_last   # committed, even if the sync below fails
        if sync:
            self.sync()

    def abort(self):
        self._staged_index = []
        if self._txn is not None:
            self._txn.abort()
            self._txn = None

    def _index_tail(self) -> IndexTail:
        if self._tail is None:
            with self.env.begin() as txn:
                self._tail = IndexTail(self._items(txn, self.keyseqs, self._index_to(txn) + 1))
        return self._tail

    def _settle(self, txn, entries):
        """Put (seq, digests) entries that keyseqs holds in `keys`; `index_to` moves up to them."""
        first = self._first_seq(txn)            # the snapshot builder may have dropped some
        with txn.cursor(self.keys) as cur:      # in key order: each page is found once
            cur.putmulti(sorted((index_key(seq >> EPOCH_BITS, found[i:i + DIGEST_BYTES]), seq_key(seq))
                                for seq, found in entries if seq >= first
                                for i in range(0, len(found), DIGEST_BYTES)))
        txn.put(INDEX_TO, b"%d" % max(self._index_to(txn), *(seq for seq, _ in entries)), db=self.meta)

    def _index_to(self, txn) -> int:
        return int(txn.get(INDEX_TO, b"0", db=self.meta))

    def sync(self):
        try:
            self.env.sync(True)
        except lmdb.Error as exc:
            raise LogUnavailable(str(exc)) from exc

    def read(self, from_seq, to_seq=None):
        with self.env.begin(buffers=False) as txn:
            yield from self._items(txn, self.log, from_seq, to_seq)

    def scan(self, from_seq, to_seq=None):
        with self.env.begin(db=self.log, buffers=True) as txn, txn.cursor() as cur:
            if not cur.set_range(seq_key(from_seq)):
                return
            if to_seq is None:
                yield from cur
                return
            stop = seq_key(to_seq)
            for key, record in cur:
                if bytes(key) > stop:
                    return
                yield key, record

    @property
    def first_seq(self):
        with self.env.begin(db=self.log) as txn:
            return self._first_seq(txn)

    def _first_seq(self, txn):
        with txn.cursor(self.log) as cur:
            return int.from_bytes(cur.key(), "big") if cur.first() else 0

    @property
    def last_seq(self):
        if self._last is not None:
            return self._last
        with self.env.begin(db=self.log) as txn:
            return self._last_seq(txn)

    def _last_seq(self, txn):
        with txn.cursor(self.log) as cur:
            return int.from_bytes(cur.key(), "big") if cur.last() else 0

    def truncate_before(self, seq):
        if seq > self.last_seq:
            raise ValueError(f"cannot truncate before {seq}: the log ends at {self.last_seq}")
        stop = seq_key(seq)
        return self._delete_records(lmdb.Cursor.first, lambda key: key < stop)

    def delete_records(self, from_seq):
        start = seq_key(from_seq)
        deleted = self._delete_records(lmdb.Cursor.last, lambda key: key >= start)
        self._last = None
        if not deleted:
            return 0
        with self._write() as txn:      # the seqs come again: their entries are the tail's
            if self._index_to(txn) >= from_seq:
                txn.put(INDEX_TO, b"%d" % (from_seq - 1), db=self.meta)
        return deleted

    def _delete_records(self, position, wanted):
        """Delete records and their index entries at the cursor's `position` (first or last)
        while they are `wanted`, in transactions of RECORDS_PER_TXN records; synced at the end."""
        def step():
            n = 0
            with self._write() as txn, txn.cursor(self.log) as cur:
                while n < RECORDS_PER_TXN and position(cur) and wanted(key := cur.key()):
                    if (found := txn.pop(key, db=self.keyseqs)) is not None:
                        epoch = int.from_bytes(key, "big") >> EPOCH_BITS
                        for i in range(0, len(found), DIGEST_BYTES):
                            txn.delete(index_key(epoch, found[i:i + DIGEST_BYTES]), key, db=self.keys)
                    cur.delete()
                    n += 1
            return n

        deleted = in_short_transactions(step, RECORDS_PER_TXN)
        if deleted:
            self.sync()
            self._tail = None
        return deleted

    def put_records(self, records):
        for batch in batches(records, RECORDS_PER_TXN):
            with self._write() as txn, txn.cursor(self.log) as cur:
                cur.putmulti([(seq_key(seq), record) for seq, record in batch])
        self.sync()
        self._last = None

    # -- the key index -----------------------------------------------------------------------
    def drop_index(self):
        with self._write() as txn:
            txn.drop(self.keys, delete=False)
            txn.drop(self.keyseqs, delete=False)
            txn.delete(INDEX_TO, db=self.meta)
        self.sync()
        self._tail = None

    def key_seqs(self, digest, before, limit):
        return self._index_tail().key_seqs(digest, before, limit, self._indexed_seqs)

    def _indexed_seqs(self, digest, before, limit):
        with self.env.begin(db=self.keys) as txn, txn.cursor() as cur:
            def probe(epoch, before, limit):
                seqs, key = [], index_key(epoch, digest)
                if cur.set_range_dup(key, seq_key(before)):
                    found = cur.prev_dup()          # the first below `before`
                else:
                    found = cur.set_key(key) and cur.last_dup()   # all below it, or none there
                while found and len(seqs) < limit:
                    seqs.append(int.from_bytes(cur.value(), "big"))
                    found = cur.prev_dup()
                return seqs

            return epoch_seqs(probe, self._first_seq(txn), self._last_seq(txn), before, limit)

    def index_items(self, from_seq, to_seq):
        with self.env.begin() as txn:
            yield from self._items(txn, self.keyseqs, from_seq, to_seq)

    @staticmethod
    def _items(txn, db, from_seq, to_seq=None):
        """(seq, value) of a sub-database keyed by seq (the log, keyseqs), from from_seq on."""
        with txn.cursor(db) as cur:
            if not cur.set_range(seq_key(from_seq)):
                return
            for key, value in cur:
                seq = int.from_bytes(key, "big")
                if to_seq is not None and seq > to_seq:
                    return
                yield seq, value

    def put_index(self, entries):
        """The tail first, so that `index_to` can move past what these add."""
        with self._write() as txn:
            if tail := list(self._items(txn, self.keyseqs, self._index_to(txn) + 1)):
                self._settle(txn, tail)
        for batch in batches(entries, INDEX_PER_TXN):
            with self._write() as txn:
                with txn.cursor(self.keyseqs) as cur:
                    cur.putmulti([(seq_key(seq), found) for seq, found in batch])
                self._settle(txn, batch)
        self.sync()
        self._tail = None

    # -- snapshots ---------------------------------------------------------------------------
    def write_snapshot(self, seq, ts, chunks):
        self.delete_snapshot(seq)   # replaced; and a killed writer's leftovers go
        size = n = 0
        for chunk in chunks:
            with self._write() as txn:
                txn.put(chunk_key(seq, n), chunk, db=self.snap)
            size += len(chunk)
            n += 1
        self.sync()
        info = SnapshotInfo(seq, ts, size, n, int(time.time() * 1000))
        with self._write() as txn:
            txn.put(seq_key(seq), SNAP_INFO.pack(*info[1:]), db=self.snaps)
        self.sync()
        return info

    def snapshots(self):
        with self.env.begin(db=self.snaps) as txn:
            return [SnapshotInfo(int.from_bytes(key, "big"), *SNAP_INFO.unpack(value))
                    for key, value in txn.cursor()]

    def read_snapshot(self, seq):
        # One read transaction: the chunks are those of one snapshot even if it is replaced meanwhile.
        with self.env.begin(buffers=False) as txn:
            value = txn.get(seq_key(seq), db=self.snaps)
            if value is None:
                raise KeyError(seq)
            for n in range(SNAP_INFO.unpack(value)[2]):
                yield txn.get(chunk_key(seq, n), db=self.snap) or b""    # lost: fails its checksum

    def delete_snapshot(self, seq):
        with self._write() as txn:
            deleted = txn.delete(seq_key(seq), db=self.snaps)
        if deleted:
            self.sync()
        self._drop_partial_chunks()

    def _drop_partial_chunks(self):
        """Delete the chunks of every seq that has no `snaps` entry: a snapshot being deleted or
        replaced, or the leftovers of a writer that was killed. Only one process writes snapshots."""
        with self.env.begin() as txn:
            complete = set(txn.cursor(self.snaps).iternext(values=False))
            orphans = [key for key in txn.cursor(self.snap).iternext(values=False)
                       if key[:SEQ_BYTES] not in complete]
        for batch in batches(orphans, CHUNKS_PER_TXN):
            with self._write() as txn:
                for key in batch:
                    txn.delete(key, db=self.snap)
        if orphans:
            self.sync()

    # -- metadata and the directory ----------------------------------------------------------
    def get_meta(self, name):
        with self.env.begin(db=self.meta) as txn:
            return txn.get(name.encode())

    def set_meta(self, name, value):
        with self._write() as txn:
            txn.put(name.encode(), value, db=self.meta)
        self.sync()

    def meta_items(self):
        with self.env.begin(db=self.meta) as txn:
            return {key.decode(): value for key, value in txn.cursor()}

    def disk_usage(self):
        with self.env.begin() as txn:
            stat = txn.stat(self.log)
        log = (stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]) * stat["psize"]
        return DiskUsage(log, sum(info.size for info in self.snapshots()), directory_size(self.path))

    def backup(self, dest):
        with complete_backup(dest) as partial:
            target = os.path.join(partial, "log.lmdb")
            os.makedirs(target)
            try:
                self.env.copy(target, compact=True)
            except lmdb.Error as exc:
                raise LogUnavailable(f"cannot back up into {dest!r}: {exc}") from exc

    def close(self):
        self.abort()
        self.env.close()

