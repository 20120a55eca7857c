"""The server process: load the log, listen, and run the background jobs.

anyio supervises the process (task group, signals, shutdown) on uvloop; the
data path is the asyncio Protocol in `server.connection`.
"""
import asyncio
import logging
import os
import signal
import time

import anyio

from backends import detect_backend, open_backend
from backends.base import LogUnavailable
from engine import changes, commands, recovery  # noqa: F401  (commands registers every family)
from engine.acl import ACLFileError
from engine.events import CorruptRecord
from engine.state import ServerState
import migrations
from server import tls
from server.connection import Connection
from server.snapshots import Snapshots
from replication.replica import discard_partial_sync
from replication.role import Replication

log = logging.getLogger("redwood")


class StartupError(Exception):
    """The server cannot start on this data directory (corrupt log, newer format, unreadable)."""


def run(config):
    """Start the server and block until it shuts down."""
    anyio.run(_main, config, backend="asyncio", backend_options={"use_uvloop": True})


def _open(config):
    """The backend and the state rebuilt from its log, or a StartupError that says why not.
    A corrupt record stops start-up: serving the state before it would silently lose the rest."""
    found = detect_backend(config["dir"])
    if found not in (None, config["backend"]):
        raise StartupError(f"the data directory {config['dir']!r} holds a {found} store, not {config['backend']}: "
                           f"start with --backend {found}, or copy it with `redwood convert`")
    try:
        backend = open_backend(config["backend"], config["dir"])
    except LogUnavailable as exc:
        raise StartupError(f"cannot open the event log: {exc}") from exc
    try:
        migrations.on_open(backend, config["dir"], config["auto-migrate"])
        if discard_partial_sync(backend):
            log.warning("a full resync from the primary did not finish: the store was emptied, "
                        "the replica resyncs in full")
    except (migrations.FormatError, LogUnavailable) as exc:
        backend.close()
        raise StartupError(str(exc)) from exc
    try:
        state = ServerState(config, backend)
    except ACLFileError as exc:
        backend.close()
        raise StartupError(str(exc)) from exc
    try:
        load(state)
    except (CorruptRecord, recovery.Unrecoverable) as exc:
        backend.close()
        raise StartupError(f"the event log in {config['dir']!r} is unusable: {exc}; refusing to "
                           "start (restore it from a replica or a copy of the data directory)") from exc
    return backend, state


def load(state):
    """Rebuild the views from the newest usable snapshot and the log after it (start-up and
    DEBUG RELOAD)."""
    loading = state.loading
    loading.in_progress = True
    started = time.perf_counter()

    def progress(done):
        log.info("loading: %d events replayed (%.0f events/s)", done, done / (time.perf_counter() - started))

    try:
        loading.snapshot_seq, loading.events = recovery.restore(state, progress=progress)
    finally:
        loading.seconds = time.perf_counter() - started
        loading.in_progress = False
    log.info("loaded the snapshot at event %d and %d events after it in %.3f s (%.0f events/s), "
             "%d keys", loading.snapshot_seq, loading.events, loading.seconds, loading.rate,
             state.keyspace.total_keys())


async def _main(config):
    if not config["port"] and not config["tls-port"]:
        raise StartupError("Configured to not listen anywhere, exiting.")
    tls_context = _tls_context(config)
    backend, state = _open(config)
    loop = asyncio.get_running_loop()
    store = state.store
    store.on_batch_started = lambda: loop.call_soon(store.flush)
    store.on_failure = lambda: load(state)
    tracking = state.keyspace.tracking
    tracking.schedule_broadcast = lambda: loop.call_soon(tracking.broadcast)
    stop = anyio.Event()
    state.shutdown = lambda save=True: stop.set()
    state.reload = lambda: (store.flush(), load(state))
    state.snapshots = snapshots = Snapshots(state)
    state.replication = replication = Replication(state)
    if config["replicaof"]:
        host, port = config["replicaof"].split()
        replication.follow(host, int(port))
    listeners = await _listen(config, state, tls_context)
    _write_pidfile(config["pidfile"])
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_active_expire, state)
            tasks.start_soon(_evict_in_background, state)
            tasks.start_soon(_sample_stats, state)
            tasks.start_soon(_close_idle_clients, state)
            tasks.start_soon(_fsync_everysec, state)
            tasks.start_soon(_retry_failed_log, state)
            tasks.start_soon(_on_signals, stop)
            tasks.start_soon(_every_second, snapshots.tick)
            tasks.start_soon(_every_second, replication.tick)
            await stop.wait()
            tasks.cancel_scope.cancel()
    finally:
        for listener in listeners:
            listener.close()
        for client in list(state.clients.values()):
            client.connection.close()
        snapshots.stop()
        if replication.follower is not None:
            replication.follower.stop()     # the links close with their clients
        store.flush()
        store.sync()
        backend.close()
        if config["pidfile"]:
            os.unlink(config["pidfile"])
        log.info("Redwood is now ready to exit, bye bye...")


def _tls_context(config):
    if not config["tls-port"]:
        return None
    try:
        return tls.server_context(config)
    except tls.TLSConfigError as exc:
        raise StartupError(f"Failed to configure TLS: {exc}") from exc


async def _listen(config, state, tls_context):
    """Redis's listeners on every `bind` address: TCP on `port`, TLS on `tls-port` (0: none).
    INFO's tcp_port is the TCP port, or the TLS one when there is no TCP listener, as in Redis."""
    loop = asyncio.get_running_loop()
    listeners = []
    for kind, port, context in (("tcp", config["port"], None), ("tls", config["tls-port"], tls_context)):
        if not port:
            continue
        for host in config["bind"].split():
            listeners.append(await loop.create_server(
                lambda: Connection(state), host=host, port=port, ssl=context,
                backlog=config["tcp-backlog"], reuse_address=True))
        log.info("Ready to accept connections %s on %s:%d (pid %d)",
                 kind, config["bind"], port, os.getpid())
    state.tcp_port = listeners[0].sockets[0].getsockname()[1]
    return listeners


async def _active_expire(state):
    """Redis's active expiry cycle: hz times a second, bounded work per database."""
    while True:
        await anyio.sleep(1 / state.config["hz"])
        if not state.active_expire or state.store.failure is not None or state.keyspace.replica or \
                state.keyspace.pause_end > time.monotonic():    # CLIENT PAUSE stops expiry
            continue
        keyspace = state.keyspace
        keyspace.now = time.time_ns() // 1_000_000
        deadline = time.perf_counter() + 0.25 / state.config["hz"]  # at most 25% of a tick, as Redis
        for db in keyspace.dbs:
            if db.expires:
                while db.expire_due(200) == 200 and time.perf_counter() < deadline:
                    pass
        if keyspace.changes:
            changes.process(state)


async def _evict_in_background(state):
    """Eviction goes on between commands when its time budget ran out (Redis's eviction time
    proc), so an idle server does not stay over maxmemory; not while CLIENT PAUSE holds the
    dataset still or the log cannot be written."""
    while True:
        await anyio.sleep(0.01)
        if state.maxmemory and state.store.failure is None and not state.keyspace.replica and \
                state.keyspace.pause_end <= time.monotonic():
            state.eviction.evict()
            if state.keyspace.changes:
                changes.process(state)


async def _sample_stats(state):
    while True:
        await anyio.sleep(0.1)
        state.stats.sample(time.monotonic())


async def _close_idle_clients(state):
    """Redis's `timeout`: clients idle for longer are disconnected (0 disables it); a blocked
    client is waiting, not idle, and a subscriber is kept as Redis keeps it."""
    while True:
        await anyio.sleep(1)
        timeout = state.config["timeout"]
        if timeout:
            deadline = time.time() - timeout
            for client in list(state.clients.values()):
                if (client.last_active < deadline and client.blocked is None
                        and not (client.channels or client.patterns or client.shard_channels)):
                    client.connection.close()


async def _fsync_everysec(state):
    while True:
        await anyio.sleep(1)
        if state.store.appendfsync == "everysec" and state.store.unsynced:
            state.store.unsynced = False
            try:
                await anyio.to_thread.run_sync(state.backend.sync)
            except LogUnavailable as exc:
                state.store.fail(exc)


async def _every_second(job):
    while True:
        await anyio.sleep(1)
        job()


async def _retry_failed_log(state):
    while True:
        await anyio.sleep(1)
        if state.store.failure is not None and state.store.retry():
            log.warning("the event log is writable again; accepting writes")


async def _on_signals(stop):
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            log.warning("received %s, shutting down", signal.Signals(signum).name)
            stop.set()
            return


def _write_pidfile(path):
    if path:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
