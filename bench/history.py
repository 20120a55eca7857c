"""The `history` part (issue 7): restore, reads as of a past event, and a key's history in a long
log. Every log is written offline through the engine's own write path (engine.store.Store staging
events with their key index entries, one flush per BATCH events), never through a server, which
would take many minutes to log 10M events; servers and tools then open it as they would any store.

1. restore: a log of 1,000,000 events (SETs over 100,000 keys, 1 in 20 each an HSET, RPUSH, ZADD
   or INCR), then `redwood restore --to-seq N` as a subprocess, from the log alone and after
   `redwood snapshot --to-seq N/2` (half the log replayed); its wall time (copying the history
   into the new directory included) and the replay alone in this process (recovery.restore),
   events/s of each. Issue 7's target: ≥ 1M events/s of replay.
2. read as of: a log of 100,000 events in which KEY is written every 10th (10,000 versions),
   with a snapshot halfway; a server on it answers `HISTORY ASOF SEQ n GET KEY` for random n in
   the key's history, cold (a new n each time: a view is built from the snapshot before n and
   the log) and warm (the same n again: the cached view), and `HISTORY KEY KEY COUNT 10 BEFORE b`
   for random b. Latencies as a client on this machine sees them (redis-py, one round trip).
3. audit by key: a log of --history-events events (10,000,000) in which KEY is written every
   1000th and SINGLE once, halfway; `HISTORY KEY` of both (first page, random BEFORE pages),
   what the key index costs on disk (its LMDB sub-databases next to the log's), and what one
   HISTORY LOG call, which scans LOG_SCAN_LIMIT (8,192) events, takes: a lookup without the index would scan
   the whole log. Issue 7's target: answered from an index, not a full scan.

--quick shrinks the three logs to 100,000, 20,000 and 1,000,000 events.
"""
import json
import random
import statistics
import subprocess
import sys
import time

import redis

import migrations
from backends import open_backend
from bench import report
from bench.servers import redwood
from engine import commands, events, recovery  # noqa: F401  (commands registers the handlers replay runs)
from engine.commands.history import LOG_SCAN_LIMIT
from engine.config import Config
from engine.keyspace import Keyspace
from engine.state import ServerState
from engine.store import Store
from tests.servers import ROOT

BATCH = 10_000                 # events per flush (one LMDB transaction) while writing a log
KEYS = 100_000                 # the SETs' keys
KEY, SINGLE = b"history:key", b"history:single"
ORIGIN = events.Origin("client", 1, "127.0.0.1:40000", "bench", "default").encode()
REPLAY_TARGET = 1_000_000      # events/s
SAMPLES = 1000                 # latencies measured per row (cold reads as of: a tenth)


def restore(args, workdir: str, subdir):
    count = 100_000 if args.quick else 1_000_000
    source = subdir(workdir, "history-restore")
    written = write_log(source, count, _mixed)
    rows = [_timed_restore(source, count, subdir(workdir, "history-restored"), "the log alone")]
    started = time.perf_counter()
    _cli("snapshot", "--dir", source, "--to-seq", str(count // 2))
    snapshot_s = time.perf_counter() - started
    rows.append(_timed_restore(source, count, subdir(workdir, "history-restored-half"),
                               f"a snapshot at {count // 2:,}"))
    print(f"\nRestore: `redwood restore --to-seq {count:,}` of a log of {count:,} events (SETs over "
          f"{KEYS:,} keys, 1 in 20 each an HSET, RPUSH, ZADD or INCR), written offline at "
          f"{written:,.0f} events/s; `redwood snapshot --to-seq {count // 2:,}` took {snapshot_s:.2f} s\n")
    print(report.table(["from", "events replayed", "keys", "restore wall s", "log events/s (wall)",
                        "replay alone s", "events/s (replay)"], rows))
    best = max(row[6] for row in rows)
    print(f"Target ≥ {REPLAY_TARGET:,} events/s of replay: {'met' if best >= REPLAY_TARGET else 'not met'} "
          f"(replay alone {best:,.0f} events/s at best; the wall time also copies the history and "
          "writes a snapshot at the restored event)", flush=True)


def _timed_restore(source: str, seq: int, out: str, base: str) -> tuple:
    """One row: `redwood restore --to-seq seq` as a subprocess, then the same replay in process."""
    started = time.perf_counter()
    done = json.loads(_cli("restore", "--dir", source, "--to-seq", str(seq), "--out", out, "--json"))
    wall = time.perf_counter() - started
    backend = open_backend("lmdb", source)
    try:
        state = ServerState(Config(), backend)
        started = time.perf_counter()
        _, replayed = recovery.restore(state, seq)
        alone = time.perf_counter() - started
        keys = sum(len(db.data) for db in state.keyspace.dbs)
    finally:
        backend.close()
    if done["seq"] != seq or done["keys"] != keys:
        raise RuntimeError(f"restore to {seq} reported {done}; replay in process found {keys} keys")
    return base, replayed, keys, wall, seq / wall, alone, replayed / alone


def read_as_of(args, workdir: str, subdir):
    count, every = (20_000 if args.quick else 100_000), 10
    path = subdir(workdir, "history-asof")
    write_log(path, count, _with_key(every))
    _cli("snapshot", "--dir", path, "--to-seq", str(count // 2))
    versions = count // every
    with redwood(path, "--appendfsync", "everysec") as server, \
            redis.Redis(port=server.port, socket_timeout=600) as client:
        cold, warm = [], []
        for n in random.sample(range(every, count + 1), SAMPLES // 10):
            expected = b"%d" % (n // every * every)       # KEY's value: the seq that wrote it
            cold.append(_timed(client, expected, "HISTORY", "ASOF", "SEQ", n, "GET", KEY))
            warm += [_timed(client, expected, "HISTORY", "ASOF", "SEQ", n, "GET", KEY) for _ in range(10)]
        pages = [_page(client, every, count, random.randint(every + 1, count)) for _ in range(SAMPLES)]
    rows = [("HISTORY ASOF SEQ n GET key, cold (view built)", len(cold), *_percentiles(cold)),
            ("HISTORY ASOF SEQ n GET key, warm (cached view)", len(warm), *_percentiles(warm)),
            ("HISTORY KEY key BEFORE b COUNT 10", len(pages), *_percentiles(pages))]
    print(f"\nRead as of: a key written {versions:,} times in a log of {count:,} events, a snapshot at "
          f"{count // 2:,}; n and b random in the key's history, so a view replays up to "
          f"{count // 2:,} events\n")
    print(report.table(["query", "samples", "p50 ms", "p99 ms"], rows))
    print("Target: issue 7 sets none for reads as of (a view is bounded to 1,000,000 events replayed)",
          flush=True)


def audit(args, workdir: str, subdir):
    count, every = args.history_events, 1000
    path = subdir(workdir, "history-audit")
    single_at = count // 2 // every * every + 1         # never one of KEY's
    written = write_log(path, count, _with_key(every, single_at))
    server = redwood(path, "--appendfsync", "everysec")
    started = time.perf_counter()
    server.start(timeout=3600)
    try:
        startup = time.perf_counter() - started
        with redis.Redis(port=server.port, socket_timeout=600) as client:
            first = [_page(client, every, count) for _ in range(SAMPLES // 5)]
            pages = [_page(client, every, count, random.randint(every + 1, count)) for _ in range(SAMPLES)]
            single = [_timed(client, None, "HISTORY", "KEY", SINGLE) for _ in range(SAMPLES // 5)]
            found = client.execute_command("HISTORY", "KEY", SINGLE)
            if [entry[0] for entry in found[1]] != [single_at]:
                raise RuntimeError(f"HISTORY KEY {SINGLE!r} answered {found}, not the event {single_at}")
            scans = [_timed(client, None, "HISTORY", "LOG", "MATCH", "nothing:*", "COUNT", 1) for _ in range(5)]
            log_bytes = client.info("persistence")["log_bytes"]
    finally:
        server.stop()
    usage = sub_databases(path)
    index = usage["keys"] + usage["keyseqs"]
    scanned = min(LOG_SCAN_LIMIT, count)
    rows = [(f"HISTORY KEY key COUNT 10 (first page; {count // every:,} events)", len(first), *_percentiles(first)),
            ("HISTORY KEY key BEFORE b COUNT 10", len(pages), *_percentiles(pages)),
            ("HISTORY KEY single (1 event)", len(single), *_percentiles(single)),
            (f"HISTORY LOG MATCH nothing:* ({scanned:,} events scanned)", len(scans),
             *_percentiles(scans))]
    print(f"\nAudit by key: a log of {count:,} events written offline at {written:,.0f} events/s; the "
          f"server started on it in {startup:.1f} s (replaying all of it)\n")
    print(report.table(["query", "samples", "p50 ms", "p99 ms"], rows))
    print()
    print(report.table(["events", "log bytes (INFO log_bytes)", "key index bytes (keys + keyseqs)",
                        "index bytes/event", "index / log", "directory bytes", "index / directory"],
                       [(count, log_bytes, index, index / count, index / usage["log"], usage["total"],
                         index / usage["total"])]))
    worst, scan = max(row[3] for row in rows[:3]), rows[3][2]
    print(f"Target: answered from the index, not a full scan: {'met' if worst < scan else 'not met'} "
          f"(HISTORY KEY's slowest p99 {worst:.2f} ms against {scan:.2f} ms to scan {scanned:,} events; "
          f"all {count:,} at that rate: ~{scan * count / scanned / 1000:.1f} s)", flush=True)


def write_log(path: str, count: int, argv_of) -> float:
    """A new LMDB store at path holding events 1..count, event i being argv_of(i), written as a
    server writes them (Store.append, flush per BATCH) ten to a millisecond up to now; returns
    the events written per second."""
    backend = open_backend("lmdb", path)
    try:
        migrations.migrate(backend, path)
        keyspace = Keyspace(16)
        store = Store(backend, keyspace, appendfsync="no")
        start_ms = time.time_ns() // 1_000_000 - count // 10
        started, step = time.perf_counter(), max(count // 10, 1)
        for i in range(1, count + 1):
            keyspace.now = start_ms + i // 10
            store.append(0, argv_of(i), ORIGIN)
            if i % BATCH == 0 or i == count:
                store.flush()
            if i % step == 0:
                rate = i / (time.perf_counter() - started)
                print(f"  writing {path}: {i:,} / {count:,} events, {rate:,.0f}/s", file=sys.stderr, flush=True)
        backend.sync()
        if backend.last_seq != count:
            raise RuntimeError(f"{path} holds {backend.last_seq} events, not {count}")
        return count / (time.perf_counter() - started)
    finally:
        backend.close()


def _mixed(i: int) -> list[bytes]:
    """Event i of the mix: a SET of one of KEYS keys (7919 is prime to KEYS: every key in turn),
    or 1 in 20 each an HSET, RPUSH, ZADD or INCR of one of 1000 keys of that type."""
    k = i * 7919 % KEYS
    kind = i % 20
    if kind == 1:
        return [b"HSET", b"hash:%d" % (k % 1000), b"f%d" % (i % 100), b"%d" % i]
    if kind == 2:
        return [b"RPUSH", b"list:%d" % (k % 1000), b"%d" % i]
    if kind == 3:
        return [b"ZADD", b"zset:%d" % (k % 1000), b"%d" % i, b"m%d" % (i % 1000)]
    if kind == 4:
        return [b"INCR", b"counter:%d" % (k % 1000)]
    return [b"SET", b"key:%d" % k, b"value:%d" % i]


def _with_key(every: int, single_at: int = 0):
    """The mix, with KEY set to i at every `every`-th event i, and SINGLE set once at single_at."""
    def argv_of(i: int) -> list[bytes]:
        if i == single_at:
            return [b"SET", SINGLE, b"once"]
        if i % every == 0:
            return [b"SET", KEY, b"%d" % i]
        return _mixed(i)
    return argv_of


def _page(client, every: int, last: int, before: int | None = None) -> float:
    """Seconds of one `HISTORY KEY KEY [BEFORE before] COUNT 10`, its entries checked: KEY's
    events are the multiples of `every` up to `last`."""
    extra = () if before is None else ("BEFORE", before)
    started = time.perf_counter()
    _, entries = client.execute_command("HISTORY", "KEY", KEY, *extra, "COUNT", 10)
    elapsed = time.perf_counter() - started
    top = (last if before is None else before - 1) // every * every
    expected = list(range(top, max(top - 10 * every, 0), -every))
    if [entry[0] for entry in entries] != expected:
        raise RuntimeError(f"HISTORY KEY BEFORE {before}: seqs {[e[0] for e in entries]}, not {expected}")
    return elapsed


def _timed(client, expected, *command) -> float:
    """Seconds of one command; its reply checked when `expected` is given."""
    started = time.perf_counter()
    reply = client.execute_command(*command)
    elapsed = time.perf_counter() - started
    if expected is not None and reply != expected:
        raise RuntimeError(f"{command} answered {reply!r}, not {expected!r}")
    return elapsed


def _percentiles(samples: list) -> tuple[float, float]:
    """(p50, p99) in ms."""
    return statistics.median(samples) * 1000, statistics.quantiles(samples, n=100)[98] * 1000


def sub_databases(path: str) -> dict:
    """Bytes (pages) of the LMDB store's log and key index sub-databases, and the directory's."""
    backend = open_backend("lmdb", path)
    try:
        with backend.env.begin() as txn:
            usage = {name: _pages(txn.stat(db)) for name, db in
                     (("log", backend.log), ("keys", backend.keys), ("keyseqs", backend.keyseqs))}
        return {**usage, "total": backend.disk_usage().total}
    finally:
        backend.close()


def _pages(stat: dict) -> int:
    return (stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]) * stat["psize"]


def _cli(*argv: str) -> str:
    """Run `redwood …` (python -m server.cli) to completion; its stdout."""
    done = subprocess.run([sys.executable, "-m", "server.cli", *argv], capture_output=True, text=True,
                          check=False, cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"redwood {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done.stdout
