"""List commands: pushes, pops, ranges, LINSERT/LSET/LREM/LTRIM, LPOS, LMOVE, LMPOP.

A list is a `ListValue`, a deque of the elements as bytes: O(1) at both ends,
and indexing walks from the nearer end, as Redis's quicklist does. Searches
(LPOS, LREM) run as C-level iterator chains (`compress` of an equality map), so
they stop at the last match they need.

The blocking commands (BLPOP, BLMOVE, BLMPOP …) live elsewhere and build on
`pop`, `move` and `mpop_from`, exported here.
"""
from collections import deque
from itertools import compress, count as counter, filterfalse, islice

from engine import errors
from engine.commands.keys import register_type
from engine.parsing import INT64_MAX, INT64_MIN, cstr, parse_count, parse_int, parse_mpop, to_int
from engine.registry import command, numkeys_at
from engine.replies import NULL_ARRAY, OK


class ListValue(deque):
    """A Redis list: its elements, head first."""
    __slots__ = ()


# Redis 7.0 keeps every list in a quicklist (listpack-encoded lists arrived in 7.2).
register_type(ListValue, "list", lambda value: "quicklist", ListValue)

RANK_ZERO = errors.err("RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                       "or use negative to start from the end of the list")
SIDES = (b"left", b"right")


def parse_range(raw: bytes, low: int, high: int, message: str) -> int:
    """getRangeLongFromObjectOrReply() with a message: the same text for a non-integer too."""
    value = to_int(raw)
    if value is None or not low <= value <= high:
        raise errors.err(message)
    return value


def parse_where(raw: bytes) -> bool:
    """LEFT (True) or RIGHT (False), as getListPositionFromObjectOrReply() reads them."""
    where = cstr(raw).lower()
    if where == b"left":
        return True
    if where == b"right":
        return False
    raise errors.SYNTAX


def _side(left: bool) -> bytes:
    return b"LEFT" if left else b"RIGHT"


# -- helpers shared with the blocking commands -------------------------------------
def pop(client, key: bytes, left: bool, count: int | None = None):
    """Pop one element (count None) or up to count elements (a list) from the list at key,
    log `LPOP key [n]` / `RPOP key [n]` and delete the emptied key.

    None when the key is missing; WRONGTYPE for another type."""
    db = client.db
    value = db.get_typed(key, ListValue)
    if value is None:
        return None
    take = value.popleft if left else value.pop
    name = b"LPOP" if left else b"RPOP"
    if count is None:
        reply = take()
        client.log([name, key])
    else:
        n = min(count, len(value))
        if not n:
            return []
        reply = [take() for _ in range(n)]
        client.log([name, key, b"%d" % n])
    if not value:
        db.delete(key)
    return reply


def move(client, src: bytes, dst: bytes, wherefrom_left: bool, whereto_left: bool):
    """LMOVE: pop from src, push to dst, log `LMOVE src dst LEFT|RIGHT LEFT|RIGHT`.

    The element, or None when src is missing. The destination's type is checked
    before popping, as Redis does, so a WRONGTYPE changes nothing."""
    db = client.db
    source = db.get_typed(src, ListValue)
    if source is None:
        return None
    target = db.get_typed(dst, ListValue)
    element = source.popleft() if wherefrom_left else source.pop()
    if target is None:
        target = ListValue()
        db.set(dst, target)
    if whereto_left:
        target.appendleft(element)
    else:
        target.append(element)
    if not source:            # src == dst keeps its one element: it was pushed back
        db.delete(src)
    client.log([b"LMOVE", src, dst, _side(wherefrom_left), _side(whereto_left)])
    return element


def mpop_from(client, key: bytes, left: bool, count: int):
    """[B]LMPOP's reply for one key: `[key, [elements]]`, or None when the key is missing."""
    elements = pop(client, key, left, count)
    return None if elements is None else [key, elements]


def mpop(client, keys, left: bool, count: int):
    """LMPOP over keys: the first non-empty list's reply, None if there is none.
    A key of another type before it is WRONGTYPE, as in Redis."""
    db = client.db
    for key in keys:
        if db.get_typed(key, ListValue) is not None:
            return mpop_from(client, key, left, count)
    return None


# -- pushing --------------------------------------------------------------------------
def _push(client, argv, left: bool, create: bool) -> int:
    db, key = client.db, argv[1]
    value = db.get_typed(key, ListValue)
    if value is None:
        if not create:
            return 0
        value = ListValue()
        db.set(key, value)
    elements = islice(argv, 2, None)
    if left:
        value.extendleft(elements)
    else:
        value.extend(elements)
    client.log(argv)
    return len(value)


PUSH_COMPLEXITY = ("O(1) for each element added, so O(N) to add N elements when the command is "
                   "called with multiple arguments.")


@command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW INSERT", 1),),
         summary="Prepend one or multiple elements to a list", since="1.0.0",
         complexity=PUSH_COMPLEXITY, syntax="key element [element ...]")
def lpush(client, argv):
    return _push(client, argv, left=True, create=True)


@command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW INSERT", 1),),
         summary="Append one or multiple elements to a list", since="1.0.0",
         complexity=PUSH_COMPLEXITY, syntax="key element [element ...]")
def rpush(client, argv):
    return _push(client, argv, left=False, create=True)


@command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW INSERT", 1),),
         summary="Prepend an element to a list, only if the list exists", since="2.2.0",
         complexity=PUSH_COMPLEXITY, syntax="key element [element ...]")
def lpushx(client, argv):
    return _push(client, argv, left=True, create=False)


@command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW INSERT", 1),),
         summary="Append an element to a list, only if the list exists", since="2.2.0",
         complexity=PUSH_COMPLEXITY, syntax="key element [element ...]")
def rpushx(client, argv):
    return _push(client, argv, left=False, create=False)


# -- popping ----------------------------------------------------------------------------
def _pop_command(client, argv, left: bool):
    if len(argv) > 3:
        raise errors.wrong_arity("lpop" if left else "rpop")
    if len(argv) == 2:
        return pop(client, argv[1], left)
    count = parse_count(argv[2], errors.NOT_POSITIVE)
    elements = pop(client, argv[1], left, count)
    return NULL_ARRAY if elements is None else elements   # RESP2 *-1 for a missing key


@command("lpop", -2, "write fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Remove and get the first elements in a list", since="1.0.0",
         complexity="O(N) where N is the number of elements returned", syntax="key [count:integer]")
def lpop(client, argv):
    return _pop_command(client, argv, left=True)


@command("rpop", -2, "write fast", keys=(1, 1, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Remove and get the last elements in a list", since="1.0.0",
         complexity="O(N) where N is the number of elements returned", syntax="key [count:integer]")
def rpop(client, argv):
    return _pop_command(client, argv, left=False)


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1), ("RW INSERT", 2)),
         summary="Pop an element from a list, push it to another list and return it", since="6.2.0",
         complexity="O(1)", syntax="source:key destination:key (LEFT | RIGHT) (LEFT | RIGHT)")
def lmove(client, argv):
    wherefrom, whereto = parse_where(argv[3]), parse_where(argv[4])
    return move(client, argv[1], argv[2], wherefrom, whereto)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1), ("RW INSERT", 2)),
         summary="Remove the last element in a list, prepend it to another list and return it",
         since="1.2.0", complexity="O(1)", syntax="source:key destination:key", doc_flags="deprecated")
def rpoplpush(client, argv):
    return move(client, argv[1], argv[2], False, True)


@command("lmpop", -4, "write movablekeys", group="list",
         key_specs=(("RW ACCESS DELETE", 1, "keynum"),),
         find_keys=numkeys_at(1),
         summary="Pop elements from a list", since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.",
         syntax="numkeys:integer key [key ...] (LEFT | RIGHT) [COUNT count:integer]")
def lmpop(client, argv):
    keys, side, count = parse_mpop(argv, 1, SIDES)
    left = side == b"left"
    reply = mpop(client, keys, left, count)
    return NULL_ARRAY if reply is None else reply


# -- reading ------------------------------------------------------------------------------
@command("llen", 2, "readonly fast", keys=(1, 1, 1), group="list",
         key_specs=(("RO", 1),),
         summary="Get the length of a list", since="1.0.0", complexity="O(1)", syntax="key")
def llen(client, argv):
    value = client.db.get_typed(argv[1], ListValue)
    return 0 if value is None else len(value)


def _index(value: ListValue, raw: bytes) -> int | None:
    """The position of a (possibly negative) index argument, None when out of range."""
    index = parse_int(raw)
    if index < 0:
        index += len(value)
    return index if 0 <= index < len(value) else None


@command("lindex", 3, "readonly", keys=(1, 1, 1), group="list",
         summary="Get an element from a list by its index", since="1.0.0",
         complexity="O(N) where N is the number of elements to traverse to get to the element at index. "
                    "This makes asking for the first or the last element of the list O(1).",
         syntax="key index:integer")
def lindex(client, argv):
    value = client.db.get_typed(argv[1], ListValue)   # a missing key is nil before the index is read
    if value is None:
        return None
    index = _index(value, argv[2])
    return None if index is None else value[index]


def _clamp(start: int, end: int, n: int):
    """LRANGE/LTRIM's index rules: the inclusive range [start, end] inside 0..n-1, or None."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    return start, min(end, n - 1)


@command("lrange", 4, "readonly", keys=(1, 1, 1), group="list",
         summary="Get a range of elements from a list", since="1.0.0",
         complexity="O(S+N) where S is the distance of start offset from HEAD for small lists, from "
                    "nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the "
                    "specified range.",
         syntax="key start:integer stop:integer")
def lrange(client, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = client.db.get_typed(argv[1], ListValue)
    if value is None:
        return []
    n = len(value)
    bounds = _clamp(start, end, n)
    if bounds is None:
        return []
    start, end = bounds
    if start <= n - 1 - end:                                  # nearer the head
        return list(islice(value, start, end + 1))
    tail = list(islice(reversed(value), n - 1 - end, n - start))   # walk in from the tail
    tail.reverse()
    return tail


def _matches(elements, element: bytes):
    """The positions (0-based, in iteration order) where element occurs, lazily."""
    return compress(counter(), map(element.__eq__, elements))


@command("lpos", -3, "readonly", keys=(1, 1, 1), group="list",
         summary="Return the index of matching elements on a list", since="6.0.6",
         complexity="O(N) where N is the number of elements in the list, for the average case. When "
                    "searching for elements near the head or the tail of the list, or when the MAXLEN "
                    "option is provided, the command may run in constant time.",
         syntax="key element [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]")
def lpos(client, argv):
    rank, count, maxlen = 1, None, 0
    i = 3
    while i < len(argv):
        option = cstr(argv[i]).lower()
        if i + 1 == len(argv):
            raise errors.SYNTAX
        if option == b"rank":
            rank = parse_int(argv[i + 1])
            if rank == 0:
                raise RANK_ZERO
        elif option == b"count":
            count = parse_range(argv[i + 1], 0, INT64_MAX, "COUNT can't be negative")
        elif option == b"maxlen":
            maxlen = parse_range(argv[i + 1], 0, INT64_MAX, "MAXLEN can't be negative")
        else:
            raise errors.SYNTAX
        i += 2
    value = client.db.get_typed(argv[1], ListValue)
    if value is None:
        return None if count is None else []
    from_tail = rank < 0
    skip = -rank - 1 if from_tail else rank - 1
    limit = count or None                      # COUNT 0: every match
    if rank == INT64_MIN:
        # Redis negates the rank in a C long: it stays negative, so every match qualifies
        # and the COUNT limit (matches - rank + 1 >= count) overflows and never stops it.
        skip, limit = 0, None
    n = len(value)
    skip = min(skip, n)                        # within islice's range; no list is longer
    if limit is not None:
        limit = min(limit, n)
    elements = reversed(value) if from_tail else iter(value)
    if maxlen:
        elements = islice(elements, maxlen)
    found = islice(_matches(elements, argv[2]), skip, None if limit is None else skip + limit)
    if from_tail:
        last = n - 1
        found = (last - position for position in found)
    if count is None:
        return next(found, None)
    return list(found)


# -- changing in place ------------------------------------------------------------------
@command("lset", 4, "write denyoom", keys=(1, 1, 1), group="list",
         key_specs=(("RW UPDATE", 1),),
         summary="Set the value of an element in a list by its index", since="1.0.0",
         complexity="O(N) where N is the length of the list. Setting either the first or the last "
                    "element of the list is O(1).",
         syntax="key index:integer element")
def lset(client, argv):
    value = client.db.get_typed(argv[1], ListValue)
    if value is None:
        raise errors.NO_SUCH_KEY
    index = _index(value, argv[2])
    if index is None:
        raise errors.OUT_OF_RANGE
    value[index] = argv[3]
    client.log(argv)
    return OK


@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group="list",
         key_specs=(("RW INSERT", 1),),
         summary="Insert an element before or after another element in a list", since="2.2.0",
         complexity="O(N) where N is the number of elements to traverse before seeing the value pivot. "
                    "This means that inserting somewhere on the left end on the list (head) can be "
                    "considered O(1) and inserting somewhere on the right end (tail) is O(N).",
         syntax="key (BEFORE | AFTER) pivot element")
def linsert(client, argv):
    where = cstr(argv[2]).lower()
    if where not in (b"before", b"after"):
        raise errors.SYNTAX
    value = client.db.get_typed(argv[1], ListValue)
    if value is None:
        return 0
    try:
        index = value.index(argv[3])
    except ValueError:
        return -1
    value.insert(index + 1 if where == b"after" else index, argv[4])
    client.log(argv)
    return len(value)


def _remove(value: ListValue, element: bytes, limit: int, from_tail: bool) -> int:
    """Remove the first `limit` occurrences (every one when 0) seen from one end."""
    limit = limit if 0 < limit < len(value) else None     # (LREM's -LLONG_MIN stays "all" in C too)
    positions = list(islice(_matches(reversed(value) if from_tail else value, element), limit))
    if not positions:
        return 0
    span = positions[-1] + 1              # how far in from that end the removals reach
    n = len(value)
    if span <= n // 2:                    # pop the span off its end, push back what stays
        take = value.pop if from_tail else value.popleft
        kept = list(filterfalse(element.__eq__, [take() for _ in range(span)]))
        kept.reverse()
        (value.extend if from_tail else value.extendleft)(kept)
    else:                                 # rebuild: the span is most of the list
        if from_tail:
            rest = list(islice(value, n - span))
            rest.extend(filterfalse(element.__eq__, islice(value, n - span, None)))
        else:
            rest = list(filterfalse(element.__eq__, islice(value, span)))
            rest.extend(islice(value, span, None))
        value.clear()
        value.extend(rest)
    return len(positions)


@command("lrem", 4, "write", keys=(1, 1, 1), group="list",
         key_specs=(("RW DELETE", 1),),
         summary="Remove elements from a list", since="1.0.0",
         complexity="O(N+M) where N is the length of the list and M is the number of elements removed.",
         syntax="key count:integer element")
def lrem(client, argv):
    limit = parse_int(argv[2])
    db, key = client.db, argv[1]
    value = db.get_typed(key, ListValue)
    if value is None:
        return 0
    removed = _remove(value, argv[3], abs(limit), limit < 0)
    if removed:
        client.log(argv)
        if not value:
            db.delete(key)
    return removed


@command("ltrim", 4, "write", keys=(1, 1, 1), group="list",
         key_specs=(("RW DELETE", 1),),
         summary="Trim a list to the specified range", since="1.0.0",
         complexity="O(N) where N is the number of elements to be removed by the operation.",
         syntax="key start:integer stop:integer")
def ltrim(client, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    db, key = client.db, argv[1]
    value = db.get_typed(key, ListValue)
    if value is None:
        return OK
    n = len(value)
    bounds = _clamp(start, end, n)
    if bounds is None:
        db.delete(key)                    # an empty range empties the list: the key goes
        client.log(argv)
        return OK
    start, end = bounds
    drop_right = n - 1 - end
    if not start and not drop_right:
        return OK
    if end + 1 - start < start + drop_right:   # keeping less than dropping: rebuild
        kept = list(islice(value, start, end + 1))
        value.clear()
        value.extend(kept)
    else:
        for _ in range(start):
            value.popleft()
        for _ in range(drop_right):
            value.pop()
    client.log(argv)
    return OK
