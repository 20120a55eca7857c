"""MULTI, EXEC, DISCARD: queue a client's commands, then run them as one unit.

Queued commands run back to back in one loop pass, so their events land in the
same log batch (one commit), each marked FLAG_MULTI. A command that fails to
queue (unknown, wrong arity) makes EXEC abort, as in Redis. Blocking commands
inside a transaction answer at once (engine.blocking.block). WATCH arrives
with the transactions issue.
"""
from engine import errors, events
from engine.errors import RedisError
from engine.executor import run
from engine.registry import command
from engine.replies import OK

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
    discard(client, argv)
    if failed:
        raise EXECABORT
    store = client.store
    client.in_exec, store.flags = True, events.FLAG_MULTI
    try:
        return [run(client, spec, queued_argv) for spec, queued_argv in queued]
    finally:
        client.in_exec, store.flags = False, 0


@command("discard", 1, "noscript loading stale fast allow_busy", group="transactions",
         summary="Discard all commands issued after MULTI", since="2.0.0",
         complexity="O(N), when N is the number of queued commands")
def discard(client, argv):
    if client.multi is None:
        raise errors.err("DISCARD without MULTI")
    client.multi, client.multi_failed = None, False
    return OK
