"""Pub/Sub and transactions under load: PUBLISH to 1 and 50 subscribers, and MULTI + 5 SETs + EXEC.

PUBLISH runs under redis-benchmark while subscriber connections are drained by a thread
(after the run they must all still be subscribed: a subscriber dropped for falling behind
would make publishing cheaper). redis-benchmark sends one command per request, so the
transactions come from our own load generator: `TRANSACTION_PROCESSES` processes, each an
event loop with its share of the connections, every connection keeping one transaction
(MULTI, 5 × SET key:<random> VXK, EXEC, written at once) in flight, like redis-benchmark -P 1.
"""
import asyncio
import os
import random
import selectors
import socket
import subprocess
import sys
import threading
import time

import redis

from bench.workloads import redis_benchmark

CHANNEL = b"bench:channel"
SUBSCRIBER_COUNTS = (1, 50)
TRANSACTION_PROCESSES = 2
SETS = 5
# What MULTI + 5 SETs + EXEC answers: +OK, 5 × +QUEUED, then an array of 5 × +OK.
TRANSACTION_REPLY = b"+OK\r\n" + b"+QUEUED\r\n" * SETS + b"*%d\r\n" % SETS + b"+OK\r\n" * SETS


class Subscribers:
    """`count` connections subscribed to CHANNEL, drained by a thread until the block ends."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.socks, self.stop, self.thread = [], threading.Event(), None

    def __enter__(self):
        for _ in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(CHANNEL), CHANNEL))
            self.socks.append(sock)
        with redis.Redis(port=self.port) as client:
            deadline = time.monotonic() + 30
            while client.pubsub_numsub(CHANNEL)[0][1] < self.count:
                if time.monotonic() > deadline:
                    raise RuntimeError("subscribers did not subscribe")
                time.sleep(0.01)
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        return self

    def _drain(self):
        selector = selectors.DefaultSelector()
        for sock in self.socks:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        while not self.stop.is_set():
            for key, _ in selector.select(timeout=0.1):
                try:
                    key.fileobj.recv(1 << 20)
                except BlockingIOError:
                    pass
        selector.close()

    def still_subscribed(self) -> int:
        with redis.Redis(port=self.port) as client:
            return client.pubsub_numsub(CHANNEL)[0][1]

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for sock in self.socks:
            sock.close()


def messaging_commands(port: int, requests: int, pipeline: int, clients: int) -> tuple:
    """(rps by test name, notes) for PUBLISH with each subscriber count, and, at P1 only,
    MULTI/EXEC of 5 SETs."""
    results, notes = {}, []
    for count in SUBSCRIBER_COUNTS:
        name = f"PUBLISH ({count} subscriber{'s' if count > 1 else ''})"
        with Subscribers(port, count) as subscribers:
            (results[name],) = redis_benchmark(port, requests, pipeline, clients,
                                               ["PUBLISH", CHANNEL.decode(), "VXK"]).values()
            if subscribers.still_subscribed() != count:
                notes.append(f"{name}: a subscriber was dropped during the run")
    if pipeline == 1:
        results[f"MULTI/EXEC ({SETS} SETs)"] = transactions(port, requests, clients)
    return results, notes


def transactions(port: int, requests: int, clients: int) -> float:
    """Transactions per second over `clients` connections split across processes."""
    share = max(1, clients // TRANSACTION_PROCESSES)
    procs = [subprocess.Popen([sys.executable, "-m", "bench.messaging", str(port), str(share),
                               str(requests // TRANSACTION_PROCESSES)], stdout=subprocess.PIPE, text=True)
             for _ in range(TRANSACTION_PROCESSES)]
    done, seconds = 0, 0.0
    for proc in procs:
        out, _ = proc.communicate(timeout=1800)
        if proc.returncode:
            raise RuntimeError(f"transaction load failed ({proc.returncode})")
        count, elapsed = out.split()
        done, seconds = done + int(count), max(seconds, float(elapsed))
    return done / seconds


async def _transactions(port: int, connections: int, total: int) -> tuple:
    remaining = [total]

    async def connection():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        expected = len(TRANSACTION_REPLY)
        while remaining[0] > 0:
            remaining[0] -= 1
            keys = [b"key:%d" % random.randrange(100_000) for _ in range(SETS)]
            writer.write(b"*1\r\n$5\r\nMULTI\r\n" + b"".join(
                b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nVXK\r\n" % (len(k), k) for k in keys)
                + b"*1\r\n$4\r\nEXEC\r\n")
            reply = await reader.readexactly(expected)
            if reply != TRANSACTION_REPLY:
                raise RuntimeError(f"unexpected transaction reply {reply!r}")
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return total, time.perf_counter() - started


if __name__ == "__main__":      # one load process: port, connections, transactions
    import uvloop
    port, connections, total = map(int, sys.argv[1:4])
    count, elapsed = uvloop.run(_transactions(port, connections, total))
    print(count, elapsed)
    os._exit(0)
