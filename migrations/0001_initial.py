"""Format 1: a new data directory gets its log id (the replication id)."""
import os

VERSION = 1
DESCRIPTION = "create the log id (the replication id) of a new data directory"


def upgrade(backend, progress):
    if backend.get_meta("log_id") is None:      # kept when a crash cut this step short
        backend.set_meta("log_id", os.urandom(20).hex().encode())
    backend.set_meta("format_version", b"1")
    progress(1.0)
