"""Redwood side by side with real redis-server. Not a test: it measures and prints.

    make bench                                  # or: .venv/bin/python -m bench
    make bench BENCH_ARGS=--quick               # a smoke run in well under a minute
    .venv/bin/python -m bench --modes everysec --parts throughput --rounds 3
    .venv/bin/python -m bench --parts types,elements   # the data types only

What it measures, each server in its own temp dir on a free 127.0.0.1 port
(--parts picks any of them; the default is throughput,keys,snapshots,replication,history,scripting):

1. throughput: `redis-benchmark -c 50 -r 100000` running SET, GET, INCR, MSET
   (10 keys per command) and DEL, with `-P 1` and `-P 16`, once per fsync mode
   (Redis with `--appendonly yes --appendfsync MODE`, Redwood with
   `--appendfsync MODE`). Runs alternate Redis, Redwood, Redis, … so machine
   noise lands on both; with --rounds > 1 each cell is the median.
   types: the same for LPUSH, RPOP, LRANGE_100, SADD, SPOP, HSET, ZADD, ZPOPMIN
   and ZRANGE BYSCORE returning 100 elements, one redis-benchmark run each in
   that order, on data put in place first (the keys of pops topped up to more
   than the run pops, ranges over keys checked to return 100 elements; the
   table is followed by exactly what each test sends and finds).
   messaging: PUBLISH to 1 and to 50 subscribers (drained by a thread, and checked to be
   all still subscribed after the run), and MULTI + 5 SETs + EXEC from our own load
   generator (P1 only; see bench/messaging.py). Several parts: one table.
2. keys: memory per key: 1,000,000 `SET key:N abc` piped into a fresh server
   (Redis without persistence, Redwood with `--appendfsync no`); the growth of
   `INFO memory` `used_memory` divided by the key count. Redwood's used_memory is
   its allocator's count (exact under jemalloc), so the RSS growth is shown for both too.
   Then replay: that Redwood holds exactly those SETs in its log; it is
   restarted on that dir and `INFO persistence` gives loading_events,
   loading_seconds and loading_events_per_sec.
3. elements: memory per element: one hash, one set and one sorted set of
   1,000,000 members `element:000000000000` … (hash values `VXK`, zset scores
   the integers 0..999999 shuffled), each loaded into a fresh server as above
   by variadic HSET/SADD/ZADD of 100 members, 100 commands per round trip;
   used_memory growth (and RSS growth) per element.
4. snapshots: snapshot time and size against Redis's BGSAVE and RDB, start-up from snapshot
   + tail, and SET/GET on the SQLite backend next to LMDB (see bench/persistence.py).
5. replication: the primary's SET throughput with 0, 1 and 2 replicas (appendfsync everysec),
   replication lag p50/p99 meanwhile, full-resync time against Redis's (see bench/replication.py).
6. history: `redwood restore` of a 1M-event log, HISTORY ASOF latency on a key with 10k versions,
   HISTORY KEY over a log of --history-events events and the key index's size (see bench/history.py).
7. scripting: EVALSHA of a 3-command Lua script and EVAL of its body, appendfsync everysec, with
   the issue's target (EVALSHA P1 at least 0.5x Redis) checked (see bench/scripting.py).
"""
import argparse
import functools
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time

from bench import history, persistence, replication, report, scripting
from bench.datatypes import ELEMENT_KINDS, TYPE_TESTS, fill_elements, type_commands
from bench.messaging import messaging_commands
from bench.servers import Server, redis_server, redwood
from bench.workloads import fill_keys, string_commands

# Pipelined runs are this many times longer: at 100k requests Redis's -P 16 run lasts a few
# hundredths of a second, too short to measure on a shared machine.
PIPELINED = 10
PARTS = ("throughput", "types", "messaging", "keys", "elements", "snapshots", "replication", "history",
         "scripting")


def main(argv=None) -> int:
    args = _parse(argv)
    # `timeout` and CI send SIGTERM: unwind so every server is stopped by its PID.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="redwood-bench-")
    try:
        if {"throughput", "types", "messaging"} & set(args.parts):
            throughput(args, workdir)
        if "keys" in args.parts:
            memory_and_replay(args, workdir)
        if "elements" in args.parts:
            memory_per_element(args, workdir)
        if "snapshots" in args.parts:
            persistence.snapshots(args, workdir, _subdir)
            persistence.sqlite_throughput(args, workdir, _subdir)
        if "replication" in args.parts:
            replication.replicas(args, workdir, _subdir, PIPELINED)
            replication.full_resync(args, workdir, _subdir)
        if "history" in args.parts:
            history.restore(args, workdir, _subdir)
            history.read_as_of(args, workdir, _subdir)
            history.audit(args, workdir, _subdir)
        if "scripting" in args.parts:
            scripting.evalsha(args, workdir, _subdir, PIPELINED)
    except BaseException:
        print(f"\nbench: failed; server logs kept in {workdir}", file=sys.stderr)
        raise
    if args.keep:
        print(f"\ndata and logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the selected parts")
    p.add_argument("--requests", type=int, help=f"requests per test at P1, {PIPELINED}x that when pipelined "
                                                "(default 100000; 2000 with --quick)")
    p.add_argument("--keys", type=int, help="keys for memory and replay (default 1000000; 20000 with --quick)")
    p.add_argument("--elements", type=int, help="members per hash, set and zset for memory per element "
                                                "(default 1000000; 20000 with --quick)")
    p.add_argument("--history-events", type=int, help="events in the log of the audit-by-key test "
                                                      "(default 10000000; 1000000 with --quick)")
    p.add_argument("--modes", type=_list(str), default=["always", "everysec"], help="fsync modes")
    p.add_argument("--pipelines", type=_list(int), default=[1, 16], help="redis-benchmark -P values")
    p.add_argument("--clients", type=int, default=50, help="redis-benchmark -c")
    p.add_argument("--rounds", type=int, default=1, help="runs per server and cell; the median is shown")
    p.add_argument("--parts", type=_list(str), default=["throughput", "keys", "snapshots", "replication", "history", "scripting"],
                   help="comma-separated, of: throughput (string commands), types (list, set, hash "
                        "and zset commands), messaging (PUBLISH, MULTI/EXEC), keys (memory per key + replay), elements (memory per "
                        "hash, set and zset element), snapshots (BGSAVE, start-up from snapshot + tail, "
                        "SQLite vs LMDB), replication (SET with 0-2 replicas, lag, full resync), history "
                        "(restore, HISTORY ASOF and HISTORY KEY latency, key index size), scripting "
                        "(EVALSHA and EVAL of a 3-command script); "
                        "default throughput,keys,snapshots,replication,history,scripting")
    p.add_argument("--keep", action="store_true", help="keep the temp dir with data and logs")
    args = p.parse_args(argv)
    if unknown := set(args.parts) - set(PARTS):
        p.error(f"unknown --parts {','.join(sorted(unknown))}; choose from {','.join(PARTS)}")
    # Sizes default after parsing: they depend on --quick.
    args.requests = args.requests or (2000 if args.quick else 100_000)
    args.keys = args.keys or (20_000 if args.quick else 1_000_000)
    args.elements = args.elements or (20_000 if args.quick else 1_000_000)
    args.history_events = args.history_events or (1_000_000 if args.quick else 10_000_000)
    return args


def _list(kind):
    return lambda text: [kind(x) for x in text.split(",") if x]


def throughput(args, workdir: str):
    rows, notes = [], []
    for mode in args.modes:
        redis_dir, redwood_dir = (_subdir(workdir, f"{name}-{mode}") for name in ("redis", "redwood"))
        with redis_server(redis_dir, "--appendonly", "yes", "--appendfsync", mode) as rd, \
                redwood(redwood_dir, "--appendfsync", mode) as rw:
            for pipeline in args.pipelines:
                requests = args.requests * (PIPELINED if pipeline > 1 else 1)
                runs = {rd.name: [], rw.name: []}
                for _ in range(args.rounds):
                    for server in (rd, rw):
                        run, failed = _benchmark(server, args.parts, requests, pipeline, args.clients)
                        runs[server.name].append(run)
                        notes += [f"{server.name} {mode} P{pipeline} {note}" for note in failed]
                        _progress(f"{mode} P{pipeline} {server.name}", run)
                for command in dict.fromkeys(c for run in runs[rd.name] + runs[rw.name] for c in run):
                    rows.append((command, mode, f"P{pipeline}",
                                 _median(runs[rd.name], command), _median(runs[rw.name], command)))
    print(f"\nThroughput: redis-benchmark -c {args.clients} -r 100000, "
          f"-n {args.requests} at P1 and {PIPELINED * args.requests} when pipelined\n")
    print(report.throughput_table(rows))
    if "types" in args.parts:
        print("\nData-type tests, in this order on each server; n is the run's -n:")
        print(report.table(["test", "sends", "data"],
                           [(t.name, t.sends, t.preparation()) for t in TYPE_TESTS]))
    for note in notes:
        print(f"FAILED: {note}")
    sys.stdout.flush()


def _benchmark(server: Server, parts: list, requests: int, pipeline: int, clients: int) -> tuple:
    """(rps by test name, notes on tests the server failed) for the selected groups."""
    results, notes = {}, []
    try:
        if "throughput" in parts:
            results.update(string_commands(server.port, requests, pipeline, clients))
        if "types" in parts:
            run, notes = type_commands(server.port, requests, pipeline, clients)
            results.update(run)
        if "messaging" in parts:
            run, failed = messaging_commands(server.port, requests, pipeline, clients)
            results.update(run)
            notes += failed
    except Exception as exc:
        raise RuntimeError(f"{exc}\n{server.name} log:\n{server.log_tail()}") from None
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
    return results, notes


def _median(runs: list, command: str) -> float:
    values = [run[command] for run in runs if not math.isnan(run.get(command, math.nan))]
    return statistics.median(values) if values else math.nan


def _progress(label: str, result: dict):
    print(f"  {label}: " + ", ".join(f"{k.split()[0]} {v:,.0f}" for k, v in result.items()),
          file=sys.stderr, flush=True)


def memory_and_replay(args, workdir: str):
    results = {}
    with redis_server(_subdir(workdir, "redis-memory"), "--appendonly", "no") as rd:
        results[rd.name] = _memory_growth(rd, functools.partial(fill_keys, rd.port, args.keys), args.keys)
    rw = redwood(_subdir(workdir, "redwood-memory"), "--appendfsync", "no")
    with rw:
        results[rw.name] = _memory_growth(rw, functools.partial(fill_keys, rw.port, args.keys), args.keys)
        logged = rw.info("persistence")["log_last_seq"]
    print(f"\nMemory per key: {args.keys:,} x `SET key:N abc`, growth of INFO used_memory "
          "(Redwood's used_memory: its allocator's count, jemalloc's when it runs under it)\n")
    print(report.memory_table(results))
    redis, ours = results["Redis"], results["Redwood"]
    print(f"Redwood/Redis: {report.ratio(ours['per_item'], redis['per_item']):.2f} by used_memory, "
          f"{report.ratio(ours['rss_per_item'], redis['rss_per_item']):.2f} by RSS", flush=True)
    replay(rw, logged, args.keys, ours["before"])


def replay(rw: Server, logged: int, keys: int, idle_memory: int):
    """Restart the filled Redwood on its own log and report what loading took."""
    started = time.perf_counter()
    rw.start(timeout=3600)  # start() returns once replay is done: Redwood listens after loading
    try:
        wall = time.perf_counter() - started
        loading = rw.info("persistence")
        after = rw.info("memory")["used_memory"]
    finally:
        rw.stop()
    print(f"\nReplay: Redwood restarted on a log of {logged:,} events\n")
    print(report.table(["loading_events", "loading_seconds", "loading_events_per_sec",
                        "start-up wall s", "bytes/key after replay"],
                       [(loading["loading_events"], float(loading["loading_seconds"]),
                         loading["loading_events_per_sec"], wall, (after - idle_memory) / keys)]))
    if loading["loading_events"] != logged:
        print(f"WARNING: replayed {loading['loading_events']:,} events, the log held {logged:,}")


def memory_per_element(args, workdir: str):
    """One fresh server per type and side, so each growth is that one key's alone."""
    rows = []
    for kind in ELEMENT_KINDS:
        results = {}
        for start, options in ((redis_server, ("--appendonly", "no")), (redwood, ("--appendfsync", "no"))):
            server = start(_subdir(workdir, f"{start.__name__}-{kind}"), *options)
            with server:
                fill = functools.partial(fill_elements, server.port, kind, args.elements)
                results[server.name] = _memory_growth(server, fill, args.elements)
            _progress(f"{kind} {server.name}", {"bytes/element": results[server.name]["per_item"]})
        rows.append((kind, results["Redis"], results["Redwood"]))
    print(f"\nMemory per element: one key of {args.elements:,} members `element:000000000000` …, "
          "loaded by variadic HSET (values VXK) / SADD / ZADD (scores 0..n-1 shuffled);\n"
          "growth of INFO used_memory (Redwood's: its allocator's count) per element\n")
    print(report.element_memory_table(rows), flush=True)


def _memory_growth(server: Server, fill, count: int) -> dict:
    before = server.info("memory")
    started = time.perf_counter()
    fill()
    elapsed = time.perf_counter() - started
    time.sleep(1)  # Redis refreshes used_memory_rss in its cron, not on INFO
    after = server.info("memory")
    return {"before": before["used_memory"], "after": after["used_memory"],
            "per_item": (after["used_memory"] - before["used_memory"]) / count,
            "rss_per_item": (after["used_memory_rss"] - before["used_memory_rss"]) / count,
            "fill_rate": count / elapsed}


def _subdir(workdir: str, name: str) -> str:
    path = os.path.join(workdir, name)
    os.makedirs(path)
    return path


if __name__ == "__main__":
    sys.exit(main())
