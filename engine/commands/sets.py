"""Set commands: SADD, SREM, SCARD, SISMEMBER, SMISMEMBER, SMEMBERS, SPOP, SRANDMEMBER, SMOVE,
SINTER, SINTERCARD, SINTERSTORE, SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE, SSCAN.

A set is a Python `set` of its members. Redis 7.0 keeps a set as an "intset" while every
member is a canonical int64 and it holds at most set-max-intset-entries members, and as a
"hashtable" from the first write that breaks either rule on (never back, except that SPOP
and the *STORE commands build a new set). An intset is sorted, so Redis returns its
members in ascending numeric order: we sort the members of intset-encoded sets whenever
Redis would walk the intset (SMEMBERS, SSCAN, whole-set replies …).

Random picks (SPOP, SRANDMEMBER) draw from a list of the members built on first use: a
removed member stays in the list, marked stale, until a draw hits it (it is then dropped
in O(1)) or until more than half of the list is stale (the list is then dropped and built
again on the next draw), so each live member is in the list exactly once and draws are
uniform and O(1) amortised. SPOP logs `SREM` of what it popped, never the draw itself.
"""
import random

from engine import errors, glob
from engine.commands.keys import register_type
from engine.parsing import (INT64_MIN, MAX_RANDOM_REPLY, NUMKEYS, RANDOM_TOO_LARGE, cstr, parse_count,
                            to_int)
from engine.registry import command, numkeys_at
from engine.replies import RSet
from engine.scan import CURSORS, parse_cursor, parse_options

COUNT_RANGE = errors.err("value is out of range, value must between -9223372036854775807 and "
                         "9223372036854775807")
TOO_MANY_KEYS = errors.err("Number of keys can't be greater than number of args")

INTSET_CAP = 1 << 30            # setTypeAdd(): "limit to 1G entries due to intset internals"
SPOP_MOVE_STRATEGY_MUL = 5      # t_set.c: when to keep the few members left instead of popping


class SetValue:
    """A set's members; `hashtable` is Redis's encoding (False: intset)."""
    __slots__ = ("members", "hashtable", "picks", "stale")

    def __init__(self, members: set | None = None, hashtable: bool = False):
        self.members = set() if members is None else members    # taken, not copied
        self.hashtable = hashtable
        self.picks = None       # list for random draws: live members once each, plus stale ones
        self.stale = None       # removed members still in `picks`

    def __len__(self):
        return len(self.members)

    def copy(self) -> "SetValue":
        return SetValue(set(self.members), self.hashtable)   # COPY keeps the encoding (setTypeDup)

    def ordered(self) -> list:
        """The members in the order Redis walks this set: ascending for an intset."""
        if self.hashtable:
            return list(self.members)
        return sorted(self.members, key=int)

    # -- writes ------------------------------------------------------------------------
    def add(self, items, max_intset: int) -> int:
        members, picks = self.members, self.picks
        before = len(members)
        if picks is None:
            members.update(items)
        else:
            stale = self.stale
            for member in items:
                if member not in members:
                    members.add(member)
                    if member in stale:
                        stale.discard(member)     # still in the list: not twice
                    else:
                        picks.append(member)
        added = len(members) - before
        # setTypeAdd() converts on a non-integer member (always a new one) or when an
        # insertion takes the intset past the limit; the last insertion is the largest.
        if added and not self.hashtable and (
                len(members) > min(max_intset, INTSET_CAP) or any(to_int(m) is None for m in items)):
            self.hashtable = True
        return added

    def remove(self, items) -> int:
        members, picks = self.members, self.picks
        before = len(members)
        if picks is None:
            members.difference_update(items)
        else:
            stale = self.stale
            for member in items:
                if member in members:
                    members.remove(member)
                    stale.add(member)
            if len(stale) > len(picks) // 2:
                self.picks = self.stale = None
        return before - len(members)

    def replace(self, members: set, max_intset: int):
        """Hold `members` instead, encoded as a set built from them (SPOP's new set)."""
        self.members = members
        self.hashtable = not fits_intset(members, max_intset)
        self.picks = self.stale = None

    # -- random draws --------------------------------------------------------------------
    def _draw(self) -> int:
        """The index in `picks` of a uniformly drawn live member (the set is not empty)."""
        picks = self.picks
        if picks is None:
            picks = self.picks = list(self.members)
            self.stale = set()
        stale = self.stale
        while True:
            i = random.randrange(len(picks))
            member = picks[i]
            if member not in stale:
                return i
            stale.discard(member)
            _take(picks, i)

    def random_member(self) -> bytes:
        i = self._draw()            # builds the list on first use
        return self.picks[i]

    def pop_random(self) -> bytes:
        i = self._draw()
        member = _take(self.picks, i)
        self.members.remove(member)
        return member


def _take(picks: list, i: int):
    """Remove and return picks[i] in O(1): the last entry takes its place."""
    member, last = picks[i], picks.pop()
    if i < len(picks):
        picks[i] = last
    return member


def fits_intset(members, max_intset: int) -> bool:
    """Whether a set built from these members is an intset."""
    return len(members) <= min(max_intset, INTSET_CAP) and all(to_int(m) is not None for m in members)


def fresh_order(members, max_intset: int) -> list:
    """The members in the order Redis walks a set built from them (SUNION's, SPOP's)."""
    if fits_intset(members, max_intset):
        return sorted(members, key=int)
    return list(members)


register_type(SetValue, "set", lambda value: "hashtable" if value.hashtable else "intset",
              SetValue.copy)


def _max_intset(client) -> int:
    return client.state.config["set-max-intset-entries"]


def _get(client, key: bytes):
    return client.db.get_typed(key, SetValue)


# -- members ----------------------------------------------------------------------------
@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group="set",
         key_specs=(("RW INSERT", 1),),
         summary="Add one or more members to a set", since="1.0.0",
         complexity="O(1) for each element added, so O(N) to add N elements when the command is "
                    "called with multiple arguments.",
         syntax="key member [member ...]")
def sadd(client, argv):
    db, key = client.db, argv[1]
    value = db.get_typed(key, SetValue)
    if value is None:
        value = SetValue()
        db.set(key, value)
    added = value.add(argv[2:], _max_intset(client))
    if added:
        client.log(argv)
    return added


@command("srem", -3, "write fast", keys=(1, 1, 1), group="set",
         key_specs=(("RW DELETE", 1),),
         summary="Remove one or more members from a set", since="1.0.0",
         complexity="O(N) where N is the number of members to be removed.",
         syntax="key member [member ...]")
def srem(client, argv):
    value = _get(client, argv[1])
    if value is None:
        return 0
    removed = value.remove(argv[2:])
    if removed:
        if not value:
            client.db.delete(argv[1])
        client.log(argv)
    return removed


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group="set",
         key_specs=(("RO", 1),),
         summary="Get the number of members in a set", since="1.0.0", complexity="O(1)", syntax="key")
def scard(client, argv):
    value = _get(client, argv[1])
    return 0 if value is None else len(value)


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group="set",
         key_specs=(("RO", 1),),
         summary="Determine if a given value is a member of a set", since="1.0.0", complexity="O(1)",
         syntax="key member")
def sismember(client, argv):
    value = _get(client, argv[1])
    return int(value is not None and argv[2] in value.members)


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group="set",
         summary="Returns the membership associated with the given elements for a set", since="6.2.0",
         complexity="O(N) where N is the number of elements being checked for membership",
         syntax="key member [member ...]")
def smismember(client, argv):
    value = _get(client, argv[1])
    members = value.members if value is not None else ()
    return [1 if member in members else 0 for member in argv[2:]]


@command("smembers", 2, "readonly", keys=(1, 1, 1), group="set",
         summary="Get all the members in a set", since="1.0.0",
         complexity="O(N) where N is the set cardinality.", syntax="key")
def smembers(client, argv):
    value = _get(client, argv[1])
    return RSet() if value is None else RSet(value.ordered())


@command("smove", 4, "write fast", keys=(1, 2, 1), group="set",
         key_specs=(("RW ACCESS DELETE", 1), ("RW INSERT", 2)),
         summary="Move a member from one set to another", since="1.0.0", complexity="O(1)",
         syntax="source:key destination:key member")
def smove(client, argv):
    db, src, dst, member = client.db, argv[1], argv[2], argv[3]
    source, target = db.get(src), db.get(dst)
    if source is None:
        return 0      # before the type checks, as Redis
    if type(source) is not SetValue or (target is not None and type(target) is not SetValue):
        raise errors.WRONGTYPE
    if source is target:
        return int(member in source.members)
    if not source.remove((member,)):
        return 0
    if not source:
        db.delete(src)
    if target is None:
        target = SetValue()
        db.set(dst, target)
    target.add((member,), _max_intset(client))
    client.log(argv)
    return 1


# -- random members ---------------------------------------------------------------------
@command("spop", -2, "write fast", keys=(1, 1, 1), group="set",
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Remove and return one or multiple random members from a set", since="1.0.0",
         complexity="Without the count argument O(1), otherwise O(N) where N is the value of the "
                    "passed count.",
         syntax="key [count:integer]")
def spop(client, argv):
    if len(argv) > 3:
        raise errors.SYNTAX
    if len(argv) == 3:
        return _spop_count(client, argv)
    key = argv[1]
    value = _get(client, key)
    if value is None:
        return None
    member = value.pop_random()
    if not value:
        client.db.delete(key)
    client.log([b"SREM", key, member])
    return member


def _spop_count(client, argv):
    count = parse_count(argv[2], errors.NOT_POSITIVE)
    db, key = client.db, argv[1]
    value = _get(client, key)
    if value is None or count == 0:
        return RSet()
    size, max_intset = len(value), _max_intset(client)
    if count >= size:
        # Redis replies with SUNION of the key (a set built afresh) and propagates DEL.
        reply = RSet(fresh_order(value.members, max_intset))
        db.delete(key)
        client.log([b"DEL", key])
        return reply
    remaining = size - count
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        popped = [value.pop_random() for _ in range(count)]
        client.log([b"SREM", key, *popped])
        return RSet(popped)
    # Few members stay: Redis draws those into a new set (encoded afresh: a hashtable of
    # integers becomes an intset) and returns the old set's rest in its own order.
    kept = random.sample(list(value.members), remaining)
    was_intset = not value.hashtable
    popped = value.members
    popped.difference_update(kept)
    reply = RSet(sorted(popped, key=int) if was_intset else popped)
    value.replace(set(kept), max_intset)
    # Logged as the (cheaper) members kept: SADD builds the same set, encoding included.
    when = db.expires.get(key)
    client.log([b"DEL", key])
    client.log([b"SADD", key, *kept])
    if when is not None:
        client.log([b"PEXPIREAT", key, b"%d" % when])
    return reply


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group="set",
         summary="Get one or multiple random members from a set", since="1.0.0",
         complexity="Without the count argument O(1), otherwise O(N) where N is the absolute value "
                    "of the passed count.",
         syntax="key [count:integer]")
def srandmember(client, argv):
    if len(argv) > 3:
        raise errors.SYNTAX
    if len(argv) == 2:
        value = _get(client, argv[1])
        return None if value is None else value.random_member()
    count = to_int(argv[2])
    if count is None:
        raise errors.NOT_INTEGER
    if count == INT64_MIN:
        raise COUNT_RANGE
    value = _get(client, argv[1])
    if value is None or count == 0:
        return []
    if count < 0:           # repetitions allowed, in draw order
        if -count > MAX_RANDOM_REPLY:
            raise RANDOM_TOO_LARGE
        return [value.random_member() for _ in range(-count)]
    size = len(value)
    if count >= size:
        return value.ordered()
    if count * 3 > size:    # most of the set: sample it (Redis copies it and drops the rest)
        return random.sample(list(value.members), count)
    found = {}
    while len(found) < count:
        found[value.random_member()] = None
    return list(found)


# -- intersection, union, difference -----------------------------------------------------
def _sets(client, keys) -> list:
    """The sets at keys (None for a missing key); WRONGTYPE if any key holds another type."""
    db = client.db
    return [db.get_typed(key, SetValue) for key in keys]


def _smallest_first(sets: list):
    """(the set Redis walks, the others' members smallest first), or None when a key is
    missing. Redis walks the smallest set (the first of them: its sort is stable)."""
    if any(value is None for value in sets):
        return None
    smallest = min(sets, key=len)
    return smallest, sorted((value.members for value in sets if value is not smallest), key=len)


def _intersection(sets: list):
    """(members, the members in the order Redis replies with them)."""
    found = _smallest_first(sets)
    if found is None:
        return set(), []
    smallest, others = found
    members = smallest.members.intersection(*others)
    return members, members if smallest.hashtable else sorted(members, key=int)


def _union(sets: list) -> set:
    return set().union(*(value.members for value in sets if value is not None))


def _difference(sets: list, max_intset: int):
    """(members, hashtable): the encoding of the set Redis builds. Its second algorithm
    (chosen by estimated work) first adds every member of the first set, then removes."""
    first = sets[0]
    if first is None:
        return set(), False
    present = [value for value in sets if value is not None]
    algo_one_work = len(first) * len(present) // 2
    algo_two_work = sum(len(value) for value in present)
    members = first.members.difference(*(value.members for value in present[1:]))
    if algo_one_work <= algo_two_work:
        return members, not fits_intset(members, max_intset)
    return members, not fits_intset(first.members, max_intset)


def _reply(members, hashtable: bool) -> RSet:
    return RSet(members if hashtable else sorted(members, key=int))


@command("sinter", -2, "readonly", keys=(1, -1, 1), group="set",
         summary="Intersect multiple sets", since="1.0.0",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
                    "number of sets.",
         syntax="key [key ...]")
def sinter(client, argv):
    return RSet(_intersection(_sets(client, argv[1:]))[1])


@command("sintercard", -3, "readonly movablekeys", group="set",
         key_specs=(("RO ACCESS", 1, "keynum"),),
         find_keys=numkeys_at(1),
         summary="Intersect multiple sets and return the cardinality of the result", since="7.0.0",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
                    "number of sets.",
         syntax="numkeys:integer key [key ...] [LIMIT limit:integer]")
def sintercard(client, argv):
    numkeys = to_int(argv[1])
    if numkeys is None or numkeys < 1:
        raise NUMKEYS
    if numkeys > len(argv) - 2:
        raise TOO_MANY_KEYS
    limit, i = 0, 2 + numkeys
    while i < len(argv):
        if cstr(argv[i]).lower() == b"limit" and i + 1 < len(argv):
            limit = parse_count(argv[i + 1], errors.NEGATIVE_LIMIT)
            i += 2
        else:
            raise errors.SYNTAX
    sets = _sets(client, argv[2:2 + numkeys])
    if not limit:
        return len(_intersection(sets)[0])
    walked = _smallest_first(sets)
    if walked is None:
        return 0
    smallest, others = walked
    found = 0
    for member in smallest.members:    # stops at the limit, as Redis does
        if all(member in other for other in others):
            found += 1
            if found >= limit:
                break
    return found


def _store(client, argv, members: set, hashtable: bool) -> int:
    """Store a *STORE result at argv[1] (replacing any value and its TTL, as setKey()),
    or delete the destination when the result is empty."""
    db, dst = client.db, argv[1]
    if members:
        db.set(dst, SetValue(members, hashtable))
        client.log(argv)
        return len(members)
    if db.get(dst) is not None:
        db.delete(dst)
        client.log([b"DEL", dst])
    return 0


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group="set",
         key_specs=(("RW UPDATE", 1), ("RO ACCESS", 2, -1)),
         summary="Intersect multiple sets and store the resulting set in a key", since="1.0.0",
         complexity="O(N*M) worst case where N is the cardinality of the smallest set and M is the "
                    "number of sets.",
         syntax="destination:key key [key ...]")
def sinterstore(client, argv):
    members = _intersection(_sets(client, argv[2:]))[0]
    return _store(client, argv, members, not fits_intset(members, _max_intset(client)))


@command("sunion", -2, "readonly", keys=(1, -1, 1), group="set",
         summary="Add multiple sets", since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="key [key ...]")
def sunion(client, argv):
    return RSet(fresh_order(_union(_sets(client, argv[1:])), _max_intset(client)))


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group="set",
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2, -1)),
         summary="Add multiple sets and store the resulting set in a key", since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="destination:key key [key ...]")
def sunionstore(client, argv):
    members = _union(_sets(client, argv[2:]))
    return _store(client, argv, members, not fits_intset(members, _max_intset(client)))


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group="set",
         summary="Subtract multiple sets", since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="key [key ...]")
def sdiff(client, argv):
    return _reply(*_difference(_sets(client, argv[1:]), _max_intset(client)))


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group="set",
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2, -1)),
         summary="Subtract multiple sets and store the resulting set in a key", since="1.0.0",
         complexity="O(N) where N is the total number of elements in all given sets.",
         syntax="destination:key key [key ...]")
def sdiffstore(client, argv):
    return _store(client, argv, *_difference(_sets(client, argv[2:]), _max_intset(client)))


# -- SSCAN -------------------------------------------------------------------------------------
@command("sscan", -3, "readonly", keys=(1, 1, 1), group="set",
         summary="Incrementally iterate Set elements", since="2.8.0",
         complexity="O(1) for every call. O(N) for a complete iteration, including enough command "
                    "calls for the cursor to return back to 0. N is the number of elements inside "
                    "the collection..",
         syntax="key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]")
def sscan(client, argv):
    cursor = parse_cursor(argv[2])
    value = _get(client, argv[1])
    if value is None:
        return [b"0", []]
    pattern, count, _ = parse_options(argv, 3, allow_type=False)
    if not value.hashtable:
        cursor, found = 0, value.ordered()      # Redis returns a whole intset in one call
    elif pattern is not None and glob.is_literal(pattern):
        cursor, found = 0, [pattern] if pattern in value.members else []
    else:
        cursor, found = CURSORS.page(value, value.members, cursor, count)
    if pattern is not None:
        matches = glob.matcher(pattern)
        found = [member for member in found if matches(member)]
    return [b"%d" % cursor, found]
