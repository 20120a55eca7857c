"""The SQLite backend: one file, `<dir>/redwood.sqlite3`, in WAL mode, with the tables
log(seq, record), meta(name, value), snapshots(seq, ts, size, chunks, created),
snapshot_chunks(seq, n, data) and the key index: keyseqs(seq, digests), written with the
record, and keyindex(epoch, digest, seq), written behind: it holds the entries up to the seq
in meta `index_to` (backends.IndexTail).

Other processes may open the same file (WAL lets them read while the server writes):
the snapshot builder writes chunks and drops the log's head in short transactions,
and whoever finds the write lock taken waits for it (busy_timeout) instead of failing.
Reads fetch in batches of fresh statements, so no read transaction stays open between
them: the server's next BEGIN IMMEDIATE never meets a snapshot of its own that another
process's commit made stale.
"""
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from backends import (EPOCH_BITS, INDEX_CHUNK, IndexTail, batches, complete_backup, directory_size, epoch_seqs,
                      in_short_transactions)
from backends.base import DIGEST_BYTES, DiskUsage, LogUnavailable, SnapshotInfo

FILE = "redwood.sqlite3"
SCHEMA_VERSION = 1   # PRAGMA user_version: raised by changes older versions cannot read
BUSY_SECONDS = 5.0
RECORDS_PER_TXN = 1000   # a short hold of the write lock the server waits on
CHUNKS_PER_TXN = 16
READ_BATCH = 10000
WAL_LIMIT = 64 << 20
PAGE_CACHE_KB = 256
SCHEMA = (
    "CREATE TABLE log (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    ("CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, size INTEGER NOT NULL,"
     " chunks INTEGER NOT NULL, created INTEGER NOT NULL)"),
    ("CREATE TABLE snapshot_chunks (seq INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL,"
     " PRIMARY KEY (seq, n)) WITHOUT ROWID"),
)
INSERT_INDEX = "INSERT OR REPLACE INTO keyindex (epoch, digest, seq) VALUES (?, ?, ?)"
# Added since version 1, created on open; older versions never look at them.
ADDED = (
    "CREATE TABLE IF NOT EXISTS keyseqs (seq INTEGER PRIMARY KEY, digests BLOB NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS keyindex (epoch INTEGER NOT NULL, digest INTEGER NOT NULL,"
     " seq INTEGER NOT NULL, PRIMARY KEY (epoch, digest, seq)) WITHOUT ROWID"),
)


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: str):
        self.path = path
        self.file = os.path.join(path, FILE)
        try:
            os.makedirs(path, exist_ok=True)
            # Any thread may call in (the lock serialises them), as with LMDB.
            self.db = sqlite3.connect(self.file, timeout=BUSY_SECONDS, isolation_level=None,
                                      check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")   # see commit()
            # SQLite's page cache is malloc'd, so it counts in used_memory (maxmemory) where
            # LMDB's mapped pages do not; appends touch only the tree's right edge.
            self.db.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KB}")
            # The WAL holds whole snapshots between checkpoints; cut it back after them.
            self.db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            self._lock = threading.Lock()
            self._create_schema()
        except sqlite3.Error as exc:
            raise LogUnavailable(f"cannot open {self.file!r}: {exc}") from exc
        self._staged: list[tuple[int, bytes]] = []
        self._staged_index: list[tuple[int, bytes]] = []
        self._tail = None   # IndexTail, read from keyseqs when first needed
        self._last = None   # cached once this process commits: it is then the log's writer

    def _create_schema(self):
        with self._write():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in SCHEMA:
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            for statement in ADDED:
                self.db.execute(statement)
        if version > SCHEMA_VERSION:
            self.db.close()
            raise LogUnavailable(f"{self.file!r} has schema version {version}; this Redwood "
                                 f"knows version {SCHEMA_VERSION} at most")

    @contextmanager
    def _write(self):
        """One write transaction (committed on exit), its failures as LogUnavailable."""
        try:
            with self._lock:
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                    self.db.execute("COMMIT")
                finally:
                    if self.db.in_transaction:
                        self.db.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise LogUnavailable(str(exc)) from exc

    def _query(self, sql, args=()):
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    # -- the log -----------------------------------------------------------------------------
    def append(self, batch, index=()):
        """Staged in memory: the transaction is the commit, so it holds the write lock only
        that long."""
        self._staged.extend(batch)
        self._staged_index += index
        return batch[-1][0]

    def commit(self, sync):
        """A sync commit is a NORMAL one followed by sync(), which is what synchronous=FULL
        does (fsync the WAL after the commit) except that FULL holds the write lock during the
        fsync: committing back to back, the server then left the lock free for microseconds
        at a time, and another process's BEGIN IMMEDIATE, which polls for it, timed out."""
        batch, index = self._staged, self._staged_index
        self.abort()
        if not batch:
            return
        tail = self._index_tail()
        settle = len(tail) + len(index) >= INDEX_CHUNK
        with self._write() as db:
            db.executemany("INSERT INTO log (seq, record) VALUES (?, ?)", batch)
            db.executemany("INSERT INTO keyseqs (seq, digests) VALUES (?, ?)", index)
            if settle:
                self._settle(db, tail.entries + index)
        if settle:
            tail.entries = []
        else:
            tail.entries += index
        self._last = batch[-1][0]
        if sync:
            self.sync()

    def abort(self):
        self._staged, self._staged_index = [], []

    def sync(self):
        """Make the commits so far durable. With synchronous=NORMAL in WAL mode they are
        written to the -wal file and synced only at a checkpoint, which syncs the WAL before
        and the database after copying into it (and only then may the WAL start over): so an
        fsync of the -wal file is all they lack. It is a plain fsync, not a checkpoint through
        the connection, because the everysec tick calls it from a worker thread while the
        event loop goes on committing on the connection."""
        try:
            fd = os.open(self.file + "-wal", os.O_RDONLY)
        except FileNotFoundError:
            return   # no WAL: every commit is in the database file, synced by its checkpoint
        except OSError as exc:
            raise LogUnavailable(str(exc)) from exc
        try:
            os.fsync(fd)
        except OSError as exc:
            raise LogUnavailable(str(exc)) from exc
        finally:
            os.close(fd)

    def read(self, from_seq, to_seq=None):
        stop = self.last_seq if to_seq is None else to_seq
        while True:
            rows = self._query("SELECT seq, record FROM log WHERE seq BETWEEN ? AND ? ORDER BY seq LIMIT ?",
                               (from_seq, stop, READ_BATCH))
            yield from rows
            if len(rows) < READ_BATCH:
                return
            from_seq = rows[-1][0] + 1

    def scan(self, from_seq, to_seq=None):
        for seq, record in self.read(from_seq, to_seq):
            yield seq.to_bytes(8, "big"), record

    @property
    def first_seq(self):
        return self._query("SELECT min(seq) FROM log")[0][0] or 0

    @property
    def last_seq(self):
        if self._last is not None:
            return self._last
        return self._query("SELECT max(seq) FROM log")[0][0] or 0

    def truncate_before(self, seq):
        if seq > self.last_seq:
            raise ValueError(f"cannot truncate before {seq}: the log ends at {self.last_seq}")
        return self._delete_records("seq < ?", seq)

    def delete_records(self, from_seq):
        deleted = self._delete_records("seq >= ?", from_seq)
        self._last = None
        if not deleted:
            return 0
        with self._write() as db:       # the seqs come again: their entries are the tail's
            if self._index_to(db) >= from_seq:
                db.execute("UPDATE meta SET value = ? WHERE name = 'index_to'", (b"%d" % (from_seq - 1),))
        return deleted

    def _delete_records(self, where, seq):
        def step():
            with self._write() as db:
                seqs = db.execute(f"SELECT seq FROM log WHERE {where} ORDER BY seq LIMIT ?",
                                  (seq, RECORDS_PER_TXN)).fetchall()
                if seqs:
                    low, high = seqs[0][0], seqs[-1][0]
                    found = db.execute("SELECT seq, digests FROM keyseqs WHERE seq BETWEEN ? AND ?",
                                       (low, high)).fetchall()
                    db.executemany("DELETE FROM keyindex WHERE epoch = ? AND digest = ? AND seq = ?",
                                   _index_rows(found))
                    db.execute("DELETE FROM keyseqs WHERE seq BETWEEN ? AND ?", (low, high))
                    db.execute("DELETE FROM log WHERE seq BETWEEN ? AND ?", (low, high))
                return len(seqs)

        deleted = in_short_transactions(step, RECORDS_PER_TXN)
        if deleted:
            self.sync()
            self._tail = None
        return deleted

    def put_records(self, records):
        for batch in batches(records, RECORDS_PER_TXN):
            with self._write() as db:
                db.executemany("INSERT OR REPLACE INTO log (seq, record) VALUES (?, ?)", batch)
        self.sync()
        self._last = None

    # -- the key index -----------------------------------------------------------------------
    def _index_tail(self) -> IndexTail:
        if self._tail is None:
            with self._lock:
                self._tail = IndexTail(self._unsettled(self.db))
        return self._tail

    def _unsettled(self, db) -> list:
        return db.execute("SELECT seq, digests FROM keyseqs WHERE seq > ? ORDER BY seq",
                          (self._index_to(db),)).fetchall()

    @staticmethod
    def _index_to(db) -> int:
        row = db.execute("SELECT value FROM meta WHERE name = 'index_to'").fetchone()
        return int(row[0]) if row else 0

    def _settle(self, db, entries):
        """Put (seq, digests) entries that keyseqs holds in keyindex; `index_to` moves up to them."""
        first = db.execute("SELECT min(seq) FROM log").fetchone()[0]   # the snapshot builder may have dropped some
        db.executemany(INSERT_INDEX, _index_rows([(seq, found) for seq, found in entries if seq >= first]))
        db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('index_to', ?)",
                   (b"%d" % max(self._index_to(db), *(seq for seq, _ in entries)),))

    def drop_index(self):
        with self._write() as db:
            db.execute("DROP TABLE IF EXISTS keyidx")   # format 3's (digest, seq)
            db.execute("DELETE FROM keyindex")
            db.execute("DELETE FROM keyseqs")
            db.execute("DELETE FROM meta WHERE name = 'index_to'")
        self.sync()
        self._tail = None

    def key_seqs(self, digest, before, limit):
        return self._index_tail().key_seqs(digest, before, limit, self._indexed_seqs)

    def _indexed_seqs(self, digest, before, limit):
        def probe(epoch, before, limit):
            return [seq for (seq,) in self.db.execute(
                "SELECT seq FROM keyindex WHERE epoch = ? AND digest = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                (epoch, signed, before, limit))]

        signed = _signed(digest)
        with self._lock:
            first, last = self.db.execute("SELECT min(seq), max(seq) FROM log").fetchone()
            return epoch_seqs(probe, first, last, before, limit) if last is not None else []

    def index_items(self, from_seq, to_seq):
        return self._query("SELECT seq, digests FROM keyseqs WHERE seq BETWEEN ? AND ? ORDER BY seq",
                           (from_seq, to_seq))

    def put_index(self, entries):
        """The tail first, so that `index_to` can move past what these add."""
        with self._write() as db:
            if tail := self._unsettled(db):
                self._settle(db, tail)
        for batch in batches(entries, RECORDS_PER_TXN):
            with self._write() as db:
                db.executemany("INSERT OR REPLACE INTO keyseqs (seq, digests) VALUES (?, ?)", batch)
                self._settle(db, batch)
        self.sync()
        self._tail = None

    # -- snapshots ---------------------------------------------------------------------------
    def write_snapshot(self, seq, ts, chunks):
        self.delete_snapshot(seq)   # replaced; and a killed writer's leftovers go
        size = n = 0
        for chunk in chunks:
            with self._write() as db:
                db.execute("INSERT INTO snapshot_chunks (seq, n, data) VALUES (?, ?, ?)", (seq, n, chunk))
            size += len(chunk)
            n += 1
        self.sync()
        info = SnapshotInfo(seq, ts, size, n, int(time.time() * 1000))
        with self._write() as db:
            db.execute("INSERT INTO snapshots (seq, ts, size, chunks, created) VALUES (?, ?, ?, ?, ?)", info)
        self.sync()
        return info

    def snapshots(self):
        return [SnapshotInfo(*row) for row in
                self._query("SELECT seq, ts, size, chunks, created FROM snapshots ORDER BY seq")]

    def read_snapshot(self, seq):
        """Chunk by chunk, each its own statement (a snapshot can be large; see the module's
        docstring); a snapshot at a seq is a function of the log, so a replacement meanwhile
        has the same chunks."""
        found = self._query("SELECT chunks FROM snapshots WHERE seq = ?", (seq,))
        if not found:
            raise KeyError(seq)
        for n in range(found[0][0]):
            rows = self._query("SELECT data FROM snapshot_chunks WHERE seq = ? AND n = ?", (seq, n))
            if not rows:
                raise KeyError(seq)   # deleted while being read
            yield rows[0][0]

    def delete_snapshot(self, seq):
        """Also drops the chunks of any seq without a snapshot (a killed writer's leftovers);
        only one process writes snapshots."""
        with self._write() as db:
            deleted = db.execute("DELETE FROM snapshots WHERE seq = ?", (seq,)).rowcount
        def step():
            with self._write() as db:
                return db.execute(
                    "DELETE FROM snapshot_chunks WHERE (seq, n) IN (SELECT seq, n FROM snapshot_chunks"
                    " WHERE seq NOT IN (SELECT seq FROM snapshots) LIMIT ?)", (CHUNKS_PER_TXN,)).rowcount

        deleted += in_short_transactions(step, CHUNKS_PER_TXN)
        if deleted:
            self.sync()

    # -- metadata and the directory ----------------------------------------------------------
    def get_meta(self, name):
        rows = self._query("SELECT value FROM meta WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_meta(self, name, value):
        with self._write() as db:
            db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))
        self.sync()

    def meta_items(self):
        return dict(self._query("SELECT name, value FROM meta"))

    def disk_usage(self):
        """The log's share is an estimate: the pages in use less the snapshots' bytes (an
        exact count reads every page)."""
        [(pages,)], [(free,)], [(page_size,)] = (
            self._query(f"PRAGMA {name}") for name in ("page_count", "freelist_count", "page_size"))
        snapshots = sum(info.size for info in self.snapshots())
        return DiskUsage(max(0, (pages - free) * page_size - snapshots), snapshots, directory_size(self.path))

    def backup(self, dest):
        """With sqlite3's online backup API, from a connection of its own: a reader in WAL
        mode, so the server's commits go on meanwhile."""
        with complete_backup(dest) as partial:
            os.makedirs(partial)
            source = sqlite3.connect(self.file)
            target = sqlite3.connect(os.path.join(partial, FILE))
            try:
                source.backup(target)
            except sqlite3.Error as exc:
                raise LogUnavailable(f"cannot back up into {dest!r}: {exc}") from exc
            finally:
                target.close()
                source.close()

    def close(self):
        self.abort()
        self.db.close()


def _signed(digest: bytes) -> int:
    """A digest as SQLite's INTEGER (signed 64-bit)."""
    return int.from_bytes(digest, "big", signed=True)


def _index_rows(index) -> list[tuple[int, int, int]]:
    """keyindex rows (epoch, digest, seq) of (seq, digests) entries, in its order."""
    return sorted((seq >> EPOCH_BITS, _signed(found[i:i + DIGEST_BYTES]), seq)
                  for seq, found in index for i in range(0, len(found), DIGEST_BYTES))
