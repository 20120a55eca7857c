"""The load: redis-benchmark runs (parsed from --csv) and raw-socket pipelines that fill servers."""
import csv
import itertools
import socket
import subprocess
import sys

import hiredis

from bench.servers import require

# redis-benchmark's built-in tests; it has no DEL test, so DEL runs as a custom
# command over the same random keys SET wrote (`key:__rand_int__`).
BUILTIN_TESTS = ["-t", "set,get,incr,mset"]
DEL_COMMAND = ["DEL", "key:__rand_int__"]


class CommandFailed(RuntimeError):
    """The server answered with an error reply (e.g. a command Redwood does not have yet)."""


def string_commands(port: int, requests: int, pipeline: int, clients: int) -> dict:
    """Requests per second by test name, e.g. {"SET": 81234.5, "MSET (10 keys)": …, "DEL": …}."""
    results = redis_benchmark(port, requests, pipeline, clients, BUILTIN_TESTS)
    results.update(redis_benchmark(port, requests, pipeline, clients, DEL_COMMAND))
    return results


def redis_benchmark(port: int, requests: int, pipeline: int, clients: int, test: list) -> dict:
    """One redis-benchmark run of `test` (`-t names` or a command of its own): rps by test name."""
    argv = [require("redis-benchmark"), "-p", str(port), "-c", str(clients), "-n", str(requests),
            "-r", "100000", "-P", str(pipeline), "-q", "--csv", *test]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        output = done.stderr + done.stdout
        # Since Redis 7 redis-benchmark stops at the first error reply instead of counting it.
        errors = [line for line in output.splitlines() if line.startswith("Error from server")]
        kind = CommandFailed if errors else RuntimeError
        raise kind(errors[0] if errors else f"{' '.join(argv)} failed ({done.returncode}):\n{output}")
    results = {}
    # --csv rows are `"test","rps",…`; anything else is reported.
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


def pipe(port: int, commands, batch: int = 100) -> list:
    """Send `commands` (argv lists of bytes) over one connection, `batch` per round trip, and
    return their replies; the first error reply raises CommandFailed."""
    replies, reader, commands = [], hiredis.Reader(), iter(commands)
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        while chunk := list(itertools.islice(commands, batch)):
            sock.sendall(b"".join(map(_encode, chunk)))
            for argv in chunk:
                reply = reader.gets()
                while reply is False:   # False is hiredis's "incomplete"; None is a nil reply
                    data = sock.recv(1 << 20)
                    if not data:
                        raise ConnectionError("server closed the connection")
                    reader.feed(data)
                    reply = reader.gets()
                if isinstance(reply, hiredis.ReplyError):
                    raise CommandFailed(f"{argv[0].decode()}: {reply}")
                replies.append(reply)
    return replies


def _encode(argv: list) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv)


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
