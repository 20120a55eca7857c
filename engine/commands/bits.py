"""Bit commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD, BITFIELD_RO.

Bit 0 is the most significant bit of the first byte, as in Redis. Ranges are
normalised the way Redis 7.0 does it, then handled as ranges of bits.
"""
import re

from engine import errors
from engine.commands.strings import raw_string
from engine.parsing import INT64_MAX, INT64_MIN, cstr, parse_int, to_int
from engine.registry import READS, READS_UPDATES, command

BAD_OFFSET = errors.err("bit offset is not an integer or out of range")
BAD_BIT = errors.err("bit is not an integer or out of range")
BAD_TYPE = errors.err("Invalid bitfield type. Use something like i16 u8. "
                      "Note that u64 is not supported but i64 is.")
_NOT_ZERO = re.compile(rb"[^\x00]")
_NOT_ONES = re.compile(rb"[^\xff]")


def bit_offset(client, raw: bytes, bits: int = 0) -> int:
    """Redis's getBitOffsetFromArgument: `#n` (when bits is given) means n * bits."""
    hashed = bits and raw[:1] == b"#"
    offset = to_int(raw[1:] if hashed else raw)
    if offset is None:
        raise BAD_OFFSET
    if hashed:   # C multiplies in 64 bits: wrap the same way
        offset = ((offset * bits - INT64_MIN) & 0xFFFFFFFFFFFFFFFF) + INT64_MIN
    if offset < 0 or (offset >> 3 >= client.state.config["proto-max-bulk-len"]
                      and client.keyspace.expiring):
        raise BAD_OFFSET
    return offset


@command("setbit", 4, "write denyoom", keys=(1, 1, 1), group="bitmap",
         summary="Sets or clears the bit at offset in the string value stored at key", since="2.2.0",
         complexity="O(1)", syntax="key offset:integer value:integer")
def setbit(client, argv):
    offset = bit_offset(client, argv[2])
    on = to_int(argv[3])
    if on is None or on & ~1:
        raise BAD_BIT
    db, key = client.db, argv[1]
    old = db.get_string(key)
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    if old is None:
        bits = bytearray(byte + 1)
        db.set(key, bits)
    else:
        bits = raw_string(db, key, old)   # Redis writes (and makes it raw) even if the bit is set
        if len(bits) <= byte:
            bits.extend(bytes(byte + 1 - len(bits)))
    was = bits[byte] & mask
    bits[byte] = bits[byte] | mask if on else bits[byte] & ~mask
    client.log(argv)
    return 1 if was else 0


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), group="bitmap",
         summary="Returns the bit value at offset in the string value stored at key", since="2.2.0",
         complexity="O(1)", syntax="key offset:integer")
def getbit(client, argv):
    offset = bit_offset(client, argv[2])
    value = client.db.get_string(argv[1])
    byte = offset >> 3
    if value is None or byte >= len(value):
        return 0
    return 1 if value[byte] & (0x80 >> (offset & 7)) else 0


def _bit_range(size: int, start: int, end: int, in_bits: bool):
    """Redis's index normalisation; returns the inclusive range (first, last) in bits,
    empty when first > last."""
    total = size * 8 if in_bits else size
    if start < 0:
        start = max(total + start, 0)
    if end < 0:
        end = max(total + end, 0)
    end = min(end, total - 1)
    if not in_bits:
        return start * 8, end * 8 + 7
    return start, end


def _unit(raw: bytes) -> bool:
    unit = cstr(raw).upper()
    if unit == b"BIT":
        return True
    if unit == b"BYTE":
        return False
    raise errors.SYNTAX


def _bits_of(value: bytes, first: int, last: int) -> int:
    """The bits first..last (inclusive, first <= last < 8*len) as an unsigned integer."""
    chunk = int.from_bytes(memoryview(value)[first >> 3:(last >> 3) + 1], "big")
    return (chunk >> (7 - (last & 7))) & ((1 << (last - first + 1)) - 1)


@command("bitcount", -2, "readonly", keys=(1, 1, 1), group="bitmap",
         summary="Count set bits in a string", since="2.6.0", complexity="O(N)",
         syntax="key [start:integer end:integer [BYTE | BIT]]")
def bitcount(client, argv):
    value = client.db.get_string(argv[1])
    if value is None:          # 7.0 answers before looking at the other arguments
        return 0
    if len(argv) == 2:
        return int.from_bytes(value, "big").bit_count()
    if len(argv) > 5 or len(argv) == 3:
        raise errors.SYNTAX
    start, end = parse_int(argv[2]), parse_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = _unit(argv[4]) if len(argv) == 5 else False
    first, last = _bit_range(len(value), start, end, in_bits)
    if first > last:
        return 0
    if not in_bits:
        return int.from_bytes(memoryview(value)[first >> 3:(last >> 3) + 1], "big").bit_count()
    return _bits_of(value, first, last).bit_count()


@command("bitpos", -3, "readonly", keys=(1, 1, 1), group="bitmap",
         summary="Find first bit set or clear in a string", since="2.8.7", complexity="O(N)",
         syntax="key bit:integer [start:integer [end:integer [BYTE | BIT]]]")
def bitpos(client, argv):
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise errors.err("The bit argument must be 1 or 0.")
    value = client.db.get_string(argv[1])
    if value is None:          # an endless run of zeros
        return -1 if bit else 0
    n, end_given = len(argv), len(argv) >= 5
    if n > 6:
        raise errors.SYNTAX
    if n == 3:
        first, last = 0, len(value) * 8 - 1
    else:
        start = parse_int(argv[3])
        in_bits = _unit(argv[5]) if n == 6 else False
        end = parse_int(argv[4]) if end_given else (len(value) * 8 + 7 if in_bits else len(value) - 1)
        first, last = _bit_range(len(value), start, end, in_bits)
    if first > last:
        return -1
    found = _first_bit(value, first, last, bit)
    if found is not None:
        return found
    # No clear bit: Redis treats the string as padded with zeros on the right, unless
    # the user gave an explicit end.
    return -1 if bit or end_given else last + 1


def _first_bit(value: bytes, first: int, last: int, bit: int):
    """The position of the first `bit` in bits first..last, or None."""
    head_end = min(last, first | 7)                   # the first byte's part of the range
    found = _in_bits(value, first, head_end, bit)
    if found is not None or head_end == last:
        return found
    tail_start = last & ~7
    middle = (_NOT_ZERO if bit else _NOT_ONES).search(value, (first >> 3) + 1, tail_start >> 3)
    if middle is not None:
        byte = middle.start()
        return _in_bits(value, byte * 8, byte * 8 + 7, bit)
    return _in_bits(value, tail_start, last, bit)


def _in_bits(value: bytes, first: int, last: int, bit: int):
    width = last - first + 1
    chunk = _bits_of(value, first, last)
    if not bit:
        chunk ^= (1 << width) - 1
    return first + width - chunk.bit_length() if chunk else None


@command("bitop", -4, "write denyoom", keys=(2, -1, 1), group="bitmap",
         key_specs=(("OW UPDATE", 2), ("RO ACCESS", 3, -1)),
         summary="Perform bitwise operations between strings", since="2.6.0", complexity="O(N)",
         syntax="operation destkey:key key [key ...]")
def bitop(client, argv):
    op = cstr(argv[1]).upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise errors.SYNTAX
    if op == b"NOT" and len(argv) != 4:
        raise errors.err("BITOP NOT must be called with a single source key.")
    db = client.db
    sources = [db.get_string(key) or b"" for key in argv[3:]]
    size = max(map(len, sources))
    dest = argv[2]
    if not size:
        if db.delete(dest):
            client.log(argv)
        return 0
    # Shorter strings count as padded with zero bytes.
    ints = [int.from_bytes(s, "big") << (8 * (size - len(s))) for s in sources]
    result = ints[0]
    if op == b"NOT":
        result ^= (1 << (8 * size)) - 1
    elif op == b"AND":
        for other in ints[1:]:
            result &= other
    elif op == b"OR":
        for other in ints[1:]:
            result |= other
    else:
        for other in ints[1:]:
            result ^= other
    db.set(dest, bytearray(result.to_bytes(size, "big")))   # a new raw string, as Redis makes it
    client.log(argv)
    return size


# --- BITFIELD -------------------------------------------------------------------

_GET, _SET, _INCRBY = 0, 1, 2
_WRAP, _SAT, _FAIL = 0, 1, 2
_OPCODES = {b"GET": (_GET, 2), b"SET": (_SET, 3), b"INCRBY": (_INCRBY, 3)}
_OVERFLOWS = {b"WRAP": _WRAP, b"SAT": _SAT, b"FAIL": _FAIL}


def _field_type(raw: bytes):
    """(signed, bits) from `i8`, `u16` …: i1..i64 and u1..u63."""
    text = cstr(raw)
    kind = text[:1].lower()
    bits = to_int(text[1:])
    if kind not in (b"i", b"u") or bits is None or bits < 1 or bits > (64 if kind == b"i" else 63):
        raise BAD_TYPE
    return kind == b"i", bits


def _parse_bitfield(client, argv):
    """The list of (opcode, signed, bits, offset, value, overflow) in argument order."""
    ops, overflow, i, n = [], _WRAP, 2, len(argv)
    while i < n:
        name = cstr(argv[i]).upper()
        spec = _OPCODES.get(name)
        if spec is None or n - i - 1 < spec[1]:
            if name == b"OVERFLOW" and i + 1 < n:
                overflow = _OVERFLOWS.get(cstr(argv[i + 1]).upper())
                if overflow is None:
                    raise errors.err("Invalid OVERFLOW type specified")
                i += 2
                continue
            raise errors.SYNTAX
        opcode = spec[0]
        signed, bits = _field_type(argv[i + 1])
        offset = bit_offset(client, argv[i + 2], bits)
        value = parse_int(argv[i + 3]) if opcode != _GET else 0
        ops.append((opcode, signed, bits, offset, value, overflow))
        i += 1 + spec[1]
    return ops


def _bitfield(client, argv, readonly_command: bool):
    ops = _parse_bitfield(client, argv)
    db, key = client.db, argv[1]
    writes = [op for op in ops if op[0] != _GET]
    if not writes:
        value = db.get_string(key) or b""
        return [_get_field(value, op[3], op[2], op[1]) for op in ops]
    if readonly_command:
        raise errors.err("BITFIELD_RO only supports the GET subcommand")
    old = db.get_string(key)
    need = (max(op[3] + op[2] - 1 for op in writes) >> 3) + 1
    # Redis creates the key (or makes its string raw) before running the ops, whatever they do.
    if old is None:
        buf = bytearray(need)
        db.set(key, buf)
    else:
        buf = raw_string(db, key, old)
        if len(buf) < need:
            buf.extend(bytes(need - len(buf)))
    replies, logged = [], [b"BITFIELD", key]
    for opcode, signed, bits, offset, arg, overflow in ops:
        if opcode == _GET:
            replies.append(_get_field(buf, offset, bits, signed))
            continue
        current = _get_field(buf, offset, bits, signed)
        if opcode == _INCRBY:
            failed, new = _overflow(current, arg, signed, bits, overflow)
            reply = new
        else:
            failed, new = _overflow(arg, 0, signed, bits, overflow)
            reply = current
        if failed:
            replies.append(None)
            new = current   # logged as a no-op write: the string may still have grown
        else:
            replies.append(reply)
            _set_field(buf, offset, bits, new)
        logged += [b"SET", b"%s%d" % (b"i" if signed else b"u", bits), b"%d" % offset, b"%d" % new]
    client.log(logged)      # the deterministic form: every write op as the SET of its result
    return replies


def _bitfield_keys(argv):
    """bitfieldGetKeys(): read only while the subcommands are well-formed GETs (and OVERFLOWs)."""
    i = 2
    while i < len(argv):
        left, op = len(argv) - i - 1, argv[i].lower()
        if op == b"get" and left >= 2:
            i += 3
        elif op == b"overflow" and left >= 1:
            i += 2
        else:
            return [(1, READS_UPDATES)]
    return [(1, READS)]


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), group="bitmap", getkeys=_bitfield_keys,
         key_specs=(("RW ACCESS UPDATE VARIABLE_FLAGS", 1, 0,
                     "This command allows both access and modification of the key"),),
         summary="Perform arbitrary bitfield integer operations on strings", since="3.2.0",
         complexity="O(1) for each subcommand specified",
         syntax="key [((GET encoding offset:integer) | ([OVERFLOW (WRAP | SAT | FAIL)] "
                "((SET encoding offset:integer value:integer) | "
                "(INCRBY encoding offset:integer increment:integer)))) ...]")
def bitfield(client, argv):
    return _bitfield(client, argv, False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), group="bitmap",
         summary="Perform arbitrary bitfield integer operations on strings. "
                 "Read-only variant of BITFIELD", since="6.0.0",
         complexity="O(1) for each subcommand specified", syntax="key [(GET encoding offset:integer) [(GET encoding offset:integer) ...]]")
def bitfield_ro(client, argv):
    return _bitfield(client, argv, True)


def _get_field(value, offset: int, bits: int, signed: bool) -> int:
    first, last = offset >> 3, (offset + bits - 1) >> 3
    chunk = value[first:last + 1]
    number = int.from_bytes(chunk, "big") << (8 * (last + 1 - first - len(chunk)))
    number = (number >> (7 - ((offset + bits - 1) & 7))) & ((1 << bits) - 1)
    if signed and number >> (bits - 1):
        number -= 1 << bits
    return number


def _set_field(buf: bytearray, offset: int, bits: int, number: int):
    first, last = offset >> 3, (offset + bits - 1) >> 3
    shift = 7 - ((offset + bits - 1) & 7)
    mask = ((1 << bits) - 1) << shift
    chunk = int.from_bytes(buf[first:last + 1], "big")
    chunk = (chunk & ~mask) | ((number << shift) & mask)
    buf[first:last + 1] = chunk.to_bytes(last + 1 - first, "big")


def _wrap64(number: int) -> int:
    return ((number - INT64_MIN) & 0xFFFFFFFFFFFFFFFF) + INT64_MIN


def _overflow(value: int, incr: int, signed: bool, bits: int, overflow: int):
    """Redis's check{Signed,Unsigned}BitfieldOverflow: (failed, the value to store)."""
    if signed:
        top = INT64_MAX if bits == 64 else (1 << (bits - 1)) - 1
        bottom = -top - 1
        # Redis computes these in 64 bits; their wrap-around is part of its behaviour.
        max_incr, min_incr = _wrap64(top - value), _wrap64(bottom - value)
        if value > top or (bits != 64 and incr > max_incr) or (value >= 0 and incr > 0 and incr > max_incr):
            limit = top
        elif value < bottom or (bits != 64 and incr < min_incr) or (value < 0 and incr < 0 and incr < min_incr):
            limit = bottom
        else:
            return False, value + incr
        if overflow == _WRAP:
            half = 1 << (bits - 1)
            return False, ((value + incr + half) & ((1 << bits) - 1)) - half
        return overflow == _FAIL, limit
    value &= 0xFFFFFFFFFFFFFFFF   # SET's argument is read as uint64
    top = (1 << bits) - 1
    if value > top or (incr > 0 and incr > top - value):
        limit = top
    elif incr < 0 and incr < -value:
        limit = 0
    else:
        return False, value + incr
    if overflow == _WRAP:
        return False, (value + incr) & top
    return overflow == _FAIL, limit
