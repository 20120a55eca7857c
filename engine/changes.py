"""What reacts to writes: WATCH, keyspace notifications and client-side caching.

Every write reaches the log through `Client.log` (expiries and evictions through
the server state). While anything observes the keyspace (`Keyspace.observed`),
the logged argv is also noted in `Keyspace.changes`, with the command that made
it; `process()` runs after the command and derives from each event the keys it
wrote and the event names Redis announces for them. The notifications come from
the log's own events, so they cannot disagree with it.

A change is `(db index, argv, command name)`, or `(db index, key, cause)` for
the causes that are not commands: "new" (a key was created: class n), "expired",
"evicted", "keymiss".
"""
from engine import pubsub

# notify-keyspace-events classes, Redis's bits and letters.
KEYSPACE, KEYEVENT, GENERIC, STRING, LIST, SET, HASH, ZSET = 1, 2, 4, 8, 16, 32, 64, 128
EXPIRED, EVICTED, STREAM, KEY_MISS, MODULE, NEW = 256, 512, 1024, 2048, 4096, 8192
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE
CLASS_LETTERS = [("g", GENERIC), ("$", STRING), ("l", LIST), ("s", SET), ("h", HASH), ("z", ZSET),
                 ("x", EXPIRED), ("e", EVICTED), ("t", STREAM), ("d", MODULE), ("n", NEW)]
LETTERS = dict(CLASS_LETTERS, A=ALL, K=KEYSPACE, E=KEYEVENT, m=KEY_MISS)
BAD_CLASS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."


def parse_flags(text: str) -> int:
    """notify-keyspace-events letters -> bits (ValueError on an unknown letter)."""
    flags = 0
    for letter in text:
        if letter not in LETTERS:
            raise ValueError(BAD_CLASS)
        flags |= LETTERS[letter]
    return flags


def show_flags(flags: int) -> str:
    """Bits -> letters as CONFIG GET shows them (A when every class is on)."""
    if flags & ALL == ALL:
        text = "A"      # Redis shows no `n` after an `A`, although the class stays on
    else:
        text = "".join(letter for letter, bit in CLASS_LETTERS if flags & bit)
    return text + "".join(letter for letter, bit in (("K", KEYSPACE), ("E", KEYEVENT), ("m", KEY_MISS))
                          if flags & bit)


# How an event announces a key:
PLAIN = 0       # the event
EMPTIES = 1     # the event, then `del` if the write left the key empty (LPOP, SREM, ZREM …)
STORES = 2      # the event if the key holds a result, `del` if an empty result deleted it
IF_GONE = 3     # only if the key is gone at the end of the command (SORT's DEL before its RPUSH)

_FIRST = {  # logged name -> (class, event, how) for events that write argv[1] only
    b"set": (STRING, b"set", PLAIN), b"setnx": (STRING, b"set", PLAIN),
    b"getdel": (GENERIC, b"del", PLAIN), b"append": (STRING, b"append", PLAIN),
    b"setrange": (STRING, b"setrange", PLAIN), b"incr": (STRING, b"incrby", PLAIN),
    b"incrby": (STRING, b"incrby", PLAIN), b"decr": (STRING, b"decrby", PLAIN),
    b"decrby": (STRING, b"decrby", PLAIN), b"setbit": (STRING, b"setbit", PLAIN),
    b"bitfield": (STRING, b"setbit", PLAIN),
    b"pexpireat": (GENERIC, b"expire", PLAIN), b"persist": (GENERIC, b"persist", PLAIN),
    b"lpush": (LIST, b"lpush", PLAIN), b"lpushx": (LIST, b"lpush", PLAIN),
    b"rpush": (LIST, b"rpush", PLAIN), b"rpushx": (LIST, b"rpush", PLAIN),
    b"lpop": (LIST, b"lpop", EMPTIES), b"rpop": (LIST, b"rpop", EMPTIES),
    b"lset": (LIST, b"lset", PLAIN), b"linsert": (LIST, b"linsert", PLAIN),
    b"lrem": (LIST, b"lrem", EMPTIES), b"ltrim": (LIST, b"ltrim", EMPTIES),
    b"hset": (HASH, b"hset", PLAIN), b"hsetnx": (HASH, b"hset", PLAIN),
    b"hdel": (HASH, b"hdel", EMPTIES), b"hincrby": (HASH, b"hincrby", PLAIN),
    b"sadd": (SET, b"sadd", PLAIN), b"srem": (SET, b"srem", EMPTIES),
    b"sinterstore": (SET, b"sinterstore", STORES), b"sunionstore": (SET, b"sunionstore", STORES),
    b"sdiffstore": (SET, b"sdiffstore", STORES),
    b"zadd": (ZSET, b"zadd", PLAIN), b"zincrby": (ZSET, b"zincr", PLAIN),
    b"zrem": (ZSET, b"zrem", EMPTIES),
    b"zremrangebyrank": (ZSET, b"zremrangebyrank", EMPTIES),
    b"zremrangebyscore": (ZSET, b"zremrangebyscore", EMPTIES),
    b"zremrangebylex": (ZSET, b"zremrangebylex", EMPTIES),
    b"zpopmin": (ZSET, b"zpopmin", EMPTIES), b"zpopmax": (ZSET, b"zpopmax", EMPTIES),
    b"zrangestore": (ZSET, b"zrangestore", STORES), b"zunionstore": (ZSET, b"zunionstore", STORES),
    b"zinterstore": (ZSET, b"zinterstore", STORES), b"zdiffstore": (ZSET, b"zdiffstore", STORES),
}

# Commands whose logged form is not what Redis announces: (command, logged name) -> announcement.
_AS_COMMAND = {
    ("incrbyfloat", b"set"): (STRING, b"incrbyfloat", PLAIN),
    ("hincrbyfloat", b"hset"): (HASH, b"hincrbyfloat", PLAIN),
    ("spop", b"srem"): (SET, b"spop", EMPTIES),
    ("spop", b"del"): (SET, b"spop", EMPTIES),     # every member popped
    ("spop", b"sadd"): None,                       # the rest rewritten as a new set: one `spop`
    ("spop", b"pexpireat"): None,
    ("sort", b"del"): (GENERIC, b"del", IF_GONE),
    ("sort", b"rpush"): (LIST, b"sortstore", PLAIN),
}

_ZADD_OPTIONS = frozenset((b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"))


def announced(db: int, argv: list, command: str):
    """(db, key, class, event, how) for each key the logged event `argv` wrote."""
    name = argv[0].lower()
    special = _AS_COMMAND.get((command, name), False)
    if special is not False:
        if special is not None:
            yield (db, argv[1], *special)
        return
    entry = _FIRST.get(name)
    if entry is not None:
        if name == b"zadd" and _zadd_incr(argv):
            entry = (ZSET, b"zincr", PLAIN)
        yield (db, argv[1], *entry)
        if name == b"set" and len(argv) > 3 and argv[3].lower() != b"keepttl":
            yield (db, argv[1], GENERIC, b"expire", PLAIN)     # SET … PXAT: `set`, then `expire`
    elif name == b"del":
        for key in argv[1:]:
            yield (db, key, GENERIC, b"del", PLAIN)
    elif name in (b"mset", b"msetnx"):
        for key in argv[1::2]:
            yield (db, key, STRING, b"set", PLAIN)
    elif name in (b"rename", b"renamenx"):
        yield (db, argv[1], GENERIC, b"rename_from", PLAIN)
        yield (db, argv[2], GENERIC, b"rename_to", PLAIN)
    elif name == b"lmove":
        yield (db, argv[1], LIST, b"lpop" if argv[3].lower() == b"left" else b"rpop", EMPTIES)
        yield (db, argv[2], LIST, b"lpush" if argv[4].lower() == b"left" else b"rpush", PLAIN)
    elif name == b"smove":
        yield (db, argv[1], SET, b"srem", EMPTIES)
        yield (db, argv[2], SET, b"sadd", PLAIN)
    elif name == b"bitop":
        yield (db, argv[2], STRING, b"set", STORES)
    elif name == b"copy":
        lowered = [arg.lower() for arg in argv[3:]]
        target = int(argv[3 + lowered.index(b"db") + 1]) if b"db" in lowered else db
        yield (target, argv[2], GENERIC, b"copy_to", PLAIN)
    elif name == b"move":
        yield (db, argv[1], GENERIC, b"move_from", PLAIN)
        yield (int(argv[2]), argv[1], GENERIC, b"move_to", PLAIN)
    # swapdb, flushdb, flushall announce nothing; Database.clear/swap touch WATCHes themselves.


def _zadd_incr(argv) -> bool:
    for arg in argv[2:]:
        lowered = arg.lower()
        if lowered not in _ZADD_OPTIONS:
            return False
        if lowered == b"incr":
            return True
    return False


def miss_scope(spec, argv):
    """Which lookups announce a miss (class m) while this command runs: True for all of a
    read-only command's, else the keys a write command only reads (RO in their key flags: the
    sources of *STORE, BITOP, COPY, SORT), which Redis looks up for reading."""
    if spec.readonly:
        return True
    return frozenset(argv[i] for i, flags in spec.keys_and_flags(argv) if "RO" in flags)


_CAUSES = {"new": (NEW, b"new"), "expired": (EXPIRED, b"expired"),
           "evicted": (EVICTED, b"evicted"), "keymiss": (KEY_MISS, b"keymiss")}


def process(state, writer=None):
    """React to the changes noted since the last call (after each command of `writer`)."""
    keyspace = state.keyspace
    changes, keyspace.changes = keyspace.changes, []
    flags, dbs = keyspace.notify_flags, keyspace.dbs
    for db, subject, cause in changes:
        if cause in _CAUSES:
            bit, event = _CAUSES[cause]
            if cause in ("expired", "evicted"):     # the others changed nothing themselves
                written(keyspace, db, subject, writer)
            if flags & bit:
                notify(state, flags, event, subject, db)
            continue
        for index, key, bit, event, how in announced(db, subject, cause):
            written(keyspace, index, key, writer)
            if not flags:
                continue
            if how != PLAIN:
                gone = key not in dbs[index].data
                if how == IF_GONE and not gone:
                    continue
                if how == STORES and gone:
                    bit, event = GENERIC, b"del"
            if flags & bit:
                notify(state, flags, event, key, index)
            if how == EMPTIES and flags & GENERIC and key not in dbs[index].data:
                notify(state, flags, b"del", key, index)


def written(keyspace, db: int, key: bytes, writer):
    if keyspace.watched_keys:
        keyspace.touch(db, key)
    if keyspace.tracking:
        keyspace.tracking.invalidate(key, writer)


def notify(state, flags: int, event: bytes, key: bytes, db: int):
    """Publish one keyspace notification, as `__keyspace@db__:key` and/or `__keyevent@db__:event`."""
    if flags & KEYSPACE:
        pubsub.publish(state, b"__keyspace@%d__:%s" % (db, key), event)
    if flags & KEYEVENT:
        pubsub.publish(state, b"__keyevent@%d__:%s" % (db, event), key)
