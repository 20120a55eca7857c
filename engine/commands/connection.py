"""Connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH and CLIENT."""
import time

from engine import errors
from engine.parsing import parse_db_index, parse_int, to_int
from engine.registry import command, container_docs
from engine.errors import RedisError
from engine.replies import NULL_ARRAY, OK, PONG, Map, Status, Verbatim

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
    client.resp = 2
    client.authenticated = not client.state.config["requirepass"]
    return Status("RESET")


def _check_password(client, user: bytes, password: bytes):
    required = client.state.config["requirepass"]
    if user != b"default" or not required or password.decode("utf-8", "replace") != required:
        raise WRONGPASS
    client.authenticated = True


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group="connection",
         summary="Authenticate to the server", since="1.0.0",
         complexity="O(N) where N is the number of passwords defined for the user",
         syntax="[username] password")
def auth(client, argv):
    if len(argv) > 3:
        raise errors.SYNTAX
    if len(argv) == 2 and not client.state.config["requirepass"]:
        raise NO_PASSWORD
    user = argv[1] if len(argv) == 3 else b"default"
    _check_password(client, user, argv[-1])
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
            i += 3
        elif option == b"setname" and more >= 1:
            name = argv[i + 1]
            _validate_name(name)
            i += 2
        else:
            raise errors.err("Syntax error in HELLO option '%s'" % argv[i].decode("utf-8", "replace"))
    if credentials is not None:
        _check_password(client, *credentials)
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
    """A CLIENT LIST / KILL `TYPE` argument, lower-cased; every client here is `normal`."""
    kind = raw.lower()
    if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
        raise errors.err("Unknown client type '%s'" % raw.decode("utf-8", "replace"))
    return kind


def client_line(client, now: float) -> bytes:
    """One line of CLIENT LIST, with Redis 7.0's fields (buffer figures are ours or 0)."""
    flags = ("x" if client.multi is not None else "") + ("b" if client.blocked is not None else "")
    return ("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=0 psub=0 "
            "ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
            "omem=0 tot-mem=0 events=r cmd=%s user=%s redir=-1 resp=%d" % (
                client.id, client.addr, client.laddr, client.fd,
                client.name.decode("utf-8", "replace"), now - client.created,
                now - client.last_active, flags or "N", client.db.index,
                -1 if client.multi is None else len(client.multi), client.last_command,
                client.user, client.resp)).encode()


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
            if _client_type(argv[3]) != b"normal":
                clients = []
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
            tests.append(lambda c, normal=_client_type(value) == b"normal": normal)
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
        raise errors.err("unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP."
                         % argv[1].decode("utf-8", "replace")[:128])
    target = client.state.clients.get(parse_int(argv[2]))
    reason = argv[3].lower() if len(argv) > 3 else b"timeout"
    if reason not in (b"timeout", b"error"):
        raise errors.err("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    if target is None or target.blocked is None:
        return 0
    target.connection.unblocked(NULL_ARRAY if reason == b"timeout" else UNBLOCKED)
    return 1
