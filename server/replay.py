"""`redwood replay`: re-apply a slice of a store's history to another server or a new store.

The log's commands are plain Redis commands, so replaying into a server is sending them
(SELECT whenever the db changes), pipelined over one connection, every reply checked.
Replaying into a new store runs them through the engine's handlers, each at its event's
time, so the new store's log holds them as events of its own (a new log id and seqs).
"""
import json
import os
import socket
import sys
import time
from urllib.parse import unquote, urlsplit

import hiredis

import migrations
from backends import open_backend
from engine import commands, history, recovery  # noqa: F401  (commands registers the handlers replay runs)
from engine.client import Client
from engine.config import Config
from engine.errors import RedisError
from engine.events import FLAG_MULTI
from engine.observe import quote
from engine.registry import lookup
from engine.state import ServerState
from server.history_tools import event_filter
from server.tools import ToolError, open_store, progress_bar, refusals

PIPELINE = 1000             # commands per round trip to a server
PIPELINE_BYTES = 1 << 20    # … or fewer, so neither side's buffers fill while the other writes
STORE_BATCH = 10_000        # events per commit into a new store


class Failed(ToolError):
    """An event the target refused: replay stops there."""

    def __init__(self, seq: int, argv: list, error: str, target: str, note: str = ""):
        super().__init__(f"event {seq} ({command_text(argv)}) failed on {target}: {error}{note}")
        self.seq, self.argv, self.error = seq, argv, error


@refusals
def replay(args):
    speed = parse_speed(args.speed)
    source = open_store(args.dir)
    try:
        migrations.format_version(source, args.dir)     # refuses a format newer than ours
        flt = event_filter(args)
        first, last = span(source, args, flt)
        stream = history.events(source, first, last, flt)
        if args.dry_run:
            return dry_run(stream, args)
        if args.out is not None:
            with NewStore(args.out, args.backend or source.kind) as sink:
                return report(args, sink, stream, first, last, speed)
        with Server(args.to) as sink:
            return report(args, sink, stream, first, last, speed)
    finally:
        source.close()


def parse_speed(text: str) -> float | None:
    """The pace as a factor of the recorded one (`1x`, `2x`, `0.5x`); None for `max`."""
    if text == "max":
        return None
    try:
        factor = float(text.removesuffix("x"))
    except ValueError:
        factor = 0
    if not text.endswith("x") or factor <= 0:
        raise ToolError(f"--speed {text}: give 1x, 2x, 0.5x … or max")
    return factor


def span(backend, args, flt) -> tuple[int, int]:
    """The seqs the slice lies within, fixed now: a live server's later events are not part of it."""
    first = max(args.from_seq or 1, backend.first_seq or 1)
    last = backend.last_seq if args.to_seq is None else min(args.to_seq, backend.last_seq)
    if flt.since_ms is not None:
        first = max(first, recovery.seq_at(backend, flt.since_ms - 1) + 1)
    if flt.until_ms is not None:
        last = min(last, recovery.seq_at(backend, flt.until_ms))
    return first, last


def dry_run(stream, args):
    if not args.json:
        print(history.TABLE_HEADER)
    count = 0
    try:
        for count, event in enumerate(stream, 1):
            print(json.dumps(history.event_json(event)) if args.json else history.format_event(event))
    except BrokenPipeError:                 # `… --dry-run | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    print(f"dry run: {count} events would be replayed into {args.out or redacted(args.to)}; nothing sent",
          file=sys.stderr)


def report(args, sink, stream, first: int, last: int, speed: float | None):
    """Run the replay, then print its summary (also when the target refused an event)."""
    start, failure = time.monotonic(), None
    try:
        count = pace(sink, stream, speed, first, last)
    except Failed as exc:
        count, failure = sink.applied, exc
    seconds = time.monotonic() - start
    print(file=sys.stderr)                      # below the progress bar
    summary = {"target": sink.name, "first_seq": first, "last_seq": last, "events": count,
               "seconds": round(seconds, 3), "events_per_sec": round(count / seconds) if seconds else 0}
    if failure is not None:
        summary["error"] = {"seq": failure.seq, "argv": [arg.decode("utf-8", "backslashreplace")
                                                         for arg in failure.argv], "reply": failure.error}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{count} events replayed into {sink.name} in {summary['seconds']:.2f} s "
              f"({summary['events_per_sec']:,} events/s)")
    if failure is not None:
        raise failure
    return 0


def pace(sink, stream, speed: float | None, first: int, last: int) -> int:
    """Hand each event to the sink, at `speed` times the recorded pace (None: at once);
    returns how many it applied."""
    progress = progress_bar(total=last - first + 1)
    start, first_ts = time.monotonic(), None
    for event in stream:
        if speed is not None:
            if first_ts is None:
                first_ts = event.ts
            wait = (event.ts - first_ts) / 1000 / speed - (time.monotonic() - start)
            if wait > 0:
                sink.flush()                    # what is due now leaves before the pause
                time.sleep(wait)
        sink.add(event)
        if sink.full:
            sink.flush()
            progress((event.seq - first + 1) / (last - first + 1))
    sink.flush()
    progress(1.0)
    return sink.applied


# -- into a server -------------------------------------------------------------------------
class Server:
    """One connection to a Redis-compatible server, commands pipelined in batches."""

    def __init__(self, url: str):
        self.name = redacted(url)
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname:
            raise ToolError(f"--to {self.name}: give redis://[user:password@]host:port")
        try:
            self.sock = socket.create_connection((parts.hostname, parts.port or 6379), timeout=60)
        except OSError as exc:
            raise ToolError(f"cannot connect to {self.name}: {exc}") from None
        self.reader = hiredis.Reader()
        self.db, self.applied = 0, 0
        self.pending: list = []         # (seq, argv) of each command sent in this batch
        self.pending_bytes = 0
        if parts.password is not None:
            user = [unquote(parts.username)] if parts.username else []
            self.call([b"AUTH", *(name.encode() for name in user), unquote(parts.password).encode()])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    @property
    def full(self) -> bool:
        return len(self.pending) >= PIPELINE or self.pending_bytes >= PIPELINE_BYTES

    def add(self, event):
        if event.db != self.db:
            self.queue(event.seq, [b"SELECT", b"%d" % event.db])
            self.db = event.db
        self.queue(event.seq, event.argv)

    def queue(self, seq: int, argv: list):
        self.pending.append((seq, argv))
        self.pending_bytes += sum(len(arg) for arg in argv)

    def flush(self):
        """Send the batch, then read a reply for each command; the first error stops it all."""
        if not self.pending:
            return
        batch, self.pending, self.pending_bytes = self.pending, [], 0
        self.sock.sendall(b"".join(hiredis.pack_command(tuple(argv)) for _, argv in batch))
        for n, (seq, argv) in enumerate(batch):
            reply = self.reply()
            if isinstance(reply, hiredis.ReplyError):
                raise Failed(seq, argv, str(reply), self.name, self.drain(batch[n + 1:]))
            if argv[0] != b"SELECT":
                self.applied += 1

    def drain(self, rest: list) -> str:
        """The replies to what was pipelined after a refused command: it ran all the same."""
        events = [seq for seq, argv in rest if argv[0] != b"SELECT"]
        for _ in rest:
            self.reply()
        return f"; the {len(events)} events pipelined after it were sent too (to event {events[-1]})" if events else ""

    def call(self, argv: list):
        self.queue(0, argv)
        try:
            self.flush()
        except Failed as exc:
            raise ToolError(f"{self.name} refused {argv[0].decode()}: {exc.error}") from None

    def reply(self):
        while (reply := self.reader.gets()) is False:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ToolError(f"{self.name} closed the connection")
            self.reader.feed(data)
        return reply


def redacted(url: str) -> str:
    """The URL without its password, to be printed."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=f"{parts.username or ''}:***@{parts.netloc.rpartition('@')[2]}").geturl()


# -- into a new store ----------------------------------------------------------------------
class NewStore:
    """A new store whose log receives the events as writes of its own: each runs through its
    command's handler at its event's time, as its original client, and logs what it logs."""

    def __init__(self, path: str, kind: str):
        if os.path.exists(path) and os.listdir(path):
            raise ToolError(f"{path} is not empty: replay --out writes only into a new or empty directory")
        self.name, self.applied = path, 0
        self.backend = open_backend(kind, path)
        migrations.migrate(self.backend, path)         # from version 0: a new log id
        self.state = ServerState(Config(), self.backend)
        self.client = Client(self.state)
        self.state.keyspace.expiring = False    # the history's own DELs expire keys, not our clock

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.backend.close()

    @property
    def full(self) -> bool:
        return len(self.state.store.batch) >= STORE_BATCH and not self.state.store.flags

    def add(self, event):
        client, store = self.client, self.state.store
        self.state.keyspace.now = event.ts
        client.db = self.state.keyspace.dbs[event.db]
        client.origin = event.origin.encode()
        store.flags = event.flags & FLAG_MULTI     # a transaction's events stay in one commit
        try:
            lookup(event.argv).handler(client, event.argv)
        except RedisError as exc:
            self.flush()
            raise Failed(event.seq, event.argv, exc.message, self.name) from None
        self.applied += 1

    def flush(self):
        store = self.state.store
        store.flags = 0
        store.flush()
        if store.failure is not None:
            raise ToolError(f"writing {self.name} failed: {store.failure.message}")


def command_text(argv: list, limit: int = 200) -> str:
    """The command as MONITOR quotes it, cut to `limit` characters."""
    text = " ".join(quote(arg) for arg in argv)
    return text if len(text) <= limit else text[:limit - 1] + "…"
