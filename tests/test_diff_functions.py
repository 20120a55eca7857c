"""FUNCTION and FCALL against real Redis: loading (the library's shebang, register_function's
arguments, the load environment, its errors), calling (keys and args, flags, read-only calls,
errors with their lines), LIST, DELETE, FLUSH, STATS, RESTORE's policies and RESP3 shapes.
Each case starts with no libraries; the replies must be the same bytes."""
import pytest


def lib(name, *lines):
    return "#!lua name=%s\n%s" % (name, "\n".join(lines))


def load(*lines, name="lib", replace=False):
    return ("FUNCTION", "LOAD", *(["REPLACE"] if replace else []), lib(name, *lines))


def reg(fname, body, args="keys, args"):
    return "redis.register_function('%s', function(%s) %s end)" % (fname, args, body)


CASES = {
    "load-and-call": [load(reg("f1", "return {keys[1], args[1], #keys, #args}")), ("FCALL", "f1", "1", "k", "a"),
                      ("FCALL", "f1", "2", "k", "a"), ("FCALL", "f1", "0"), ("FCALL", "F1", "0"),
                      load(reg("f1", "return 1")), load(reg("f1", "return 2"), replace=True),
                      ("FUNCTION", "LOAD", "replace", lib("lib", reg("f1", "return 3"))), ("FCALL", "f1", "0"),
                      load(reg("f1", "return 1"), name="other"), load(reg("F1", "return 1"), name="other"),
                      ("FUNCTION", "LOAD", "foo", lib("x", reg("g", "return 1"))),
                      ("FUNCTION", "LOAD", "REPLACE", "REPLACE", lib("x", ""))],
    "shebang": [("FUNCTION", "LOAD", "return 1"), ("FUNCTION", "LOAD", "#!lua\n"), ("FUNCTION", "LOAD", "#!luax name=a\n"),
                ("FUNCTION", "LOAD", "#!lua name=a name=b\n"), ("FUNCTION", "LOAD", "#!lua name=a foo=bar\n"),
                ("FUNCTION", "LOAD", "#!lua name=l-b\n"), ("FUNCTION", "LOAD", "#!lua name=\n"),
                ("FUNCTION", "LOAD", "#!lua name=empty\n"), ("FUNCTION", "LOAD", "#!lua name=empty"),
                ("FUNCTION", "LOAD", "#!LUA  name=upper  \n" + reg("u", "return 1")),
                ("FUNCTION", "LOAD", "#!lua name=crlf\r\n" + reg("c", "return 1")), ("FCALL", "u", "0")],
    "register-function-arguments": [load(body) for body in (
        "redis.register_function('f')", "redis.register_function('f', function() end, 4)",
        "redis.register_function()", "redis.register_function(nil, nil)", "redis.register_function('f', 'x')",
        "redis.register_function{function_name='f'}", "redis.register_function{callback=function() end}",
        "redis.register_function{}", "redis.register_function{function_name='f', callback=3}",
        "redis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
        "redis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
        "redis.register_function{function_name='f', callback=function() end, flags={1}}",
        "redis.register_function{function_name='f', callback=function() end, foo=1}",
        "redis.register_function{[1]='f', callback=function() end}",
        "redis.register_function('f-3', function() end)", "redis.register_function('', function() end)",
        "redis.register_function('f', function() end)\nredis.register_function('f', function() end)")] + [
        load("redis.register_function(3, function() return 3 end)"), ("FCALL", "3", "0"),
        load("redis.register_function{function_name='d', callback=function() return 1 end, description=5}",
             name="described"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "described")],
    "load-environment": [load(body) for body in (
        "local x = string.format('a')", "redis.call('set','x','y')", "foo = 1", "error('boom')", "redis.foo()",
        "redis.setresp(3)", "local a = KEYS", "local x = nil + 1", "local x = {} .. 'a'", "redis.log(1)",
        "redis.register_function = 1", "redis.x = 1", "local x = redis.LOG_WARNING", "return 1 +",
        "while true do end")] + [
        load("local v = redis.REDIS_VERSION .. redis.REDIS_VERSION_NUM .. redis.LOG_DEBUG",
             "redis.log(redis.LOG_WARNING, 'loading')", reg("v", "return v", args=""))],
    "runtime-environment": [
        load("local t = redis", reg("f3", "return redis.register_function('x', function() end)"),
             reg("f4", "return {KEYS == nil}"), reg("f5", "return foo"), reg("f6", "redis.call('nosuch')"),
             reg("f7", "error('oops')"), reg("f8", "x = 1"), reg("f11", "return string.format('%d', 5)"),
             reg("f12", "redis.setresp(3) return redis.call('hgetall', keys[1])"), reg("f13", "return t.call('ping')"),
             reg("f14", "return redis.call('fcall', 'f11', 0)"), reg("f15", "return redis.call('function', 'list')"),
             reg("f16", "return redis.call('eval', 'return 1', 0)"), reg("f18", "return {err='MY failure'}"),
             reg("f19", "return redis.pcall('nosuch')"), reg("f21", "return {tostring(_G.KEYS), type(_G)}"),
             reg("f22", "error({err='-FOO boom'})"), reg("f23", "return redis.call('fcall_ro', 'f11', 0)"))] + [
        ("FCALL", "f%d" % n, "1", "h", "x") for n in (3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 18, 19, 21, 22, 23)],
    "writes-and-flags": [
        load(reg("w", "return redis.call('set', keys[1], args[1])"),
             "redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) "
             "end, flags={'no-writes'}}",
             "redis.register_function{function_name='rw', callback=function(keys) return redis.call('set', keys[1], "
             "'x') end, flags={'no-writes'}, description='tries to write'}",
             "redis.register_function{function_name='all', callback=function() return 1 end, flags={'allow-oom', "
             "'allow-stale', 'no-cluster', 'allow-cross-slot-keys', 'no-writes'}}"),
        load("redis.register_function{function_name='flagged', callback=function() return 1 end, flags={'allow-oom', "
             "'allow-stale', 'no-cluster', 'allow-cross-slot-keys', 'no-writes'}, description='every flag'}",
             name="one"),
        ("FCALL", "w", "1", "k", "v"), ("GET", "k"), ("FCALL_RO", "w", "1", "k", "v"), ("FCALL_RO", "ro", "1", "k"),
        ("FCALL", "ro", "1", "k"), ("FCALL", "rw", "1", "k"), ("FCALL_RO", "rw", "1", "k"), ("FCALL_RO", "all", "0"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "one", "WITHCODE")],
    "numkeys": [load(reg("f", "return 1")), ("FCALL", "f", "-1", "k"), ("FCALL", "f", "x", "k"),
                ("FCALL", "f", "3", "a"), ("FCALL", "f", "1.5", "a"), ("FCALL", "nosuch", "0"), ("FCALL", "nosuch", "x"),
                ("FCALL",), ("FCALL", "f"), ("FCALL_RO", "f")],
    "list-delete-flush": [
        load(reg("g", "return 1"), name="lib1"), ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "LIB*", "withcode"), ("FUNCTION", "LIST", "LIBRARYNAME", "nomatch"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "foo"), ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"), ("FUNCTION", "STATS"),
        ("FUNCTION", "DELETE", "LIB1"), ("FUNCTION", "DELETE", "nosuch"), ("FUNCTION", "DELETE", "lib1"),
        ("FCALL", "g", "0"), ("FUNCTION", "DELETE"), ("FUNCTION", "DELETE", "a", "b"),
        load(reg("g", "return 1"), name="lib1"), ("FUNCTION", "FLUSH", "foo"), ("FUNCTION", "FLUSH", "ASYNC", "SYNC"),
        ("FUNCTION", "FLUSH", "sync"), ("FUNCTION", "LIST"), ("FUNCTION", "FLUSH"), ("FUNCTION", "STATS")],
    "other-subcommands": [("FUNCTION", "KILL"), ("FUNCTION", "KILL", "x"), ("FUNCTION", "RESTORE", "garbage"),
                          ("FUNCTION", "RESTORE", "garbage", "FOO"), ("FUNCTION", "RESTORE", "garbage", "FLUSH", "x"),
                          ("FUNCTION", "DUMP", "x"), ("FUNCTION", "HELP"), ("FUNCTION", "NOPE"), ("FUNCTION",),
                          ("FUNCTION", "STATS", "x")],
    "flushall-keeps-functions": [load(reg("f", "return 1")), ("FLUSHALL",), ("FCALL", "f", "0")],
}


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    diff("FUNCTION", "FLUSH")
    for argv in CASES[name]:
        diff(*argv)


def test_list_of_several_libraries(diff):
    diff("FUNCTION", "FLUSH")
    for name in ("a1", "b2", "c3"):
        diff(*load(reg(name + "f", "return 1"), name=name))
    diff.unordered("FUNCTION", "LIST")
    diff.unordered("FUNCTION", "LIST", "LIBRARYNAME", "*2", "WITHCODE")
    diff("FUNCTION", "STATS")


def test_restore_policies(diff):
    """Payloads differ (ours is not Redis's RDB form): each side restores its own DUMP."""
    diff("FUNCTION", "FLUSH")
    diff(*load(reg("f", "return 'restored'")))
    payloads = [side.call("FUNCTION", "DUMP") for side in (diff.redis, diff.redwood)]
    payloads = [payload[payload.index(b"\r\n") + 2:-2] for payload in payloads]    # the bulk's bytes

    def restore(*policy):
        expected = diff.redis.call("FUNCTION", "RESTORE", payloads[0], *policy)
        actual = diff.redwood.call("FUNCTION", "RESTORE", payloads[1], *policy)
        assert actual == expected, (policy, expected, actual)

    restore()
    restore("APPEND")
    restore("replace")
    diff("FUNCTION", "DELETE", "lib")
    diff(*load(reg("f", "return 'other'"), name="other"))
    restore("REPLACE")
    restore("APPEND")
    restore("FLUSH")
    diff("FUNCTION", "LIST")
    diff("FCALL", "f", "0")
    diff("FUNCTION", "FLUSH")
    restore()
    diff("FCALL", "f", "0")


def test_resp3_shapes(diff):
    diff("FUNCTION", "FLUSH")
    for side in (diff.redis, diff.redwood):
        side.call("HELLO", "3")
        side.call("HSET", "h", "a", "1")
    diff(*load("redis.register_function{function_name='f', callback=function(keys) redis.setresp(3) "
               "return redis.call('hgetall', keys[1]) end, flags={'no-writes'}, description='d'}"))
    diff(*load(reg("g", "return {double=1.5}"), name="double"))
    diff("FCALL", "f", "1", "h")
    diff("FCALL_RO", "f", "1", "h")
    diff("FCALL", "g", "0")
    diff("FUNCTION", "LIST", "LIBRARYNAME", "lib", "WITHCODE")
    diff("FUNCTION", "STATS")
    diff("FUNCTION", "FLUSH")
