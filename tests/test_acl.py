"""ACL users as Redis 7.0 has them: rules and their description, selectors, NOPERM texts,
ACL LOG, AUTH as another user, the ACL file, and sweeps over every command of every category."""
import hashlib
import os

import pytest

from backends.memory import MemoryBackend
from engine import commands  # noqa: F401  (registers every family)
from engine import events
from engine.client import Client
from engine.config import Config
from engine.executor import execute
from engine.registry import COMMANDS, every_command
from engine.state import ServerState
from tests.servers import RawClient, RealRedis, parse_reply

NOAUTH = b"-NOAUTH Authentication required.\r\n"


def as_dict(flat: list) -> dict:
    """A RESP2 map reply (name, value, name, value …) as a dict, in its order."""
    return dict(zip(flat[::2], flat[1::2]))


def rules(text: bytes) -> list:
    """A user description with its single-command rules as a set, for the root rules and each
    `(...)` selector apart: Redis emits them in its command dict's order, which a random hash
    seed shuffles for every process."""
    single = lambda w: w[:1] in (b"+", b"-") and w[1:2] != b"@"   # noqa: E731
    parts = []
    for part in text.split(b" ("):
        words = part.removesuffix(b")").split(b" ")
        parts.append(([w for w in words if not single(w)], sorted(w for w in words if single(w))))
    return parts


def described(server_client, name):
    """GETUSER with its commands normalised, and the user's ACL LIST line."""
    reply = parse_reply(server_client.call("ACL", "GETUSER", name))
    if reply is None:
        return None
    fields = as_dict(reply)
    fields[b"commands"] = rules(fields[b"commands"])
    fields[b"selectors"] = [{**as_dict(s), b"commands": rules(as_dict(s)[b"commands"])}
                            for s in fields[b"selectors"]]
    lines = [rules(line) for line in parse_reply(server_client.call("ACL", "LIST")) if line.split(b" ")[1] == name.encode()]
    return fields, lines


@pytest.fixture
def acl(diff):
    """The differential pair, with every user but default removed and the ACL LOG emptied after."""
    yield diff
    for side in (diff.redis, diff.redwood):
        users = [u for u in parse_reply(side.call("ACL", "USERS")) if u != b"default"]
        if users:
            side.call("ACL", "DELUSER", *users)
        side.call("ACL", "SETUSER", "default", "on", "nopass", "~*", "&*", "+@all")
        side.call("ACL", "LOG", "RESET")


def login(port: int, user: str, password: str = "pw") -> RawClient:
    client = RawClient(port)
    assert client.call("AUTH", user, password) == b"+OK\r\n"
    return client


def pair(acl, user: str, password: str = "pw"):
    return login(acl_port(acl.redis), user, password), login(acl_port(acl.redwood), user, password)


def acl_port(raw: RawClient) -> int:
    return raw.sock.getpeername()[1]


def same(clients, *argv) -> bytes:
    theirs, ours = (c.call(*argv) for c in clients)
    assert ours == theirs, f"{argv!r}: Redis said {theirs!r}, Redwood said {ours!r}"
    return ours


# -- rules and their description ---------------------------------------------------------------
SETUSER_CASES = [
    "alice on >p1 ~k* %R~r* &ch* +get +@hash -hdel +config|get",
    "bob on nopass allkeys allchannels +@all -@dangerous",
    "carol reset",
    "dan on >x >y <x #" + "ab" * 32 + " !" + "ab" * 32,
    "erin ~a %R~a %W~b %RW~c %WR~d",
    "frank +@all -@hash +hset",
    "gina ON +GET +@HASH ALLKEYS RESETCHANNELS",
    "hank +select|0 +select|1",
    "ivan +@all -select +select|0",
    "judy skip-sanitize-payload nopass",
    "kate +@read -@read +@list -lpush nocommands +@string",
    "leo allcommands -config +config|get -flushall",
    "mia on nopass resetpass >a nopass",
    "ned +client -client|kill",
    "sel1 on >pw ~k* +get (~a* +get &c*) (%R~b* &ch +@hash -hdel) (%W~w* +@all -@dangerous)",
    "sel2 +@all (~x +set) clearselectors ( +get ~y ) (allkeys allchannels allcommands -debug)",
    "sel3 (~a +select|0 +select|1 +client|list) () ( ) (\"a) (nocommands resetkeys resetchannels)",
    "sel4 (~a +get) reset (~b",
    "sel5 (~a (+get ) (~d +config|get)",
    "sel6 (&x %RW~r %WR~s %R~t %W~u ~v +@read -get)",
]
SETUSER_ERRORS = [
    "x foo", "x +nosuch", "x +@nosuch", "x ~* ~a", "x &* &a", "x <nopw", "x #abc", "x +config|get|x",
    "x +get|", "x -select|0", "x %X~a", "x (~a", "x (~a +get", "x + ", "x on >ok -nosuch",
    "x (on)", "x (>pw)", "x (nopass)", "x (~a nosuch)", "x (+nosuch)", "x (~* ~a)", "x (&* &a)", "x (reset)",
    "x (clearselectors)", "x ((~a))", "x )", "x (~a (+get", "x (+config|get|x)", "x (~a) (-nosuch)", "x (\"\")",
    "x ( ~\"a b\" )", "x (~a) ( ", "x (%X~a)",
]


@pytest.mark.parametrize("case", SETUSER_CASES)
def test_setuser_then_getuser_and_list_like_redis(acl, case):
    name, *rules_ = case.split(" ")
    acl("ACL", "SETUSER", name, *rules_)
    assert described(acl.redwood, name) == described(acl.redis, name)


@pytest.mark.parametrize("case", SETUSER_ERRORS)
def test_setuser_errors_like_redis_and_change_nothing(acl, case):
    name, *rules_ = case.split(" ")
    acl("ACL", "SETUSER", name, *rules_)
    acl("ACL", "GETUSER", name)


def test_setuser_username_and_misc_errors(acl):
    acl.run([("ACL", "SETUSER", "a b", "on"), ("ACL", "SETUSER", "a\x00", "on"), "ACL GETUSER nosuch",
             "ACL DELUSER default", "ACL DELUSER nosuch other", "ACL CAT nosuch", "ACL CAT a b",
             "ACL GENPASS 0", "ACL GENPASS 4097", "ACL GENPASS abc", "ACL GENPASS 1 2", "ACL LOG abc",
             "ACL LOG -1", "ACL LOG 1 2", "ACL SAVE", "ACL LOAD", "ACL FOO", "ACL", "ACL WHOAMI x",
             "ACL SETUSER", "ACL USERS x", "ACL LIST x", "ACL HELP", "ACL WHOAMI", "ACL USERS",
             "ACL DRYRUN default", "ACL DRYRUN default get", "ACL DRYRUN default config",
             "ACL DRYRUN default config foo", "ACL DRYRUN default config|get x", "ACL DRYRUN nobody get k",
             "ACL DRYRUN default nocmd k"])
    assert [len(reply) for reply in acl.both("ACL", "GENPASS", "5")] == [len(b"$2\r\n47\r\n")] * 2
    assert len(acl.redwood.call("ACL", "GENPASS")) == len(b"$64\r\n\r\n") + 64


def test_setuser_on_an_existing_user_and_deluser(acl):
    acl.run(["ACL SETUSER u on >pw ~a* +get", "ACL SETUSER u ~b* -get +set", "ACL USERS",
             "ACL DELUSER u nosuch", "ACL USERS", "ACL DELUSER u"])


def test_acl_cat_lists_the_categories_and_their_commands(acl):
    categories = acl("ACL", "CAT")
    ours = {spec.name for spec in every_command()}
    redis_has = {n.decode() for n in parse_reply(acl.redis.call("COMMAND", "LIST"))}
    for category in parse_reply(categories):
        theirs = {n.decode() for n in parse_reply(acl.redis.call("ACL", "CAT", category))}
        mine = {n.decode() for n in parse_reply(acl.redwood.call("ACL", "CAT", category.upper()))}
        assert {n for n in mine if n.split("|")[0] in redis_has} == theirs & ours, category


# -- the check ------------------------------------------------------------------------------------
def test_noperm_texts_and_log_entries_like_redis(acl):
    acl("ACL", "SETUSER", "bob", "on", ">pw", "~k*", "%R~r*", "&ch*", "+get", "+mget", "+multi", "+exec",
        "+set", "+publish", "+subscribe", "+psubscribe", "+spublish")
    clients = pair(acl, "bob")
    for argv in [("GET", "x"), ("SET", "k", "v"), ("GET", "k"), ("DEL", "k"), ("MGET", "k1", "r1", "x"),
                 ("MGET", "k1", "r1"), ("GET", "r1"), ("SET", "r1", "v"), ("PUBLISH", "ch1", "m"),
                 ("PUBLISH", "other", "m"), ("SPUBLISH", "other", "m"), ("SUBSCRIBE", "ch1", "zz"),
                 ("PSUBSCRIBE", "ch1"), ("ACL", "WHOAMI"), ("CONFIG", "GET", "x"), ("AUTH", "bob", "bad"),
                 ("AUTH", "nosuch", "x"), ("ACL", "DRYRUN", "bob", "get", "x")]:
        same(clients, *argv)
    theirs, ours = (parse_reply(c.call("ACL", "LOG")) for c in (acl.redis, acl.redwood))
    assert len(ours) == len(theirs)
    for mine, their in zip(ours, theirs):
        mine, their = as_dict(mine), as_dict(their)
        assert list(mine) == list(their) == [b"count", b"reason", b"context", b"object", b"username",
                                             b"age-seconds", b"client-info"]
        for field in (b"count", b"reason", b"context", b"object", b"username"):
            assert mine[field] == their[field], field
        info = lambda text: dict(w.split(b"=", 1) for w in text.split(b" "))   # noqa: E731
        mine_info, their_info = info(mine[b"client-info"]), info(their[b"client-info"])
        assert list(mine_info) == list(their_info)
        for field in (b"cmd", b"user", b"flags", b"db", b"multi", b"resp"):
            assert mine_info[field] == their_info[field], field


def test_a_like_denial_bumps_the_count_and_the_log_is_capped(acl):
    acl("ACL", "SETUSER", "bob", "on", ">pw", "~k*", "+get")
    clients = pair(acl, "bob")
    for argv in [("GET", "x"), ("GET", "x"), ("SET", "k", "v"), ("GET", "y"), ("GET", "z")]:
        same(clients, *argv)
    assert [e[1] for e in parse_reply(acl.redwood.call("ACL", "LOG"))] == [1, 1, 1, 2]
    acl.run(["CONFIG SET acllog-max-len 2"])
    try:
        same(clients, "GET", "w")
        assert len(parse_reply(acl.redwood.call("ACL", "LOG"))) == len(parse_reply(acl.redis.call("ACL", "LOG"))) == 2
        assert len(parse_reply(acl.redwood.call("ACL", "LOG", "1"))) == 1
        acl.run(["ACL LOG RESET", "ACL LOG"])
    finally:
        acl.run(["CONFIG SET acllog-max-len 128"])


def test_inside_multi_the_check_is_at_queue_time(acl):
    acl("ACL", "SETUSER", "dan", "on", ">pw", "~k*", "+multi", "+get", "+set")
    clients = pair(acl, "dan")
    for argv in ["MULTI", "GET x", "SET k 1", "EXEC", "MULTI", "GET k", "EXEC", "EXEC", "PING"]:
        same(clients, *argv.split(" "))
    entry = as_dict(parse_reply(acl.redwood.call("ACL", "LOG", "1"))[0])
    assert entry[b"context"] == b"toplevel" and entry[b"object"] == b"ping"
    contexts = [as_dict(e)[b"context"] for e in parse_reply(acl.redwood.call("ACL", "LOG"))]
    assert contexts == [as_dict(e)[b"context"] for e in parse_reply(acl.redis.call("ACL", "LOG"))]


def test_exec_checks_again_what_the_rules_allow_now(acl):
    acl("ACL", "SETUSER", "carol", "on", ">pw", "~*", "&*", "+@all")
    clients = pair(acl, "carol")
    for argv in ["MULTI", "SET a 1", "GET a", "GET b"]:
        same(clients, *argv.split(" "))
    acl.run(["ACL SETUSER carol -set resetkeys ~a"])
    same(clients, "EXEC")
    theirs, ours = ([as_dict(e) for e in parse_reply(c.call("ACL", "LOG"))] for c in (acl.redis, acl.redwood))
    assert [(e[b"reason"], e[b"context"], e[b"object"]) for e in ours] == \
        [(e[b"reason"], e[b"context"], e[b"object"]) for e in theirs]


def test_auth_whoami_disabled_users_and_reset(acl):
    acl.run(["ACL SETUSER eve on >pw ~* &* +@all", "ACL SETUSER off-user off >pw +@all",
             "ACL SETUSER free on nopass +acl|whoami"])
    clients = RawClient(acl_port(acl.redis)), RawClient(acl_port(acl.redwood))
    for argv in ["ACL WHOAMI", "AUTH eve wrong", "AUTH off-user pw", "AUTH nosuch pw", "AUTH onlypass",
                 "AUTH eve pw", "ACL WHOAMI", "AUTH free anything", "ACL WHOAMI", "ACL USERS",
                 "HELLO 2 AUTH eve nope", "HELLO 2 AUTH eve pw SETNAME x", "CLIENT GETNAME", "ACL WHOAMI",
                 "RESET", "ACL WHOAMI"]:
        if argv.startswith("HELLO"):    # the client ids differ
            theirs, ours = (parse_reply(c.call(*argv.split(" "))) for c in clients)
            if isinstance(ours, list):
                ours[7] = theirs[7] = 0
            assert repr(ours) == repr(theirs)
        else:
            same(clients, *argv.split(" "))


def test_deleting_or_replacing_a_user_disconnects_its_clients(acl, shared_redwood):
    acl.run(["ACL SETUSER gone on >pw ~* +@all", "ACL SETUSER subscriber on >pw ~* &news* +@all"])
    victim = login(shared_redwood.port, "gone")
    bystander = login(shared_redwood.port, "subscriber")
    bystander.call("SUBSCRIBE", "news1")
    assert acl.redwood.call("ACL", "DELUSER", "gone") == b":1\r\n"
    assert victim.read_until_closed() == b""
    assert acl.redwood.call("ACL", "SETUSER", "subscriber", "&news*", "&other") == b"+OK\r\n"
    assert bystander.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"   # a wider list keeps it
    assert acl.redwood.call("ACL", "SETUSER", "subscriber", "resetchannels", "&other") == b"+OK\r\n"
    assert bystander.read_until_closed() == b""   # news1 is no longer allowed: dropped


def test_client_kill_user(acl, shared_redwood):
    acl("ACL", "SETUSER", "kim", "on", ">pw", "~*", "+@all")
    victim = login(shared_redwood.port, "kim")
    assert acl.redwood.call("CLIENT", "KILL", "USER", "kim") == b":1\r\n"
    assert victim.read_until_closed() == b""


def test_dryrun_like_redis(acl):
    acl("ACL", "SETUSER", "d", "on", "~k*", "%R~r*", "&ch*", "+@read", "+publish", "-hget", "+select|1")
    for argv in ["get k", "get x", "get r", "set k v", "hget k f", "publish ch1 m", "publish x m",
                 "select 1", "select 2", "mget k r x", "psubscribe ch*"]:
        acl("ACL", "DRYRUN", "d", *argv.split(" "))


# Key permissions follow the key spec that finds each key: read for ACCESS, write for INSERT,
# DELETE and UPDATE, any matching pattern for a key only looked at (EXISTS, TYPE).
KEY_SPEC_COMMANDS = [
    "LPUSH app:l a", "RPUSH both:l a b", "DEL app:1", "UNLINK ro:1", "GET app:1", "GET ro:1", "EXISTS app:1",
    "EXISTS other", "TYPE app:1", "OBJECT ENCODING app:l", "STRLEN ro:1", "INCR app:1", "EXPIRE app:1 10",
    "HSETNX app:h f v", "SET app:1 v", "SET app:1 v GET", "SET both:1 v GET", "SET ro:1 v", "GETDEL ro:1",
    "MSET app:1 v app:2 v", "MSET app:1 v ro:2 v", "LMOVE app:l app:d LEFT RIGHT",
    "LMOVE ro:l app:d LEFT RIGHT", "LMOVE both:l app:d LEFT RIGHT", "LMOVE both:l ro:d LEFT RIGHT",
    "LMPOP 1 app:l LEFT", "LMPOP 1 both:l LEFT", "LMPOP 0 app:l LEFT", "ZUNIONSTORE app:z 2 both:a ro:b",
    "ZUNIONSTORE app:z 2 app:a ro:b", "ZUNIONSTORE ro:z 1 ro:a", "ZUNIONSTORE app:z 0 app:a",
    "ZUNIONSTORE app:z 3 ro:a", "ZUNION 1 app:a", "ZINTERCARD 2 ro:a both:b", "SINTERSTORE app:d ro:a both:b",
    "SDIFFSTORE ro:d ro:a", "COPY ro:1 app:2", "COPY app:1 app:2", "RENAME both:l app:x", "RENAME app:x both:l",
    "SORT app:l STORE app:s", "SORT ro:l STORE app:s", "SORT both:l STORE ro:s", "SORT ro:l BY nosort",
    "SORT_RO ro:l", "SORT_RO app:l", "BITFIELD app:b SET u8 0 1", "BITFIELD ro:b GET u8 0",
    "BITFIELD ro:b GET u8 0 OVERFLOW SAT", "BITFIELD ro:b GET u8", "BITFIELD both:b INCRBY u8 0 1",
    "BITOP AND app:d ro:a both:b", "BITOP AND app:d app:a", "GETEX ro:1", "ZADD app:z 1 m", "ZPOPMIN app:z",
    "SMOVE both:s app:t m", "TOUCH app:1 ro:2", "WATCH other", "MEMORY USAGE app:none", "MEMORY USAGE other",
]


def test_key_permissions_follow_the_key_specs(acl):
    acl("ACL", "SETUSER", "w", "on", ">pw", "+@all", "%W~app:*", "%R~ro:*", "~both:*")
    clients = pair(acl, "w")
    for argv in KEY_SPEC_COMMANDS:
        acl("ACL", "DRYRUN", "w", *argv.split(" "))
        same(clients, *argv.split(" "))
    for argv in ["BLMPOP 0 1 app:l LEFT", "BLMOVE app:l app:d LEFT LEFT 0", "BZPOPMIN app:z 0",
                 "BRPOPLPUSH ro:l app:d 0"]:
        acl("ACL", "DRYRUN", "w", *argv.split(" "))
        same(clients, *argv.split(" "))     # refused, so it does not block
    for argv in ["BLMPOP 0 1 both:l LEFT", "BLMOVE both:l app:d LEFT LEFT 0", "BZPOPMAX both:z 0"]:
        acl("ACL", "DRYRUN", "w", *argv.split(" "))


# -- selectors ---------------------------------------------------------------------------------
SELECTOR_USER = ("ACL", "SETUSER", "sel", "on", ">pw", "~k*", "+get", "+set", "+multi", "+exec",
                 "(~a* +get +mget &c*)", "(%R~r* +mget +publish &p*)", "(~z* +publish +subscribe)")
SELECTOR_COMMANDS = ["GET k1", "GET a1", "GET r1", "SET k1 v", "SET a1 v", "SET r1 v", "MGET a1 r1",
                     "MGET r1 a1", "MGET k1 a1", "MGET a1 a2", "PUBLISH p1 m", "PUBLISH c1 m", "PUBLISH z m",
                     "SUBSCRIBE p1 c1", "DEL a1", "HGET z f", "SELECT 0"]


def test_a_selector_allows_what_the_root_rules_do_not(acl):
    """A command runs when one selector allows it with all its keys and channels; when none
    does, the NOPERM error and the ACL LOG name the worst refusal at the last argument."""
    acl(*SELECTOR_USER)
    clients = pair(acl, "sel")
    for argv in SELECTOR_COMMANDS:
        same(clients, *argv.split(" "))
    for argv in SELECTOR_COMMANDS:
        acl("ACL", "DRYRUN", "sel", *argv.split(" "))
    theirs, ours = ([as_dict(e) for e in parse_reply(c.call("ACL", "LOG"))] for c in (acl.redis, acl.redwood))
    assert [(e[b"count"], e[b"reason"], e[b"object"]) for e in ours] == \
        [(e[b"count"], e[b"reason"], e[b"object"]) for e in theirs]


def test_exec_checks_queued_commands_against_the_selectors(acl):
    acl(*SELECTOR_USER)
    clients = pair(acl, "sel")
    for argv in ["MULTI", "GET a1", "SET k1 v", "MGET r1 a1"]:
        same(clients, *argv.split(" "))
    acl.run(["ACL SETUSER sel clearselectors (~r* +mget)"])
    same(clients, "EXEC")


def test_a_refused_rule_leaves_the_selectors_as_they_were(acl):
    acl.run([SELECTOR_USER, "ACL SETUSER sel +select|1 (+select|1)",
             "ACL SETUSER sel (~b* +set) +select|5 (+nosuch)",
             "ACL SETUSER sel clearselectors (~b* +set) +select|5 foo"])
    assert described(acl.redwood, "sel") == described(acl.redis, "sel")
    acl.run(["ACL SETUSER sel clearselectors (~b* +set) +select|5 reset on >pw (~c* +get)"])
    assert described(acl.redwood, "sel") == described(acl.redis, "sel")


def test_selector_replies_in_resp3(acl):
    acl(*SELECTOR_USER)
    clients = RawClient(acl_port(acl.redis)), RawClient(acl_port(acl.redwood))
    for client in clients:
        client.call("HELLO", "3")
    theirs, ours = (parse_reply(c.call("ACL", "GETUSER", "sel")) for c in clients)
    assert list(ours) == list(theirs) and ours[b"keys"] == theirs[b"keys"]
    assert [(s[b"keys"], s[b"channels"]) for s in ours[b"selectors"]] == \
        [(s[b"keys"], s[b"channels"]) for s in theirs[b"selectors"]]
    same(clients, "ACL", "GETUSER", "default")


def test_subscribers_stay_while_a_selector_allows_their_channels(acl):
    acl.run(["ACL SETUSER sub on >pw ~* +@all resetchannels (&news* +subscribe)"])
    subscribers = pair(acl, "sub")
    same(subscribers, "SUBSCRIBE", "news1")
    acl.run(["ACL SETUSER sub (&other)"])
    same(subscribers, "PING")
    acl.run(["ACL SETUSER sub clearselectors &news1"])       # the same channel, from the root rules
    same(subscribers, "PING")
    acl.run(["ACL SETUSER sub resetchannels (&news*)"])
    same(subscribers, "PING")
    acl.run(["ACL SETUSER sub clearselectors"])
    assert [c.read_until_closed() for c in subscribers] == [b"", b""]


def test_requirepass_is_the_default_users_password(acl):
    try:
        acl.run(["CONFIG SET requirepass s3cret", "ACL LIST", "ACL GETUSER default", "AUTH wrong",
                 "AUTH s3cret", "AUTH default s3cret", "CONFIG SET requirepass", "CONFIG GET requirepass"])
        acl.run([("CONFIG", "SET", "requirepass", ""), "ACL LIST", "AUTH x"])
    finally:
        acl.both("CONFIG", "SET", "requirepass", "")


def test_a_password_on_the_default_user_asks_new_connections_to_auth(redwood_server):
    server = redwood_server.start()
    admin = server.raw()
    assert admin.call("ACL", "SETUSER", "default", "resetpass", ">pw") == b"+OK\r\n"
    newcomer = server.raw()
    assert newcomer.call("GET", "k") == NOAUTH
    assert newcomer.call("AUTH", "pw") == b"+OK\r\n"
    assert admin.call("ACL", "SETUSER", "default", "-flushall") == b"+OK\r\n"
    restricted = server.raw()
    assert restricted.call("AUTH", "pw") == b"+OK\r\n"
    assert restricted.call("FLUSHALL") == b"-NOPERM this user has no permissions to run the 'flushall' command\r\n"


def test_the_event_log_names_the_authenticated_user():
    state = ServerState(Config(), MemoryBackend())
    client = Client(state)
    execute(client, [b"ACL", b"SETUSER", b"writer", b"on", b">pw", b"~*", b"+@all"])
    execute(client, [b"SET", b"a", b"1"])
    assert execute(client, [b"AUTH", b"writer", b"pw"]) == "OK"
    execute(client, [b"SET", b"b", b"2"])
    execute(client, [b"HELLO", b"2", b"AUTH", b"default", b"x"])
    execute(client, [b"SET", b"c", b"3"])
    state.store.flush()
    logged = [events.decode(seq, raw) for seq, raw in state.backend.read(1)]
    assert [(e.argv[1], e.origin.user) for e in logged] == [
        (b"a", "default"), (b"b", "writer"), (b"c", "default")]


# -- the ACL file -----------------------------------------------------------------------------------
def test_save_and_load_without_an_acl_file(acl):
    acl.run(["ACL SAVE", "ACL LOAD"])


def test_acl_file_survives_a_restart(redwood_server, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("")
    server = redwood_server
    server.argv += ["--aclfile", str(path)]
    server.start()
    admin = server.raw()
    assert admin.call("ACL", "SETUSER", "app", "on", ">secret", "~app:*", "&app*", "-@all", "+@read",
                      "+set") == b"+OK\r\n"
    assert admin.call("ACL", "SETUSER", "default", "-debug") == b"+OK\r\n"
    before = parse_reply(admin.call("ACL", "LIST"))
    assert admin.call("ACL", "SAVE") == b"+OK\r\n"
    assert path.read_bytes() == b"".join(line + b"\n" for line in before)
    admin.close()
    server.stop()
    server.start()
    admin = server.raw()
    assert parse_reply(admin.call("ACL", "LIST")) == before
    app = login(server.port, "app", "secret")
    assert app.call("SET", "app:1", "v") == b"+OK\r\n"
    assert app.call("SET", "other", "v") == \
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    path.write_text("user default on nopass ~* &* +@all\n")
    assert admin.call("ACL", "LOAD") == b"+OK\r\n"
    assert app.read_until_closed() == b""          # its user was replaced: disconnected
    assert parse_reply(admin.call("ACL", "USERS")) == [b"default"]


def test_selectors_survive_the_acl_file(redwood_server, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user default on nopass ~* &* +@all\nuser f on >pw ~k* +get (~a* resetchannels &c -@all +set)"
                    " (  %R~r*   +get ) (~\"x\" +mget)\n")
    server = redwood_server
    server.argv += ["--aclfile", str(path)]
    server.start()
    admin = server.raw()
    before = parse_reply(admin.call("ACL", "LIST"))
    assert before[1] == (b"user f on #%s ~k* resetchannels -@all +get (~a* resetchannels &c -@all +set) "
                         b"(%%R~r* resetchannels -@all +get) (~x resetchannels -@all +mget)"
                         % hashlib.sha256(b"pw").hexdigest().encode())
    assert admin.call("ACL", "SAVE") == b"+OK\r\n"
    assert path.read_bytes() == b"".join(line + b"\n" for line in before)
    assert admin.call("ACL", "LOAD") == b"+OK\r\n"
    assert parse_reply(admin.call("ACL", "LIST")) == before
    user = login(server.port, "f")
    assert [user.call(*argv.split(" ")) for argv in ["SET a1 v", "GET r1", "MGET x", "SET r1 v"]] == [
        b"+OK\r\n", b"$-1\r\n", b"*1\r\n$-1\r\n",
        b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"]


BAD_FILES = [
    "user w (~a +get) (on)\nuser s on (~a +get) ( +set ~b )\nuser t (~a (+get )\nuser q (+nosuch) (+nope)\n",
    "user r ((~a))\nuser p (~a +get) ~\"x\" (~* ~y) ()\n",
    "user o (~b ((~a))\n",     # not `+get (~b`: a rule before an unclosed selector crashes Redis 7.0.15
    "user x on\n# comment\nfoo bar\nuser x off\nuser y +nosuch +nope\nuser y ~* ~a\n",
    'user "a b" on\n',
    "user z on ~* ~a <nopw\n",
    "user w (~a +get\n",
    "\n\n  user   v   on   \nuser default off\n",
    "",
]


def test_acl_load_errors_like_redis(redwood_server, workdir, tmp_path):
    theirs_path, ours_path = os.path.join(workdir, "theirs.acl"), str(tmp_path / "ours.acl")
    for path in (theirs_path, ours_path):
        with open(path, "w") as f:
            f.write("user default on nopass ~* &* +@all\n")
    redis_server = RealRedis(workdir, "--aclfile", theirs_path).start()
    server = redwood_server
    server.argv += ["--aclfile", ours_path]
    server.start()
    try:
        theirs, ours = redis_server.raw(), server.raw()
        for text in BAD_FILES:
            for path in (theirs_path, ours_path):
                with open(path, "w") as f:
                    f.write(text)
            expected = theirs.call("ACL", "LOAD").replace(theirs_path.encode(), b"PATH")
            assert ours.call("ACL", "LOAD").replace(ours_path.encode(), b"PATH") == expected, text
            assert parse_reply(ours.call("ACL", "LIST")) == parse_reply(theirs.call("ACL", "LIST")), text
        os.unlink(theirs_path)
        os.unlink(ours_path)
        assert ours.call("ACL", "LOAD").replace(ours_path.encode(), b"PATH") == \
            theirs.call("ACL", "LOAD").replace(theirs_path.encode(), b"PATH")
    finally:
        redis_server.stop()


# -- sweeps over the command table ------------------------------------------------------------------
def _runnable():
    """(spec, argv with the fewest arguments its arity allows) for every command and subcommand."""
    for spec in COMMANDS.values():
        if spec.handler is not None:
            yield spec, [spec.name] + ["k"] * (abs(spec.arity) - 1)
        for sub in spec.subcommands.values():
            yield sub, [spec.name, sub.name.split("|")[1]] + ["k"] * (abs(sub.arity) - 2)


def test_an_unauthenticated_client_may_run_only_the_no_auth_commands(redwood_server, workdir):
    server = redwood_server
    server.argv += ["--requirepass", "pw"]
    server.start()
    redis_server = RealRedis(workdir, "--requirepass", "pw").start()
    try:
        known = {n.decode() for n in parse_reply(_authed(redis_server).call("COMMAND", "LIST"))}
        ours, theirs = server.raw(), redis_server.raw()
        for spec, argv in _runnable():
            if spec.no_auth:
                continue        # AUTH, HELLO, QUIT, RESET: run before authenticating, as in Redis
            reply = ours.call(*argv)
            assert reply == (NOAUTH if spec.name != "exec" else
                             b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"), argv
            if spec.name in known:
                assert theirs.call(*argv) == reply, argv
        no_auth = {spec.name for spec, _ in _runnable() if spec.no_auth}
        assert no_auth == {"auth", "hello", "quit", "reset"}
    finally:
        redis_server.stop()


def _authed(server) -> RawClient:
    client = server.raw()
    client.call("AUTH", "pw")
    return client


def test_every_category_refuses_its_commands_and_only_them(redwood_server, real_redis):
    server = redwood_server.start()
    admin, redis_admin = server.raw(), real_redis.raw()
    known = {n.decode() for n in parse_reply(redis_admin.call("COMMAND", "LIST"))}
    try:
        for category in parse_reply(admin.call("ACL", "CAT")):
            name = "no-" + category.decode()
            for side in (admin, redis_admin):
                assert side.call("ACL", "SETUSER", name, "on", ">pw", "~*", "&*", "+@all",
                                 "-@" + category.decode()) == b"+OK\r\n"
            members = {n.decode() for n in parse_reply(admin.call("ACL", "CAT", category))}
            ours, theirs = login(server.port, name), login(real_redis.port, name)
            for spec, argv in _runnable():
                refused = f"NOPERM this user has no permissions to run the '{spec.name}' command\r\n".encode()
                refused = (b"-EXECABORT Transaction discarded because of: " if spec.name == "exec" else b"-") + refused
                dryrun = admin.call("ACL", "DRYRUN", name, *argv)
                if spec.name in known:
                    assert redis_admin.call("ACL", "DRYRUN", name, *argv) == dryrun, argv
                if spec.name not in members or spec.no_auth:
                    assert dryrun == b"+OK\r\n", (category, argv)
                    continue
                assert dryrun.startswith(b"$"), (category, argv)
                assert ours.call(*argv) == refused, (category, argv)
                if spec.name in known:
                    assert theirs.call(*argv) == refused, (category, argv)
            ours.close()
            theirs.close()
    finally:
        swept = [u for u in parse_reply(redis_admin.call("ACL", "USERS")) if u.startswith(b"no-")]
        if swept:
            redis_admin.call("ACL", "DELUSER", *swept)
        redis_admin.call("ACL", "LOG", "RESET")


def test_resp3_replies_like_redis(acl):
    acl("ACL", "SETUSER", "r3", "on", ">pw", "~k*", "&c", "-@all", "+get")
    clients = RawClient(acl_port(acl.redis)), RawClient(acl_port(acl.redwood))
    for client in clients:
        client.call("HELLO", "3")
    for argv in ["ACL GETUSER r3", "ACL GETUSER default", "ACL LIST", "ACL CAT", "ACL LOG 0",
                 "ACL DRYRUN r3 get x", "ACL WHOAMI"]:
        same(clients, *argv.split(" "))
    r3 = pair(acl, "r3")
    same(r3, "GET", "x")
    theirs, ours = (c.call("ACL", "LOG", "1") for c in clients)
    assert ours[:ours.index(b"age-seconds")] == theirs[:theirs.index(b"age-seconds")]
    assert ours[ours.index(b"age-seconds"):].split(b"\r\n")[1][:1] == b","    # a RESP3 double


def test_acl_pubsub_default_allchannels_like_redis(acl):
    """New users, new selectors and `reset` start from `acl-pubsub-default`."""
    try:
        acl("CONFIG", "SET", "acl-pubsub-default", "allchannels")
        acl("CONFIG", "GET", "acl-pubsub-default")
        acl("ACL", "SETUSER", "ps1", "on")
        acl("ACL", "SETUSER", "ps2", "on", "(~x +get)")
        acl("ACL", "SETUSER", "ps3", "on", "&a", "reset")
        for name in ("ps1", "ps2", "ps3"):
            assert described(acl.redwood, name) == described(acl.redis, name)
        acl("CONFIG", "SET", "acl-pubsub-default", "sometimes")
    finally:
        acl("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
    acl("ACL", "SETUSER", "ps4", "on")
    assert described(acl.redwood, "ps4") == described(acl.redis, "ps4")
