"""Redis's glob matching (`stringmatchlen` in util.c), compiled to a regex once per pattern.

Used by KEYS, SCAN MATCH, and later CONFIG GET, PSUBSCRIBE and ACL. The pattern is
tokenized exactly as Redis walks it, quirks included:
- `*` matches any run of bytes, `?` one byte, `\\x` the byte x, a trailing `\\` itself;
- `[...]`: `^` negates, `\\x` is x (compared exactly, even with nocase), `a-z` is a range
  whose ends are swapped when reversed and compared as *signed* chars (as C's `char`
  is on x86: bytes >= 0x80 sort below 0x00), `]` closes; an unclosed `[` takes the rest of
  the pattern as its set (`[a` is `[a]`, `[^` matches any one byte, `[` matches nothing);
  `-` right before the closing `]` makes `]` a range end (`[a-]` is the range `]`..`a`);
- the empty string matches only the empty pattern (`*` does not match it);
- Redis gives up past 1000 nested `*` (CVE-2022-36021), so a pattern with more than
  1000 `*` runs that are not at its end matches nothing.

Each `*` between two segments compiles to an atomic `(?>.*?segment)`: segments are
fixed-width, so committing to a segment's leftmost occurrence never loses a match, and
matching stays O(len(pattern) * len(string)) like Redis's, with no regex backtracking blowup.
"""
import re
from functools import lru_cache
from typing import Callable

_STAR = None                 # the token of a `*` run; other tokens are sets of byte values
_ANY = frozenset(range(256))
_MAX_NESTING = 1000          # Redis's stringmatchlen_impl() returns 0 past this depth
_CACHE_SIZE = 1024
_CACHEABLE = 4096            # longer patterns are compiled for each call, not kept

_cache: dict[tuple[bytes, bool], Callable] = {}


def matcher(pattern: bytes, nocase: bool = False) -> Callable[[bytes], object]:
    """A function string -> truthy if `pattern` matches the whole string (Redis's rules)."""
    key = (pattern, nocase)
    found = _cache.get(key)
    if found is None:
        found = _compile(pattern, nocase)
        if len(pattern) <= _CACHEABLE:
            if len(_cache) >= _CACHE_SIZE:
                del _cache[next(iter(_cache))]   # oldest first: a bounded FIFO
            _cache[key] = found
    return found


def match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    return bool(matcher(pattern, nocase)(string))


def is_literal(pattern: bytes) -> bool:
    """True when the pattern has no special byte: it matches only itself (a direct lookup)."""
    return not (b"*" in pattern or b"?" in pattern or b"[" in pattern or b"\\" in pattern)


def _compile(pattern: bytes, nocase: bool) -> Callable[[bytes], object]:
    if is_literal(pattern):
        if nocase:
            lowered = pattern.lower()
            return lambda string: string.lower() == lowered
        return pattern.__eq__
    tokens = _tokenize(pattern, nocase)
    stars = tokens.count(_STAR) - (tokens[-1] is _STAR)
    if stars > _MAX_NESTING:
        return _never
    segments = [[]]
    for token in tokens:
        if token is _STAR:
            segments.append([])
        else:
            segments[-1].append(token)
    parts = [_segment(segments[0])]
    if len(segments) > 1:
        parts += ["(?>.*?%s)" % _segment(s) for s in segments[1:-1]]
        parts.append(".*" + _segment(segments[-1]))
    regex = "".join(parts)
    if all(token is _STAR for token in tokens):
        regex = ".+"                              # `*` does not match the empty string
    return re.compile(b"(?s)" + regex.encode("latin-1")).fullmatch


def _never(string: bytes) -> bool:
    return False


def _tokenize(p: bytes, nocase: bool) -> list:
    """The pattern's tokens as stringmatchlen_impl() consumes them."""
    tokens, i, n = [], 0, len(p)
    while i < n:
        c = p[i]
        if c == 42:                                   # '*': a run of stars is one token
            while i + 1 < n and p[i + 1] == 42:
                i += 1
            tokens.append(_STAR)
        elif c == 63:                                 # '?'
            tokens.append(_ANY)
        elif c == 91:                                 # '['
            members, i = _bracket(p, i, nocase)
            tokens.append(members)
        else:
            if c == 92 and n - i >= 2:                # '\x' is x; a trailing '\' is itself
                i += 1
                c = p[i]
            tokens.append(_literal(c, nocase))
        i += 1
    return tokens


def _bracket(p: bytes, i: int, nocase: bool) -> tuple[frozenset, int]:
    """The byte values a `[...]` at p[i] matches, and the index of its last byte."""
    n = len(p)
    i += 1
    negate = i < n and p[i] == 94                     # '^'
    if negate:
        i += 1
    members = set()
    while True:
        left = n - i                                  # Redis's patternLen at this point
        c = p[i] if i < n else 0                      # p[n] is the sds NUL terminator
        if c == 92 and left >= 2:                     # '\x' inside brackets: exact compare
            i += 1
            members.add(p[i])
        elif c == 93:                                 # ']'
            break
        elif left == 0:                               # unclosed: step back onto the last byte
            i -= 1
            break
        elif left >= 3 and p[i + 1] == 45:            # 'a-z'
            members.update(_range(p[i], p[i + 2], nocase))
            i += 2
        else:
            members.update(_literal(c, nocase))
        i += 1
    if negate:
        return _ANY - members, i
    return frozenset(members), i


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _lower(c: int) -> int:
    return c + 32 if 65 <= c <= 90 else c            # C locale tolower()


@lru_cache(maxsize=4096)
def _range(first: int, last: int, nocase: bool) -> frozenset:
    start, end = _signed(first), _signed(last)
    if start > end:
        start, end = end, start
    if nocase:                                        # Redis lowers the ends after swapping them
        start, end = _lower(start), _lower(end)
        return frozenset(b for b in range(256) if start <= _lower(_signed(b)) <= end)
    return frozenset(b for b in range(256) if start <= _signed(b) <= end)


@lru_cache(maxsize=1024)
def _literal(c: int, nocase: bool) -> frozenset:
    if nocase and (65 <= c <= 90 or 97 <= c <= 122):
        return frozenset((c | 32, c & ~32))
    return frozenset((c,))


def _segment(tokens: list) -> str:
    return "".join(_class(t) for t in tokens)


def _class(members: frozenset) -> str:
    if len(members) == 256:
        return "."
    if not members:
        return "(?!)"
    if len(members) == 1:
        return "\\x%02x" % next(iter(members))
    ranges, values = [], sorted(members)
    start = prev = values[0]
    for v in values[1:]:
        if v != prev + 1:
            ranges.append((start, prev))
            start = v
        prev = v
    ranges.append((start, prev))
    return "[%s]" % "".join("\\x%02x" % a if a == b else "\\x%02x-\\x%02x" % (a, b) for a, b in ranges)
