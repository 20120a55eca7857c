"""Format 4: the key index is kept by epoch (the seq's top 16 bits) and written behind its
records (backends.IndexTail): every event's entries are still committed with it, but the
by-digest lookup takes them 8,192 at a time, into the newest epoch's part of the tree. Format
3 wrote each entry into one tree ordered by digest alone, rewriting a random page of it for
nearly every event. A key's digest is now its CRC-32 and Adler-32, not blake2b (engine.keyindex).

The entries of the log a store already holds are written again, in the new layout.
"""
import engine.commands  # noqa: F401  (the command table: where each event's keys are)
from backends import batches
from engine import keyindex

VERSION = 4
DESCRIPTION = "keep the key index by epoch, written behind the log (writes no longer rewrite a page of it each)"
BATCH = 10_000


def upgrade(backend, progress):
    backend.drop_index()
    first, last, done = backend.first_seq, backend.last_seq, 0
    for batch in batches(backend.read(first or 1, last), BATCH):
        backend.put_index(keyindex.entries(batch))
        done += len(batch)
        progress(done / (last - first + 1))
    backend.set_meta("format_version", b"4")
    progress(1.0)
