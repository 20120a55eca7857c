"""The libraries Redis 7.0 preloads for scripts: `bit`, `struct`, `cjson`, `cmsgpack`.

Lua 5.1 as lupa ships it has none of them, so `install(lua)` defines them as globals of
a runtime, behaving as Redis's embedded LuaBitOp 1.0.2, Roberto's struct, lua-cjson
2.1.0 and lua-cmsgpack 0.4.0 do (results and error texts checked against redis-server).

They are Lua code (walking tables, building strings and tables stays inside Lua) over
a few small Python helpers for what Lua 5.1 cannot do: 32-bit integer operations
and IEEE float conversions. The helpers take and return only numbers and byte
strings, never raise, and are reachable only as upvalues of Lua closures, so a script
sees plain Lua functions and no Python object.

Errors are raised as C libraries raise them: "bad argument #n to 'f' (...)" named
after the call site ('?' through pcall), other messages without a position prefix.
"""
import struct

from lupa import lua51

CHUNK_NAME = "=lualibs"      # the source of the library functions' own stack frames

# LuaBitOp converts a number to 32 bits by adding 2^52+2^51 and taking the low word
# of the double: rounding to nearest-even, wrapping, garbage-in-garbage-out for huge values.
_MAGIC = 6755399441055744.0
_DOUBLE = struct.Struct("<d")
_QWORD = struct.Struct("<Q")


def _bits(x) -> int:
    return _QWORD.unpack(_DOUBLE.pack(x + _MAGIC))[0] & 0xFFFFFFFF


def _signed(b: int) -> int:
    return b - 0x100000000 if b & 0x80000000 else b


def _tobit(x):
    return _signed(_bits(x))


def _bnot(x):
    return _signed(~_bits(x) & 0xFFFFFFFF)


def _band(*xs):
    b = 0xFFFFFFFF
    for x in xs:
        b &= _bits(x)
    return _signed(b)


def _bor(*xs):
    b = 0
    for x in xs:
        b |= _bits(x)
    return _signed(b)


def _bxor(*xs):
    b = 0
    for x in xs:
        b ^= _bits(x)
    return _signed(b)


def _lshift(x, n):
    return _signed((_bits(x) << (_bits(n) & 31)) & 0xFFFFFFFF)


def _rshift(x, n):
    return _signed(_bits(x) >> (_bits(n) & 31))


def _arshift(x, n):
    return _signed(_bits(x)) >> (_bits(n) & 31)


def _rol(x, n):
    b, n = _bits(x), _bits(n) & 31
    return _signed(((b << n) | (b >> (32 - n))) & 0xFFFFFFFF)


def _ror(x, n):
    b, n = _bits(x), _bits(n) & 31
    return _signed(((b >> n) | (b << (32 - n))) & 0xFFFFFFFF)


def _bswap(x):
    return _signed(int.from_bytes(_bits(x).to_bytes(4, "little"), "big"))


def _tohex(x, n=None):
    b = _bits(x)
    n = 8 if n is None else _signed(_bits(n))
    spec = "08x"
    if n == -0x80000000:
        n = 8            # LuaBitOp negates INT_MIN (undefined in C): Redis prints 8 lowercase digits
    elif n < 0:
        n, spec = -n, "08X"
    return format(b, spec)[8 - min(n, 8):].encode()


def _pack_real(fmt: bytes, x) -> bytes:
    """A C double as a float ('f', overflowing to infinity as a C cast does) or a double ('d')."""
    try:
        return struct.pack(fmt, x)
    except OverflowError:
        return struct.pack(fmt, x * float("inf"))


def _unpack_real(fmt: bytes, data: bytes):
    return struct.unpack(fmt, data)[0]


def _msgpack_real(x) -> bytes:
    """lua-cmsgpack's choice: a float32 when the double survives the round trip, else a float64."""
    try:
        packed = struct.pack(">f", x)
        if struct.unpack(">f", packed)[0] == x:
            return b"\xca" + packed
    except OverflowError:
        pass
    return b"\xcb" + struct.pack(">d", x)


_PRELUDE = r"""
local getinfo, error, format, type, tonumber, tostring = debug.getinfo, error, string.format, type, tonumber, tostring
local byte, char, floor, unpack = string.byte, string.char, math.floor, unpack
local H = {public = setmetatable({}, {__mode = 'k'})}

-- The stack level, seen from the function calling this one, of the library function
-- being run (the innermost frame of a registered function).
local function public_level()
  local level = 3
  while true do
    local ar = getinfo(level, 'f')
    if not ar then return nil end
    if H.public[ar.func] then return level - 1 end
    level = level + 1
  end
end

-- luaL_error(): the message gets the position of the library function's caller, as
-- luaL_where(L, 1) gives it to a C function ("" when that is pcall or a tail call).
function H.raise(msg)
  local level = public_level()
  error(msg, level and level + 1 or 0)
end

-- luaL_argerror(): also names the library function as its caller called it.
function H.argerror(narg, msg)
  local level = public_level()
  local ar = level and getinfo(level, 'n') or {}
  if ar.namewhat == 'method' then
    narg = narg - 1
    if narg == 0 then error(format("calling '%s' on bad self (%s)", ar.name, msg), level + 1) end
  end
  error(format("bad argument #%d to '%s' (%s)", narg, ar.name or '?', msg), level and level + 1 or 0)
end
local argerror = H.argerror

local function typeerror(narg, expected, v, nargs)
  argerror(narg, format('%s expected, got %s', expected, narg > nargs and 'no value' or type(v)))
end

function H.checknumber(narg, v, nargs)
  if type(v) == 'number' then return v end
  local n = type(v) == 'string' and tonumber(v)
  if n then return n end
  typeerror(narg, 'number', v, nargs)
end

function H.checkinteger(narg, v, nargs)
  local n = H.checknumber(narg, v, nargs)
  return n >= 0 and floor(n) or -floor(-n)
end

function H.optinteger(narg, v, nargs, default)
  if v == nil then return default end
  return H.checkinteger(narg, v, nargs)
end

function H.checkstring(narg, v, nargs)
  local t = type(v)
  if t == 'string' then return v end
  if t == 'number' then return tostring(v) end
  typeerror(narg, 'string', v, nargs)
end

-- The low `size` bytes (size <= 8), most significant first, of an integral v in
-- [-2^63, 2^64), negatives in two's complement; exact where v - 2^64 would round.
function H.be_bytes(v, size)
  local neg, b = v < 0, {}
  if neg then v = -v end
  for i = size, 1, -1 do
    local r = v % 256
    b[i], v = r, (v - r) / 256
  end
  if neg then
    local carry = 1
    for i = size, 1, -1 do
      local r = 255 - b[i] + carry
      carry = r == 256 and 1 or 0
      b[i] = r % 256
    end
  end
  return char(unpack(b, 1, size))
end

-- The 64-bit word hi:lo (two 32-bit halves) as a double, signed or not, rounded once.
function H.word(hi, lo, signed)
  if signed and hi >= 2147483648 then
    return -((4294967295 - hi) * 4294967296 + (4294967296 - lo))
  end
  return hi * 4294967296 + lo
end

-- The low 64 bits of the big-endian integer in s[pos .. pos+size-1], as two halves.
function H.be_words(s, pos, size)
  local hi, lo = 0, 0
  for i = pos, pos + size - 1 do
    hi = (hi % 16777216) * 256 + floor(lo / 16777216)
    lo = (lo % 16777216) * 256 + byte(s, i)
  end
  return hi, lo
end

-- The big-endian integer in s[pos .. pos+size-1] (size <= 8) as a double.
function H.be_integer(s, pos, size, signed)
  local hi, lo = H.be_words(s, pos, size)
  if signed and size < 8 then      -- extend the sign to 64 bits
    if size <= 4 then
      if lo >= 2 ^ (size * 8 - 1) then hi, lo = 4294967295, lo + 4294967296 - 2 ^ (size * 8) end
    elseif hi >= 2 ^ (size * 8 - 33) then
      hi = hi + 4294967296 - 2 ^ (size * 8 - 32)
    end
  end
  return H.word(hi, lo, signed)
end

function H.register(lib, name, f)
  lib[name] = f
  H.public[f] = true
end
return H
"""

_BIT = r"""
local H, tobit, bnot, band, bor, bxor, lshift, rshift, arshift, rol, ror, bswap, tohex = ...
local checknumber, select, unpack = H.checknumber, select, unpack
local bit = {}

local function unary(name, f)
  H.register(bit, name, function(...)
    return f(checknumber(1, (...), select('#', ...)))
  end)
end

local function binary(name, f)
  H.register(bit, name, function(...)
    local n, x, y = select('#', ...), ...
    x = checknumber(1, x, n)
    return f(x, checknumber(2, y, n))
  end)
end

-- LuaBitOp checks the first argument, then the others from the last one down.
local function variadic(name, f)
  H.register(bit, name, function(...)
    local n, args = select('#', ...), {...}
    args[1] = checknumber(1, args[1], n)
    for i = n, 2, -1 do args[i] = checknumber(i, args[i], n) end
    return f(unpack(args, 1, n))
  end)
end

unary('tobit', tobit) unary('bnot', bnot) unary('bswap', bswap)
variadic('band', band) variadic('bor', bor) variadic('bxor', bxor)
binary('lshift', lshift) binary('rshift', rshift) binary('arshift', arshift)
binary('rol', rol) binary('ror', ror)
H.register(bit, 'tohex', function(...)
  local n, x, width = select('#', ...), ...
  x = checknumber(1, x, n)
  if n < 2 then return tohex(x) end
  return tohex(x, checknumber(2, width, n))
end)
return bit
"""

_STRUCT = r"""
local H, pack_real, unpack_real = ...
local checknumber, checkstring, argerror, raise = H.checknumber, H.checkstring, H.argerror, H.raise
local byte, sub, rep, find, match, format, concat = string.byte, string.sub, string.rep, string.find, string.match, string.format, table.concat
local floor, ceil, select, tonumber, unpack = math.floor, math.ceil, select, tonumber, unpack
local struct = {}

local SIZES = {b = 1, B = 1, h = 2, H = 2, l = 8, L = 8, T = 8, f = 4, d = 8, x = 1}
local INTEGER = {b = true, B = true, h = true, H = true, l = true, L = true, T = true, i = true, I = true}
local MAXINTSIZE, MAXALIGN = 32, 8

local function getnum(fmt, i, default)
  local c = byte(fmt, i)
  if not c or c < 48 or c > 57 then return default, i end
  local a = 0
  repeat
    local d = c - 48
    if a > 214748364 or a * 10 > 2147483647 - d then raise('integral size overflow') end
    a, i = a * 10 + d, i + 1
    c = byte(fmt, i)
  until not c or c < 48 or c > 57
  return a, i
end

local function optsize(opt, fmt, i)
  local size = SIZES[opt]
  if size then return size, i end
  if opt == 'c' then return getnum(fmt, i, 1) end
  if opt == 'i' or opt == 'I' then
    size, i = getnum(fmt, i, 4)
    if size > MAXINTSIZE then
      raise(format('integral size %d is larger than limit of %d', size, MAXINTSIZE))
    end
    return size, i
  end
  return 0, i
end

local function ispow2(x)
  if x <= 0 then return false end
  while x % 2 == 0 do x = x / 2 end
  return x == 1
end

local function band(a, b)   -- small non-negative integers
  local r, bit = 0, 1
  while a > 0 and b > 0 do
    if a % 2 == 1 and b % 2 == 1 then r = r + bit end
    a, b, bit = floor(a / 2), floor(b / 2), bit * 2
  end
  return r
end

local function gettoalign(len, h, opt, size)
  if size == 0 or opt == 'c' or len < 0 then return 0 end
  if size > h.align then size = h.align end
  return band(size - band(len, size - 1), size - 1)
end

local function controloptions(opt, fmt, i, h)
  if opt == '>' then h.little = false
  elseif opt == '<' then h.little = true
  elseif opt == '!' then
    local a
    a, i = getnum(fmt, i, MAXALIGN)
    if not ispow2(a) then raise(format('alignment %d is not a power of 2', a)) end
    h.align = a
  elseif opt ~= ' ' then
    argerror(1, format("invalid format option '%s'", opt))
  end
  return i
end

-- putinteger: the number converted to a 64-bit word the way C (x86-64) converts a
-- double, written in `size` bytes (zeros beyond the eighth).
local function integer_bytes(v, size, little)
  if v < 0 then
    v = v < -2^63 and -2^63 or ceil(v)
  elseif v >= 2^64 then
    v = 0
  elseif v ~= v then
    v = -2^63
  else
    v = floor(v)
  end
  local s = H.be_bytes(v, 8)
  s = size > 8 and rep('\0', size - 8) .. s or sub(s, 9 - size)
  return little and s:reverse() or s
end

-- getinteger: the low 64 bits of the bytes; a signed value is extended from bit
-- size*8-1, a shift count that x86 takes modulo 64 for the oversized i9..i32.
local function read_integer(data, p, size, little, signed)
  local s = sub(data, p + 1, p + size)
  if little then s = s:reverse() end
  if not signed or size <= 8 then return H.be_integer(s, 1, size, signed) end
  local hi, lo = H.be_words(s, 1, size)
  local shift = (size * 8 - 1) % 64
  if shift >= 32 then
    local m = 2 ^ (shift - 32)
    if hi >= m then hi = hi % m + (4294967296 - m) end
  elseif hi > 0 or lo >= 2 ^ shift then
    hi, lo = 4294967295, lo % 2 ^ shift + (4294967296 - 2 ^ shift)
  end
  return H.word(hi, lo, true)
end

local function format_of(args, nargs)
  return match(checkstring(1, args[1], nargs), '^[^%z]*')
end

H.register(struct, 'pack', function(...)
  local nargs, args = select('#', ...), {...}
  local fmt = format_of(args, nargs)
  nargs = nargs + 1   -- b_pack pushes a nil after its arguments: one missing is 'nil'
  local h, buf, n, total, arg, i = {little = true, align = 1}, {}, 0, 0, 2, 1
  while i <= #fmt do
    local opt, size = sub(fmt, i, i)
    size, i = optsize(opt, fmt, i + 1)
    local toalign = gettoalign(total, h, opt, size)
    total = total + toalign
    n = n + 1
    buf[n] = rep('\0', toalign)
    if INTEGER[opt] then
      local v = checknumber(arg, args[arg], nargs)
      arg, n = arg + 1, n + 1
      buf[n] = integer_bytes(v, size, h.little)
    elseif opt == 'x' then
      n = n + 1
      buf[n] = '\0'
    elseif opt == 'f' or opt == 'd' then
      local v = checknumber(arg, args[arg], nargs)
      arg, n = arg + 1, n + 1
      buf[n] = pack_real((h.little and '<' or '>') .. opt, v)
    elseif opt == 'c' or opt == 's' then
      local s = checkstring(arg, args[arg], nargs)
      arg = arg + 1
      if size == 0 then size = #s end
      if #s < size then argerror(arg, 'string too short') end
      n = n + 1
      buf[n] = sub(s, 1, size)
      if opt == 's' then
        n, size = n + 1, size + 1
        buf[n] = '\0'
      end
    else
      i = controloptions(opt, fmt, i, h)
    end
    total = total + size
  end
  return concat(buf, '', 1, n)
end)

H.register(struct, 'unpack', function(...)
  local nargs, args = select('#', ...), {...}
  local fmt = format_of(args, nargs)
  local data = checkstring(2, args[2], nargs)
  local ld, p = #data, H.optinteger(3, args[3], nargs, 1)
  if p == 0 then argerror(3, 'offset must be 1 or greater') end
  p = p - 1   -- 0-based; negative stands for the huge size_t a negative offset becomes
  local h, results, n, i = {little = true, align = 1}, {}, 0, 1
  local function fits(size)
    if not (size <= ld and p >= 0 and p <= ld - size) then argerror(2, 'data string too short') end
  end
  while i <= #fmt do
    local opt, size = sub(fmt, i, i)
    size, i = optsize(opt, fmt, i + 1)
    p = p + gettoalign(p, h, opt, size)
    fits(size)
    if INTEGER[opt] then
      n = n + 1
      results[n] = read_integer(data, p, size, h.little, opt == opt:lower())
    elseif opt == 'f' or opt == 'd' then
      n = n + 1
      results[n] = unpack_real((h.little and '<' or '>') .. opt, sub(data, p + 1, p + size))
    elseif opt == 'c' then
      if size == 0 then
        local prev = n > 0 and tonumber(results[n])
        if not prev then raise("format 'c0' needs a previous size") end
        size = prev >= 0 and floor(prev) or 2^64
        results[n], n = nil, n - 1
        fits(size)
      end
      n = n + 1
      results[n] = sub(data, p + 1, p + size)
    elseif opt == 's' then
      local e = find(data, '\0', p + 1, true)
      if not e then raise('unfinished string in data') end
      size, n = e - p, n + 1
      results[n] = sub(data, p + 1, e - 1)
    elseif opt ~= 'x' then
      i = controloptions(opt, fmt, i, h)
    end
    p = p + size
  end
  results[n + 1] = p + 1
  return unpack(results, 1, n + 1)
end)

H.register(struct, 'size', function(...)
  local nargs, args = select('#', ...), {...}
  local fmt = format_of(args, nargs)
  local h, pos, i = {little = true, align = 1}, 0, 1
  while i <= #fmt do
    local opt, size = sub(fmt, i, i)
    size, i = optsize(opt, fmt, i + 1)
    pos = pos + gettoalign(pos, h, opt, size)
    if opt == 's' then
      argerror(1, "option 's' has no fixed size")
    elseif opt == 'c' and size == 0 then
      argerror(1, "option 'c0' has no fixed size")
    end
    if not find(opt, '^%w') then i = controloptions(opt, fmt, i, h) end
    pos = pos + size
  end
  return pos
end)
return struct
"""

_CJSON = r"""
local H = ...
local checkstring, checkinteger, argerror, raise = H.checkstring, H.checkinteger, H.argerror, H.raise
local byte, char, sub, find, match, gsub, format, lower, concat = string.byte, string.char, string.sub, string.find, string.match, string.gsub, string.format, string.lower, table.concat
local floor, huge, type, next, rawget, rawset, select, tonumber, getmetatable = math.floor, math.huge, type, next, rawget, rawset, select, tonumber, getmetatable

-- cjson.null is a NULL lightuserdata in Redis; a proxy is the nearest a script can
-- tell apart from every other value here.
local null = newproxy(true)
getmetatable(null).__tostring = function() return 'userdata: (nil)' end
getmetatable(null).__metatable = false

local ESCAPES = {['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\127'] = '\\u007f',
                 ['\b'] = '\\b', ['\t'] = '\\t', ['\n'] = '\\n', ['\f'] = '\\f', ['\r'] = '\\r'}
for i = 0, 31 do ESCAPES[char(i)] = ESCAPES[char(i)] or format('\\u%04x', i) end
local UNESCAPES = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', t = '\t', n = '\n', f = '\f', r = '\r'}
local SINGLE = {['{'] = 'T_OBJ_BEGIN', ['}'] = 'T_OBJ_END', ['['] = 'T_ARR_BEGIN', [']'] = 'T_ARR_END',
                [','] = 'T_COMMA', [':'] = 'T_COLON'}
local INT_MAX, INT_MIN = 2147483647, -2147483648

local function quote(s)
  return '"' .. gsub(s, '[%z\1-\31"\\/\127]', ESCAPES) .. '"'
end

local function utf8(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64) end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- How far strtod() reads a number starting at i: sign, then hex (with fraction and
-- binary exponent), decimal (with fraction and exponent), inf[inity] or nan[(...)].
local function number_end(s, i)
  local j = find(s, '^[+-]', i) and i + 1 or i
  local x = match(s, '^0[xX]()', j)
  if x then
    local m = match(s, '^%x*()', x)
    local digits, e = m - x, m
    if byte(s, m) == 46 then
      e = match(s, '^%x*()', m + 1)
      digits = digits + e - m - 1
    end
    if digits == 0 then return j + 1 end
    return match(s, '^[pP][+-]?%d+()', e) or e
  end
  local m = match(s, '^%d*()', j)
  local digits, e = m - j, m
  if byte(s, m) == 46 then
    e = match(s, '^%d*()', m + 1)
    digits = digits + e - m - 1
  end
  if digits > 0 then return match(s, '^[eE][+-]?%d+()', e) or e end
  local word = lower(sub(s, j, j + 7))
  if word == 'infinity' then return j + 8 end
  if sub(word, 1, 3) == 'inf' then return j + 3 end
  if sub(word, 1, 3) == 'nan' then return match(s, '^%([%w_]*%)()', j + 3) or j + 3 end
end

-- json_is_invalid_number(): what strict JSON refuses but strtod() would read.
local function is_invalid_number(s, i)
  local c = byte(s, i)
  if c == 43 then return true end
  if c == 45 then i = i + 1 end
  c = byte(s, i)
  if c == 48 then return find(s, '^[xX0-9]', i + 1) ~= nil end
  if not c or c <= 57 then return false end
  local word = lower(sub(s, i, i + 2))
  return word == 'inf' or word == 'nan'
end

local function new()
  local cjson = {null = null, _NAME = 'cjson', _VERSION = '2.1.0'}
  local cfg = {sparse_convert = 0, sparse_ratio = 2, sparse_safe = 10, encode_max_depth = 1000,
               decode_max_depth = 1000, encode_invalid = 0, decode_invalid = 1, keep_buffer = 1,
               precision = 14}
  local number_format = '%.14g'

  local function number(n)
    if n ~= n or n == huge or n == -huge then
      if cfg.encode_invalid == 0 then raise('Cannot serialise number: must not be NaN or Inf') end
      if cfg.encode_invalid == 2 then return 'null' end
      if n ~= n then return 'nan' end
    end
    return format(number_format, n)
  end

  -- lua_array_length(): the array size, or -1 for an object. `max` is a C int: a
  -- key past INT_MAX wraps it to INT_MIN, which makes the table an object.
  local function array_length(t)
    local max, items = 0, 0
    for k in next, t do
      if type(k) ~= 'number' or k < 1 or floor(k) ~= k then return -1 end
      if k > max then max = k > INT_MAX and INT_MIN or k end
      items = items + 1
    end
    if cfg.sparse_ratio > 0 and max > items * cfg.sparse_ratio and max > cfg.sparse_safe then
      if cfg.sparse_convert == 0 then raise('Cannot serialise table: excessively sparse array') end
      return -1
    end
    return max
  end

  local function encode(v, buf, n, depth)
    local t = type(v)
    if t == 'string' then
      n = n + 1
      buf[n] = quote(v)
    elseif t == 'number' then
      n = n + 1
      buf[n] = number(v)
    elseif t == 'boolean' then
      n = n + 1
      buf[n] = v and 'true' or 'false'
    elseif t == 'table' then
      depth = depth + 1
      if depth > cfg.encode_max_depth then
        raise(format('Cannot serialise, excessive nesting (%d)', depth))
      end
      local len = array_length(v)
      if len > 0 then
        n = n + 1
        buf[n] = '['
        for i = 1, len do
          if i > 1 then n = n + 1; buf[n] = ',' end
          n = encode(rawget(v, i), buf, n, depth)
        end
        n = n + 1
        buf[n] = ']'
      else
        n = n + 1
        buf[n] = '{'
        local comma = false
        for k, item in next, v do
          local tk = type(k)
          n = n + 1
          if tk == 'number' then
            buf[n] = (comma and ',"' or '"') .. number(k) .. '":'
          elseif tk == 'string' then
            buf[n] = (comma and ',' or '') .. quote(k) .. ':'
          else
            raise(format('Cannot serialise %s: table key must be a number or string', tk))
          end
          comma = true
          n = encode(item, buf, n, depth)
        end
        n = n + 1
        buf[n] = '}'
      end
    elseif v == nil or v == null then
      n = n + 1
      buf[n] = 'null'
    else
      raise(format('Cannot serialise %s: type not supported', t))
    end
    return n
  end

  H.register(cjson, 'encode', function(...)
    if select('#', ...) ~= 1 then argerror(1, 'expected 1 argument') end
    local buf = {}
    return concat(buf, '', 1, encode((...), buf, 0, 0))
  end)

  -- Decoding follows json_next_token(): each token is (kind, value, where, next),
  -- `where` being the 1-based character the error messages report.
  local function string_token(s, i)
    local parts, n, j = {}, 0, i + 1
    while true do
      local k = find(s, '["\\]', j)
      if not k then return 'T_ERROR', 'unexpected end of string', #s + 1 end
      n = n + 1
      parts[n] = sub(s, j, k - 1)
      if byte(s, k) == 34 then return 'T_STRING', concat(parts, '', 1, n), i, k + 1 end
      local e = sub(s, k + 1, k + 1)
      if e == 'u' then
        local cp = tonumber(match(s, '^%x%x%x%x', k + 2) or '', 16)
        j = k + 6
        if cp and cp >= 0xD800 and cp <= 0xDFFF then
          local low = cp < 0xDC00 and match(s, '^\\u(%x%x%x%x)', j)
          low = low and tonumber(low, 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            cp, j = 0x10000 + (cp - 0xD800) * 1024 + (low - 0xDC00), j + 6
          else
            cp = nil
          end
        end
        if not cp then return 'T_ERROR', 'invalid unicode escape code', k end
        n = n + 1
        parts[n] = utf8(cp)
      else
        local c = UNESCAPES[e]
        if not c then return 'T_ERROR', 'invalid escape code', k end
        n, j = n + 1, k + 2
        parts[n] = c
      end
    end
  end

  local function number_token(s, i)
    local e = number_end(s, i)
    local v = e and tonumber(sub(s, i, e - 1))
    if not v then return 'T_ERROR', 'invalid number', i end
    return 'T_NUMBER', v, i, e
  end

  local function token(s, i)
    i = find(s, '[^ \t\n\r]', i) or #s + 1
    local c = sub(s, i, i)
    if c == '' then return 'T_END', nil, i, i end
    local single = SINGLE[c]
    if single then return single, nil, i, i + 1 end
    if c == '"' then return string_token(s, i) end
    if c == '-' or find(c, '%d') then
      if cfg.decode_invalid == 0 and is_invalid_number(s, i) then return 'T_ERROR', 'invalid number', i end
      return number_token(s, i)
    end
    if find(s, '^true', i) then return 'T_BOOLEAN', true, i, i + 4 end
    if find(s, '^false', i) then return 'T_BOOLEAN', false, i, i + 5 end
    if find(s, '^null', i) then return 'T_NULL', null, i, i + 4 end
    if cfg.decode_invalid == 1 and find(c, '[+iInN]') and is_invalid_number(s, i) then
      return number_token(s, i)
    end
    return 'T_ERROR', 'invalid token', i
  end

  local function unexpected(expected, kind, value, where)
    raise(format('Expected %s but found %s at character %d', expected,
                 kind == 'T_ERROR' and value or kind, where))
  end

  local function descend(depth, i)
    if depth > cfg.decode_max_depth then
      raise(format('Found too many nested data structures (%d) at character %d', depth, i - 1))
    end
  end

  local value
  local function array(s, i, depth)
    descend(depth, i)
    local t, n = {}, 0
    local kind, v, where, nxt = token(s, i)
    if kind == 'T_ARR_END' then return t, nxt end
    while true do
      v, i = value(s, kind, v, where, nxt, depth)
      n = n + 1
      t[n] = v
      kind, v, where, nxt = token(s, i)
      if kind == 'T_ARR_END' then return t, nxt end
      if kind ~= 'T_COMMA' then unexpected('comma or array end', kind, v, where) end
      kind, v, where, nxt = token(s, nxt)
    end
  end

  local function object(s, i, depth)
    descend(depth, i)
    local t = {}
    local kind, v, where, nxt = token(s, i)
    if kind == 'T_OBJ_END' then return t, nxt end
    while true do
      if kind ~= 'T_STRING' then unexpected('object key string', kind, v, where) end
      local key = v
      kind, v, where, nxt = token(s, nxt)
      if kind ~= 'T_COLON' then unexpected('colon', kind, v, where) end
      kind, v, where, nxt = token(s, nxt)
      v, i = value(s, kind, v, where, nxt, depth)
      rawset(t, key, v)
      kind, v, where, nxt = token(s, i)
      if kind == 'T_OBJ_END' then return t, nxt end
      if kind ~= 'T_COMMA' then unexpected('comma or object end', kind, v, where) end
      kind, v, where, nxt = token(s, nxt)
    end
  end

  function value(s, kind, v, where, nxt, depth)
    if kind == 'T_STRING' or kind == 'T_NUMBER' or kind == 'T_BOOLEAN' or kind == 'T_NULL' then
      return v, nxt
    end
    if kind == 'T_OBJ_BEGIN' then return object(s, nxt, depth + 1) end
    if kind == 'T_ARR_BEGIN' then return array(s, nxt, depth + 1) end
    unexpected('value', kind, v, where)
  end

  H.register(cjson, 'decode', function(...)
    local nargs = select('#', ...)
    if nargs ~= 1 then argerror(1, 'expected 1 argument') end
    local s = checkstring(1, (...), nargs)
    if #s >= 2 and (byte(s, 1) == 0 or byte(s, 2) == 0) then
      raise('JSON parser does not support UTF-16 or UTF-32')
    end
    s = match(s, '^[^%z]*')   -- the C parser stops at the first NUL
    local kind, v, where, nxt = token(s, 1)
    local result, i = value(s, kind, v, where, nxt, 0)
    kind, v, where = token(s, i)
    if kind ~= 'T_END' then unexpected('the end', kind, v, where) end
    return result
  end)

  -- The configuration functions: json_arg_init(), json_integer_option() and
  -- json_enum_option() of lua-cjson.
  local function arguments(max, ...)
    local nargs = select('#', ...)
    if nargs > max then argerror(max + 1, 'found too many arguments') end
    return nargs
  end

  local function integer_option(key, v, nargs, min, max)
    if v ~= nil then
      v = checkinteger(1, v, nargs)
      if v < min or v > max then argerror(1, format('expected integer between %d and %d', min, max)) end
      cfg[key] = v
    end
    return cfg[key]
  end

  local BOOLEAN = {'off', 'on'}
  local function enum_option(key, narg, v, nargs, options)
    if v ~= nil then
      if type(v) == 'boolean' then
        cfg[key] = v and 1 or 0
      else
        local name = checkstring(narg, v, nargs)
        local found
        for i, option in ipairs(options) do
          if option == name then found = i - 1 end
        end
        if not found then argerror(narg, format("invalid option '%s'", name)) end
        cfg[key] = found
      end
    end
    if cfg[key] <= 1 then return cfg[key] == 1 end
    return options[cfg[key] + 1]
  end

  H.register(cjson, 'encode_sparse_array', function(...)
    local nargs, convert, ratio, safe = arguments(3, ...), ...
    return enum_option('sparse_convert', 1, convert, nargs, BOOLEAN),
           integer_option('sparse_ratio', ratio, nargs, 0, INT_MAX),
           integer_option('sparse_safe', safe, nargs, 0, INT_MAX)
  end)
  H.register(cjson, 'encode_max_depth', function(...)
    return (integer_option('encode_max_depth', (...), arguments(1, ...), 1, INT_MAX))
  end)
  H.register(cjson, 'decode_max_depth', function(...)
    return (integer_option('decode_max_depth', (...), arguments(1, ...), 1, INT_MAX))
  end)
  H.register(cjson, 'encode_number_precision', function(...)
    local precision = integer_option('precision', (...), arguments(1, ...), 1, 14)
    number_format = '%.' .. precision .. 'g'
    return precision
  end)
  H.register(cjson, 'encode_keep_buffer', function(...)
    return (enum_option('keep_buffer', 1, (...), arguments(1, ...), BOOLEAN))
  end)
  H.register(cjson, 'encode_invalid_numbers', function(...)
    return (enum_option('encode_invalid', 1, (...), arguments(1, ...), {'off', 'on', 'null'}))
  end)
  H.register(cjson, 'decode_invalid_numbers', function(...)
    return (enum_option('decode_invalid', 1, (...), arguments(1, ...), BOOLEAN))
  end)
  H.register(cjson, 'new', new)
  return cjson
end
return new()
"""

_CMSGPACK = r"""
local H, msgpack_real, unpack_real = ...
local checkstring, checkinteger, optinteger, argerror, raise = H.checkstring, H.checkinteger, H.optinteger, H.argerror, H.raise
local be_bytes, be_integer = H.be_bytes, H.be_integer
local byte, char, sub, format, concat = string.byte, string.char, string.sub, string.format, table.concat
local floor, huge, type, next, select, error, unpack = math.floor, math.huge, type, next, select, error, unpack
local cmsgpack = {_NAME = 'cmsgpack', _VERSION = 'lua-cmsgpack 0.4.0',
                  _COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo',
                  _DESCRIPTION = 'MessagePack C implementation for Lua'}
local MAX_NESTING = 16   -- deeper tables (e.g. cycles) are packed as nil

local function integer(v)
  if v >= 0 then
    if v <= 127 then return char(v) end
    if v <= 0xff then return '\204' .. char(v) end
    if v <= 0xffff then return '\205' .. be_bytes(v, 2) end
    if v <= 0xffffffff then return '\206' .. be_bytes(v, 4) end
    return '\207' .. be_bytes(v, 8)
  end
  if v >= -32 then return char(v + 256) end
  if v >= -128 then return '\208' .. char(v + 256) end
  if v >= -32768 then return '\209' .. be_bytes(v, 2) end
  if v >= -2147483648 then return '\210' .. be_bytes(v, 4) end
  return '\211' .. be_bytes(v, 8)
end

local function header(len, small, fix, bits16, bits32)
  if len < small then return char(fix + len) end
  if len <= 0xffff then return bits16 .. be_bytes(len, 2) end
  return bits32 .. be_bytes(len, 4)
end

-- table_is_an_array(): keys exactly 1..n (n fitting a C int).
local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= 'number' or k <= 0 or k > 2147483647 or floor(k) ~= k then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

local function encode(v, buf, n, level)
  local t = type(v)
  n = n + 1
  if t == 'table' and level == MAX_NESTING then t = 'nil' end
  if t == 'string' then
    local len = #v
    if len < 32 then
      buf[n] = char(0xa0 + len) .. v
    elseif len <= 0xff then
      buf[n] = '\217' .. char(len) .. v
    else
      buf[n] = header(len, 0, 0, '\218', '\219') .. v
    end
  elseif t == 'boolean' then
    buf[n] = v and '\195' or '\194'
  elseif t == 'number' then
    if v == v and v >= -2^63 and v < 2^63 and floor(v) == v then
      buf[n] = integer(v)
    else
      buf[n] = msgpack_real(v)
    end
  elseif t == 'table' then
    if is_array(v) then
      local len = #v
      buf[n] = header(len, 16, 0x90, '\220', '\221')
      for i = 1, len do n = encode(v[i], buf, n, level + 1) end
    else
      local len = 0
      for _ in next, v do len = len + 1 end
      buf[n] = header(len, 16, 0x80, '\222', '\223')
      for k, item in next, v do
        n = encode(k, buf, n, level + 1)
        n = encode(item, buf, n, level + 1)
      end
    end
  else
    buf[n] = '\192'
  end
  return n
end

H.register(cmsgpack, 'pack', function(...)
  local nargs = select('#', ...)
  if nargs == 0 then argerror(0, 'MessagePack pack needs input.') end
  local buf, n, args = {}, 0, {...}
  for i = 1, nargs do n = encode(args[i], buf, n, 0) end
  return concat(buf, '', 1, n)
end)

local function need(s, pos, size)
  if pos + size - 1 > #s then raise('Missing bytes in input.') end
end

local INTEGERS = {[0xcc] = {1, false}, [0xcd] = {2, false}, [0xce] = {4, false}, [0xcf] = {8, true},
                  [0xd0] = {1, true}, [0xd1] = {2, true}, [0xd2] = {4, true}, [0xd3] = {8, true}}
local decode

local function array(s, pos, len)
  local t = {}
  for i = 1, len do t[i], pos = decode(s, pos) end
  return t, pos
end

local function map(s, pos, len)
  local t, k, v = {}
  for _ = 1, len do
    k, pos = decode(s, pos)
    v, pos = decode(s, pos)
    if k == nil then error('table index is nil', 0) end
    if k ~= k then error('table index is NaN', 0) end
    t[k] = v
  end
  return t, pos
end

local function bytes(s, pos, len)
  need(s, pos, len)
  return sub(s, pos, pos + len - 1), pos + len
end

local function length(s, pos, size)   -- the position after a length field, and the length
  need(s, pos, size)
  return pos + size, be_integer(s, pos, size, false)
end

-- One value from s at pos: the value and the position after it.
function decode(s, pos)
  need(s, pos, 1)
  local c = byte(s, pos)
  pos = pos + 1
  if c <= 0x7f then return c, pos end
  if c >= 0xe0 then return c - 256, pos end
  if c >= 0xa0 and c <= 0xbf then return bytes(s, pos, c - 0xa0) end
  if c >= 0x90 and c <= 0x9f then return array(s, pos, c - 0x90) end
  if c >= 0x80 and c <= 0x8f then return map(s, pos, c - 0x80) end
  local int = INTEGERS[c]
  if int then
    need(s, pos, int[1])
    return be_integer(s, pos, int[1], int[2]), pos + int[1]
  end
  if c == 0xc0 then return nil, pos end
  if c == 0xc2 then return false, pos end
  if c == 0xc3 then return true, pos end
  if c == 0xca or c == 0xcb then
    local size = c == 0xca and 4 or 8
    need(s, pos, size)
    return unpack_real(c == 0xca and '>f' or '>d', sub(s, pos, pos + size - 1)), pos + size
  end
  if c == 0xd9 then return bytes(s, pos + 1, (need(s, pos, 1) or byte(s, pos))) end
  if c == 0xda or c == 0xdb then return bytes(s, length(s, pos, c == 0xda and 2 or 4)) end
  if c == 0xdc or c == 0xdd then return array(s, length(s, pos, c == 0xdc and 2 or 4)) end
  if c == 0xde or c == 0xdf then return map(s, length(s, pos, c == 0xde and 2 or 4)) end
  raise('Bad data format in input.')
end

-- mp_unpack_full(): limit/offset 0 decode everything; otherwise the next offset
-- (-1 once the input is consumed) comes first.
local function unpack_full(s, limit, offset)
  local len = #s
  if offset < 0 or limit < 0 then
    raise(format('Invalid request to unpack with offset of %d and limit of %d.', offset, len))
  elseif offset > len then
    raise(format('Start offset %d greater than input length %d.', offset, len))
  end
  local all = limit == 0 and offset == 0
  if all then limit = huge end
  local values, count, pos = {}, 0, offset + 1
  while pos <= len and count < limit do
    count = count + 1
    values[count], pos = decode(s, pos)
  end
  if all then return unpack(values, 1, count) end
  return pos > len and -1 or pos - 1, unpack(values, 1, count)
end

-- Library functions never tail-call what may raise: their frame must stay on the stack.
local function results(...) return ... end

H.register(cmsgpack, 'unpack', function(...)
  local nargs = select('#', ...)
  return results(unpack_full(checkstring(1, (...), nargs), 0, 0))
end)
H.register(cmsgpack, 'unpack_one', function(...)
  local nargs, s, offset = select('#', ...), ...
  offset = optinteger(2, offset, nargs, 0)
  return results(unpack_full(checkstring(1, s, nargs), 1, offset))
end)
H.register(cmsgpack, 'unpack_limit', function(...)
  local nargs, s, limit, offset = select('#', ...), ...
  limit = checkinteger(2, limit, nargs)
  offset = optinteger(3, offset, nargs, 0)
  return results(unpack_full(checkstring(1, s, nargs), limit, offset))
end)
return cmsgpack
"""


def install(lua: "lua51.LuaRuntime") -> None:
    """Define the globals bit, struct, cjson and cmsgpack in `lua` (a lupa lua51 runtime
    with encoding=None, before its sandbox removes debug and newproxy from the globals)."""
    helpers = lua.execute(_PRELUDE, name=CHUNK_NAME)
    g = lua.globals()
    g.bit = lua.execute(_BIT, helpers, _tobit, _bnot, _band, _bor, _bxor, _lshift, _rshift,
                        _arshift, _rol, _ror, _bswap, _tohex, name=CHUNK_NAME)
    g.struct = lua.execute(_STRUCT, helpers, _pack_real, _unpack_real, name=CHUNK_NAME)
    g.cjson = lua.execute(_CJSON, helpers, name=CHUNK_NAME)
    g.cmsgpack = lua.execute(_CMSGPACK, helpers, _msgpack_real, _unpack_real, name=CHUNK_NAME)
