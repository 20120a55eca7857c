"""FUNCTION's libraries (Redis 7.0): stored state kept as code, compiled into the scripts' Lua state.

The libraries are data like the keys: `keyspace.libraries` maps each library's name to its
code, a new dict at every change (so a compiled view sees the change by identity). FUNCTION
LOAD / DELETE / FLUSH / RESTORE change it and are logged; replay, replicas and snapshots
restore it without running any Lua (a logged change succeeded live: it needs no checks again).

`Functions` (state.functions) is the compiled view FCALL, FUNCTION LIST and STATS read: each
library's body run once in Redis's load environment (only `redis.register_function`,
`redis.log` and the version constants; 500 ms at most), in the Lua state EVAL uses. It compiles
again when the libraries changed under it (replay, a replica) or SCRIPT FLUSH made a new state;
a library's upvalues start over then, where Redis keeps them.
"""
import logging
import re
import struct
import time
import zlib

import hiredis

from engine import errors
from engine.errors import RedisError
from engine.scripting import ScriptError

log = logging.getLogger("redwood.functions")

LOAD_TIMEOUT = 0.5                  # seconds: Redis's LOAD_TIMEOUT_MS
FLAGS = (b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys")
_NAME = re.compile(rb"[A-Za-z0-9_]+\Z")
BAD_NAME = "Library names can only contain letters, numbers, or underscores(_) and must be at least one " \
           "character long"      # Redis gives this text for a bad function name too
DUMP_MAGIC, DUMP_VERSION = b"redwood-functions", b"1"
BAD_PAYLOAD = errors.err("DUMP payload version or checksum are wrong")
_CRC = struct.Struct("<I")

# Run once per Lua state with the scripts' environment: returns load(code), which runs a
# library's body and answers nil, or the error's text and whether it failed to compile.
LOADER = r"""
local env, py = ...
local S = debug.getmetatable(env).__index
local error, tostring, type, rawget, select, next = error, tostring, type, rawget, select, next
local setmetatable, loadstring, setfenv, pcall = setmetatable, loadstring, setfenv, pcall
local sethook, gethook = debug.sethook, debug.gethook

local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end
local function readonly_error()
  error('Attempt to modify a readonly table', 2)
end
local function isstring(v) return type(v) == 'string' or type(v) == 'number' end
local function fail(message) error(message, 0) end

local KNOWN_FLAGS = {}
for _, flag in ipairs(py.flags) do KNOWN_FLAGS[flag] = true end

-- luaRegisterFunction(): its arguments, checked in Redis's order and words.
local function register(...)
  local n, name, callback, description = select('#', ...), nil, nil, nil
  local flags = {}
  if n == 1 then
    local args = ...
    if type(args) ~= 'table' then
      fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
    end
    for key, value in next, args do
      if not isstring(key) then fail('named argument key given to redis.register_function is not a string') end
      if key == 'function_name' then
        if not isstring(value) then fail('function_name argument given to redis.register_function must be a string') end
        name = tostring(value)
      elseif key == 'description' then
        if not isstring(value) then fail('description argument given to redis.register_function must be a string') end
        description = tostring(value)
      elseif key == 'callback' then
        if type(value) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
        callback = value
      elseif key == 'flags' then
        if type(value) ~= 'table' then fail('flags argument to redis.register_function must be a table representing function flags') end
        for _, flag in next, value do
          if type(flag) ~= 'string' or not KNOWN_FLAGS[flag] then fail('unknown flag given') end
          flags[#flags + 1] = flag
        end
      else
        fail('unknown argument given to redis.register_function')
      end
    end
    if name == nil then fail('redis.register_function must get a function name argument') end
    if callback == nil then fail('redis.register_function must get a callback argument') end
  elseif n == 2 then
    name, callback = ...
    if not isstring(name) then fail('first argument to redis.register_function must be a string') end
    if type(callback) ~= 'function' then fail('second argument to redis.register_function must be a function') end
    name = tostring(name)
  else
    fail('wrong number of arguments to redis.register_function')
  end
  py.register(name, callback, description, unpack(flags))
end

-- What a library's body sees while it loads: `redis` with these fields, nothing else.
local api = {register_function = register, log = S.redis.log, REDIS_VERSION = S.redis.REDIS_VERSION,
             REDIS_VERSION_NUM = S.redis.REDIS_VERSION_NUM}
for _, level in ipairs({'LOG_DEBUG', 'LOG_VERBOSE', 'LOG_NOTICE', 'LOG_WARNING'}) do api[level] = S.redis[level] end
local loading = setmetatable({redis = setmetatable({}, {
  __index = setmetatable(api, {__index = missing}), __newindex = readonly_error, __metatable = false})},
  {__index = missing})

-- What its functions see when they run: the scripts' globals without EVAL's KEYS and ARGV.
local meta = {__newindex = readonly_error, __metatable = false}
local globals = setmetatable({}, meta)
local function running(_, name)
  if name == '_G' then return globals end
  local value = rawget(S, name)
  if value == nil or name == 'KEYS' or name == 'ARGV' then
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end
  return value
end
meta.__index = running

local function timeout()
  if py.expired() then
    error('FUNCTION LOAD timeout', 0)
  end
end

return function(code)
  local f, e = loadstring(code, '@user_function')
  if not f then return e, true end
  setfenv(f, globals)
  meta.__index = loading
  local hook, mask, count = gethook()       -- the scripts' hook, set once: put back after
  sethook(timeout, '', py.hook_instructions)
  local ok, err = pcall(f)
  if hook then sethook(hook, mask, count) else sethook() end
  meta.__index = running
  if ok then return nil end
  if type(err) == 'userdata' then err = py.unwrap(err) end
  if type(err) == 'table' and type(rawget(err, 'err')) == 'string' then return rawget(err, 'err'), false end
  return 'ERR ' .. tostring(err), false
end
"""


class Function:
    __slots__ = ("name", "callable", "flags", "description", "library")

    def __init__(self, name: bytes, callable, flags: frozenset, description: bytes | None, library):
        self.name, self.callable, self.flags, self.description = name, callable, flags, description
        self.library = library


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes, functions: dict):
        self.name, self.code, self.functions = name, code, functions


def library_name(code: bytes) -> bytes:
    """The name in the code's `#!lua name=<lib>` line (functionExtractLibMetaData()'s errors)."""
    if not code.startswith(b"#!"):
        raise errors.err("Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise errors.err("Invalid library metadata")
    words = code[2:end].split()
    engine, name = (words[0] if words else b""), None
    if engine.lower() != b"lua":
        raise errors.err("Engine '%s' not found" % _text(engine))
    for word in words[1:]:
        if not word.startswith(b"name="):
            raise errors.err("Invalid metadata value given: %s" % _text(word))
        if name is not None:
            raise errors.err("Invalid metadata value, name argument was given multiple times")
        name = word[5:]
    if name is None:
        raise errors.err("Library name was not given")
    if not _NAME.match(name):
        raise errors.err(BAD_NAME)
    return name


# -- the stored state: what replay applies -----------------------------------------------------
def stored(keyspace, libraries: dict):
    """Make `libraries` (name -> code) the keyspace's, as a new dict (see the module's doc)."""
    keyspace.libraries = dict(libraries)


def restored(keyspace, codes: list, policy: bytes) -> dict:
    """The libraries after RESTORE of codes with policy (FLUSH, APPEND or REPLACE)."""
    new = {library_name(code): code for code in codes}
    return new if policy == b"flush" else {**keyspace.libraries, **new}


def dump(libraries: dict) -> bytes:
    """FUNCTION DUMP's payload: a RESP array of the codes, then its crc32 (not Redis's RDB form)."""
    body = hiredis.pack_command((DUMP_MAGIC, DUMP_VERSION, *libraries.values()))
    return body + _CRC.pack(zlib.crc32(body))


def undump(payload: bytes) -> list:
    """The codes of a DUMP payload; Redis's error for anything else."""
    body = payload[:-_CRC.size]
    if len(payload) < _CRC.size or _CRC.unpack_from(payload, len(body))[0] != zlib.crc32(body):
        raise BAD_PAYLOAD
    reader = hiredis.Reader()
    reader.feed(body)
    try:
        items = reader.gets()
    except hiredis.ProtocolError:
        raise BAD_PAYLOAD from None
    if items.__class__ is not list or items[:2] != [DUMP_MAGIC, DUMP_VERSION] or reader.gets() is not False:
        raise BAD_PAYLOAD
    return items[2:]


# -- the compiled view ---------------------------------------------------------------------------
class Functions:
    """keyspace.libraries compiled in the scripts' Lua state: what FCALL runs."""

    def __init__(self, state):
        self.state = state
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[bytes, Function] = {}     # by lower-cased name: FCALL's lookup ignores case
        self._code = None           # the keyspace.libraries compiled here ...
        self._lua = None            # ... in this Lua state
        self._load = None           # LOADER's load(code) in that state
        self._loading = None        # the functions registered by the body being loaded
        self.running = None         # (function name, argv) while FCALL runs one (FUNCTION STATS)
        self._deadline = 0.0

    def current(self) -> "Functions":
        """This view, compiled again first if the libraries or the Lua state changed."""
        code = self.state.keyspace.libraries
        if code is not self._code or self.state.scripts.lua is not self._lua:
            self._compile_all(code)
        return self

    def find(self, name: bytes) -> Function | None:
        return self.current().functions.get(name.lower())

    def _compile_all(self, code: dict):
        scripts = self.state.scripts
        if scripts.lua is not self._lua or self._load is None:
            lua, env = scripts.environment()
            side = lua.table_from({b"register": self._register, b"expired": self._expired,
                                   b"unwrap": _unwrap, b"flags": lua.table_from(FLAGS),
                                   b"hook_instructions": 100_000})
            self._load, self._lua = lua.execute(LOADER.encode(), env, side, name="@redwood"), lua
            self.libraries = {}
        old, self.libraries, self._code = self.libraries, {}, code
        for name, body in code.items():
            library = old.get(name)
            if library is None or library.code is not body:
                try:
                    library = self.compile(body)
                except RedisError as exc:       # it loaded live: only a timeout can fail here
                    log.error("library %r does not load again: %s", name, exc.message)
                    continue
            self.libraries[name] = library
        self.functions = {key.lower(): function for library in self.libraries.values()
                          for key, function in library.functions.items()}

    def compile(self, code: bytes) -> Library:
        """Run a library's body to register its functions; Redis's errors when it cannot."""
        name = library_name(code)
        self._loading, self._deadline = {}, time.monotonic() + LOAD_TIMEOUT
        try:
            failed = self._load(code[code.find(b"\n"):])     # the line feed keeps the line numbers
            functions = self._loading
        finally:
            self._loading = None
        if failed is not None:
            error, compiling = failed
            raise errors.err(("Error compiling function: %s" if compiling else "Error registering functions: %s")
                             % _text(error))
        if not functions:
            raise errors.err("No functions registered")
        for function in functions.values():
            function.library = name
        return Library(name, code, functions)

    def _register(self, name: bytes, callback, description, *flags):
        if not _NAME.match(name):
            raise ScriptError(BAD_NAME.encode())
        if name in self._loading:
            raise ScriptError(b"Function already exists in the library")
        self._loading[name] = Function(name, callback, frozenset(flags), description, None)

    def _expired(self) -> bool:
        return time.monotonic() > self._deadline

    # -- changes made by commands -------------------------------------------------------------
    def load(self, code: bytes, replace: bool) -> Library:
        """FUNCTION LOAD's checks, in Redis's order: the library it would add (not added yet)."""
        name = library_name(code)
        if name in self.current().libraries and not replace:
            raise errors.err("Library '%s' already exists" % _text(name))
        library = self.compile(code)
        self._check_collisions([library], replaced={name})
        return library

    def restore(self, codes: list, policy: bytes) -> list:
        """FUNCTION RESTORE's checks: the libraries it would add."""
        existing = self.current().libraries
        libraries = [self.compile(code) for code in codes]
        if policy == b"append":
            for library in libraries:
                if library.name in existing:
                    raise errors.err("Library %s already exists" % _text(library.name))
        replaced = set(existing) if policy == b"flush" else {library.name for library in libraries}
        self._check_collisions(libraries, replaced)
        return libraries

    def _check_collisions(self, libraries: list, replaced: set):
        """"Function x already exists" when another library, not replaced, has its name."""
        for library in libraries:
            for name in library.functions:
                other = self.functions.get(name.lower())
                if other is not None and other.library not in replaced:
                    raise errors.err("Function %s already exists" % _text(name))

    def install(self, libraries: dict, compiled: list = ()):
        """Store the libraries (name -> code) a command made, with those it compiled already."""
        stored(self.state.keyspace, libraries)
        for library in compiled:
            self.libraries[library.name] = library
        self.current()


def _unwrap(error):
    return error.value if isinstance(error, ScriptError) else str(error).encode()


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
