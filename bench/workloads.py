"""The load: redis-benchmark runs (parsed from --csv) and a raw-socket key filler."""
import csv
import socket
import subprocess
import sys

from bench.servers import require

# redis-benchmark's built-in tests; it has no DEL test, so DEL runs as a custom
# command over the same random keys SET wrote (`key:__rand_int__`).
BUILTIN_TESTS = "set,get,incr,mset"
DEL_COMMAND = ["DEL", "key:__rand_int__"]


def redis_benchmark(port: int, requests: int, pipeline: int, clients: int) -> dict:
    """Requests per second by test name, e.g. {"SET": 81234.5, "MSET (10 keys)": …, "DEL": …}."""
    base = [require("redis-benchmark"), "-p", str(port), "-c", str(clients), "-n", str(requests),
            "-r", "100000", "-P", str(pipeline), "-q", "--csv", "-e"]
    results = _run(base + ["-t", BUILTIN_TESTS])
    results.update(_run(base + DEL_COMMAND))
    return results


def _run(argv: list) -> dict:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    results = {}
    # --csv rows are `"test","rps",…`; anything else (errors shown by -e) is reported.
    for line in done.stdout.replace("\r", "\n").splitlines():
        row = next(csv.reader([line]), []) if line.startswith('"') else []
        if row[:2] == ["test", "rps"]:
            continue
        if len(row) >= 2:
            name = "DEL" if row[0].startswith("DEL ") else row[0]
            results[name] = float(row[1])
        elif line.strip():
            print(f"  redis-benchmark: {line.strip()}", file=sys.stderr)
    return results


def fill_keys(port: int, count: int, value: bytes = b"abc", batch: int = 10_000):
    """SET key:0 … key:<count-1> to `value`, pipelined over one connection, checking every reply."""
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        for start in range(0, count, batch):
            keys = [b"key:%d" % i for i in range(start, min(start + batch, count))]
            sock.sendall(b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                                  % (len(k), k, len(value), value) for k in keys))
            expected = b"+OK\r\n" * len(keys)
            got = _recv_exactly(sock, len(expected))
            if got != expected:
                raise RuntimeError(f"unexpected reply to SET: {got[:200]!r}")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("server closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
