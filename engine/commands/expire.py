"""Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.

Every expiry set is logged as `PEXPIREAT key <absolute ms>`; one that is
already due deletes the key and is logged as `DEL key`, as Redis propagates it.
"""
from engine import errors
from engine.parsing import INT64_MAX, INT64_MIN, parse_int
from engine.registry import command

NX, XX, GT, LT = 1, 2, 4, 8
_FLAGS = {b"nx": NX, b"xx": XX, b"gt": GT, b"lt": LT}
_SET_SYNTAX = "[NX | XX | GT | LT]"


def _parse_flags(argv) -> int:
    """Redis's parseExtendedExpireArgumentsOrReply()."""
    flags = 0
    for raw in argv[3:]:
        flag = _FLAGS.get(raw.lower())
        if flag is None:
            raise errors.err("Unsupported option " + raw.split(b"\0", 1)[0].decode("utf-8", "replace"))
        flags |= flag
    if flags & NX and flags & (XX | GT | LT):
        raise errors.err("NX and XX, GT or LT options at the same time are not compatible")
    if flags & GT and flags & LT:
        raise errors.err("GT and LT options at the same time are not compatible")
    return flags


def _expire(client, argv, seconds: bool, relative: bool):
    """Redis's expireGenericCommand(): 1 when the timeout was set (or the key deleted), else 0."""
    name = argv[0].decode("latin-1").lower()
    flags = _parse_flags(argv)
    when = parse_int(argv[2])
    if seconds:
        if when > INT64_MAX // 1000 or when < -(-INT64_MIN // 1000):
            raise errors.err(errors.INVALID_EXPIRE.format(name))
        when *= 1000
    base = client.keyspace.now if relative else 0
    if when > INT64_MAX - base:
        raise errors.err(errors.INVALID_EXPIRE.format(name))
    when += base
    db, key = client.db, argv[1]
    if db.get(key) is None:
        return 0
    if flags:
        current = db.expires.get(key)
        if flags & NX and current is not None:
            return 0
        if flags & XX and current is None:
            return 0
        if flags & GT and (current is None or when <= current):   # no TTL counts as infinite
            return 0
        if flags & LT and current is not None and when >= current:
            return 0
    if when <= client.keyspace.now and client.keyspace.expiring:
        db.delete(key)
        client.log([b"DEL", key])
    else:
        db.set_expire(key, when)
        client.log([b"PEXPIREAT", key, b"%d" % when])
    return 1


@command("expire", -3, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RW UPDATE", 1),),
         summary="Set a key's time to live in seconds", since="1.0.0", complexity="O(1)",
         syntax="key seconds:integer " + _SET_SYNTAX)
def expire(client, argv):
    return _expire(client, argv, seconds=True, relative=True)


@command("pexpire", -3, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RW UPDATE", 1),),
         summary="Set a key's time to live in milliseconds", since="2.6.0", complexity="O(1)",
         syntax="key milliseconds:integer " + _SET_SYNTAX)
def pexpire(client, argv):
    return _expire(client, argv, seconds=False, relative=True)


@command("expireat", -3, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RW UPDATE", 1),),
         summary="Set the expiration for a key as a UNIX timestamp", since="1.2.0", complexity="O(1)",
         syntax="key unix-time-seconds:unix-time " + _SET_SYNTAX)
def expireat(client, argv):
    return _expire(client, argv, seconds=True, relative=False)


@command("pexpireat", -3, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RW UPDATE", 1),),
         summary="Set the expiration for a key as a UNIX timestamp specified in milliseconds",
         since="2.6.0", complexity="O(1)",
         syntax="key unix-time-milliseconds:unix-time " + _SET_SYNTAX)
def pexpireat(client, argv):
    return _expire(client, argv, seconds=False, relative=False)


def _ttl(client, argv, ms: bool, absolute: bool):
    """Redis's ttlGenericCommand(): -2 without the key, -1 without a timeout."""
    db, key = client.db, argv[1]
    if db.get(key) is None:
        return -2
    when = db.expires.get(key)
    if when is None:
        return -1
    ttl = max(when if absolute else when - client.keyspace.now, 0)
    return ttl if ms else (ttl + 500) // 1000


@command("ttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         summary="Get the time to live for a key in seconds", since="1.0.0", complexity="O(1)",
         syntax="key")
def ttl(client, argv):
    return _ttl(client, argv, ms=False, absolute=False)


@command("pttl", 2, "readonly fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         summary="Get the time to live for a key in milliseconds", since="2.6.0", complexity="O(1)",
         syntax="key")
def pttl(client, argv):
    return _ttl(client, argv, ms=True, absolute=False)


@command("expiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         summary="Get the expiration Unix timestamp for a key", since="7.0.0", complexity="O(1)",
         syntax="key")
def expiretime(client, argv):
    return _ttl(client, argv, ms=False, absolute=True)


@command("pexpiretime", 2, "readonly fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         summary="Get the expiration Unix timestamp for a key in milliseconds", since="7.0.0",
         complexity="O(1)", syntax="key")
def pexpiretime(client, argv):
    return _ttl(client, argv, ms=True, absolute=True)


@command("persist", 2, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RW UPDATE", 1),),
         summary="Remove the expiration from a key", since="2.2.0", complexity="O(1)", syntax="key")
def persist(client, argv):
    db, key = client.db, argv[1]
    if db.get(key) is None or not db.persist(key):
        return 0
    client.log(argv)
    return 1
