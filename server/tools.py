"""The offline subcommands (`redwood migrate`, `redwood convert`): each opens a data
directory that no server is running on, does one job and exits non-zero with a message
when it refuses."""
import functools
import os
import sys
import time

import migrations
from backends import batches, detect_backend, open_backend
from backends.base import LogUnavailable

BATCH = 10_000      # records per put_records call: short transactions, progress per batch


class ToolError(Exception):
    """A refusal: its message is printed and the command exits with 1."""


def refusals(command):
    """Run a subcommand, turning a refusal into a message on stderr and exit code 1."""
    @functools.wraps(command)
    def run(args):
        try:
            return command(args)
        except (ToolError, migrations.FormatError, LogUnavailable) as exc:
            print(f"redwood {command.__name__}: {exc}", file=sys.stderr)
            return 1
    return run


def progress_bar(stream=sys.stderr, width=40, total=None, unit="events"):
    """A progress callback drawing `[#####.....] 42%  1,234,567 events/s  ETA 0:07` on one
    line, given the done fraction; the rate counts `unit`s when the `total` is known."""
    start = time.monotonic()

    def show(fraction):
        filled, elapsed = int(fraction * width), time.monotonic() - start
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {int(fraction * 100)}%"
        if elapsed > 0 and fraction > 0:
            rate = f"{fraction * total / elapsed:,.0f} {unit}/s" if total else f"{fraction * 100 / elapsed:.1f}%/s"
            left = int(elapsed * (1 - fraction) / fraction)
            line += f"  {rate}  ETA {left // 60}:{left % 60:02d}"
        stream.write(line.ljust(width + 48))    # spaces over what a longer line before left
        stream.flush()
    return show


def open_store(path: str, kind: str | None = None):
    """The backend of an existing store; a kind given must be the one found (opening another
    kind would create an empty store beside it)."""
    found = detect_backend(path)
    if found is None:
        raise ToolError(f"{path} holds no Redwood store")
    if kind not in (None, found):
        raise ToolError(f"{path} holds an {found} store, not {kind}")
    return open_backend(found, path)


@refusals
def migrate(args):
    backend = open_store(args.dir, args.backend)
    try:
        version = migrations.format_version(backend, args.dir)
        steps = migrations.pending(version)
        print(f"{args.dir}: format version {version}; this Redwood uses version {migrations.CURRENT}")
        for step in steps:
            print(f"  step {step.VERSION:04d}: {step.DESCRIPTION}")
        if not steps or args.dry_run:
            print("nothing to do" if not steps else "dry run: nothing changed")
            return 0
        backup = migrations.migrate(backend, args.dir, progress_bar())
        print(file=sys.stderr)
        if backup:
            print(f"backup of format version {version}: {backup}")
        print(f"{args.dir}: format version {migrations.CURRENT}")
    finally:
        backend.close()


@refusals
def convert(args):
    source = open_store(args.source)
    try:
        version = migrations.format_version(source, args.source)
        if version != migrations.CURRENT:
            raise ToolError(f"{args.source} has format version {version}; run "
                            f"`redwood migrate --dir {args.source}` first")
        if os.path.exists(args.dest) and os.listdir(args.dest):
            raise ToolError(f"{args.dest} is not empty: convert writes only into a new or empty directory")
        dest = open_backend(args.backend, args.dest)
        try:
            copy_store(source, dest, progress_bar())
        finally:
            dest.close()
        print(file=sys.stderr)
        print(f"{args.source} ({source.kind}) -> {args.dest} ({args.backend}): "
              f"{len(source.snapshots())} snapshots, log {source.first_seq}..{source.last_seq}")
    finally:
        source.close()


def copy_store(source, dest, progress):
    """Every record with its seq and its key index entries (the source's, not recomputed:
    they are a function of the records), every snapshot, then the metadata
    with format_version last: a copy cut short has events and no format version, which
    nothing will serve."""
    total = source.last_seq - source.first_seq + 1 if source.last_seq else 0
    done = 0
    for batch in batches(source.read(source.first_seq or 1), BATCH):
        dest.put_records(batch)
        dest.put_index(source.index_items(batch[0][0], batch[-1][0]))
        done += len(batch)
        progress(done / total)
    for snapshot in source.snapshots():
        dest.write_snapshot(snapshot.seq, snapshot.ts, source.read_snapshot(snapshot.seq))
    meta = source.meta_items()
    version = meta.pop("format_version")
    meta.pop("schema", None)        # the SQLite schema's version: the destination's own
    for name, value in meta.items():
        dest.set_meta(name, value)
    if dest.kind == "sqlite":
        from backends.sqlite import SCHEMA_VERSION
        dest.set_meta("schema", b"%d" % SCHEMA_VERSION)
    dest.set_meta("format_version", version)
    progress(1.0)
