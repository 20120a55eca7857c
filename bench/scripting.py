"""The `scripting` part: a 3-command Lua script under redis-benchmark, Redis side by side, both
with `appendfsync everysec` (Redis: `--appendonly yes --appendfsync everysec`).

EVALSHA of SCRIPT (INCR a random key, EXPIRE it, GET it: two logged writes and a read), at each
-P of --pipelines, and EVAL of the same body (the server hashes the body on every call). Runs
alternate Redis, Redwood, Redis, … so machine noise lands on both; with --rounds > 1 each cell is
the median. Redwood's target (issue 8): EVALSHA at P1 at least TARGET × Redis.
"""
import statistics
import sys

import redis

from bench import report
from bench.servers import Server, redis_server, redwood
from bench.workloads import redis_benchmark

SCRIPT = "redis.call('INCR', KEYS[1]); redis.call('EXPIRE', KEYS[1], 60); return redis.call('GET', KEYS[1])"
KEY = "script:__rand_int__"
TARGET = 0.5


def evalsha(args, workdir: str, subdir, pipelined: int):
    """The table of EVALSHA and EVAL rps, and whether EVALSHA at P1 meets TARGET. `pipelined`:
    how many times longer a pipelined run is (bench.__main__'s PIPELINED)."""
    rd = redis_server(subdir(workdir, "redis-scripting"), "--appendonly", "yes", "--appendfsync", "everysec")
    rw = redwood(subdir(workdir, "redwood-scripting"), "--appendfsync", "everysec")
    rows = []
    with rd, rw:
        sha = _load(rd)
        if _load(rw) != sha:
            raise RuntimeError("Redis and Redwood disagree on the script's sha1")
        tests = (("EVALSHA", ["EVALSHA", sha, "1", KEY]), ("EVAL", ["EVAL", SCRIPT, "1", KEY]))
        for pipeline in args.pipelines:
            requests = args.requests * (pipelined if pipeline > 1 else 1)
            for test, command in tests:
                runs = {rd.name: [], rw.name: []}
                for _ in range(args.rounds):
                    for server in (rd, rw):
                        runs[server.name].append(_rps(server, requests, pipeline, args.clients, command))
                        print(f"  {test} P{pipeline} {server.name}: {runs[server.name][-1]:,.0f}",
                              file=sys.stderr, flush=True)
                redis_rps, redwood_rps = statistics.median(runs[rd.name]), statistics.median(runs[rw.name])
                rows.append((test, f"P{pipeline}", redis_rps, redwood_rps, report.ratio(redwood_rps, redis_rps)))
    print(f"\nScripting: redis-benchmark -c {args.clients} -r 100000, -n {args.requests} at P1 and "
          f"{pipelined * args.requests} when pipelined, appendfsync everysec, `{KEY}` keys;\n"
          f"script: {SCRIPT}\n")
    print(report.table(["command", "pipeline", "Redis rps", "Redwood rps", "Redwood/Redis"], rows))
    for test, pipeline, _, _, ratio in rows:
        if (test, pipeline) == ("EVALSHA", "P1"):
            verdict = "met" if ratio >= TARGET else "NOT met"
            print(f"Target EVALSHA P1 >= {TARGET}x Redis: {verdict} ({ratio:.2f}x)")
    sys.stdout.flush()


def _load(server: Server) -> str:
    """SCRIPT LOAD, then one EVALSHA that must answer as the script does (a fresh key: 1)."""
    with redis.Redis(port=server.port, socket_timeout=60) as client:
        sha = client.script_load(SCRIPT)
        reply = client.evalsha(sha, 1, "script:check")
        if reply != b"1":
            raise RuntimeError(f"{server.name} answered the script with {reply!r}, not b'1'")
    return sha


def _rps(server: Server, requests: int, pipeline: int, clients: int, command: list) -> float:
    try:
        (rps,) = redis_benchmark(server.port, requests, pipeline, clients, command).values()
    except Exception as exc:
        raise RuntimeError(f"{exc}\n{server.name} log:\n{server.log_tail()}") from None
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
    return rps
