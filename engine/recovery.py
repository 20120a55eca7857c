"""The state as of a seq, snapshots and retention.

The state after event N is the newest usable snapshot at or before N plus the log's events
after it, replayed. Start-up, DEBUG RELOAD and the snapshot builder all take that one path;
the builder (`redwood snapshot`, run by the server as a separate process) then writes the
state it rebuilt as the snapshot at N, and drops what the retention policy no longer needs:
the log before the oldest snapshot the retention window still needs, and the snapshots
before that one or beyond `snapshot-retention`.
"""
import logging
import time
from typing import NamedTuple

from engine import snapshot
from engine.events import HEADER
from engine.executor import replay

log = logging.getLogger("redwood.recovery")


class Unrecoverable(Exception):
    """No usable snapshot covers the log's dropped head: the state cannot be rebuilt."""


def restore(state, to_seq: int | None = None, progress=None) -> tuple[int, int]:
    """Rebuild state's keyspace as of event to_seq (the last one when None) from the newest
    usable snapshot and the log after it; returns (the snapshot's seq or 0, events replayed).
    A snapshot that fails its checksum is skipped for the one before it, with a warning."""
    backend, keyspace = state.backend, state.keyspace
    keyspace.clear()
    base = base_ts = 0
    last = backend.last_seq
    for info in reversed(backend.snapshots()):
        if info.seq > (last if to_seq is None else min(to_seq, last)):
            continue
        try:
            base, base_ts = snapshot.decode(keyspace, backend.read_snapshot(info.seq))
            break
        except (snapshot.CorruptSnapshot, KeyError) as exc:     # KeyError: deleted while read
            log.warning("the snapshot at event %d is unusable (%s); using the one before it", info.seq, exc)
            keyspace.clear()
    first = backend.first_seq
    if first > base + 1:
        raise Unrecoverable(f"the log starts at event {first} and no usable snapshot holds the "
                            f"events before it")
    state.store.last_ts = max(state.store.last_ts, base_ts)
    return base, replay(state, base + 1, to_seq, progress=progress)


def build_snapshot(state, to_seq: int):
    """Write the snapshot as of event to_seq (the builder process's job); its SnapshotInfo."""
    base, _ = restore(state, to_seq)
    backend = state.backend
    if base == to_seq:
        existing = [info for info in backend.snapshots() if info.seq == to_seq]
        if existing:
            return existing[0]
    ts = state.store.last_ts if to_seq else 0
    return backend.write_snapshot(to_seq, ts, snapshot.encode(state.keyspace, to_seq, ts))


# -- retention -----------------------------------------------------------------------------
class Retention(NamedTuple):
    age_ms: int | None = None      # keep every instant of this last stretch of time restorable
    size: int | None = None        # ... and of this many bytes of log (both: the shorter window)
    snapshots: int = 3             # snapshots kept besides the one the window starts from


def retention_of(config) -> Retention:
    age, size = config["log-retention"]
    return Retention(age, size, config["snapshot-retention"])


def window_start(backend, policy: Retention, now_ms: int) -> int | None:
    """The first event whose state must stay restorable, None when the whole log is kept."""
    first, last = backend.first_seq, backend.last_seq
    starts = []
    if policy.age_ms is not None:
        starts.append(seq_at(backend, now_ms - policy.age_ms))
    if policy.size is not None and last:
        per_record = max(backend.disk_usage().log // (last - first + 1), 1)
        starts.append(last - policy.size // per_record)
    return max(starts) if starts else None


def compact(backend, policy: Retention, now_ms: int | None = None) -> tuple[int, list[int]]:
    """Drop the log before the snapshot the retention window starts from, and the snapshots
    nobody needs; returns (events dropped, seqs of the snapshots deleted)."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    first = backend.first_seq
    usable = [info for info in backend.snapshots() if info.seq + 1 >= first]
    start = window_start(backend, policy, now_ms)
    anchor = None
    if start is not None:
        before = [info for info in usable if info.seq <= start]
        anchor = before[-1] if before else None
    elif first > 1 and usable:
        anchor = usable[0]             # the head went before: the oldest usable snapshot stays
    dropped = 0
    if start is not None and anchor is not None and anchor.seq > first:
        dropped = backend.truncate_before(anchor.seq)
    keep = {info.seq for info in usable[-policy.snapshots:]} if policy.snapshots else set()
    if anchor is not None:
        keep.add(anchor.seq)
    deleted = []
    for info in backend.snapshots():
        if info.seq not in keep and (anchor is None or info.seq != anchor.seq):
            backend.delete_snapshot(info.seq)
            deleted.append(info.seq)
    if dropped or deleted:
        log.info("retention: dropped %d events and %d snapshots", dropped, len(deleted))
    return dropped, deleted


def horizon(backend) -> tuple[int, int]:
    """The oldest restorable state, as (seq, ts): the log's start when it is whole, else the
    oldest snapshot it can be replayed from; (0, 0) for an empty store."""
    first = backend.first_seq
    if first <= 1:
        return 0, 0
    for info in backend.snapshots():
        if info.seq + 1 >= first:
            return info.seq, info.ts
    return first, event_ts(backend, first)


def event_ts(backend, seq: int) -> int:
    for _, record in backend.read(seq, seq):
        return HEADER.unpack_from(record)[1]
    return 0


def seq_at(backend, ts: int) -> int:
    """The last seq whose event time is <= ts (first_seq - 1 if none): event times never go
    backwards, so a binary search over the log reads O(log n) records."""
    low, high = backend.first_seq, backend.last_seq
    found = low - 1
    while low and low <= high:
        middle = (low + high) // 2
        if event_ts(backend, middle) <= ts:
            found, low = middle, middle + 1
        else:
            high = middle - 1
    return max(found, 0)
