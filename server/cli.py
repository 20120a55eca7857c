"""The `redwood` command line."""
import argparse
import logging
import os
import re
import sys

from engine.config import OPTIONS, Config

DESCRIPTION = """Redwood: a Redis-compatible server whose state is a durable event log.

Every write is an event appended to a log (LMDB); the keyspace is a view of
that log, rebuilt on start-up by replaying it."""


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return args.run(args) or 0


def _parser():
    parser = argparse.ArgumentParser(prog="redwood", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(title="subcommands", metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="run the server",
        description="Run the server. Options come from an optional redis.conf-style file "
                    "(one `name value` per line, Redis's option names), then from the flags, "
                    "which win. Every option can be given as --name value.")
    serve.add_argument("config_file", nargs="?", help="a redis.conf-style configuration file")
    for name, option in OPTIONS.items():
        serve.add_argument(f"--{name}", dest=name.replace("-", "_"), metavar="VALUE",
                           help=f"(default: {option.show(option.default) or repr('')})")
    serve.add_argument("--no-auto-migrate", dest="auto_migrate", action="store_const", const="no",
                       help="refuse an older data directory format instead of upgrading it")
    serve.set_defaults(run=_serve)
    snapshot = sub.add_parser(
        "snapshot", help="write a snapshot of a data directory",
        description="Rebuild the state as of an event (the previous snapshot plus the log), write it "
                    "as a snapshot and apply the retention policy. The server runs this in the "
                    "background for BGSAVE, SAVE, BGREWRITEAOF and the save rules; it also works on a "
                    "stopped server's directory.")
    snapshot.add_argument("--dir", required=True)
    snapshot.add_argument("--backend", choices=("lmdb", "sqlite"), help="(default: detected)")
    snapshot.add_argument("--to-seq", type=int, help="(default: the last event)")
    snapshot.add_argument("--set", nargs=2, action="append", metavar=("OPTION", "VALUE"),
                          help="a server option that replay depends on (encoding thresholds, retention)")
    snapshot.set_defaults(run=_snapshot)
    _offline_parsers(sub)
    _history_parsers(sub)
    _replay_parser(sub)
    return parser


def _offline_parsers(sub):
    """The subcommands that work on a data directory with no server running on it."""
    migrate = sub.add_parser(
        "migrate", help="upgrade a data directory's format",
        description="Upgrade a data directory to this Redwood's format version: a backup copy "
                    "into DIR/backups/ first, then each step, with a progress bar. Stop the "
                    "server first.")
    migrate.add_argument("--dir", required=True)
    migrate.add_argument("--backend", choices=("lmdb", "sqlite"), help="(default: detected)")
    migrate.add_argument("--dry-run", action="store_true", help="show the steps, change nothing")
    migrate.set_defaults(run=_tool("migrate"))
    convert = sub.add_parser(
        "convert", help="copy a data directory into another backend",
        description="Copy a store (log with its seqs, snapshots, metadata and log id) into a new "
                    "or empty directory with another backend. Stop the server first: a live "
                    "store's copy is not one consistent instant.")
    convert.add_argument("--from", dest="source", required=True, metavar="DIR")
    convert.add_argument("--to", dest="dest", required=True, metavar="DIR2")
    convert.add_argument("--backend", choices=("lmdb", "sqlite"), required=True)
    convert.set_defaults(run=_tool("convert"))
    check = sub.add_parser(
        "check", help="verify a data directory's log and snapshots",
        description="Verify every log record (checksum, dense seqs, its key index entries) and that "
                    "replaying the log reproduces each snapshot; report the first bad record. --truncate "
                    "cuts a damaged log at its first bad record, saying what it drops; --reindex writes "
                    "missing key index entries. Stop the server first.")
    check.add_argument("--dir", required=True)
    check.add_argument("--backend", choices=("lmdb", "sqlite"), help="(default: detected)")
    check.add_argument("--truncate", action="store_true",
                       help="drop the records from the first bad one to the end, and the snapshots past it")
    check.add_argument("--reindex", action="store_true",
                       help="write the key index's entries of every record again (when check finds some missing)")
    check.set_defaults(run=_tool("check", "check"))
    info = sub.add_parser(
        "info", help="describe a data directory",
        description="Print a store's backend, format versions, log id, seqs and times, disk usage, "
                    "snapshots and retention horizon, as `name: value` lines and a snapshot table.")
    info.add_argument("--dir", required=True)
    info.add_argument("--backend", choices=("lmdb", "sqlite"), help="(default: detected)")
    info.set_defaults(run=_tool("info", "check"))


def _history_parsers(sub):
    """The subcommands that read a store's history (beside a live server too). A time T is
    ISO 8601 (2026-11-23T10:15:30.250Z; no offset: UTC), relative (-15m, -2h, -500ms) or epoch ms."""
    restore = sub.add_parser(
        "restore", help="a new data directory holding the state as of a past instant",
        description="Write into a new or empty directory a store of the same kind holding the state "
                    "as of an event (--to-seq) or a time (--to-time: the last event at or before it), "
                    "anywhere inside the retention window: the log and snapshots up to that event, "
                    "with the same log id, and a snapshot at it, so a server started there serves "
                    "that state at once.")
    restore.add_argument("--dir", required=True)
    target = restore.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-time", metavar="T")
    target.add_argument("--to-seq", type=int, metavar="N")
    restore.add_argument("--out", required=True, metavar="DIR2")
    restore.add_argument("--json", action="store_true", help="report as one JSON object")
    restore.set_defaults(run=_tool("restore", "history_tools"))
    log = sub.add_parser(
        "log", help="list the events of a store's log",
        description="The events that match every filter given, as a table (values shortened) or as "
                    "JSON lines; --follow goes on printing new events as a live server commits "
                    "them, until interrupted.")
    log.add_argument("--dir", required=True)
    _event_filters(log)
    log.add_argument("--since", metavar="T")
    log.add_argument("--until", metavar="T")
    log.add_argument("--from-seq", type=int, metavar="N")
    log.add_argument("--count", type=int, metavar="N", help="stop after N events")
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    log.add_argument("--follow", action="store_true", help="then print new events as they are committed")
    log.set_defaults(run=_tool("log", "history_tools"))
    diff = sub.add_parser(
        "diff", help="which keys changed between two instants, and how",
        description="Compare the states as of two times: keys added, removed, changed in type, "
                    "value (with sizes) or expiry. Only the keys the events in between touched are "
                    "compared, or whole databases after FLUSHDB, FLUSHALL or SWAPDB.")
    diff.add_argument("--dir", required=True)
    diff.add_argument("--from", dest="from_time", required=True, metavar="T1")
    diff.add_argument("--to", dest="to_time", required=True, metavar="T2")
    diff.add_argument("--json", action="store_true", help="report as one JSON object")
    diff.set_defaults(run=_tool("diff", "history_tools"))
    for parser in (restore, log, diff):
        parser._negative_number_matcher = RELATIVE_TIME


def _replay_parser(sub):
    replay = sub.add_parser(
        "replay", help="re-apply a slice of a store's history to a server or a new store",
        description="Send the events that match every filter given, in seq order, to a Redis-compatible "
                    "server (SELECT as the db changes, pipelined, stopping at the first error reply), or "
                    "write them into a new or empty directory as a fresh history of its own (a new log "
                    "id). A time T is ISO 8601, relative (-15m) or epoch ms.")
    replay.add_argument("--dir", required=True)
    start = replay.add_mutually_exclusive_group()
    start.add_argument("--from-seq", type=int, metavar="N")
    start.add_argument("--since", metavar="T")
    end = replay.add_mutually_exclusive_group()
    end.add_argument("--to-seq", type=int, metavar="N")
    end.add_argument("--until", metavar="T")
    _event_filters(replay)
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="redis://[USER:PASSWORD@]HOST:PORT")
    target.add_argument("--out", metavar="DIR2")
    replay.add_argument("--backend", choices=("lmdb", "sqlite"), help="of --out (default: the source's)")
    replay.add_argument("--dry-run", action="store_true", help="print the events, send and write nothing")
    replay.add_argument("--speed", default="max", metavar="1x|2x|max",
                        help="the recorded pace, or a multiple of it, or as fast as the target takes "
                             "(default: max)")
    replay.add_argument("--json", action="store_true", help="the summary (or --dry-run's events) as JSON")
    replay.set_defaults(run=_tool("replay", "replay"))
    replay._negative_number_matcher = RELATIVE_TIME


# argparse reads `--since -15m` as two options unless `-15m` looks like a negative number to it
RELATIVE_TIME = re.compile(r"^-\d+(ms|s|m|h|d)?$")


def _event_filters(parser):
    """The filters `log` and `replay` share (engine.history.EventFilter)."""
    parser.add_argument("--key", metavar="PATTERN", help="events touching a key that matches this glob")
    parser.add_argument("--client", metavar="ADDR|NAME", help="a client's ip:port, ip or name")
    parser.add_argument("--user", metavar="USER")
    parser.add_argument("--db", type=int, metavar="N")
    parser.add_argument("--command", metavar="SET,DEL…", help="logged command names, comma-separated")


def _tool(name, module="tools"):
    """The subcommand `name` of server.<module>, imported only when it runs."""
    def run(args):
        import importlib
        return getattr(importlib.import_module(f"server.{module}"), name)(args)
    return run


def _snapshot(args):
    from server.snapshots import run_builder
    return run_builder(args)


def parse_config_file(path: str, config: Config):
    """Load a redis.conf-style file: `name value…` per line, `#` comments, quoted values."""
    import shlex
    saw_save = False
    with open(path) as f:
        for number, line in enumerate(f, 1):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            name, value = words[0], " ".join(words[1:])
            if name.lower() == "save":
                if saw_save and value:          # as in Redis, each `save` line adds a rule
                    value = f"{config.show('save')} {value}"
                saw_save = True
            try:
                config.load(name, value)
            except ValueError as exc:
                raise SystemExit(f"*** FATAL CONFIG FILE ERROR *** line {number}: {line.strip()!r}: {exc}")


def configure_logging(config: Config, role: str):
    """Redis's log line: pid, role (M the server, C a snapshot process), time, level, message."""
    logging.basicConfig(
        level=logging.DEBUG if config["loglevel"] == "debug" else logging.INFO,
        format=f"%(process)d:{role} %(asctime)s %(levelname).1s %(message)s",
        filename=config["logfile"] or None)


def _use_jemalloc():
    """Re-execute this command under jemalloc, Redis's allocator, when the system has it
    (Debian's libjemalloc2): Python then allocates with it (PYTHONMALLOC=malloc) at pymalloc's
    speed, and used_memory, which maxmemory limits, is its exact count of allocated bytes
    (engine.eviction). A PYTHONMALLOC already set (pymalloc, malloc, debug) is kept as it is."""
    if "PYTHONMALLOC" in os.environ:
        return
    import ctypes.util
    library = ctypes.util.find_library("jemalloc")
    if library:
        preload = " ".join(filter(None, (library, os.environ.get("LD_PRELOAD"))))
        os.execve(sys.executable, sys.orig_argv,
                  {**os.environ, "PYTHONMALLOC": "malloc", "LD_PRELOAD": preload})


def _serve(args):
    _use_jemalloc()
    config = Config()
    if args.config_file:
        parse_config_file(args.config_file, config)
        config.file = os.path.abspath(args.config_file)
    for name in OPTIONS:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            try:
                config.load(name, value)
            except ValueError as exc:
                raise SystemExit(f"redwood serve: --{name} {value}: {exc}")
    configure_logging(config, "M")
    from server.app import run, StartupError
    try:
        run(config)
    except StartupError as exc:
        logging.getLogger("redwood").critical("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
