"""The blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.

Each one is its plain form (lists.pop, lists.move, zsets.pop …) when there is
something to take, and otherwise waits (engine.blocking.block) with a `serve`
function that takes from the key that became ready. What is logged is always
the plain form (LPOP, LMOVE, ZPOPMIN …), written by the functions underneath.
A timeout answers a null array, as Redis does for all of them.
"""
from engine.blocking import block, parse_timeout
from engine.commands import lists, zsets
from engine.commands.lists import ListValue, parse_where
from engine.commands.zsets import ZSet
from engine.parsing import parse_mpop
from engine.registry import command, numkeys_at
from engine.replies import Double


def _holds(client, key, cls) -> bool:
    """A ready key serves a waiter only when it holds the type the waiter pops (in Redis
    7.0 a waiter stays blocked when the key became another type)."""
    return type(client.db.get(key)) is cls


# -- lists ----------------------------------------------------------------------------
def _blocking_pop(client, argv, left: bool):
    timeout = parse_timeout(argv[-1])
    keys, db = argv[1:-1], client.db
    for key in keys:
        if db.get_typed(key, ListValue) is not None:
            return [key, lists.pop(client, key, left)]

    def serve(key):
        return [key, lists.pop(client, key, left)] if _holds(client, key, ListValue) else None

    return block(client, keys, timeout, serve)


@command("blpop", -3, "write blocking noscript", keys=(1, -2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1, -2),),
         summary="Remove and get the first element in a list, or block until one is available",
         since="2.0.0", complexity="O(N) where N is the number of provided keys.",
         syntax="key [key ...] timeout:double")
def blpop(client, argv):
    return _blocking_pop(client, argv, left=True)


@command("brpop", -3, "write blocking noscript", keys=(1, -2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1, -2),),
         summary="Remove and get the last element in a list, or block until one is available",
         since="2.0.0", complexity="O(N) where N is the number of provided keys.",
         syntax="key [key ...] timeout:double")
def brpop(client, argv):
    return _blocking_pop(client, argv, left=False)


def _blocking_move(client, src, dst, wherefrom: bool, whereto: bool, raw_timeout: bytes):
    timeout = parse_timeout(raw_timeout)
    if client.db.get_typed(src, ListValue) is not None:
        return lists.move(client, src, dst, wherefrom, whereto)

    def serve(key):   # a destination of another type is the waiter's WRONGTYPE, as in Redis
        return lists.move(client, src, dst, wherefrom, whereto) if _holds(client, key, ListValue) else None

    return block(client, [src], timeout, serve, cannot_wait=None)


@command("blmove", 6, "write denyoom blocking noscript", keys=(1, 2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1), ("RW INSERT", 2)),
         summary="Pop an element from a list, push it to another list and return it; or block until one "
                 "is available", since="6.2.0", complexity="O(1)",
         syntax="source:key destination:key (LEFT | RIGHT) (LEFT | RIGHT) timeout:double")
def blmove(client, argv):
    wherefrom, whereto = parse_where(argv[3]), parse_where(argv[4])
    return _blocking_move(client, argv[1], argv[2], wherefrom, whereto, argv[5])


@command("brpoplpush", 4, "write denyoom blocking noscript", keys=(1, 2, 1), group="list",
         key_specs=(("RW ACCESS DELETE", 1), ("RW INSERT", 2)),
         summary="Pop an element from a list, push it to another list and return it; or block until one "
                 "is available", since="2.2.0", complexity="O(1)",
         syntax="source:key destination:key timeout:double", doc_flags="deprecated")
def brpoplpush(client, argv):
    return _blocking_move(client, argv[1], argv[2], False, True, argv[3])


@command("blmpop", -5, "write blocking movablekeys", group="list",
         key_specs=(("RW ACCESS DELETE", 2, "keynum"),),
         find_keys=numkeys_at(2),
         summary="Pop elements from a list, or block until one is available", since="7.0.0",
         complexity="O(N+M) where N is the number of provided keys and M is the number of elements returned.",
         syntax="timeout:double numkeys:integer key [key ...] (LEFT | RIGHT) [COUNT count:integer]")
def blmpop(client, argv):
    keys, side, count = parse_mpop(argv, 2, lists.SIDES)
    left = side == b"left"
    timeout = parse_timeout(argv[1])
    reply = lists.mpop(client, keys, left, count)
    if reply is not None:
        return reply

    def serve(key):
        return lists.mpop_from(client, key, left, count) if _holds(client, key, ListValue) else None

    return block(client, keys, timeout, serve)


# -- sorted sets ------------------------------------------------------------------------
def _blocking_zpop(client, argv, maximum: bool):
    timeout = parse_timeout(argv[-1])
    keys = argv[1:-1]
    key = zsets.first_zset(client, keys)
    if key is not None:
        return _zpop_reply(key, zsets.pop(client, key, maximum, 1))

    def serve(key):
        return _zpop_reply(key, zsets.pop(client, key, maximum, 1)) if _holds(client, key, ZSet) else None

    return block(client, keys, timeout, serve)


def _zpop_reply(key, pairs) -> list:
    [(score, member)] = pairs
    return [key, member, Double(score)]


@command("bzpopmin", -3, "write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         key_specs=(("RW ACCESS DELETE", 1, -2),),
         summary="Remove and return the member with the lowest score from one or more sorted sets, or "
                 "block until one is available", since="5.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key [key ...] timeout:double")
def bzpopmin(client, argv):
    return _blocking_zpop(client, argv, maximum=False)


@command("bzpopmax", -3, "write noscript blocking fast", keys=(1, -2, 1), group="sorted-set",
         key_specs=(("RW ACCESS DELETE", 1, -2),),
         summary="Remove and return the member with the highest score from one or more sorted sets, or "
                 "block until one is available", since="5.0.0",
         complexity="O(log(N)) with N being the number of elements in the sorted set.",
         syntax="key [key ...] timeout:double")
def bzpopmax(client, argv):
    return _blocking_zpop(client, argv, maximum=True)


@command("bzmpop", -5, "write blocking movablekeys", group="sorted-set",
         key_specs=(("RW ACCESS DELETE", 2, "keynum"),),
         find_keys=numkeys_at(2),
         summary="Remove and return members with scores in a sorted set or block until one is available",
         since="7.0.0",
         complexity="O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of "
                    "elements in the sorted set, and M being the number of elements popped.",
         syntax="timeout:double numkeys:integer key [key ...] (MIN | MAX) [COUNT count:integer]")
def bzmpop(client, argv):
    keys, side, count = parse_mpop(argv, 2, zsets.SIDES)
    maximum = side == b"max"
    timeout = parse_timeout(argv[1])
    key = zsets.first_zset(client, keys)
    if key is not None:
        return zsets.mpop_reply(key, zsets.pop(client, key, maximum, count))

    def serve(key):
        if not _holds(client, key, ZSet):
            return None
        return zsets.mpop_reply(key, zsets.pop(client, key, maximum, count))

    return block(client, keys, timeout, serve)
