"""Substring commands: GETRANGE (and its old name SUBSTR), SETRANGE, LCS."""
from engine import errors
from engine.commands.strings import check_length, raw_string
from engine.keyspace import STRINGS
from engine.parsing import cstr, parse_int
from engine.registry import command
from engine.replies import Map

_RANGE_COMPLEXITY = (
    "O(N) where N is the length of the returned string. The complexity is ultimately determined by "
    "the returned length, but because creating a substring from an existing string is very cheap, "
    "it can be considered O(1) for small strings.")


@command("getrange", 4, "readonly", keys=(1, 1, 1), group="string",
         summary="Get a substring of the string stored at a key", since="2.4.0",
         complexity=_RANGE_COMPLEXITY, syntax="key start:integer end:integer")
def getrange(client, argv):
    start, end = parse_int(argv[2]), parse_int(argv[3])
    value = client.db.get_string(argv[1])
    if not value or (start < 0 and end < 0 and start > end):
        return b""
    size = len(value)
    if start < 0:
        start = max(size + start, 0)
    if end < 0:
        end = max(size + end, 0)
    end = min(end, size - 1)
    return value[start:end + 1] if start <= end else b""


@command("substr", 4, "readonly", keys=(1, 1, 1), group="string",
         summary="Get a substring of the string stored at a key", since="1.0.0",
         complexity=_RANGE_COMPLEXITY, syntax="key start:integer end:integer", doc_flags="deprecated")
def substr(client, argv):
    return getrange(client, argv)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), group="string",
         key_specs=(("RW UPDATE", 1),),
         summary="Overwrite part of a string at key starting at the specified offset", since="2.2.0",
         complexity="O(1), not counting the time taken to copy the new string in place. Usually, this "
                    "string is very small so the amortized complexity is O(1). Otherwise, complexity "
                    "is O(M) with M being the length of the value argument.",
         syntax="key offset:integer value")
def setrange(client, argv):
    db, key, patch = client.db, argv[1], argv[3]
    offset = parse_int(argv[2])
    if offset < 0:
        raise errors.err("offset is out of range")
    old = db.get_string(key)
    if not patch:
        return 0 if old is None else len(old)
    check_length(client, offset + len(patch))
    if old is None:
        new = bytearray(offset)
        db.set(key, new)
    else:
        new = raw_string(db, key, old)   # Redis writes (and makes it raw) even if nothing changes
        if len(new) < offset:
            new.extend(bytes(offset - len(new)))
    new[offset:offset + len(patch)] = patch
    client.log(argv)
    return len(new)


# --- LCS ----------------------------------------------------------------------

@command("lcs", -3, "readonly", keys=(1, 2, 1), group="string",
         summary="Find longest common substring", since="7.0.0",
         complexity="O(N*M) where N and M are the lengths of s1 and s2, respectively",
         syntax="key1:key key2:key [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]")
def lcs(client, argv):
    a, b = client.db.get(argv[1]), client.db.get(argv[2])
    if (a is not None and type(a) not in STRINGS) or (b is not None and type(b) not in STRINGS):
        raise errors.err("The specified keys must contain string values")
    a, b = a or b"", b or b""
    want_len = want_idx = with_len = False
    min_len, i = 0, 3
    while i < len(argv):
        opt = cstr(argv[i]).upper()
        if opt == b"IDX":
            want_idx = True
        elif opt == b"LEN":
            want_len = True
        elif opt == b"WITHMATCHLEN":
            with_len = True
        elif opt == b"MINMATCHLEN" and i + 1 < len(argv):
            min_len = max(parse_int(argv[i + 1]), 0)
            i += 1
        else:
            raise errors.SYNTAX
        i += 1
    if want_idx and want_len:
        raise errors.err("If you want both the length and indexes, please just use IDX.")
    # Redis allocates an (|a|+1)*(|b|+1) table of uint32 and refuses it past proto-max-bulk-len;
    # the bit-parallel table here is 32 times smaller, but the limit stays Redis's.
    if (len(a) + 1) * (len(b) + 1) * 4 > client.state.config["proto-max-bulk-len"]:
        raise errors.err("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    rows = _lcs_rows(a, b, keep=not want_len or want_idx)
    length = len(b) - rows[-1].bit_count()
    if want_len and not want_idx:
        return length
    common, matches = _traceback(a, b, rows, length, min_len, with_len)
    if want_idx:
        return Map({b"matches": matches, b"len": length})
    return common


def _lcs_rows(a: bytes, b: bytes, keep: bool) -> list[int]:
    """Hyyrö's bit-vector LCS: row i is a bit vector V over b whose bit j is 0 exactly where
    LCS(a[:i], b[:j+1]) = LCS(a[:i], b[:j]) + 1, so LCS(i, j) = j - popcount(V_i & (2**j - 1))."""
    full = (1 << len(b)) - 1
    where = {}
    for j, ch in enumerate(b):
        where[ch] = where.get(ch, 0) | (1 << j)
    v, rows = full, [full]
    for ch in a:
        u = v & where.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        if keep:
            rows.append(v)
    if not keep:
        rows.append(v)
    return rows


def _traceback(a, b, rows, length, min_len, with_len):
    """Walk back from (|a|, |b|) exactly as Redis does, collecting the LCS and its match ranges."""
    out = bytearray(length)
    matches = []
    i, j, k = len(a), len(b), length
    a_start = a_end = b_start = b_end = None
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[k - 1] = a[i - 1]
            if a_start is None:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            else:          # always contiguous: a mismatch step emits the range before
                a_start, b_start = a_start - 1, b_start - 1
            if a_start == 0 or b_start == 0:
                emit = True
            k, i, j = k - 1, i - 1, j - 1
        else:
            up = (j - (rows[i - 1] & ((1 << j) - 1)).bit_count())          # LCS(i-1, j)
            left = (j - 1 - (rows[i] & ((1 << (j - 1)) - 1)).bit_count())  # LCS(i, j-1)
            if up > left:
                i -= 1
            else:
                j -= 1
            emit = a_start is not None
        if emit:
            size = a_end - a_start + 1
            if min_len == 0 or size >= min_len:
                match = [[a_start, a_end], [b_start, b_end]]
                if with_len:
                    match.append(size)
                matches.append(match)
            a_start = None
    return bytes(out), matches
