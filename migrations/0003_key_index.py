"""Format 3: the key index (engine.keyindex), so a key's history is read from an index
instead of a scan of the log; built here for the log a store already holds.

The backends create the index's empty tables when they open; this step fills them.
Events that arrive from now on are indexed as they are written.

Format 3 also admits the FUNCTION events (LOAD REPLACE, DELETE, FLUSH, RESTORE: FUNCTION's
libraries are stored state), and snapshot format 2, which adds a chunk of those libraries
(snapshots of format 1 stay readable as they are).
"""
import engine.commands  # noqa: F401  (the command table: where each event's keys are)
from backends import batches
from engine import keyindex

VERSION = 3
DESCRIPTION = "index the log by key (HISTORY KEY reads an index instead of scanning the log)"
BATCH = 10_000
SNAPSHOT_FORMAT = 2     # engine.snapshot.FORMAT_VERSION


def upgrade(backend, progress):
    first, last, done = backend.first_seq, backend.last_seq, 0
    for batch in batches(backend.read(first or 1, last), BATCH):
        backend.put_index(keyindex.entries(batch))
        done += len(batch)
        progress(done / (last - first + 1))
    backend.set_meta("snapshot_format", b"%d" % SNAPSHOT_FORMAT)
    backend.set_meta("format_version", b"3")
    progress(1.0)
