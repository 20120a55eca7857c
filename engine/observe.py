"""What the executor records about the commands it runs: the slow log (SLOWLOG), the latency
monitor's command events (LATENCY) and the MONITOR feed. The commands that read them are in
engine/commands/observe.py.

The executor times each handler with two perf_counter_ns() calls and compares the time with
one number, `state.slow_ns`: the lower of the slow-log and latency thresholds that are on.
Only a command at least that slow calls `record_slow`, which applies each option as Redis
does. MONITOR costs one truthiness check of `state.monitors` while nobody monitors.
"""
import time
from collections import deque

from engine.errors import err
from engine.replies import Status

NEVER = 1 << 63
SLOWLOG_MAX_ARGC = 32          # Redis's SLOWLOG_ENTRY_MAX_ARGC
SLOWLOG_MAX_STRING = 128       # SLOWLOG_ENTRY_MAX_STRING
LATENCY_SAMPLES = 160          # LATENCY_TS_LEN: the seconds of history an event keeps
THRESHOLDS = ("slowlog-log-slower-than", "latency-monitor-threshold")
REDACTED = b"(redacted)"
# Commands Redis 7.0 flags MAY_REPLICATE (COMMAND INFO does not show it): CLIENT PAUSE WRITE
# holds them with the writes, and a MONITOR client may not run them.
MAY_REPLICATE = frozenset({"eval", "evalsha", "fcall", "publish", "spublish", "pfcount"})
MONITOR_KEYSPACE = err("Replica can't interact with the keyspace")


def may_replicate(spec) -> bool:
    return spec.write or spec.name in MAY_REPLICATE


def slow_ns(config) -> int:
    """The executor's one threshold (ns): a command this slow may belong in the slow log or the
    latency monitor; NEVER when both are off."""
    limits = [NEVER]
    if config["slowlog-log-slower-than"] >= 0:
        limits.append(config["slowlog-log-slower-than"] * 1000)
    if config["latency-monitor-threshold"]:
        limits.append(config["latency-monitor-threshold"] * 1_000_000)
    return min(limits)


def redact(argv: list, *positions: int):
    """Hide secrets (AUTH and HELLO passwords, CONFIG SET requirepass) from the slow log and
    MONITOR, as Redis's redactClientCommandArgument() does: call it where the handler has read
    them."""
    for i in positions:
        argv[i] = REDACTED


def record_slow(client, spec, argv: list, elapsed_ns: int):
    """A command took at least state.slow_ns: add a latency sample and a slow-log entry if
    their own thresholds say so (Redis compares whole ms and whole µs)."""
    state, us = client.state, elapsed_ns // 1000
    config = state.config
    threshold = config["latency-monitor-threshold"]
    if threshold and us // 1000 >= threshold:
        # Redis 7.0 files a FAST command's latency under its own event.
        state.latency.add("fast-command" if "fast" in spec.flags else "command", us // 1000)
    slower = config["slowlog-log-slower-than"]
    if 0 <= slower <= us and "skip_slowlog" not in spec.flags:
        state.slowlog.push(client, argv, us, config["slowlog-max-len"])


class Slowlog:
    """SLOWLOG's entries, newest first: [id, unix time, µs, argv, client addr, client name]."""

    def __init__(self):
        self.entries: deque = deque()
        self.next_id = 0        # ids go on across SLOWLOG RESET, as in Redis

    def push(self, client, argv: list, us: int, max_len: int):
        entry = [self.next_id, int(time.time()), us, _trimmed(argv), client.addr.encode(), client.name]
        self.next_id += 1
        self.entries.appendleft(entry)
        while len(self.entries) > max_len:      # Redis trims here, not when the option changes
            self.entries.pop()


def _trimmed(argv: list) -> list:
    """At most 32 arguments (the last says how many more there were), each cut at 128 bytes."""
    out = [arg if len(arg) <= SLOWLOG_MAX_STRING
           else arg[:SLOWLOG_MAX_STRING] + b"... (%d more bytes)" % (len(arg) - SLOWLOG_MAX_STRING)
           for arg in argv[:SLOWLOG_MAX_ARGC]]
    if len(argv) > SLOWLOG_MAX_ARGC:
        out[-1] = b"... (%d more arguments)" % (len(argv) - SLOWLOG_MAX_ARGC + 1)
    return out


class Series:
    """One latency event: the highest sample of each of its last 160 seconds with samples
    ([unix time, ms] pairs, oldest first) and the highest ever."""
    __slots__ = ("samples", "max")

    def __init__(self):
        self.samples: deque = deque(maxlen=LATENCY_SAMPLES)
        self.max = 0


class Latency:
    """The latency monitor's events by name (`command`, `fast-command`)."""

    def __init__(self):
        self.events: dict[bytes, Series] = {}

    def add(self, event: str, ms: int):
        name = event.encode()
        series = self.events.get(name)
        if series is None:
            series = self.events[name] = Series()
        series.max = max(series.max, ms)
        now = int(time.time())
        samples = series.samples
        if samples and samples[-1][0] == now:       # one sample a second: its highest
            samples[-1][1] = max(samples[-1][1], ms)
        else:
            samples.append([now, ms])


_LISTENING = ("on", "skip_next")      # CLIENT REPLY modes in which a monitor gets its lines


def feed_monitors(client, spec, argv: list):
    """MONITOR: a command that ran, as Redis 7.0 prints it — after it ran (SELECT shows the new
    db; AUTH's password is redacted), and never the admin ones (CONFIG, CLIENT LIST, DEBUG …) or
    those that print themselves (EVAL)."""
    if "admin" in spec.flags or "skip_monitor" in spec.flags:
        return
    ns = time.time_ns()
    line = Status("%d.%06d [%d %s] %s" % (ns // 1_000_000_000, ns // 1000 % 1_000_000, client.db.index,
                                          client.addr, " ".join(map(quote, argv))))
    state, encoded = client.state, {}       # the line encoded once per protocol, for all monitors
    stale = False
    for monitor in state.monitors:
        if not monitor.monitor or monitor.id not in state.clients:
            stale = True
        elif monitor.reply_mode in _LISTENING and not monitor.close_after_reply:
            # A monitor's own command shows after its reply; CLIENT REPLY OFF or SKIP silence
            # the lines too, and none follows QUIT, as in Redis.
            monitor.connection.push(line, encoded, after_reply=monitor is client)
    if stale:       # it left, or RESET ended its monitoring
        state.monitors[:] = [m for m in state.monitors if m.monitor and m.id in state.clients]


# Redis's sdscatrepr(): C escapes for \n \r \t \a \b, backslashed " and \, \xHH for the rest
# of what isprint() refuses.
_REPR = {i: "\\x%02x" % i for i in range(256) if not 32 <= i < 127}
_REPR.update({ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r",
              ord("\t"): "\\t", 7: "\\a", 8: "\\b"})


def quote(arg: bytes) -> str:
    """An argument as MONITOR prints it: in double quotes, escaped as sdscatrepr() does."""
    return '"%s"' % arg.decode("latin-1").translate(_REPR)
