"""Reading the log as history: instants, event filters, a filtered event stream, and how
an event reads in a table or as JSON. Shared by `redwood log`, `restore`, `diff`, `replay`.
"""
import itertools
import re
from datetime import UTC, datetime, timedelta

# Modules, not names: engine.commands.history imports this module back, and recovery
# (through the snapshot format) imports engine.commands.
import engine.commands  # noqa: F401  (registers the command table event_keys reads)
from engine import events as records
from engine import keyindex, recovery
from engine.glob import is_literal, matcher
from engine.observe import quote
from engine.registry import COMMANDS

_RELATIVE = re.compile(r"-(\d+)(ms|s|m|h|d)")
_EPOCH = datetime.fromtimestamp(0, UTC)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_instant(text: str, now_ms: int) -> int:
    """Milliseconds since the epoch from ISO 8601 (no offset: UTC), a time relative to
    now_ms (`-15m`, `-2h`, `-30s`, `-1d`, `-500ms`) or epoch milliseconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if relative := _RELATIVE.fullmatch(text):
        return now_ms - int(relative.group(1)) * _UNIT_MS[relative.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give ISO 8601 (2026-11-23T10:15:30.250Z), "
                         "a relative time (-15m, -2h, -30s, -1d, -500ms) or epoch milliseconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def iso_time(ms: int) -> str:
    """ISO 8601 UTC to the millisecond."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_keys(event) -> list[bytes] | None:
    """The keys an event touches, from the command table; None for one that touches every
    key of its databases (FLUSHDB, FLUSHALL, SWAPDB)."""
    name = event.argv[0].lower()
    if name in keyindex.WHOLE_DB_COMMANDS:
        return None
    spec = COMMANDS.get(name)
    return [event.argv[i] for i, _ in spec.keys_and_flags(event.argv)] if spec else []


def event_key_dbs(event) -> list[tuple[int, bytes]] | None:
    """The (db, key) pairs an event names: its keys in its own database, except MOVE's key
    (in both) and the destination of COPY … DB; None for one that touches whole databases
    (event_dbs says which)."""
    keys = event_keys(event)
    if keys is None:
        return None
    name, argv = event.argv[0].lower(), event.argv
    if name == b"move":
        return [(event.db, argv[1]), (int(argv[2]), argv[1])]
    if name == b"copy":
        return [(event.db, argv[1]), (_copy_target(event), argv[2])]
    return [(event.db, key) for key in keys]


def touches(event, db: int, key: bytes) -> bool:
    """Whether the event names key of database db, or touches that database whole."""
    pairs = event_key_dbs(event)
    if pairs is None:
        dbs = event_dbs(event)
        return dbs is None or db in dbs
    return (db, key) in pairs


def _copy_target(event) -> int:
    upper = [arg.upper() for arg in event.argv]
    return int(event.argv[upper.index(b"DB", 3) + 1]) if b"DB" in upper[3:] else event.db


def event_dbs(event) -> set[int] | None:
    """The databases an event changes; None for all of them (FLUSHALL)."""
    name, argv = event.argv[0].lower(), event.argv
    if name == b"flushall":
        return None
    if name == b"swapdb":
        return {int(argv[1]), int(argv[2])}
    if name == b"move":
        return {event.db, int(argv[2])}
    if name == b"copy":
        return {event.db, _copy_target(event)}
    return {event.db}


class EventFilter:
    """Which events to keep; every criterion given must hold (None: any)."""

    def __init__(self, keys: str | None = None, client: str | None = None, user: str | None = None,
                 db: int | None = None, commands: set[bytes] | None = None,
                 since_ms: int | None = None, until_ms: int | None = None):
        self.keys = keys
        self.key_match = matcher(keys.encode()) if keys is not None else None
        self.client, self.user, self.db, self.commands = client, user, db, commands
        self.since_ms, self.until_ms = since_ms, until_ms

    def matches(self, event) -> bool:
        if self.since_ms is not None and event.ts < self.since_ms:
            return False
        if self.until_ms is not None and event.ts > self.until_ms:
            return False
        if self.commands is not None and event.argv[0].lower() not in self.commands:
            return False
        origin = event.origin
        if self.user is not None and origin.user != self.user:
            return False
        if self.client is not None and self.client not in (
                origin.addr, origin.addr.rpartition(":")[0], origin.name):
            return False
        if self.db is None and self.key_match is None:
            return True
        pairs = event_key_dbs(event)
        if pairs is None:                   # whole databases: any key of them
            dbs = event_dbs(event)
            return self.db is None or dbs is None or self.db in dbs
        return any((self.db is None or db == self.db) and (self.key_match is None or self.key_match(key))
                   for db, key in pairs)


def events(backend, from_seq=None, to_seq=None, flt=None):
    """The decoded events from from_seq to to_seq (inclusive; None: the log's ends), in seq
    order, those flt keeps; streaming. A time range narrows the seqs read by binary search,
    a key filter without wildcards to the key's events in the key index."""
    first = max(from_seq or 1, backend.first_seq or 1)
    if flt is not None and flt.since_ms is not None:
        first = max(first, recovery.seq_at(backend, flt.since_ms - 1) + 1)
    if flt is not None and flt.until_ms is not None:
        until = recovery.seq_at(backend, flt.until_ms)
        to_seq = until if to_seq is None else min(to_seq, until)
    if to_seq is not None and to_seq < first:
        return
    if flt is not None and flt.keys is not None and is_literal(key := flt.keys.encode()):
        last = backend.last_seq if to_seq is None else to_seq
        seqs = itertools.takewhile(lambda seq: seq >= first, keyindex.newest_first(backend, key, last + 1))
        found = (pair for seq in reversed(list(seqs)) for pair in backend.read(seq, seq))
    else:
        found = backend.read(first, to_seq)
    for seq, record in found:
        event = records.decode(seq, record)
        if flt is None or flt.matches(event):
            yield event


# -- how an event reads ------------------------------------------------------------------
TABLE_HEADER = f"{'seq':>10}  {'time':24}  {'db':>2}  {'user':12}  {'client':24}  command"


def format_event(event, width: int = 160) -> str:
    """One row under TABLE_HEADER: the command as MONITOR quotes it, each argument and the
    row cut to fit `width` with `…`."""
    limit = max(width // 4, 16)
    command = " ".join(quote(arg) if len(arg) <= limit else quote(arg[:limit])[:-1] + '…"'
                       for arg in event.argv)
    row = (f"{event.seq:>10}  {iso_time(event.ts):24}  {event.db:>2}  {_shorten(event.origin.user or '-', 12):12}  "
           f"{_shorten(client_label(event.origin), 24):24}  {command}")
    return _shorten(row, width)


def client_label(origin) -> str:
    """A client's address and name (`undo by …` for a client's HISTORY REVERT); the origin's
    kind for what no client did (expire, evict …)."""
    if origin.kind not in ("client", "undo"):
        return origin.kind
    label = f"{origin.addr} ({origin.name})" if origin.name else origin.addr or "-"
    return label if origin.kind == "client" else f"undo by {label}"


def event_json(event) -> dict:
    """The event as JSON values: argv as text, bytes that are not UTF-8 escaped (\\xHH)."""
    origin = event.origin
    return {"seq": event.seq, "ts": event.ts, "time": iso_time(event.ts), "db": event.db,
            "multi": bool(event.flags & records.FLAG_MULTI),
            "origin": {"kind": origin.kind, "client_id": origin.client_id, "addr": origin.addr,
                       "name": origin.name, "user": origin.user},
            "argv": [arg.decode("utf-8", "backslashreplace") for arg in event.argv]}


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
