"""Format 2: snapshots, and the version of each part of the store in the metadata.

The log's records stay as they are; LMDB's `snap` sub-database is created by the
backend when it opens. The versions written are this step's, not the code's current
constants: changing a format later is a later step.
"""
VERSION = 2
DESCRIPTION = "record the log, snapshot and SQLite schema formats (snapshots arrive)"

LOG_FORMAT = 1          # engine.events.FORMAT_VERSION
SNAPSHOT_FORMAT = 1     # engine.snapshot.FORMAT_VERSION
SQLITE_SCHEMA = 1       # backends.sqlite.SCHEMA_VERSION


def upgrade(backend, progress):
    backend.set_meta("log_format", b"%d" % LOG_FORMAT)
    backend.set_meta("snapshot_format", b"%d" % SNAPSHOT_FORMAT)
    if backend.kind == "sqlite":
        backend.set_meta("schema", b"%d" % SQLITE_SCHEMA)
    backend.set_meta("format_version", b"2")
    progress(1.0)
