"""The event record: what one logged write looks like on disk.

Format version 1, little-endian, one record per seq (the seq is the backend's
key, 8-byte big-endian, and is covered by the checksum):

    crc32 u32 | ts u64 (ms) | db u16 | flags u8 | origin_len u16 | origin | argv

`origin` is `kind u8 | client_id u64 | addr | name | user`, each string a
u8 length and its bytes (kinds: client, expire, evict, replication, internal, and undo:
a client's HISTORY REVERT).
`argv` is the command as a RESP array: the log's commands are plain Redis
commands, so a slice of the log can be sent to any Redis as it is.
"""
import struct
import zlib
from typing import NamedTuple

import hiredis

FORMAT_VERSION = 1
_pack_command = hiredis.pack_command

HEADER = struct.Struct("<IQHBH")
BODY_HEAD = struct.Struct("<QHBH")       # the header after its crc
CRC = struct.Struct("<I")
ORIGIN_HEAD = struct.Struct("<BQ")
SEQ = struct.Struct(">Q")

ORIGIN_KINDS = ("client", "expire", "evict", "replication", "internal", "undo")

# Flags on a record.
FLAG_MULTI = 1   # part of a MULTI/EXEC or script batch (applied all or nothing)

# The closed vocabulary: the only commands that may appear in a v1 log.
# Deterministic forms only: no relative TTLs, no randomness, no blocking.
# Adding a name here is a format change; removing or changing one needs a migration.
# `function` (store format 3): FUNCTION LOAD REPLACE code, DELETE name, FLUSH, RESTORE payload policy.
VOCABULARY = frozenset(name.encode() for name in """
    set del getdel append setrange incrby decrby incr decr mset msetnx setnx
    pexpireat persist rename renamenx copy move swapdb flushdb flushall
    setbit bitop bitfield
    lpush rpush lpushx rpushx lpop rpop lset linsert lrem ltrim lmove
    hset hsetnx hdel hincrby
    sadd srem smove sinterstore sunionstore sdiffstore
    zadd zincrby zrem zremrangebyrank zremrangebyscore zremrangebylex zpopmin zpopmax
    zrangestore zunionstore zinterstore zdiffstore
    function
""".split())


class CorruptRecord(Exception):
    pass


class Origin(NamedTuple):
    kind: str
    client_id: int = 0
    addr: str = ""
    name: str = ""
    user: str = ""

    def encode(self) -> bytes:
        parts = [ORIGIN_HEAD.pack(ORIGIN_KINDS.index(self.kind), self.client_id)]
        for text in (self.addr, self.name, self.user):
            raw = text.encode()[:255]
            parts.append(bytes((len(raw),)) + raw)
        return b"".join(parts)

    @classmethod
    def decode(cls, raw: bytes) -> "Origin":
        kind, client_id = ORIGIN_HEAD.unpack_from(raw)
        pos, texts = ORIGIN_HEAD.size, []
        for _ in range(3):
            n = raw[pos]
            texts.append(raw[pos + 1:pos + 1 + n].decode(errors="replace"))
            pos += 1 + n
        return cls(ORIGIN_KINDS[kind], client_id, *texts)


ORIGIN_EXPIRE = Origin("expire").encode()
ORIGIN_EVICT = Origin("evict").encode()
ORIGIN_INTERNAL = Origin("internal").encode()


class Event(NamedTuple):
    seq: int
    ts: int
    db: int
    flags: int
    origin: Origin
    argv: list


def encode(seq: int, ts: int, db: int, origin: bytes, argv, flags: int = 0) -> bytes:
    try:
        command = _pack_command(tuple(argv))    # hiredis, in C: a third faster for MSET's 21 args
    except TypeError:                           # a bytearray (a string changed in place)
        command = b"*%d\r\n%s" % (len(argv), b"".join([b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv]))
    body = b"".join((BODY_HEAD.pack(ts, db, flags, len(origin)), origin, command))
    return CRC.pack(zlib.crc32(body, zlib.crc32(SEQ.pack(seq)))) + body


def decode(seq: int, record: bytes, verify: bool = True) -> Event:
    try:
        crc, ts, db, flags, olen = HEADER.unpack_from(record)
    except struct.error:
        raise CorruptRecord(f"event {seq} is shorter than its header") from None
    if verify and zlib.crc32(memoryview(record)[4:], zlib.crc32(SEQ.pack(seq))) != crc:
        raise CorruptRecord(f"checksum mismatch in event {seq}")
    start = HEADER.size
    origin = Origin.decode(record[start:start + olen])
    return Event(seq, ts, db, flags, origin, _argv(record, start + olen, seq))


def replay_stream(entries):
    """(key, ts, db, argv) for each (8-byte seq key, record buffer) of a backend's scan():
    decode() without the origin, inlined and zero-copy, because start-up runs it once per
    event (a function call is a tenth of the budget of 1 µs per event)."""
    reader, unpack, crc32 = hiredis.Reader(), HEADER.unpack_from, zlib.crc32
    start = HEADER.size
    for key, record in entries:
        try:
            crc, ts, db, _flags, olen = unpack(record)
        except struct.error:
            raise CorruptRecord(f"event {int.from_bytes(key, 'big')} is shorter than its header") from None
        if crc32(record[4:], crc32(key)) != crc:
            raise CorruptRecord(f"checksum mismatch in event {int.from_bytes(key, 'big')}")
        reader.feed(record, start + olen)
        argv = reader.gets()
        if argv.__class__ is not list:
            raise CorruptRecord(f"malformed command in event {int.from_bytes(key, 'big')}")
        yield key, ts, db, argv


def _argv(record, offset: int, seq: int) -> list:
    reader = hiredis.Reader()
    reader.feed(record, offset)
    argv = reader.gets()
    if not isinstance(argv, list):
        raise CorruptRecord(f"malformed command in event {seq}")
    return argv
