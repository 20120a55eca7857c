"""ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD: sorted sets (and plain sets,
whose members score 1) combined with WEIGHTS and an AGGREGATE, as Redis combines them.

A *STORE logs itself: float sums and products are deterministic, so replay gives the
same scores to the bit; the stored set is encoded as Redis encodes a new one
(`zsets.stored`).
"""
from engine import errors
from engine.commands.sets import SetValue
from engine.commands.zsets import GROUP, ZSet, parse_score, scored, stored
from engine.parsing import cstr, parse_count, parse_int
from engine.registry import command, numkeys_at

NOT_A_WEIGHT = errors.err("weight value is not a float")


UNION, INTER, DIFF = "union", "inter", "diff"


def _aggregate(how: bytes):
    """zunionInterAggregate(): SUM turns NaN (inf + -inf) into 0; MIN and MAX ignore NaN."""
    if how == b"sum":
        def combine(total, value):
            total += value
            return 0.0 if total != total else total
    elif how == b"min":
        def combine(total, value):
            return value if value < total else total
    else:
        def combine(total, value):
            return value if value > total else total
    return combine


def _members(value):
    """(member, score) of a sorted set, or of a set (score 1)."""
    if type(value) is ZSet:
        return value.items()
    return ((member, 1.0) for member in value.members)


def _score_of(value, member: bytes):
    if type(value) is ZSet:
        return value.get(member)
    return 1.0 if member in value.members else None


def _parse_setop(client, argv, numkeys_index: int, name: str, op: str, store: bool, card: bool):
    """zunionInterDiffGenericCommand()'s arguments: ([(value or None, weight)], aggregate,
    withscores, limit); sources sorted by size (stably) except for DIFF."""
    numkeys = parse_int(argv[numkeys_index])
    if numkeys < 1:
        raise errors.err(f"at least 1 input key is needed for '{name}' command")
    if numkeys > len(argv) - numkeys_index - 1:
        raise errors.SYNTAX
    j = numkeys_index + 1 + numkeys
    values = []
    for key in argv[numkeys_index + 1:j]:
        value = client.db.get(key)
        if value is not None and type(value) is not ZSet and type(value) is not SetValue:
            raise errors.WRONGTYPE
        values.append(value)
    weights, how, withscores, limit = [1.0] * numkeys, b"sum", False, 0
    while j < len(argv):
        remaining, option = len(argv) - j, cstr(argv[j]).lower()
        if op is not DIFF and not card and remaining >= numkeys + 1 and option == b"weights":
            weights = [parse_score(raw, NOT_A_WEIGHT) for raw in argv[j + 1:j + 1 + numkeys]]
            j += numkeys + 1
        elif op is not DIFF and not card and remaining >= 2 and option == b"aggregate":
            how = cstr(argv[j + 1]).lower()
            if how not in (b"sum", b"min", b"max"):
                raise errors.SYNTAX
            j += 2
        elif not store and not card and option == b"withscores":
            withscores = True
            j += 1
        elif card and remaining >= 2 and option == b"limit":
            limit = parse_count(argv[j + 1], errors.NEGATIVE_LIMIT)
            j += 2
        else:
            raise errors.SYNTAX
    sources = list(zip(values, weights))
    if op is not DIFF:
        sources.sort(key=lambda source: 0 if source[0] is None else len(source[0]))
    return sources, how, withscores, limit


def _inter(sources, how: bytes, limit: int = 0):
    """member -> aggregated score of the members in every source (up to `limit` of them)."""
    (first, weight), rest = sources[0], sources[1:]
    result = {}
    if not first or any(value is None for value, _ in rest):
        return result
    combine = _aggregate(how)
    for member, score in _members(first):
        total = weight * score
        if total != total:
            total = 0.0
        for value, other_weight in rest:
            found = score if value is first else _score_of(value, member)
            if found is None:
                break
            total = combine(total, found * other_weight)
        else:
            result[member] = total
            if limit and len(result) >= limit:
                break
    return result


def _union(sources, how: bytes):
    combine, result = _aggregate(how), {}
    for value, weight in sources:
        if value is None:
            continue
        for member, score in _members(value):
            score *= weight
            if score != score:
                score = 0.0
            total = result.get(member)
            result[member] = score if total is None else combine(total, score)
    return result


def _diff(sources):
    (first, _), rest = sources[0], [value for value, _ in sources[1:] if value is not None]
    if not first or any(value is first for value in rest):
        return {}
    return {member: score for member, score in _members(first)
            if all(_score_of(value, member) is None for value in rest)}


def _setop(client, argv, op: str, store: bool = False, card: bool = False):
    name = "z%s%s" % ("intercard" if card else op, "store" if store else "")
    first = 2 if store else 1
    sources, how, withscores, limit = _parse_setop(client, argv, first, name, op, store, card)
    if op is INTER:
        result = _inter(sources, how, limit if card else 0)
    else:
        result = _union(sources, how) if op is UNION else _diff(sources)
    if card:
        return len(result)
    pairs = [(score, member) for member, score in result.items()]
    if not store:
        pairs.sort()
        return scored(client, pairs, withscores)
    db, dst = client.db, argv[1]
    if pairs:
        db.set(dst, stored(client, pairs))
        client.log(argv)
    elif db.delete(dst):
        client.log(argv)
    return len(pairs)


_WEIGHTS = "[WEIGHTS weight:integer ...] [AGGREGATE (SUM | MIN | MAX)]"
_UNION_COMPLEXITY = ("O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M "
                     "being the number of elements in the resulting sorted set.")
_INTER_COMPLEXITY = ("O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the "
                     "number of input sorted sets and M being the number of elements in the resulting "
                     "sorted set.")
_DIFF_COMPLEXITY = ("O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, "
                    "N is the size of the first set, and K is the size of the result set.")


@command("zunion", -3, "readonly movablekeys", group=GROUP, find_keys=numkeys_at(1),
         key_specs=(("RO ACCESS", 1, "keynum"),),
         summary="Add multiple sorted sets",
         since="6.2.0", complexity=_UNION_COMPLEXITY,
         syntax=f"numkeys:integer key [key ...] {_WEIGHTS} [WITHSCORES]")
def zunion(client, argv):
    return _setop(client, argv, UNION)


@command("zinter", -3, "readonly movablekeys", group=GROUP, find_keys=numkeys_at(1),
         key_specs=(("RO ACCESS", 1, "keynum"),),
         summary="Intersect multiple sorted sets",
         since="6.2.0", complexity=_INTER_COMPLEXITY,
         syntax=f"numkeys:integer key [key ...] {_WEIGHTS} [WITHSCORES]")
def zinter(client, argv):
    return _setop(client, argv, INTER)


@command("zdiff", -3, "readonly movablekeys", group=GROUP, find_keys=numkeys_at(1),
         key_specs=(("RO ACCESS", 1, "keynum"),),
         summary="Subtract multiple sorted sets",
         since="6.2.0", complexity=_DIFF_COMPLEXITY, syntax="numkeys:integer key [key ...] [WITHSCORES]")
def zdiff(client, argv):
    return _setop(client, argv, DIFF)


@command("zunionstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group=GROUP,
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2, "keynum")),
         find_keys=numkeys_at(2, 1),
         summary="Add multiple sorted sets and store the resulting sorted set in a new key",
         since="2.0.0",
         complexity=("O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M "
                     "being the number of elements in the resulting sorted set."),
         syntax=f"destination:key numkeys:integer key [key ...] {_WEIGHTS}")
def zunionstore(client, argv):
    return _setop(client, argv, UNION, store=True)


@command("zinterstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group=GROUP,
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2, "keynum")),
         find_keys=numkeys_at(2, 1),
         summary="Intersect multiple sorted sets and store the resulting sorted set in a new key",
         since="2.0.0", complexity=_INTER_COMPLEXITY,
         syntax=f"destination:key numkeys:integer key [key ...] {_WEIGHTS}")
def zinterstore(client, argv):
    return _setop(client, argv, INTER, store=True)


@command("zdiffstore", -4, "write denyoom movablekeys", keys=(1, 1, 1), group=GROUP,
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2, "keynum")),
         find_keys=numkeys_at(2, 1),
         summary="Subtract multiple sorted sets and store the resulting sorted set in a new key",
         since="6.2.0", complexity=_DIFF_COMPLEXITY, syntax="destination:key numkeys:integer key [key ...]")
def zdiffstore(client, argv):
    return _setop(client, argv, DIFF, store=True)


@command("zintercard", -3, "readonly movablekeys", group=GROUP, find_keys=numkeys_at(1),
         key_specs=(("RO ACCESS", 1, "keynum"),),
         summary="Intersect multiple sorted sets and return the cardinality of the result", since="7.0.0",
         complexity=("O(N*K) worst case with N being the smallest input sorted set, K being the number of "
                     "input sorted sets."),
         syntax="numkeys:integer key [key ...] [LIMIT limit:integer]")
def zintercard(client, argv):
    return _setop(client, argv, INTER, card=True)
