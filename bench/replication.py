"""The `replication` part: what replicas cost the primary, how far they trail it, and how long a
full resync takes; Redis side by side. Every server runs with `appendfsync everysec` (Redis:
`--appendonly yes --appendfsync everysec`), primaries and replicas alike.

1. The primary's SET throughput (redis-benchmark -t set, each -P of --pipelines) with 0, then 1,
   then 2 replicas attached, and its ratio to no replicas (Redwood's target: 0.8 or more).
2. Replication lag during those runs: a probe sets a key on the primary every 10 ms and times,
   from the primary's reply, until each replica serves the new value; p50 and p99.
3. Full resync of `keys` keys (`SET key:N abc`): a fresh replica started against the filled
   primary, timed from its start until its link is up and it holds every key. Redwood twice:
   with the whole log still held (the events are streamed) and after BGREWRITEAOF with
   `log-retention 1b` dropped the log behind a snapshot (the snapshot is streamed); Redis with
   its default diskless sync and `repl-diskless-sync-delay 0`.
"""
import os
import statistics
import threading
import time

import redis

from bench import report
from bench.servers import Server, redis_server, redwood
from bench.workloads import fill_keys, redis_benchmark

EVERYSEC = {"Redis": ("--appendonly", "yes", "--appendfsync", "everysec"), "Redwood": ("--appendfsync", "everysec")}
SIDES = (("Redis", redis_server, lambda port: ("--replicaof", "127.0.0.1", str(port))),
         ("Redwood", redwood, lambda port: ("--replicaof", f"127.0.0.1:{port}")))
PROBE_PERIOD = 0.01


def replicas(args, workdir: str, subdir, pipelined: int):
    """SET throughput with 0, 1 and 2 replicas, and the lag meanwhile. `pipelined`: how many
    times longer a pipelined run is (bench.__main__'s PIPELINED)."""
    rows = []
    for name, start, follow in SIDES:
        primary = start(subdir(workdir, f"{name.lower()}-repl-primary"), *EVERYSEC[name])
        attached, base = [], {}
        try:
            primary.start()
            for count in range(3):
                if count:
                    replica = start(subdir(workdir, f"{name.lower()}-replica{count}"),
                                    *EVERYSEC[name], *follow(primary.port))
                    attached.append(replica.start())
                    _wait_synced(primary, attached)
                for pipeline in args.pipelines:
                    requests = args.requests * (pipelined if pipeline > 1 else 1)
                    with LagProbe(primary, attached) as probe:
                        rps = redis_benchmark(primary.port, requests, pipeline, args.clients, ["-t", "set"])["SET"]
                    base.setdefault(pipeline, rps)
                    rows.append((name, count, f"P{pipeline}", rps, report.ratio(rps, base[pipeline]),
                                 *probe.percentiles()))
                    print(f"  {name} with {count} replica(s) P{pipeline}: SET {rps:,.0f}", flush=True)
                    _wait_synced(primary, attached)
        finally:
            for server in (*attached, primary):
                server.stop()
    print(f"\nReplication: redis-benchmark -t set -c {args.clients} -r 100000, -n {args.requests} at P1 "
          f"and {pipelined * args.requests} when pipelined, appendfsync everysec on every server, all "
          f"on this machine's {os.cpu_count()} cores; lag: from the primary's reply to a probe SET until "
          "each replica serves it\n")
    print(report.table(["server", "replicas", "pipeline", "SET rps", "vs 0 replicas",
                        "lag p50 ms", "lag p99 ms", "lag samples"], rows), flush=True)


class LagProbe:
    """While the benchmark runs: SET a counter on the primary every PROBE_PERIOD and time, from
    the primary's reply, until each replica serves that value (polled every half millisecond)."""

    def __init__(self, primary: Server, replicas: list):
        self.primary, self.replicas = primary, list(replicas)
        self.samples, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()

    def percentiles(self) -> tuple:
        """(p50 ms, p99 ms, samples) as table cells; dashes without replicas."""
        if len(self.samples) < 2:
            return "-", "-", len(self.samples)
        p99 = statistics.quantiles(self.samples, n=100)[98]
        return f"{statistics.median(self.samples) * 1000:.2f}", f"{p99 * 1000:.2f}", len(self.samples)

    def _run(self):
        writer = redis.Redis(port=self.primary.port, socket_timeout=600)
        readers = [redis.Redis(port=replica.port, socket_timeout=600) for replica in self.replicas]
        n = 0
        while not self.done.is_set():
            n += 1
            writer.set("lag:probe", n)
            acked = time.perf_counter()
            for reader in readers:
                while reader.get("lag:probe") != b"%d" % n:
                    if time.perf_counter() - acked > 600:
                        raise RuntimeError(f"replica {reader} has not seen the probe for 600 s")
                    time.sleep(0.0005)
                self.samples.append(time.perf_counter() - acked)
            time.sleep(PROBE_PERIOD)
        for client in (writer, *readers):
            client.close()


def _wait_synced(primary: Server, replicas: list, timeout: float = 3600):
    """Until every replica's offset has reached the primary's (byte offsets on Redis, seqs on
    Redwood) and its link is up, so that one run's backlog does not slow the next."""
    deadline = time.monotonic() + timeout
    target = primary.info("replication")["master_repl_offset"]
    for replica in replicas:
        while True:
            state = replica.info("replication")
            if state.get("master_link_status") == "up" and state.get("slave_repl_offset", -1) >= target:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{replica.name} replica did not catch up:\n{replica.log_tail()}")
            time.sleep(0.01)


def full_resync(args, workdir: str, subdir):
    rows = []
    primary = redis_server(subdir(workdir, "redis-sync-primary"), "--appendonly", "no",
                           "--repl-diskless-sync-delay", "0")
    with primary:
        fill_keys(primary.port, args.keys)
        replica = redis_server(subdir(workdir, "redis-sync-replica"), "--appendonly", "no",
                               *SIDES[0][2](primary.port))
        rows.append(("Redis", args.keys, "full (RDB, diskless)", _timed_sync(replica, args.keys)))
    primary = redwood(subdir(workdir, "redwood-sync-primary"), "--appendfsync", "everysec")
    with primary:
        fill_keys(primary.port, args.keys)
        for n, how in enumerate(("log", "snapshot")):
            if how == "snapshot":
                _drop_log_behind_snapshot(primary)
            before = primary.info("stats")
            replica = redwood(subdir(workdir, f"redwood-sync-replica{n}"), "--appendfsync", "everysec",
                              *SIDES[1][2](primary.port))
            seconds = _timed_sync(replica, args.keys)
            after = primary.info("stats")
            kind = "full" if after["sync_full"] > before["sync_full"] else "incremental"
            rows.append(("Redwood", args.keys, f"{kind} ({how} streamed)", seconds))
    print(f"\nFull resync: a fresh replica of a primary holding {args.keys:,} keys, from its start "
          "until its link is up and it holds every key\n")
    print(report.table(["server", "keys", "sync", "seconds"], rows))
    print("Redwood/Redis: " + ", ".join(f"{report.ratio(row[3], rows[0][3]):.2f} {row[2]}" for row in rows[1:]),
          flush=True)


def _drop_log_behind_snapshot(primary: Server):
    with redis.Redis(port=primary.port, socket_timeout=600) as client:
        client.config_set("log-retention", "1b")
        client.bgrewriteaof()
        while client.info("persistence")["aof_rewrite_in_progress"]:
            time.sleep(0.01)
        persistence = client.info("persistence")
    if persistence["log_first_seq"] <= 1:
        raise RuntimeError(f"the log was not dropped behind a snapshot: {persistence}")


def _timed_sync(replica: Server, keys: int, timeout: float = 3600) -> float:
    """Seconds from the replica's start until its link is up and it holds `keys` keys; the
    replica is stopped afterwards."""
    started = time.perf_counter()
    with replica, redis.Redis(port=replica.port, socket_timeout=600) as client:
        while not (client.info("replication").get("master_link_status") == "up"
                   and client.info("keyspace").get("db0", {}).get("keys", 0) == keys):
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"{replica.name} replica did not sync:\n{replica.log_tail()}")
            time.sleep(0.01)
        return time.perf_counter() - started
