"""One ACL user as Redis 7.0 has it: its rules, their description, and what it may run.

A user is a set of allowed commands (by full name: `get`, `config|get`), key patterns
with read/write permissions, channel patterns and SHA-256 password hashes. Rules apply
as ACLSetUser() applies them: `+config` allows the container and its subcommands,
`+@cat` every command of a category (categories are read from the command table, as
COMMAND INFO shows them), `+select|0` one first argument of an otherwise denied
command. ACL LIST rebuilds the rules from the allowed set with Redis 7.0's best-fit
search over categories, so it prints what Redis prints.

Channels are checked too, for the commands Redis checks (PUBLISH, SUBSCRIBE …).

Commands, key and channel patterns form a selector: the user's own rules are the root one,
and each `(~key* +get)` rule adds another. A command runs when one selector allows it with
all its keys and channels.

A key's permission comes from the key spec that finds it (`key_access`), as in Redis 7.0:
`%W~app:*` may LPUSH or DEL app:1 but not GET it.

The users table, the check the executor calls, ACL LOG and the ACL file are engine.acl.
"""
import hashlib
import hmac
from functools import cache

from engine import glob
from engine.registry import COMMANDS, every_command
from engine.parsing import split_args

# ACL CAT's order (Redis's ACLCommandCategories).
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
              "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
              "dangerous", "connection", "transaction", "scripting")

READ, WRITE = 1, 2
# Why a selector refuses a command, ranked as Redis ranks them (ACL_DENIED_CMD, _KEY, _CHANNEL).
DENIED_COMMAND, DENIED_KEY, DENIED_CHANNEL = 1, 2, 4
_REASONS = {DENIED_COMMAND: "command", DENIED_KEY: "key", DENIED_CHANNEL: "channel"}
_KEY_PREFIX = {READ | WRITE: b"~", READ: b"%R~", WRITE: b"%W~"}

# Commands whose arguments are channels (Redis's ACLDoesCommandHaveChannels()):
# name -> (first channel, only one?, matched literally: PSUBSCRIBE names patterns).
_CHANNEL_ARGS = {"publish": (1, True, False), "spublish": (1, True, False),
                 "subscribe": (1, False, False), "ssubscribe": (1, False, False),
                 "psubscribe": (1, False, True)}


class RuleError(Exception):
    """A rule ACL SETUSER refuses; the text is ACLSetUserStringError()'s."""


SYNTAX = "Syntax error"
UNKNOWN = "Unknown command or category name in ACL"


def hash_password(password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def has_spaces(name: bytes) -> bool:
    """Redis's ACLStringHasSpaces(): C isspace() or NUL."""
    return any(c in b" \t\n\v\f\r\0" for c in name)


# -- the command table as ACLs see it ------------------------------------------------------
@cache
def _table() -> tuple[dict, dict]:
    """(category -> names of its commands, name -> the names `+name` / `-name` change: the
    command and its subcommands), built once the command table is complete."""
    from engine.commands.command import categories   # the one category mapping (imports every family)
    members = {category: [] for category in CATEGORIES}
    families = {}
    for spec in every_command():
        for category in categories(spec):
            members.setdefault(category[1:], []).append(spec.name)
        families[spec.name] = (spec.name, *(sub.name for sub in spec.subcommands.values()))
    return members, families


def _family(name: str) -> tuple:
    return _table()[1][name]


def _all_names():
    return _table()[1].keys()


def category_commands(category: str) -> list:
    """ACL CAT category: the names of its commands and subcommands, in table order."""
    return _table()[0][category]


def find_command(name: bytes):
    """Redis's lookupCommandBySds() on the original table: `get`, `config|get`, or None."""
    parts = name.lower().split(b"|")
    spec = COMMANDS.get(parts[0]) if len(parts) <= 2 else None
    if spec is not None and len(parts) == 2:
        spec = spec.subcommands.get(parts[1])
    return spec


# -- selectors ------------------------------------------------------------------------------
# `acl-pubsub-default`: whether new users, new selectors and `reset` allow every channel.
# A server-wide setting, as in Redis (engine.acl keeps it in step with the config).
ALL_CHANNELS_BY_DEFAULT = [False]


class Selector:
    """Commands, key patterns and channel patterns (Redis's aclSelector): a user's root rules,
    or one `(...)` selector of theirs."""
    __slots__ = ("allowed", "firstargs", "future", "allcommands", "allkeys", "keys", "allchannels",
                 "channels")

    def __init__(self):
        self.allowed = set()        # names of the commands and subcommands it may run
        self.firstargs = {}         # name -> first arguments allowed of an otherwise denied command
        self.future = False         # +@all's reserved bit: its rules start from +@all
        self.allcommands = False    # may run every command (no bit was cleared since +@all)
        self.allkeys = False
        self.keys = {}              # key pattern -> READ | WRITE
        self.allchannels = ALL_CHANNELS_BY_DEFAULT[0]
        self.channels = {}          # channel patterns (a dict keeps their order)

    def copy(self) -> "Selector":
        other = Selector()
        other.assign(self)
        return other

    def assign(self, other: "Selector"):
        for field in Selector.__slots__:
            value = getattr(other, field)
            setattr(self, field, value.copy() if hasattr(value, "copy") else value)

    @classmethod
    def parse(cls, op: bytes) -> "Selector":
        """A `(...)` rule's selector: its words split as sdssplitargs() splits them (no
        words when the quotes are unbalanced), as aclCreateSelectorFromOpSet() does."""
        selector = cls()
        for word in split_args(op[1:-1]) or ():
            selector.apply(word)
        return selector

    # -- rules (ACLSetSelector) --------------------------------------------------------
    def apply(self, op: bytes):
        """Apply one key, channel or command rule; RuleError with Redis's text when refused."""
        word = op.lower()
        if word in (b"allkeys", b"~*"):
            self.allkeys, self.keys = True, {}
        elif word == b"resetkeys":
            self.allkeys, self.keys = False, {}
        elif word in (b"allchannels", b"&*"):
            self.allchannels, self.channels = True, {}
        elif word == b"resetchannels":
            self.allchannels, self.channels = False, {}
        elif word in (b"allcommands", b"+@all"):
            self.allowed = set(_all_names())
            self.future = self.allcommands = True
            self.firstargs = {}
        elif word in (b"nocommands", b"-@all"):
            self.allowed = set()
            self.future = self.allcommands = False
            self.firstargs = {}
        elif op[:1] in (b"~", b"%"):
            self._key_pattern(op)
        elif op[:1] == b"&":
            if self.allchannels:
                raise RuleError("Adding a pattern after the * pattern (or the 'allchannels' flag) is "
                                "not valid and does not have any effect. Try 'resetchannels' to start "
                                "with an empty list of channels")
            if has_spaces(op[1:]):
                raise RuleError(SYNTAX)
            self.channels[op[1:]] = None
        elif op[:2] in (b"+@", b"-@"):
            category = word[2:].decode("utf-8", "replace")
            if category not in CATEGORIES:
                raise RuleError(UNKNOWN)
            self.set_category(category, op[:1] == b"+")
        elif op[:1] == b"+":
            self._allow(op[1:])
        elif op[:1] == b"-":
            spec = find_command(op[1:])
            if spec is None:
                raise RuleError(UNKNOWN)
            self.set_command(spec.name, False)
        else:
            raise RuleError(SYNTAX)

    def _key_pattern(self, op: bytes):
        if self.allkeys:
            raise RuleError("Adding a pattern after the * pattern (or the 'allkeys' flag) is not "
                            "valid and does not have any effect. Try 'resetkeys' to start with an "
                            "empty list of patterns")
        flags, offset = READ | WRITE, 1
        if op[:1] == b"%":
            flags = 0
            while offset < len(op):
                c = op[offset:offset + 1].upper()
                offset += 1
                if c == b"R" and not flags & READ:
                    flags |= READ
                elif c == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif c == b"~":
                    break
                else:
                    raise RuleError(SYNTAX)
        pattern = op[offset:]
        if not flags or has_spaces(pattern):
            raise RuleError(SYNTAX)
        self.keys[pattern] = self.keys.get(pattern, 0) | flags

    def _allow(self, name: bytes):
        if b"|" not in name:
            spec = find_command(name)
            if spec is None:
                raise RuleError(UNKNOWN)
            self.set_command(spec.name, True)
            return
        command, _, first = name.rpartition(b"|")
        spec = find_command(command)
        if spec is None:
            raise RuleError(UNKNOWN)
        if spec.container is not None:
            raise RuleError("Allowing first-arg of a subcommand is not supported")
        if not first:
            raise RuleError(SYNTAX)
        if spec.subcommands:
            sub = spec.subcommands.get(first.lower())
            if sub is None:
                raise RuleError(UNKNOWN)
            self.set_command(sub.name, True)
        else:                       # `+select|0`: one first argument of a denied command
            allowed = self.firstargs.get(spec.name, [])
            if first.lower() not in allowed:        # a new list: a copy's stays as it was
                self.firstargs[spec.name] = [*allowed, first.lower()]

    def set_command(self, name: str, allow: bool):
        """Allow or deny a command with its subcommands (ACLChangeSelectorPerm)."""
        family = _family(name)
        if allow:
            self.allowed.update(family)
        else:
            self.allowed.difference_update(family)
            self.allcommands = False
        self.firstargs.pop(name, None)

    def set_category(self, category: str, allow: bool):
        for name in category_commands(category):
            self.set_command(name, allow)

    # -- the rules as text (ACLDescribeSelector) ---------------------------------------
    def describe(self) -> bytes:
        """The selector's rules as ACL LIST shows them."""
        words = (self.describe_keys(), b"" if self.allchannels else b"resetchannels", self.describe_channels(),
                 self.describe_commands())
        return b" ".join(word for word in words if word)

    def fields(self) -> dict:
        """The selector in ACL GETUSER (aclAddReplySelectorDescription)."""
        return {b"commands": self.describe_commands(), b"keys": self.describe_keys(),
                b"channels": self.describe_channels()}

    def describe_keys(self) -> bytes:
        if self.allkeys:
            return b"~*"
        return b" ".join(_KEY_PREFIX[flags] + pattern for pattern, flags in self.keys.items())

    def describe_channels(self) -> bytes:
        return b"&*" if self.allchannels else b" ".join(b"&" + p for p in self.channels)

    def describe_commands(self) -> bytes:
        """Rules that rebuild the allowed set (ACLDescribeSelectorCommandRules): +@all or
        -@all, the categories that fit best, then single commands in table order."""
        additive = not self.future
        rules = ["-@all" if additive else "+@all"]
        fake = set() if additive else set(_all_names())     # what the rules so far allow
        left = set(self.allowed)     # what is still to explain (the categories are undone on it)
        members, applied = _table()[0], set()
        while True:
            best, least, most = None, None, 0
            for category in CATEGORIES:
                if category in applied:
                    continue
                on = sum(name in left for name in members[category])
                off = len(members[category]) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (least is None or diff < least or (diff == least and same > most)):
                    best, least, most = category, diff, same
            if best is None:
                break
            rules.append(("+@" if additive else "-@") + best)
            for name in members[best]:
                family = _family(name)
                (fake.update if additive else fake.difference_update)(family)
                (left.difference_update if additive else left.update)(family)
            applied.add(best)
        for spec in every_command():
            allowed = spec.name in self.allowed
            if allowed != (spec.name in fake):
                rules.append(("+" if allowed else "-") + spec.name)
                family = _family(spec.name)
                (fake.update if allowed else fake.difference_update)(family)
            if not allowed:
                rules += [f"+{spec.name}|{first.decode('utf-8', 'replace')}"
                          for first in self.firstargs.get(spec.name, ())]
        assert fake == self.allowed, "ACL rules do not rebuild the user's commands"
        return " ".join(rules).encode()

    # -- the permission check (ACLSelectorCheckCmd) ------------------------------------
    def refusal(self, spec, argv) -> tuple[int, int] | None:
        """Why this selector may not run argv: (DENIED_COMMAND, 0), or (DENIED_KEY or
        DENIED_CHANNEL, the refused argument's index); None when it may."""
        if not self.allcommands and not spec.no_auth and spec.name not in self.allowed:
            firsts = self.firstargs.get(spec.name)
            if not firsts or len(argv) < 2 or argv[1].lower() not in firsts:
                return DENIED_COMMAND, 0
        if not self.allkeys and spec.key_specs:
            for i, need in key_access(spec, argv):
                if not self.key_allowed(argv[i], need):
                    return DENIED_KEY, i
        channels = _CHANNEL_ARGS.get(spec.name)
        if channels is not None and not self.allchannels:
            first, single, literal = channels
            for i in range(first, first + 1 if single else len(argv)):
                if not channel_matches(self.channels, argv[i], literal):
                    return DENIED_CHANNEL, i
        return None

    def key_allowed(self, key: bytes, need: int) -> bool:
        return any(flags & need == need and glob.match(pattern, key)
                   for pattern, flags in self.keys.items())


def key_access(spec, argv) -> list[tuple[int, int]]:
    """argv's keys with the access each needs (Redis's ACLSelectorCheckKey()): read for a key
    spec that ACCESSes the value, write for one that INSERTs, DELETEs or UPDATEs it, neither for
    a key only looked at (EXISTS, TYPE: any pattern that matches the key is enough)."""
    return [(i, _need(flags)) for i, flags in spec.keys_and_flags(argv)]


def _need(flags) -> int:
    need = READ if "ACCESS" in flags else 0
    if "INSERT" in flags or "DELETE" in flags or "UPDATE" in flags:
        need |= WRITE
    return need


def channel_matches(patterns, channel: bytes, literal: bool) -> bool:
    """Whether one of the patterns allows the channel; a literal one (a PSUBSCRIBE pattern)
    only when it is one of them (ACLCheckChannelAgainstList)."""
    if literal:
        return channel in patterns
    return any(glob.match(pattern, channel) for pattern in patterns)


# -- users ----------------------------------------------------------------------------------
class User(Selector):
    """A user as ACL SETUSER leaves it: its flags and passwords, its own rules (the root
    selector, which it is) and its other selectors."""
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "selectors")

    def __init__(self, name: bytes):
        super().__init__()
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = None        # "sanitize-payload", "skip-sanitize-payload" or None
        self.passwords = []         # SHA-256 hex digests
        self.selectors = []         # the `(...)` selectors, in the order they were added

    def copy(self) -> "User":
        other = User(self.name)
        other.assign(self)
        return other

    def assign(self, other: "User"):
        """Take other's rules, keeping this user's name (ACLCopyUser)."""
        super().assign(other)
        self.enabled, self.nopass, self.sanitize = other.enabled, other.nopass, other.sanitize
        self.passwords = other.passwords.copy()
        self.selectors = [selector.copy() for selector in other.selectors]

    @property
    def unrestricted(self) -> bool:
        return self.allcommands and self.allkeys and self.allchannels

    def authenticates(self, password: bytes) -> bool:
        if not self.enabled:
            return False
        if self.nopass:
            return True
        hashed = hash_password(password)
        return any(hmac.compare_digest(hashed, known) for known in self.passwords)

    # -- rules (ACLSetUser) ------------------------------------------------------------
    def apply(self, op: bytes):
        """Apply one rule; RuleError with Redis's text when it is refused."""
        if not op:
            return
        word = op.lower()
        if word in (b"on", b"off"):
            self.enabled = word == b"on"
        elif word in (b"sanitize-payload", b"skip-sanitize-payload"):
            self.sanitize = word.decode()
        elif word == b"nopass":
            self.nopass, self.passwords = True, []
        elif word == b"resetpass":
            self.nopass, self.passwords = False, []
        elif op[:1] in (b">", b"<", b"#", b"!"):
            self._password(op)
        elif op[:1] == b"(" and op[-1:] == b")":
            self.selectors.append(Selector.parse(op))
        elif word == b"clearselectors":
            self.selectors = []
        elif word == b"reset":
            channels = b"allchannels" if ALL_CHANNELS_BY_DEFAULT[0] else b"resetchannels"
            for rule in (b"resetpass", b"resetkeys", channels, b"off", b"sanitize-payload",
                         b"clearselectors", b"-@all"):
                self.apply(rule)
        else:
            super().apply(op)

    def _password(self, op: bytes):
        kind, value = op[:1], op[1:]
        if kind in b"><":
            hashed = hash_password(value)
        elif len(value) != 64 or any(c not in b"0123456789abcdef" for c in value):
            raise RuleError("The password hash must be exactly 64 characters and contain only "
                            "lowercase hexadecimal characters")
        else:
            hashed = value.decode()
        if kind in b">#":
            if hashed not in self.passwords:
                self.passwords.append(hashed)
            self.nopass = False
        elif hashed in self.passwords:
            self.passwords.remove(hashed)
        else:
            raise RuleError("The password you are trying to remove from the user does not exist")

    # -- the rules as text (ACLDescribeUser) -------------------------------------------
    def describe(self) -> bytes:
        """The user's rules as ACL LIST and the ACL file show them."""
        words = [*self.flags(), *(b"#" + hashed.encode() for hashed in self.passwords), super().describe(),
                 *(b"(%s)" % selector.describe() for selector in self.selectors)]
        return b" ".join(word for word in words if word)

    def flags(self) -> list:
        """ACL GETUSER's flags: on or off, nopass, the sanitize-payload choice."""
        flags = [b"on" if self.enabled else b"off"]
        if self.nopass:
            flags.append(b"nopass")
        if self.sanitize:
            flags.append(self.sanitize.encode())
        return flags

    # -- the permission check (ACLCheckAllUserCommandPerm) -----------------------------
    def denied(self, spec, argv) -> tuple[str, bytes] | None:
        """Why this user may not run argv: ("command" | "key" | "channel", the command's name
        or the refused argument), or None. With several selectors, one that allows it is
        enough; otherwise the worst refusal is named (a channel before a key before the
        command), at the last argument."""
        found = self.refusal(spec, argv)
        if found is None:
            return None
        for selector in self.selectors:
            other = selector.refusal(spec, argv)
            if other is None:
                return None
            found = max(found, other)
        rank, index = found
        return _REASONS[rank], spec.name.encode() if rank == DENIED_COMMAND else argv[index]


def default_user() -> User:
    """Redis's ACLCreateDefaultUser(): +@all ~* &* on nopass."""
    user = User(b"default")
    for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(rule)
    return user


def merge_selectors(rules: list) -> list:
    """Join a selector spread over several arguments (`(~a` `+get)`) into one rule, as
    ACLMergeSelectorArguments() does; RuleError carries the rule an unclosed one starts at."""
    merged, selector = [], None
    for rule in rules:
        if rule[:1] == b"(" and rule[-1:] != b")":     # another `(` starts the selector over
            selector, start = rule, rule
        elif selector is not None:
            selector += b" " + rule
            if rule[-1:] == b")":
                merged.append(selector)
                selector = None
        else:
            merged.append(rule)
    if selector is not None:
        raise RuleError(start)
    return merged

