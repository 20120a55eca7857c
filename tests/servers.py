"""Real servers for tests: Redwood and redis-server as subprocesses on free ports,
and a raw RESP client that returns reply bytes exactly as they came off the socket."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import hiredis
import pytest
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


class ServerProcess:
    """A server subprocess that the test owns and stops by PID."""

    def __init__(self, argv, port, log_path):
        self.argv, self.port, self.log_path = argv, port, log_path
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_for_port(self.port, self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"server failed to start:\n{self.output()}")
        return self

    def output(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=30, **kwargs)

    def raw(self) -> "RawClient":
        return RawClient(self.port)

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Redwood(ServerProcess):
    def __init__(self, data_dir, *extra, port=None):
        self.dir = data_dir
        self.extra = list(extra)
        port = port or free_port()
        self.base_argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
                          "--bind", "127.0.0.1", "--dir", data_dir]
        if os.environ.get("REDWOOD_TEST_BACKEND"):
            self.base_argv += ["--backend", os.environ["REDWOOD_TEST_BACKEND"]]
        super().__init__(self.base_argv + self.extra, port,
                         os.path.join(data_dir, "..", f"redwood-{port}.log"))

    def restart(self, *extra):
        """Start again on the same data directory (after kill or stop), with other options if given."""
        if self.alive:
            self.stop()
        if extra:
            self.argv = self.base_argv + list(extra)
        return self.start()


def redis_server_path() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


def require_redis_server() -> str:
    path = redis_server_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI (make test installs it with apt)")
        pytest.skip("redis-server is not installed")
    return path


def open_store(data_dir: str):
    """The backend of a stopped server's data directory, whichever kind it holds."""
    from backends import detect_backend, open_backend
    return open_backend(detect_backend(data_dir), data_dir)


class RealRedis(ServerProcess):
    def __init__(self, workdir, *extra):
        port = free_port()
        argv = [require_redis_server(), "--port", str(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", workdir,
                "--enable-debug-command", "yes", *extra]
        super().__init__(argv, port, os.path.join(workdir, f"redis-{port}.log"))


class RawClient:
    """Sends commands as RESP arrays and returns each reply's exact bytes."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.pending = b""

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def call(self, *argv) -> bytes:
        self.send_raw(encode_command(argv))
        return self.read_reply()

    def read_reply(self) -> bytes:
        """The bytes of exactly one reply (more may stay pending for the next)."""
        buf = self.pending
        while True:
            end = reply_end(buf, 0)
            if end is not None:
                raw, self.pending = buf[:end], buf[end:]
                return raw
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError(f"connection closed; unparsed: {buf[:200]!r}")
            buf += chunk

    def read_until_closed(self, timeout: float = 5.0) -> bytes:
        self.sock.settimeout(timeout)
        data = self.pending
        while True:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.sock.close()


_AGGREGATES = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2, ord("|"): 2}
_BLOBS = {ord("$"), ord("="), ord("!")}


def reply_end(buf: bytes, pos: int):
    """Where the RESP2/RESP3 reply starting at pos ends, or None while it is incomplete."""
    line_end = buf.find(b"\r\n", pos)
    if line_end < 0:
        return None
    kind, after = buf[pos], line_end + 2
    if kind in _BLOBS:
        size = int(buf[pos + 1:line_end])
        if size < 0:
            return after
        return after + size + 2 if len(buf) >= after + size + 2 else None
    if kind in _AGGREGATES:
        count = int(buf[pos + 1:line_end])
        for _ in range(max(count, 0) * _AGGREGATES[kind]):
            after = reply_end(buf, after)
            if after is None:
                return None
        return after
    return after


def parse_reply(raw: bytes):
    """A reply's exact bytes read back into values (RESP2 or RESP3), with hiredis."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def encode_command(argv) -> bytes:
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)):
            arg = repr(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


def fresh_dir(prefix="redwood-") -> str:
    return tempfile.mkdtemp(prefix=prefix)
