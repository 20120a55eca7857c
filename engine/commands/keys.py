"""Generic key commands: DEL, EXISTS, TYPE, RENAME, COPY, MOVE, SWAPDB, KEYS, SCAN, FLUSH*, OBJECT …

Expiry commands (EXPIRE, TTL, PERSIST …) are in `expire.py`.
"""
from typing import Callable, NamedTuple

from engine import errors, glob
from engine.eviction import LRUClock, untouched
from engine.parsing import INT32_MAX, INT32_MIN, parse_db_index, to_int
from engine.registry import command, container_docs
from engine.replies import OK, Status
from engine.scan import CURSORS, parse_cursor, parse_options

SAME_OBJECT = errors.err("source and destination objects are the same")


# -- the value types ---------------------------------------------------------------
class TypeInfo(NamedTuple):
    name: str                             # what TYPE answers
    encoding: Callable[[object], str]     # what OBJECT ENCODING answers for a value
    duplicate: Callable[[object], object]  # COPY's deep copy


def _string_encoding(value: bytes) -> str:
    # tryObjectEncoding(): a canonical long of at most 20 chars is "int", <= 44 bytes "embstr".
    if len(value) <= 20 and to_int(value) is not None:
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


TYPES: dict[type, TypeInfo] = {
    bytes: TypeInfo("string", _string_encoding, lambda value: value),
    bytearray: TypeInfo("string", lambda value: "raw", bytearray),   # modified in place
}


def register_type(cls: type, name: str, encoding: Callable, duplicate: Callable):
    """Each value family adds its row here (`register_type(ListValue, "list", …)`)."""
    TYPES[cls] = TypeInfo(name, encoding, duplicate)


def type_name(value) -> str:
    return "none" if value is None else TYPES[type(value)].name


def _db_index(client, raw: bytes):
    return client.keyspace.dbs[parse_db_index(raw, len(client.keyspace.dbs))]


# -- deleting and testing ----------------------------------------------------------
def _delete(client, argv):
    db = client.db
    deleted = [key for key in argv[1:] if db.get(key) is not None and db.delete(key)]
    if deleted:
        client.log(argv if len(deleted) == len(argv) - 1 and argv[0].lower() == b"del"
                   else [b"DEL", *deleted])
    return len(deleted)


@command("del", -2, "write", keys=(1, -1, 1), group="generic", acl="keyspace",
         key_specs=(("RM DELETE", 1, -1),),
         summary="Delete a key", since="1.0.0", syntax="key [key ...]",
         complexity="O(N) where N is the number of keys that will be removed. When a key to remove "
                    "holds a value other than a string, the individual complexity for this key is O(M) "
                    "where M is the number of elements in the list, set, sorted set or hash. Removing a "
                    "single key that holds a string value is O(1).")
def del_(client, argv):
    return _delete(client, argv)


@command("unlink", -2, "write fast", keys=(1, -1, 1), group="generic", acl="keyspace",
         key_specs=(("RM DELETE", 1, -1),),
         summary="Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
         since="4.0.0", syntax="key [key ...]",
         complexity="O(1) for each key removed regardless of its size. Then the command does O(N) work in "
                    "a different thread in order to reclaim memory, where N is the number of allocations "
                    "the deleted objects where composed of.")
def unlink(client, argv):
    return _delete(client, argv)


def _count_existing(client, argv):
    db = client.db
    return sum(1 for key in argv[1:] if db.get(key) is not None)


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 1, -1),),
         summary="Determine if a key exists", since="1.0.0", syntax="key [key ...]",
         complexity="O(N) where N is the number of keys to check.")
def exists(client, argv):
    return _count_existing(client, argv)


@command("touch", -2, "readonly fast", keys=(1, -1, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 1, -1),),
         summary="Alters the last access time of a key(s). Returns the number of existing keys specified.",
         since="3.2.1", syntax="key [key ...]",
         complexity="O(N) where N is the number of keys that will be touched.")
def touch(client, argv):
    # We keep no per-key access time yet (OBJECT IDLETIME answers 0), so TOUCH only counts.
    return _count_existing(client, argv)


@command("type", 2, "readonly fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 1),),
         summary="Determine the type stored at key", since="1.0.0", complexity="O(1)", syntax="key")
def type_(client, argv):
    return Status(type_name(client.db.get(argv[1])))


# -- renaming, copying, moving ------------------------------------------------------
def _rename(client, argv, nx: bool):
    db, src, dst = client.db, argv[1], argv[2]
    value = db.get(src)
    if value is None:
        raise errors.NO_SUCH_KEY
    if src == dst:
        return 0 if nx else OK
    if db.get(dst) is not None and nx:
        return 0
    when = db.expires.get(src)
    db.delete(src)
    db.set(dst, value)
    if when is not None:
        db.set_expire(dst, when)   # RENAME keeps the TTL
    client.log([b"RENAME", src, dst])
    return 1 if nx else OK


@command("rename", 3, "write", keys=(1, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RW ACCESS DELETE", 1), ("OW UPDATE", 2)),
         summary="Rename a key", since="1.0.0", complexity="O(1)", syntax="key newkey:key")
def rename(client, argv):
    return _rename(client, argv, nx=False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RW ACCESS DELETE", 1), ("OW INSERT", 2)),
         summary="Rename a key, only if the new key does not exist", since="1.0.0",
         complexity="O(1)", syntax="key newkey:key")
def renamenx(client, argv):
    return _rename(client, argv, nx=True)


@command("copy", -3, "write denyoom", keys=(1, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RO ACCESS", 1), ("OW UPDATE", 2)),
         summary="Copy a key", since="6.2.0",
         complexity="O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
         syntax="source:key destination:key [DB destination-db:integer] [REPLACE]")
def copy(client, argv):
    src_db = dst_db = client.db
    replace, i = False, 3
    while i < len(argv):
        option = argv[i].lower()
        if option == b"replace":
            replace = True
        elif option == b"db" and i + 1 < len(argv):
            dst_db = _db_index(client, argv[i + 1])
            i += 1
        else:
            raise errors.SYNTAX
        i += 1
    src, dst = argv[1], argv[2]
    if src_db is dst_db and src == dst:
        raise SAME_OBJECT
    value = src_db.get(src)
    if value is None or (dst_db.get(dst) is not None and not replace):
        return 0
    when = src_db.expires.get(src)
    dst_db.set(dst, TYPES[type(value)].duplicate(value))
    if when is not None:
        dst_db.set_expire(dst, when)   # COPY copies the TTL
    client.log(argv)
    return 1


@command("move", 3, "write fast", keys=(1, 1, 1), group="generic", acl="keyspace",
         summary="Move a key to another database", since="1.0.0", complexity="O(1)",
         syntax="key db:integer")
def move(client, argv):
    src_db, key = client.db, argv[1]
    dst_db = _db_index(client, argv[2])
    if dst_db is src_db:
        raise SAME_OBJECT
    value = src_db.get(key)
    if value is None or dst_db.get(key) is not None:
        return 0
    when = src_db.expires.get(key)
    dst_db.set(key, value)
    if when is not None:
        dst_db.set_expire(key, when)   # MOVE keeps the TTL
    src_db.delete(key)
    client.log(argv)
    return 1


@command("swapdb", 3, "write fast", group="server", acl="keyspace dangerous",
         summary="Swaps two Redis databases", since="4.0.0",
         complexity="O(N) where N is the count of clients watching or blocking on keys from both databases.",
         syntax="index1:integer index2:integer")
def swapdb(client, argv):
    dbs = client.keyspace.dbs
    indexes = []
    for raw, which in ((argv[1], "first"), (argv[2], "second")):
        index = to_int(raw)
        if index is None or not INT32_MIN <= index <= INT32_MAX:
            raise errors.err(f"invalid {which} DB index")
        indexes.append(index)
    first, second = indexes
    if not (0 <= first < len(dbs) and 0 <= second < len(dbs)):
        raise errors.DB_INDEX
    if first != second:
        dbs[first].swap(dbs[second])
        client.log(argv)
    return OK


# -- the whole keyspace --------------------------------------------------------------
def _live(db, keys: list) -> list:
    """KEYS hides logically expired keys but does not delete them (keyIsExpired(), Redis 7.0)."""
    expires = db.expires
    if not expires:
        return keys
    now = db.keyspace.now
    return [key for key in keys if expires.get(key, now + 1) > now]


@command("keys", 2, "readonly", group="generic", acl="keyspace dangerous",
         summary="Find all keys matching the given pattern", since="1.0.0",
         complexity="O(N) with N being the number of keys in the database, under the assumption that "
                    "the key names in the database and the given pattern have limited length.",
         syntax="pattern:pattern")
def keys(client, argv):
    db, pattern = client.db, argv[1]
    if pattern == b"*":                      # Redis skips matching: "*" lists even the empty key
        found = list(db.data)
    elif glob.is_literal(pattern):           # no wildcard: one lookup, not a walk
        found = [pattern] if pattern in db.data else []
    else:
        matches = glob.matcher(pattern)
        found = [key for key in db.data if matches(key)]
    return _live(db, found)


@command("scan", -2, "readonly", group="generic", acl="keyspace",
         summary="Incrementally iterate the keys space", since="2.8.0",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls "
                    "for the cursor to return back to 0. N is the number of elements inside the collection.",
         syntax="cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [TYPE type]")
def scan(client, argv):
    cursor = parse_cursor(argv[1])
    pattern, count, kind = parse_options(argv, 2, allow_type=True)
    db = client.db
    if pattern is not None and glob.is_literal(pattern):
        cursor, found = 0, [pattern] if pattern in db.data else []   # the whole iteration in one call
    else:
        cursor, found = CURSORS.page(db, db.data, cursor, count)
        if pattern is not None:
            matches = glob.matcher(pattern)
            found = [key for key in found if matches(key)]
    if kind is not None:
        kind = kind.split(b"\0", 1)[0].lower().decode("latin-1")   # strcasecmp() on a C string
    keys = []
    for key in found:
        value = db.get(key)                  # expires the visited keys that passed MATCH, as Redis
        if value is not None and (kind is None or TYPES[type(value)].name == kind):
            keys.append(key)
    return [b"%d" % cursor, keys]


@command("randomkey", 1, "readonly", group="generic", acl="keyspace",
         summary="Return a random key from the keyspace", since="1.0.0", complexity="O(1)")
def randomkey(client, argv):
    return client.db.random_key()


@command("dbsize", 1, "readonly fast", group="server", acl="keyspace",
         summary="Return the number of keys in the selected database", since="1.0.0", complexity="O(1)")
def dbsize(client, argv):
    return len(client.db.data)


def _flush_mode(argv):
    """FLUSHDB / FLUSHALL take an optional ASYNC or SYNC; both flush at once here."""
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() not in (b"async", b"sync")):
        raise errors.SYNTAX


@command("flushdb", -1, "write", group="server", acl="keyspace dangerous",
         summary="Remove all keys from the current database", since="1.0.0",
         complexity="O(N) where N is the number of keys in the selected database", syntax="[ASYNC | SYNC]")
def flushdb(client, argv):
    _flush_mode(argv)
    if client.keyspace.tracking:
        client.keyspace.tracking.flushed()
    if client.db.data:
        client.db.clear()
        client.log([b"FLUSHDB"])
    return OK


@command("flushall", -1, "write", group="server", acl="keyspace dangerous",
         summary="Remove all keys from all databases", since="1.0.0",
         complexity="O(N) where N is the total number of keys in all databases", syntax="[ASYNC | SYNC]")
def flushall(client, argv):
    _flush_mode(argv)
    if client.keyspace.tracking:
        client.keyspace.tracking.flushed()
    flushed = False
    for db in client.keyspace.dbs:
        if db.data:
            db.clear()
            flushed = True
    if flushed:
        client.log([b"FLUSHALL"])
    return OK


# -- OBJECT -----------------------------------------------------------------------------
container_docs("object", group="generic", summary="A container for object introspection commands", since="2.2.3",
               complexity="Depends on subcommand.")

SHARED_REFCOUNT = 2147483647   # OBJ_SHARED_REFCOUNT: Redis shares the integers 0..9999
LFU_SELECTED = errors.err(
    "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching "
    "between policies at runtime LRU and LFU data will take some time to adjust.")
LFU_NOT_SELECTED = errors.err(
    "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.")
OBJECT_HELP = [Status(line) for line in (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)]


def _lfu(client) -> bool:
    return "lfu" in client.state.config["maxmemory-policy"]


@command("object|encoding", 3, "readonly", keys=(2, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 2),),
         summary="Inspect the internal encoding of a Redis object", since="2.2.3", complexity="O(1)",
         syntax="key")
def object_encoding(client, argv):
    value = client.db.get(argv[2])
    return None if value is None else TYPES[type(value)].encoding(value).encode()


@command("object|refcount", 3, "readonly", keys=(2, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 2),),
         summary="Get the number of references to the value of the key", since="2.2.3", complexity="O(1)",
         syntax="key")
def object_refcount(client, argv):
    value = client.db.get(argv[2])
    if value is None:
        return None
    # Shared integers are used unless maxmemory is set with an LRU or LFU policy.
    if type(value) is bytes and len(value) <= 20:
        number = to_int(value)
        config = client.state.config
        if (number is not None and 0 <= number < 10000
                and (config["maxmemory"] == 0 or not config["maxmemory-policy"].startswith(
                    ("allkeys-l", "volatile-l")))):
            return SHARED_REFCOUNT
    return 1


@command("object|idletime", 3, "readonly", keys=(2, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 2),),
         summary="Get the time since a Redis object was last accessed", since="2.2.3", complexity="O(1)",
         syntax="key")
def object_idletime(client, argv):
    if untouched(client.db, argv[2]) is None:
        return None
    if _lfu(client):
        raise LFU_SELECTED
    access = client.db.access       # access times are kept only under an LRU policy (engine.eviction)
    return access.idle_ms(argv[2]) // 1000 if isinstance(access, LRUClock) else 0


@command("object|freq", 3, "readonly", keys=(2, 2, 1), group="generic", acl="keyspace",
         key_specs=(("RO", 2),),
         summary="Get the logarithmic access frequency counter of a Redis object", since="4.0.0",
         complexity="O(1)", syntax="key")
def object_freq(client, argv):
    if untouched(client.db, argv[2]) is None:
        return None
    if not _lfu(client):
        raise LFU_NOT_SELECTED
    return client.db.access.counter(argv[2])


@command("object|help", 2, "loading stale", group="generic", acl="keyspace",
         summary="Show helpful text about the different subcommands", since="6.2.0", complexity="O(1)")
def object_help(client, argv):
    return OBJECT_HELP
