"""The `redwood` command line."""
import argparse
import logging
import os
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
    serve.set_defaults(run=_serve)
    return parser


def parse_config_file(path: str, config: Config):
    """Load a redis.conf-style file: `name value…` per line, `#` comments, quoted values."""
    import shlex
    with open(path) as f:
        for number, line in enumerate(f, 1):
            words = shlex.split(line, comments=True)
            if not words:
                continue
            try:
                config.load(words[0], " ".join(words[1:]))
            except ValueError as exc:
                raise SystemExit(f"*** FATAL CONFIG FILE ERROR *** line {number}: {line.strip()!r}: {exc}")


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
    logging.basicConfig(
        level=logging.DEBUG if config["loglevel"] == "debug" else logging.INFO,
        format="%(process)d:M %(asctime)s %(levelname).1s %(message)s",
        filename=config["logfile"] or None)
    from server.app import run, StartupError
    try:
        run(config)
    except StartupError as exc:
        logging.getLogger("redwood").critical("%s", exc)
        return 1


if __name__ == "__main__":
    sys.exit(main())
