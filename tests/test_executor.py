"""The executor: Redis's checks before a handler runs, and containment of a handler's bug."""
from backends.memory import MemoryBackend
from engine import commands  # noqa: F401
from engine.client import Client
from engine.config import Config
from engine.errors import RedisError
from engine.executor import execute
from engine.registry import COMMANDS, CommandSpec
from engine.state import ServerState


def client():
    return Client(ServerState(Config(), MemoryBackend()))


def test_a_handler_bug_fails_only_its_reply():
    def broken(client, argv):
        return 1 // 0
    COMMANDS[b"broken"] = CommandSpec("broken", broken, 1, frozenset())
    try:
        c = client()
        reply = execute(c, [b"BROKEN"])
        assert isinstance(reply, RedisError) and reply.message.startswith("ERR internal error")
        assert execute(c, [b"PING"]) == "PONG"
    finally:
        del COMMANDS[b"broken"]


def test_unknown_and_arity_come_before_auth():
    config = Config()
    config.load("requirepass", "pw")
    c = Client(ServerState(config, MemoryBackend()))
    assert execute(c, [b"NOPE"]).message.startswith("ERR unknown command 'NOPE'")
    assert execute(c, [b"GET"]).message == "ERR wrong number of arguments for 'get' command"
    assert execute(c, [b"GET", b"k"]).message == "NOAUTH Authentication required."
    assert execute(c, [b"AUTH", b"pw"]) == "OK"
    assert execute(c, [b"GET", b"k"]) is None
