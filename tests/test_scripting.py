"""Scripts on Redwood alone: the clients that depend on them (redis-py's Lock, a token-bucket
rate limiter) run unchanged; a busy script, SCRIPT KILL and UNKILLABLE; a script's effects are
one FLAG_MULTI batch in the log, survive kill -9 and reach a replica."""
import time

import pytest
import redis
from redis.exceptions import LockError, LockNotOwnedError

from engine import events
from tests.servers import Redwood, encode_command, open_store
from tests.test_replication import replica_of, servers, wait_synced  # noqa: F401  (fixture)

BUSY = b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n"
UNKILLABLE = (b"-UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
              b"either wait the script termination or kill the server in a hard way using the SHUTDOWN "
              b"NOSAVE command.\r\n")
LOOP = "local i = 0 while true do i = i + 1 end"
KILLED = b"-ERR Script killed by user with SCRIPT KILL... script: %s, on @user_script:1.\r\n"


def test_redis_py_lock(r):
    lock = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert lock.acquire()
    assert r.get("resource") == lock.local.token
    other = r.lock("resource", timeout=5, blocking_timeout=0.2)
    assert not other.acquire()                       # blocking, then timed out
    assert lock.extend(10)
    assert 10_000 < r.pttl("resource") <= 15_000
    assert lock.extend(3, replace_ttl=True)
    assert r.pttl("resource") <= 3_000
    assert lock.reacquire()
    assert 3_000 < r.pttl("resource") <= 5_000
    lock.release()
    assert not r.exists("resource")
    with pytest.raises(LockError):
        lock.release()
    assert other.acquire()
    r.set("resource", "stolen")
    with pytest.raises(LockNotOwnedError):
        other.extend(1)
    with pytest.raises(LockNotOwnedError):
        other.release()
    assert r.get("resource") == b"stolen"


TOKEN_BUCKET = """
local key, rate, capacity, now, requested = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local bucket = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(bucket[1]) or capacity
local ts = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = tokens >= requested
if allowed then tokens = tokens - requested end
redis.call('HSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000))
return {allowed and 1 or 0, tostring(tokens)}
"""


def test_token_bucket_rate_limiter(r):
    limit = r.register_script(TOKEN_BUCKET)
    answers = [limit(keys=["bucket"], args=[1, 3, 100, 1]) for _ in range(4)]
    assert answers == [[1, b"2"], [1, b"1"], [1, b"0"], [0, b"0"]]
    assert limit(keys=["bucket"], args=[1, 3, 102, 1]) == [1, b"1"]     # two seconds refill two tokens
    assert r.hgetall("bucket") == {b"tokens": b"1", b"ts": b"102"}
    assert 0 < r.pttl("bucket") <= 3000


def _start_script(server, body):
    """A client running body (not waiting for its reply) and another that sees it busy."""
    caller, other = server.raw(), server.raw()
    assert other.call("CONFIG", "SET", "busy-reply-threshold", "50") == b"+OK\r\n"
    caller.send_raw(encode_command(["EVAL", body, "0"]))
    deadline = time.monotonic() + 30
    while (reply := other.call("PING")) != BUSY:
        assert reply == b"+PONG\r\n" and time.monotonic() < deadline, reply
        time.sleep(0.01)
    return caller, other


def test_busy_script_and_script_kill(shared_redwood):
    caller, other = _start_script(shared_redwood, LOOP)
    assert other.call("GET", "x") == BUSY
    assert other.call("MULTI") == b"+OK\r\n"                    # allow_busy
    assert other.call("SET", "a", "1") == BUSY
    assert other.call("EXEC") == b"-EXECABORT Transaction discarded because of: " + BUSY[1:]
    assert other.call("SCRIPT", "KILL") == b"+OK\r\n"
    sha = b"3fcf51a9b854b8f66cb8685600b0d7df968f4398"
    assert caller.read_reply() == KILLED % sha
    assert other.call("SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    assert other.call("PING") == b"+PONG\r\n"
    assert caller.call("PING") == b"+PONG\r\n"


def test_kill_reaches_a_script_that_traps_errors(shared_redwood):
    caller, other = _start_script(shared_redwood, "while true do pcall(function() local i = 0 "
                                                  "while true do i = i + 1 end end) end")
    assert other.call("SCRIPT", "KILL") == b"+OK\r\n"
    assert caller.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL...")


def test_unkillable_after_a_write(tmp_path):
    server = Redwood(str(tmp_path)).start()
    try:
        caller, other = _start_script(server, "redis.call('set', 'w', '1') " + LOOP)
        assert other.call("SCRIPT", "KILL") == UNKILLABLE
        assert other.call("GET", "w") == BUSY
    finally:
        server.kill()                                # the script never ends: kill -9


def test_script_effects_are_one_multi_batch_and_survive_kill_9(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = Redwood(str(data), "--appendfsync", "always").start()
    client = server.client()
    body = ("redis.call('set', 'a', '1') redis.call('incrby', 'a', 5) redis.call('rpush', 'l', 'x', 'y') "
            "redis.call('get', 'a') return redis.call('time')[1] ~= nil")
    assert client.eval(body, 0) == 1
    assert client.eval("return redis.call('get', 'a')", 0) == b"6"   # writes nothing, logs nothing
    server.kill()
    backend = open_store(str(data))
    try:
        logged = [events.decode(seq, record) for seq, record in backend.read(1)]
    finally:
        backend.close()
    assert [event.argv for event in logged] == [[b"set", b"a", b"1"], [b"incrby", b"a", b"5"],
                                                 [b"rpush", b"l", b"x", b"y"]]
    assert all(event.flags & events.FLAG_MULTI for event in logged)
    server.restart()
    client = server.client()
    assert client.get("a") == b"6" and client.lrange("l", 0, -1) == [b"x", b"y"]
    server.stop()


def test_script_effects_reach_a_replica(servers):  # noqa: F811
    primary = servers("primary")
    replica = replica_of(servers, "replica", primary)
    client = primary.client()
    client.eval("for i = 1, 10 do redis.call('hset', KEYS[1], 'f' .. i, i) end "
                "redis.call('spop', KEYS[2]) return 1", 2, "h", "s")
    client.sadd("s2", "only")
    client.eval("redis.call('spop', KEYS[1]) redis.call('expire', KEYS[2], 100)", 2, "s2", "h")
    wait_synced(primary, replica)
    with replica.client() as follower:
        assert follower.hgetall("h") == client.hgetall("h") and follower.hlen("h") == 10
        assert not follower.exists("s2") and 0 < follower.ttl("h") <= 100
        assert follower.execute_command("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db") == [0]


def test_lua_time_limit_is_busy_reply_threshold(r):
    assert r.config_set("lua-time-limit", 1234)
    assert r.config_get("busy-reply-threshold") == {"busy-reply-threshold": "1234"}
    r.config_set("busy-reply-threshold", 5000)


def test_script_errors_are_redis_errors(r):
    with pytest.raises(redis.ResponseError, match="Unknown Redis command called from script"):
        r.eval("return redis.call('nosuch')", 0)


def test_info_memory_counts_scripts_and_functions(redwood_server):
    client = redwood_server.start().client()
    before = client.info("memory")
    assert before["number_of_cached_scripts"] == 0 and before["number_of_libraries"] == 0
    client.script_load("return 1")
    client.function_load("#!lua name=lib\nredis.register_function('f1', function() return 1 end)\n"
                         "redis.register_function('f2', function() return 2 end)")
    after = client.info("memory")
    assert after["number_of_cached_scripts"] == 1 and after["used_memory_scripts_eval"] == len("return 1")
    assert (after["number_of_libraries"], after["number_of_functions"]) == (1, 2)
    assert after["used_memory_scripts"] == after["used_memory_scripts_eval"] + after["used_memory_functions"] > 8
    assert after["used_memory_lua"] > 0
