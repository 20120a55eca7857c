"""Redis's error replies, defined once. Handlers raise them; the server encodes them."""


class RedisError(Exception):
    """An error reply. `message` is the full text after the `-`, prefix included."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RedisError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)


def err(text: str) -> RedisError:
    """An `ERR ...` error."""
    return RedisError("ERR " + text)


WRONGTYPE = RedisError("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX = err("syntax error")
NOT_INTEGER = err("value is not an integer or out of range")
INT32_RANGE = err("value is out of range, value must between -2147483648 and 2147483647")
NOT_FLOAT = err("value is not a valid float")
OVERFLOW = err("increment or decrement would overflow")
NO_SUCH_KEY = err("no such key")
OUT_OF_RANGE = err("index out of range")
NOT_POSITIVE = err("value is out of range, must be positive")
NEGATIVE_LIMIT = err("LIMIT can't be negative")
DB_INDEX = err("DB index is out of range")
NOAUTH = RedisError("NOAUTH Authentication required.")
INVALID_EXPIRE = "invalid expire time in '{}' command"


def wrong_arity(name: str) -> RedisError:
    return err(f"wrong number of arguments for '{name}' command")


def unknown_command(argv) -> RedisError:
    # Redis quotes the arguments until the preview passes 128 characters.
    args = ""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += "'%s' " % _text(arg)[: 128 - len(args)]
    return err("unknown command '%s', with args beginning with: %s" % (_text(argv[0])[:128], args))


def unknown_subcommand(container: str, sub: bytes) -> RedisError:
    return err("unknown subcommand '%s'. Try %s HELP." % (_text(sub)[:128], container.upper()))


def subcommand_arguments(container: str, sub: bytes) -> RedisError:
    """A subcommand that exists, given arguments it cannot take."""
    return err("unknown subcommand or wrong number of arguments for '%s'. Try %s HELP."
               % (_text(sub)[:128], container.upper()))


def _text(b: bytes) -> str:
    # Error replies are single lines: Redis maps CR and LF to spaces.
    return b.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
