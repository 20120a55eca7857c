"""Server options: one table, Redis's names. The CLI, the config file and CONFIG GET/SET share it."""
import fnmatch
import os
from dataclasses import dataclass
from typing import Callable

from engine.changes import parse_flags, show_flags
from engine.errors import err

_UNITS = {"": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


def parse_memory(text: str) -> int:
    """Redis's memory units: 1k = 1000, 1kb = 1024, … (case-insensitive)."""
    t = text.strip().lower()
    digits = t.rstrip("kmgb")
    unit = t[len(digits):]
    if unit not in _UNITS or not digits.lstrip("-").isdigit():
        raise ValueError("argument must be a memory value")
    return int(digits) * _UNITS[unit]


def _yesno(text: str) -> bool:
    t = text.lower()
    if t not in ("yes", "no"):
        raise ValueError("argument must be 'yes' or 'no'")
    return t == "yes"


@dataclass(frozen=True)
class Option:
    name: str
    default: object
    parse: Callable[[str], object]
    mutable: bool = True
    show: Callable[[object], str] = str
    choices: tuple = ()
    merge: bool = False     # a dict value that a setting updates rather than replaces


def _int(lo, hi):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise ValueError("argument couldn't be parsed into an integer") from None
        if not lo <= value <= hi:
            raise ValueError(f"argument must be between {lo} and {hi} inclusive")
        return value
    return parse


def _enum(*choices):
    def parse(text):
        if text.lower() not in choices:
            raise ValueError("argument(s) must be one of the following: " + ", ".join(choices))
        return text.lower()
    return parse


def _memory_limit(text):
    value = parse_memory(text)
    if value < 0:
        raise ValueError("argument must be a memory value")
    return value


_show_bool = lambda v: "yes" if v else "no"  # noqa: E731

OUTPUT_CLASSES = {"normal": "normal", "slave": "replica", "replica": "replica", "pubsub": "pubsub"}


def _replicaof(text: str) -> str:
    """`host port` (redwood serve --replicaof also takes host:port), or "" for none."""
    if text.count(":") == 1:                    # host:port (an IPv6 address has more colons)
        text = text.replace(":", " ")
    words = text.split()
    if not words:
        return ""
    if len(words) != 2 or not words[1].isdigit() or not 0 < int(words[1]) < 65536:
        raise ValueError("argument must be 'host port'")
    return f"{words[0]} {words[1]}"


def _save_rules(text: str) -> tuple:
    words = text.split()
    if len(words) % 2 or not all(word.isdigit() for word in words):
        raise ValueError("Invalid save parameters")
    return tuple((int(words[i]), int(words[i + 1])) for i in range(0, len(words), 2))


def _show_save_rules(rules: tuple) -> str:
    return " ".join(f"{seconds} {changes}" for seconds, changes in rules)


_AGE = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_SIZE = {"b": 1, "kb": 1 << 10, "mb": 1 << 20, "gb": 1 << 30, "tb": 1 << 40}


def _log_retention(text: str) -> tuple:
    """"" (keep the whole log), an age ("7d": ms, s, m, h, d, w), a size ("10gb": b, kb, mb,
    gb, tb) or both ("7d 10gb"); the value is (age in ms or None, bytes or None)."""
    age = size = None
    for word in text.lower().split():
        digits = word.rstrip("abcdefghijklmnopqrstuvwxyz")
        unit = word[len(digits):]
        if digits.isdigit() and unit in _AGE and age is None:
            age = int(digits) * _AGE[unit]
        elif digits.isdigit() and unit in _SIZE and size is None:
            size = int(digits) * _SIZE[unit]
        else:
            raise ValueError("argument must be an age (7d, 12h, 30m, …), a size (10gb, 500mb, …) or both")
    return age, size


def _show_log_retention(value: tuple) -> str:
    age, size = value
    words = []
    if age is not None:
        unit = next(u for u in ("w", "d", "h", "m", "s", "ms") if age % _AGE[u] == 0)
        words.append(f"{age // _AGE[unit]}{unit}")
    if size is not None:
        unit = next(u for u in ("tb", "gb", "mb", "kb", "b") if size % _SIZE[u] == 0)
        words.append(f"{size // _SIZE[unit]}{unit}")
    return " ".join(words)


def _output_limits(text: str) -> dict:
    """client-output-buffer-limit: `<class> <hard> <soft> <soft seconds>` repeated."""
    words = text.split()
    if not words or len(words) % 4:
        raise ValueError("Wrong number of arguments in buffer limit configuration.")
    limits = {}
    for i in range(0, len(words), 4):
        kind = OUTPUT_CLASSES.get(words[i].lower())
        if kind is None:
            raise ValueError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
            seconds = int(words[i + 3])
        except ValueError:
            seconds = -1
        if seconds < 0 or hard < 0 or soft < 0:
            raise ValueError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        limits[kind] = (hard, soft, seconds)
    return limits


def _show_output_limits(limits: dict) -> str:
    return " ".join("%s %d %d %d" % ("slave" if kind == "replica" else kind, *limits[kind])
                    for kind in ("normal", "replica", "pubsub"))


OPTIONS = {o.name: o for o in [
    Option("port", 6379, _int(0, 65535), mutable=False),
    Option("bind", "127.0.0.1", str, mutable=False),
    # TLS (server.tls): a second listener on the same addresses; tls-auth-clients yes requires
    # a client certificate signed by the CA, as in Redis. Set at start-up only.
    Option("tls-port", 0, _int(0, 65535), mutable=False),
    Option("tls-cert-file", "", str, mutable=False),
    Option("tls-key-file", "", str, mutable=False),
    Option("tls-ca-cert-file", "", str, mutable=False),
    Option("tls-ca-cert-dir", "", str, mutable=False),
    Option("tls-auth-clients", "yes", _enum("no", "yes", "optional"), mutable=False),
    Option("tls-protocols", "", str, mutable=False),
    Option("dir", "./data", str, mutable=False),
    Option("backend", "lmdb", _enum("lmdb", "sqlite", "memory"), mutable=False),
    # An older data directory format is upgraded on start-up (after a backup) unless this is no.
    Option("auto-migrate", True, _yesno, mutable=False, show=_show_bool),
    Option("appendfsync", "always", _enum("everysec", "always", "no")),
    Option("appendonly", True, _yesno, mutable=False, show=_show_bool),
    Option("databases", 16, _int(1, 1 << 20), mutable=False),
    Option("requirepass", "", str),
    Option("aclfile", "", str, mutable=False),
    Option("acllog-max-len", 128, _int(0, (1 << 63) - 1)),
    Option("acl-pubsub-default", "resetchannels", _enum("allchannels", "resetchannels")),
    Option("proto-max-bulk-len", 512 * 1024**2, _memory_limit),
    Option("client-query-buffer-limit", 1024**3, _memory_limit),
    Option("maxclients", 10000, _int(1, 1 << 30)),
    Option("timeout", 0, _int(0, 1 << 31)),
    Option("hz", 10, _int(1, 500)),
    # SLOWLOG (µs; 0 logs every command, -1 none) and LATENCY (ms; 0 = off): engine.observe.
    Option("slowlog-log-slower-than", 10000, _int(-1, (1 << 63) - 1)),
    Option("slowlog-max-len", 128, _int(0, (1 << 63) - 1)),
    Option("latency-monitor-threshold", 0, _int(0, (1 << 63) - 1)),
    Option("loglevel", "notice", _enum("debug", "verbose", "notice", "warning", "nothing")),
    Option("logfile", "", str, mutable=False),
    # `save <seconds> <changes> …`: when to take a snapshot in the background (server.snapshots).
    Option("save", ((3600, 1), (300, 100), (60, 10000)), _save_rules, show=_show_save_rules),
    # How far back every instant stays restorable, and how many snapshots are kept (engine.recovery).
    Option("log-retention", (None, None), _log_retention, show=_show_log_retention),
    Option("snapshot-retention", 3, _int(1, 1 << 20)),
    Option("protected-mode", True, _yesno, show=_show_bool),
    # Replication (replication/): whom to follow, how, and what a replica serves.
    Option("replicaof", "", _replicaof, mutable=False),
    Option("masterauth", "", str),
    Option("masteruser", "", str),
    Option("replica-read-only", True, _yesno, show=_show_bool),
    Option("replica-serve-stale-data", True, _yesno, show=_show_bool),
    Option("repl-ping-replica-period", 10, _int(1, (1 << 31) - 1)),
    Option("repl-timeout", 60, _int(1, (1 << 31) - 1)),
    Option("min-replicas-to-write", 0, _int(0, (1 << 31) - 1)),
    Option("min-replicas-max-lag", 10, _int(0, (1 << 31) - 1)),
    Option("tls-replication", False, _yesno, mutable=False, show=_show_bool),
    Option("tcp-backlog", 511, _int(0, 1 << 31), mutable=False),
    Option("tcp-keepalive", 300, _int(0, 1 << 31)),
    Option("maxmemory", 0, _memory_limit),
    Option("maxmemory-policy", "noeviction", _enum(
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
        "allkeys-lfu", "allkeys-random", "noeviction")),
    Option("maxmemory-samples", 5, _int(1, 64)),
    Option("maxmemory-eviction-tenacity", 10, _int(0, 100)),
    Option("lfu-log-factor", 10, _int(0, (1 << 31) - 1)),
    Option("lfu-decay-time", 1, _int(0, (1 << 31) - 1)),
    Option("pidfile", "", str, mutable=False),
    Option("daemonize", False, _yesno, mutable=False, show=_show_bool),
    # Where Redis switches an aggregate from its compact encoding (OBJECT ENCODING answers as it would).
    Option("hash-max-listpack-entries", 128, _int(0, 1 << 63)),
    Option("hash-max-listpack-value", 64, _int(0, 1 << 63)),
    Option("set-max-intset-entries", 512, _int(0, 1 << 63)),
    Option("zset-max-listpack-entries", 128, _int(0, 1 << 63)),
    Option("zset-max-listpack-value", 64, _int(0, 1 << 63)),
    Option("list-max-listpack-size", -2, _int(-5, 1 << 31)),
    Option("list-compress-depth", 0, _int(0, 1 << 31)),
    Option("notify-keyspace-events", 0, parse_flags, show=show_flags),
    # How long (ms) a script runs before other clients get -BUSY and SCRIPT KILL may stop it.
    Option("busy-reply-threshold", 5000, _int(0, (1 << 63) - 1)),
    Option("client-output-buffer-limit",
           _output_limits("normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60"),
           _output_limits, show=_show_output_limits, merge=True),
]}

# Redis 7 still accepts the pre-7.0 names of the listpack options.
ALIASES = {name.replace("listpack", "ziplist"): name for name in OPTIONS if "listpack" in name}
ALIASES["lua-time-limit"] = "busy-reply-threshold"


def _option(name: str):
    name = name.lower()
    return OPTIONS.get(ALIASES.get(name, name))


class Config:
    def __init__(self):
        self.values = {name: o.default for name, o in OPTIONS.items()}
        self.listeners: dict[str, list[Callable]] = {}
        self.file = None        # the config file it was loaded from: CONFIG REWRITE writes there

    def __getitem__(self, name):
        return self.values[name]

    def show(self, name: str) -> str:
        """The option's value as CONFIG GET shows it (which load() reads back)."""
        return OPTIONS[name].show(self.values[name])

    def on_change(self, name: str, callback: Callable):
        self.listeners.setdefault(name, []).append(callback)

    def load(self, name: str, text: str):
        """Set an option from the command line or the config file (immutable ones too)."""
        option = _option(name)
        if option is None:
            raise ValueError(f"unknown option '{name}'")
        self.values[option.name] = self._merged(option, option.parse(text))

    def _merged(self, option, value):
        return {**self.values[option.name], **value} if option.merge else value

    def get(self, patterns) -> list[tuple[str, str]]:
        """(name, value) of every option matching one of the glob patterns, each once."""
        found = {}
        for pattern in patterns:
            for name, option in OPTIONS.items():
                if fnmatch.fnmatchcase(name, pattern.lower()):
                    found[name] = option.show(self.values[name])
        return list(found.items())

    def set(self, pairs: list[tuple[str, str]]):
        """CONFIG SET: all pairs or none, with Redis's error texts."""
        parsed = {}
        for name, text in pairs:
            option = _option(name)
            if option is None:
                raise err(f"Unknown option or number of arguments for CONFIG SET - '{name}'")
            if option.name in parsed:
                raise err(f"CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter")
            if not option.mutable:
                raise err(f"CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")
            try:
                parsed[option.name] = self._merged(option, option.parse(text))
            except ValueError as exc:
                raise err(f"CONFIG SET failed (possibly related to argument '{name}') - {exc}")
        for name, value in parsed.items():
            self.values[name] = value
            for callback in self.listeners.get(name, ()):
                callback(value)

    def rewrite(self):
        """CONFIG REWRITE: the file's lines kept, each option's first line set to its value, its
        other lines dropped, and options that differ from their defaults appended."""
        with open(self.file) as f:
            lines = f.read().splitlines()
        out, written = [], set()
        for line in lines:
            words = line.split()
            name = words[0].lower() if words and not words[0].startswith("#") else None
            if name not in OPTIONS:
                out.append(line)
            elif name not in written:
                out.append(self._line(name))
                written.add(name)
        missing = [name for name, value in self.values.items()
                   if name not in written and value != OPTIONS[name].default]
        if missing:
            out.append("# Generated by CONFIG REWRITE")
            out.extend(self._line(name) for name in missing)
        temporary = self.file + ".tmp"
        with open(temporary, "w") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.file)

    def _line(self, name: str) -> str:
        text = OPTIONS[name].show(self.values[name])
        return f"{name} {text}" if text and " " not in text else f'{name} "{text}"'
