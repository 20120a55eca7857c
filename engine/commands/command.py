"""COMMAND and its subcommands: the command table describing itself.

Everything here is read from the declarations in `engine.registry`; COMMAND
DOCS arguments come from each declaration's syntax line (`engine.docs`).
"""
from engine import errors, glob
from engine.docs import encode_docs
from engine.registry import COMMANDS, KEY_FLAGS, every_command, lookup
from engine.registry import command as declare
from engine.replies import Map, RSet, Status


# ACL categories that follow from a command's group (Redis's @keyspace, @string …).
_GROUP_CATEGORY = {"string": "@string", "bitmap": "@bitmap", "generic": "@keyspace",
                   "connection": "@connection", "list": "@list", "hash": "@hash", "set": "@set",
                   "sorted-set": "@sortedset", "pubsub": "@pubsub", "transactions": "@transaction",
                   "scripting": "@scripting", "stream": "@stream", "hyperloglog": "@hyperloglog",
                   "geo": "@geo"}


def categories(spec) -> list[str]:
    """A command's ACL categories: its declared ones, those its flags and group imply, minus
    the declared `-name` exceptions (SORT is generic but not @keyspace)."""
    found = set("@" + category for category in spec.acl if category[0] != "-")
    if spec.write:
        found.add("@write")
    if spec.readonly:
        found.add("@read")
    if "admin" in spec.flags:
        found |= {"@admin", "@dangerous"}
    if "blocking" in spec.flags:
        found.add("@blocking")
    found.add("@fast" if "fast" in spec.flags else "@slow")
    if spec.group in _GROUP_CATEGORY and spec.handler is not None:   # not for a bare container
        found.add(_GROUP_CATEGORY[spec.group])
    return sorted(found - {"@" + category[1:] for category in spec.acl if category[0] == "-"})


def _key_specs(spec) -> RSet:
    """COMMAND INFO's key specs, as addReplyCommandKeySpecs() shows them."""
    return RSet(_key_spec(key_spec) for key_spec in spec.key_specs)


def _key_spec(key_spec) -> Map:
    begin, find = key_spec.begin, key_spec.find
    if begin is None:
        begin = Map({b"type": b"unknown", b"spec": Map()})
    elif isinstance(begin, int):
        begin = Map({b"type": b"index", b"spec": Map({b"index": begin})})
    else:
        begin = Map({b"type": b"keyword", b"spec": Map({b"keyword": begin[0], b"startfrom": begin[1]})})
    if find is None:
        find = Map({b"type": b"unknown", b"spec": Map()})
    elif find[0] == "keynum":
        find = Map({b"type": b"keynum", b"spec": Map(zip((b"keynumidx", b"firstkey", b"keystep"), find[1:]))})
    else:
        find = Map({b"type": b"range", b"spec": Map(zip((b"lastkey", b"keystep", b"limit"), find))})
    fields = {b"notes": key_spec.notes.encode()} if key_spec.notes else {}
    fields[b"flags"] = RSet(Status(flag if flag in KEY_FLAGS[:4] else flag.lower()) for flag in key_spec.flags)
    fields |= {b"begin_search": begin, b"find_keys": find}
    return Map(fields)


def info_entry(spec) -> list:
    """One command's COMMAND INFO entry (Redis 7's ten fields)."""
    subcommands = [info_entry(sub) for sub in spec.subcommands.values()]
    return [spec.name.encode(), spec.arity, RSet(Status(f) for f in sorted(spec.flags)),
            spec.first_key, spec.last_key, spec.step,
            RSet(Status(c) for c in categories(spec)), RSet(), _key_specs(spec),
            subcommands or RSet()]


@declare("command", -1, "loading stale", group="server", acl="connection", summary="Get array of Redis command details",
         since="2.8.13", complexity="O(N) where N is the total number of Redis commands")
def command_all(client, argv):
    return [info_entry(spec) for spec in COMMANDS.values()]


@declare("command|count", 2, "loading stale", group="server", acl="connection",
         summary="Get total number of Redis commands", since="2.8.13", complexity="O(1)")
def command_count(client, argv):
    return len(COMMANDS)


@declare("command|info", -2, "loading stale", group="server", acl="connection",
         summary="Get array of specific Redis command details, or all when no argument is given",
         since="2.8.13", complexity="O(N) where N is the number of commands to look up",
         syntax="[command-name [command-name ...]]")
def command_info(client, argv):
    if len(argv) == 2:
        return command_all(client, argv)
    return [info_entry(spec) if spec else None for spec in map(_find, argv[2:])]


@declare("command|docs", -2, "loading stale", group="server", acl="connection",
         summary="Get array of specific Redis command documentation", since="7.0.0",
         complexity="O(N) where N is the number of commands to look up",
         syntax="[command-name [command-name ...]]")
def command_docs(client, argv):
    specs = COMMANDS.values() if len(argv) == 2 else filter(None, map(_find, argv[2:]))
    return Map({spec.name.encode(): encode_docs(spec) for spec in specs})


def _find(name: bytes):
    """A command or `container|sub` subcommand by name, or None."""
    container, _, sub = name.lower().partition(b"|")
    spec = COMMANDS.get(container)
    if spec is not None and sub:
        spec = spec.subcommands.get(sub)
    return spec


@declare("command|list", -2, "loading stale", group="server", acl="connection",
         summary="Get an array of Redis command names", since="7.0.0",
         complexity="O(N) where N is the total number of Redis commands",
         syntax="[FILTERBY (MODULE module-name | ACLCAT category | PATTERN pattern:pattern)]")
def command_list(client, argv):
    specs = list(every_command())
    if len(argv) == 2:
        return [spec.name.encode() for spec in specs]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise errors.SYNTAX
    kind, value = argv[3].lower(), argv[4]
    if kind == b"module":
        return []
    if kind == b"aclcat":
        wanted = "@" + value.decode("utf-8", "replace").lower()
        return [spec.name.encode() for spec in specs if wanted in categories(spec)]
    if kind == b"pattern":
        matches = glob.matcher(value, nocase=True)
        return [spec.name.encode() for spec in specs if matches(spec.name.encode())]
    raise errors.SYNTAX


@declare("command|getkeys", -4, "loading stale", group="server", acl="connection",
         summary="Extract keys given a full Redis command", since="2.8.13",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeys(client, argv):
    target, spec = _getkeys_target(argv)
    try:
        positions = spec.key_positions(target)
    except ValueError:
        raise errors.err("Invalid arguments specified for command") from None
    return [target[i] for i in positions if i < len(target)]


@declare("command|getkeysandflags", -4, "loading stale", group="server", acl="connection",
         summary="Extract keys and access flags given a full Redis command", since="7.0.0",
         complexity="O(N) where N is the number of arguments to the command")
def command_getkeysandflags(client, argv):
    target, spec = _getkeys_target(argv)
    found = spec.keys_and_flags(target)
    if not found:
        raise errors.err("Invalid arguments specified for command")
    # Redis prints the access kind (RO, RW, OW, RM) as it is and the operations in lower case.
    return [[target[i], RSet(Status(f if f in ("RO", "RW", "OW", "RM") else f.lower()) for f in flags)]
            for i, flags in found]


def _getkeys_target(argv):
    """The command COMMAND GETKEYS(ANDFLAGS) is asked about, and its spec, checked as Redis does."""
    target = argv[2:]
    spec = _find(target[0])
    if spec is None or spec.subcommands:
        try:
            spec = lookup(target)
        except errors.RedisError:
            raise errors.err("Invalid command specified") from None
    if spec.find_keys is None and all("NOT_KEY" in key_spec.flags for key_spec in spec.key_specs):
        raise errors.err("The command has no key arguments")      # none, or only channels
    if (spec.arity > 0 and spec.arity != len(target)) or len(target) < -spec.arity:
        raise errors.err("Invalid number of arguments specified for command")
    return target, spec


@declare("command|help", 2, "loading stale", group="server", acl="connection",
         summary="Show helpful text about the different subcommands", since="5.0.0", complexity="O(1)")
def command_help(client, argv):
    return [Status(line) for line in (
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)", "    Return details about all Redis commands.",
        "COUNT", "    Return the total number of commands in this Redis server.",
        "LIST", "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP", "    Print this help.")]
