"""Sorted sets: ZADD, ZRANGE and their family (the blocking pops are built on `pop` and `mpop_reply`;
ZUNION, ZINTER, ZDIFF and their STORE forms are in `zsetops.py`).

A sorted set is a dict member -> score plus a SortedList of (score, member)
tuples, which Python orders exactly as Redis's skiplist does: by score, then by
member bytes (memcmp, shorter first). Lookups by member are O(1), by rank O(log n)
(SortedList indexing), ranges by score O(log n) bisects, ranges by lex O(log² n)
binary searches; nothing walks the whole set.

OBJECT ENCODING: a set is "listpack" until a write adds a member past
zset-max-listpack-entries or longer than zset-max-listpack-value, then "skiplist"
for good (Redis never converts back, except when a *STORE builds a new set).
Two listpack quirks are visible and kept: a score of -0 is stored as 0 (listpack
keeps integral scores as integers), and lex ranges walk the listpack linearly
(which only differs from a binary search when the scores are not all equal).

The log: every write logs itself as given (float arithmetic is deterministic, so
ZINCRBY, ZADD INCR and ZUNIONSTORE … WEIGHTS replay to the same bits); pops log
`ZPOPMIN|ZPOPMAX key count`; ZMPOP logs the pop it made; ZRANDMEMBER is read-only.
"""
import random
import re
from math import isinf

from sortedcontainers import SortedList

from engine import errors, glob
from engine.commands.keys import register_type
from engine.parsing import (INT64_MAX, MAX_RANDOM_REPLY, RANDOM_TOO_LARGE, cstr, parse_count, parse_int,
                            parse_mpop, to_int)
from engine.registry import command, numkeys_at
from engine.replies import NULL_ARRAY, Double, format_double
from engine.scan import CURSORS, parse_cursor, parse_options

NAN_SCORE = errors.err("resulting score is not a number (NaN)")
NOT_A_FLOAT_RANGE = errors.err("min or max is not a float")
NOT_A_LEX_RANGE = errors.err("min or max not valid string range item")
OUT_OF_RANGE = errors.err("value is out of range")
RANDMEMBER_RANGE = errors.err(
    "value is out of range, value must between -9223372036854775807 and 9223372036854775807")
SIDES = (b"min", b"max")
LIMIT_NEEDS_BY = errors.err(
    "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
WITHSCORES_BYLEX = errors.err("syntax error, WITHSCORES not supported in combination with BYLEX")
NX_AND_XX = errors.err("XX and NX options at the same time are not compatible")
GT_LT_NX = errors.err("GT, LT, and/or NX options at the same time are not compatible")
INCR_PAIR = errors.err("INCR option supports a single increment-element pair")

GROUP = "sorted-set"
_RANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                     "number of elements returned.")
_BY_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the number "
                  "of elements being returned. If M is constant (e.g. always asking for the first 10 "
                  "elements with LIMIT), you can consider it O(log(N)).")
_REMRANGE_COMPLEXITY = ("O(log(N)+M) with N being the number of elements in the sorted set and M the "
                        "number of elements removed by the operation.")
_LIMIT = "[LIMIT (offset:integer count:integer)]"


# -- the value ----------------------------------------------------------------------
class ZSet(dict):
    """member -> score, and `order`: the (score, member) pairs in Redis's order."""
    __slots__ = ("order", "skiplist")

    def __init__(self, skiplist: bool = False):
        dict.__init__(self)
        self.order = SortedList()
        self.skiplist = skiplist      # sticky: set when a write crosses a listpack threshold

    def insert(self, member: bytes, score: float):
        if not self.skiplist:
            score = score or 0.0      # a listpack stores -0 as the integer 0
        self[member] = score
        self.order.add((score, member))

    def rescore(self, member: bytes, old: float, new: float):
        if not self.skiplist:
            new = new or 0.0
        self.order.remove((old, member))
        self[member] = new
        self.order.add((new, member))

    def remove(self, member: bytes) -> bool:
        score = self.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def remove_range(self, start: int, stop: int) -> list:
        """Remove the pairs at ranks start .. stop-1; returns them."""
        if stop - start == 1:             # ZPOPMIN / ZPOPMAX of one: SortedList.pop is cheaper
            pair = self.order.pop(start)
            del self[pair[1]]
            return [pair]
        pairs = self.order[start:stop]
        del self.order[start:stop]
        for _, member in pairs:
            del self[member]
        return pairs

    def fill(self, pairs: list):
        """Load (score, member) pairs of distinct members into an empty set."""
        if not self.skiplist:
            pairs = [(score or 0.0, member) for score, member in pairs]
        dict.update(self, ((member, score) for score, member in pairs))
        self.order.update(pairs)

    def rank(self, member: bytes) -> int | None:
        score = self.get(member)
        return None if score is None else self.order.bisect_left((score, member))

    def members_by_rank(self) -> list:
        return [member for _, member in self.order]


def _duplicate(zset: ZSet) -> ZSet:
    copy = ZSet(zset.skiplist)        # COPY keeps the encoding (zsetDup)
    dict.update(copy, zset)
    copy.order.update(zset.order)
    return copy


register_type(ZSet, "zset", lambda zset: "skiplist" if zset.skiplist else "listpack", _duplicate)


def _limits(client) -> tuple[int, int]:
    config = client.state.config
    return config["zset-max-listpack-entries"], config["zset-max-listpack-value"]


def stored(client, pairs: list) -> ZSet:
    """The set a *STORE builds from distinct (score, member) pairs: listpack when it is small
    enough (zsetConvertToListpackIfNeeded)."""
    entries, value = _limits(client)
    small = len(pairs) <= entries and all(len(member) <= value for _, member in pairs)
    zset = ZSet(skiplist=not small)
    zset.fill(pairs)
    return zset


# -- parsing scores and ranges ------------------------------------------------------------
_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_INFINITY = re.compile(rb"[+-]?(?:inf|infinity)", re.IGNORECASE)
_SPACES = b" \t\n\v\f\r"


def _strtod(text: bytes):
    """glibc strtod over the whole text: (value, erange) or None if it is not all one number.
    `erange` is set for overflow (±inf) and for underflow to zero."""
    if text.isdigit():                    # the common case: an unsigned integer
        value = float(text)
        return value, isinf(value)
    if _DECIMAL.fullmatch(text):
        value = float(text)
        if value == 0:
            mantissa = text.split(b"e")[0].split(b"E")[0]
            return value, bool(mantissa.strip(b"+-.0"))
        return value, isinf(value)
    match = _HEX.fullmatch(text)
    if match:
        try:
            value = float.fromhex(text.decode())
        except OverflowError:
            return (float("-inf") if match[1] == b"-" else float("inf")), True
        return value, value == 0 and bool(match[2].strip(b".0"))
    if _INFINITY.fullmatch(text):
        return float(text), False
    return None


def parse_score(raw: bytes, error: errors.RedisError = errors.NOT_FLOAT) -> float:
    """A score, increment or weight as Redis's string2d() reads it: the whole string is one
    number, no spaces, no NaN, no overflow or underflow."""
    parsed = _strtod(raw)
    if parsed is None or parsed[1]:
        raise error
    return parsed[0]


def _range_bound(raw: bytes):
    """A ZRANGEBYSCORE bound as zslParseRange() reads it (strtod on the C string: leading
    spaces skipped, "" is 0, overflow is ±inf). Returns (value, exclusive)."""
    text = cstr(raw)
    exclusive = text[:1] == b"("
    if exclusive:
        text = text[1:]
    if not text:
        return 0.0, exclusive
    parsed = _strtod(text.lstrip(_SPACES))
    if parsed is None:
        raise NOT_A_FLOAT_RANGE
    return parsed[0], exclusive


class _Top:
    """Sorts after every member: (score, TOP) is past all pairs with that score."""
    __slots__ = ()

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return True

    def __eq__(self, other):
        return other is self

    __hash__ = object.__hash__


TOP = _Top()


def _score_span(zset: ZSet, low_bound: tuple, high_bound: tuple) -> tuple[int, int]:
    """The ranks [lo, hi) of the scores between two parsed bounds (value, exclusive)."""
    (low, low_ex), (high, high_ex) = low_bound, high_bound
    order = zset.order
    lo = order.bisect_left((low, TOP) if low_ex else (low,))
    hi = order.bisect_left((high,)) if high_ex else order.bisect_right((high, TOP))
    return lo, max(lo, hi)


def _score_range(argv_min: bytes, argv_max: bytes):
    return _range_bound(argv_min), _range_bound(argv_max)


# Lex bounds: a member (bytes) with its exclusiveness, or the "-" / "+" sentinels.
MIN_STRING, MAX_STRING = "-", "+"


def _lex_bound(raw: bytes):
    first = raw[:1]
    if first in (b"+", b"-"):
        if raw[1:2] not in (b"", b"\0"):      # Redis checks c[1] == '\0'
            raise NOT_A_LEX_RANGE
        return (MAX_STRING if first == b"+" else MIN_STRING), True
    if first in (b"(", b"["):
        return raw[1:], first == b"("
    raise NOT_A_LEX_RANGE


def _lex_range(argv_min: bytes, argv_max: bytes):
    return _lex_bound(argv_min), _lex_bound(argv_max)


def _lex_cmp(a, b) -> int:
    """sdscmplex(): the sentinels sort before / after every string."""
    if a is b:
        return 0
    if a is MIN_STRING or b is MAX_STRING:
        return -1
    if a is MAX_STRING or b is MIN_STRING:
        return 1
    return (a > b) - (a < b)


def _gte_min(spec):
    (low, low_ex), _ = spec
    if low_ex:
        return lambda member: _lex_cmp(member, low) > 0
    return lambda member: _lex_cmp(member, low) >= 0


def _lte_max(spec):
    _, (high, high_ex) = spec
    if high_ex:
        return lambda member: _lex_cmp(member, high) < 0
    return lambda member: _lex_cmp(member, high) <= 0


def _scan(zset: ZSet, start: int, pred, step: int) -> int:
    """From rank `start`, moving by `step` (1 or -1): the first rank where pred(member) is
    False (len or -1 past the end). A listpack is walked, as Redis walks it; a skiplist
    is binary searched, which is the same answer when pred flips only once."""
    order, n = zset.order, len(zset.order)
    if not zset.skiplist:
        i = start
        while 0 <= i < n and pred(order[i][1]):
            i += step
        return i
    if step > 0:
        lo, hi = start, n                   # pred holds before lo; fails from hi
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(order[mid][1]):
                lo = mid + 1
            else:
                hi = mid
        return lo
    lo, hi = -1, start                      # pred fails at lo; holds after hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pred(order[mid][1]):
            hi = mid - 1
        else:
            lo = mid
    return lo


def _lex_first(zset: ZSet, spec, reverse: bool):
    """zzlFirstInLexRange / zzlLastInLexRange: the rank where a lex range starts, or None."""
    (low, low_ex), (high, high_ex) = spec
    cmp = _lex_cmp(low, high)
    if cmp > 0 or (cmp == 0 and (low_ex or high_ex)) or not zset:
        return None
    order, gte_min, lte_max = zset.order, _gte_min(spec), _lte_max(spec)
    if not gte_min(order[-1][1]) or not lte_max(order[0][1]):
        return None
    if reverse:
        rank = _scan(zset, len(order) - 1, lambda member: not lte_max(member), -1)
        return rank if rank >= 0 and gte_min(order[rank][1]) else None
    rank = _scan(zset, 0, lambda member: not gte_min(member), 1)
    return rank if rank < len(order) and lte_max(order[rank][1]) else None


def _lex_window(zset: ZSet, spec, reverse: bool, offset: int = 0, limit: int = -1) -> list:
    """The pairs of a lex range in reply order, after LIMIT offset count."""
    start = _lex_first(zset, spec, reverse)
    if start is None or offset < 0:
        return []
    order = zset.order
    if reverse:
        first = start - offset
        if first < 0:
            return []
        end = _scan(zset, first, _gte_min(spec), -1)          # exclusive, below first
        if limit >= 0:
            end = max(end, first - limit)
        return order[end + 1:first + 1][::-1]
    first = start + offset
    if first >= len(order):
        return []
    end = _scan(zset, first, _lte_max(spec), 1)
    if limit >= 0:
        end = min(end, first + limit)
    return order[first:end]


def _window(order, lo: int, hi: int, offset: int, limit: int, reverse: bool) -> list:
    """Ranks [lo, hi) in reply order, after LIMIT offset count (a negative offset skips
    everything in Redis; a negative count means all)."""
    if offset < 0:
        return []
    if reverse:
        stop = hi - offset
        start = lo if limit < 0 else max(lo, stop - limit)
        return order[start:stop][::-1] if start < stop else []
    start = lo + offset
    stop = hi if limit < 0 else min(hi, start + limit)
    return order[start:stop] if start < stop else []


def _rank_window(order, start: int, end: int, reverse: bool) -> list:
    n = len(order)
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    if start > end or start >= n:
        return []
    end = min(end, n - 1)
    if reverse:
        return order[n - 1 - end:n - start][::-1]
    return order[start:end + 1]


# -- replies -------------------------------------------------------------------------------
def with_scores(pairs, nested: bool) -> list:
    """(score, member) pairs as members with their scores: a flat array, or [member, score]
    pairs when `nested`."""
    if nested:
        return [[member, Double(score)] for score, member in pairs]
    out = []
    for score, member in pairs:
        out.append(member)
        out.append(Double(score))
    return out


def scored(client, pairs, withscores: bool) -> list:
    """(score, member) pairs as a range replies them: members, or with scores a flat array
    (RESP2) or [member, score] pairs (RESP3)."""
    if not withscores:
        return [member for _, member in pairs]
    return with_scores(pairs, client.resp > 2)


def mpop_reply(key: bytes, pairs: list) -> list:
    """ZMPOP's (and BZMPOP's) reply: [key, [[member, score], ...]] in RESP2 and RESP3."""
    return [key, with_scores(pairs, nested=True)]


def _scan_score(zset: ZSet, score: float) -> bytes:
    """ZSCAN answers the score as a string: in a listpack an integral score (up to 2**62)
    is stored as an integer and printed in full (double2ll)."""
    if not zset.skiplist and -4611686018427387904.0 <= score <= 4611686018427387904.0 \
            and score == int(score):
        return b"%d" % score
    return format_double(score)


# -- ZADD, ZINCRBY -----------------------------------------------------------------------------
ADDED, UPDATED, NOP = 1, 2, 4


def _zadd_one(zset: ZSet, member: bytes, score: float, options: tuple, limits) -> tuple[int, float]:
    """zsetAdd(): (outcome, new score) for one member under options (INCR, NX, XX, GT, LT)."""
    incr, nx, xx, gt, lt = options
    current = zset.get(member)
    if current is not None:
        if nx:
            return NOP, score
        if incr:
            score += current
            if score != score:
                raise NAN_SCORE
        if (lt and score >= current) or (gt and score <= current):
            return NOP, score
        if score != current:
            zset.rescore(member, current, score)
            return UPDATED, score
        return 0, score
    if xx:
        return NOP, score
    entries, value = limits
    if not zset.skiplist and (len(zset) + 1 > entries or len(member) > value):
        zset.skiplist = True
    zset.insert(member, score)
    return ADDED, score


_ZADD_OPTIONS = {b"incr": 1, b"nx": 2, b"xx": 4, b"gt": 8, b"lt": 16}


def _zadd(client, argv, flags: int):
    if len(argv) == 4 and not flags and not argv[2][:1].isalpha():   # no option word (nor inf)
        return _zadd_plain(client, argv)
    ch, i = False, 2
    while i < len(argv):
        option = cstr(argv[i]).lower()
        if option == b"ch":
            ch = True
        elif option in _ZADD_OPTIONS:
            flags |= _ZADD_OPTIONS[option]
        else:
            break
        i += 1
    options = incr, nx, xx, gt, lt = tuple(bool(flags & bit) for bit in (1, 2, 4, 8, 16))
    elements = len(argv) - i
    if elements % 2 or not elements:
        raise errors.SYNTAX
    if nx and xx:
        raise NX_AND_XX
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise GT_LT_NX
    if incr and elements > 2:
        raise INCR_PAIR
    scores = [parse_score(argv[j]) for j in range(i, len(argv), 2)]
    db, key = client.db, argv[1]
    zset = db.get_typed(key, ZSet)
    added = updated = processed = 0
    score = None
    if zset is None and not xx:
        entries, value = _limits(client)
        zset = ZSet(skiplist=entries == 0 or value < len(argv[i + 1]))
        db.set(key, zset)
    if zset is not None:
        limits = _limits(client)
        for n, score in enumerate(scores):   # only INCR can fail (NaN), and it has one pair
            outcome, score = _zadd_one(zset, argv[i + 1 + 2 * n], score, options, limits)
            added += outcome == ADDED
            updated += outcome == UPDATED
            processed += outcome != NOP
        if added or updated:
            client.log(argv)
    if incr:
        return Double(score) if processed else None
    return added + updated if ch else added


def _zadd_plain(client, argv):
    """`ZADD key score member`, the common form, without the option machinery."""
    key, member = argv[1], argv[3]
    score = parse_score(argv[2])
    db = client.db
    zset = db.get_typed(key, ZSet)
    entries, value = _limits(client)
    if zset is None:
        zset = ZSet(skiplist=entries == 0 or value < len(member))
        db.set(key, zset)
    current = zset.get(member)
    if current is None:
        if not zset.skiplist and (len(zset) + 1 > entries or len(member) > value):
            zset.skiplist = True
        zset.insert(member, score)
        client.log(argv)
        return 1
    if score != current:
        zset.rescore(member, current, score)
        client.log(argv)
    return 0


@command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW UPDATE", 1),),
         summary="Add one or more members to a sorted set, or update its score if it already exists",
         since="1.2.0",
         complexity="O(log(N)) for each item added, where N is the number of elements in the sorted set.",
         syntax="key [NX | XX] [GT | LT] [CH] [INCR] (score:double member) [(score:double member) ...]")
def zadd(client, argv):
    return _zadd(client, argv, 0)


@command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group=GROUP,
         summary="Increment the score of a member in a sorted set", since="1.2.0",
         complexity="O(log(N)) where N is the number of elements in the sorted set.",
         syntax="key increment:integer member")
def zincrby(client, argv):
    return _zadd(client, argv, 1)     # zaddGenericCommand with INCR: "ZINCRBY k nx m" is a syntax error


# -- reading members and scores ------------------------------------------------------------------
@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RO", 1),),
         summary="Get the number of members in a sorted set", since="1.2.0", complexity="O(1)",
         syntax="key")
def zcard(client, argv):
    zset = client.db.get_typed(argv[1], ZSet)
    return 0 if zset is None else len(zset)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Get the score associated with the given member in a sorted set", since="1.2.0",
         complexity="O(1)", syntax="key member")
def zscore(client, argv):
    zset = client.db.get_typed(argv[1], ZSet)
    score = None if zset is None else zset.get(argv[2])
    return None if score is None else Double(score)


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Get the score associated with the given members in a sorted set", since="6.2.0",
         complexity="O(N) where N is the number of members being requested.", syntax="key member [member ...]")
def zmscore(client, argv):
    zset = client.db.get_typed(argv[1], ZSet) or {}
    scores = [zset.get(member) for member in argv[2:]]
    return [None if score is None else Double(score) for score in scores]


def _rank(client, argv, reverse: bool):
    zset = client.db.get_typed(argv[1], ZSet)
    rank = None if zset is None else zset.rank(argv[2])
    if rank is None:
        return None
    return len(zset) - 1 - rank if reverse else rank


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Determine the index of a member in a sorted set", since="2.0.0", complexity="O(log(N))",
         syntax="key member")
def zrank(client, argv):
    return _rank(client, argv, reverse=False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Determine the index of a member in a sorted set, with scores ordered from high to low",
         since="2.0.0", complexity="O(log(N))", syntax="key member")
def zrevrank(client, argv):
    return _rank(client, argv, reverse=True)


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Count the members in a sorted set with scores within the given values", since="2.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key min:double max:double")
def zcount(client, argv):
    bounds = _score_range(argv[2], argv[3])
    zset = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return 0
    lo, hi = _score_span(zset, *bounds)
    return hi - lo


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group=GROUP,
         summary="Count the number of members in a sorted set between a given lexicographical range",
         since="2.8.9", complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key min max")
def zlexcount(client, argv):
    spec = _lex_range(argv[2], argv[3])
    zset = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return 0
    start = _lex_first(zset, spec, reverse=False)
    return 0 if start is None else _scan(zset, start, _lte_max(spec), 1) - start


# -- ZRANGE and its variants -----------------------------------------------------------------------
RANK, SCORE, LEX = "rank", "score", "lex"


def _zrange(client, argv, first: int, store: bool, by=None, reverse=None):
    """zrangeGenericCommand(): the pairs a Z*RANGE* selects, in reply order, whether scores
    were asked for, and the kind of range. `by` / `reverse` are fixed by the legacy
    commands, None for ZRANGE."""
    withscores, offset, limit = False, 0, -1
    j, n = first + 3, len(argv)
    while j < n:
        option = cstr(argv[j]).lower()
        if not store and option == b"withscores":
            withscores = True
        elif option == b"limit" and n - j - 1 >= 2:
            offset, limit = parse_int(argv[j + 1]), parse_int(argv[j + 2])
            j += 2
        elif reverse is None and option == b"rev":
            reverse = True
        elif by is None and option in (b"bylex", b"byscore"):
            by = LEX if option == b"bylex" else SCORE
        else:
            raise errors.SYNTAX
        j += 1
    reverse, by = bool(reverse), by or RANK
    if limit != -1 and by is RANK:
        raise LIMIT_NEEDS_BY
    if withscores and by is LEX:
        raise WITHSCORES_BYLEX
    low, high = argv[first + 1], argv[first + 2]
    if reverse and by is not RANK:
        low, high = high, low             # given as max, min
    if by is RANK:
        spec = parse_int(low), parse_int(high)
    elif by is SCORE:
        spec = _score_range(low, high)
    else:
        spec = _lex_range(low, high)
    zset = client.db.get(argv[first])
    if zset is None:
        pairs = []
    elif type(zset) is not ZSet:
        raise errors.WRONGTYPE
    elif by is RANK:
        pairs = _rank_window(zset.order, *spec, reverse)
    elif by is SCORE:
        pairs = _window(zset.order, *_score_span(zset, *spec), offset, limit, reverse)
    else:
        pairs = _lex_window(zset, spec, reverse, offset, limit)
    return pairs, withscores, by


def _reply_range(client, argv, by=None, reverse=None):
    pairs, withscores, _ = _zrange(client, argv, 1, False, by, reverse)
    return scored(client, pairs, withscores)


@command("zrange", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Return a range of members in a sorted set", since="1.2.0",
         complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M the number "
                     "of elements returned."),
         syntax=f"key start stop [BYSCORE | BYLEX] [REV] {_LIMIT} [WITHSCORES]")
def zrange(client, argv):
    return _reply_range(client, argv)


@command("zrevrange", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Return a range of members in a sorted set, by index, with scores ordered from high to low",
         since="1.2.0", complexity=_RANGE_COMPLEXITY, doc_flags="deprecated",
         syntax="key start:integer stop:integer [WITHSCORES]")
def zrevrange(client, argv):
    return _reply_range(client, argv, RANK, True)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Return a range of members in a sorted set, by score", since="1.0.5",
         complexity=_BY_COMPLEXITY, doc_flags="deprecated",
         syntax=f"key min:double max:double [WITHSCORES] {_LIMIT}")
def zrangebyscore(client, argv):
    return _reply_range(client, argv, SCORE, False)


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Return a range of members in a sorted set, by score, with scores ordered from high to low",
         since="2.2.0", complexity=_BY_COMPLEXITY, doc_flags="deprecated",
         syntax=f"key max:double min:double [WITHSCORES] {_LIMIT}")
def zrevrangebyscore(client, argv):
    return _reply_range(client, argv, SCORE, True)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Return a range of members in a sorted set, by lexicographical range", since="2.8.9",
         complexity=_BY_COMPLEXITY, doc_flags="deprecated", syntax=f"key min max {_LIMIT}")
def zrangebylex(client, argv):
    return _reply_range(client, argv, LEX, False)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1), group=GROUP,
         summary=("Return a range of members in a sorted set, by lexicographical range, ordered from "
                  "higher to lower strings."),
         since="2.8.9", complexity=_BY_COMPLEXITY, doc_flags="deprecated", syntax=f"key max min {_LIMIT}")
def zrevrangebylex(client, argv):
    return _reply_range(client, argv, LEX, True)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), group=GROUP,
         key_specs=(("OW UPDATE", 1), ("RO ACCESS", 2)),
         summary="Store a range of members from sorted set into another key", since="6.2.0",
         complexity=("O(log(N)+M) with N being the number of elements in the sorted set and M the number "
                     "of elements stored into the destination key."),
         syntax=f"dst:key src:key min max [BYSCORE | BYLEX] [REV] {_LIMIT}")
def zrangestore(client, argv):
    pairs, _, by = _zrange(client, argv, 2, True)
    db, dst = client.db, argv[1]
    if not pairs:
        if db.delete(dst):
            client.log(argv)
        return 0
    # Redis adds the pairs one by one (zsetAdd) to a new set: a skiplist when a range by rank
    # is known to be too long, else a listpack that converts once it fills up. The pairs
    # added to the listpack have a -0 score stored as 0.
    entries, value = _limits(client)
    if by is RANK and len(pairs) > entries:
        convert_at = 0
    else:
        convert_at = next((i for i, (_, member) in enumerate(pairs) if i >= entries or len(member) > value),
                          len(pairs))
    zset = ZSet(skiplist=convert_at < len(pairs))
    zset.fill([(score or 0.0, member) for score, member in pairs[:convert_at]] + pairs[convert_at:])
    db.set(dst, zset)
    client.log(argv)
    return len(pairs)


# -- removing -------------------------------------------------------------------------------------
def _delete_if_empty(client, key: bytes, zset: ZSet):
    if not zset:
        client.db.delete(key)


@command("zrem", -3, "write fast", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW DELETE", 1),),
         summary="Remove one or more members from a sorted set", since="1.2.0",
         complexity=("O(M*log(N)) with N being the number of elements in the sorted set and M the number "
                     "of elements to be removed."),
         syntax="key member [member ...]")
def zrem(client, argv):
    zset = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return 0
    deleted = 0
    for member in argv[2:]:
        deleted += zset.remove(member)
        if not zset:
            break
    _delete_if_empty(client, argv[1], zset)
    if deleted:
        client.log(argv)
    return deleted


def _remove_range(client, argv, span):
    """Remove ranks [lo, hi) given by span(zset); log and reply the count."""
    key = argv[1]
    zset = client.db.get_typed(key, ZSet)
    if zset is None:
        return 0
    lo, hi = span(zset)
    if lo >= hi:
        return 0
    zset.remove_range(lo, hi)
    _delete_if_empty(client, key, zset)
    client.log(argv)
    return hi - lo


def _rank_span(start: int, end: int):
    def span(zset):
        n = len(zset)
        lo, hi = start + n if start < 0 else start, end + n if end < 0 else end
        lo = max(lo, 0)
        return (0, 0) if lo > hi or lo >= n else (lo, min(hi, n - 1) + 1)
    return span


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW DELETE", 1),),
         summary="Remove all members in a sorted set within the given indexes", since="2.0.0",
         complexity=_REMRANGE_COMPLEXITY, syntax="key start:integer stop:integer")
def zremrangebyrank(client, argv):
    return _remove_range(client, argv, _rank_span(parse_int(argv[2]), parse_int(argv[3])))


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW DELETE", 1),),
         summary="Remove all members in a sorted set within the given scores", since="1.2.0",
         complexity=_REMRANGE_COMPLEXITY, syntax="key min:double max:double")
def zremrangebyscore(client, argv):
    bounds = _score_range(argv[2], argv[3])
    return _remove_range(client, argv, lambda zset: _score_span(zset, *bounds))


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW DELETE", 1),),
         summary="Remove all members in a sorted set between the given lexicographical range",
         since="2.8.9", complexity=_REMRANGE_COMPLEXITY, syntax="key min max")
def zremrangebylex(client, argv):
    spec = _lex_range(argv[2], argv[3])

    def span(zset):
        start = _lex_first(zset, spec, reverse=False)
        return (0, 0) if start is None else (start, _scan(zset, start, _lte_max(spec), 1))
    return _remove_range(client, argv, span)


# -- popping ----------------------------------------------------------------------------------------
def pop(client, key: bytes, maximum: bool, count: int) -> list | None:
    """Pop up to `count` members with the lowest (or highest) scores from the sorted set at
    key: the (score, member) pairs, None when the key is missing (WRONGTYPE for another
    type). Logs `ZPOPMIN|ZPOPMAX key count` and deletes the key once empty."""
    zset = client.db.get_typed(key, ZSet)
    if zset is None:
        return None
    n = len(zset)
    count = min(count, n)
    if count <= 0:
        return []
    pairs = zset.remove_range(n - count, n)[::-1] if maximum else zset.remove_range(0, count)
    _delete_if_empty(client, key, zset)
    client.log([b"ZPOPMAX" if maximum else b"ZPOPMIN", key, b"%d" % count])
    return pairs


def _zpop(client, argv, maximum: bool):
    if len(argv) > 3:
        raise errors.SYNTAX
    count = parse_count(argv[2], errors.NOT_POSITIVE) if len(argv) == 3 else None
    pairs = pop(client, argv[1], maximum, 1 if count is None else count)
    return with_scores(pairs or [], nested=client.resp > 2 and count is not None)


_POP_COMPLEXITY = ("O(log(N)*M) with N being the number of elements in the sorted set, and M being the "
                   "number of elements popped.")


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Remove and return members with the lowest scores in a sorted set", since="5.0.0",
         complexity=_POP_COMPLEXITY, syntax="key [count:integer]")
def zpopmin(client, argv):
    return _zpop(client, argv, maximum=False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group=GROUP,
         key_specs=(("RW ACCESS DELETE", 1),),
         summary="Remove and return members with the highest scores in a sorted set", since="5.0.0",
         complexity=_POP_COMPLEXITY, syntax="key [count:integer]")
def zpopmax(client, argv):
    return _zpop(client, argv, maximum=True)


def first_zset(client, keys):
    """The first of keys that exists (WRONGTYPE if it is no sorted set), or None."""
    for key in keys:
        if client.db.get_typed(key, ZSet) is not None:
            return key
    return None


@command("zmpop", -4, "write movablekeys", group=GROUP, find_keys=numkeys_at(1),
         key_specs=(("RW ACCESS DELETE", 1, "keynum"),),
         summary="Remove and return members with scores in a sorted set", since="7.0.0",
         complexity=("O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of "
                     "elements in the sorted set, and M being the number of elements popped."),
         syntax="numkeys:integer key [key ...] (MIN | MAX) [COUNT count:integer]")
def zmpop(client, argv):
    keys, side, count = parse_mpop(argv, 1, SIDES)
    maximum = side == b"max"
    key = first_zset(client, keys)
    if key is None:
        return NULL_ARRAY
    return mpop_reply(key, pop(client, key, maximum, count))


# -- ZRANDMEMBER -------------------------------------------------------------------------------------
@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Get one or multiple random elements from a sorted set", since="6.2.0",
         complexity="O(N) where N is the number of elements returned",
         syntax="key [count:integer [WITHSCORES]]")
def zrandmember(client, argv):
    if len(argv) == 2:
        zset = client.db.get_typed(argv[1], ZSet)
        return None if zset is None else zset.order[random.randrange(len(zset))][1]
    count = to_int(argv[2])
    if count is None:
        raise errors.NOT_INTEGER
    if count < -INT64_MAX:
        raise RANDMEMBER_RANGE
    if len(argv) > 4 or (len(argv) == 4 and cstr(argv[3]).lower() != b"withscores"):
        raise errors.SYNTAX
    withscores = len(argv) == 4
    if withscores and not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:   # C's LONG_MAX/2
        raise OUT_OF_RANGE
    zset = client.db.get_typed(argv[1], ZSet)
    if zset is None or count == 0:
        return []
    order, n = zset.order, len(zset)
    if count < 0 or count == 1:        # repetitions allowed: independent picks, O(log n) each
        if -count > MAX_RANDOM_REPLY:
            raise RANDOM_TOO_LARGE
        pairs = [order[random.randrange(n)] for _ in range(abs(count))]
    elif count >= n:                   # the whole set, from the highest score (zuiNext's order)
        pairs = list(reversed(order))
    else:
        pairs = [order[i] for i in random.sample(range(n), count)]
    return scored(client, pairs, withscores)


# -- ZSCAN ----------------------------------------------------------------------------------------
@command("zscan", -3, "readonly", keys=(1, 1, 1), group=GROUP,
         summary="Incrementally iterate sorted sets elements and associated scores", since="2.8.0",
         complexity=("O(1) for every call. O(N) for a complete iteration, including enough command calls "
                     "for the cursor to return back to 0. N is the number of elements inside the "
                     "collection.."),
         syntax="key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]")
def zscan(client, argv):
    cursor = parse_cursor(argv[2])
    zset = client.db.get_typed(argv[1], ZSet)
    if zset is None:
        return [b"0", []]
    pattern, count, _ = parse_options(argv, 3, allow_type=False)
    if zset.skiplist:
        cursor, members = CURSORS.page(zset, zset, cursor, count)
    else:                              # a listpack is returned whole, in order, COUNT ignored
        cursor, members = 0, [member for _, member in zset.order]
    if pattern is not None:
        matches = glob.matcher(pattern)
        members = [member for member in members if matches(member)]
    out = []
    for member in members:
        out.append(member)
        out.append(_scan_score(zset, zset[member]))
    return [b"%d" % cursor, out]
