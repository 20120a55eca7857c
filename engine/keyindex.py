"""The per-key index of the log: for each key, the seqs of the events that touched it.

A key is indexed by an 8-byte digest of its bytes (their CRC-32 and Adler-32: 85 ns where
blake2b took 260 on every write), not by the key itself: the entries are small and of one
size whatever the key (LMDB's keys stop at 511 bytes), and readers check every event they
fetch anyway (the digest leaves out the database, and two keys may share a digest: one who
made many keys share another's would only slow that key's history down). Events that touch
every key of their databases (FLUSHDB, FLUSHALL, SWAPDB) are indexed under WHOLE_DB, which
every key's history reads too.

The store computes an event's digests as it stages it (the entries are committed with the
event; a durable backend's by-digest lookup is written behind them, backends.IndexTail); the
backends drop the entries with their events (see backends.base). Changing how a digest is
made is a format change.
"""
import heapq
import struct
from zlib import adler32, crc32

from backends.base import DIGEST_BYTES
from engine import events
from engine.registry import COMMANDS

WHOLE_DB = bytes(DIGEST_BYTES)
PAGE_MAX = 4096         # index entries read at once, at most
# Commands that touch every key of the databases they name (or of all of them).
WHOLE_DB_COMMANDS = frozenset({b"flushdb", b"flushall", b"swapdb"})


_pack = struct.Struct(">II").pack
_one_key: dict[bytes, int] = {}     # command name -> where its one key is, for those with one


def digest(key: bytes) -> bytes:
    return _pack(crc32(key), adler32(key))


def digests(argv) -> bytes:
    """The index entries of a logged argv, concatenated (empty: none)."""
    name = argv[0].lower()
    if (i := _one_key.get(name)) is not None:
        return _pack(crc32(argv[i]), adler32(argv[i]))
    if name in WHOLE_DB_COMMANDS:
        return WHOLE_DB
    spec = COMMANDS[name]
    if spec.find_keys is None and spec.first_key > 0 and spec.first_key == spec.last_key:
        _one_key[name] = spec.first_key
    positions = spec.key_positions(argv)
    return b"".join({digest(argv[i]): None for i in positions})   # a key named twice is indexed once


def of_record(seq: int, record: bytes) -> bytes:
    """The index entries of a record as the log holds it (a replica's, a tool's)."""
    return digests(events.decode(seq, record, verify=False).argv)


def entries(records):
    """(seq, digests) of (seq, record) pairs, for those that touch a key."""
    for seq, record in records:
        if found := of_record(seq, record):
            yield seq, found


def newest_first(backend, key: bytes, before: int, page: int = 64):
    """The seqs below `before` that the index holds for key or for whole databases, newest
    first, lazily: each read in pages that start at `page` entries and double up to PAGE_MAX."""
    return heapq.merge(_pages(backend, digest(key), before, page),
                       _pages(backend, WHOLE_DB, before, page), reverse=True)


def _pages(backend, found: bytes, before: int, page: int):
    while batch := backend.key_seqs(found, before, page):
        yield from batch
        if len(batch) < page:
            return
        before, page = batch[-1], min(2 * page, PAGE_MAX)


def split(found: bytes) -> list[bytes]:
    return [found[i:i + DIGEST_BYTES] for i in range(0, len(found), DIGEST_BYTES)]
