"""`redwood check` and `redwood info`: offline looks at a data directory no server runs on.

check reads the log once, record by record (checksum, decoding, vocabulary, dense seqs,
the record's entries in the key index), then decodes every snapshot and replays the log from the oldest usable one, comparing
the replayed state with each newer snapshot at its seq. Only the keyspace is held in
memory, plus the snapshot being compared. `--truncate` cuts a damaged log at its first bad
record, like redis-check-aof --fix, and says what it drops; `--reindex` writes the key
index's entries of every record again.
"""
import struct
from typing import NamedTuple

import migrations
from engine import commands, events, history, keyindex, recovery, snapshot  # noqa: F401  (commands registers the handlers replay runs)
from engine.commands.server import human_bytes
from engine.config import Config
from engine.executor import replay
from engine.keyspace import Keyspace
from engine.state import ServerState
from server.tools import ToolError, open_store, refusals


class Damage(NamedTuple):
    seq: int        # the first event the log cannot vouch for: from here on it is cut
    reason: str


class LogScan(NamedTuple):
    first: int
    last: int
    records: int            # how many were read
    damage: Damage | None
    valid_after: int        # valid records past damage.seq, which a cut there drops too
    unindexed: int          # valid records whose key index entries are missing
    first_unindexed: int


# -- check ---------------------------------------------------------------------------------
@refusals
def check(args):
    backend = open_store(args.dir, args.backend)
    try:
        migrations.format_version(backend, args.dir)     # refuses a format newer than ours
        snapshots = backend.snapshots()
        scan = scan_log(backend, snapshots)
        end = scan.damage.seq - 1 if scan.damage else scan.last
        checked = [info.seq for info in snapshots if info.seq <= end]
        problems = verify_snapshots(ServerState(Config(), backend), snapshots, end)
        span = f" (events {scan.first}..{scan.last})" if scan.records else ""
        print(f"events_checked: {scan.records}{span}")
        print(f"snapshots_checked: {len(checked)}{_at(checked)}")
        if scan.unindexed and args.reindex:
            backend.put_index(keyindex.entries(backend.read(scan.first or 1)))
            print(f"reindexed: the key index's entries of events {scan.first}..{scan.last}")
        elif scan.unindexed:
            problems.append(f"the key index lacks the entries of {scan.unindexed} events (the first: "
                            f"{scan.first_unindexed}): `redwood check --dir {args.dir} --reindex` writes them")
        for problem in problems:
            print(f"problem: {problem}")
        if scan.damage is None:
            print("status: ok" if not problems else "status: damaged")
            return 1 if problems else 0
        print(f"first_bad_seq: {scan.damage.seq}")
        print(f"first_bad_reason: {scan.damage.reason}")
        cut = describe_cut(scan, [info.seq for info in snapshots if info.seq > end])
        if not args.truncate:
            print(f"status: damaged; `redwood check --dir {args.dir} --truncate` would drop {cut}")
            return 1
        truncate(backend, scan, snapshots)
        print(f"truncated: dropped {cut}")
        print(f"status: truncated, the log now ends at event {backend.last_seq}"
              + ("; other problems remain" if problems else ""))
        return 1 if problems else 0
    finally:
        backend.close()


def scan_log(backend, snapshots) -> LogScan:
    """Every record once, streaming; the first damage found and how many valid records follow
    it. A snapshot past the log's end means the log lost its tail."""
    first, last = backend.first_seq, backend.last_seq
    expected, records, damage, valid_after, unindexed, first_unindexed = first, 0, None, 0, 0, 0
    for seq, record in backend.read(first or 1):
        records += 1
        problem = record_problem(seq, record)
        if problem is None and not indexed(backend, seq, record):
            unindexed += 1
            first_unindexed = first_unindexed or seq
        if damage is None:
            if seq == expected and problem is None:
                expected += 1
                continue
            damage = Damage(expected, problem if seq == expected else f"events {expected}..{seq - 1} are missing")
        if seq > damage.seq and problem is None:
            valid_after += 1
    beyond = [info.seq for info in snapshots if info.seq > last]
    if damage is None and beyond:
        damage = Damage(last + 1, f"the log ends at event {last} but a snapshot was taken at event "
                                  f"{beyond[-1]}: the events after {last} are missing")
    return LogScan(first, last, records, damage, valid_after, unindexed, first_unindexed)


def indexed(backend, seq: int, record: bytes) -> bool:
    """Whether the key index holds every entry of the record at seq."""
    return all(backend.key_seqs(digest, seq + 1, 1) == [seq]
               for digest in keyindex.split(keyindex.of_record(seq, record)))


def record_problem(seq: int, record: bytes) -> str | None:
    """Why the record at seq cannot be replayed, or None."""
    try:
        event = events.decode(seq, record)
    except events.CorruptRecord as exc:
        return str(exc)
    except (struct.error, IndexError, ValueError) as exc:   # shorter than its header, a bad origin
        return f"malformed event {seq} ({exc})"
    if not event.argv or event.argv[0].lower() not in events.VOCABULARY:
        return f"event {seq} logs {event.argv[:1]!r}, which is not in the log's vocabulary"
    return None


def verify_snapshots(state, snapshots, end: int) -> list[str]:
    """Decode each snapshot up to event `end`; replay the log from the oldest usable one (from
    the start when the log is whole) and compare the state at each newer one's seq with it."""
    backend, keyspace = state.backend, state.keyspace
    first = backend.first_seq
    at = 0 if first <= 1 else None       # the seq the replayed state is at; None: no base yet
    problems = []
    for info in snapshots:
        if info.seq > end:
            break
        base = at is None and info.seq + 1 >= first
        target = keyspace if base else Keyspace(len(keyspace.dbs))
        try:
            seq, _ = snapshot.decode(target, backend.read_snapshot(info.seq))
            if seq != info.seq:
                raise snapshot.CorruptSnapshot(f"its header says event {seq}")
        except snapshot.CorruptSnapshot as exc:
            problems.append(f"snapshot at {info.seq}: {exc}")
            if base:
                keyspace.clear()
            continue
        if base:
            at = info.seq
        elif at is not None:
            replay(state, at + 1, info.seq)
            at = info.seq
            if snapshot.fingerprint(keyspace) != snapshot.fingerprint(target):
                problems.append(f"snapshot at {info.seq}: differs from the log replayed to event {info.seq}")
    if at is None:
        problems.append(f"the log starts at event {first} and no usable snapshot holds the events before it")
    return problems


def describe_cut(scan: LogScan, snapshots: list[int]) -> str:
    """What cutting the log at its first bad record drops, in words."""
    parts = []
    if scan.last >= scan.damage.seq:
        parts.append(f"events {scan.damage.seq}..{scan.last} ({scan.valid_after} valid records after "
                     f"the first bad one; acknowledged writes in that range are lost)")
    if snapshots:
        parts.append(f"the snapshots{_at(snapshots)}")
    return " and ".join(parts)


def truncate(backend, scan: LogScan, snapshots):
    """Drop the snapshots at or past the cut, then the records: a crash between the two
    leaves a log the next check still finds torn, and never a snapshot of dropped events
    beside new events that reuse their seqs."""
    if scan.first > 1 and scan.damage.seq <= scan.first:
        raise ToolError(f"the first bad record is the log's first ({scan.first}, its head compacted "
                        "away): cutting there would empty the log; restore the directory from a copy")
    for info in snapshots:
        if info.seq >= scan.damage.seq:
            backend.delete_snapshot(info.seq)
    backend.delete_records(scan.damage.seq)


def _at(seqs: list[int]) -> str:
    return f" (at {', '.join(map(str, seqs))})" if seqs else ""


# -- info ----------------------------------------------------------------------------------
@refusals
def info(args):
    backend = open_store(args.dir, args.backend)
    try:
        for name, value in info_fields(backend):
            print(f"{name}: {value}")
        print(f"{'seq':>12}  {'time':24}  {'size':>10}  {'bytes':>12}  chunks")
        for snap in backend.snapshots():
            print(f"{snap.seq:>12}  {iso_time(snap.ts):24}  {human_bytes(snap.size):>10}  {snap.size:>12}  {snap.chunks}")
    finally:
        backend.close()


def info_fields(backend) -> list[tuple[str, object]]:
    """The store's description, under INFO persistence's names where it has them."""
    meta = backend.meta_items()
    first, last = backend.first_seq, backend.last_seq
    first_ts, last_ts = recovery.event_ts(backend, first), recovery.event_ts(backend, last)
    usage = backend.disk_usage()
    horizon_seq, horizon_ts = recovery.horizon(backend)
    if not horizon_seq:
        horizon_ts = first_ts       # a whole log: any instant since its first event
    fields = [("backend", backend.kind)]
    fields += [(name, meta[name].decode()) for name in ("format_version", "log_format", "snapshot_format", "schema")
               if name in meta]
    fields += [("log_id", meta.get("log_id", b"").decode()),
               ("log_first_seq", first), ("log_first_time", iso_time(first_ts)),
               ("log_last_seq", last), ("log_last_time", iso_time(last_ts)),
               ("log_events", last - first + 1 if last else 0)]
    for name, size in (("log_bytes", usage.log), ("snapshot_bytes", usage.snapshots), ("disk_bytes", usage.total)):
        fields += [(name, size), (f"{name}_human", human_bytes(size))]
    fields += [("snapshot_count", len(backend.snapshots())),
               ("retention_horizon_seq", horizon_seq), ("retention_horizon_time", iso_time(horizon_ts))]
    return fields


def iso_time(ms: int) -> str:
    """ISO 8601 UTC to the millisecond; `-` for none."""
    return history.iso_time(ms) if ms else "-"
