"""The command table: every command is declared once, by the decorator on its handler.

`@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", ...)`
registers the handler under its name. COMMAND, COMMAND DOCS, arity checks and
the executor all read this table; there is no other list of commands.

`key_specs=` declares Redis 7's key specs, one tuple per spec: `(flags, begin, find, notes)`
with flags as Redis names them (`"RW ACCESS DELETE"`), begin the index of the first key
(or `(keyword, startfrom)`, or None: unknown), find the last key relative to it (or
`(lastkey, keystep, limit)`, or "keynum", or None: unknown); find defaults to 0 (one key) and
notes to none. A command that declares none has one spec made from `keys`: RO ACCESS for
a read, RW ACCESS UPDATE for a write (the strictest, so a forgotten declaration never lets an
ACL user do more than Redis would).

A name with a `|` declares a subcommand (`config|get`); its container is
created on first use and dispatches on the second argument as Redis does.
"""
from dataclasses import dataclass, field
from typing import Callable

from engine import errors
from engine.parsing import to_int


# Key spec flags in the order COMMAND INFO prints them.
KEY_FLAGS = ("RO", "RW", "OW", "RM", "ACCESS", "UPDATE", "INSERT", "DELETE", "NOT_KEY", "INCOMPLETE",
             "VARIABLE_FLAGS")


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One of Redis 7's key specs: which arguments are keys and how the command uses them."""
    flags: tuple                    # Redis's names, in its order: ("RW", "ACCESS", "DELETE")
    begin: int | tuple | None       # index, (keyword, startfrom), or None: unknown
    find: tuple | None              # (lastkey, keystep, limit), ("keynum", idx, first, step), None
    notes: str = ""

    @classmethod
    def declared(cls, flags: str, begin, find=0, notes="") -> "KeySpec":
        if find == "keynum":            # the key count at begin_search, then that many keys
            find = ("keynum", 0, 1, 1)
        elif isinstance(find, int):
            find = (find, 1, 0)
        if isinstance(begin, tuple):
            begin = (begin[0].encode(), begin[1])
        names = flags.split()
        if not set(names) <= set(KEY_FLAGS):
            raise ValueError(f"unknown key spec flags {flags!r}")
        return cls(tuple(sorted(names, key=KEY_FLAGS.index)), begin, find, notes)

    def positions(self, argv) -> range | None:
        """Redis's getKeysUsingKeySpecs() for this spec: the keys' indexes (an empty range
        when a keyword is missing), None when the spec cannot find them in argv."""
        if "INCOMPLETE" in self.flags or self.begin is None or self.find is None:
            return None
        argc, first = len(argv), self.begin
        if not isinstance(first, int):
            keyword, start = first          # searched up to, not including, the last argument
            indexes = range(start, argc - 1) if start > 0 else range(argc + start, 1, -1)
            first = next((i + 1 for i in indexes if 0 < i < argc and argv[i].upper() == keyword), 0)
            if not first:
                return range(0)
        if self.find[0] == "keynum":
            _, keynum, firstkey, step = self.find
            count = to_int(argv[first + keynum]) if first + keynum < argc else None
            if count is None or count < 0:
                return None
            first += firstkey
            last = first + count - 1
        else:
            lastkey, step, limit = self.find
            if lastkey >= 0:
                last = first + lastkey
            elif not limit:
                last = argc + lastkey
            else:
                last = first + (argc - first) // limit + lastkey
        if last >= argc or last < first or first >= argc:
            return None
        return range(first, last + 1, step)


@dataclass(slots=True, eq=False)
class CommandSpec:
    name: str                       # lower case; `config|get` for a subcommand
    handler: Callable | None
    arity: int                      # Redis convention: -N means "at least N"
    flags: frozenset
    first_key: int = 0
    last_key: int = 0
    step: int = 0
    group: str = ""
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = ""
    syntax: str = ""                # usage line, e.g. "key value [NX|XX]"
    acl: frozenset = frozenset()    # extra ACL categories beyond those implied by flags
    doc_flags: frozenset = frozenset()
    subcommands: dict = field(default_factory=dict)
    find_keys: Callable | None = None   # argv -> key positions, for `movablekeys` commands
    key_specs: tuple = ()               # KeySpec, as COMMAND INFO shows them
    getkeys: Callable | None = None     # argv -> [(index, flags)] where the key specs cannot say
    # INFO commandstats, counted by the executor.
    calls: int = 0
    nanos: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    # Hot-path booleans, derived from flags once.
    write: bool = False
    readonly: bool = False
    no_auth: bool = False

    @property
    def container(self) -> str | None:
        return self.name.split("|")[0] if "|" in self.name else None

    def key_positions(self, argv) -> list[int]:
        """Where argv's keys are (COMMAND GETKEYS); ValueError when argv cannot be read."""
        if self.find_keys is not None:
            return self.find_keys(argv)
        if not self.first_key:
            return []
        last = self.last_key if self.last_key >= 0 else len(argv) + self.last_key
        return list(range(self.first_key, last + 1, self.step))

    def key_refs(self, argv) -> list[tuple[int, KeySpec]] | None:
        """argv's keys with the spec that found each (Redis's getKeysUsingKeySpecs(), NOT_KEY
        specs left out); None when a spec cannot say and Redis asks the command's own code."""
        found = []
        for spec in self.key_specs:
            if "NOT_KEY" in spec.flags:
                continue
            if "VARIABLE_FLAGS" in spec.flags:
                return None
            positions = spec.positions(argv)
            if positions is None:
                return None
            found += [(i, spec) for i in positions]
        return found

    def keys_and_flags(self, argv) -> list[tuple[int, tuple]]:
        """argv's keys with Redis's flags for each (COMMAND GETKEYSANDFLAGS, ACL key checks):
        from the key specs, or from the command's own `getkeys` rule (Redis's getkeys_proc)
        where they cannot say (VARIABLE_FLAGS, unknown positions). Where the specs are invalid
        for argv (a bad numkeys) and there is no rule, there are no keys: the command refuses argv."""
        found = self.key_refs(argv)
        if found is None:
            return self.getkeys(argv) if self.getkeys is not None else []
        return [(i, key_spec.flags) for i, key_spec in found]


COMMANDS: dict[bytes, CommandSpec] = {}


def command(name, arity, flags="", keys=(0, 0, 0), *, group, summary, since="1.0.0",
            complexity="", syntax="", acl="", doc_flags="", find_keys=None, key_specs=None,
            getkeys=None):
    """Declare a command (or `container|sub` subcommand) on its handler. `keys` are
    Redis's (first, last, step); a `movablekeys` command also says how to `find_keys`;
    `key_specs` are Redis 7's, when they are not the default one (see the module's doc), and
    `getkeys` gives each key's flags where those specs cannot (`CommandSpec.keys_and_flags`)."""

    def register(handler):
        flagset = frozenset(flags.split())
        if key_specs is not None:
            specs = tuple(KeySpec.declared(*declared) for declared in key_specs)
        elif keys[0]:
            last = keys[1] - keys[0] if keys[1] >= 0 else keys[1]
            specs = (KeySpec.declared("RW ACCESS UPDATE" if "write" in flagset else "RO ACCESS",
                                      keys[0], (last, keys[2], 0)),)
        else:
            specs = ()
        spec = CommandSpec(
            name=name, handler=handler, arity=arity, flags=flagset,
            first_key=keys[0], last_key=keys[1], step=keys[2],
            group=group, summary=summary, since=since, complexity=complexity,
            syntax=syntax, acl=frozenset(acl.split()), doc_flags=frozenset(doc_flags.split()),
            write="write" in flagset, readonly="readonly" in flagset, no_auth="no_auth" in flagset,
            find_keys=find_keys, key_specs=specs, getkeys=getkeys,
        )
        if "|" in name:
            parent, sub = name.split("|", 1)
            _container(parent, group).subcommands[sub.encode()] = spec
        else:
            if name.encode() in COMMANDS:
                raise ValueError(f"command {name} declared twice")
            COMMANDS[name.encode()] = spec
        return handler

    return register


def every_command():
    """Every command and subcommand, containers before their subcommands, in table order."""
    for spec in COMMANDS.values():
        yield spec
        yield from spec.subcommands.values()


# Key flags as Redis's getkeys procs give them, for the `getkeys=` rules of the commands.
READS, UPDATES, READS_UPDATES = ("RO", "ACCESS"), ("OW", "UPDATE"), ("RW", "ACCESS", "UPDATE")


def numkeys_at(index: int, *fixed: int) -> Callable:
    """find_keys for keys that follow their count at argv[index] (LMPOP, ZUNIONSTORE …),
    after the keys at fixed positions (a destination)."""
    def find(argv) -> list[int]:
        count = to_int(argv[index]) if index < len(argv) else None
        if count is None or count < 1 or index + count >= len(argv):
            raise ValueError("numkeys out of range")
        return [*fixed, *range(index + 1, index + 1 + count)]
    return find


def _container(name: str, group: str) -> CommandSpec:
    spec = COMMANDS.get(name.encode())
    if spec is None:
        spec = CommandSpec(name=name, handler=None, arity=-2, flags=frozenset(), group=group)
        COMMANDS[name.encode()] = spec
    return spec


def container_docs(name, *, group, summary, since, complexity="", flags=""):
    """Set the docs of a container command (`CONFIG`, `CLIENT` …) whose subcommands carry handlers."""
    spec = _container(name, group)
    spec.group, spec.summary, spec.since, spec.complexity = group, summary, since, complexity
    spec.flags = frozenset(flags.split())


# Specs by the exact spelling clients send (`GET`, `get` …), for the hot path: one dict
# lookup instead of lower() and the container checks. Only commands without subcommands,
# and only spellings that name a command, so it stays small.
_SPELLINGS: dict[bytes, CommandSpec] = {}


def lookup(argv) -> CommandSpec:
    """The spec that runs argv, after Redis's checks for unknown commands and arity."""
    spec = _SPELLINGS.get(argv[0])
    if spec is None:
        spec = COMMANDS.get(argv[0].lower())
        if spec is None:
            raise errors.unknown_command(argv)
        if not spec.subcommands and len(_SPELLINGS) < 4096:
            _SPELLINGS[argv[0]] = spec
    if spec.subcommands and (len(argv) >= 2 or spec.handler is None):
        if len(argv) < 2:
            raise errors.wrong_arity(spec.name)
        sub = spec.subcommands.get(argv[1].lower())
        if sub is None:
            raise errors.unknown_subcommand(spec.name, argv[1])
        spec = sub
    arity, n = spec.arity, len(argv)
    if (arity > 0 and n != arity) or n < -arity:
        raise errors.wrong_arity(spec.name)
    return spec
