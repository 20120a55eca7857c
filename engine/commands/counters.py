"""Counters: INCR, DECR, INCRBY, DECRBY, INCRBYFLOAT.

INCRBYFLOAT computes in x87 80-bit `long double` like Redis on x86-64: the
operands are parsed as glibc's strtold does (correctly rounded to a 64-bit
significand), added and rounded again, and printed as `%.17Lf` without its
trailing zeros. The arithmetic is exact integer arithmetic on (significand,
exponent) pairs, so the results are Redis's digit for digit.
"""
import re

from engine import errors
from engine.commands.strings import store
from engine.keyspace import STRINGS
from engine.parsing import INT64_MAX, INT64_MIN, parse_int, to_int
from engine.registry import command


def _incr(client, argv, by: int):
    db, key = client.db, argv[1]
    old = db.get(key)
    if old is None:
        value = by
    else:
        if type(old) not in STRINGS:
            raise errors.WRONGTYPE
        value = to_int(old)
        if value is None:
            raise errors.NOT_INTEGER
        value += by
        if not INT64_MIN <= value <= INT64_MAX:
            raise errors.OVERFLOW
    db.set(key, b"%d" % value, True)
    client.log(argv)
    return value


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Increment the integer value of a key by one", since="1.0.0", complexity="O(1)",
         syntax="key")
def incr(client, argv):
    return _incr(client, argv, 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Decrement the integer value of a key by one", since="1.0.0", complexity="O(1)",
         syntax="key")
def decr(client, argv):
    return _incr(client, argv, -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Increment the integer value of a key by the given amount", since="1.0.0",
         complexity="O(1)", syntax="key increment:integer")
def incrby(client, argv):
    return _incr(client, argv, parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Decrement the integer value of a key by the given number", since="1.0.0",
         complexity="O(1)", syntax="key decrement:integer")
def decrby(client, argv):
    by = parse_int(argv[2])
    if by == INT64_MIN:   # its negation does not fit
        raise errors.err("decrement would overflow")
    return _incr(client, argv, -by)


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Increment the float value of a key by the given amount", since="2.6.0",
         complexity="O(1)", syntax="key increment:double")
def incrbyfloat(client, argv):
    db, key = client.db, argv[1]
    old = db.get_string(key)
    value = strtold(old) if old is not None else (0, 0)
    incr = strtold(argv[2])
    if value is None or incr is None:
        raise errors.NOT_FLOAT
    if value is INF or incr is INF:
        raise errors.err("increment would produce NaN or Infinity")
    total = ld_add(value, incr)
    if total is INF:
        raise errors.err("increment would produce NaN or Infinity")
    text = format_ld(total)
    store(client, key, text, keepttl=True)   # logged as SET key <text> KEEPTTL, as Redis propagates it
    return text


# --- x87 long double --------------------------------------------------------
# A finite value is (m, e) = m * 2**e with |m| < 2**64; INF stands for both infinities.
LD_DIGITS = 64            # significand bits
LD_MIN_EXP = -16445       # exponent of the smallest subnormal
LD_MAX = 1 << 16384       # the first magnitude that overflows
MAX_LONG_DOUBLE_CHARS = 5 * 1024
INF = object()

_DECIMAL = re.compile(rb"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d+))?")
_INF = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)


def ld_round(num: int, exp: int, den: int = 1):
    """Round num/den * 2**exp to the nearest long double (ties to even); INF on overflow."""
    if num == 0:
        return (0, 0)
    sign = -1 if num < 0 else 1
    num = abs(num)
    top = num.bit_length() - den.bit_length()
    if (num < den << top) if top >= 0 else (num << -top < den):
        top -= 1                                     # now 2**top <= num/den < 2**(top+1)
    quantum = max(top + exp - (LD_DIGITS - 1), LD_MIN_EXP) - exp   # the ulp, relative to 2**exp
    if quantum >= 0:
        q, r = divmod(num, den << quantum)
        twice, unit = 2 * r, den << quantum
    else:
        q, r = divmod(num << -quantum, den)
        twice, unit = 2 * r, den
    if twice > unit or (twice == unit and q & 1):
        q += 1
    e = quantum + exp
    if q == 0:
        return (0, 0)
    if e >= 0 and q << e >= LD_MAX or e < 0 and q >= LD_MAX << -e:
        return INF
    return (sign * q, e)


def ld_add(a, b):
    """a + b rounded once, as the FPU adds (exactly, then to nearest)."""
    exp = min(a[1], b[1])
    return ld_round((a[0] << (a[1] - exp)) + (b[0] << (b[1] - exp)), exp)


def strtold(raw: bytes):
    """glibc strtold as Redis's string2ld uses it: (m, e), INF, or None for an invalid string.

    None covers what Redis refuses: leading spaces, trailing garbage, NaN, and
    results out of range (overflow to infinity or underflow to zero)."""
    if not raw or len(raw) >= MAX_LONG_DOUBLE_CHARS:
        return None
    match = _DECIMAL.fullmatch(raw)
    if match and (match[2] or match[3]):
        return _from_digits(match, 10)
    match = _HEX.fullmatch(raw)
    if match and (match[2] or match[3]):
        return _from_digits(match, 16)
    if _INF.fullmatch(raw):
        return INF
    return None


def _from_digits(match, base: int):
    sign, whole, frac, exp = match[1], match[2], match[3] or b"", match[4]
    text = (whole + frac).lstrip(b"0")
    if not text:
        return (0, 0)
    exp = int(exp) if exp else 0
    if base == 16:     # hex: the exponent counts binary places
        value = ld_round(int(text, 16), exp - 4 * len(frac))
    else:
        exp -= len(frac)
        magnitude = len(text) + exp             # 10**(magnitude-1) <= value < 10**magnitude
        if magnitude > 4934:
            return None                          # overflow: strtold says ERANGE, HUGE_VAL
        if magnitude < -4952:
            return None                          # underflow to zero
        digits = _decimal_int(text)
        value = ld_round(digits * 10 ** exp, 0) if exp >= 0 else ld_round(digits, 0, 10 ** -exp)
    if value is INF or value == (0, 0):
        return None
    return (-value[0], value[1]) if sign == b"-" else value


def format_ld(value) -> bytes:
    """`%.17Lf` with trailing zeros (and then the point) removed; `-0` becomes `0`."""
    m, e = value
    if e >= 0:
        scaled = abs(m) << e
        scaled *= 10 ** 17
    else:
        q, r = divmod(abs(m) * 10 ** 17, 1 << -e)
        if 2 * r > 1 << -e or (2 * r == 1 << -e and q & 1):
            q += 1
        scaled = q
    whole, frac = divmod(scaled, 10 ** 17)
    text = _decimal_text(whole)
    frac_text = (b"%017d" % frac).rstrip(b"0")
    if frac_text:
        text += b"." + frac_text
    if m < 0 and text != b"0":
        text = b"-" + text
    return text


# Python refuses int <-> decimal text conversions past 4300 digits; long doubles reach 4933.
_CHUNK = 4000


def _decimal_int(text: bytes) -> int:
    value = 0
    for i in range(0, len(text), _CHUNK):
        part = text[i:i + _CHUNK]
        value = value * 10 ** len(part) + int(part)
    return value


def _decimal_text(value: int) -> bytes:
    if value < 10 ** _CHUNK:
        return b"%d" % value
    high, low = divmod(value, 10 ** _CHUNK)
    return _decimal_text(high) + b"%0*d" % (_CHUNK, low)
