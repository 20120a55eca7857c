"""ACL users as Redis 7.0 has them: rules, their description, the permission check, ACL LOG.

A user is a set of allowed commands (by full name: `get`, `config|get`), key patterns
with read/write permissions, channel patterns and SHA-256 password hashes. Rules apply
as ACLSetUser() applies them: `+config` allows the container and its subcommands,
`+@cat` every command of a category (categories are read from the command table, as
COMMAND INFO shows them), `+select|0` one first argument of an otherwise denied
command. ACL LIST rebuilds the rules from the allowed set with Redis 7.0's best-fit
search over categories, so it prints what Redis prints.

A client whose user may run everything has `client.acl = None`: the executor's check
costs one attribute test. Otherwise `client.acl` is the user and `check()` runs.

Channels are checked here too, for the commands Redis checks (PUBLISH, SUBSCRIBE …).

Left out: selectors (`(...)` rules) are refused, and a key's permission comes from the
command's flags, not from per-key specs: a read-only command needs read access to its
keys, a write command read and write access (Redis 7.0 asks some writes, like LPUSH or
DEL, for write access only; this is never more permissive).
"""
import hashlib
import hmac
import os
import time
from collections import deque
from functools import cache

from engine import glob
from engine.errors import RedisError, err
from engine.registry import COMMANDS

# ACL CAT's order (Redis's ACLCommandCategories).
CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
              "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
              "dangerous", "connection", "transaction", "scripting")

READ, WRITE = 1, 2
_KEY_PREFIX = {READ | WRITE: b"~", READ: b"%R~", WRITE: b"%W~"}

# Commands whose arguments are channels (Redis's ACLDoesCommandHaveChannels()):
# name -> (first channel, only one?, matched literally: PSUBSCRIBE names patterns).
_CHANNEL_ARGS = {"publish": (1, True, False), "spublish": (1, True, False),
                 "subscribe": (1, False, False), "ssubscribe": (1, False, False),
                 "psubscribe": (1, False, True)}

NOPERM_KEY = RedisError("NOPERM this user has no permissions to access one of the keys used as arguments")
NOPERM_CHANNEL = RedisError("NOPERM this user has no permissions to access one of the channels "
                            "used as arguments")
_EXEC_REASONS = {"command": "no permission to execute the command or subcommand",
                 "key": "no permission to touch the specified keys",
                 "channel": "no permission to access one of the channels used as arguments"}
LOG_GROUPING_MS = 60_000     # a denial within a minute of a like one bumps its count


def noperm_command(name: str) -> RedisError:
    return RedisError(f"NOPERM this user has no permissions to run the '{name}' command")


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
def _walk():
    """Every command and subcommand, containers before their subcommands."""
    for spec in COMMANDS.values():
        yield spec
        yield from spec.subcommands.values()


@cache
def _table() -> tuple[dict, dict]:
    """(category -> names of its commands, name -> the names `+name` / `-name` change: the
    command and its subcommands), built once the command table is complete."""
    from engine.commands.command import categories   # the one category mapping (imports every family)
    members = {category: [] for category in CATEGORIES}
    families = {}
    for spec in _walk():
        for category in categories(spec):
            members.setdefault(category[1:], []).append(spec.name)
        families[spec.name] = (spec.name, *(sub.name for sub in spec.subcommands.values()))
    return members, families


def _members() -> dict:
    return _table()[0]


def _family(name: str) -> tuple:
    return _table()[1][name]


def _all_names():
    return _table()[1].keys()


def category_commands(category: str) -> list:
    """ACL CAT category: the names of its commands and subcommands, in table order."""
    return _members()[category]


def find_command(name: bytes):
    """Redis's lookupCommandBySds() on the original table: `get`, `config|get`, or None."""
    parts = name.lower().split(b"|")
    spec = COMMANDS.get(parts[0]) if len(parts) <= 2 else None
    if spec is not None and len(parts) == 2:
        spec = spec.subcommands.get(parts[1])
    return spec


# -- users ----------------------------------------------------------------------------------
class User:
    __slots__ = ("name", "enabled", "nopass", "sanitize", "passwords", "allowed", "firstargs",
                 "future", "allcommands", "allkeys", "keys", "allchannels", "channels")

    def __init__(self, name: bytes):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.sanitize = None        # "sanitize-payload", "skip-sanitize-payload" or None
        self.passwords = []         # SHA-256 hex digests
        self.allowed = set()        # names of the commands and subcommands it may run
        self.firstargs = {}         # name -> first arguments allowed of an otherwise denied command
        self.future = False         # +@all's reserved bit: its rules start from +@all
        self.allcommands = False    # may run every command (no bit was cleared since +@all)
        self.allkeys = False
        self.keys = {}              # key pattern -> READ | WRITE
        self.allchannels = False
        self.channels = {}          # channel patterns (a dict keeps their order)

    def copy(self, name: bytes | None = None) -> "User":
        other = User(self.name if name is None else name)
        other.assign(self)
        return other

    def assign(self, other: "User"):
        """Take other's rules, keeping this user's name (ACLCopyUser)."""
        for field in self.__slots__[1:]:
            value = getattr(other, field)
            setattr(self, field, value.copy() if hasattr(value, "copy") else value)

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
        elif op[:1] in b"><#!":
            self._password(op)
        elif word == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels", b"off", b"sanitize-payload",
                         b"-@all"):
                self.apply(rule)
        elif word == b"clearselectors":
            pass                    # no selectors beside the root one
        elif op[:1] == b"(":
            raise RuleError("Selectors are not supported by this server")
        else:
            self._selector(op, word)

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

    def _selector(self, op: bytes, word: bytes):
        """The root selector's rules: keys, channels and commands (ACLSetSelector)."""
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
        elif op[:1] in b"~%":
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
            allowed = self.firstargs.setdefault(spec.name, [])
            if first.lower() not in allowed:
                allowed.append(first.lower())

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
        for name in _members()[category]:
            self.set_command(name, allow)

    # -- the rules as text (ACLDescribeUser) -------------------------------------------
    def describe(self) -> bytes:
        words = [b"on" if self.enabled else b"off"]
        if self.nopass:
            words.append(b"nopass")
        if self.sanitize:
            words.append(self.sanitize.encode())
        words += [b"#" + hashed.encode() for hashed in self.passwords]
        words.append(self.describe_keys())
        words.append(b"&*" if self.allchannels else b" ".join(
            [b"resetchannels", *(b"&" + p for p in self.channels)]))
        words.append(self.describe_commands())
        return b" ".join(word for word in words if word)

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
        fake = set() if additive else set(_all_names())
        left = set(self.allowed)     # what is still to explain (the categories are undone on it)
        members, applied = _members(), set()
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
        for spec in _walk():
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

    # -- the permission check ----------------------------------------------------------
    def denied(self, spec, argv) -> tuple[str, bytes] | None:
        """Why this user may not run argv: ("command" | "key" | "channel", the command's name
        or the refused argument), or None."""
        if not self.allcommands and not spec.no_auth and spec.name not in self.allowed:
            firsts = self.firstargs.get(spec.name)
            if not firsts or len(argv) < 2 or argv[1].lower() not in firsts:
                return "command", spec.name.encode()
        if not self.allkeys and "pubsub" not in spec.flags:    # a shard channel is no key here
            need = READ | WRITE if spec.write else READ
            try:
                positions = spec.key_positions(argv)
            except ValueError:          # the command itself refuses these arguments
                positions = ()
            for i in positions:
                if i < len(argv) and not self.key_allowed(argv[i], need):
                    return "key", argv[i]
        channels = _CHANNEL_ARGS.get(spec.name)
        if channels is not None and not self.allchannels:
            first, single, literal = channels
            for i in range(first, first + 1 if single else len(argv)):
                if not self.channel_allowed(argv[i], literal):
                    return "channel", argv[i]
        return None

    def key_allowed(self, key: bytes, need: int) -> bool:
        return any(flags & need == need and glob.match(pattern, key)
                   for pattern, flags in self.keys.items())

    def channel_allowed(self, channel: bytes, literal: bool) -> bool:
        if self.allchannels:
            return True
        if literal:
            return channel in self.channels
        return any(glob.match(pattern, channel) for pattern in self.channels)


def default_user() -> User:
    """Redis's ACLCreateDefaultUser(): +@all ~* &* on nopass."""
    user = User(b"default")
    for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
        user.apply(rule)
    return user


# -- what the executor, EXEC and Pub/Sub call --------------------------------------------------
def check(client, spec, argv):
    """Refuse argv with Redis's NOPERM error (and an ACL LOG entry) when the client's user
    may not run it. Called only for clients whose user is restricted (`client.acl`)."""
    found = client.acl.denied(spec, argv)
    if found is None:
        return
    reason, refused = found
    client.last_command = spec.name         # Redis names the refused command in the log's client info
    client.state.users.log_denial(client, reason, refused)
    if reason == "command":
        raise noperm_command(spec.name)
    raise NOPERM_KEY if reason == "key" else NOPERM_CHANNEL


def check_queued(client, spec, argv) -> RedisError | None:
    """EXEC's second look at a queued command (the user's rules may have changed since MULTI):
    the error that replaces its reply, or None when it may run."""
    user = client.acl
    found = user.denied(spec, argv) if user is not None else None
    if found is None:
        return None
    reason, refused = found
    client.state.users.log_denial(client, reason, refused)
    return RedisError("NOPERM ACLs rules changed between the moment the transaction was accumulated "
                      "and the EXEC call. This command is no longer allowed for the following "
                      "reason: " + _EXEC_REASONS[reason])


def channel_allowed(client, channel: bytes, is_pattern: bool) -> bool:
    """May the client's user name this channel (a PSUBSCRIBE pattern when is_pattern)?"""
    return client.acl is None or client.acl.channel_allowed(channel, is_pattern)


# -- the users table ----------------------------------------------------------------------------
class ACLFileError(Exception):
    """The ACL file cannot be loaded (the text is Redis's, for ACL LOAD and start-up)."""


class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "client_info")


class Users:
    """The server's users by name, the ACL LOG, and the default user that `requirepass` sets."""

    def __init__(self, state):
        self.state = state
        self.config = config = state.config
        self.table = {b"default": default_user()}
        self.log = deque()           # ACL LOG entries, newest first
        self.set_default_password(config["requirepass"])
        config.on_change("requirepass", self.set_default_password)
        if config["aclfile"]:
            self.load_file()

    @property
    def default(self) -> User:
        return self.table[b"default"]

    def set_default_password(self, password: str):
        """requirepass is the default user's password (ACLUpdateDefaultUserPassword())."""
        self.default.apply(b"resetpass")
        self.default.apply(b">" + password.encode() if password else b"nopass")

    def default_authenticated(self) -> bool:
        """Whether a new connection starts authenticated (the default user needs no password)."""
        return self.default.nopass and self.default.enabled

    def default_acl(self) -> User | None:
        """A new connection's `client.acl`: the default user while it is restricted."""
        return None if self.default.unrestricted else self.default

    def bind(self, client, user: User):
        """The client is now authenticated as user: its checks and its events' origin follow."""
        client.user = user.name.decode("utf-8", "replace")
        client.acl = None if user.unrestricted else user
        client.update_origin()

    def authenticate(self, client, name: bytes, password: bytes, command: bytes) -> bool:
        """AUTH / HELLO AUTH: bind the client to the user, or log the failure (reason auth)."""
        user = self.table.get(name)
        if user is None or not user.authenticates(password):
            self.log_denial(client, "auth", command, name)
            return False
        client.authenticated = True
        self.bind(client, user)
        return True

    def clients_of(self, name: bytes) -> list:
        text = name.decode("utf-8", "replace")
        return [c for c in self.state.clients.values() if c.user == text]

    def rebind(self, name: bytes):
        """After a user's rules changed: its clients' checks follow at once."""
        user = self.table[name]
        for client in self.clients_of(name):
            client.acl = None if user.unrestricted else user

    # -- changes ------------------------------------------------------------------------
    def set_user(self, current, name: bytes, rules: list):
        """ACL SETUSER: every rule applies or none (RuleError names the refused one)."""
        existing = self.table.get(name)
        staged = existing.copy() if existing is not None else User(name)
        for rule in rules:
            try:
                staged.apply(rule)
            except RuleError as exc:
                raise err("Error in ACL SETUSER modifier '%s': %s"
                          % (rule.decode("utf-8", "replace"), exc)) from None
        if existing is None:
            self.table[name] = staged
            return
        self._drop_subscribers(current, existing, staged)
        existing.assign(staged)
        self.rebind(name)

    def _drop_subscribers(self, current, before: User, after: User):
        """Clients subscribed to channels the user may no longer name are disconnected
        (ACLKillPubsubClientsIfNeeded())."""
        if after.allchannels or all(p in after.channels for p in before.channels):
            return
        victims = [c for c in self.clients_of(before.name)
                   if any(not after.channel_allowed(ch, False) for ch in (*c.channels, *c.shard_channels))
                   or any(not after.channel_allowed(p, True) for p in c.patterns)]
        disconnect(current, victims)

    def delete(self, current, names: list) -> int:
        """ACL DELUSER: the users' clients are disconnected."""
        if b"default" in names:
            raise err("The 'default' user cannot be removed")
        deleted = 0
        for name in names:
            if self.table.pop(name, None) is not None:
                self._logout(current, self.clients_of(name))
                deleted += 1
        return deleted

    def _logout(self, current, clients):
        for client in clients:
            client.authenticated = False
            self.bind(client, self.default)
        disconnect(current, clients)

    # -- ACL LOG ------------------------------------------------------------------------
    def log_denial(self, client, reason: str, obj: bytes, username: bytes | None = None):
        """Add an ACL LOG entry, or bump a like one of the last minute (addACLLogEntry())."""
        from engine.commands.connection import client_line   # CLIENT LIST's line, as Redis logs it
        now = time.time_ns() // 1_000_000
        context = "multi" if client.multi is not None or client.in_exec else "toplevel"
        username = client.user.encode() if username is None else username
        info = client_line(client, now / 1000)
        for i, entry in enumerate(self.log):
            if i == 10:
                break
            if (entry.reason, entry.context, entry.object, entry.username) == (reason, context, obj, username) \
                    and abs(now - entry.ctime) <= LOG_GROUPING_MS:
                del self.log[i]
                entry.count, entry.ctime, entry.client_info = entry.count + 1, now, info
                self.log.appendleft(entry)
                return
        entry = LogEntry()
        entry.count, entry.reason, entry.context, entry.object = 1, reason, context, obj
        entry.username, entry.ctime, entry.client_info = username, now, info
        self.log.appendleft(entry)
        while len(self.log) > self.config["acllog-max-len"]:
            self.log.pop()

    # -- the ACL file -------------------------------------------------------------------
    def save_file(self):
        """ACL SAVE: every user as a `user` line, written to a temporary file then renamed."""
        path = self.config["aclfile"]
        text = b"".join(b"user %s %s\n" % (name, user.describe()) for name, user in sorted(self.table.items()))
        temporary = "%s.tmp-%d-%d" % (path, os.getpid(), time.time_ns() // 1_000_000)
        try:
            with open(temporary, "wb") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except OSError:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    def load_file(self, current=None):
        """ACL LOAD (and start-up): all users of the file or, on any error, none (ACLFileError)."""
        path = self.config["aclfile"]
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError as exc:
            raise ACLFileError("Error loading ACLs, opening file '%s': %s" % (path, exc.strerror)) from None
        table, problems = parse_file(text, path)
        if problems:
            raise ACLFileError(problems + "WARNING: ACL errors detected, no change to the previously "
                                          "active ACL rules was performed")
        default = self.default
        default.assign(table.pop(b"default", None) or default_user())
        replaced = [c for c in self.state.clients.values() if c.user != "default"]
        self.table = {b"default": default, **table}
        self._logout(current, replaced)
        self.rebind(b"default")


def parse_file(text: bytes, path: str) -> tuple[dict, str]:
    """The users of an ACL file, and Redis's description of its errors ("" when none)."""
    table, problems = {}, []
    for number, line in enumerate(text.split(b"\n"), 1):
        words = line.strip(b" \t\r\n").split(b" ")
        if words == [b""]:
            continue
        if words[0] != b"user" or len(words) < 2:
            problems.append("%s:%d should start with user keyword followed by the username. " % (path, number))
            continue
        name = words[1]
        if has_spaces(name):
            problems.append("'%s:%d: username '%s' contains invalid characters. "
                            % (path, number, name.decode("utf-8", "replace")))
            continue
        if name in table:
            problems.append("WARNING: Duplicate user '%s' found on line %d. "
                            % (name.decode("utf-8", "replace"), number))
            continue
        user = table[name] = User(name)
        try:
            rules = merge_selectors(words[2:])
        except RuleError:
            problems.append("%s:%d: Unmatched parenthesis in selector definition." % (path, number))
            continue
        syntax_error = False
        for rule in rules:
            try:
                user.apply(rule.strip(b"\t\r\n"))
            except RuleError as exc:
                if str(exc) == UNKNOWN:
                    problems.append("%s:%d: Error in applying operation '%s': %s. "
                                    % (path, number, rule.decode("utf-8", "replace"), exc))
                elif not syntax_error:
                    problems.append("%s:%d: %s. " % (path, number, exc))
                    syntax_error = True
    return table, "".join(problems)


def merge_selectors(rules: list) -> list:
    """Join a selector spread over several arguments (`(~a` `+get)`) into one rule, as
    ACLMergeSelectorArguments() does; RuleError carries the rule an unclosed one starts at."""
    merged, selector = [], None
    for rule in rules:
        if selector is None and rule[:1] == b"(" and rule[-1:] != b")":
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


def disconnect(current, clients):
    """Close clients' connections; the current one after its reply (CLIENT KILL's way)."""
    for client in clients:
        if client is current:
            client.close_after_reply = True
        elif client.connection is not None:
            client.connection.close()
