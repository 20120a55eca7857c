"""Benchmark servers: real redis-server and Redwood as subprocesses on free ports,
each owned by the benchmark and stopped by its PID."""
import os
import shutil
import subprocess
import sys

import redis

from tests.servers import ROOT, free_port, wait_for_port   # `make bench` installs the test extras


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        sys.exit(f"bench: `{tool}` is not installed (make redis-server installs it with apt)")
    return path


class Server:
    """One server process. `start` may be called again after `stop` (same port, same dir)."""

    def __init__(self, name: str, argv: list, port: int, data_dir: str):
        self.name, self.argv, self.port, self.dir = name, argv, port, data_dir
        self.log_path = os.path.join(data_dir, f"{name.lower()}.log")
        self.proc = None

    def start(self, timeout: float = 60.0) -> "Server":
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.name} is already running (pid {self.proc.pid})")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            wait_for_port(self.port, self.proc, timeout)
        except Exception as exc:
            self.stop()
            raise RuntimeError(f"{self.name} failed to start ({exc}):\n{self.log_tail()}") from None
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        with open(self.log_path, "rb") as f:
            return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")

    def info(self, section: str) -> dict:
        with redis.Redis(port=self.port, socket_timeout=60) as client:
            return client.info(section)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def redis_server(data_dir: str, *options: str) -> Server:
    port = free_port()
    argv = [require("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", data_dir, "--save", "", *options]
    return Server("Redis", argv, port, data_dir)


def redwood(data_dir: str, *options: str) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "server.cli", "serve", "--port", str(port),
            "--bind", "127.0.0.1", "--dir", data_dir, *options]
    return Server("Redwood", argv, port, data_dir)
