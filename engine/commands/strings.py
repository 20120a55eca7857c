"""String commands: GET and SET with their variants, MGET/MSET, STRLEN, APPEND.

The counters (INCR …, INCRBYFLOAT) are in counters.py; GETRANGE, SETRANGE and
LCS in ranges.py; the bit commands in bits.py.
"""
from engine import errors
from engine.parsing import INT64_MAX, cstr, to_int
from engine.keyspace import STRINGS
from engine.registry import READS_UPDATES, UPDATES, command
from engine.replies import OK

# SET / GETEX option flags, as Redis's OBJ_SET_* / OBJ_* flags.
NX, XX, GET, KEEPTTL, PERSIST, EX, PX, EXAT, PXAT = (1 << i for i in range(9))
_EXPIRY = EX | PX | EXAT | PXAT
_SECONDS = EX | EXAT
_RELATIVE = EX | PX

# token -> (flag, flags it conflicts with, allowed in SET, allowed in GETEX)
_OPTIONS = {
    b"NX": (NX, XX, True, False),
    b"XX": (XX, NX, True, False),
    b"GET": (GET, 0, True, False),
    b"KEEPTTL": (KEEPTTL, PERSIST | _EXPIRY, True, False),
    b"PERSIST": (PERSIST, KEEPTTL | _EXPIRY, False, True),
    b"EX": (EX, KEEPTTL | PERSIST | EXAT | PX | PXAT, True, True),
    b"PX": (PX, KEEPTTL | PERSIST | EX | EXAT | PXAT, True, True),
    b"EXAT": (EXAT, KEEPTTL | PERSIST | EX | PX | PXAT, True, True),
    b"PXAT": (PXAT, KEEPTTL | PERSIST | EX | EXAT | PX, True, True),
}


def parse_options(argv, start: int, is_set: bool):
    """Redis's parseExtendedStringArgumentsOrReply: (flags, expire argument or None)."""
    flags, expire = 0, None
    i, n = start, len(argv)
    while i < n:
        spec = _OPTIONS.get(cstr(argv[i]).upper())
        if spec is None:
            raise errors.SYNTAX
        flag, conflicts, in_set, in_get = spec
        if flags & conflicts or not (in_set if is_set else in_get):
            raise errors.SYNTAX
        if flag & _EXPIRY:
            if i + 1 == n:
                raise errors.SYNTAX
            i += 1
            expire = argv[i]
        flags |= flag
        i += 1
    return flags, expire


def expire_at(client, raw: bytes, flags: int, name: str) -> int:
    """The absolute unix time in ms of an EX/PX/EXAT/PXAT argument (getExpireMillisecondsOrReply)."""
    ms = to_int(raw)
    if ms is None:
        raise errors.NOT_INTEGER
    seconds = flags & _SECONDS
    if ms <= 0 or (seconds and ms > INT64_MAX // 1000):
        raise errors.err(errors.INVALID_EXPIRE.format(name))
    if seconds:
        ms *= 1000
    if flags & _RELATIVE:
        ms += client.keyspace.now
        if ms > INT64_MAX:   # Redis sees the signed overflow as a negative time
            raise errors.err(errors.INVALID_EXPIRE.format(name))
    return ms


def store(client, key: bytes, value: bytes, when=None, keepttl=False):
    """Set a string, with an absolute expiry time or KEEPTTL, and log the deterministic SET."""
    db = client.db
    if when is None:
        db.set(key, value, keepttl)
        client.log([b"SET", key, value, b"KEEPTTL"] if keepttl else [b"SET", key, value])
    elif when <= client.keyspace.now and client.keyspace.expiring:
        # Redis sets the key and it is logically expired at once: it is gone.
        if db.delete(key):
            client.log([b"DEL", key])
    else:
        db.set(key, value)
        db.set_expire(key, when)
        client.log([b"SET", key, value, b"PXAT", b"%d" % when])


@command("get", 2, "readonly fast", keys=(1, 1, 1), group="string",
         summary="Get the value of a key", since="1.0.0", complexity="O(1)", syntax="key")
def get(client, argv):
    value = client.db.get(argv[1])
    if value is None or type(value) is bytes:
        return value
    if type(value) is bytearray:
        return value
    raise errors.WRONGTYPE


def _set_keys(argv):
    """setGetKeys(): SET reads its key only with GET."""
    return [(1, READS_UPDATES if any(arg.lower() == b"get" for arg in argv[3:]) else UPDATES)]


@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", getkeys=_set_keys,
         key_specs=(("RW ACCESS UPDATE VARIABLE_FLAGS", 1, 0,
                     "RW and ACCESS due to the optional `GET` argument"),),
         summary="Set the string value of a key", since="1.0.0", complexity="O(1)",
         syntax="key value [NX | XX] [GET] [EX seconds:integer | PX milliseconds:integer | "
                "EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | KEEPTTL]")
def set_(client, argv):
    if len(argv) == 3:
        client.db.set(argv[1], argv[2])
        client.log(argv)
        return OK
    flags, expire = parse_options(argv, 3, True)
    when = expire_at(client, expire, flags, "set") if expire is not None else None
    db, key = client.db, argv[1]
    if flags & GET:
        old = db.get_string(key)
        found = old is not None
    else:
        found = db.get(key) is not None
    if (flags & NX and found) or (flags & XX and not found):
        return old if flags & GET else None
    store(client, key, argv[2], when, bool(flags & KEEPTTL))
    return old if flags & GET else OK


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         key_specs=(("OW INSERT", 1),),
         summary="Set the value of a key, only if the key does not exist", since="1.0.0",
         complexity="O(1)", syntax="key value")
def setnx(client, argv):
    if client.db.get(argv[1]) is not None:
        return 0
    store(client, argv[1], argv[2])
    return 1


@command("setex", 4, "write denyoom", keys=(1, 1, 1), group="string",
         key_specs=(("OW UPDATE", 1),),
         summary="Set the value and expiration of a key", since="2.0.0", complexity="O(1)",
         syntax="key seconds:integer value")
def setex(client, argv):
    store(client, argv[1], argv[3], expire_at(client, argv[2], EX, "setex"))
    return OK


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), group="string",
         key_specs=(("OW UPDATE", 1),),
         summary="Set the value and expiration in milliseconds of a key", since="2.6.0",
         complexity="O(1)", syntax="key milliseconds:integer value")
def psetex(client, argv):
    store(client, argv[1], argv[3], expire_at(client, argv[2], PX, "psetex"))
    return OK


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         summary="Set the string value of a key and return its old value", since="1.0.0",
         complexity="O(1)", syntax="key value", doc_flags="deprecated")
def getset(client, argv):
    old = client.db.get_string(argv[1])
    store(client, argv[1], argv[2])
    return old


@command("getdel", 2, "write fast", keys=(1, 1, 1), group="string",
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Get the value of a key and delete the key", since="6.2.0", complexity="O(1)",
         syntax="key")
def getdel(client, argv):
    old = client.db.get_string(argv[1])
    if old is not None:
        client.db.delete(argv[1])
        client.log([b"DEL", argv[1]])
    return old


@command("getex", -2, "write fast", keys=(1, 1, 1), group="string",
         key_specs=(("RW ACCESS UPDATE", 1, 0, "RW and UPDATE because it changes the TTL"),),
         summary="Get the value of a key and optionally set its expiration", since="6.2.0",
         complexity="O(1)",
         syntax="key [EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | "
                "PXAT unix-time-milliseconds:unix-time | PERSIST]")
def getex(client, argv):
    flags, expire = parse_options(argv, 2, False)
    db, key = client.db, argv[1]
    value = db.get_string(key)
    if value is None:
        return None
    if expire is not None:
        when = expire_at(client, expire, flags, "getex")
        if flags & (EXAT | PXAT) and when <= client.keyspace.now and client.keyspace.expiring:
            db.delete(key)
            client.log([b"DEL", key])
        else:
            db.set_expire(key, when)
            client.log([b"PEXPIREAT", key, b"%d" % when])
    elif flags & PERSIST and db.persist(key):
        client.log([b"PERSIST", key])
    return value


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group="string",
         summary="Get the values of all the given keys", since="1.0.0",
         complexity="O(N) where N is the number of keys to retrieve.", syntax="key ...")
def mget(client, argv):
    get = client.db.get
    # Redis answers nil for a key of another type, not WRONGTYPE.
    return [v if type(v := get(key)) in STRINGS else None for key in argv[1:]]


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group="string",
         key_specs=(("OW UPDATE", 1, (-1, 2, 0)),),
         summary="Set multiple keys to multiple values", since="1.0.1",
         complexity="O(N) where N is the number of keys to set.", syntax="(key value) ...")
def mset(client, argv):
    if not len(argv) & 1:
        raise errors.wrong_arity("mset")
    set_ = client.db.set
    for i in range(1, len(argv), 2):
        set_(argv[i], argv[i + 1])
    client.log(argv)
    return OK


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), group="string",
         key_specs=(("OW INSERT", 1, (-1, 2, 0)),),
         summary="Set multiple keys to multiple values, only if none of the keys exist", since="1.0.1",
         complexity="O(N) where N is the number of keys to set.", syntax="(key value) ...")
def msetnx(client, argv):
    if not len(argv) & 1:
        raise errors.wrong_arity("msetnx")
    db = client.db
    if any(db.get(argv[i]) is not None for i in range(1, len(argv), 2)):
        return 0
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
    client.log([b"MSET", *argv[1:]])
    return 1


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group="string",
         key_specs=(("RO", 1),),
         summary="Get the length of the value stored in a key", since="2.2.0", complexity="O(1)",
         syntax="key")
def strlen(client, argv):
    value = client.db.get_string(argv[1])
    return 0 if value is None else len(value)


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group="string",
         key_specs=(("RW INSERT", 1),),
         summary="Append a value to a key", since="2.0.0",
         complexity="O(1). The amortized time complexity is O(1) assuming the appended value is small "
                    "and the already present value is of any size, since the dynamic string library "
                    "used by Redis will double the free space available on every reallocation.",
         syntax="key value")
def append(client, argv):
    db, key, tail = client.db, argv[1], argv[2]
    old = db.get_string(key)
    if old is None:
        new = tail            # even an empty value creates the key, as in Redis
        db.set(key, new)
    elif not tail:
        return len(old)
    else:
        check_length(client, len(old) + len(tail))
        new = raw_string(db, key, old)
        new += tail
    client.log(argv)
    return len(new)


def raw_string(db, key: bytes, value):
    """The string at key as a bytearray to modify in place (converting it on first use)."""
    if type(value) is bytearray:
        return value
    raw = bytearray(value)
    db.set(key, raw, keepttl=True)
    return raw


TOO_LONG = errors.err("string exceeds maximum allowed size (proto-max-bulk-len)")


def check_length(client, size: int):
    """Redis's checkStringLength; the log replays whatever was accepted live."""
    if size > client.state.config["proto-max-bulk-len"] and client.keyspace.expiring:
        raise TOO_LONG
