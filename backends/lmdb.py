"""The LMDB backend: sub-databases `log` (8-byte big-endian seq -> record) and `meta`.

The environment is opened without LMDB's own syncing; `commit(sync=True)`
flushes explicitly, so one environment serves `always`, `everysec` and `no`.
Readers in other processes are allowed (LMDB's lock file), which snapshots
and `redwood log` rely on.
"""
import os

import lmdb

from backends.base import LogUnavailable

SEQ_BYTES = 8
MAP_SIZE = 1 << 40   # sparse: address space, not disk


def seq_key(seq: int) -> bytes:
    return seq.to_bytes(SEQ_BYTES, "big")


class LmdbBackend:
    def __init__(self, path: str, readonly: bool = False):
        try:
            os.makedirs(path, exist_ok=True)
            self.env = lmdb.open(
                os.path.join(path, "log.lmdb"), map_size=MAP_SIZE, max_dbs=8,
                sync=False, metasync=False, readahead=False, readonly=readonly,
            )
            self.log = self.env.open_db(b"log", create=not readonly)
            self.meta = self.env.open_db(b"meta", create=not readonly)
        except (lmdb.Error, OSError) as exc:
            raise LogUnavailable(f"cannot open {path!r}: {exc}") from exc
        self._txn = None
        self._staged = (0, 0)   # first and last seq of the open write transaction
        self._first, self._last = self._bounds()

    def _bounds(self):
        with self.env.begin(db=self.log) as txn, txn.cursor() as cur:
            if not cur.first():
                return 0, 0
            first = int.from_bytes(cur.key(), "big")
            cur.last()
            return first, int.from_bytes(cur.key(), "big")

    def append(self, batch):
        try:
            if self._txn is None:
                self._txn = self.env.begin(write=True, db=self.log)
            with self._txn.cursor() as cur:
                cur.putmulti([(seq_key(seq), record) for seq, record in batch], append=True)
        except lmdb.Error as exc:
            self.abort()
            raise LogUnavailable(str(exc)) from exc
        self._staged = (self._staged[0] or batch[0][0], batch[-1][0])
        return batch[-1][0]

    def commit(self, sync):
        txn, self._txn = self._txn, None
        if txn is None:
            return
        (first, last), self._staged = self._staged, (0, 0)
        try:
            txn.commit()
            if sync:
                self.env.sync(True)
        except lmdb.Error as exc:
            raise LogUnavailable(str(exc)) from exc
        self._first = self._first or first
        self._last = last

    def abort(self):
        if self._txn is not None:
            self._txn.abort()
            self._txn = None
        self._staged = (0, 0)

    def sync(self):
        try:
            self.env.sync(True)
        except lmdb.Error as exc:
            raise LogUnavailable(str(exc)) from exc

    def read(self, from_seq, to_seq=None):
        with self.env.begin(db=self.log, buffers=False) as txn, txn.cursor() as cur:
            if not cur.set_range(seq_key(from_seq)):
                return
            for key, record in cur:
                seq = int.from_bytes(key, "big")
                if to_seq is not None and seq > to_seq:
                    return
                yield seq, record

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
        return self._first

    @property
    def last_seq(self):
        return self._last

    def get_meta(self, name):
        with self.env.begin(db=self.meta) as txn:
            return txn.get(name.encode())

    def set_meta(self, name, value):
        with self.env.begin(write=True, db=self.meta) as txn:
            txn.put(name.encode(), value)
        self.env.sync(True)

    def close(self):
        self.abort()
        self.env.close()
