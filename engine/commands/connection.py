"""Connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH and CLIENT."""
import time

from engine import errors
from engine.blocking import NEGATIVE_TIMEOUT
from engine.observe import may_replicate, redact
from engine.parsing import parse_db_index, parse_int, to_int
from engine.registry import command, container_docs, lookup
from engine.errors import RedisError
from engine.replies import NO_REPLY, OK, PONG, Map, Status, Verbatim

REDIS_VERSION = "7.0.15"     # the Redis whose behaviour we reproduce; INFO and HELLO report it

BAD_NAME = errors.err("Client names cannot contain spaces, newlines or special characters.")
NO_PASSWORD = errors.err("AUTH <password> called without any password configured for the default "
                         "user. Are you sure your configuration is correct?")
WRONGPASS = errors.RedisError("WRONGPASS invalid username-password pair or user is disabled.")


@command("ping", -1, "fast", group="connection", summary="Ping the server",
         since="1.0.0", complexity="O(1)", syntax="[message]")
def ping(client, argv):
    if len(argv) > 2:
        raise errors.wrong_arity("ping")
    if client.subscriptions and client.resp == 2:     # subscribed mode answers in an array
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "fast loading stale", group="connection", summary="Echo the given string",
         since="1.0.0", complexity="O(1)", syntax="message")
def echo(client, argv):
    return argv[1]


@command("select", 2, "loading stale fast", group="connection",
         summary="Change the selected database for the current connection", since="1.0.0",
         complexity="O(1)", syntax="index:integer")
def select(client, argv):
    client.select(parse_db_index(argv[1], len(client.keyspace.dbs)))
    return OK


@command("quit", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Close the connection", since="1.0.0", complexity="O(1)")
def quit(client, argv):
    client.close_after_reply = True
    return OK


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Reset the connection", since="6.2.0", complexity="O(1)")
def reset(client, argv):
    client.select(0)
    client.multi, client.multi_failed = None, False
    client.release()
    client.dirty = False
    client.resp = 2
    client.set_name(b"")
    client.reply_mode, client.no_evict = "on", False
    users = client.state.users
    client.authenticated = users.default_authenticated()
    users.bind(client, users.default)
    return Status("RESET")


def _check_password(client, user: bytes, password: bytes, command: bytes):
    """Authenticate as user (the events' origin names it from now on), or WRONGPASS."""
    if not client.state.users.authenticate(client, user, password, command):
        raise WRONGPASS


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Authenticate to the server", since="1.0.0",
         complexity="O(N) where N is the number of passwords defined for the user",
         syntax="[username] password")
def auth(client, argv):
    if len(argv) > 3:
        raise errors.SYNTAX
    if len(argv) == 2 and client.state.users.default.nopass:
        raise NO_PASSWORD
    user, password = (argv[1] if len(argv) == 3 else b"default"), argv[-1]
    redact(argv, *range(1, len(argv)))
    _check_password(client, user, password, argv[0])
    return OK


@command("hello", -1, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Handshake with Redis", since="6.0.0", complexity="O(1)",
         syntax="[protover:integer [AUTH username password] [SETNAME clientname]]")
def hello(client, argv):
    version = None
    if len(argv) >= 2:
        version = to_int(argv[1])
        if version is None:
            raise errors.err("Protocol version is not an integer or out of range")
        if not 2 <= version <= 3:
            raise errors.RedisError("NOPROTO unsupported protocol version")
    name = credentials = None
    i = 2
    while i < len(argv):
        option, more = argv[i].lower(), len(argv) - 1 - i
        if option == b"auth" and more >= 2:
            credentials = argv[i + 1], argv[i + 2]
            redact(argv, i + 1, i + 2)
            i += 3
        elif option == b"setname" and more >= 1:
            name = argv[i + 1]
            _validate_name(name)
            i += 2
        else:
            raise errors.err("Syntax error in HELLO option '%s'" % argv[i].decode("utf-8", "replace"))
    if credentials is not None:
        _check_password(client, *credentials, argv[0])
    if not client.authenticated:
        raise errors.RedisError("NOAUTH HELLO must be called with the client already authenticated, "
                                "otherwise the HELLO <proto> AUTH <user> <pass> option can be used "
                                "to authenticate the client and select the RESP protocol version "
                                "at the same time")
    if name is not None:
        client.set_name(name)
    if version is not None:
        client.resp = version
    return Map({b"server": b"redis", b"version": REDIS_VERSION.encode(), b"proto": client.resp,
                b"id": client.id, b"mode": b"standalone", b"role": b"master", b"modules": []})


# -- CLIENT ------------------------------------------------------------------------
container_docs("client", group="connection", summary="A container for client connection commands", since="2.4.0",
               complexity="Depends on subcommand.")


def _validate_name(name: bytes):
    """Redis's validateClientName(): printable ASCII without spaces."""
    if any(c < 33 or c > 126 for c in name):
        raise BAD_NAME


@command("client|id", 2, "noscript loading stale", group="connection",
         summary="Returns the client ID for the current connection", since="5.0.0", complexity="O(1)")
def client_id(client, argv):
    return client.id


@command("client|setname", 3, "noscript loading stale", group="connection",
         summary="Set the current connection name", since="2.6.9", complexity="O(1)",
         syntax="connection-name")
def client_setname(client, argv):
    _validate_name(argv[2])
    client.set_name(argv[2])
    return OK


@command("client|getname", 2, "noscript loading stale", group="connection",
         summary="Get the current connection name", since="2.6.9", complexity="O(1)")
def client_getname(client, argv):
    return client.name or None


def _client_type(raw: bytes) -> bytes:
    """A CLIENT LIST / KILL `TYPE` argument, lower-cased (`slave` is `replica`)."""
    kind = raw.lower()
    if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
        raise errors.err("Unknown client type '%s'" % raw.decode("utf-8", "replace"))
    return b"replica" if kind == b"slave" else kind


def client_type(client) -> bytes:
    """Redis's getClientType(): `pubsub` with any subscription, else `normal` (a MONITOR too)."""
    return b"pubsub" if client.subscriptions else b"normal"


def _flags(client) -> str:
    """CLIENT LIST's flag letters, in Redis 7.0's order; N for none."""
    tracking = client.tracking
    return "".join(letter for letter, on in (
        ("O", client.monitor), ("P", client.subscriptions), ("x", client.multi is not None),
        ("b", client.blocked is not None or client.connection in client.state.postponed),
        ("t", tracking is not None),
        ("B", tracking is not None and tracking.bcast), ("d", client.dirty),
        ("c", client.close_after_reply), ("e", client.no_evict)) if on) or "N"


def _output_bytes(client) -> int:
    """What the connection has not sent yet (omem)."""
    connection = client.connection
    if connection is None or connection.transport is None:
        return 0
    return connection.transport.get_write_buffer_size()


def client_line(client, now: float) -> bytes:
    """One line of CLIENT LIST, with Redis 7.0's fields (the buffer figures we do not keep are 0)."""
    return ("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
            "ssub=%d multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
            "omem=%d tot-mem=0 events=r cmd=%s user=%s redir=%d resp=%d" % (
                client.id, client.addr, client.laddr, client.fd,
                client.name.decode("utf-8", "replace"), now - client.created,
                now - client.last_active, _flags(client), client.db.index, len(client.channels),
                len(client.patterns), len(client.shard_channels),
                -1 if client.multi is None else len(client.multi), _output_bytes(client),
                client.last_command, client.user,
                -1 if client.tracking is None else client.tracking.redirect, client.resp)).encode()


@command("client|info", 2, "noscript loading stale", group="connection",
         summary="Returns information about the current client connection.", since="6.2.0",
         complexity="O(1)")
def client_info(client, argv):
    return Verbatim(client_line(client, time.time()) + b"\n")


@command("client|list", -2, "admin noscript loading stale", group="connection",
         summary="Get the list of client connections", since="2.4.0",
         complexity="O(N) where N is the number of client connections",
         syntax="[TYPE (NORMAL | MASTER | REPLICA | PUBSUB)] [ID client-id:integer [client-id:integer ...]]")
def client_list(client, argv):
    clients = list(client.state.clients.values())
    if len(argv) > 2:
        option = argv[2].lower()
        if option == b"type" and len(argv) == 4:
            kind = _client_type(argv[3])
            clients = [c for c in clients if client_type(c) == kind]
        elif option == b"id" and len(argv) >= 4:
            ids = set()
            for raw in argv[3:]:
                number = to_int(raw)
                if number is None or number <= 0:
                    raise errors.err("Invalid client ID")
                ids.add(number)
            clients = [c for c in clients if c.id in ids]
        else:
            raise errors.SYNTAX
    now = time.time()
    return Verbatim(b"".join(client_line(c, now) + b"\n" for c in clients))


@command("client|kill", -3, "admin noscript loading stale", group="connection",
         summary="Kill the connection of a client", since="2.4.0",
         complexity="O(N) where N is the number of client connections",
         syntax="ip-port | ([ID client-id:integer] | [TYPE (NORMAL | MASTER | SLAVE | REPLICA | PUBSUB)] | "
                "[USER username] | [ADDR ip-port] | [LADDR ip-port] | [SKIPME yes/no]) ...")
def client_kill(client, argv):
    clients = client.state.clients.values()
    if len(argv) == 3:                      # the old form: CLIENT KILL addr
        victims = [c for c in clients if c.addr.encode() == argv[2]]
        if not victims:
            raise errors.err("No such client")
        _kill(client, victims[:1])
        return OK
    if len(argv) % 2:
        raise errors.SYNTAX
    tests, skipme = [], True
    for i in range(2, len(argv), 2):
        option, value = argv[i].lower(), argv[i + 1]
        if option == b"id":
            number = to_int(value)
            if number is None or number <= 0:
                raise errors.err("client-id should be greater than 0")
            tests.append(lambda c, n=number: c.id == n)
        elif option == b"addr":
            tests.append(lambda c, v=value: c.addr.encode() == v)
        elif option == b"laddr":
            tests.append(lambda c, v=value: c.laddr.encode() == v)
        elif option == b"user":
            tests.append(lambda c, v=value: c.user.encode() == v)
        elif option == b"type":
            tests.append(lambda c, kind=_client_type(value): client_type(c) == kind)
        elif option == b"skipme":
            if value.lower() not in (b"yes", b"no"):
                raise errors.SYNTAX
            skipme = value.lower() == b"yes"
        else:
            raise errors.SYNTAX
    victims = [c for c in clients if all(test(c) for test in tests)
               and not (skipme and c is client)]
    _kill(client, victims)
    return len(victims)


def _kill(client, victims):
    for victim in victims:
        if victim is client:
            client.close_after_reply = True   # killing ourselves: the reply still goes out
        elif victim.connection is not None:
            victim.connection.close()


UNBLOCKED = RedisError("UNBLOCKED client unblocked via CLIENT UNBLOCK")


@command("client|unblock", -3, "admin noscript loading stale", group="connection",
         summary="Unblock a client blocked in a blocking command from a different connection",
         since="5.0.0", complexity="O(log N) where N is the number of client connections",
         syntax="client-id:integer [TIMEOUT | ERROR]")
def client_unblock(client, argv):
    if len(argv) > 4:
        raise errors.subcommand_arguments("client", argv[1])
    target = client.state.clients.get(parse_int(argv[2]))
    reason = argv[3].lower() if len(argv) > 3 else b"timeout"
    if reason not in (b"timeout", b"error"):
        raise errors.err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    if target is None or target.blocked is None:
        return 0
    reply = target.blocked.timeout_reply
    target.connection.unblocked((reply() if callable(reply) else reply) if reason == b"timeout" else UNBLOCKED)
    return 1


NOT_A_TIMEOUT_MS = errors.err("timeout is not an integer or out of range")


def parse_timeout_ms(raw: bytes) -> int:
    """A timeout in ms as Redis's getTimeoutFromObjectOrReply() reads it (CLIENT PAUSE, WAIT)."""
    value = parse_int(raw, NOT_A_TIMEOUT_MS)
    if value < 0:
        raise NEGATIVE_TIMEOUT
    return value


@command("client|pause", -3, "admin noscript loading stale", group="connection",
         summary="Stop processing commands from clients for some time", since="2.9.50", complexity="O(1)",
         syntax="timeout:integer [WRITE | ALL]")
def client_pause(client, argv):
    if len(argv) > 4:
        raise errors.subcommand_arguments("client", argv[1])
    mode = argv[3].lower() if len(argv) == 4 else b"all"
    if mode not in (b"write", b"all"):
        raise errors.err("CLIENT PAUSE mode must be WRITE or ALL")
    end = time.monotonic() + parse_timeout_ms(argv[2]) / 1000
    state = client.state
    if state.pause_mode and time.monotonic() >= state.pause_end:
        end_pause(state)
    # As Redis's pauseClients(): a pause only widens (WRITE to ALL) and lengthens.
    if state.pause_mode != "all":
        state.pause_mode = mode.decode()
    state.pause_end = client.keyspace.pause_end = max(state.pause_end, end)
    return OK


@command("client|unpause", 2, "admin noscript loading stale", group="connection",
         summary="Resume processing of clients that were paused", since="6.2.0",
         complexity="O(N) Where N is the number of paused clients")
def client_unpause(client, argv):
    end_pause(client.state)
    return OK


def end_pause(state):
    """The pause is over (CLIENT UNPAUSE, or its time passed): the held commands run, in the
    order their clients were paused."""
    state.pause_mode, state.pause_end = "", 0.0
    state.keyspace.pause_end = 0.0
    postponed, state.postponed = state.postponed, {}
    for connection in postponed:
        connection.unpaused()


def paused(client, argv) -> bool:
    """Whether CLIENT PAUSE holds this command (asked only while a pause is on): every command
    in ALL mode; in WRITE mode the writes and those that may replicate (EVAL, PUBLISH …), also
    inside MULTI, and an EXEC whose queue holds one. A MONITOR (a replica to Redis) runs on."""
    state = client.state
    if time.monotonic() >= state.pause_end:
        end_pause(state)
        return False
    if client.monitor:
        return False
    if state.pause_mode == "all":
        return True
    try:
        spec = lookup(argv)
    except RedisError:
        return False                # its error is not held back
    if spec.name == "exec" and client.multi:
        return any(may_replicate(queued) for queued, _ in client.multi)
    return may_replicate(spec)


@command("client|reply", 3, "noscript loading stale", group="connection",
         summary="Instruct the server whether to reply to commands", since="3.2.0", complexity="O(1)",
         syntax="ON | OFF | SKIP")
def client_reply(client, argv):
    """The connection drops the replies (server.connection); SKIP's own reply is dropped too, and
    `skip_next` becomes `skip` once it ran, so the command after it is the one skipped."""
    mode = argv[2].lower()
    if mode == b"on":
        client.reply_mode = "on"
        return OK
    if mode == b"off":
        client.reply_mode = "off"
    elif mode == b"skip":
        if client.reply_mode != "off":
            client.reply_mode = "skip_next"
    else:
        raise errors.SYNTAX
    return NO_REPLY


@command("client|no-evict", 3, "admin noscript loading stale", group="connection",
         summary="Set client eviction mode for the current connection", since="7.0.0", complexity="O(1)",
         syntax="ON | OFF")
def client_no_evict(client, argv):
    mode = argv[2].lower()
    if mode not in (b"on", b"off"):
        raise errors.SYNTAX
    client.no_evict = mode == b"on"
    return OK


@command("client|help", 2, "loading stale", group="connection",
         summary="Show helpful text about the different subcommands", since="5.0.0", complexity="O(1)")
def client_help(client, argv):
    return [Status(line) for line in (
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
        "HELP",
        "    Prints this help.")]
