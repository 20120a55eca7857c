"""SCAN cursors over containers that Python cannot iterate across calls.

Redis walks its hash table's buckets in reverse-binary order, so a cursor is a bucket
index that survives rehashing. A Python dict (or set) has no buckets we can reach and
cannot be iterated across calls while it changes, so a scan that needs more than one
call takes a snapshot instead: at cursor 0, the tuple of the container's keys. The
cursor we hand out names the snapshot and a position in it; each call walks the
snapshot from there, skipping keys that are gone. This keeps Redis's guarantee: a key
present for the whole iteration is returned (once, here); a key added meanwhile may or
may not be; a key deleted meanwhile is not returned after its deletion.

The snapshots live in a bounded table (least recently used evicted first). A cursor
whose snapshot was evicted (or that we never issued) continues on a fresh snapshot:
dict order is insertion order, so keys that survived keep their relative order and can
only have moved left. The cursor carries a 15-bit check of the last key it visited, and
we resume right after that key when it is still there; when it was deleted meanwhile,
we resume at the same position, which may skip as many surviving keys as were deleted
before it. That weaker guarantee applies only after eviction.

`page()` is generic: SCAN passes the db's dict, HSCAN/SSCAN/ZSCAN will pass their
dict or set with an owner of their own; callers apply MATCH, TYPE and expiry.
"""
from collections import OrderedDict

from engine import errors
from engine.parsing import to_int

INVALID_CURSOR = errors.err("invalid cursor")
ULONG_MAX = (1 << 64) - 1

_POS_SHIFT, _CHECK_SHIFT = 31, 16
_CHECK_MASK, _ID_MASK = (1 << 15) - 1, (1 << 16) - 1
_MAX_POS = (1 << 32) - 1          # cursors stay below 2**63: every client parses them
_SPACES = b" \t\n\v\f\r"


def parse_cursor(raw: bytes) -> int:
    """Redis's parseScanCursorOrReply(): strtoul() in base 10, so "" is 0, a sign is
    accepted (-1 wraps to 2**64-1), the text ends at a NUL, and leading space is refused."""
    text = raw.split(b"\0", 1)[0]
    if not text:
        return 0
    if text[0] in _SPACES:
        raise INVALID_CURSOR
    digits = text[1:] if text[0] in b"+-" else text
    if not digits.isdigit():
        raise INVALID_CURSOR
    value = int(digits)
    if value > ULONG_MAX:
        raise INVALID_CURSOR
    return (-value) & ULONG_MAX if text[0] == 45 else value


def parse_options(argv, start: int, allow_type: bool):
    """SCAN's MATCH / COUNT / TYPE options (TYPE only for SCAN itself), as scanGenericCommand()
    parses them: later ones win. Returns (pattern or None for "*", count, type or None)."""
    pattern, count, kind = None, 10, None
    i, n = start, len(argv)
    while i < n:
        option = argv[i].lower()
        if n - i < 2:
            raise errors.SYNTAX
        if option == b"count":
            count = to_int(argv[i + 1])
            if count is None:
                raise errors.NOT_INTEGER
            if count < 1:
                raise errors.SYNTAX
        elif option == b"match":
            pattern = None if argv[i + 1] == b"*" else argv[i + 1]
        elif option == b"type" and allow_type:
            kind = argv[i + 1]
        else:
            raise errors.SYNTAX
        i += 2
    return pattern, count, kind


class _Snapshot:
    __slots__ = ("owner", "keys")

    def __init__(self, owner, keys: tuple):
        self.owner, self.keys = owner, keys


def _check(key) -> int:
    return hash(key) & _CHECK_MASK


class Cursors:
    """The bounded table of scan snapshots, shared by every SCAN-like command."""

    def __init__(self, max_snapshots: int = 64, max_keys: int = 4_000_000):
        self.max_snapshots, self.max_keys = max_snapshots, max_keys
        self.snapshots: OrderedDict[int, _Snapshot] = OrderedDict()
        self.total_keys = 0
        self.next_id = 1
        self.evicted = 0

    def page(self, owner, container, cursor: int, count: int) -> tuple[int, list]:
        """(next cursor, up to about `count` keys of `container` present now, from `cursor` on).

        `owner` identifies what is scanned (the Database for SCAN, (db, key) for HSCAN …):
        a cursor is only resumed on a snapshot of the same owner.
        """
        if cursor == 0:
            if len(container) <= count:
                return 0, list(container)
            ident, pos = self._take(owner, container), 0
            snapshot = self.snapshots[ident]
        else:
            ident, snapshot, pos = self._resume(owner, container, cursor)
        keys, out = snapshot.keys, []
        end, budget = len(keys), count * 10     # Redis also stops after count*10 empty buckets
        while pos < end and len(out) < count and budget:
            key = keys[pos]
            pos += 1
            budget -= 1
            if key in container:
                out.append(key)
        if pos >= end:
            self._drop(ident)
            return 0, out
        return (pos << _POS_SHIFT) | (_check(keys[pos - 1]) << _CHECK_SHIFT) | ident, out

    def _resume(self, owner, container, cursor: int):
        ident = cursor & _ID_MASK
        check = (cursor >> _CHECK_SHIFT) & _CHECK_MASK
        pos = min(cursor >> _POS_SHIFT, _MAX_POS)
        snapshot = self.snapshots.get(ident)
        if (snapshot is not None and snapshot.owner is owner and 0 < pos <= len(snapshot.keys)
                and _check(snapshot.keys[pos - 1]) == check):
            self.snapshots.move_to_end(ident)
            return ident, snapshot, pos
        # Not ours, or evicted: continue on a fresh snapshot, right after the last key
        # visited if it is still there (surviving keys only move left).
        ident = self._take(owner, container)
        snapshot = self.snapshots[ident]
        keys = snapshot.keys
        pos = min(pos, len(keys))
        for j in range(pos - 1, -1, -1):
            if _check(keys[j]) == check:
                return ident, snapshot, j + 1
        return ident, snapshot, pos

    def _take(self, owner, container) -> int:
        ident = self.next_id
        self.next_id = ident % _ID_MASK + 1          # 1 .. 65535: a cursor is never 0
        self._drop(ident)
        keys = tuple(container)
        self.snapshots[ident] = _Snapshot(owner, keys)
        self.total_keys += len(keys)
        while len(self.snapshots) > 1 and (len(self.snapshots) > self.max_snapshots
                                           or self.total_keys > self.max_keys):
            oldest = next(iter(self.snapshots))
            self._drop(oldest)
            self.evicted += 1
        return ident

    def _drop(self, ident: int):
        snapshot = self.snapshots.pop(ident, None)
        if snapshot is not None:
            self.total_keys -= len(snapshot.keys)

    def clear(self):
        self.snapshots.clear()
        self.total_keys = 0


CURSORS = Cursors()
