"""`redwood restore`, `redwood log` and `redwood diff`: the log read as history.

They read a store beside a live server as well as a stopped one's (both backends let a
second process read), and never write to it: restore writes a new directory.
"""
import itertools
import json
import os
import signal
import sys
import time

import migrations
from backends import open_backend
from engine import commands, history, recovery  # noqa: F401  (commands registers the handlers replay runs)
from engine.commands.keys import type_name
from engine.commands.sets import SetValue
from engine.config import Config
from engine.history import EventFilter, iso_time
from engine.observe import quote
from engine.state import ServerState
from server.tools import ToolError, copy_store, open_store, progress_bar, refusals

POLL = 0.1      # seconds between looks at a live log (`log --follow`)


# -- instants ------------------------------------------------------------------------------
def instant(text: str) -> int:
    try:
        return history.parse_instant(text, time.time_ns() // 1_000_000)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


def restorable_seq(backend, to_seq: int | None = None, to_time: str | None = None) -> int:
    """The seq of the state as of --to-seq or --to-time (the last event at or before it),
    refused outside the retention window."""
    seq = to_seq if to_time is None else recovery.seq_at(backend, instant(to_time))
    what = f"event {seq}" if to_time is None else f"{to_time} (event {seq})"
    if seq > backend.last_seq or seq < 0:
        raise ToolError(f"{what} is not in the log, which ends at event {backend.last_seq}")
    horizon_seq, horizon_ts = recovery.horizon(backend)
    if horizon_seq and seq < max(horizon_seq, backend.first_seq):
        raise ToolError(f"{what} is before the retention horizon: the oldest restorable state is "
                        f"event {horizon_seq} ({iso_time(horizon_ts)})")
    return seq


# -- restore -------------------------------------------------------------------------------
class _Past:
    """A store as it was after event `seq` (its records and snapshots up to seq), for copy_store."""

    def __init__(self, backend, seq: int):
        self.backend, self.last_seq = backend, seq
        self.first_seq = backend.first_seq if seq else 0
        self.read_snapshot, self.meta_items = backend.read_snapshot, backend.meta_items

    def read(self, from_seq: int, to_seq: int | None = None):
        return self.backend.read(from_seq, self.last_seq if to_seq is None else min(to_seq, self.last_seq))

    def index_items(self, from_seq: int, to_seq: int):
        return self.backend.index_items(from_seq, min(to_seq, self.last_seq))

    def snapshots(self):
        return [info for info in self.backend.snapshots() if info.seq <= self.last_seq]


@refusals
def restore(args):
    source = open_store(args.dir)
    try:
        _require_current(source, args.dir)
        if os.path.exists(args.out) and os.listdir(args.out):
            raise ToolError(f"{args.out} is not empty: restore writes only into a new or empty directory")
        seq = restorable_seq(source, args.to_seq, args.to_time)
        keys, snapshots = write_past(source, seq, args.out)
        ts = recovery.event_ts(source, seq) if seq else 0
        first = source.first_seq if seq else 0
    finally:
        source.close()
    report = {"dir": args.dir, "out": args.out, "backend": source.kind, "seq": seq, "ts": ts,
              "time": iso_time(ts) if ts else None, "keys": keys, "log": [first, seq], "snapshots": snapshots}
    when = f" ({report['time']})" if ts else ""
    print(json.dumps(report) if args.json else
          f"{args.out}: the state of {args.dir} as of event {seq}{when}: {keys} keys; history kept: "
          f"events {first}..{seq} and {snapshots} snapshots")


def write_past(source, seq: int, out: str) -> tuple[int, int]:
    """Make the new directory `out` a store of the source's kind holding its history up to
    event seq (records, snapshots, metadata and log id), plus a snapshot at seq so a server
    started there serves that state at once; returns (keys, snapshots) of that store."""
    past = _Past(source, seq)
    dest = open_backend(source.kind, out)
    try:
        copy_store(past, dest, progress_bar(total=seq - past.first_seq + 1 if seq else None))
        print(file=sys.stderr)
        state = ServerState(Config(), dest)
        if seq:
            recovery.build_snapshot(state, seq)
        return sum(len(db.data) for db in state.keyspace.dbs), len(dest.snapshots())
    finally:
        dest.close()


def _require_current(backend, path: str):
    version = migrations.format_version(backend, path)
    if version != migrations.CURRENT:
        raise ToolError(f"{path} has format version {version}; run `redwood migrate --dir {path}` first")


# -- log -----------------------------------------------------------------------------------
@refusals
def log(args):
    backend = open_store(args.dir)
    signal.signal(signal.SIGTERM, signal.default_int_handler)    # SIGTERM stops it as Ctrl-C does
    try:
        flt = event_filter(args)
        stream = (tail(backend, args.from_seq, flt) if args.follow
                  else history.events(backend, args.from_seq, None, flt))
        if not args.json:
            print(history.TABLE_HEADER)
        for event in itertools.islice(stream, args.count):
            print(json.dumps(history.event_json(event)) if args.json else history.format_event(event),
                  flush=args.follow)
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:                 # `redwood log … | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    finally:
        backend.close()
    return 0


def event_filter(args) -> EventFilter:
    names = {name.strip().lower().encode() for name in args.command.split(",")} if args.command else None
    return EventFilter(keys=args.key, client=args.client, user=args.user, db=args.db, commands=names,
                       since_ms=instant(args.since) if args.since else None,
                       until_ms=instant(args.until) if args.until else None)


def tail(backend, from_seq, flt):
    """The matching events from from_seq on, then each one committed after, forever."""
    after = (from_seq or 1) - 1
    while True:
        last = backend.last_seq
        if last > after:
            yield from history.events(backend, after + 1, last, flt)
            after = last
        time.sleep(POLL)


# -- diff ----------------------------------------------------------------------------------
@refusals
def diff(args):
    backend = open_store(args.dir)
    try:
        _require_current(backend, args.dir)
        instants = instant(args.from_time), instant(args.to_time)
        if instants[0] > instants[1]:
            raise ToolError("--from is after --to")
        seqs = [restorable_seq(backend, to_time=text) for text in (args.from_time, args.to_time)]
        keys, whole = touched(backend, *seqs)
        states = []
        for seq in seqs:
            state = ServerState(Config(), backend)
            recovery.restore(state, seq)
            states.append(state)
        changes = compare(states, keys, whole, instants)
    finally:
        backend.close()
    ends = [{"seq": seq, "ts": ms, "time": iso_time(ms)} for seq, ms in zip(seqs, instants)]
    if args.json:
        changes = [{**change, "key": change["key"].decode("utf-8", "backslashreplace")} for change in changes]
        print(json.dumps({"from": ends[0], "to": ends[1], "keys": changes}))
        return 0
    for change in changes:
        print(describe(change))
    print(f"{len(changes)} keys changed between {ends[0]['time']} (event {seqs[0]}) and "
          f"{ends[1]['time']} (event {seqs[1]})")
    return 0


def touched(backend, from_seq: int, to_seq: int):
    """What the events after from_seq up to to_seq may have changed: (db, key) pairs, and the
    dbs changed whole (a set of indexes; None: all)."""
    keys, whole = set(), set()
    for event in history.events(backend, from_seq + 1, to_seq):
        pairs = history.event_key_dbs(event)
        if pairs is None:
            dbs = history.event_dbs(event)
            whole = None if dbs is None or whole is None else whole | dbs
        else:
            keys.update(pairs)
    return keys, whole


def compare(states, keys, whole, instants) -> list[dict]:
    """The keys whose type, value or expiry differ between the two states as clients saw them
    at the two instants, in (db, key) order. Keys that expired in between count too: an
    expiry is logged only when the server finds the key expired."""
    before, after = (state.keyspace.dbs for state in states)
    wanted = set(keys)
    for index, db in enumerate(before):
        wanted.update((index, key) for key, when in db.expires.items() if instants[0] < when <= instants[1])
        if whole is None or index in whole:
            wanted.update((index, key) for key in itertools.chain(db.data, after[index].data))
    changes = []
    for index, key in sorted(wanted):
        old, new = (_live(dbs[index], key, at) for dbs, at in ((before, instants[0]), (after, instants[1])))
        change = _change(old, new)
        if change:
            changes.append({"db": index, "key": key, "change": change,
                            "before": _shape(old), "after": _shape(new)})
    return changes


def _live(db, key: bytes, at_ms: int):
    """(value, expire time or None) of key as a client would have found it at at_ms, or None."""
    value, when = db.data.get(key), db.expires.get(key)
    if value is None or (when is not None and when <= at_ms):
        return None
    return value, when


def _change(old, new) -> str | None:
    if old is None or new is None:
        return None if old is new else ("added" if old is None else "removed")
    if type_name(old[0]) != type_name(new[0]):
        return "type"
    same = old[0].members == new[0].members if isinstance(old[0], SetValue) else old[0] == new[0]
    if not same:
        return "value" if old[1] == new[1] else "value+ttl"
    return None if old[1] == new[1] else "ttl"


def _shape(found) -> dict | None:
    """A key's type, size (bytes of a string, items of an aggregate) and expiry time."""
    if found is None:
        return None
    value, when = found
    return {"type": type_name(value), "size": len(value), "expires": when}


def describe(change: dict) -> str:
    old, new = change["before"], change["after"]
    head = f"{change['db']:>2}  {quote(change['key'])}  {change['change']:9}"
    if old is None or new is None:
        return f"{head}  {_shape_text(old or new)}"
    parts = [f"{old['type']} -> {new['type']}" if old["type"] != new["type"] else new["type"],
             f"size {old['size']} -> {new['size']}" if old["size"] != new["size"] else f"size {new['size']}"]
    if old["expires"] != new["expires"]:
        parts.append(f"expires {_when(old['expires'])} -> {_when(new['expires'])}")
    return f"{head}  {', '.join(parts)}"


def _shape_text(shape: dict) -> str:
    text = f"{shape['type']}, size {shape['size']}"
    return text + (f", expires {_when(shape['expires'])}" if shape["expires"] else "")


def _when(ms: int | None) -> str:
    return iso_time(ms) if ms else "never"
