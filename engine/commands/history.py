"""HISTORY: the event log, online. Where the log stands (and this connection's last write),
the events that touched a key (newest first, paged like SCAN), audit queries over the log,
the change stream, reads as of a past event and the undo of a key or a database.

A key's history is read from the key index (engine.keyindex), at most SCAN_LIMIT entries
per call: the reply's cursor says where the next call goes on (0: the key's first event
was reached), so a key with a long history costs several calls, never one long stall of
the server. The key is declared read-only, so ACL key patterns apply as to GET.
"""
# history and recovery as modules: both import this package back (through the snapshot format)
import asyncio
import logging
from contextlib import contextmanager

from engine import acl, errors, events, executor, history, keyindex, recovery
from engine.acl_user import READ, WRITE
from engine.blocking import block
from engine.client import Client
from engine.commands.hashes import Hash
from engine.commands.lists import ListValue
from engine.commands.sets import SetValue
from engine.commands.zsets import ZSet
from engine.keyspace import Keyspace
from engine.events import decode
from engine.parsing import parse_int
from engine.registry import command, container_docs, lookup
from engine.replies import OK, Map
from engine.state import Stats
from engine.store import Store

log = logging.getLogger("redwood.history")
SCAN_LIMIT = 65536      # index entries looked at per HISTORY KEY call
LOG_SCAN_LIMIT = 8192   # events decoded per HISTORY LOG call (~4 µs each: a ~30 ms turn at most)

container_docs("history", group="server", summary="A container for commands that read the event log's history",
               since="7.0.0", complexity="Depends on subcommand.")


@command("history|position", 2, "loading stale fast", group="server", acl="slow",
         summary="Return the event log's first and last event, the retention horizon and the seq of this "
                 "connection's last write", since="7.0.0", complexity="O(log N) with N the retained events")
def history_position(client, argv):
    backend = client.state.backend
    first, last = backend.first_seq, backend.last_seq
    horizon_seq, horizon_time = recovery.horizon(backend)
    return Map({b"first-seq": first, b"first-time": recovery.event_ts(backend, first) if first else 0,
                b"last-seq": last, b"last-time": recovery.event_ts(backend, last) if last else 0,
                b"horizon-seq": horizon_seq, b"horizon-time": horizon_time,
                b"last-write": client.last_write})


@command("history|key", -3, "readonly", keys=(2, 2, 1), group="server", acl="slow",
         summary="Return the events that named a key (wrote it, or read it to write another), newest first", since="7.0.0",
         complexity="O(N) with N the events looked at (at most 65536 per call)",
         syntax="key [BEFORE seq:integer] [COUNT count:integer]")
def history_key(client, argv):
    """`[cursor, [[seq, time, db, user, client address, client name, [command …], origin] …]]`
    (origin: client, expire, evict, replication, internal, undo):
    events of this database that touched key with a seq below BEFORE (default: all), at most
    COUNT (default 10); cursor is the BEFORE of the next page, 0 when there is none."""
    key, before, count = argv[2], None, 10
    i = 3
    while i < len(argv):
        option = argv[i].lower()
        if option not in (b"before", b"count") or i + 1 >= len(argv):
            raise errors.SYNTAX
        value = parse_int(argv[i + 1])
        if option == b"before":
            before = value
        else:
            count = value
        if value <= 0:
            raise errors.err(f"{option.decode().upper()} must be positive")
        i += 2
    backend = client.state.backend
    first, last = backend.first_seq, backend.last_seq
    if before is not None and before <= first:
        raise _outside(before, first)
    found, cursor = _key_events(backend, key, client.db.index, min(before or last + 1, last + 1), count)
    return [cursor, [_entry(event) for event in found]]


@command("history|follow", 3, "loading stale", group="server", acl="slow",
         summary="Receive every committed event of the log from a seq on, as push messages", since="7.0.0",
         complexity="O(N) with N the events sent", syntax="seq:integer")
def history_follow(client, argv):
    """The change stream: push messages `history seq time db user client-address client-name
    [command …] origin` for every event from seq on (those still held, then each as it commits);
    a client resumes after a disconnect by following from the last seq it saw plus one."""
    seq = parse_int(argv[2])
    backend = client.state.backend
    if client.state.replication is None:
        raise errors.err("the change stream needs a running server")
    if seq < 1 or (backend.first_seq > 1 and seq < backend.first_seq):
        raise _outside(seq, backend.first_seq or 1)
    client.state.replication.changefeed.follow(client, seq)
    return OK


@command("history|unfollow", 2, "loading stale", group="server", acl="slow",
         summary="Stop receiving the log's events", since="7.0.0", complexity="O(1)")
def history_unfollow(client, argv):
    if client.state.replication is not None:
        client.state.replication.changefeed.unfollow(client)
    return OK


@command("history|log", -2, "readonly", group="server", acl="slow",
         summary="Return the events matching an audit query (user, client, key pattern, time), oldest first",
         since="7.0.0", complexity="O(N) with N the events looked at (at most 8192 per call)",
         syntax="[AFTER seq:integer] [SINCE time] [UNTIL time] [USER username] [CLIENT client] [MATCH pattern] "
                "[COUNT count:integer]")
def history_log(client, argv):
    """`[cursor, [entry …]]`, entries as HISTORY KEY's, oldest first: the events after AFTER (a
    seq; default: the log's start) that match every criterion given; SINCE and UNTIL take
    epoch ms, ISO 8601 or `-15m`-style times. cursor is the AFTER of the next page, 0 at the
    log's end. A user restricted by ACL sees only events whose keys it may read."""
    options, count, after = {}, 10, 0
    for i in range(2, len(argv), 2):
        option = argv[i].lower()
        if option not in (b"after", b"since", b"until", b"user", b"client", b"match", b"count") or \
                i + 1 >= len(argv) or option in options:
            raise errors.SYNTAX
        options[option] = argv[i + 1]
    if b"count" in options:
        count = parse_int(options[b"count"])
        if count <= 0:
            raise errors.err("COUNT must be positive")
    if b"after" in options:
        after = parse_int(options[b"after"])
    instants = {name: _instant(client, options[name]) for name in (b"since", b"until") if name in options}
    text = lambda name: options[name].decode(errors="replace") if name in options else None  # noqa: E731
    flt = history.EventFilter(keys=text(b"match"), client=text(b"client"), user=text(b"user"),
                              since_ms=instants.get(b"since"), until_ms=instants.get(b"until"))
    backend = client.state.backend
    first, last = backend.first_seq, backend.last_seq
    if b"after" in options and first > 1 and after < first - 1:
        raise _outside(after + 1, first)
    start = max(after + 1, first or 1)
    if flt.since_ms is not None:
        start = max(start, recovery.seq_at(backend, flt.since_ms - 1) + 1)
    end = last if flt.until_ms is None else min(last, recovery.seq_at(backend, flt.until_ms))
    readable = _readable(client)
    found, seq = [], start - 1
    for seq, record in backend.read(start, min(end, start + LOG_SCAN_LIMIT - 1)) if start <= end else ():
        event = decode(seq, record, verify=False)
        if flt.matches(event) and readable(event):
            found.append(event)
            if len(found) == count:
                break
    cursor = seq if seq < end else 0
    return [cursor, [_entry(event) for event in found]]


def _key_events(backend, key: bytes, db: int, before: int, count: int):
    """Up to count events of db below seq `before` that touched key, newest first, and the
    cursor: from the key index (the key's entries and the whole-database events'), each
    event read and checked (a digest may be another key's, another database's); at most
    SCAN_LIMIT entries looked at."""
    found, looked = [], 0
    for seq in keyindex.newest_first(backend, key, before, min(keyindex.PAGE_MAX, count + 8)):
        if looked == SCAN_LIMIT:
            return found, before
        looked, before = looked + 1, seq
        for _, record in backend.read(seq, seq):
            event = decode(seq, record, verify=False)
            if history.touches(event, db, key):
                found.append(event)
        if len(found) == count:
            return found, seq
    return found, 0


def _instant(client, raw: bytes) -> int:
    """A time argument: epoch ms, ISO 8601 or `-15m`-style (engine.history.parse_instant)."""
    try:
        return history.parse_instant(raw.decode(errors="replace"), client.keyspace.now)
    except ValueError as exc:
        raise errors.err(str(exc)) from None


def _outside(seq: int, first: int) -> errors.RedisError:
    return errors.err(f"event {seq} is outside the retention window: the log starts at event {first}")


def _readable(client):
    """Whether client's user may read every key of an event (unrestricted users: all)."""
    user = client.acl
    if user is None:
        return lambda event: True

    def readable(event) -> bool:
        keys = history.event_keys(event)
        if keys is None:
            return user.key_allowed(b"*", READ)          # FLUSHDB and the like: all keys
        return all(any(selector.key_allowed(key, READ) for selector in (user, *user.selectors)) for key in keys)
    return readable


def _entry(event) -> list:
    origin = event.origin
    return [event.seq, event.ts, event.db, origin.user.encode(), origin.addr.encode(), origin.name.encode(),
            event.argv, origin.kind.encode()]


# -- reading the past --------------------------------------------------------------------------
VIEWS = 2                    # views kept (the most recently used)
VIEW_EVENTS = 1_000_000      # at most this many events replayed to build one
VIEW_SNAPSHOT_BYTES = 64 << 20
PART = 16 * 1024             # items per command that rebuilds an aggregate (undo)


@command("history|asof", -5, "readonly", group="server", acl="slow",
         summary="Run a read-only command against the dataset as it was at an event (SEQ) or a time (TIME)",
         since="7.0.0", complexity="That of the command, once the view of that instant is built (at most "
         "1,000,000 events replayed; kept for the next reads)",
         syntax="(SEQ seq:integer | TIME time) command [arg ...]")
def history_asof(client, argv):
    """HISTORY ASOF SEQ n GET key / HISTORY ASOF TIME -15m HGETALL key …: the command runs on a
    read-only view of the state after that event (TIME: the last event at or before it), built
    from the nearest snapshot and the log and cached; keys past their expiry then read as gone."""
    seq, inner, state = _point(client, argv[2], argv[3]), argv[4:], client.state
    spec = lookup(inner)
    if not spec.readonly:
        raise errors.err(f"HISTORY ASOF runs read-only commands, not '{spec.name}'")
    if client.acl is not None:
        acl.check(client, spec, inner)
    if seq in state.history_views or client.connection is None or client.in_exec:
        return _read_past(client, _view(state, seq), spec, inner)
    # A view to build: in a worker thread while the client waits, so the loop serves the others.
    waiter = None

    def built(future):
        if client.blocked is waiter:              # still waiting (not gone, not unblocked)
            try:
                reply = _read_past(client, _view(state, seq, future.result()), spec, inner)
            except errors.RedisError as exc:
                reply = exc
            except Exception:
                log.exception("building the view at event %d failed", seq)
                reply = errors.err("internal error while building the view (see the server log)")
            client.connection.unblocked(reply)

    asyncio.get_running_loop().run_in_executor(None, _build_view, state, seq).add_done_callback(built)
    reply = block(client, (), 0, _no_key)
    waiter = client.blocked
    return reply


def _read_past(client, view, spec, argv):
    reader = Client(view)
    reader.db = view.keyspace.dbs[client.db.index]
    return spec.handler(reader, argv)


def _no_key(key):
    """A client waiting for a view waits on no key: the build's end answers it."""
    return None


def _point(client, kind: bytes, raw: bytes) -> int:
    """The event a `SEQ n` or `TIME t` argument names (TIME: the last at or before it),
    refused outside what the log can rebuild."""
    backend, kind = client.state.backend, kind.lower()
    if kind == b"seq":
        seq = parse_int(raw)
    elif kind == b"time":
        seq = recovery.seq_at(backend, _instant(client, raw))
    else:
        raise errors.SYNTAX
    last, horizon_seq = backend.last_seq, recovery.horizon(backend)[0]
    if not horizon_seq <= seq <= last or seq < 0:
        raise errors.err(f"event {seq} is outside the retention window (events {horizon_seq}..{last})"
                         if seq <= last else f"event {seq} is not in the log yet (the last is {last})")
    return seq


def _view(state, seq: int, built=None):
    """The state after event seq: `built`, or from the cache, or built now; cached (the most
    recently used VIEWS)."""
    views = state.history_views
    view = views.pop(seq, None) or built or _build_view(state, seq)
    views[seq] = view
    while len(views) > VIEWS:
        del views[next(iter(views))]
    return view


def _build_view(state, seq: int):
    """The state after event seq from the nearest snapshot and the log; refused when it would
    take more than VIEW_EVENTS events or a snapshot over VIEW_SNAPSHOT_BYTES. Touches nothing
    but the new view and the backend's reads, so a worker thread may run it."""
    backend = state.backend
    base = max((info for info in backend.snapshots() if info.seq <= seq), default=None,
               key=lambda info: info.seq)
    replayed = seq - (base.seq if base is not None else 0)
    if replayed > VIEW_EVENTS or (base is not None and base.size > VIEW_SNAPSHOT_BYTES):
        raise errors.err(f"the view at event {seq} is too large to build here ({replayed} events to replay"
                         f"{'' if base is None else f', a snapshot of {base.size} bytes'}): use redwood restore")
    view = _View(state)
    recovery.restore(view, seq)
    view.keyspace.replica = True            # expired keys read as gone, never deleted
    view.keyspace.now = recovery.event_ts(backend, seq) if seq else 0
    return view


class _View:
    """What replay and a read need of a server: a keyspace of its own over the same log (the
    store is never appended to: the view is read-only)."""

    def __init__(self, state):
        self.config, self.backend, self.users = state.config, state.backend, state.users
        self.keyspace = Keyspace(state.config["databases"])
        self.store = Store(state.backend, self.keyspace)
        self.stats = Stats()
        self.maxmemory = 0
        self.replication = None


# -- undo --------------------------------------------------------------------------------------
@command("history|revert", 5, "write denyoom", keys=(2, 2, 1), group="server", acl="slow",
         summary="Set a key back to its value at a past event or time, as new write events",
         since="7.0.0", complexity="O(N) with N the elements of the key, once the view of that instant "
         "is built (as HISTORY ASOF)", syntax="key (SEQ seq:integer | TIME time)")
def history_revert(client, argv):
    """1 when the key changed, 0 when it already was as then. The undo is written as plain
    commands (DEL, then SET / RPUSH / HSET / SADD / ZADD and PEXPIREAT) in one atomic batch
    whose origin is `undo` by this client, so the key's history shows it and replay, replicas
    and any Redis fed the log apply it like any write."""
    past = _view(client.state, _point(client, argv[3], argv[4])).keyspace.dbs[client.db.index]
    with _undoing(client):
        return int(_revert(client, past, argv[2]))


@command("history|revertdb", 4, "write denyoom", group="server", acl="slow",
         summary="Set the current database back to its state at a past event or time, as new write events",
         since="7.0.0", complexity="O(N) with N the keys then and now, once the view of that instant is built",
         syntax="(SEQ seq:integer | TIME time)")
def history_revertdb(client, argv):
    """The number of keys that changed, each reverted as HISTORY REVERT does, all in one
    atomic batch; needs a user who may read and write every key."""
    user = client.acl
    if user is not None and not all(user.key_allowed(b"*", mode) for mode in (READ, WRITE)):
        raise acl.NOPERM_KEY
    past = _view(client.state, _point(client, argv[2], argv[3])).keyspace.dbs[client.db.index]
    keys = sorted(client.db.data.keys() | past.data.keys())
    with _undoing(client):
        return sum(_revert(client, past, key) for key in keys)


@contextmanager
def _undoing(client):
    """The client's writes meanwhile are one atomic batch with an `undo` origin."""
    store, origin = client.store, client.origin
    flags, store.flags = store.flags, events.FLAG_MULTI
    client.origin = events.Origin("undo", client.id, client.addr, client.name.decode(errors="replace"),
                                  client.user).encode()
    try:
        yield
    finally:
        client.origin, store.flags = origin, flags


def _revert(client, past, key: bytes) -> bool:
    """Make key in the client's database what it was in `past`; False when it already is."""
    db, now = client.db, client.keyspace.now
    then, until = past.data.get(key), past.expires.get(key)
    if then is not None and until is not None and until <= now:
        then = None                               # alive then, expired since
    current = db.get(key)
    if _contents(then) == _contents(current) and (then is None or until == db.expires.get(key)):
        return False
    writes = [[b"DEL", key]] if current is not None else []
    if then is not None:
        writes += _rebuild(key, then)
        if until is not None:
            writes.append([b"PEXPIREAT", key, b"%d" % until])
    for write in writes:
        reply = executor.run(client, lookup(write), write)
        if isinstance(reply, errors.RedisError):
            raise reply
    return True


def _contents(value):
    """A value as plain data of its type, to compare a past value with the current one."""
    if value is None or isinstance(value, (bytes, bytearray)):
        return value if value is None else ("string", bytes(value))
    if isinstance(value, SetValue):
        return "set", value.members
    return value.__class__.__name__, (list(value) if isinstance(value, ListValue) else dict(value))


def _rebuild(key: bytes, value) -> list[list[bytes]]:
    """The commands that create key holding value, an aggregate in parts of PART items."""
    if isinstance(value, (bytes, bytearray)):
        return [[b"SET", key, bytes(value)]]
    if isinstance(value, Hash):
        name, items = b"HSET", [item for pair in value.items() for item in pair]
    elif isinstance(value, ListValue):
        name, items = b"RPUSH", list(value)
    elif isinstance(value, SetValue):
        name, items = b"SADD", list(value.members)
    elif isinstance(value, ZSet):
        name, items = b"ZADD", [item for member, score in value.items() for item in (repr(score).encode(), member)]
    else:
        raise TypeError(f"no undo for {value.__class__.__name__}")
    step = 2 if name in (b"HSET", b"ZADD") else 1
    return [[name, key, *items[i:i + PART * step]] for i in range(0, len(items), PART * step)]
