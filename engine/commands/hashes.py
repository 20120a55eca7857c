"""Hash commands: HSET … HGETALL, HINCRBY[FLOAT], HRANDFIELD, HSCAN.

A hash is a `Hash`: a dict of field -> value (both bytes). A dict keeps insertion
order and keeps a field in its place when its value is replaced, as Redis's listpack
does, so while a hash is listpack-encoded HGETALL, HKEYS and HVALS answer in Redis's
order byte for byte. `hashtable` is set, once and for good, when a write crosses
`hash-max-listpack-entries` / `hash-max-listpack-value` (Redis never converts back);
from then on Redis's order is its dict's, which no client may rely on.
"""
import random
from itertools import islice

from engine import errors, glob
from engine.commands.counters import INF, format_ld, ld_add, strtold
from engine.commands.keys import register_type
from engine.parsing import INT64_MAX, INT64_MIN, MAX_RANDOM_REPLY, RANDOM_TOO_LARGE, cstr, parse_int, to_int
from engine.registry import command
from engine.replies import OK, Map
from engine.scan import CURSORS, parse_cursor, parse_options


class Hash(dict):
    """A Redis hash: field -> value, in listpack order while `hashtable` is False.

    `sample` is HRANDFIELD's list of fields to draw from (built on first use, then
    appended to as fields are added; deleted fields stay until it is rebuilt and are
    skipped when drawn)."""
    __slots__ = ("hashtable", "sample")

    def __init__(self, *args):
        super().__init__(*args)
        self.hashtable = False
        self.sample = None


def _duplicate(value: Hash) -> Hash:
    copy = Hash(value)          # COPY keeps the encoding, as dupHashObject() does
    copy.hashtable = value.hashtable
    return copy


register_type(Hash, "hash", lambda value: "hashtable" if value.hashtable else "listpack", _duplicate)

NOT_INTEGER = errors.err("hash value is not an integer")
NOT_FLOAT = errors.err("hash value is not a float")
NAN_INCREMENT = errors.err("value is NaN or Infinity")
NAN_RESULT = errors.err("increment would produce NaN or Infinity")
COUNT_RANGE = errors.err("value is out of range, value must between -9223372036854775807 and "
                         "9223372036854775807")
OUT_OF_RANGE = errors.err("value is out of range")


# -- helpers other families may use ------------------------------------------------
def get_field(db, key: bytes, field: bytes):
    """The value of a hash field, None if the key or the field is missing; WRONGTYPE otherwise."""
    value = db.get_typed(key, Hash)
    return None if value is None else value.get(field)


def set_field(client, key: bytes, value: Hash | None, field: bytes, new: bytes) -> Hash:
    """hashTypeSet(): set one field (creating the key when value is None), converting to
    hashtable when the field or value is too long, or the hash has too many fields.
    The caller logs."""
    config = client.state.config
    if value is None:
        value = Hash()
        client.db.set(key, value)
    if not value.hashtable and (len(field) > config["hash-max-listpack-value"]
                                or len(new) > config["hash-max-listpack-value"]):
        value.hashtable = True
    if field not in value:
        _added(value, field)
    value[field] = new
    if not value.hashtable and len(value) > config["hash-max-listpack-entries"]:
        value.hashtable = True
    return value


def _added(value: Hash, field: bytes):
    """Keep HRANDFIELD's sample in step with a field about to be added."""
    sample = value.sample
    if sample is not None:
        if len(sample) > 2 * len(value) + 8:
            value.sample = None       # mostly deleted fields: rebuilt on the next draw
        else:
            sample.append(field)


# -- setting -----------------------------------------------------------------------
def _hset(client, argv, name: str) -> int:
    """HSET / HMSET: the number of fields created; logged as HSET."""
    if len(argv) & 1:
        raise errors.wrong_arity(name)
    db, key = client.db, argv[1]
    value = db.get_typed(key, Hash)
    created = changed = value is None
    if created:
        value = Hash()
    config = client.state.config
    if not value.hashtable:
        # hashTypeTryConversion(): any field or value too long converts before the writes.
        limit = config["hash-max-listpack-value"]
        if any(len(arg) > limit for arg in islice(argv, 2, None)):
            value.hashtable = changed = True
    added = 0
    get = value.get
    for i in range(2, len(argv), 2):
        field, new = argv[i], argv[i + 1]
        old = get(field)
        if old is None:
            _added(value, field)
            added += 1
        elif old == new:
            continue
        value[field] = new
        changed = True
    if not value.hashtable and len(value) > config["hash-max-listpack-entries"]:
        value.hashtable = True
    if created:
        db.set(key, value)
    if changed:
        client.log(argv if name == "hset" else [b"HSET", *argv[1:]])
    return added


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RW UPDATE", 1),),
         summary="Set the string value of a hash field", since="2.0.0",
         complexity="O(1) for each field/value pair added, so O(N) to add N field/value pairs when "
                    "the command is called with multiple field/value pairs.",
         syntax="key (field value) ...")
def hset(client, argv):
    return _hset(client, argv, "hset")


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RW UPDATE", 1),),
         summary="Set multiple hash fields to multiple values", since="2.0.0",
         complexity="O(N) where N is the number of fields being set.",
         syntax="key (field value) ...", doc_flags="deprecated")
def hmset(client, argv):
    _hset(client, argv, "hmset")
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RW INSERT", 1),),
         summary="Set the value of a hash field, only if the field does not exist", since="2.0.0",
         complexity="O(1)", syntax="key field value")
def hsetnx(client, argv):
    key, field = argv[1], argv[2]
    value = client.db.get_typed(key, Hash)
    if value is not None and field in value:
        return 0      # no conversion either: Redis checks the lengths only when it sets
    set_field(client, key, value, field, argv[3])
    client.log(argv)
    return 1


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         summary="Increment the integer value of a hash field by the given number", since="2.0.0",
         complexity="O(1)", syntax="key field increment:integer")
def hincrby(client, argv):
    incr = parse_int(argv[3])
    key, field = argv[1], argv[2]
    value = client.db.get_typed(key, Hash)
    old = None if value is None else value.get(field)
    if old is None:
        total = incr
    else:
        total = to_int(old)
        if total is None:
            raise NOT_INTEGER
        total += incr
        if not INT64_MIN <= total <= INT64_MAX:
            raise errors.OVERFLOW
    set_field(client, key, value, field, b"%d" % total)
    client.log(argv)
    return total


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group="hash",
         summary="Increment the float value of a hash field by the given amount", since="2.6.0",
         complexity="O(1)", syntax="key field increment:double")
def hincrbyfloat(client, argv):
    incr = strtold(argv[3])
    if incr is None:
        raise errors.NOT_FLOAT
    if incr is INF:
        raise NAN_INCREMENT
    key, field = argv[1], argv[2]
    value = client.db.get_typed(key, Hash)
    old = None if value is None else value.get(field)
    current = (0, 0) if old is None else strtold(old)
    if current is None:
        raise NOT_FLOAT
    total = INF if current is INF else ld_add(current, incr)
    if total is INF:
        raise NAN_RESULT
    text = format_ld(total)
    set_field(client, key, value, field, text)
    client.log([b"HSET", key, field, text])    # the exact result, as Redis propagates it
    return text


@command("hdel", -3, "write fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RW DELETE", 1),),
         summary="Delete one or more hash fields", since="2.0.0",
         complexity="O(N) where N is the number of fields to be removed.", syntax="key field [field ...]")
def hdel(client, argv):
    db, key = client.db, argv[1]
    value = db.get_typed(key, Hash)
    if value is None:
        return 0
    deleted = 0
    pop = value.pop
    for field in islice(argv, 2, None):
        if pop(field, None) is not None:
            deleted += 1
            if not value:
                db.delete(key)
                break
    if deleted:
        client.log(argv)
    return deleted


# -- reading -----------------------------------------------------------------------
@command("hget", 3, "readonly fast", keys=(1, 1, 1), group="hash",
         summary="Get the value of a hash field", since="2.0.0", complexity="O(1)", syntax="key field")
def hget(client, argv):
    return get_field(client.db, argv[1], argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group="hash",
         summary="Get the values of all the given hash fields", since="2.0.0",
         complexity="O(N) where N is the number of fields being requested.", syntax="key field [field ...]")
def hmget(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    if value is None:
        return [None] * (len(argv) - 2)
    return [value.get(field) for field in islice(argv, 2, None)]


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RO", 1),),
         summary="Get the number of fields in a hash", since="2.0.0", complexity="O(1)", syntax="key")
def hlen(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    return 0 if value is None else len(value)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RO", 1),),
         summary="Get the length of the value of a hash field", since="3.2.0", complexity="O(1)",
         syntax="key field")
def hstrlen(client, argv):
    found = get_field(client.db, argv[1], argv[2])
    return 0 if found is None else len(found)


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group="hash",
         key_specs=(("RO", 1),),
         summary="Determine if a hash field exists", since="2.0.0", complexity="O(1)", syntax="key field")
def hexists(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    return int(value is not None and argv[2] in value)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group="hash",
         summary="Get all the fields in a hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hkeys(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    return [] if value is None else list(value)


@command("hvals", 2, "readonly", keys=(1, 1, 1), group="hash",
         summary="Get all the values in a hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hvals(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    return [] if value is None else list(value.values())


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group="hash",
         summary="Get all the fields and values in a hash", since="2.0.0",
         complexity="O(N) where N is the size of the hash.", syntax="key")
def hgetall(client, argv):
    value = client.db.get_typed(argv[1], Hash)
    return Map() if value is None else Map(value)   # RESP3: a map, even when empty


# -- HRANDFIELD ----------------------------------------------------------------------
def random_field(value: Hash) -> bytes:
    """A random field in O(1) expected time: drawn from the sample list, skipping fields
    deleted since it was built; rebuilt (O(N), amortised over the deletions that made it
    stale) when most of it is dead."""
    while True:
        sample = value.sample
        if sample is None or len(sample) > 2 * len(value) + 8:
            sample = value.sample = list(value)
        for _ in range(8):
            field = random.choice(sample)
            if field in value:
                return field
        value.sample = None


def _pairs(client, value: Hash, fields, withvalues: bool) -> list:
    """HRANDFIELD's reply: fields, or with values flat (RESP2) or as pairs (RESP3)."""
    if not withvalues:
        return fields if type(fields) is list else list(fields)
    if client.resp == 3:
        return [[field, value[field]] for field in fields]
    return [item for field in fields for item in (field, value[field])]


def _distinct(value: Hash, count: int):
    """count (< len) distinct random fields; a listpack hash answers them in its order
    (lpRandomPairsUnique()), a hashtable one in random order."""
    size = len(value)
    if not value.hashtable:
        chosen = set(random.sample(range(size), count))
        return [field for i, field in enumerate(value) if i in chosen]
    if count * 3 > size:                          # Redis's CASE 3: O(N) anyway
        return random.sample(list(value), count)
    picked = {}
    while len(picked) < count:                    # CASE 4: draw until count distinct
        picked[random_field(value)] = None
    return list(picked)


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group="hash",
         summary="Get one or multiple random fields from a hash", since="6.2.0",
         complexity="O(N) where N is the number of fields returned",
         syntax="key [count:integer [WITHVALUES]]")
def hrandfield(client, argv):
    if len(argv) == 2:
        value = client.db.get_typed(argv[1], Hash)
        return None if value is None else random_field(value)
    count = parse_int(argv[2])
    if count == INT64_MIN:
        raise COUNT_RANGE
    if len(argv) > 4 or (len(argv) == 4 and cstr(argv[3]).lower() != b"withvalues"):
        raise errors.SYNTAX
    withvalues = len(argv) == 4
    if withvalues and abs(count) > INT64_MAX // 2:
        raise OUT_OF_RANGE
    value = client.db.get_typed(argv[1], Hash)
    if value is None or count == 0:
        return []
    if count < 0 or count == 1:                   # repetitions allowed, random order
        count = abs(count)
        if count > MAX_RANDOM_REPLY:
            raise RANDOM_TOO_LARGE
        return _pairs(client, value, [random_field(value) for _ in range(count)], withvalues)
    if count >= len(value):                       # the whole hash, in its order
        return _pairs(client, value, value, withvalues)
    return _pairs(client, value, _distinct(value, count), withvalues)


# -- HSCAN ---------------------------------------------------------------------------
@command("hscan", -3, "readonly", keys=(1, 1, 1), group="hash",
         summary="Incrementally iterate hash fields and associated values", since="2.8.0",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command calls "
                    "for the cursor to return back to 0. N is the number of elements inside the "
                    "collection..",
         syntax="key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]")
def hscan(client, argv):
    cursor = parse_cursor(argv[2])
    value = client.db.get_typed(argv[1], Hash)
    if value is None:
        return [b"0", []]                # Redis answers before it parses the options
    pattern, count, _ = parse_options(argv, 3, allow_type=False)
    if value.hashtable:
        cursor, fields = CURSORS.page(value, value, cursor, count)
    else:
        cursor, fields = 0, value        # a listpack is returned whole, whatever the cursor
    if pattern is not None:
        matches = glob.matcher(pattern)
        fields = [field for field in fields if matches(field)]
    return [b"%d" % cursor, [item for field in fields for item in (field, value[field])]]
