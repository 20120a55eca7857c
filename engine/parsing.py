"""Shared argument parsers; each raises Redis's error text for bad input."""
import math
import re

from engine import errors

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
_FLOAT_JUNK = re.compile(rb"[\s_]|nan", re.IGNORECASE)


def cstr(raw: bytes) -> bytes:
    """The argument as Redis's C string compares see it: up to the first NUL."""
    return raw.partition(b"\0")[0] if b"\0" in raw else raw


def to_int(raw: bytes) -> int | None:
    """Redis's string2ll: canonical decimal, no sign but '-', no spaces, no leading zeros."""
    try:
        value = int(raw)
    except ValueError:
        return None
    if INT64_MIN <= value <= INT64_MAX and b"%d" % value == raw:
        return value
    return None


def parse_int(raw: bytes, error: errors.RedisError = errors.NOT_INTEGER) -> int:
    value = to_int(raw)
    if value is None:
        raise error
    return value


def parse_count(raw: bytes, error: errors.RedisError) -> int:
    """A count that may be 0 but not negative, `error` otherwise (pops, LIMIT …)."""
    value = to_int(raw)
    if value is None or value < 0:
        raise error
    return value


def parse_db_index(raw: bytes, databases: int) -> int:
    """getIntFromObjectOrReply() then selectDb()'s range check (SELECT, MOVE, COPY … DB)."""
    index = parse_int(raw)
    if not INT32_MIN <= index <= INT32_MAX:
        raise errors.INT32_RANGE
    if not 0 <= index < databases:
        raise errors.DB_INDEX
    return index


def to_float(raw: bytes, overflow: bool = False) -> float | None:
    """Redis's strtod-based parsing: inf allowed, nan and surrounding spaces refused.
    A finite number too big for a double is refused too, or inf with `overflow`
    (where Redis parses a long double, whose range holds it)."""
    if not raw or _FLOAT_JUNK.search(raw):
        return None
    try:
        value = float(raw)
    except ValueError:
        if raw.lstrip(b"+-")[:2].lower() != b"0x":
            return None
        try:
            value = float.fromhex(raw.decode("ascii"))   # strtod accepts hex floats
        except (ValueError, UnicodeDecodeError):
            return None
    if math.isnan(value):
        return None
    if math.isinf(value) and not overflow and raw.lstrip(b"+-").lower() not in (b"inf", b"infinity"):
        return None   # strtod overflow (ERANGE) is an error, a literal inf is not
    return value


def parse_float(raw: bytes, error: errors.RedisError = errors.NOT_FLOAT) -> float:
    value = to_float(raw)
    if value is None:
        raise error
    return value


# HRANDFIELD, SRANDMEMBER, ZRANDMEMBER with a negative count repeat members without bound:
# Redis would build a reply of any length (and run out of memory); we refuse past this.
MAX_RANDOM_REPLY = 1 << 24
RANDOM_TOO_LARGE = errors.err("count is too large")

NUMKEYS = errors.err("numkeys should be greater than 0")
COUNT = errors.err("count should be greater than 0")


def parse_mpop(argv, numkeys_at: int, sides: tuple[bytes, bytes]):
    """`numkeys key [key ...] SIDE [COUNT count]` from argv[numkeys_at] on, as [B]LMPOP and
    [B]ZMPOP read it (SIDE one of `sides`, lower case): (keys, side, count)."""
    numkeys = to_int(argv[numkeys_at])
    if numkeys is None or numkeys < 1:
        raise NUMKEYS
    where = numkeys_at + numkeys + 1
    if where >= len(argv):
        raise errors.SYNTAX
    side = cstr(argv[where]).lower()
    if side not in sides:
        raise errors.SYNTAX
    count, i = None, where + 1
    while i < len(argv):
        if count is None and cstr(argv[i]).lower() == b"count" and i + 1 < len(argv):
            count = to_int(argv[i + 1])
            if count is None or count < 1:
                raise COUNT
            i += 2
        else:
            raise errors.SYNTAX
    return argv[numkeys_at + 1:where], side, count or 1


_SPACE = b" \n\r\t\v\f"
_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes):
    """Redis's sdssplitargs(): the words of an inline command, or None for unbalanced quotes.

    Double quotes take `\\xHH` and C escapes; single quotes only `\\'`; a closing
    quote must be followed by a space or the end; a NUL ends the line."""
    line = line.split(b"\0", 1)[0]
    args, i, n = [], 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        word = bytearray()
        quote = 0
        while i < n:
            c = line[i]
            if quote == 34:                                    # inside "…"
                if c == 92 and i + 3 < n and line[i + 1] == 120 and \
                        line[i + 2] in _HEX and line[i + 3] in _HEX:
                    word.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    word.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    quote = 0
                    i += 1
                    break
                else:
                    word.append(c)
            elif quote == 39:                                  # inside '…'
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    word.append(39)
                    i += 1
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    quote = 0
                    i += 1
                    break
                else:
                    word.append(c)
            elif c in _SPACE:
                break
            elif c in (34, 39):
                quote = c
            else:
                word.append(c)
            i += 1
        if quote:
            return None                                        # unterminated quotes
        args.append(bytes(word))
