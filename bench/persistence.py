"""The `snapshots` part: snapshot time and size, start-up from snapshot + tail, and the SQLite
backend's throughput next to LMDB's.

1. Each server gets `keys` x `SET key:N abc`; then Redis runs BGSAVE and Redwood BGSAVE (its
   builder process); the wall time until INFO says it is done, the size on disk (dump.rdb,
   Redwood's snapshot_bytes), and the slowest PING another client saw meanwhile (how long the
   server's loop was held up, by the save).
2. `keys` more SETs (new values) form the tail; each server is restarted: Redis loads its RDB
   (without the tail: it has no log), Redwood its snapshot plus the tail; wall time to the
   first reply, and Redwood's loading_seconds.
3. redis-benchmark SET and GET at P1 with fsync on every write: Redis (AOF always), Redwood on
   LMDB and on SQLite (`appendfsync always`).
"""
import os
import threading
import time

import redis

from bench import report
from bench.servers import Server, redis_server, redwood
from bench.workloads import fill_keys, redis_benchmark


def snapshots(args, workdir: str, subdir):
    rows, startup = [], []
    for name, start, options in (("Redis", redis_server, ("--appendonly", "no")),
                                 ("Redwood", redwood, ("--appendfsync", "everysec"))):
        server = start(subdir(workdir, f"{name.lower()}-snapshot"), *options)
        with server:
            fill_keys(server.port, args.keys)
            seconds, stall = _timed_bgsave(server)
            size = _snapshot_size(server)
            rows.append((name, args.keys, seconds, size, size / args.keys, stall * 1000))
            fill_keys(server.port, args.keys, value=b"tail")
        started = time.perf_counter()
        server.start(timeout=3600)
        try:
            while server.info("persistence")["loading"]:    # Redis listens while it loads
                time.sleep(0.005)
            wall = time.perf_counter() - started
            keys = server.info("keyspace").get("db0", {}).get("keys", 0)
            loading = server.info("persistence")
        finally:
            server.stop()
        what = "RDB only" if name == "Redis" else \
            f"snapshot + {loading['loading_events']:,} events in {float(loading['loading_seconds']):.2f} s"
        startup.append((name, keys, what, wall))
    print(f"\nSnapshots: {args.keys:,} keys (`SET key:N abc`); BGSAVE until INFO says done; the "
          "slowest PING of a client pinging meanwhile\n")
    print(report.table(["server", "keys", "BGSAVE s", "bytes on disk", "bytes/key", "max PING ms"], rows))
    print(f"Redwood/Redis: {report.ratio(rows[1][2], rows[0][2]):.2f} time, "
          f"{report.ratio(rows[1][3], rows[0][3]):.2f} size")
    print(f"\nStart-up after {args.keys:,} more SETs (Redis has no log: it loads the RDB alone)\n")
    print(report.table(["server", "keys", "loaded", "start-up wall s"], startup), flush=True)


def _timed_bgsave(server: Server) -> tuple[float, float]:
    """(seconds until the save is done, the slowest PING round trip meanwhile)."""
    client = redis.Redis(port=server.port, socket_timeout=600)
    stall, done = [0.0], threading.Event()

    def ping():
        with redis.Redis(port=server.port, socket_timeout=600) as pinger:
            while not done.is_set():
                sent = time.perf_counter()
                pinger.ping()
                stall[0] = max(stall[0], time.perf_counter() - sent)
                time.sleep(0.001)

    pinger = threading.Thread(target=ping)
    pinger.start()
    try:
        time.sleep(0.2)
        stall[0] = 0.0
        started = time.perf_counter()
        client.bgsave()
        while client.info("persistence")["rdb_bgsave_in_progress"]:
            time.sleep(0.01)
        seconds = time.perf_counter() - started
    finally:
        done.set()
        pinger.join()
        client.close()
    return seconds, stall[0]


def _snapshot_size(server: Server) -> int:
    if server.name == "Redis":
        return os.path.getsize(os.path.join(server.dir, "dump.rdb"))
    return server.info("persistence")["snapshot_bytes"]


def sqlite_throughput(args, workdir: str, subdir):
    rows = []
    servers = [redis_server(subdir(workdir, "redis-always"), "--appendonly", "yes", "--appendfsync", "always")]
    servers += [redwood(subdir(workdir, f"redwood-{kind}"), "--backend", kind, "--appendfsync", "always")
                for kind in ("lmdb", "sqlite")]
    results = {}
    for server, label in zip(servers, ("Redis", "Redwood lmdb", "Redwood sqlite")):
        with server:
            results[label] = redis_benchmark(server.port, args.requests, 1, args.clients, ["-t", "set,get"])
    for command in ("SET", "GET"):
        redis_rps = results["Redis"][command]
        rows.append((command, redis_rps, results["Redwood lmdb"][command], results["Redwood sqlite"][command],
                     report.ratio(results["Redwood lmdb"][command], redis_rps),
                     report.ratio(results["Redwood sqlite"][command], redis_rps)))
    print(f"\nBackends: redis-benchmark -c {args.clients} -n {args.requests} -P 1, fsync always\n")
    print(report.table(["command", "Redis rps", "lmdb rps", "sqlite rps", "lmdb/Redis", "sqlite/Redis"],
                       rows), flush=True)
