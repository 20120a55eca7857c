"""The script libraries (engine/lualibs.py) against real Redis: each snippet runs through
EVAL on redis-server and in a lupa runtime with install() applied, and the results must
match once converted the way Redis converts a script's return value."""
import math

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from lupa import lua51

from engine import lualibs
from tests.servers import parse_reply


def runtime():
    lua = lua51.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                           attribute_filter=_refuse)
    lualibs.install(lua)
    return lua


def _refuse(obj, name, is_setting):
    raise AttributeError("not accessible from scripts")


def to_reply(value):
    """Redis's Lua -> RESP2 conversion for what the cases return (tables cut at the first nil)."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)):
        # (long long) of a double, as x86-64 converts it: out of range and NaN give LLONG_MIN
        return int(value) if math.isfinite(value) and -2**63 <= value < 2**63 else -2**63
    if lua51.lua_type(value) == "table":
        items, i = [], 1
        while value[i] is not None:
            items.append(to_reply(value[i]))
            i += 1
        return items
    return None


def run_lupa(snippet: str):
    """The snippet's first result, run as a chunk named as Redis names scripts."""
    lua = runtime()
    return to_reply(lua.execute(f"return (function() {snippet} end)()", name="@user_script"))


@pytest.fixture
def redis_eval(real_redis):
    client = real_redis.raw()

    def evaluate(snippet: str):
        client.call("SCRIPT", "FLUSH")      # a fresh Lua state: cjson settings start at defaults
        return parse_reply(client.call("EVAL", snippet, "0"))
    yield evaluate
    client.close()


BIT = [
    "return bit.tobit(2^32 + 5.5)", "return bit.tobit(-1)", "return bit.tobit(0.5)", "return bit.tobit(1.5)",
    "return bit.tobit(2.5)", "return bit.tobit(-0.5)", "return bit.tobit(0/0)", "return bit.tobit(1/0)",
    "return bit.tobit(2^53 + 3)", "return bit.tobit(1e300)", "return bit.tobit(-1e300)", "return bit.tobit('0x10')",
    "return bit.tobit(' 7 ')", "return bit.tohex(-1)", "return bit.tohex(255, -4)", "return bit.tohex(255, 2)",
    "return bit.tohex(1, 0)", "return bit.tohex(-1, 9)", "return bit.tohex(1, -2^31)", "return bit.tohex(1, 2^31)",
    "return bit.tohex(0x1234abcd, -12)", "return bit.bnot(0)", "return bit.bnot(-2^31)",
    "return bit.band(0xff, 0x0f, 0x3)", "return bit.band('0x0f', ' 3 ')", "return bit.bor(1, 2, 4, 2^31)",
    "return bit.bxor(1, 2, 4, 8, 1)", "return bit.band(7)", "return bit.lshift(1, 31)", "return bit.lshift(1, 33)",
    "return bit.rshift(-1, 28)", "return bit.rshift(-1, 0)", "return bit.arshift(-256, 4)",
    "return bit.arshift(2^31, 31)", "return bit.rol(0x12345678, 12)", "return bit.ror(0x12345678, 12)",
    "return bit.rol(1, 32)", "return bit.ror(1, -1)", "return bit.bswap(0x12345678)", "return bit.bswap(-1)",
    "return {pcall(bit.tobit)}", "return {pcall(bit.tobit, nil)}", "return {pcall(bit.tobit, 'x')}",
    "return {pcall(bit.band)}", "return {pcall(bit.band, 1, 'x', {})}", "return {pcall(bit.lshift, 1)}",
    "return {pcall(bit.tohex, 1, nil)}", "return {pcall(function() local v = bit.bor(1, nil) return v end)}",
    "return {pcall(function() local v = bit.tohex() return v end)}",
    "return {pcall(function() local v = cjson.decode('[') return v end)}",
    "return {pcall(function() local v = struct.pack('!3') return v end)}",
    "return {pcall(function() local v = cmsgpack.unpack('\\193') return v end)}",
    "local c = cjson local ok, e = pcall(function() local v = c:decode() return v end) return e",
    "local ok, e = pcall(function() local v = cjson:encode(1, 2) return v end) return e",
    "local ok, e = pcall(function() local v = struct.unpack('>i', 'abc') return v end) return e",
]

CJSON_ENCODE = [
    "return cjson.encode({1,2,{a=1}})", "return cjson.encode({})", "return cjson.encode('')",
    "return cjson.encode('a/b\"\\\\' .. string.char(0,1,8,9,10,11,12,13,31,32,127,128,255))",
    "return cjson.encode(1/3)", "return cjson.encode(-0)", "return cjson.encode(1e300)", "return cjson.encode(-1.5e-7)",
    "return cjson.encode(123456789012345678)", "return cjson.encode(2^53)", "return cjson.encode(true)",
    "return cjson.encode(false)", "return cjson.encode(nil)", "return cjson.encode(cjson.null)",
    "return cjson.encode({a=cjson.null, b=false})", "return cjson.encode({[1]=1,[5]=2})",
    "return cjson.encode({[1]=1,[10]=2})", "return cjson.encode({[1]=1,[2]=2,[4]=4})",
    "return cjson.encode({[1.5]=1})", "return cjson.encode({[0]=1})", "return cjson.encode({[-1]=1})",
    "return cjson.encode({[2^31]=1})", "return cjson.encode({[1e10]=1})", "return cjson.encode({1, 2, x=3})",
    "return cjson.encode({'a', {b={}}, true, false})", "return cjson.encode({a=1,b=2,c=3,d={1,2}})",
    "return cjson.encode({['a\"b']={['/']=1}})", "return cjson.encode({{{{{}}}}})",
    "return {pcall(cjson.encode, 1/0)}", "return {pcall(cjson.encode, -1/0)}", "return {pcall(cjson.encode, 0/0)}",
    "return {pcall(cjson.encode, {[1]=1,[20]=2})}", "return {pcall(cjson.encode, {[true]=1})}",
    "return {pcall(cjson.encode, {[{}]=1})}", "return {pcall(cjson.encode, {f=function() end})}",
    "return {pcall(cjson.encode, {[1/0]=1})}", "return {pcall(cjson.encode)}", "return {pcall(cjson.encode, 1, 2)}",
    "local t = {} local c = t for i=1,999 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "local t = {} local c = t for i=1,1000 do c[1] = {} c = c[1] end return {pcall(cjson.encode, t)}",
    "local t = {} t[1] = t return {pcall(cjson.encode, t)}",
    "local keys = {} for i = 1, 40 do keys['k' .. i] = i end return cjson.encode(keys)",
    "cjson.encode_invalid_numbers(true) return cjson.encode({1/0, -1/0, 0/0})",
    "cjson.encode_invalid_numbers('null') return cjson.encode({1/0, [3]=0/0})",
    "cjson.encode_number_precision(3) return cjson.encode({1/3, 12345})",
    "cjson.encode_sparse_array(true) return cjson.encode({[1]=1,[20]=2})",
    "cjson.encode_sparse_array(false, 0) return cjson.encode({[1]=1,[20]=2})",
    "cjson.encode_max_depth(2) return {pcall(cjson.encode, {{{1}}})}",
]

CJSON_DECODE = [
    "return cjson.decode('[1,2,3]')", "return cjson.decode('  1  ')", "return cjson.decode('\\n1\\r\\n')",
    "return cjson.decode('\"a\\\\tb\\\\\"c\\\\/\\\\\\\\\\\\b\\\\f\\\\n\\\\r\"')",
    "return cjson.decode('\"\\\\u00e9\\\\u20ac\\\\ud83d\\\\ude00\\\\u0000x\"')", "return cjson.decode('\"\\\\u0041\"')",
    "return cjson.decode('{\"a\":[1,{\"b\":\"c\"}]}').a[2].b", "return cjson.decode('0x10')",
    "return cjson.decode('-0x1p3')", "return cjson.decode('+5')", "return cjson.decode('1.')",
    "return cjson.decode('1e2')", "return cjson.decode('-12.5e-1') * 100", "return cjson.decode('0012')",
    "return tostring(cjson.decode('-Infinity'))", "return tostring(cjson.decode('nan(123)'))",
    "return tostring(cjson.decode('Inf'))",
    "return type(cjson.decode('null'))", "return cjson.decode('null') == cjson.null",
    "return cjson.decode('[null]')[1] == cjson.null", "return tostring(cjson.null)", "return cjson.decode(123)",
    "return cjson.decode('true')", "return {cjson.decode('false')}", "return cjson.decode('12\\0garbage')", "return {pcall(cjson.decode, '1\\0garbage')}",
    "return cjson.decode('[1,2]\\0')[2]", "return cjson.decode('\"a\\1b\"')", "return #cjson.decode('[]')",
    "return cjson.encode(cjson.decode('{\"a\":{},\"b\":[]}'))",
    "local v = cjson.decode(string.rep('[', 1000) .. '7' .. string.rep(']', 1000)) "
    "for i = 1, 999 do v = v[1] end return v",
]

CJSON_DECODE_ERRORS = [
    "'{'", "'[1,'", "''", "'x'", "'[1 2]'", "'\"abc'", "'[1]x'", "'{\"a\" 1}'", "'{1:2}'", "'{\"a\":1,}'",
    "'[1,]'", "'nul'", "'tru'", "'+'", "'-'", "'[1e]'", "'[-v]'", "'\"\\\\x\"'", "'\"\\\\u12\"'",
    "'\"\\\\udc00\"'", "'\"\\\\ud800\"'", "'\"\\\\ud800\\\\u0041\"'", "'a\\0'", "'\\0a'", "'\\f1'",
    "'{\"a\":1'", "'{\"a\":1 \"b\"}'", "']'", "'[1}'", "' \\t '", "'1 2'", "'.5'", "'\"\\\\'",
    "string.rep('[', 1001) .. string.rep(']', 1001)", "'{\"a\":' .. string.rep('[', 1000) .. ']'",
    "nil", "{}", "true",
]

CJSON_CONFIG = [
    "return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.decode_max_depth()}",
    "return {tostring(cjson.encode_invalid_numbers()), tostring(cjson.decode_invalid_numbers())}",
    "return {cjson.encode_number_precision(), cjson._NAME, cjson._VERSION}",
    "return {tostring(cjson.encode_sparse_array()), select(2, cjson.encode_sparse_array())}",
    "return {cjson.encode_invalid_numbers('on'), cjson.encode_invalid_numbers('null')}",
    "return {pcall(cjson.encode_number_precision, 15)}", "return {pcall(cjson.encode_number_precision, 0)}",
    "return {pcall(cjson.encode_keep_buffer, 'x')}", "return {pcall(cjson.encode_keep_buffer, {})}",
    "return {pcall(cjson.encode_max_depth, 'x')}", "return {pcall(cjson.encode_max_depth, 1, 2)}",
    "return {pcall(cjson.encode_sparse_array, true, -1)}", "return {pcall(cjson.encode_sparse_array, 1, 2, 3, 4)}",
    "cjson.decode_invalid_numbers(false) return {pcall(cjson.decode, '0x10')}",
    "cjson.decode_invalid_numbers(false) return {pcall(cjson.decode, 'nan')}",
    "cjson.decode_invalid_numbers(false) return {pcall(cjson.decode, '012')}",
    "cjson.decode_max_depth(2) return {pcall(cjson.decode, '[[[1]]]')}",
    "local c = cjson.new() c.encode_number_precision(2) return {c.encode(1/3), cjson.encode(1/3)}",
]

CMSGPACK = [
    "return cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32, -32, -33, -128, -129, -32768, -32769,"
    " -2^31, -2^31-1, 2^53, -2^53, 2^63 - 1024, -2^63)",
    "return cmsgpack.pack(1.5, 0.1, 1/0, -1/0, 2^63, -0.0, 2^64, 1e300, 3.4028234663852886e38, 1e-45)",
    "return cmsgpack.pack(string.rep('a', 31), string.rep('b', 32), '', 'x\\0y')",
    "return cmsgpack.pack(string.rep('a', 255)) == '\\217\\255' .. string.rep('a', 255)",
    "return cmsgpack.pack(string.rep('a', 256))", "return #cmsgpack.pack(string.rep('a', 70000))",
    "return cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3}, true, false, nil)",
    "local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)",
    "local t = {} for i = 1, 20 do t['k' .. i] = i end return cmsgpack.pack(t)",
    "return cmsgpack.pack({[1.5]=1, [-1]=2, [0]=3, [2^31]=4})", "return cmsgpack.pack(cjson.null, function() end)",
    "local t = {} t[1] = t return cmsgpack.pack(t)", "return {pcall(cmsgpack.pack)}",
    "return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}))}", "return {cmsgpack.unpack('')}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}",
    "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}", "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
    "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}", "return {cmsgpack.unpack_limit('\\1\\2', 0, 1)}",
    "return {pcall(cmsgpack.unpack_one, 'ab', 5)}", "return {pcall(cmsgpack.unpack_one, 'ab', -1)}",
    "return {pcall(cmsgpack.unpack_limit, 'ab', -1)}", "return {pcall(cmsgpack.unpack_limit, 'ab')}",
    "return {pcall(cmsgpack.unpack, '\\193')}", "return {pcall(cmsgpack.unpack, '\\146\\1')}",
    "return {pcall(cmsgpack.unpack)}", "return {pcall(cmsgpack.unpack, '\\196\\2ab')}",
    "return {cmsgpack.unpack('\\217\\2ab')}", "return {pcall(cmsgpack.unpack, '\\217')}",
    "return {pcall(cmsgpack.unpack, '\\218\\0\\3ab')}", "return {pcall(cmsgpack.unpack, '\\129\\192\\1')}",
    "return {pcall(cmsgpack.unpack, '\\129\\203\\127\\248\\0\\0\\0\\0\\0\\0\\1')}",
    "return {cmsgpack.unpack('\\129\\1\\192')}", "return {pcall(cmsgpack.unpack, '\\212\\1\\1')}",
    "return {cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return {cmsgpack.unpack('\\211\\128\\0\\0\\0\\0\\0\\0\\1')}", "return {cmsgpack.unpack('\\206\\255\\255\\255\\255')}",
    "return {cmsgpack.unpack('\\210\\255\\255\\255\\254', '\\209\\128\\0', '\\208\\128')}",
    "return tostring(cmsgpack.unpack('\\203\\127\\248\\0\\0\\0\\0\\0\\0'))",
    "return tostring(cmsgpack.unpack('\\202\\63\\192\\0\\0'))", "return {cmsgpack.unpack(cmsgpack.pack(1, nil, 3))}",
    "return {cmsgpack.unpack('\\1\\192\\1')}", "return cmsgpack.unpack(cmsgpack.pack({a={b={1,2,'x'}}})).a.b[3]",
    "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}",
]

STRUCT = [
    "return struct.pack('>i', 1)", "return {struct.unpack('>i2', struct.pack('>i2', -2))}",
    "return struct.pack('i3', 1)", "return struct.pack('i17', 1)", "return struct.pack('<i16', -1)",
    "return struct.pack('>i16', -2)", "return {struct.unpack('<i16', struct.pack('<i16', -3))}",
    "return {struct.unpack('>I9', string.rep('\\255', 9))}", "return {struct.unpack('>i9', '\\0\\0\\0\\0\\0\\0\\0\\0\\200')}",
    "return struct.size('!4 b i d')", "return struct.size('T')", "return struct.size('l L h H')",
    "return struct.size('q')", "return struct.size('!4 b i3')", "return struct.size('! b d c3 x')",
    "return {pcall(struct.size, 's')}", "return {pcall(struct.size, 'c0')}", "return {pcall(struct.size, '!3')}",
    "return {pcall(struct.pack, 'q', 1)}", "return {pcall(struct.pack, 'i33', 1)}", "return {pcall(struct.pack, '!0', 1)}",
    "return {pcall(struct.pack, 'i', 'x')}", "return {pcall(struct.pack, 'i')}", "return {pcall(struct.pack, 'c2', 'a')}",
    "return {pcall(struct.pack, 'i', {})}", "return {pcall(struct.pack)}", "return {pcall(struct.pack, 's', {})}",
    "return {pcall(struct.pack, 'c10000000000000000000', 'a')}",
    "return {pcall(struct.unpack, 'i', 'abc')}", "return {pcall(struct.unpack, 's', 'abc')}",
    "return {struct.unpack('b c0', '\\3abcd')}", "return {pcall(struct.unpack, 'c0', 'abc')}",
    "return {struct.unpack('c1 c0', '2abcd')}", "return {pcall(struct.unpack, 'b c0', '\\9abc')}",
    "return {struct.unpack('<I8', struct.pack('<I8', 2^62))}", "return {struct.unpack('<i8', struct.pack('<i8', -1))}",
    "return {struct.unpack('>i7', struct.pack('>i7', -2^55 + 1))}", "return {struct.unpack('<I7', string.rep('\\255', 7))}",
    "return struct.pack('<i8', 2^64)", "return struct.pack('<i8', -2^64)", "return struct.pack('<I4', -1)",
    "return struct.pack('<I8', 2^63 + 2048)", "return struct.pack('>l', -2^63)", "return struct.pack('>L', 0/0)",
    "return struct.pack('<d', 1.5)", "return struct.pack('>f', 1.1)", "return struct.pack('<f', 1e39)",
    "return struct.pack('>f', -1/0)", "return {struct.unpack('<f', struct.pack('<f', 1.1))}",
    "return tostring(struct.unpack('>d', struct.pack('>d', 0.1)))", "return {struct.unpack('>c2 s', 'abcd\\0e', 1)}",
    "return {struct.unpack('B', 'abc', 3)}", "return {pcall(struct.unpack, 'B', 'abc', 4)}",
    "return {pcall(struct.unpack, 'B', 'abc', 0)}", "return {pcall(struct.unpack, 'B', 'abc', -1)}",
    "return {struct.unpack('', 'abc', -1)}", "return {pcall(struct.unpack, 'B', 'abc', 'x')}",
    "return {struct.unpack('B', 'abc', '2')}", "return {struct.unpack('B', 'abc', 2.9)}",
    "return struct.pack('!4 b i', 1, 2)", "return struct.pack('!8 b d', 1, 2)", "return struct.pack('! b d', 1, 2)",
    "return struct.pack('!2 b h b i', 1, 2, 3, 4)", "return struct.pack('!4 b i3 b i', 1, 2, 3, 4)",
    "return {struct.unpack('!4 b i', struct.pack('!4 b i', 1, 2))}", "return struct.pack('c', 'abc')",
    "return struct.pack('c0', 'abc')", "return struct.pack('s', 'ab')", "return struct.pack('s c3', 12, 345)",
    "return struct.pack('i', 1.9)", "return struct.pack('i', -1.9)", "return struct.pack('>h B x H', -2, 255, 258)",
    "return struct.pack('i', '0x10')", "return struct.pack('>b\\0b', 1, 2)", "return {struct.unpack('>hHbB', '\\255\\254\\255\\254\\255\\254')}",
    "return {struct.unpack('<lL', string.rep('\\255', 16))}", "return {struct.unpack('>T', '\\0\\0\\0\\0\\0\\0\\1\\0')}",
    "return {struct.unpack('x x B', 'abc')}", "return {struct.unpack('s s', 'a\\0b\\0')}",
]


@pytest.mark.parametrize("snippet", BIT + CJSON_ENCODE + CJSON_DECODE + CJSON_CONFIG + CMSGPACK + STRUCT)
def test_snippet_matches_redis(redis_eval, snippet):
    assert run_lupa(snippet) == redis_eval(snippet)


@pytest.mark.parametrize("argument", CJSON_DECODE_ERRORS)
def test_decode_error_matches_redis(redis_eval, argument):
    snippet = f"return {{pcall(cjson.decode, {argument})}}"
    assert run_lupa(snippet) == redis_eval(snippet)


def test_called_by_name_errors_name_the_function():
    """As a C function's luaL_error() does: the caller's position, the name it called."""
    lua = runtime()
    error = lua.execute("""
        local function call(f) local ok, err = pcall(f) return err end
        return function(code) return call(loadstring(code, '@user_script')) end""")
    assert error(b"local v = bit.band() return v") == \
        b"user_script:1: bad argument #1 to 'band' (number expected, got no value)"
    assert error(b"local c = cjson\nlocal v = c:decode() return v") == \
        b"user_script:2: calling 'decode' on bad self (string expected, got table)"
    assert error(b"local v = struct.unpack('i', 'ab') return v") == \
        b"user_script:1: bad argument #2 to 'unpack' (data string too short)"
    assert error(b"local v = cjson.decode('[') return v") == \
        b"user_script:1: Expected value but found T_END at character 2"
    # a tail call leaves no caller frame to name (Redis, calling C, still has one)
    assert error(b"return cjson.decode('[')") == b"Expected value but found T_END at character 2"


def test_scripts_see_only_lua_values():
    lua = runtime()
    kinds = lua.execute("""
        local kinds = {}
        for _, name in ipairs({'bit', 'struct', 'cjson', 'cmsgpack'}) do
          for key, value in pairs(_G[name]) do kinds[#kinds + 1] = name .. '.' .. key .. '=' .. type(value) end
        end
        return table.concat(kinds, ' ')""").decode().split()
    assert len(kinds) == 12 + 3 + 13 + 8
    assert all(kind.endswith(("=function", "=string")) or kind == "cjson.null=userdata" for kind in kinds)
    assert lua.execute("return getmetatable(cjson.null)") is False


def lua_literal(value) -> str:
    if isinstance(value, bytes):
        return '"' + "".join(f"\\{b}" for b in value) + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "(0/0)"
        if math.isinf(value):
            return "(1/0)" if value > 0 else "(-1/0)"
        return repr(value)
    if isinstance(value, list):
        return "{" + ",".join(lua_literal(v) for v in value) + "}"
    return "{" + ",".join(f"[{lua_literal(k)}]={lua_literal(v)}" for k, v in value.items()) + "}"


json_values = st.recursive(
    st.one_of(st.integers(-2**53, 2**53), st.text(max_size=8).map(str.encode), st.booleans()),
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=5),
        st.dictionaries(st.text(min_size=1, max_size=6).map(str.encode), children, max_size=5)),
    max_leaves=20)

msgpack_values = st.recursive(
    st.one_of(st.integers(-2**63, 2**63 - 1), st.binary(max_size=40), st.booleans(),
              st.floats(allow_nan=False), st.sampled_from([b"x" * 300, b"\0" * 70000])),
    lambda children: st.one_of(
        st.lists(children, max_size=20),
        st.dictionaries(st.one_of(st.binary(max_size=6), st.integers(-5, 40)), children, max_size=18)),
    max_leaves=25)

HYPOTHESIS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@HYPOTHESIS
@given(json_values)
def test_cjson_round_trip_matches_redis(redis_eval, value):
    snippet = (f"local json = cjson.encode({lua_literal(value)}) "
               "return {json, cjson.encode(cjson.decode(json))}")
    assert run_lupa(snippet) == redis_eval(snippet)


@HYPOTHESIS
@given(st.lists(msgpack_values, min_size=1, max_size=3))
def test_cmsgpack_round_trip_matches_redis(redis_eval, values):
    snippet = (f"local packed = cmsgpack.pack({','.join(lua_literal(v) for v in values)}) "
               "return {packed, cmsgpack.pack(cmsgpack.unpack(packed))}")
    assert run_lupa(snippet) == redis_eval(snippet)
