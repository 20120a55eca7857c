"""The Lua runtime of EVAL and its kin: one Lua 5.1 state per server (lupa), Redis 7.0's sandbox.

A script is compiled once (`@user_script`, so errors name its lines as Redis does) and cached
by its sha1. It runs inline, on the event loop: its commands go through `redis.call` →
`Scripts.call` → `engine.executor.run`, with the checks Redis makes for a script's command, as
the calling client (its ACL user, its tracking; the script's own db and RESP version). Its
writes are staged with FLAG_MULTI, like EXEC's, so they land in one log batch and replay and
replicas apply the effects, never Lua.

A count hook runs every 100k Lua instructions. Past `busy-reply-threshold` it makes the
script busy: `state.busy_script` holds the BUSY error the executor answers everything but
`allow_busy` commands with, and the hook serves the other connections itself (their
`serve_busy()`), so SCRIPT KILL can reach the script. A killed script fails at its next line.
"""
import hashlib
import logging
import time

from lupa import lua51

from engine import errors, lualibs      # lualibs: cjson, cmsgpack, bit, struct
from engine.errors import RedisError
from engine.events import FLAG_MULTI
from engine.executor import run as run_command
from engine.registry import COMMANDS, lookup
from engine.replies import BigNumber, Double, Map, NullArray, Push, RSet, Status, Verbatim, format_double

log = logging.getLogger("redwood.scripting")

REDIS_VERSION, REDIS_VERSION_NUM = "7.0.15", 0x07000F
HOOK_INSTRUCTIONS = 100_000
SPREAD_MAX = 200            # KEYS + ARGV passed to Lua as arguments up to this many, else as tables
INT64_MIN, TWO_63 = -(1 << 63), float(1 << 63)

NOSCRIPT = RedisError("NOSCRIPT No matching script. Please use EVAL.")
NOTBUSY = RedisError("NOTBUSY No scripts in execution right now.")
UNKILLABLE = RedisError("UNKILLABLE Sorry the script already executed write commands against the dataset. "
                        "You can either wait the script termination or kill the server in a hard way "
                        "using the SHUTDOWN NOSAVE command.")
BUSY_EVAL = RedisError("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
BUSY_FUNCTION = RedisError("BUSY Redis is busy running a script. You can only call FUNCTION KILL or "
                           "SHUTDOWN NOSAVE.")

# What redis.call answers before the command runs (scriptCall()'s refusals).
_UNKNOWN = "ERR Unknown Redis command called from script"
_WRONG_ARGS = "ERR Wrong number of args calling Redis command from script"
_NOSCRIPT_CMD = "ERR This Redis command is not allowed from script"
_READ_ONLY = "ERR Write commands are not allowed from read-only scripts."
_ACL_DENIED = {"command": "ERR The user executing the script can't run this command or subcommand",
               "key": "ERR The user executing the script can't access at least one of the keys mentioned "
                      "in the command arguments",
               "channel": "ERR The user executing the script can't publish to the channel mentioned in "
                          "the command"}
_LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.WARNING, logging.WARNING)

# The sandbox, run once per Lua state with the Python side as its argument. The chunk is named
# `@redwood` so that the error handler skips its frames and names the user's line.
BOOTSTRAP = r"""
local py = ...
local G = _G
local tick, unwrap = py.tick, py.unwrap
local sethook, getinfo, setfenv = debug.sethook, debug.getinfo, setfenv
local error, type, tostring, select, rawget, setmetatable = error, type, tostring, select, rawget, setmetatable
local xpcall, pcall, loadstring, load = xpcall, pcall, loadstring, load

-- The scripts' globals: Redis 7.0's, nothing else (no io, os, debug, print, require, dofile,
-- loadfile, setfenv, getfenv, newproxy, module, package). Lupa's own globals (G) stay as they
-- are: it reads debug.traceback there.
local S = {}
for _, name in ipairs({'_VERSION', 'assert', 'collectgarbage', 'coroutine', 'error', 'gcinfo',
                       'getmetatable', 'ipairs', 'math', 'next', 'pairs', 'rawequal', 'rawget', 'rawset',
                       'select', 'setmetatable', 'string', 'table', 'tonumber', 'tostring', 'type', 'unpack',
                       'xpcall', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  S[name] = G[name]
end

local function readonly_error()
  error('Attempt to modify a readonly table', 2)
end

-- Readonly tables: an empty proxy reading through to the real one.
local function readonly(t)
  return setmetatable({}, {__index = t, __newindex = readonly_error, __metatable = false})
end

-- luaPushErrorBuff(): "-CODE msg" or "msg" becomes "CODE msg" (ERR by default).
local function error_text(s)
  local code, msg = 'ERR', s
  if s:sub(1, 1) == '-' then
    local space = s:find(' ', 1, true)
    if space then code, msg = s:sub(2, space - 1), s:sub(space + 1) else msg = s:sub(2) end
  end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return code .. ' ' .. msg
end

local handler = function(err)
  if type(err) == 'userdata' then err = unwrap(err) end
  local level, info = 2, nil
  repeat
    info = getinfo(level, 'Sl')
    level = level + 1
  until not info or (info.what ~= 'C' and info.source ~= '@redwood')
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if info then
    err.source, err.line = info.source, info.currentline
  end
  return err
end

-- The functions that may fail are Python's (a Lua wrapper would lose the failing line to a tail
-- call); they raise engine.scripting.ScriptError, which `unwrap` turns back into Redis's error.
local redis = {}
for _, name in ipairs({'call', 'pcall', 'sha1hex', 'log', 'setresp', 'set_repl', 'acl_check_cmd'}) do
  redis[name] = py[name]
end
redis.error_reply = function(...)
  local msg = ...
  if select('#', ...) ~= 1 or type(msg) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if msg:sub(1, 1) ~= '-' then msg = '-' .. msg end
  return {err = error_text(msg)}
end
redis.status_reply = function(...)
  local msg = ...
  if select('#', ...) ~= 1 or type(msg) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = msg}
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = py.version, py.version_num
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
S.redis = redis

-- Redis's pcall: a trapped error table (redis.call's) comes back as its message.
local function trapped(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = unwrap(e) end
  if type(e) == 'table' then
    local msg = rawget(e, 'err')
    if type(msg) == 'string' or type(msg) == 'number' then e = msg end
  end
  return false, e
end
S.pcall = function(...) return trapped(pcall(...)) end
S.__redis__err__handler = handler

-- The scripts' environment: globals read through to S, whose misses are errors; nothing
-- may be assigned. Code loaded by a script gets the same environment.
local env = setmetatable({}, {__index = S, __newindex = readonly_error, __metatable = false})
S.loadstring = function(s, name)
  local f, e = loadstring(s, name)
  if f then setfenv(f, env) end
  return f, e
end
S.load = function(f, name)
  local f, e = load(f, name)
  if f then setfenv(f, env) end
  return f, e
end

-- The count hook is set once and stays; only a killed script leaves a line hook behind.
local hook, every_line
hook = function()
  if tick() then
    sethook(hook, 'l')              -- a pcall in a loop cannot outlive SCRIPT KILL
    every_line = true
    error({err = 'ERR Script killed by user with SCRIPT KILL...'}, 0)
  end
end
sethook(hook, '', py.hook_instructions)

local function compile(body)
  local f, e = loadstring(body, '@user_script')
  if f then setfenv(f, env) end
  return f, e
end

-- KEYS and ARGV arrive as the arguments after nkeys (cheaper than lupa building two tables),
-- or as two tables when nkeys is nil (too many for one call's C stack).
local function run(f, eval, nkeys, ...)
  if every_line then
    sethook(hook, '', py.hook_instructions)
    every_line = false
  end
  local keys, args = ...
  if nkeys then
    local argv = {...}
    keys, args = {}, {}
    for i = 1, nkeys do keys[i] = argv[i] end
    for i = nkeys + 1, select('#', ...) do args[i - nkeys] = argv[i] end
  end
  if eval then
    S.KEYS, S.ARGV = keys, args
    return xpcall(f, handler)
  end
  return xpcall(function() return f(keys, args) end, handler)
end

-- The script's reply, sorted out as luaReplyToRedisReply() looks at a table.
local function reply_kind(t)
  local v = rawget(t, 'err')
  if type(v) == 'string' then return 'err', v, rawget(t, 'ignore_error_stats_update') end
  v = rawget(t, 'ok')
  if type(v) == 'string' then return 'ok', v end
  v = rawget(t, 'double')
  if type(v) == 'number' then return 'double', v end
  v = rawget(t, 'big_number')
  if type(v) == 'string' then return 'big_number', v end
  v = rawget(t, 'verbatim_string')
  if type(v) == 'table' then
    local format, s = rawget(v, 'format'), rawget(v, 'string')
    if type(format) == 'string' and type(s) == 'string' then return 'verbatim', s, format end
  end
  v = rawget(t, 'map')
  if type(v) == 'table' then
    local flat = {}
    for key, value in next, v do flat[#flat + 1] = key; flat[#flat + 1] = value end
    return 'map', flat
  end
  v = rawget(t, 'set')
  if type(v) == 'table' then
    local members = {}
    for key in next, v do members[#members + 1] = key end
    return 'set', members
  end
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  return 'array', n
end

for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'bit', 'cjson', 'cmsgpack', 'struct', 'redis'}) do
  if S[name] then S[name] = readonly(S[name]) end
end
S._G = env
setmetatable(S, {__index = function(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end, __metatable = false})
local function status(s) return {ok = s} end
return compile, run, reply_kind, status
"""


class ScriptError(Exception):
    """Raised by the Python side of the `redis` table: `value` is the Lua error, a message
    (the handler makes it `ERR message`) or an error table (redis.call's)."""

    def __init__(self, value):
        super().__init__(value)
        self.value = value


class Script:
    """A compiled script: its function and its shebang flags (None: no shebang, EVAL's
    compatibility mode)."""
    __slots__ = ("function", "flags", "size")

    def __init__(self, function, flags, size: int):
        self.function, self.flags, self.size = function, flags, size


class Run:
    """The script in progress (Redis's scriptRunCtx)."""
    __slots__ = ("client", "name", "readonly", "allow_oom", "eval", "resp", "dirty", "killed", "start", "busy")

    def __init__(self, client, name: str, readonly: bool, allow_oom: bool, eval: bool):
        self.client, self.name, self.readonly, self.allow_oom, self.eval = client, name, readonly, allow_oom, eval
        self.resp = 2
        self.dirty = self.killed = self.busy = False
        self.start = time.monotonic()


SHEBANG_FLAGS = {b"no-writes", b"allow-oom", b"allow-stale", b"no-cluster", b"allow-cross-slot-keys"}


def shebang(body: bytes) -> tuple[int, frozenset | None]:
    """`#!lua flags=a,b` on the first line: its length (Redis compiles the rest, keeping the line
    feed so line numbers hold) and the flags; (0, None) without one."""
    if not body.startswith(b"#!"):
        return 0, None
    end = body.find(b"\n")
    line = body if end < 0 else body[:end]
    words = line.split()
    if words[0] != b"#!lua":
        raise errors.err("Unexpected engine in script shebang: %s" % line.decode("utf-8", "replace"))
    flags = set()
    for word in words[1:]:
        if not word.startswith(b"flags="):
            raise errors.err("Unknown lua shebang option: %s" % word.decode("utf-8", "replace"))
        for flag in word[6:].split(b","):
            if flag not in SHEBANG_FLAGS:
                raise errors.err("Unexpected flag in script shebang: %s" % flag.decode("utf-8", "replace"))
            flags.add(flag)
    return len(line), frozenset(flags)


class Scripts:
    """The server's Lua state, its script cache and the script in progress (`state.scripts`)."""

    def __init__(self, state):
        self.state = state
        self.lua = None             # created on first use, again by SCRIPT FLUSH
        self.cache: dict[bytes, Script] = {}
        self.run: Run | None = None
        self._saved = None          # what busy mode changed in the server state

    # -- the Lua state ---------------------------------------------------------------------
    def _runtime(self):
        if self.lua is None:
            lua = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                   register_builtins=False)
            lualibs.install(lua)
            side = lua.table_from({
                b"call": self.call, b"pcall": self.pcall, b"sha1hex": _sha1hex, b"log": _log,
                b"setresp": self._setresp, b"set_repl": _set_repl, b"acl_check_cmd": self._acl_check_cmd,
                b"tick": self.tick, b"unwrap": self._unwrap, b"hook_instructions": HOOK_INSTRUCTIONS,
                b"version": REDIS_VERSION.encode(), b"version_num": REDIS_VERSION_NUM})
            self._compile, self._run, self._reply_kind, self._status = lua.execute(
                BOOTSTRAP.encode(), side, name="@redwood")
            self.lua, self._table = lua, lua.table_from
        return self.lua

    def flush(self):
        """SCRIPT FLUSH: the cache and the Lua state go; the next script starts a new one."""
        self.cache.clear()
        self.lua = None

    def memory(self) -> int:
        """used_memory_lua: what the Lua state holds, in bytes."""
        return int(self._runtime().eval("collectgarbage('count')") * 1024) if self.lua is not None else 0

    def load(self, body: bytes) -> tuple[bytes, Script]:
        """The script's sha1 and compiled form, compiled and cached on first sight."""
        sha = hashlib.sha1(body).hexdigest().encode()
        script = self.cache.get(sha)
        if script is None:
            start, flags = shebang(body)
            self._runtime()
            function, error = self._compile(body[start:])
            if function is None:
                raise errors.err("Error compiling script (new function): %s" % _text(error))
            script = self.cache[sha] = Script(function, flags, len(body))
        return sha, script

    # -- running ---------------------------------------------------------------------------
    def eval(self, client, sha: bytes, script: Script, keys: list, args: list, readonly: bool):
        """EVAL and its kin once the script is found: Redis's checks of the script's flags, then run."""
        flags = script.flags
        if flags is not None:
            if b"no-writes" not in flags and readonly:
                raise errors.err("Can not execute a script with write flag using *_ro command.")
            readonly = readonly or b"no-writes" in flags
        allow_oom = flags is not None and b"allow-oom" in flags
        return self.execute(client, script.function, sha.decode(), keys, args, readonly=readonly,
                            allow_oom=allow_oom, eval=True)

    def execute(self, client, function, name: str, keys: list, args: list, *, readonly: bool,
                allow_oom: bool = False, eval: bool = True):
        """Run a Lua function as a script for client: KEYS and ARGV as globals (`eval`), else as its
        two arguments (a library function). Its reply, or the error Redis gives (raised when
        Redis counts it in errorstats, returned when the failed command was counted already)."""
        self._runtime()
        run = self.run = Run(client, name, readonly, allow_oom, eval)
        store = client.store
        saved = client.db, client.resp, client.in_exec, client.last_command, store.flags
        # The script's commands run with its RESP version (redis.setresp) and keep its SELECT.
        client.resp, client.in_exec, store.flags = 2, True, FLAG_MULTI   # blocking commands answer at once
        try:
            if len(keys) + len(args) <= SPREAD_MAX:
                result = self._run(function, eval, len(keys), *keys, *args)
            else:
                result = self._run(function, eval, None, self._table(keys), self._table(args))
        finally:
            self.run = None
            client.db, client.resp, client.in_exec, client.last_command, store.flags = saved
            if run.busy:
                self._end_busy()
        ok, value = result[:2] if result.__class__ is tuple else (result, None)   # `return` of nothing
        if ok:
            return self.reply(value, run.resp == 3, top=True)
        return _failure(value, name)

    def reply(self, value, resp3: bool, top: bool = False):
        """A Lua value as a reply (luaReplyToRedisReply()): numbers truncated to integers, a
        table as an error, a status, RESP3 types or an array up to its first nil."""
        kind = value.__class__
        if kind is bytes:
            return value
        if kind is int or kind is float:    # (long long) of a double: out of range, NaN → INT64_MIN
            return int(value) if -TWO_63 <= value < TWO_63 else INT64_MIN
        if kind is bool:
            return value if resp3 else (1 if value else None)
        if lua51.lua_type(value) != "table":
            return None
        shape, first, second = (self._reply_kind(value) + (None, None))[:3]
        if shape == b"array":
            return [self.reply(value[i], resp3) for i in range(1, first + 1)]
        if shape == b"err":
            error = RedisError(_text(first))
            if top and not second:
                raise error
            return error
        if shape == b"ok":
            return Status(_text(first))
        if shape == b"double":
            return Double(first)
        if shape == b"big_number":
            text = first.replace(b"\r", b" ").replace(b"\n", b" ")
            return BigNumber(int(text)) if text.lstrip(b"-").isdigit() else text
        if shape == b"verbatim":
            return Verbatim(first)
        items = [self.reply(item, resp3) for item in first.values()]
        if shape == b"map":
            return Map(zip(items[::2], items[1::2]))
        return RSet(items)

    # -- called from Lua -------------------------------------------------------------------
    def call(self, *args):
        """redis.call: the command's reply as Lua sees it; its error is raised."""
        reply, failed = self._command(args)
        if failed:
            raise ScriptError(reply)
        return reply

    def pcall(self, *args):
        """redis.pcall: the error is the reply."""
        return self._command(args)[0]

    def _unwrap(self, error):
        """An error raised in Python, as Lua code sees it: a string, or a table for a Redis error."""
        if isinstance(error, ScriptError):
            return error.value
        log.error("script helper failed: %r", error)
        return str(error).encode()

    def _command(self, args):
        run = self.run
        if not args:
            return self._error("ERR Please specify at least one argument for this redis lib call")
        argv = [arg if arg.__class__ is bytes else _argument(arg) for arg in args]
        if None in argv:
            return self._error("ERR Lua redis lib command arguments must be strings or integers")
        try:
            spec = lookup(argv)
        except RedisError as exc:
            return self._error(_WRONG_ARGS if exc.message.startswith("ERR wrong number") else _UNKNOWN)
        try:
            self._check(run, spec, argv)
        except RedisError as exc:
            return self._error(exc.message)
        reply = run_command(run.client, spec, argv)
        kind = reply.__class__
        if kind is bytes or kind is int:
            return reply, False
        if isinstance(reply, RedisError):
            return self._error(reply.message)
        return self._lua_value(reply, run.resp == 3), False

    def _check(self, run, spec, argv):
        """scriptCall()'s checks, in its order, before a script's command runs."""
        state, client = self.state, run.client
        if "noscript" in spec.flags:
            raise RedisError(_NOSCRIPT_CMD)
        if state.refuse_stale is not None and "stale" not in spec.flags:
            raise state.refuse_stale
        if client.acl is not None:
            found = client.acl.denied(spec, argv)
            if found is not None:
                state.users.log_denial(client, *found)
                raise RedisError(_ACL_DENIED[found[0]])
        if spec.write:
            if run.readonly:
                raise RedisError(_READ_ONLY)
            if not run.dirty:           # once it wrote, a script cannot stop half-way
                if state.refuse_writes is not None:
                    raise state.refuse_writes
                if client.store.failure is not None:
                    raise client.store.failure
        if state.maxmemory and not run.dirty and not run.allow_oom and "denyoom" in spec.flags:
            state.eviction.before_command(client, spec)
        if spec.write:
            run.dirty = True

    def _error(self, message: str) -> tuple:
        """(the error table redis.call raises and redis.pcall returns, failed)."""
        return self._table({b"err": message.encode(), b"ignore_error_stats_update": True}), True

    def _lua_value(self, value, resp3: bool):
        """A command's reply as the script sees it (redisProtocolToLuaType()), in its RESP version."""
        kind = value.__class__
        if kind is bytes or kind is int:
            return value
        if value is None or kind is NullArray:
            return None if resp3 else False
        if kind is list or kind is tuple or kind is Push or (kind is RSet and not resp3):
            return self._table([self._lua_value(item, resp3) for item in value])
        if kind is Status:
            return self._status(value.encode())     # a Lua call: a third of table_from's dict
        if isinstance(value, RedisError):
            return self._table({b"err": value.message.encode()})
        if kind is Map:
            if resp3:
                return self._table({b"map": self._table(
                    {self._lua_value(k, True): self._lua_value(v, True) for k, v in value.items()})})
            return self._table([self._lua_value(item, False) for pair in value.items() for item in pair])
        if kind is RSet:
            return self._table({b"set": self._table({self._lua_value(item, True): True for item in value})})
        if kind is Double:
            return self._table({b"double": float(value)}) if resp3 else format_double(value)
        if kind is bool:
            return value if resp3 else int(value)
        if kind is BigNumber:
            return self._table({b"big_number": b"%d" % value}) if resp3 else b"%d" % value
        if kind is Verbatim:
            return (self._table({b"verbatim_string": self._table({b"format": b"txt", b"string": bytes(value)})})
                    if resp3 else bytes(value))
        if kind is bytearray:
            return bytes(value)
        raise TypeError(f"no Lua conversion for {kind.__name__}")

    def _setresp(self, *args):
        if len(args) != 1:
            raise ScriptError(b"redis.setresp() requires one argument.")
        if args[0] not in (2, 3) or isinstance(args[0], bool):
            raise ScriptError(b"RESP version must be 2 or 3.")
        self.run.resp = self.run.client.resp = int(args[0])

    def _acl_check_cmd(self, *args):
        """redis.acl_check_cmd(): whether the caller's user may run argv."""
        if not args:
            raise ScriptError(self._error("ERR Please specify at least one argument for this redis lib call")[0])
        argv = [_lua_string(arg) or b"" for arg in args]
        spec = COMMANDS.get(argv[0].lower())
        if spec is not None and spec.subcommands and len(argv) > 1:
            spec = spec.subcommands.get(argv[1].lower())
        if spec is None:
            raise ScriptError(self._error("ERR Invalid command passed to redis.acl_check_cmd()")[0])
        acl = self.run.client.acl
        return acl is None or acl.denied(spec, argv) is None

    # -- busy scripts ----------------------------------------------------------------------
    def tick(self) -> bool:
        """The count hook: past the threshold, serve the other clients; True when killed."""
        run = self.run
        if run is None:
            return False
        if not run.busy:
            if (time.monotonic() - run.start) * 1000 < self.state.config["busy-reply-threshold"]:
                return False
            self._start_busy(run)
        for client in list(self.state.clients.values()):
            serve = getattr(client.connection, "serve_busy", None)
            if serve is not None and client is not run.client:
                serve()
        return run.killed

    def _start_busy(self, run):
        """The executor answers BUSY now (through its restrictions check), and evicts nothing:
        Redis neither evicts nor refuses for memory while a script holds the server."""
        state = self.state
        log.warning("Slow script detected: still in execution after %d milliseconds. You can try "
                    "killing the script using the SCRIPT KILL command.", (time.monotonic() - run.start) * 1000)
        run.busy = True
        self._saved = state.restricted, state.maxmemory
        state.busy_script = BUSY_EVAL if run.eval else BUSY_FUNCTION
        state.restricted, state.maxmemory = True, 0

    def _end_busy(self):
        state = self.state
        state.busy_script = None
        state.restricted, state.maxmemory = self._saved

    def kill(self, eval: bool):
        """SCRIPT KILL (eval) / FUNCTION KILL: stop the script at its next hook, or say why not."""
        run = self.run
        if run is None:
            raise NOTBUSY
        if run.dirty:
            raise UNKILLABLE
        if run.eval != eval:
            raise BUSY_EVAL if run.eval else BUSY_FUNCTION
        run.killed = True

    def environment(self):
        """(the Lua state, the scripts' global environment), for engine.functions to compile
        FUNCTION's libraries in; after SCRIPT FLUSH a new state, where they are compiled again."""
        lua = self._runtime()
        return lua, lua.globals()[b"getfenv"](self._compile(b"")[0])


def _failure(value, name: str):
    """The reply of a script that raised: Redis's text, with where it failed when known."""
    if lua51.lua_type(value) != "table":
        raise errors.err("Error running script %s, %.100s" % (name, _text(value)))
    message = value[b"err"]
    message = _text(message if message is not None else b"")
    source, line = value[b"source"], value[b"line"]
    if source is not None and line is not None:
        message += " script: %s, on %s:%s." % (name, _text(source), line)
    error = RedisError(message)
    if value[b"ignore_error_stats_update"]:
        return error
    raise error


def _text(value) -> str:
    """A Lua string or number as the text of a reply (one line, as Redis maps CR and LF)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).replace("\r", " ").replace("\n", " ")


def _argument(value) -> bytes | None:
    """A number passed to redis.call as Redis formats it (integers exactly up to 1e17, else
    %.17g); None for what may not be an argument."""
    kind = value.__class__
    if kind is int and -10**17 < value < 10**17:
        return b"%d" % value
    if kind is int or kind is float:
        return b"%.17g" % value
    return None


def _lua_string(value) -> bytes | None:
    """lua_tolstring(): strings, and numbers as Lua prints them (%.14g)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (b"%.14g" % value)
    return None


def _sha1hex(*args) -> bytes:
    if len(args) != 1:
        raise ScriptError(b"wrong number of arguments")
    return hashlib.sha1(_lua_string(args[0]) or b"").hexdigest().encode()


def _log(*args):
    if len(args) < 2:
        raise ScriptError(b"redis.log() requires two arguments or more.")
    level = args[0]
    if not isinstance(level, (int, float)) or isinstance(level, bool):
        raise ScriptError(b"First argument must be a number (log level).")
    if not 0 <= level <= 3:
        raise ScriptError(b"Invalid debug level.")
    words = [word for word in map(_lua_string, args[1:]) if word is not None]
    log.log(_LOG_LEVELS[int(level)], "%s", b" ".join(words).decode("utf-8", "replace"))


def _set_repl(*args):
    """Accepted and ignored: a script's effects are always what is logged and replicated."""
    if len(args) != 1:
        raise ScriptError(b"redis.set_repl() requires two arguments.")
    if not isinstance(args[0], int) or isinstance(args[0], bool) or not 0 <= args[0] <= 3:
        raise ScriptError(b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
