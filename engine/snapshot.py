"""The snapshot format: the whole keyspace as of one log seq, as a sequence of chunks.

Format version 2 (version 1, still read, had no functions chunk). Each chunk is `crc32 u32 (little-endian) | body`; the crc covers the
chunk's index (u32, big-endian) and the body, so a flipped bit, a lost or a reordered chunk
is found. Every body is a RESP array of bulk strings (hiredis packs and parses it in C, and
any RESP reader can read it):

    header   redwood-snapshot  version  seq  ts  databases
    functions  functions  (name  code)…            FUNCTION's libraries, when there are any
    data     db  (tag  count  records…)…      runs of keys of one type, in the db's key order
    expiry   db  e  count  (key  unix-ms)…
    trailer  end  keys  chunks

Run tags and their records: `s` key value (a string), `r` key value (a string modified in
place: Redis's raw encoding), and for the aggregates `key flag count items…` where flag is
`1` for the big encoding (hashtable / skiplist) and `0` for the compact one: `h` field value
pairs, `l` elements, `S` members, `z` one bulk of packed little-endian doubles (the scores)
then the members. An aggregate larger than PART items continues in the next record under
the same key, so no chunk grows without bound.
"""
import hashlib
import heapq
import struct
import zlib

import hiredis

from engine.commands.hashes import Hash
from engine.commands.lists import ListValue
from engine.commands.sets import SetValue
from engine.commands.zsets import ZSet

FORMAT_VERSION = 2
READABLE = (1, 2)
MAGIC = b"redwood-snapshot"
CHUNK_BYTES = 256 * 1024     # a chunk is one short backend transaction
PART = 16 * 1024             # items of one aggregate per record
_CRC = struct.Struct("<I")
_INDEX = struct.Struct(">I")


class CorruptSnapshot(Exception):
    pass


# -- writing -------------------------------------------------------------------------------
def encode(keyspace, seq: int, ts: int):
    """The chunks of a snapshot of `keyspace` as of event `seq` (time `ts`), lazily."""
    chunks = _Chunks()
    yield chunks.seal([MAGIC, FORMAT_VERSION, seq, ts, len(keyspace.dbs)])
    if keyspace.libraries:
        yield chunks.seal([b"functions", *(item for pair in keyspace.libraries.items() for item in pair)])
    keys = 0
    for db in keyspace.dbs:
        if not db.data:
            continue
        keys += len(db.data)
        run = _Run(db.index, chunks)
        for key, value in db.data.items():
            cls = value.__class__
            if cls is bytes:
                run.start(b"s")
                run.items += (key, value)
                run.size += len(key) + len(value)
            elif cls is bytearray:
                run.start(b"r")
                run.items += (key, bytes(value))
                run.size += len(key) + len(value)
            else:
                yield from run.aggregate(key, value)
            if run.size >= CHUNK_BYTES:
                yield run.flush()
        if run.items:
            yield run.flush()
        if db.expires:
            pairs = [item for key, when in db.expires.items() for item in (key, when)]
            for start in range(0, len(pairs), 2 * PART):
                part = pairs[start:start + 2 * PART]
                yield chunks.seal([db.index, b"e", len(part) // 2, *part])
    yield chunks.seal([b"end", keys, chunks.count + 1])


class _Chunks:
    def __init__(self):
        self.count = 0

    def seal(self, items) -> bytes:
        body = hiredis.pack_command(tuple(items))
        crc = zlib.crc32(body, zlib.crc32(_INDEX.pack(self.count)))
        self.count += 1
        return _CRC.pack(crc) + body


class _Run:
    """One database's keys, collected into runs of one type until a chunk is full."""

    def __init__(self, index: int, chunks: _Chunks):
        self.index, self.chunks = index, chunks
        self.items: list = []
        self.tag = None
        self.count_at = 0          # where the current run's count is
        self.size = 0

    def start(self, tag: bytes):
        """One more record of type `tag`: continues the current run or opens another."""
        if tag != self.tag:
            self.tag = tag
            self.items += (tag, 0)
            self.count_at = len(self.items) - 1
        self.items[self.count_at] += 1

    def aggregate(self, key: bytes, value):
        """Add an aggregate's record(s); yields the chunks a big one fills on the way."""
        cls, scores = value.__class__, None
        if cls is Hash:
            tag, flag, items, step = b"h", value.hashtable, [x for pair in value.items() for x in pair], 2
        elif cls is ListValue:
            tag, flag, items, step = b"l", False, list(value), 1
        elif cls is SetValue:
            tag, flag, items, step = b"S", value.hashtable, list(value.members), 1
        elif cls is ZSet:
            tag, flag, items, step = b"z", value.skiplist, value.members_by_rank(), 1
            scores = [value[member] for member in items]
        else:
            raise TypeError(f"no snapshot encoding for {cls.__name__}")
        for start in range(0, len(items), PART * step):
            if self.size >= CHUNK_BYTES:
                yield self.flush()
            part = items[start:start + PART * step]
            self.start(tag)
            self.items += (key, b"1" if flag else b"0", len(part) // step)
            if scores is not None:
                self.items.append(struct.pack(f"<{len(part)}d", *scores[start:start + len(part)]))
            self.items += part
            self.size += len(key) + sum(map(len, part)) + 8 * len(part)

    def flush(self) -> bytes:
        chunk = self.chunks.seal([self.index, *self.items])
        self.items, self.tag, self.size = [], None, 0
        return chunk


# -- reading -------------------------------------------------------------------------------
def decode(keyspace, chunks) -> tuple[int, int]:
    """Load a snapshot's chunks into an empty keyspace; returns its (seq, ts).
    CorruptSnapshot when a checksum fails, a chunk is missing or malformed."""
    reader = hiredis.Reader()
    header = trailer = None
    index = keys = 0
    dbs = keyspace.dbs
    for index, chunk in enumerate(chunks):
        if trailer is not None:
            raise CorruptSnapshot(f"chunk {index} after the end")
        items = _parse(reader, chunk, index)
        if header is None:
            if len(items) != 5 or items[0] != MAGIC:
                raise CorruptSnapshot("not a Redwood snapshot")
            if int(items[1]) not in READABLE:
                raise CorruptSnapshot(f"snapshot format {int(items[1])} (this Redwood reads {READABLE})")
            header = items
        elif items[0] == b"end":
            trailer = items
        elif items[0] == b"functions":
            keyspace.libraries = dict(zip(items[1::2], items[2::2]))
        else:
            try:
                db = dbs[int(items[0])]
                keys += _load(db, items)
            except (IndexError, ValueError, TypeError, struct.error) as exc:
                raise CorruptSnapshot(f"malformed chunk {index}: {exc!r}") from None
    if trailer is None or int(trailer[2]) != index + 1:
        raise CorruptSnapshot(f"the snapshot ends after chunk {index} without its trailer")
    if int(trailer[1]) != keys:
        raise CorruptSnapshot(f"the trailer counts {int(trailer[1])} keys, the chunks hold {keys}")
    for db in dbs:
        if db.expires:
            db.heap = [(when, key) for key, when in db.expires.items()]
            heapq.heapify(db.heap)
    return int(header[2]), int(header[3])


def _parse(reader, chunk, index: int) -> list:
    if len(chunk) < _CRC.size or _CRC.unpack_from(chunk)[0] != zlib.crc32(
            memoryview(chunk)[_CRC.size:], zlib.crc32(_INDEX.pack(index))):
        raise CorruptSnapshot(f"checksum mismatch in chunk {index}")
    reader.feed(chunk, _CRC.size)
    items = reader.gets()
    if items.__class__ is not list or reader.gets() is not False:
        raise CorruptSnapshot(f"malformed chunk {index}")
    return items


def _load(db, items: list) -> int:
    """Apply one data or expiry chunk to db; returns how many new keys it brought."""
    data, at, end, new = db.data, 1, len(items), 0
    while at < end:
        tag, count = items[at], int(items[at + 1])
        at += 2
        if tag == b"s" or tag == b"r" or tag == b"e":
            pairs = items[at:at + 2 * count]
            at += 2 * count
            if tag == b"e":
                db.expires.update(zip(pairs[0::2], map(int, pairs[1::2])))
                continue
            before = len(data)
            values = pairs[1::2] if tag == b"s" else map(bytearray, pairs[1::2])
            data.update(zip(pairs[0::2], values))
            new += len(data) - before
            continue
        for _ in range(count):
            key, flag, n = items[at], items[at + 1] == b"1", int(items[at + 2])
            at += 3
            value = data.get(key)
            if value is None:
                new += 1
            if tag == b"h":
                if value is None:
                    value = data[key] = Hash()
                    value.hashtable = flag
                part = items[at:at + 2 * n]
                at += 2 * n
                value.update(zip(part[0::2], part[1::2]))
            elif tag == b"l":
                if value is None:
                    value = data[key] = ListValue()
                value.extend(items[at:at + n])
                at += n
            elif tag == b"S":
                if value is None:
                    value = data[key] = SetValue(set(), flag)
                value.members.update(items[at:at + n])
                at += n
            elif tag == b"z":
                if value is None:
                    value = data[key] = ZSet(flag)
                scores = struct.unpack(f"<{n}d", items[at])
                value.fill(list(zip(scores, items[at + 1:at + 1 + n])))
                at += 1 + n
            else:
                raise CorruptSnapshot(f"unknown record type {tag!r}")
    return new


def header(chunk: bytes) -> tuple[int, int, int]:
    """(format version, seq, ts) from a snapshot's first chunk."""
    items = _parse(hiredis.Reader(), chunk, 0)
    if items[0] != MAGIC:
        raise CorruptSnapshot("not a Redwood snapshot")
    return int(items[1]), int(items[2]), int(items[3])


# -- comparing -----------------------------------------------------------------------------
def fingerprint(keyspace) -> str:
    """A digest of the keyspace's content (values, encodings, expiry times) that does not
    depend on how it was built: equal for a replayed log and for a snapshot plus its tail.
    Key order and a set's member order are not content; a hash's field order is (a small
    hash answers in insertion order)."""
    digest = hashlib.sha256()
    for db in keyspace.dbs:
        for key in sorted(db.data):
            value = db.data[key]
            cls = value.__class__
            if cls is bytes or cls is bytearray:
                parts = [b"s" if cls is bytes else b"r", bytes(value)]
            elif cls is Hash:
                parts = [b"h%d" % value.hashtable, *(x for pair in value.items() for x in pair)]
            elif cls is ListValue:
                parts = [b"l", *value]
            elif cls is SetValue:
                parts = [b"S%d" % value.hashtable, *sorted(value.members)]
            else:
                parts = [b"z%d" % value.skiplist, *(x for score, member in value.order
                                                     for x in (struct.pack("<d", score), member))]
            parts += [key, b"%d" % db.index, b"%d" % db.expires.get(key, -1)]
            digest.update(hiredis.pack_command(tuple(parts)))
    if keyspace.libraries:                  # FUNCTION's libraries are content too
        pairs = sorted(keyspace.libraries.items())
        digest.update(hiredis.pack_command((b"functions", *(item for pair in pairs for item in pair))))
    return digest.hexdigest()
