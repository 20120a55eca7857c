"""SORT and SORT_RO: the elements of a list, set or sorted set, sorted, limited, looked up, stored.

    SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA] [STORE dst]

Numbers sort by value, ties by the elements' bytes (so the order is total, as in Redis);
ALPHA sorts by bytes. A pattern's first `*` is replaced by the element, `->field` reads a
hash field, `#` is the element itself; a BY pattern without `*` means "do not sort".
`SORT … STORE` is logged as what it did (`DEL dst`, `RPUSH dst …`): ties in an ALPHA sort
by pattern are left in the order the elements came in, and a set's order is not the same
in every process, so the command itself would not replay to the same list.
"""
from engine import errors
from engine.commands.hashes import Hash
from engine.commands.lists import ListValue
from engine.commands.sets import SetValue
from engine.commands.zsets import ZSet
from engine.keyspace import STRINGS
from engine.parsing import parse_int, to_float
from engine.registry import READS, UPDATES, command

NOT_A_DOUBLE = errors.err("One or more scores can't be converted into double")
_SPACES = b" \t\n\v\f\r"


def _elements(value, reverse: bool = False) -> list:
    """The elements in their own order (a sorted set's: by rank), reversed on request
    (unsorted DESC walks a list or sorted set from its tail; a set has no order to reverse)."""
    if type(value) is SetValue:
        return value.ordered()
    elements = list(value) if type(value) is ListValue else value.members_by_rank()
    return elements[::-1] if reverse else elements


def lookup(db, pattern: bytes, element: bytes):
    """Redis's lookupKeyByPattern(): the string at pattern with `*` replaced by element,
    or the hash field after `->`; `#` is the element. None when there is nothing there."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if 0 <= arrow < len(pattern) - 2:
        pattern, field = pattern[:arrow], pattern[arrow + 2:]
    value = db.get(pattern[:star] + element + pattern[star + 1:])
    if field is not None:
        return value.get(field) if type(value) is Hash else None
    return bytes(value) if type(value) in STRINGS else None


def _score(raw: bytes) -> float:
    """strtod() as SORT uses it: leading space allowed, the whole rest must be a number
    (an empty string is 0)."""
    if not raw:
        return 0.0
    value = to_float(raw.lstrip(_SPACES))
    if value is None:
        raise NOT_A_DOUBLE
    return value


def _sort(client, argv, readonly: bool):
    desc = alpha = dontsort = False
    offset, count, by, store, gets = 0, -1, None, None, []
    i, n = 2, len(argv)
    while i < n:
        option, left = argv[i].lower(), n - i - 1
        if option == b"asc":
            desc = False
        elif option == b"desc":
            desc = True
        elif option == b"alpha":
            alpha = True
        elif option == b"limit" and left >= 2:
            offset, count = parse_int(argv[i + 1]), parse_int(argv[i + 2])
            i += 2
        elif option == b"store" and left >= 1 and not readonly:
            store = argv[i + 1]
            i += 1
        elif option == b"by" and left >= 1:
            by = argv[i + 1]
            dontsort = b"*" not in by
            i += 1
        elif option == b"get" and left >= 1:
            gets.append(argv[i + 1])
            i += 1
        else:
            raise errors.SYNTAX
        i += 1

    db = client.db
    value = db.get(argv[1])
    if value is not None and type(value) not in (ListValue, SetValue, ZSet):
        raise errors.WRONGTYPE
    # A set's order differs between servers: a stored result is sorted, as Redis does.
    if dontsort and store is not None and type(value) is SetValue:
        dontsort, alpha, by = False, True, None

    if value is None:
        elements = []
    elif dontsort:
        elements = _elements(value, desc)
    else:
        elements = _sorted(db, _elements(value), by, alpha, desc)

    total = len(elements)
    start = max(offset, 0)
    end = total - 1 if count < 0 else start + count - 1
    if start >= total:
        start, end = total - 1, total - 2
    end = min(end, total - 1)
    elements = elements[start:end + 1] if end >= start else []

    if gets:
        elements = [lookup(db, pattern, element) for element in elements for pattern in gets]
    if store is None:
        return elements
    return _store(client, store, [b"" if e is None else e for e in elements])


def _sorted(db, elements: list, by, alpha: bool, desc: bool) -> list:
    if alpha:
        if by is None:
            return sorted(elements, reverse=desc)
        weights = {e: lookup(db, by, e) for e in elements}
        # A missing weight sorts first; equal weights keep the order the elements came in.
        return sorted(elements, key=lambda e: (weights[e] is not None, weights[e] or b""), reverse=desc)
    if by is None:
        weights = {e: _score(e) for e in elements}
    else:
        weights = {}
        for e in elements:
            raw = lookup(db, by, e)
            weights[e] = 0.0 if raw is None else _score(raw)
    return sorted(elements, key=lambda e: (weights[e], e), reverse=desc)


def _store(client, key: bytes, items: list) -> int:
    db = client.db
    if db.get(key) is not None:
        db.delete(key)
        client.log([b"DEL", key])
    if items:
        db.set(key, ListValue(items))
        client.log([b"RPUSH", key, *items])
    return len(items)


def _sort_keys(argv) -> list[int]:
    """The sorted key, and the last STORE's destination, found as Redis's sortGetKeys finds them:
    LIMIT, GET and BY skip their arguments when they have them; STORE does not skip its key."""
    positions, i = [1], 2
    while i < len(argv):
        option = argv[i].lower()
        skip = 2 if option == b"limit" else 1 if option in (b"get", b"by") else 0
        if skip and i + skip < len(argv):
            i += skip
        elif option == b"store" and i + 1 < len(argv):
            positions[1:] = [i + 1]
        i += 1
    return positions


def _sort_keys_and_flags(argv):
    """sortGetKeys(): the sorted key is read, STORE's destination written (BY and GET
    patterns are not checked)."""
    return [(i, READS if i == 1 else UPDATES) for i in _sort_keys(argv)]


_KEY_SPECS = (("RO ACCESS", 1),
              ("RO ACCESS", None, None, ("For the optional BY/GET keyword. It is marked 'unknown' because "
                                         "the key names derive from the content of the key we sort")))
_SYNTAX = ("key [BY pattern:pattern] [LIMIT offset:integer count:integer] "
           "[GET pattern:pattern [GET pattern:pattern ...]] [ASC | DESC] [ALPHA]")


@command("sort", -2, "write denyoom movablekeys", keys=(1, 1, 1), group="generic",
         find_keys=_sort_keys, getkeys=_sort_keys_and_flags, key_specs=_KEY_SPECS + (
             ("OW UPDATE", None, None, ("For the optional STORE keyword. It is marked 'unknown' because "
                                        "the keyword can appear anywhere in the argument array")),),
         acl="set sortedset list dangerous -keyspace",
         summary="Sort the elements in a list, set or sorted set", since="1.0.0",
         complexity="O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M "
                    "the number of returned elements. When the elements are not sorted, complexity is O(N).",
         syntax=_SYNTAX + " [STORE destination:key]")
def sort(client, argv):
    return _sort(client, argv, readonly=False)


@command("sort_ro", -2, "readonly movablekeys", keys=(1, 1, 1), group="generic",
         find_keys=_sort_keys, getkeys=lambda argv: [(1, READS)], key_specs=_KEY_SPECS,
         acl="set sortedset list dangerous -keyspace",
         summary="Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
         since="7.0.0",
         complexity="O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M "
                    "the number of returned elements. When the elements are not sorted, complexity is O(N).",
         syntax=_SYNTAX)
def sort_ro(client, argv):
    return _sort(client, argv, readonly=True)
