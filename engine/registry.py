"""The command table: every command is declared once, by the decorator on its handler.

`@command("set", -3, "write denyoom", keys=(1, 1, 1), group="string", ...)`
registers the handler under its name. COMMAND, COMMAND DOCS, arity checks and
the executor all read this table; there is no other list of commands.

A name with a `|` declares a subcommand (`config|get`); its container is
created on first use and dispatches on the second argument as Redis does.
"""
from dataclasses import dataclass, field
from typing import Callable

from engine import errors
from engine.parsing import to_int


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


COMMANDS: dict[bytes, CommandSpec] = {}


def command(name, arity, flags="", keys=(0, 0, 0), *, group, summary, since="1.0.0",
            complexity="", syntax="", acl="", doc_flags="", find_keys=None):
    """Declare a command (or `container|sub` subcommand) on its handler. `keys` are
    Redis's (first, last, step); a `movablekeys` command also says how to `find_keys`."""

    def register(handler):
        flagset = frozenset(flags.split())
        spec = CommandSpec(
            name=name, handler=handler, arity=arity, flags=flagset,
            first_key=keys[0], last_key=keys[1], step=keys[2],
            group=group, summary=summary, since=since, complexity=complexity,
            syntax=syntax, acl=frozenset(acl.split()), doc_flags=frozenset(doc_flags.split()),
            write="write" in flagset, readonly="readonly" in flagset, no_auth="no_auth" in flagset,
            find_keys=find_keys,
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
