"""EVAL and its kin against real Redis: conversions both ways, error texts with their line
numbers, the sandbox, the script cache, read-only scripts and RESP3. Each case is a list of
argv tuples run on an empty keyspace; the replies must be the same bytes."""
import pytest

from tests.conftest import run_steps


def ev(body, *keys_then_args, numkeys=None):
    """EVAL body numkeys keys… args… (numkeys: all the extra arguments are keys unless given)."""
    extra = list(keys_then_args)
    return ("EVAL", body, str(len(extra) if numkeys is None else numkeys), *extra)


CASES = {
    # Lua → RESP
    "numbers": [ev("return 3.99"), ev("return -3.99"), ev("return 1e20"), ev("return -1e20"),
                ev("return 0/0"), ev("return 1/0"), ev("return 2^53"), ev("return 0")],
    "scalars": [ev("return 'x'"), ev("return true"), ev("return false"), ev("return nil"), ev("return"),
                ev("return function() end"), ev("return coroutine.create(function() end)")],
    "tables": [ev("return {1, 2, 3.7, nil, 5}"), ev("return {1, {2, {'a', true, false}}, {ok='fine'}, {err='bad'}}"),
               ev("return {}"), ev("return {a=1}"), ev("return {1, 'a', {}, 2}"), ev("return {false, 1}"),
               ev("return {ok='x', err='y'}"), ev("return {err=3}"), ev("return {ok=3}")],
    "status-and-error-tables": [ev("return {err='My Error'}"), ev("return {ok='FINE'}"), ev("return {err=''}"),
                                ev("return {ok=''}"), ev("return {err='a\\r\\nb'}"), ev("return {ok='a\\r\\nb'}")],
    "reply-helpers": [ev("return redis.error_reply('boom')"), ev("return redis.error_reply('-boom x')"),
                      ev("return redis.error_reply('MYERR boom')"), ev("return redis.error_reply('')"),
                      ev("return {redis.error_reply('x')}"), ev("return redis.status_reply('FINE')"),
                      ev("return redis.error_reply()"), ev("return redis.error_reply(1)"),
                      ev("return redis.status_reply()"), ev("return redis.status_reply(1)")],
    "resp3-tables-to-resp2": [ev("return {double=3.5}"), ev("return {double=3}"), ev("return {double='x'}"),
                              ev("return {big_number='123456789012345678901234567890'}"),
                              ev("return {map={a=1}}"), ev("return {set={a=true}}"),
                              ev("return {verbatim_string={format='txt', string='hi'}}"),
                              ev("redis.setresp(3) return true"), ev("redis.setresp(3) return false")],
    # RESP → Lua
    "command-replies": [("HSET", "h", "a", "1"), ("SADD", "s", "x"), ("ZADD", "z", "1.5", "m"),
                        ev("return redis.call('set', 'k', 'v')"), ev("return redis.call('get', 'k')"),
                        ev("return redis.call('get', 'nokey')"), ev("return redis.call('get', 'nokey') == false"),
                        ev("return redis.call('incr', 'n')"), ev("return redis.call('ping')"),
                        ev("return redis.call('hgetall', 'h')"), ev("return redis.call('zrange', 'z', 0, -1, 'withscores')"),
                        ev("return redis.call('zscore', 'z', 'm')"), ev("return type(redis.call('ping'))"),
                        ev("return redis.call('ping').ok"), ev("return redis.call('exists', 'h', 'k', 'no')")],
    "resp3-command-replies": [("HSET", "h", "a", "1"), ("SADD", "s", "x"), ("ZADD", "z", "1.5", "m"),
                              ev("redis.setresp(3) return redis.call('hgetall', 'h')"),
                              ev("redis.setresp(3) return redis.call('hgetall', 'h').map.a"),
                              ev("redis.setresp(3) return redis.call('smembers', 's')"),
                              ev("redis.setresp(3) return redis.call('zscore', 'z', 'm')"),
                              ev("redis.setresp(3) return redis.call('zscore', 'z', 'm').double"),
                              ev("redis.setresp(3) return redis.call('get', 'nokey') == nil"),
                              ev("redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')"),
                              ev("redis.setresp(3) return {redis.call('sismember', 's', 'x')}")],
    "arguments": [ev("redis.call('set', 'a', 3.5) redis.call('set', 'b', 1e20) redis.call('set', 'c', 12345678901234567)"
                     " return redis.call('mget', 'a', 'b', 'c')"),
                  ev("return redis.call('SET', 'k', 1.0)"), ev("return redis.call('GET', 'k')"),
                  ev("return redis.call('set', KEYS[1], ARGV[1])", "key", "val", numkeys=1),
                  ev("return {KEYS[1], ARGV[1], #KEYS, #ARGV}", "k", "a", numkeys=1),
                  ev("return redis.call('get', KEYS[1])", "key")],
    # errors of redis.call and redis.pcall
    "call-errors": [ev("return redis.call('get')"), ev("return redis.call('nosuch')"), ev("return redis.pcall('nosuch')"),
                    ev("return redis.call('set', 'x')"), ev("return redis.call('set', {}, 1)"),
                    ev("return redis.call('set', 'k', true)"), ev("return redis.call('set', 'k', nil)"),
                    ev("return redis.call()"), ev("return redis.pcall()"), ev("return redis.call(1)"),
                    ev("return redis.call(nil)"), ev("return redis.pcall('set', {}, 1)"),
                    ev("return redis.call('ping', 'a', 'b')"), ev("return redis.call('config')"),
                    ev("return redis.call('config', 'nosuch')"),
                    ev("local r = redis.pcall('lpush') return r.err"),
                    ev("local e = redis.pcall('incr', 'k', 'x') local t = {} for k, v in pairs(e) do "
                       "t[#t+1] = k..'='..tostring(v) end table.sort(t) return t"),
                    ev("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}"),
                    ev("local ok, e = pcall(error, 'x') return e")],
    "wrongtype": [("LPUSH", "l", "a"), ev("return redis.call('get', 'l')"), ev("return redis.pcall('get', 'l')"),
                  ev("return redis.call('lpush', 'k', 'x', 'y') + redis.call('incr', 'k')"),
                  ev("return redis.pcall('incr', 'l')")],
    "noscript-commands": [ev("return redis.call('multi')"), ev("return redis.call('exec')"),
                          ev("return redis.call('watch', 'x')"), ev("return redis.call('subscribe', 'c')"),
                          ev("return redis.call('eval', 'return 1', 0)"), ev("return redis.call('blpop', 'l', 0)"),
                          ev("return redis.call('script', 'load', 'return 1')"),
                          ev("return redis.call('client', 'list')"), ev("return redis.call('auth', 'x')"),
                          ev("return redis.call('hello', '3')"), ev("return redis.call('blmpop', 0, 1, 'l', 'left')")],
    "select-stays-inside": [ev("redis.call('select', 1) redis.call('set', 'x', '1') return redis.call('get', 'x')"),
                            ("GET", "x"), ("SELECT", "1"), ("GET", "x"), ("FLUSHALL",), ("SELECT", "0")],
    # errors raised by scripts, with the line where Redis names it
    "raised-errors": [ev("error('hello')"), ev("error({err='hi there'})"), ev("error(nil)"), ev("error(5)"),
                      ev("error({err=5})"), ev("error('x', 0)"), ev("error('x', 2)"), ev("error('a\\nb')"),
                      ev("local a = nil; return a.b"), ev("return 'a' .. nil"),
                      ev("local t = setmetatable({}, {__index=function() error('deep') end}) return t.x"),
                      ev("local function f()\n  local x = nil\n  return x.y\nend\nreturn f()"),
                      ev("local function f()\n  return redis.call('nosuch')\nend\n\nreturn f()"),
                      ev("\nreturn redis.call('incr', 'k', 'x')"), ev("local x = 1\n\nerror('boom')"),
                      ev("local x = 1\n\nerror({err='boom'})"), ev("local x = 1\nreturn redis.sha1hex()")],
    "compile-errors": [ev("return 1 +"), ev("local x = 1\nlocal y = \n"), ("SCRIPT", "LOAD", "return 1 +")],
    "redis-library": [ev("return redis.sha1hex('')"), ev("return redis.sha1hex(1)"), ev("return redis.sha1hex()"),
                      ev("return redis.REDIS_VERSION"), ev("return redis.REDIS_VERSION_NUM"),
                      ev("return redis.log(redis.LOG_WARNING, 'hi', 'x')"), ev("return redis.log(99, 'hi')"),
                      ev("return redis.log(1)"), ev("return redis.log('a', 'b')"), ev("return redis.setresp(4)"),
                      ev("return redis.setresp()"), ev("return redis.set_repl(redis.REPL_ALL)"),
                      ev("return redis.set_repl(99)"), ev("return redis.set_repl()"),
                      ev("return redis.replicate_commands()"),
                      ev("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}"),
                      ev("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
                      ev("return redis.breakpoint()"), ev("return redis.debug('x')"),
                      ev("return redis.acl_check_cmd('get', 'x')"), ev("return redis.acl_check_cmd('nosuch')"),
                      ev("return redis.acl_check_cmd()")],
    # the sandbox
    "sandbox": [ev("x = 1"), ev("return y"), ev("local x = 1\nfoo = 3"), ev("redis.call = 1"), ev("redis.x = 1"),
                ev("string.foo = 1"), ev("math.foo = 1"), ev("_G.foo = 1"), ev("return io"), ev("return os.clock()"),
                ev("return print"), ev("return loadfile"), ev("return dofile"), ev("return require"),
                ev("return module"), ev("return debug"), ev("return setfenv"), ev("return getfenv"),
                ev("return newproxy"), ev("return loadstring('return 1')()"),
                ev("local f = loadstring('bar = 5') f() return bar"), ev("return type(gcinfo)"),
                ev("return type(coroutine)"), ev("return _VERSION"), ev("return type(__redis__err__handler)"),
                ev("return type(string.dump)"), ev("return ('x'):rep(3)")],
    "numkeys": [("EVAL", "return 1", "-1"), ("EVAL", "return 1", "2", "a"), ("EVAL", "return 1", "x"),
                ("EVAL", "return 1", "1.5"), ("EVAL", "return 1", "99999999999999999999"), ("EVAL", "return 1"),
                ("EVALSHA", "abc"), ("EVAL", "return 'x'", "0", "a", "b")],
    "cache": [("SCRIPT", "LOAD", "return 1"),
              ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "no"),
              ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"),
              ("EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
              ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"), ("EVALSHA", "fff", "0"),
              ("SCRIPT", "FLUSH", "x"), ("SCRIPT", "FLUSH", "sync", "x"), ("SCRIPT", "FLUSH", "async"),
              ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
              ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"),
              ev("return 2"), ("SCRIPT", "EXISTS", "7f923f79fe76194c868d7e1d0820de36700eb649"),
              ("SCRIPT", "FLUSH"), ("SCRIPT", "EXISTS", "7f923f79fe76194c868d7e1d0820de36700eb649"),
              ("SCRIPT", "KILL"), ("SCRIPT", "KILL", "x"), ("SCRIPT", "DEBUG", "no"), ("SCRIPT", "DEBUG", "x"),
              ("SCRIPT", "NOPE"), ("SCRIPT",), ("SCRIPT", "HELP")],
    "read-only-scripts": [("EVAL_RO", "return redis.call('set', 'a', 'b')", "1", "a"),
                          ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "a"), ("EXISTS", "a"),
                          ("EVAL_RO", "return redis.pcall('del', 'a')", "0"),
                          ("SCRIPT", "LOAD", "return redis.call('incr', 'n')"),
                          ("EVALSHA_RO", "13d59bf45c06b30ad517603a2a8c76adfac50db3", "0")],
    "shebang": [ev("#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')"), ev("#!lua\nreturn 1"),
                ev("#!lua name=x\nreturn 1"), ev("#!luax\nreturn 1"), ev("#!lua flags=bad\nreturn 1"),
                ev("#!lua flags=no-writes,\nreturn 1"), ev("#!lua  flags=no-writes  \nreturn 1"),
                ev("#!lua flags=allow-cross-slot-keys,no-writes,allow-oom,allow-stale,no-cluster\nreturn 1"),
                ev("#!lua\nerror('x')"), ("EVAL_RO", "#!lua\nreturn 1", "0"),
                ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0")],
    "effects": [ev("redis.call('set', 'a', '1') redis.call('incrby', 'a', 5) return redis.call('get', 'a')"),
                ev("redis.call('rpush', 'l', 'x', 'y') return redis.call('lrange', 'l', 0, -1)"),
                ("GET", "a"), ("LRANGE", "l", "0", "-1"),
                ev("redis.call('set', 'b', '1') return redis.call('nosuch')"), ("GET", "b")],
}


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    for argv in CASES[name]:
        diff(*argv)


RESP3_CASES = [
    ev("return redis.call('hgetall', 'h')"), ev("redis.setresp(3) return redis.call('hgetall', 'h')"),
    ev("redis.setresp(3) return redis.call('smembers', 's')"), ev("redis.setresp(3) return redis.call('zscore', 'z', 'm')"),
    ev("redis.setresp(3) return redis.call('get', 'nokey')"), ev("return redis.call('get', 'nokey')"),
    ev("return nil"), ev("return false"), ev("return true"), ev("redis.setresp(3) return true"),
    ev("redis.setresp(3) return false"), ev("return {double=3.5}"), ev("return {double=1/0}"),
    ev("return {double=-1/0}"), ev("return {map={a=1}}"), ev("return {set={a=true}}"),
    ev("return {verbatim_string={format='txt', string='hi'}}"), ev("return {big_number='1234567890123456789012'}"),
    ev("redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')"),
    ev("return redis.call('zrange', 'z', 0, -1, 'withscores')"), ev("return {1, nil, 2}"),
    ev("return {ok='fine'}"), ev("redis.setresp(3) return redis.call('hrandfield', 'h', 1, 'withvalues')"),
    ev("return redis.call('hrandfield', 'h', 1, 'withvalues')"),
]


def test_resp3_client(diff):
    for side in (diff.redis, diff.redwood):
        side.call("HSET", "h", "a", "1")
        side.call("SADD", "s", "x")
        side.call("ZADD", "z", "1.5", "m")
        side.call("HELLO", "3")
    for argv in RESP3_CASES:
        diff(*argv)


def test_acl_inside_scripts(both):
    steps = ["S: ACL SETUSER u on nopass ~a* +@all", "S: ACL SETUSER u2 on nopass ~* +@all -set",
             "A: AUTH u x", "A: EVAL 'return redis.call(\"get\", \"b\")' 0",
             "A: EVAL 'return redis.pcall(\"get\", \"b\")' 0", "A: EVAL 'return redis.call(\"get\", \"a\")' 0",
             "A: EVAL 'return redis.call(\"get\", KEYS[1])' 1 b", "B: AUTH u2 x",
             "B: EVAL 'return redis.call(\"set\", \"b\", 1)' 0", "B: EVAL 'return redis.pcall(\"set\", \"b\", 1)' 0",
             "B: EVAL 'return redis.acl_check_cmd(\"set\", \"x\")' 0",
             "B: EVAL 'return redis.acl_check_cmd(\"get\", \"x\")' 0", "S: ACL DELUSER u u2"]
    run_steps(both, steps)
