"""Taking snapshots without stopping: one builder process at a time.

The builder (`redwood snapshot`, engine.recovery.build_snapshot) opens the data directory
beside the server, rebuilds the state as of the last committed event from the previous
snapshot and the log, writes the snapshot chunk by chunk and applies the retention policy.
The server's heap is never copied and its loop never waits: it only starts the process and
reads its one-line report. BGSAVE, BGREWRITEAOF, SAVE and the `save` rules start it; INFO
persistence and LASTSAVE report it.
"""
import asyncio
import json
import logging
import subprocess
import sys
import time

from engine import recovery, snapshot
from engine.blocking import block
from engine.errors import RedisError, err
from engine.replies import OK

log = logging.getLogger("redwood.snapshots")

# What the builder must know of the configuration: to replay as the server does, to apply
# the retention policy, and to log where the server logs.
BUILDER_OPTIONS = ("databases", "hash-max-listpack-entries", "hash-max-listpack-value",
                   "set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value",
                   "list-max-listpack-size", "log-retention", "snapshot-retention", "logfile", "loglevel")
RETRY_AFTER = 5     # seconds before the save rules try again after a failed snapshot (as Redis)


class Snapshots:
    def __init__(self, state):
        self.state = state
        self.kind = None              # the running job: "rdb" (BGSAVE, SAVE, save rules) or "aof" (BGREWRITEAOF)
        self.process = None
        self.started = 0.0
        self.to_seq = 0
        self.scheduled = None         # a job kind to start when the running one ends
        self.savers: list = []        # clients blocked in SAVE, for the running job
        self.next_savers: list = []   # ... for the scheduled one
        snapshots = state.backend.snapshots()
        self.saved_seq = snapshots[-1].seq if snapshots else 0
        self.last_save = time.time()  # Redis's lastsave: start-up, then each successful save
        self.last_ok = True
        self.last_try = 0.0
        self.last_seconds = -1
        self.saves = 0
        self.rewrites = 0

    @property
    def changes(self) -> int:
        """rdb_changes_since_last_save: events after the last snapshot."""
        return max(self.state.backend.last_seq - self.saved_seq, 0)

    # -- the commands ------------------------------------------------------------------------
    def bgsave(self, schedule: bool, in_exec: bool):
        if self.kind == "rdb":
            raise err("Background save already in progress")
        if self.kind is not None or in_exec:
            if not (schedule or in_exec):
                raise err("Another child process is active (AOF?): can't BGSAVE right now. Use "
                          "BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
            self.scheduled = self.scheduled or "rdb"
            return "Background saving scheduled"
        self.start("rdb")
        return "Background saving started"

    def bgrewriteaof(self, in_exec: bool):
        if self.kind == "aof":
            raise err("Background append only file rewriting already in progress")
        if self.kind is not None or in_exec:
            self.scheduled = "aof"
            return "Background append only file rewriting scheduled"
        self.start("aof")
        return "Background append only file rewriting started"

    def save(self, client):
        """SAVE: a snapshot now; only the caller waits for it (the server goes on serving)."""
        if self.kind == "rdb":
            raise err("Background save already in progress")
        if self.kind is None:
            self.start("rdb")
            self.savers.append(client)
        else:
            self.scheduled = "rdb"
            self.next_savers.append(client)
        return block(client, (), 0, _no_key, cannot_wait=err("SAVE cannot wait here"))

    # -- the builder process -----------------------------------------------------------------
    def start(self, kind: str):
        state = self.state
        state.store.flush()          # what is staged now belongs in this snapshot
        self.kind, self.started, self.last_try = kind, time.monotonic(), time.time()
        self.to_seq = state.backend.last_seq
        if state.backend.kind == "memory":      # no other process can read it: build in place
            self._finish(self._build_here())
            return
        argv = [sys.executable, "-m", "server.cli", "snapshot", "--dir", state.config["dir"],
                "--backend", state.backend.kind, "--to-seq", str(self.to_seq)]
        for name in BUILDER_OPTIONS:
            argv += ["--set", name, state.config.show(name)]
        asyncio.get_running_loop().create_task(self._run(argv))

    def _build_here(self) -> dict:
        state = self.state
        info = state.backend.write_snapshot(
            self.to_seq, state.store.last_ts, snapshot.encode(state.keyspace, self.to_seq, state.store.last_ts))
        recovery.compact(state.backend, recovery.retention_of(state.config))
        return {"seq": info.seq, "size": info.size}

    async def _run(self, argv):
        report = await asyncio.get_running_loop().run_in_executor(None, self._build_in_child, argv)
        self.process = None
        self._finish(report)

    def _build_in_child(self, argv) -> dict | None:
        """In a worker thread: subprocess starts the builder with vfork (the loop's own process
        spawning forks, and a fork's page-table copy grows with the heap), then waits for it."""
        try:
            self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            output, _ = self.process.communicate()
            lines = output.decode(errors="replace").strip().splitlines()
            return json.loads(lines[-1]) if self.process.returncode == 0 and lines else None
        except (OSError, ValueError) as exc:
            log.error("the snapshot process failed: %s", exc)
            return None

    def _finish(self, report: dict | None):
        kind, self.kind = self.kind, None
        self.last_seconds = int(time.monotonic() - self.started)
        self.last_ok = report is not None
        if report is not None:
            self.saved_seq = report["seq"]
            self.last_save = time.time()
            if kind == "rdb":
                self.saves += 1
            else:
                self.rewrites += 1
            log.info("snapshot at event %d written (%d bytes) in %.3f s", report["seq"], report["size"],
                     time.monotonic() - self.started)
        else:
            log.error("the snapshot at event %d failed (see the log above)", self.to_seq)
        savers, self.savers, self.next_savers = self.savers, self.next_savers, []
        for client in savers:
            if client.connection is not None and client.blocked is not None:
                client.connection.unblocked(OK if report is not None else RedisError("ERR"))
        scheduled, self.scheduled = self.scheduled, None
        if scheduled:
            self.start(scheduled)

    def tick(self):
        """The `save` rules, checked every second: after <seconds> with at least <changes>."""
        if self.kind is not None:
            return
        if self.scheduled:             # BGSAVE in MULTI: scheduled with nothing running
            scheduled, self.scheduled = self.scheduled, None
            self.savers, self.next_savers = self.next_savers, []
            self.start(scheduled)
            return
        now = time.time()
        if not self.last_ok and now - self.last_try < RETRY_AFTER:
            return
        changes = self.changes
        for seconds, needed in self.state.config["save"]:
            if changes >= needed and now - self.last_save > seconds:
                log.info("%d changes in %d seconds. Saving...", needed, seconds)
                self.start("rdb")
                return

    def stop(self):
        """Shutdown: the builder is killed; its partial chunks are removed by the next one."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()

    def info(self) -> list:
        now = time.monotonic()
        running = lambda kind: int(now - self.started) if self.kind == kind else -1  # noqa: E731
        return [("rdb_changes_since_last_save", self.changes),
                ("rdb_bgsave_in_progress", int(self.kind == "rdb")),
                ("rdb_last_save_time", int(self.last_save)),
                ("rdb_last_bgsave_status", "ok" if self.last_ok else "err"),
                ("rdb_last_bgsave_time_sec", self.last_seconds),
                ("rdb_current_bgsave_time_sec", running("rdb")),
                ("rdb_saves", self.saves),
                ("aof_rewrite_in_progress", int(self.kind == "aof")),
                ("aof_rewrite_scheduled", int(self.scheduled == "aof")),
                ("aof_current_rewrite_time_sec", running("aof")),
                ("aof_rewrites", self.rewrites),
                ("snapshot_seq", self.saved_seq),
                ("snapshot_pid", self.process.pid if self.process is not None else -1)]


def _no_key(key):
    """SAVE waits on no key: the snapshot's end releases it."""


def run_builder(args) -> int:
    """`redwood snapshot`: build the snapshot as of --to-seq (default: the last event) in this
    process, apply the retention policy, and print a one-line JSON report."""
    from backends import detect_backend, open_backend, snapshot_writer
    from engine import commands  # noqa: F401  (registers the handlers replay runs)
    from engine.config import Config
    from engine.state import ServerState
    from server.cli import configure_logging
    config = Config()
    for name, value in args.set or ():
        config.load(name, value)
    config.load("dir", args.dir)
    configure_logging(config, "C")
    backend = open_backend(args.backend or detect_backend(args.dir) or "lmdb", args.dir)
    try:
        state = ServerState(config, backend)
        to_seq = backend.last_seq if args.to_seq is None else args.to_seq
        started = time.perf_counter()
        try:
            with snapshot_writer(args.dir):
                info = recovery.build_snapshot(state, to_seq)
                dropped, deleted = recovery.compact(backend, recovery.retention_of(config))
        except BlockingIOError:
            logging.getLogger("redwood").error("another process is writing a snapshot of %s", args.dir)
            return 1
        print(json.dumps({"seq": info.seq, "size": info.size, "chunks": info.chunks,
                          "seconds": round(time.perf_counter() - started, 3),
                          "dropped_events": dropped, "deleted_snapshots": deleted}), flush=True)
    finally:
        backend.close()
    return 0

