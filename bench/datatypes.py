"""The data-type load: list, set, hash and sorted-set commands under redis-benchmark, each run on
data put in place first, and the fill of one large hash, set or sorted set for memory per element."""
import itertools
import random
from dataclasses import dataclass

from bench.workloads import CommandFailed, pipe, redis_benchmark

# A pop test's key is topped up to the run's requests plus this many elements, so no pop finds it
# empty even when the clients' last pipelines overshoot -n; after the run it must still hold some.
POP_MARGIN = 10_000
VALUE = b"VXK"   # what redis-benchmark's own LPUSH and HSET write (-d 3)
ADD = {"list": b"RPUSH", "set": b"SADD", "hash": b"HSET", "zset": b"ZADD"}
LENGTH = {"list": b"LLEN", "set": b"SCARD", "hash": b"HLEN", "zset": b"ZCARD"}
ELEMENT_KINDS = ("hash", "set", "zset")
_fills = itertools.count()   # each top-up adds members no earlier one added


@dataclass(frozen=True)
class TypeTest:
    name: str              # the table's row: redis-benchmark's own name for its built-in tests
    test: tuple            # redis-benchmark arguments: ("-t", name) or a command of its own
    sends: str             # what each request is, as redis-benchmark expands it
    kind: str = ""         # type and key of the data the test reads, put in place before the run
    key: bytes = b""
    size: int = 0          # elements the key must hold first (for pops: the run's requests + POP_MARGIN)
    pops: bool = False
    reply_len: int = 0     # when set, the command is sent once first and must return this many

    def preparation(self) -> str:
        if self.pops:
            return (f"{self.key.decode()} topped up to n + {POP_MARGIN:,} first "
                    "and checked non-empty after")
        if self.key:
            scored = f", scored 0..{self.size - 1}" if self.kind == "zset" else ""
            return (f"{self.key.decode()} holds >= {self.size:,} elements{scored} first; "
                    f"a reply checked to hold {self.reply_len}")
        return ""


# In this order, each a redis-benchmark run of its own, so every pop and range finds data; the
# built-in tests' keys and arguments are redis-benchmark 7's (see `redis-cli monitor`).
TYPE_TESTS = (
    TypeTest("LPUSH", ("-t", "lpush"), "LPUSH mylist VXK"),
    TypeTest("RPOP", ("-t", "rpop"), "RPOP mylist", "list", b"mylist", pops=True),
    # The command redis-benchmark's lrange_100 sends, without the n LPUSHes it runs first to fill mylist.
    TypeTest("LRANGE_100 (first 100 elements)", ("LRANGE", "mylist", "0", "99"), "LRANGE mylist 0 99",
             "list", b"mylist", size=100, reply_len=100),
    TypeTest("SADD", ("-t", "sadd"), "SADD myset element:__rand_int__"),
    TypeTest("SPOP", ("-t", "spop"), "SPOP myset", "set", b"myset", pops=True),
    TypeTest("HSET", ("-t", "hset"), "HSET myhash element:__rand_int__ VXK"),
    TypeTest("ZADD", ("-t", "zadd"), "ZADD myzset __rand_int__ element:__rand_int__"),
    TypeTest("ZPOPMIN", ("-t", "zpopmin"), "ZPOPMIN myzset", "zset", b"myzset", pops=True),
    # 1,000 members scored 0..999: the window seeks into the middle and LIMIT cuts it to 100.
    TypeTest("ZRANGE BYSCORE (100 elements)",
             ("ZRANGE", "zrange:1000", "400", "+inf", "BYSCORE", "LIMIT", "0", "100"),
             "ZRANGE zrange:1000 400 +inf BYSCORE LIMIT 0 100", "zset", b"zrange:1000",
             size=1000, reply_len=100),
)


def type_commands(port: int, requests: int, pipeline: int, clients: int) -> tuple:
    """(rps by test name, notes): a test the server fails (e.g. a command it lacks yet) gets
    nan and a note instead of stopping the benchmark."""
    results, notes = {}, []
    for test in TYPE_TESTS:
        try:
            _prepare(port, test, requests)
            run = redis_benchmark(port, requests, pipeline, clients, list(test.test))
            (results[test.name],) = run.values()
            if test.pops and not length(port, test.kind, test.key):
                notes.append(f"{test.name}: {test.key.decode()} ran empty during the run")
        except CommandFailed as exc:
            results[test.name] = float("nan")
            notes.append(f"{test.name}: {exc}")
    return results, notes


def _prepare(port: int, test: TypeTest, requests: int):
    if not test.key:
        return
    missing = (requests + POP_MARGIN if test.pops else test.size) - length(port, test.kind, test.key)
    if missing > 0:
        fill = next(_fills)
        pipe(port, adds(test.kind, test.key, [b"fill:%d:%d" % (fill, i) for i in range(missing)]))
    if test.reply_len:
        (reply,) = pipe(port, [[arg.encode() for arg in test.test]])
        if len(reply) != test.reply_len:
            raise CommandFailed(f"{test.sends} returned {len(reply)} elements, not {test.reply_len}")


def fill_elements(port: int, kind: str, count: int, key: bytes = b"elements"):
    """One `kind` key of `count` members element:000000000000, element:000000000001, …"""
    pipe(port, adds(kind, key, [b"element:%012d" % i for i in range(count)]))
    if (held := length(port, kind, key)) != count:
        raise RuntimeError(f"{key.decode()} holds {held:,} elements after adding {count:,}")


def adds(kind: str, key: bytes, members: list, per_command: int = 100):
    """Variadic RPUSH/SADD/HSET/ZADD commands putting `members` into `key`: hash fields get VALUE,
    zset members the scores 0..len-1 shuffled (seeded), so neither server inserts in score order."""
    scores = list(range(len(members))) if kind == "zset" else []
    random.Random(0).shuffle(scores)
    for start in range(0, len(members), per_command):
        argv = [ADD[kind], key]
        for i in range(start, min(start + per_command, len(members))):
            if kind == "hash":
                argv += (members[i], VALUE)
            elif kind == "zset":
                argv += (b"%d" % scores[i], members[i])
            else:
                argv.append(members[i])
        yield argv


def length(port: int, kind: str, key: bytes) -> int:
    (reply,) = pipe(port, [[LENGTH[kind], key]])
    return reply
