"""Numbered on-disk format upgrades, one module per step (`NNNN_name.py`).

A data directory records its format version in its metadata (`format_version`); only
these steps move it forward. A step module has VERSION (the version it produces),
DESCRIPTION (one line) and `upgrade(backend, progress)`, progress being called with the
step's done fraction (0..1). Each step sets format_version last, so a step a crash cuts
short runs again whole on the next open: every step can run twice. A released step is
frozen: it writes the formats of its own time, never the code's current constants.
"""
import importlib
import logging
import os
import pkgutil
import re
import time

from backends.base import LogUnavailable

log = logging.getLogger("redwood")


class FormatError(Exception):
    """This Redwood cannot serve the data directory's format as it is."""


def _discover() -> list:
    names = [m.name for m in pkgutil.iter_modules(__path__) if re.fullmatch(r"\d{4}_\w+", m.name)]
    return sorted((importlib.import_module(f"{__name__}.{name}") for name in names),
                  key=lambda step: step.VERSION)


STEPS = _discover()
CURRENT = STEPS[-1].VERSION


def format_version(backend, path: str) -> int:
    """The directory's format version, 0 for a new (empty) one; refuses a newer format and
    a log without a version, which no Redwood wrote."""
    raw = backend.get_meta("format_version")
    if raw is None:
        if backend.last_seq:
            raise FormatError(f"the data directory {path} holds events but no format version: "
                              "not a Redwood store")
        return 0
    version = int(raw)
    if version > CURRENT:
        raise FormatError(f"the data directory {path} has format version {version}, newer than "
                          f"this Redwood's {CURRENT}: upgrade Redwood to serve it")
    return version


def pending(version: int) -> list:
    """The steps that bring a store at `version` to CURRENT, in order."""
    return [step for step in STEPS if step.VERSION > version]


def on_open(backend, path: str, auto_migrate: bool):
    """Before the server loads: a store at CURRENT is left alone, a new directory is set up,
    an older one is upgraded (after a backup) unless auto-migration is off."""
    version = format_version(backend, path)
    if version == CURRENT:
        return
    if version and not auto_migrate:
        raise FormatError(
            f"the data directory {path} has format version {version}; this Redwood uses version "
            f"{CURRENT}; run `redwood migrate --dir {path}` (it backs the directory up first) "
            "or start without --no-auto-migrate")
    migrate(backend, path)


def migrate(backend, path: str, progress=lambda fraction: None) -> str | None:
    """Bring the store to CURRENT, after a backup copy unless it is new (nothing to lose);
    progress gets the done fraction of all the steps. Returns the backup's directory."""
    version = format_version(backend, path)
    backup = backup_store(backend, path, version) if version else None
    steps = pending(version)
    for done, step in enumerate(steps):
        step.upgrade(backend, lambda fraction, done=done: progress((done + fraction) / len(steps)))
        log.info("%s: format version %d (%s)", path, step.VERSION, step.DESCRIPTION)
    return backup


def backup_store(backend, path: str, version: int) -> str:
    """A copy of the store as it is, in <path>/backups/format-<version>-<time>/."""
    dest = os.path.join(path, "backups", f"format-{version}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        backend.backup(dest)
    except (OSError, LogUnavailable) as exc:
        raise FormatError(f"cannot back up {path} to {dest} before upgrading it: {exc}; "
                          "nothing was changed") from exc
    log.info("backed up %s (format version %d) to %s", path, version, dest)
    return dest
