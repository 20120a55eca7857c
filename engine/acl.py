"""ACL's server side: the users table, the check the executor and EXEC call, ACL LOG and the
ACL file. A user and its rules are engine.acl_user.

A client whose user may run everything has `client.acl = None`: the executor's check
costs one attribute test. Otherwise `client.acl` is the user and `check()` runs.
"""
import os
import time
from collections import deque

from engine.acl_user import (ALL_CHANNELS_BY_DEFAULT, UNKNOWN, RuleError, User, channel_matches, default_user,
                             has_spaces, merge_selectors)
from engine.errors import RedisError, err

NOPERM_KEY = RedisError("NOPERM this user has no permissions to access one of the keys used as arguments")
NOPERM_CHANNEL = RedisError("NOPERM this user has no permissions to access one of the channels "
                            "used as arguments")
_EXEC_REASONS = {"command": "no permission to execute the command or subcommand",
                 "key": "no permission to touch the specified keys",
                 "channel": "no permission to access one of the channels used as arguments"}
LOG_GROUPING_MS = 60_000     # a denial within a minute of a like one bumps its count


def noperm_command(name: str) -> RedisError:
    return RedisError(f"NOPERM this user has no permissions to run the '{name}' command")


# -- what the executor and EXEC call ------------------------------------------------------------
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
    """EXEC's second look at a restricted client's queued command (the user's rules may have
    changed since MULTI): the error that replaces its reply, or None when it may run."""
    found = client.acl.denied(spec, argv)
    if found is None:
        return None
    reason, refused = found
    client.state.users.log_denial(client, reason, refused)
    return RedisError("NOPERM ACLs rules changed between the moment the transaction was accumulated "
                      "and the EXEC call. This command is no longer allowed for the following "
                      "reason: " + _EXEC_REASONS[reason])


# -- the users table ----------------------------------------------------------------------------
class ACLFileError(Exception):
    """The ACL file cannot be loaded (the text is Redis's, for ACL LOAD and start-up)."""


class LogEntry:
    """One ACL LOG entry: a denial, and how many like ones followed it (ACLLogEntry)."""
    __slots__ = ("count", "reason", "context", "object", "username", "ctime", "client_info")

    def __init__(self, reason: str, context: str, obj: bytes, username: bytes, ctime: int, client_info: bytes):
        self.count, self.reason, self.context, self.object = 1, reason, context, obj
        self.username, self.ctime, self.client_info = username, ctime, client_info


def _set_pubsub_default(value: str):
    ALL_CHANNELS_BY_DEFAULT[0] = value == "allchannels"


class Users:
    """The server's users by name, the ACL LOG, and the default user that `requirepass` sets."""

    def __init__(self, state):
        self.state = state
        self.config = config = state.config
        self.table = {b"default": default_user()}
        self.log = deque()           # ACL LOG entries, newest first
        self.set_default_password(config["requirepass"])
        config.on_change("requirepass", self.set_default_password)
        _set_pubsub_default(config["acl-pubsub-default"])
        config.on_change("acl-pubsub-default", _set_pubsub_default)
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
        """A new connection's `client.acl`."""
        return _checked(self.default)

    def bind(self, client, user: User):
        """The client is now authenticated as user: its checks and its events' origin follow."""
        client.user = user.name.decode("utf-8", "replace")
        client.acl = _checked(user)
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
        """The clients authenticated as the user (a scan: only ACL changes ask)."""
        text = name.decode("utf-8", "replace")
        return [c for c in self.state.clients.values() if c.user == text]

    def rebind(self, name: bytes):
        """After a user's rules changed: its clients' checks follow at once."""
        acl = _checked(self.table[name])
        for client in self.clients_of(name):
            client.acl = acl

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
        (ACLKillPubsubClientsIfNeeded()): all selectors' patterns together are what they may name."""
        selectors = (after, *after.selectors)
        if any(s.allchannels for s in selectors):
            return
        upcoming = {p for s in selectors for p in s.channels}
        if all(p in upcoming for s in (before, *before.selectors) for p in s.channels):
            return
        victims = [c for c in self.clients_of(before.name)
                   if any(not channel_matches(upcoming, ch, False) for ch in (*c.channels, *c.shard_channels))
                   or any(not channel_matches(upcoming, p, True) for p in c.patterns)]
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
        self.log.appendleft(LogEntry(reason, context, obj, username, now, info))
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


def _checked(user: User) -> User | None:
    """What `client.acl` holds for the user's clients: None when there is nothing to check."""
    return None if user.unrestricted else user


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


def disconnect(current, clients):
    """Close clients' connections; the current one after its reply (CLIENT KILL's way)."""
    for client in clients:
        if client is current:
            client.close_after_reply = True
        elif client.connection is not None:
            client.connection.close()
