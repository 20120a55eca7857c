"""The one path every command takes: look up, check, run the handler, return the reply."""
import logging
from time import time_ns

from engine import acl, changes, errors, events, observe
from engine.blocking import serve_ready
from engine.client import Client
from engine.errors import RedisError
from engine.registry import COMMANDS, lookup
from engine.replies import QUEUED

log = logging.getLogger("redwood.executor")

# What runs at once inside MULTI instead of being queued.
TRANSACTION_CONTROL = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
# What a RESP2 client with subscriptions may run.
SUBSCRIBED_MODE = frozenset({"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
                             "sunsubscribe", "ping", "quit", "reset"})


def execute(client: Client, argv: list):
    """Run one command for a client; returns the reply value (an error is a value too)."""
    spec = None
    try:
        spec = lookup(argv)
        if not client.authenticated and not spec.no_auth:
            raise errors.NOAUTH             # raised: a refused EXEC answers EXECABORT, as in Redis
        if client.acl is not None:          # a restricted ACL user: NOPERM or on
            acl.check(client, spec, argv)
        if client.state.maxmemory:          # evict before any command; OOM for one that may grow memory
            client.state.eviction.before_command(client, spec)
        if client.state.restricted:         # a replica, min-replicas-to-write (replication.role), a busy script
            _restrictions(client.state, spec)
        if client.subscriptions and client.resp == 2 and spec.name not in SUBSCRIBED_MODE:
            raise errors.err("Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                             "QUIT / RESET are allowed in this context" % spec.name)
        if client.multi is not None and spec.name not in TRANSACTION_CONTROL:
            return queue(client, spec, argv)
        reply = run(client, spec, argv)
    except RedisError as exc:
        spec = spec or COMMANDS.get(argv[0].lower())    # a wrong arity still names its command
        if spec is not None:
            spec.rejected_calls += 1
        if argv[0].lower() == b"exec":      # a refused EXEC discards the transaction
            client.multi, client.multi_failed = None, False
            reason = exc.message[4:] if exc.message.startswith("ERR ") else exc.message
            exc = RedisError("EXECABORT Transaction discarded because of: " + reason)
        elif client.multi is not None:
            client.multi_failed = True      # unknown command or wrong arity: EXEC will abort
        client.state.stats.error(exc)
        return exc
    keyspace = client.keyspace
    if keyspace.ready:
        serve_ready(keyspace)               # this write may have fed clients blocked on its keys
        if keyspace.changes:
            changes.process(client.state, client)
    return reply


def run(client: Client, spec, argv: list):
    """Run a looked-up command (directly, or queued by MULTI and run by EXEC)."""
    state, keyspace = client.state, client.keyspace
    if spec.write and client.store.failure is not None:
        return _refused(state, spec, client.store.failure)
    if client.monitor and (spec.readonly or observe.may_replicate(spec)):
        return _refused(state, spec, observe.MONITOR_KEYSPACE)
    start = time_ns()                       # the command's clock, and SLOWLOG's
    keyspace.now = start // 1_000_000
    client.last_command = spec.name
    if keyspace.notify_flags:
        keyspace.miss_scope = changes.miss_scope(spec, argv) if keyspace.notify_flags & changes.KEY_MISS else None
    try:
        reply = spec.handler(client, argv)
    except RedisError as exc:
        reply = _failed(state, spec, exc)
    except Exception:           # a handler bug: this reply fails, the connection and server go on
        log.exception("command %r failed", argv[0][:64])
        reply = _failed(state, spec, errors.err("internal error while running the command (see the server log)"))
    elapsed = time_ns() - start             # SLOWLOG, LATENCY (engine.observe) and INFO commandstats
    spec.calls += 1
    spec.nanos += elapsed
    if keyspace.changes:
        changes.process(state, client)
    if client.tracking is not None:
        keyspace.tracking.after_command(client, spec, argv)
    if elapsed >= state.slow_ns:
        observe.record_slow(client, spec, argv, elapsed)
    if state.monitors:
        observe.feed_monitors(client, spec, argv)
    return reply


def _refused(state, spec, error: RedisError) -> RedisError:
    spec.rejected_calls += 1
    state.stats.error(error)
    return error


def _failed(state, spec, error: RedisError) -> RedisError:
    spec.failed_calls += 1
    state.stats.error(error)
    return error


def _restrictions(state, spec):
    """NOREPLICAS or READONLY for a write, MASTERDOWN for a command without `stale`, then BUSY
    for one without `allow_busy` while a script holds the server (engine.scripting), in Redis's order."""
    if spec.write and state.refuse_writes is not None:
        raise state.refuse_writes
    if state.refuse_stale is not None and "stale" not in spec.flags:
        raise state.refuse_stale
    if state.busy_script is not None and "allow_busy" not in spec.flags:
        raise state.busy_script


def queue(client: Client, spec, argv: list):
    if "no_multi" in spec.flags:
        raise errors.err("Command not allowed inside a transaction")
    if spec.write and client.store.failure is not None:
        raise client.store.failure
    client.multi.append((spec, argv))
    return QUEUED


def _subcommand(client: Client, argv: list):
    """A logged container command (FUNCTION LOAD …) runs its subcommand's handler."""
    return lookup(argv).handler(client, argv)


class ReplayClient(Client):
    """Runs logged events: what its handlers log is already in the log."""
    __slots__ = ()

    def log(self, argv):
        pass


def replay(state, from_seq: int = 1, to_seq: int | None = None, progress=None) -> int:
    """Apply logged events to the views with the same handlers, `now` taken from each event.

    Replay never expires keys by the clock: the log's DEL events do. Returns the
    number of events applied; `progress(n)` is called every 100k events.
    """
    keyspace = state.keyspace
    client = ReplayClient(state)
    dbs, handlers = keyspace.dbs, {}
    keyspace.expiring = False
    notify_new, keyspace.notify_new = keyspace.notify_new, False    # replay announces nothing
    count = last_ts = 0
    try:
        for key, ts, db, argv in events.replay_stream(state.backend.scan(from_seq, to_seq)):
            handler = handlers.get(argv[0])
            if handler is None:
                handler = handlers[argv[0]] = COMMANDS[argv[0].lower()].handler or _subcommand
            keyspace.now = last_ts = ts
            client.db = dbs[db]
            try:
                handler(client, argv)
            except RedisError as exc:   # a logged write cannot fail: the log or a handler is wrong
                log.error("event %d (%r) failed on replay: %s", int.from_bytes(key, "big"),
                          argv[0], exc.message)
            count += 1
            if progress is not None and not count % 100_000:
                progress(count)
    finally:
        keyspace.expiring, keyspace.notify_new = True, notify_new
    state.store.last_ts = max(state.store.last_ts, last_ts)
    return count
