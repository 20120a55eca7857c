"""Durable logs and snapshot stores behind one contract (`backends.base.Backend`)."""
import bisect
import contextlib
import fcntl
import itertools
import os
import shutil

from backends.base import DIGEST_BYTES, LogUnavailable

KINDS = ("lmdb", "sqlite", "memory")
INDEX_CHUNK = 8192      # key index entries moved from a durable backend's tail at once (IndexTail)
EPOCH_BITS = 16         # the by-digest index is kept by epoch: seq >> EPOCH_BITS (IndexTail)
_FILES = {"log.lmdb": "lmdb", "redwood.sqlite3": "sqlite"}   # what each durable kind creates


def open_backend(kind: str, path: str):
    """The backend named `kind` (lmdb, sqlite, memory) over the data directory `path`; a
    directory that holds the other durable kind is refused (opening it would start an empty
    log beside the real one)."""
    if kind != "memory" and (found := detect_backend(path)) not in (None, kind):
        raise LogUnavailable(f"{path!r} holds a {found} store, not {kind} (see `redwood convert`)")
    if kind == "lmdb":
        from backends.lmdb import LmdbBackend
        return LmdbBackend(path)
    if kind == "sqlite":
        from backends.sqlite import SqliteBackend
        return SqliteBackend(path)
    if kind == "memory":
        from backends.memory import MemoryBackend
        return MemoryBackend(path)
    raise ValueError(f"unknown backend {kind!r} (known: {', '.join(KINDS)})")


def detect_backend(path: str) -> str | None:
    """The kind of store the data directory `path` holds, from its files; None when it holds
    none (missing or empty)."""
    for name, kind in _FILES.items():
        if os.path.exists(os.path.join(path, name)):
            return kind
    return None


def batches(items, size: int):
    """Lists of up to `size` consecutive items (the tools' writes, one transaction each)."""
    items = iter(items)
    while batch := list(itertools.islice(items, size)):
        yield batch


def in_short_transactions(step, size: int) -> int:
    """Run step(), one transaction that handles at most `size` records and says how many,
    until it handles fewer; the total (the tools' deletes: the server waits for none long)."""
    total = 0
    while True:
        n = step()
        total += n
        if n < size:
            return total


class IndexTail:
    """The key index entries (seq, digests) committed with their records but not yet in the
    backend's by-digest index, oldest first: those after the seq its meta `index_to` names,
    read from the store when first needed.

    A durable backend's by-digest index is ordered by (epoch, digest, seq), the epoch being
    the seq's top bits, and written behind, INDEX_CHUNK entries at a time in that order: a
    chunk lands in the newest epoch's part of the tree, a few hundred pages, and rewrites each
    of them once. Entries put as they came rewrote a page of the whole tree (a random one:
    digests are) for nearly every event, which halved the write throughput. Reading a key's
    seqs looks in each epoch, newest first (epoch_seqs)."""

    def __init__(self, entries):
        self.entries = list(entries)

    def __len__(self):
        return len(self.entries)

    def key_seqs(self, digest: bytes, before: int, limit: int, indexed) -> list[int]:
        """Backend.key_seqs over the tail, then over the by-digest index: indexed(digest, before,
        limit). The tail holds the newest entries, so the index is read below what it found."""
        entries, found = self.entries, []
        for i in range(bisect.bisect_left(entries, (before,)) - 1, -1, -1):
            seq, digests = entries[i]
            if digests == digest or len(digests) > DIGEST_BYTES and _holds(digests, digest):
                found.append(seq)
                if len(found) == limit:
                    return found
        return found + indexed(digest, found[-1] if found else before, limit - len(found))


def epoch_seqs(probe, first: int, last: int, before: int, limit: int) -> list[int]:
    """The seqs below `before`, newest first, at most `limit`, of a log holding first..last:
    probe(epoch, before, limit) answers within one epoch, newest epoch first."""
    found = []
    for epoch in range(min(before - 1, last) >> EPOCH_BITS, (first >> EPOCH_BITS) - 1, -1):
        found += probe(epoch, before, limit - len(found))
        if len(found) >= limit:
            break
    return found


def _holds(digests: bytes, digest: bytes) -> bool:
    return any(digests[i:i + DIGEST_BYTES] == digest for i in range(0, len(digests), DIGEST_BYTES))


def directory_size(path: str) -> int:
    """Bytes of the files under `path`."""
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _dirs, files in os.walk(path) for name in files)


@contextlib.contextmanager
def complete_backup(dest: str):
    """Write a backup into `<dest>.partial`, then sync every file and directory of it and
    rename it to `dest`: after a crash a backup is either whole or visibly partial."""
    partial = dest + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(os.path.dirname(partial), exist_ok=True)
    yield partial
    for root, _dirs, files in os.walk(partial, topdown=False):
        for path in [os.path.join(root, name) for name in files] + [root]:
            _fsync(path)
    os.rename(partial, dest)
    _fsync(os.path.dirname(dest))


def _fsync(path: str):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def snapshot_writer(path: str):
    """Held by the one process that may write snapshots and drop the log's head of the data
    directory `path` (a builder deletes the chunks of snapshots it does not know, which would
    be another writer's); a second one is refused (BlockingIOError) instead of waiting."""
    with open(os.path.join(path, "snapshot.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
