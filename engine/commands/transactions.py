"""MULTI, EXEC, DISCARD: queue a client's commands, then run them as one unit.

Queued commands run back to back in one loop pass, so their events land in the
same log batch (one commit), each marked FLAG_MULTI. A command that fails to
queue (unknown, wrong arity) makes EXEC abort, as in Redis. Blocking commands
inside a transaction answer at once (engine.blocking.block).

WATCH: a write to a watched key (engine.changes), an expiry, a FLUSHDB/FLUSHALL
or SWAPDB that changes it (Database.clear/swap) marks the client dirty, and its
EXEC answers a null array without running anything.
"""
from engine import acl, errors, events
from engine.errors import RedisError
from engine.executor import run
from engine.registry import command
from engine.replies import NULL_ARRAY, OK

EXECABORT = RedisError("EXECABORT Transaction discarded because of previous errors.")


@command("multi", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Mark the start of a transaction block", since="1.2.0", complexity="O(1)")
def multi(client, argv):
    if client.multi is not None:
        raise errors.err("MULTI calls can not be nested")
    client.multi, client.multi_failed = [], False
    return OK


@command("exec", 1, "noscript loading stale skip_slowlog", group="transactions",
         summary="Execute all commands issued after MULTI", since="1.2.0",
         complexity="Depends on commands in the transaction")
def exec_(client, argv):
    if client.multi is None:
        raise errors.err("EXEC without MULTI")
    queued, failed = client.multi, client.multi_failed
    dirty = client.dirty or (client.watched and client.keyspace.watched_expired(client))
    discard(client, argv)
    if failed:
        raise EXECABORT
    if dirty:
        return NULL_ARRAY
    store = client.store
    client.in_exec, store.flags = True, events.FLAG_MULTI
    try:
        return [(client.acl is not None and acl.check_queued(client, spec, queued_argv))
                or run(client, spec, queued_argv) for spec, queued_argv in queued]
    finally:
        client.in_exec, store.flags = False, 0


@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Discard all commands issued after MULTI", since="2.0.0",
         complexity="O(N), when N is the number of queued commands")
def discard(client, argv):
    if client.multi is None:
        raise errors.err("DISCARD without MULTI")
    client.multi, client.multi_failed = None, False
    unwatch(client, argv)
    return OK


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1), group="transactions",
         key_specs=(("RO", 1, -1),),
         summary="Monitor changes to keys to determine execution of the MULTI/EXEC block",
         since="2.2.0", complexity="O(1) for every key.", syntax="key [key ...]")
def watch(client, argv):
    if client.multi is not None:
        raise errors.err("WATCH inside MULTI is not allowed")
    for key in argv[1:]:
        client.keyspace.watch(client, client.db, key)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Forget about all watched keys", since="2.2.0", complexity="O(1)")
def unwatch(client, argv):
    client.keyspace.unwatch(client)
    client.dirty = False
    return OK
