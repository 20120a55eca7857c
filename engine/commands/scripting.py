"""EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT: Lua scripts, run by engine.scripting.

None of these is logged: a script's effects are (its write commands, one FLAG_MULTI batch).
"""
from engine import errors
from engine.errors import RedisError
from engine.parsing import to_int
from engine.registry import command, container_docs
from engine.replies import OK, Status
from engine.scripting import NOSCRIPT

GROUP = "scripting"
FLAGS = "noscript stale skip_monitor no_mandatory_keys movablekeys"
WORST_RW = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
WORST_RO = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
# EVAL_RO and EVALSHA_RO are flagged readonly, yet Redis does not put them in @read.


def _key_positions(argv) -> list[int]:
    numkeys = to_int(argv[2]) if len(argv) > 2 else None
    if numkeys is None or not 0 <= numkeys <= len(argv) - 3:
        raise ValueError("bad numkeys")
    return list(range(3, 3 + numkeys))


def _numkeys(argv) -> int:
    numkeys = to_int(argv[2])
    if numkeys is None:
        raise errors.NOT_INTEGER
    if numkeys > len(argv) - 3:
        raise errors.err("Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise errors.err("Number of keys can't be negative")
    return numkeys


RUNS = dict(complexity="Depends on the script that is executed.", find_keys=_key_positions)


def _evaluate(client, argv, script_of, readonly: bool):
    numkeys = _numkeys(argv)
    scripts = client.state.scripts
    sha, script = script_of(scripts, argv[1])
    return scripts.eval(client, sha, script, argv[3:3 + numkeys], argv[3 + numkeys:], readonly)


def _by_body(scripts, body: bytes):
    return scripts.load(body)


def _by_sha(scripts, sha: bytes):
    sha = sha.lower()
    script = scripts.cache.get(sha)
    if script is None:
        raise NOSCRIPT
    return sha, script


@command("eval", -3, FLAGS, group=GROUP, key_specs=(("RW ACCESS UPDATE", 2, "keynum", WORST_RW),),
         summary="Execute a Lua script server side", since="2.6.0",
         syntax="script numkeys:integer [key [key ...]] [arg [arg ...]]", **RUNS)
def eval_(client, argv):
    return _evaluate(client, argv, _by_body, readonly=False)


@command("evalsha", -3, FLAGS, group=GROUP, key_specs=(("RW ACCESS UPDATE", 2, "keynum"),),
         summary="Execute a Lua script server side", since="2.6.0",
         syntax="sha1 numkeys:integer [key [key ...]] [arg [arg ...]]", **RUNS)
def evalsha(client, argv):
    return _evaluate(client, argv, _by_sha, readonly=False)


@command("eval_ro", -3, "readonly " + FLAGS, group=GROUP, acl="-read", key_specs=(("RO ACCESS", 2, "keynum", WORST_RO),),
         summary="Execute a read-only Lua script server side", since="7.0.0",
         syntax="script numkeys:integer [key [key ...]] [arg [arg ...]]", **RUNS)
def eval_ro(client, argv):
    return _evaluate(client, argv, _by_body, readonly=True)


@command("evalsha_ro", -3, "readonly " + FLAGS, group=GROUP, acl="-read", key_specs=(("RO ACCESS", 2, "keynum"),),
         summary="Execute a read-only Lua script server side", since="7.0.0",
         syntax="sha1 numkeys:integer [key [key ...]] [arg [arg ...]]", **RUNS)
def evalsha_ro(client, argv):
    return _evaluate(client, argv, _by_sha, readonly=True)


# -- SCRIPT ---------------------------------------------------------------------------------
container_docs("script", group=GROUP, summary="A container for Lua scripts management commands",
               since="2.6.0", complexity="Depends on subcommand.")


@command("script|load", 3, "noscript stale", group=GROUP, acl="scripting",
         summary="Load the specified Lua script into the script cache.", since="2.6.0",
         complexity="O(N) with N being the length in bytes of the script body.", syntax="script")
def script_load(client, argv):
    sha, _ = client.state.scripts.load(argv[2])
    return sha


@command("script|exists", -3, "noscript", group=GROUP, acl="scripting",
         summary="Check existence of scripts in the script cache.", since="2.6.0",
         complexity="O(N) with N being the number of scripts to check (so checking a single script is "
                    "an O(1) operation).", syntax="sha1 [sha1 ...]")
def script_exists(client, argv):
    cache = client.state.scripts.cache
    return [int(sha.lower() in cache) for sha in argv[2:]]


@command("script|flush", -2, "noscript", group=GROUP, acl="scripting",
         summary="Remove all the scripts from the script cache.", since="2.6.0",
         complexity="O(N) with N being the number of scripts in cache", syntax="[ASYNC | SYNC]")
def script_flush(client, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"async", b"sync")):
        raise errors.err("SCRIPT FLUSH only support SYNC|ASYNC option")
    client.state.scripts.flush()
    return OK


@command("script|kill", 2, "noscript allow_busy", group=GROUP, acl="scripting",
         summary="Kill the script currently in execution.", since="2.6.0", complexity="O(1)")
def script_kill(client, argv):
    client.state.scripts.kill(eval=True)
    return OK


@command("script|debug", 3, "noscript", group=GROUP, acl="scripting",
         summary="Set the debug mode for executed scripts.", since="3.2.0", complexity="O(1)",
         syntax="YES | SYNC | NO")
def script_debug(client, argv):
    """The Lua debugger (LDB) is not part of Redwood: NO is accepted, YES and SYNC refused."""
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise RedisError("ERR SCRIPT DEBUG is not supported by this server")
    raise errors.err("Use SCRIPT DEBUG YES/SYNC/NO")


@command("script|help", 2, "loading stale", group=GROUP, acl="scripting",
         summary="Show helpful text about the different subcommands", since="5.0.0", complexity="O(1)")
def script_help(client, argv):
    return [Status(line) for line in (
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help.")]
