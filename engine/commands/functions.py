"""FUNCTION and FCALL / FCALL_RO: Redis 7.0's libraries of Lua functions (engine.functions).

The libraries are stored state: LOAD, DELETE, FLUSH and RESTORE are logged (LOAD always as
`LOAD REPLACE code`, RESTORE with its policy spelled out), and their handlers, on replay
(`keyspace.expiring` false), only store what the event says: no Lua runs there. FCALL is not
logged; its effects are, like EVAL's.
"""
import time

from engine import errors
from engine.functions import FLAGS, dump, library_name, restored, stored, undump
from engine.glob import matcher
from engine.parsing import to_int
from engine.registry import command, container_docs
from engine.replies import OK, Map, RSet, Status

GROUP = "scripting"
FCALL_FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"
POLICIES = (b"flush", b"append", b"replace")
_ENGINE = {b"engine": b"LUA"}


def _key_positions(argv) -> list[int]:
    numkeys = to_int(argv[2]) if len(argv) > 2 else None
    if numkeys is None or not 0 <= numkeys <= len(argv) - 3:
        raise ValueError("bad numkeys")
    return list(range(3, 3 + numkeys))


def _fcall(client, argv, readonly: bool):
    functions = client.state.functions
    function = functions.find(argv[1])
    if function is None:
        raise errors.err("Function not found")
    numkeys = to_int(argv[2])
    if numkeys is None:
        raise errors.err("Bad number of keys provided")
    if numkeys > len(argv) - 3:
        raise errors.err("Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise errors.err("Number of keys can't be negative")
    no_writes = b"no-writes" in function.flags
    if readonly and not no_writes:
        raise errors.err("Can not execute a script with write flag using *_ro command.")
    functions.running = (function.name, argv)
    try:
        return client.state.scripts.execute(
            client, function.callable, function.name.decode("utf-8", "replace"), argv[3:3 + numkeys],
            argv[3 + numkeys:], readonly=readonly or no_writes, allow_oom=b"allow-oom" in function.flags,
            eval=False)
    finally:
        functions.running = None


RUNS = dict(complexity="Depends on the function that is executed.", find_keys=_key_positions, since="7.0.0",
            syntax="function numkeys:integer [key [key ...]] [arg [arg ...]]")


@command("fcall", -3, FCALL_FLAGS, group=GROUP, summary="Invoke a function",
         key_specs=(("RW ACCESS UPDATE", 2, "keynum",
                     "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),), **RUNS)
def fcall(client, argv):
    return _fcall(client, argv, readonly=False)


@command("fcall_ro", -3, "readonly " + FCALL_FLAGS, group=GROUP, acl="-read", summary="Invoke a read-only function",
         key_specs=(("RO ACCESS", 2, "keynum",
                     "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),), **RUNS)
def fcall_ro(client, argv):
    return _fcall(client, argv, readonly=True)


# -- FUNCTION ---------------------------------------------------------------------------------
container_docs("function", group=GROUP, summary="A container for function commands", since="7.0.0",
               complexity="Depends on subcommand.")


@command("function|load", -3, "write denyoom noscript", group=GROUP, since="7.0.0",
         summary="Create a function with the given arguments (name, code, description)",
         complexity="O(1) (considering compilation time is redundant)", syntax="[REPLACE] function-code")
def function_load(client, argv):
    code, keyspace = argv[-1], client.keyspace
    for option in argv[2:-1]:
        if option.lower() != b"replace":
            raise errors.err("Unknown option given: %s" % option.decode("utf-8", "replace"))
    if not keyspace.expiring:                       # replay: store the logged library
        stored(keyspace, {**keyspace.libraries, library_name(code): code})
        return OK
    functions = client.state.functions
    library = functions.load(code, replace=len(argv) > 3)
    functions.install({**keyspace.libraries, library.name: code}, [library])
    client.log([b"FUNCTION", b"LOAD", b"REPLACE", code])
    return library.name


@command("function|delete", 3, "write noscript", group=GROUP, since="7.0.0", summary="Delete a function by name",
         complexity="O(1)", syntax="library-name")
def function_delete(client, argv):
    libraries = dict(client.keyspace.libraries)
    if libraries.pop(argv[2], None) is None:
        raise errors.err("Library not found")
    stored(client.keyspace, libraries)
    client.log([b"FUNCTION", b"DELETE", argv[2]])
    return OK


@command("function|flush", -2, "write noscript", group=GROUP, since="7.0.0", summary="Deleting all functions",
         complexity="O(N) where N is the number of functions deleted", syntax="[ASYNC | SYNC]")
def function_flush(client, argv):
    if len(argv) > 3:
        raise errors.subcommand_arguments("function", argv[1])
    if len(argv) == 3 and argv[2].lower() not in (b"async", b"sync"):
        raise errors.err("FUNCTION FLUSH only supports SYNC|ASYNC option")
    if client.keyspace.libraries:                   # flushing nothing changes nothing: not logged
        stored(client.keyspace, {})
        client.log([b"FUNCTION", b"FLUSH"])
    return OK


@command("function|dump", 2, "noscript", group=GROUP, since="7.0.0",
         summary="Dump all functions into a serialized binary payload",
         complexity="O(N) where N is the number of functions")
def function_dump(client, argv):
    """Our own payload (see engine.functions.dump): FUNCTION RESTORE of a Redis DUMP is refused."""
    return dump(client.keyspace.libraries)


@command("function|restore", -3, "write denyoom noscript", group=GROUP, since="7.0.0",
         summary="Restore all the functions on the given payload",
         complexity="O(N) where N is the number of functions on the payload",
         syntax="serialized-value [FLUSH | APPEND | REPLACE]")
def function_restore(client, argv):
    if len(argv) > 4:
        raise errors.subcommand_arguments("function", argv[1])
    policy = argv[3].lower() if len(argv) == 4 else b"append"
    if policy not in POLICIES:
        raise errors.err("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    codes, keyspace = undump(argv[2]), client.keyspace
    if keyspace.expiring:
        functions = client.state.functions
        compiled = functions.restore(codes, policy)
        functions.install(restored(keyspace, codes, policy), compiled)
        client.log([b"FUNCTION", b"RESTORE", argv[2], policy.upper()])
    else:
        stored(keyspace, restored(keyspace, codes, policy))
    return OK


@command("function|list", -2, "noscript", group=GROUP, since="7.0.0",
         summary="List information about all the functions", complexity="O(N) where N is the number of functions",
         syntax="[LIBRARYNAME library-name-pattern] [WITHCODE]")
def function_list(client, argv):
    with_code, pattern, i = False, None, 2
    while i < len(argv):
        arg = argv[i].lower()
        if arg == b"withcode" and not with_code:
            with_code = True
        elif arg == b"libraryname" and pattern is None:
            if i == len(argv) - 1:
                raise errors.err("library name argument was not given")
            i += 1
            pattern = argv[i]
        else:
            raise errors.err("Unknown argument %s" % argv[i].decode("utf-8", "replace"))
        i += 1
    matches = matcher(pattern, nocase=True) if pattern is not None else None
    reply = []
    for library in client.state.functions.current().libraries.values():
        if matches is not None and not matches(library.name):
            continue
        entry = Map({b"library_name": library.name, **_ENGINE, b"functions": [
            Map({b"name": function.name, b"description": function.description,
                 b"flags": RSet(Status(flag.decode()) for flag in FLAGS if flag in function.flags)})
            for function in library.functions.values()]})
        if with_code:
            entry[b"library_code"] = library.code
        reply.append(entry)
    return reply


@command("function|stats", 2, "noscript allow_busy", group=GROUP, since="7.0.0",
         summary="Return information about the function currently running (name, description, duration)",
         complexity="O(1)")
def function_stats(client, argv):
    functions = client.state.functions.current()
    running, run = functions.running, client.state.scripts.run
    script = None
    if running is not None and run is not None:
        script = Map({b"name": running[0], b"command": list(running[1]),
                      b"duration_ms": int((time.monotonic() - run.start) * 1000)})
    count = sum(len(library.functions) for library in functions.libraries.values())
    return Map({b"running_script": script, b"engines": Map({b"LUA": Map({
        b"libraries_count": len(functions.libraries), b"functions_count": count})})})


@command("function|kill", 2, "noscript allow_busy", group=GROUP, since="7.0.0",
         summary="Kill the function currently in execution.", complexity="O(1)")
def function_kill(client, argv):
    client.state.scripts.kill(eval=False)
    return OK


@command("function|help", 2, "loading stale", group=GROUP, since="7.0.0",
         summary="Show helpful text about the different subcommands", complexity="O(1)")
def function_help(client, argv):
    return [Status(line) for line in HELP]


HELP = (
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION "
    "RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
)
