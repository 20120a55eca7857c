"""The in-memory reference backend: the contract with nothing durable, for fast unit tests."""
import copy
import time

from backends.base import DIGEST_BYTES, DiskUsage, LogUnavailable, SnapshotInfo

_backups: dict[str, "MemoryBackend"] = {}   # backup() destinations, for this process's lifetime


class MemoryBackend:
    kind = "memory"

    def __init__(self, path: str = ""):
        self.log: dict[int, bytes] = {}
        self.meta: dict[str, bytes] = {}
        self.snaps: dict[int, SnapshotInfo] = {}
        self.chunks: dict[tuple[int, int], bytes] = {}   # (seq, n) -> chunk, as the durable backends store them
        self.index: dict[int, bytes] = {}                # seq -> digests: read by scanning (tests only)
        self.staged: list[tuple[int, bytes]] = []
        self.staged_index: list[tuple[int, bytes]] = []
        self.fail_next_commit = False   # lets tests exercise the failure path
        if path in _backups:
            self.__dict__.update(copy.deepcopy(_backups[path].__dict__))

    # -- the log -----------------------------------------------------------------------------
    def append(self, batch, index=()):
        self.staged.extend(batch)
        self.staged_index.extend(index)
        return batch[-1][0]

    def commit(self, sync):
        staged, index = self.staged, self.staged_index
        self.abort()
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise LogUnavailable("simulated write failure")
        self.log.update(staged)
        self.index.update(index)

    def abort(self):
        self.staged, self.staged_index = [], []

    def sync(self):
        pass

    def read(self, from_seq, to_seq=None):
        last = self.last_seq if to_seq is None else to_seq
        for seq in sorted(seq for seq in self.log if from_seq <= seq <= last):
            yield seq, self.log[seq]

    def scan(self, from_seq, to_seq=None):
        for seq, record in self.read(from_seq, to_seq):
            yield seq.to_bytes(8, "big"), record

    @property
    def first_seq(self):
        return min(self.log) if self.log else 0

    @property
    def last_seq(self):
        return max(self.log) if self.log else 0

    def truncate_before(self, seq):
        if seq > self.last_seq:
            raise ValueError(f"cannot truncate before {seq}: the log ends at {self.last_seq}")
        return self._delete([s for s in self.log if s < seq])

    def put_records(self, records):
        self.log.update(records)

    def delete_records(self, from_seq):
        return self._delete([s for s in self.log if s >= from_seq])

    def _delete(self, seqs):
        for seq in seqs:
            del self.log[seq]
            self.index.pop(seq, None)
        return len(seqs)

    # -- the key index -----------------------------------------------------------------------
    def key_seqs(self, digest, before, limit):
        return sorted((seq for seq, found in self.index.items() if seq < before and digest in
                       [found[i:i + DIGEST_BYTES] for i in range(0, len(found), DIGEST_BYTES)]),
                      reverse=True)[:limit]

    def index_items(self, from_seq, to_seq):
        return sorted((seq, found) for seq, found in self.index.items() if from_seq <= seq <= to_seq)

    def put_index(self, entries):
        self.index.update(entries)

    def drop_index(self):
        self.index.clear()

    # -- snapshots ---------------------------------------------------------------------------
    def write_snapshot(self, seq, ts, chunks):
        self.delete_snapshot(seq)
        size = n = 0
        for chunk in chunks:
            self.chunks[seq, n] = bytes(chunk)
            size += len(chunk)
            n += 1
        self.snaps[seq] = info = SnapshotInfo(seq, ts, size, n, int(time.time() * 1000))
        return info

    def snapshots(self):
        return sorted(self.snaps.values())

    def read_snapshot(self, seq):
        for n in range(self.snaps[seq].chunks):
            yield self.chunks[seq, n]

    def delete_snapshot(self, seq):
        """Also drops the chunks left by a write_snapshot that failed midway."""
        self.snaps.pop(seq, None)
        for key in [key for key in self.chunks if key[0] not in self.snaps]:
            del self.chunks[key]

    # -- metadata and the directory ----------------------------------------------------------
    def get_meta(self, name):
        return self.meta.get(name)

    def set_meta(self, name, value):
        self.meta[name] = value

    def meta_items(self):
        return dict(self.meta)

    def disk_usage(self):
        log = sum(map(len, self.log.values()))
        snapshots = sum(info.size for info in self.snaps.values())
        return DiskUsage(log, snapshots, log + snapshots + sum(map(len, self.meta.values())))

    def backup(self, dest):
        _backups[dest] = copy.deepcopy(self)

    def close(self):
        pass
