"""Reply values that handlers return; the server encodes them (RESP2 or RESP3).

A handler returns plain Python values where the mapping is obvious:
bytes -> bulk string, None -> null, int -> integer, list/tuple -> array,
a RedisError instance -> error. The classes below mark the cases where RESP
distinguishes what Python does not.
"""


class Status(str):
    """A simple string (`+OK`)."""
    __slots__ = ()


OK = Status("OK")
PONG = Status("PONG")
QUEUED = Status("QUEUED")


class NoReply:
    """Nothing at all goes back (SHUTDOWN, which closes the connection instead)."""
    __slots__ = ()


NO_REPLY = NoReply()


class NullArray:
    """RESP2 `*-1` (RESP3 `_`): what Redis sends for e.g. a timed-out BLPOP."""
    __slots__ = ()

    def __repr__(self):
        return "NULL_ARRAY"


NULL_ARRAY = NullArray()


class Double(float):
    """A score or float reply: RESP3 `,`; RESP2 a bulk string in Redis's format."""
    __slots__ = ()


def format_double(value: float) -> bytes:
    """Redis 7.0's d2string(): integral values below 2**52 as integers, else %.17g."""
    if value != value:
        return b"nan"
    if value in (float("inf"), float("-inf")):
        return b"inf" if value > 0 else b"-inf"
    if value == 0:
        return b"-0" if str(value).startswith("-") else b"0"
    if -4503599627370495 < value < 4503599627370496 and value == int(value):
        return b"%d" % int(value)
    return b"%.17g" % value


class Map(dict):
    """RESP3 map; RESP2 flattens it into an array of key, value, key, value."""
    __slots__ = ()


class RSet(list):
    """RESP3 set; RESP2 array."""
    __slots__ = ()


class Verbatim(bytes):
    """RESP3 verbatim string (`=`, format txt); RESP2 bulk string."""
    __slots__ = ()


class Push(list):
    """RESP3 push message (`>`); RESP2 array. Used by Pub/Sub and tracking."""
    __slots__ = ()


class Several(list):
    """Several replies in a row for one command (SUBSCRIBE a b answers once per channel)."""
    __slots__ = ()


class BigNumber(int):
    """RESP3 big number (`(`); RESP2 bulk string."""
    __slots__ = ()
