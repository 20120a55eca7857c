"""Connection commands: PING, ECHO, SELECT, QUIT."""
from engine import errors
from engine.parsing import to_int
from engine.registry import command
from engine.replies import OK, PONG


@command("ping", -1, "fast sentinel", group="connection", summary="Returns the server's liveliness response.",
         since="1.0.0", complexity="O(1)", syntax="[message]")
def ping(client, argv):
    if len(argv) > 2:
        raise errors.wrong_arity("ping")
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "fast", group="connection", summary="Returns the given string.",
         since="1.0.0", complexity="O(1)", syntax="message")
def echo(client, argv):
    return argv[1]


@command("select", 2, "loading stale fast", group="connection",
         summary="Changes the selected database.", since="1.0.0", complexity="O(1)", syntax="index:integer")
def select(client, argv):
    index = to_int(argv[1])
    if index is None:
        raise errors.err("invalid DB index")
    if not 0 <= index < len(client.keyspace.dbs):
        raise errors.DB_INDEX
    client.select(index)
    return OK


@command("quit", -1, "noscript loading stale fast no-auth allow-busy", group="connection",
         summary="Closes the connection.", since="1.0.0", complexity="O(1)", doc_flags="deprecated")
def quit(client, argv):
    client.close_after_reply = True
    return OK
