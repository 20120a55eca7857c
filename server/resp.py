"""The RESP codec, sans-IO: request bytes in, argv lists out; reply values in, bytes out.

Requests are parsed the way Redis 7.0 parses them (`processInlineBuffer`,
`processMultibulkBuffer`), errors worded as Redis words them. Two paths:

- the fast path hands a read to hiredis when it starts at a command boundary
  with `*` and one regex scan finds nothing hiredis would treat differently
  from Redis (an argument that is not a `$` bulk, a negative or long length);
  the read must then end at a command boundary too, with one `*` per command;
- everything else (inline commands, reads that end inside a command, big
  arguments, malformed input) takes the exact Python path, which holds the
  partial command and never buffers a payload larger than the limits allow.
"""
import re
from functools import lru_cache

import hiredis

from engine.errors import RedisError
from engine.parsing import split_args, to_int
from engine.replies import (BigNumber, Double, Map, NoReply, NullArray, Push, RSet, Several,
                            Status, Verbatim, format_double)

INLINE_MAX = 64 * 1024          # PROTO_INLINE_MAX_SIZE
BIG_ARG = 32 * 1024             # payloads from this size are gathered in chunks, not re-copied
INT_MAX = (1 << 31) - 1
ARG_OVERHEAD = 16               # what an argument costs beyond its bytes, for the query-buffer limit



@lru_cache(maxsize=32)
def _unusual(max_bulk_len: int):
    """What the fast path may not meet: a multibulk count of 7+ digits, with a sign or a
    leading zero, a bulk length with a sign, a leading zero or as many digits as the limit
    (it may exceed it), and a verbatim string. A match, even a false one inside a payload,
    only sends the read to the exact path."""
    digits = min(len(str(max_bulk_len)), 7)
    return re.compile(rb"\*(?:[-+]|0\d|\d{7})|\$(?:[-+]|0\d|\d{%d})|\r\n=" % digits).search


# A CRLF and a type character: an element of another RESP type, which Redis refuses in a
# request, or only a payload that starts so (`+inf`, `-1`, `(5` …, common in arguments).
# hiredis reads either; the read is then checked to be bulk strings and nothing else.
_TYPED = re.compile(rb"\r\n[+:\-_,#(!%~>|]").search
_BULK_SIZE = [len(b"$%d\r\n\r\n" % n) for n in range(1024)]


def _only_bulks(data: bytes, commands: list) -> bool:
    """Whether data is exactly commands as arrays of bulk strings: every argument is bytes
    (other types come back as int, None, float …) and the canonical encoding is as long as
    data (a simple string, the one other type read as bytes, is shorter than its bulk)."""
    total = 0
    for argv in commands:
        total += len(b"*%d\r\n" % len(argv))
        for arg in argv:
            if arg.__class__ is not bytes:
                return False
            n = len(arg)
            total += n + (_BULK_SIZE[n] if n < 1024 else len(b"$%d\r\n\r\n" % n))
    return total == len(data)


class ProtocolError:
    """Why the connection must close: `message` is the error reply, or None to close silently."""
    __slots__ = ("message",)

    def __init__(self, message: str | None):
        self.message = message


class RequestParser:
    """Reads `proto-max-bulk-len` and `client-query-buffer-limit` from `limits` (the server's
    config) at each use, so CONFIG SET applies to connections already open, as in Redis."""

    def __init__(self, limits):
        self.limits = limits
        self.reader = hiredis.Reader()
        self.error: ProtocolError | None = None
        self.buf = b""          # unparsed bytes of the exact path
        self.argv = None        # arguments of the multibulk being read, or None at a boundary
        self.remaining = 0      # arguments still to read
        self.bulk = -1          # length of the bulk being read; -1 while reading its header
        self.chunks = []        # payload of a big bulk, gathered read by read
        self.chunked = 0
        self.argv_bytes = 0     # what the arguments read so far hold, counted against the limit

    def feed(self, data: bytes) -> list[list[bytes]]:
        """The complete commands in data (with what came before); sets `error` and stops on bad input."""
        if self.error is not None:
            return []
        if self.argv is None and not self.buf and data[:1] == b"*" and \
                not _unusual(self.limits["proto-max-bulk-len"])(data):
            reader, commands = self.reader, []
            reader.feed(data)
            try:
                while (argv := reader.gets()) is not False:
                    if argv:                      # `*0` and `*-1` are no command
                        commands.append(argv)
                # Only a reader at a command boundary answers `*0` with []: one that is
                # inside a command takes it in (or fails) and is thrown away below. One `*`
                # per command: an array nested in a command (which Redis refuses) has more.
                reader.feed(b"*0\r\n")
                if reader.gets() == [] and data.count(b"*") == len(commands) and \
                        (not _TYPED(data) or _only_bulks(data, commands)):
                    return commands
            except hiredis.ProtocolError:
                pass
            self.reader = hiredis.Reader()        # the exact path reads this data again
        return self._exact(data)

    # -- the exact path -------------------------------------------------------
    def _exact(self, data: bytes) -> list[list[bytes]]:
        commands = []
        if self.chunks:
            data = self._gather(data, commands)
            if data is None:
                return commands
        buf = self.buf + data if self.buf else data
        self.buf = b""
        pos, end = 0, len(buf)
        try:
            while pos < end:
                if self.argv is None:
                    if buf[pos] == 42:                         # '*'
                        after = self._multibulk_header(buf, pos)
                    else:
                        after = self._inline(buf, pos, commands)
                    if after is None:                          # the line is incomplete
                        break
                    pos = after
                    continue
                if self.bulk < 0:
                    after = self._bulk_header(buf, pos)
                    if after is None:
                        break
                    pos = after
                stop = pos + self.bulk
                if stop + 2 > end:                             # payload incomplete
                    if self.bulk >= BIG_ARG:
                        self.chunks, self.chunked = [buf[pos:]], end - pos
                        pos = end
                    break
                self._argument(buf[pos:stop], commands)
                pos = stop + 2                                 # Redis skips the CRLF unchecked
        except _Refused as refused:
            self.error = ProtocolError(refused.message)
            self.argv, self.argv_bytes = None, 0
            return commands
        self.buf = buf[pos:] if pos < end else b""
        if len(self.buf) + self.chunked + self.argv_bytes > self.limits["client-query-buffer-limit"]:
            self.error = ProtocolError(None)                 # Redis closes such a client silently
        return commands

    def _gather(self, data: bytes, commands: list):
        """Add a read to a big bulk's payload; the rest of the data once the payload is whole."""
        need = self.bulk + 2 - self.chunked
        if len(data) < need:
            self.chunks.append(data)
            self.chunked += len(data)
            if self.chunked + self.argv_bytes > self.limits["client-query-buffer-limit"]:
                self.error = ProtocolError(None)
            return None
        self.chunks.append(data[:need])
        payload = b"".join(self.chunks)
        self.chunks, self.chunked = [], 0
        self._argument(payload[:self.bulk], commands)
        return data[need:]

    def _argument(self, value: bytes, commands: list):
        self.argv.append(value)
        self.argv_bytes += len(value) + ARG_OVERHEAD
        self.bulk = -1
        self.remaining -= 1
        if not self.remaining:
            commands.append(self.argv)
            self.argv, self.argv_bytes = None, 0

    def _line(self, buf: bytes, pos: int, too_big: str):
        """The index of the `\\r` ending the header at pos, or None while it is incomplete."""
        cr = buf.find(b"\r", pos)
        if cr < 0 or cr + 1 >= len(buf):   # Redis also waits for the byte after it
            if len(buf) - pos > INLINE_MAX:
                raise _Refused(too_big)
            return None
        return cr

    def _multibulk_header(self, buf: bytes, pos: int):
        cr = self._line(buf, pos, "Protocol error: too big mbulk count string")
        if cr is None:
            return None
        count = to_int(buf[pos + 1:cr])
        if count is None or count > INT_MAX:
            raise _Refused("Protocol error: invalid multibulk length")
        if count > 0:
            self.argv, self.remaining, self.bulk = [], count, -1
        return cr + 2

    def _bulk_header(self, buf: bytes, pos: int):
        cr = self._line(buf, pos, "Protocol error: too big bulk count string")
        if cr is None:
            return None
        if buf[pos] != 36:                                     # '$'
            raise _Refused("Protocol error: expected '$', got '%s'" % chr(buf[pos]))
        length = to_int(buf[pos + 1:cr])
        if length is None or length < 0 or length > self.limits["proto-max-bulk-len"]:
            raise _Refused("Protocol error: invalid bulk length")
        self.bulk = length
        return cr + 2

    def _inline(self, buf: bytes, pos: int, commands: list):
        newline = buf.find(b"\n", pos)
        if newline < 0:
            if len(buf) - pos > INLINE_MAX:
                raise _Refused("Protocol error: too big inline request")
            return None
        line = buf[pos:newline]
        if line.endswith(b"\r"):
            line = line[:-1]
        argv = split_args(line)
        if argv is None:
            raise _Refused("Protocol error: unbalanced quotes in request")
        if argv:
            commands.append(argv)
        return newline + 1


class _Refused(Exception):
    def __init__(self, message: str):
        self.message = message


# -- replies ---------------------------------------------------------------------

OK_BYTES = b"+OK\r\n"
_NULL2, _NULL3 = b"$-1\r\n", b"_\r\n"


_BULK_HEADS = [b"$%d\r\n" % n for n in range(1024)]   # formatting them costs more than the rest


def encode(value, resp3: bool = False) -> bytes:
    """One reply value as RESP2 (or RESP3) bytes."""
    kind = value.__class__
    if kind is bytes:
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if kind is Status:
        return OK_BYTES if value == "OK" else b"+%s\r\n" % value.encode()
    if kind is int:
        return b":%d\r\n" % value
    if value is None:
        return _NULL3 if resp3 else _NULL2
    out = []
    _encode(value, resp3, out)
    return b"".join(out)


def _encode(value, resp3: bool, out: list):
    kind = value.__class__
    if kind is bytes or kind is bytearray:
        out.append(b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is int:
        out.append(b":%d\r\n" % value)
    elif value is None:
        out.append(_NULL3 if resp3 else _NULL2)
    elif kind is list or kind is tuple or kind is Push or kind is RSet:
        if kind is Push and resp3:
            out.append(b">%d\r\n" % len(value))
        elif kind is RSet and resp3:
            out.append(b"~%d\r\n" % len(value))
        else:
            out.append(b"*%d\r\n" % len(value))
        append = out.append
        for item in value:
            if item.__class__ is bytes:     # most arrays are of bulk strings (LRANGE, ZRANGE …)
                n = len(item)
                append(_BULK_HEADS[n] if n < 1024 else b"$%d\r\n" % n)
                append(item)
                append(b"\r\n")
            else:
                _encode(item, resp3, out)
    elif kind is Status:
        out.append(b"+%s\r\n" % value.encode())
    elif isinstance(value, RedisError):
        out.append(b"-%s\r\n" % value.message.encode())
    elif kind is Map:
        out.append(b"%%%d\r\n" % len(value) if resp3 else b"*%d\r\n" % (2 * len(value)))
        for key, item in value.items():
            _encode(key, resp3, out)
            _encode(item, resp3, out)
    elif kind is Double:
        text = format_double(value)
        out.append(b",%s\r\n" % text if resp3 else b"$%d\r\n%s\r\n" % (len(text), text))
    elif kind is bool:
        out.append((b"#t\r\n" if value else b"#f\r\n") if resp3 else b":%d\r\n" % value)
    elif kind is Several:
        for item in value:
            _encode(item, resp3, out)
    elif kind is NoReply:
        pass
    elif kind is NullArray:
        out.append(_NULL3 if resp3 else b"*-1\r\n")
    elif kind is Verbatim:
        out.append(b"=%d\r\ntxt:%s\r\n" % (len(value) + 4, value) if resp3
                   else b"$%d\r\n%s\r\n" % (len(value), value))
    elif kind is BigNumber:
        text = b"%d" % value
        out.append(b"(%s\r\n" % text if resp3 else b"$%d\r\n%s\r\n" % (len(text), text))
    else:
        raise TypeError(f"no RESP encoding for {kind.__name__}")
