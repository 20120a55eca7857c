"""Server commands: INFO, CONFIG, TIME, LASTSAVE, SAVE, SHUTDOWN, DEBUG."""
import platform
import re
import resource
import sys
import time

from engine import errors, recovery
from engine.commands.connection import REDIS_VERSION
from engine.commands.keys import TYPES
from engine.observe import redact
from engine.registry import command, container_docs, every_command
from engine.replies import NO_REPLY, OK, Map, Status, Verbatim

REDWOOD_VERSION = "0.1.0"


# -- INFO ---------------------------------------------------------------------------
def _server(state, now):
    uptime = int(now - state.started)
    return [
        ("redis_version", REDIS_VERSION), ("redwood_version", REDWOOD_VERSION),
        ("redis_git_sha1", "00000000"), ("redis_git_dirty", 0), ("redis_mode", "standalone"),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("arch_bits", 64), ("multiplexing_api", "epoll"),
        ("python_version", platform.python_version()),
        ("process_id", state.pid), ("run_id", state.run_id), ("tcp_port", state.tcp_port),
        ("server_time_usec", int(now * 1_000_000)), ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400), ("hz", state.config["hz"]),
        ("configured_hz", state.config["hz"]), ("executable", sys.argv[0]),
        ("config_file", state.config.file or ""), ("io_threads_active", 0),
    ]


def _clients(state, now):
    return [("connected_clients", len(state.clients)), ("cluster_connections", 0),
            ("maxclients", state.config["maxclients"]),
            ("blocked_clients", sum(1 for c in state.clients.values() if c.blocked is not None)),
            ("tracking_clients", state.keyspace.tracking.clients)]


def human_bytes(n: int) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n}{unit}" if unit == "B" else f"{n:.2f}{unit}"
        n /= 1024


def resident_bytes() -> tuple[int, int]:
    """(resident, of which file-backed) memory of this process, from /proc/self/statm. The
    file-backed part is mostly the log's pages that LMDB maps: page cache, not heap."""
    with open("/proc/self/statm") as f:
        fields = f.read().split()
    page = resource.getpagesize()
    return int(fields[1]) * page, int(fields[2]) * page


def _memory(state, now):
    rss, mapped = resident_bytes()
    eviction = state.eviction
    used = eviction.meter.refresh()     # engine.eviction: what the allocator holds, as maxmemory sees it
    state.peak_memory = max(state.peak_memory, used)
    maxmemory = state.config["maxmemory"]
    return [("used_memory", used), ("used_memory_human", human_bytes(used)),
            ("used_memory_rss", rss), ("used_memory_rss_human", human_bytes(rss)),
            ("used_memory_peak", state.peak_memory), ("used_memory_peak_human", human_bytes(state.peak_memory)),
            ("used_memory_startup", eviction.startup),
            ("used_memory_dataset", max(0, used - eviction.startup)),
            *_scripting_memory(state),
            ("maxmemory", maxmemory), ("maxmemory_human", human_bytes(maxmemory)),
            ("maxmemory_policy", state.config["maxmemory-policy"]),
            ("mem_fragmentation_ratio", f"{(rss - mapped) / used:.2f}"),
            ("mem_allocator", eviction.meter.name)]


def _scripting_memory(state) -> list:
    """Redis's Lua lines. EVAL and FUNCTION share one Lua state here: it is all under eval."""
    lua = state.scripts.memory()
    scripts = sum(script.size for script in state.scripts.cache.values())
    libraries = state.functions.current().libraries
    functions = sum(len(library.code) for library in libraries.values())
    return [("used_memory_lua", lua), ("used_memory_vm_eval", lua), ("used_memory_lua_human", human_bytes(lua)),
            ("used_memory_scripts_eval", scripts), ("number_of_cached_scripts", len(state.scripts.cache)),
            ("number_of_functions", sum(len(library.functions) for library in libraries.values())),
            ("number_of_libraries", len(libraries)), ("used_memory_vm_functions", 0),
            ("used_memory_vm_total", lua), ("used_memory_vm_total_human", human_bytes(lua)),
            ("used_memory_functions", functions), ("used_memory_scripts", scripts + functions),
            ("used_memory_scripts_human", human_bytes(scripts + functions))]


def _persistence(state, now):
    store, loading, backend = state.store, state.loading, state.backend
    snapshots = state.snapshots
    usage = backend.disk_usage()
    horizon_seq, horizon_ts = recovery.horizon(backend)
    return [("loading", int(loading.in_progress)), ("async_loading", 0),
            ("loading_snapshot_seq", loading.snapshot_seq), ("loading_events", loading.events),
            ("loading_seconds", f"{loading.seconds:.3f}"), ("loading_events_per_sec", int(loading.rate)),
            *(snapshots.info() if snapshots is not None else ()),
            ("aof_enabled", 1),
            ("aof_last_write_status", "ok" if store.failure is None else "err"),
            ("appendfsync", store.appendfsync),
            ("log_backend", backend.kind), ("log_first_seq", backend.first_seq),
            ("log_last_seq", backend.last_seq), ("log_events_written", store.events_logged),
            ("log_bytes", usage.log), ("snapshot_count", len(backend.snapshots())),
            ("snapshot_bytes", usage.snapshots), ("disk_bytes", usage.total),
            ("log_retention", state.config.show("log-retention")),
            ("retention_horizon_seq", horizon_seq), ("retention_horizon_time", horizon_ts)]


def _stats(state, now):
    s, pubsub, tracking = state.stats, state.pubsub, state.keyspace.tracking
    return [("total_connections_received", s.total_connections_received),
            ("total_commands_processed", s.total_commands_processed),
            ("instantaneous_ops_per_sec", s.ops_per_sec()),
            ("total_net_input_bytes", s.net_input_bytes), ("total_net_output_bytes", s.net_output_bytes),
            ("rejected_connections", s.rejected_connections), ("sync_full", s.sync_full),
            ("sync_partial_ok", s.sync_partial_ok), ("sync_partial_err", s.sync_partial_err), ("expired_keys", s.expired_keys),
            ("evicted_keys", s.evicted_keys), ("keyspace_hits", s.keyspace_hits),
            ("keyspace_misses", s.keyspace_misses), ("pubsub_channels", len(pubsub.channels)),
            ("pubsub_patterns", len(pubsub.patterns)), ("pubsubshard_channels", len(pubsub.shard_channels)),
            ("tracking_total_keys", len(tracking.keys)), ("tracking_total_items", sum(map(len, tracking.keys.values()))),
            ("tracking_total_prefixes", len(tracking.prefixes)), ("total_error_replies", s.error_replies)]


def _replication(state, now):
    if state.replication is not None:
        return state.replication.info()
    return [("role", "master"), ("connected_slaves", 0), ("master_replid", state.log_id),
            ("master_repl_offset", state.backend.last_seq)]


def _cpu(state, now):
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return [("used_cpu_sys", f"{me.ru_stime:.6f}"), ("used_cpu_user", f"{me.ru_utime:.6f}"),
            ("used_cpu_sys_children", f"{children.ru_stime:.6f}"),
            ("used_cpu_user_children", f"{children.ru_utime:.6f}")]


def _keyspace(state, now):
    return [(f"db{db.index}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl=0")
            for db in state.keyspace.dbs if db.data]


def _commandstats(state, now):
    """Commands that ran or were refused: calls, time, refusals, failures, as Redis names them."""
    return [(f"cmdstat_{spec.name}",
             "calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d" % (
                 spec.calls, spec.nanos // 1000, spec.nanos / 1000 / spec.calls if spec.calls else 0,
                 spec.rejected_calls, spec.failed_calls))
            for spec in every_command() if spec.calls or spec.rejected_calls or spec.failed_calls]


def _errorstats(state, now):
    """Error replies by code, sorted as Redis's radix tree keeps them."""
    return [(f"errorstat_{code}", f"count={count}") for code, count in sorted(state.stats.errors.items())]


# In Redis's order; INFO (and `default`) shows all but commandstats, `all`/`everything` every one.
SECTIONS = {"server": _server, "clients": _clients, "memory": _memory, "persistence": _persistence,
            "stats": _stats, "replication": _replication, "cpu": _cpu, "modules": lambda state, now: [],
            "commandstats": _commandstats, "errorstats": _errorstats,
            "cluster": lambda state, now: [("cluster_enabled", 0)], "keyspace": _keyspace}
DEFAULT = [name for name in SECTIONS if name != "commandstats"]


def info_text(state, names) -> bytes:
    now = time.time()
    out = []
    for name in names:
        fields = SECTIONS[name](state, now)
        out.append("# %s\r\n%s" % (name.capitalize(),
                                   "".join(f"{key}:{value}\r\n" for key, value in fields)))
    return "\r\n".join(out).encode()


@command("info", -1, "loading stale", group="server", acl="dangerous",
         summary="Get information and statistics about the server", since="1.0.0", complexity="O(1)",
         syntax="[section [section ...]]")
def info(client, argv):
    wanted = {arg.decode("utf-8", "replace").lower() for arg in argv[1:]}
    if wanted & {"all", "everything"}:
        names = list(SECTIONS)
    elif not wanted or "default" in wanted:
        names = DEFAULT
    else:
        names = [name for name in SECTIONS if name in wanted]
    return Verbatim(info_text(client.state, names))


# -- CONFIG ---------------------------------------------------------------------------
container_docs("config", group="server", summary="A container for server configuration commands", since="2.0.0",
               complexity="Depends on subcommand.")


SECRET_OPTIONS = (b"requirepass", b"masterauth")    # never shown in the slow log or MONITOR


@command("config|get", -3, "admin noscript loading stale", group="server",
         summary="Get the values of configuration parameters", since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided",
         syntax="(parameter) [(parameter) ...]")
def config_get(client, argv):
    patterns = [arg.decode("utf-8", "replace") for arg in argv[2:]]
    return Map({name.encode(): value.encode() for name, value in client.state.config.get(patterns)})


@command("config|set", -4, "admin noscript loading stale", group="server",
         summary="Set configuration parameters to the given values", since="2.0.0",
         complexity="O(N) when N is the number of configuration parameters provided",
         syntax="(parameter value) [(parameter value) ...]")
def config_set(client, argv):
    if len(argv) % 2:
        raise errors.wrong_arity("config|set")
    pairs = [(argv[i].decode("utf-8", "replace"), argv[i + 1].decode("utf-8", "replace"))
             for i in range(2, len(argv), 2)]
    redact(argv, *(i + 1 for i in range(2, len(argv), 2) if argv[i].lower() in SECRET_OPTIONS))
    client.state.config.set(pairs)
    return OK


@command("config|resetstat", 2, "admin noscript loading stale", group="server",
         summary="Reset the stats returned by INFO", since="2.0.0", complexity="O(1)")
def config_resetstat(client, argv):
    client.state.stats.reset()
    for spec in every_command():
        spec.calls = spec.nanos = spec.rejected_calls = spec.failed_calls = 0
    return OK


@command("config|rewrite", 2, "admin noscript loading stale", group="server",
         summary="Rewrite the configuration file with the in memory configuration", since="2.8.0",
         complexity="O(1)")
def config_rewrite(client, argv):
    config = client.state.config
    if not config.file:
        raise errors.err("The server is running without a config file")
    try:
        config.rewrite()
    except OSError as exc:
        raise errors.err(f"Rewriting config file: {exc.strerror}")
    return OK


# -- time and persistence -----------------------------------------------------------------
@command("time", 1, "loading stale fast", group="server", summary="Return the current server time",
         since="2.6.0", complexity="O(1)")
def time_(client, argv):
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


@command("lastsave", 1, "loading stale fast", group="server", acl="admin dangerous",
         summary="Get the UNIX time stamp of the last successful save to disk", since="1.0.0",
         complexity="O(1)")
def lastsave(client, argv):
    return int(_snapshots(client).last_save)


def _snapshots(client):
    """The server's snapshot jobs (server.snapshots), which the server installs at start-up."""
    snapshots = client.state.snapshots
    if snapshots is None:
        raise errors.err("snapshots need a running server")
    return snapshots


@command("save", 1, "admin noscript no_async_loading no_multi", group="server",
         summary="Synchronously save the dataset to disk", since="1.0.0",
         complexity="O(N) where N is the total number of keys in all databases")
def save(client, argv):
    """A snapshot now. Only the caller waits for it: the server goes on serving everyone else."""
    return _snapshots(client).save(client)


@command("bgsave", -1, "admin noscript no_async_loading", group="server",
         summary="Asynchronously save the dataset to disk", since="1.0.0", complexity="O(1)",
         syntax="[SCHEDULE]")
def bgsave(client, argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].lower() != b"schedule"):
        raise errors.SYNTAX
    return Status(_snapshots(client).bgsave(len(argv) == 2, client.in_exec))


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group="server",
         summary="Asynchronously rewrite the append-only file", since="1.0.0", complexity="O(1)")
def bgrewriteaof(client, argv):
    """The log is the append-only file: rewriting it means a snapshot, then compaction."""
    return Status(_snapshots(client).bgrewriteaof(client.in_exec))


@command("shutdown", -1, "admin noscript loading stale no_multi allow_busy", group="server",
         summary="Synchronously save the dataset to disk and then shut down the server", since="1.0.0",
         complexity="O(N) when saving, where N is the total number of keys in all databases when "
                    "saving data, otherwise O(1)",
         syntax="[NOSAVE | SAVE] [NOW] [FORCE] [ABORT]")
def shutdown(client, argv):
    options = {arg.lower() for arg in argv[1:]}
    if len(options) != len(argv) - 1 or not options <= {b"nosave", b"save", b"now", b"force", b"abort"} \
            or {b"nosave", b"save"} <= options or (b"abort" in options and len(options) > 1):
        raise errors.SYNTAX
    if b"abort" in options:
        raise errors.err("No shutdown in progress.")
    # The log is durable whatever the option: NOSAVE cannot lose acknowledged writes here.
    client.state.shutdown(b"nosave" not in options)
    client.close_after_reply = True
    return NO_REPLY


# -- DEBUG ----------------------------------------------------------------------------------
def _debug_object(client, argv):
    if len(argv) != 3:
        raise _debug_usage(argv)
    value = client.db.get(argv[2])
    if value is None:
        raise errors.NO_SUCH_KEY
    encoding = TYPES[type(value)].encoding(value)
    return Status(f"Value at:0x{id(value):x} refcount:1 encoding:{encoding} "
                  f"serializedlength:{len(value)} lru:0 lru_seconds_idle:0")


_LEADING_NUMBER = re.compile(rb"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _debug_sleep(client, argv):
    if len(argv) != 3:
        raise _debug_usage(argv)
    number = _LEADING_NUMBER.match(argv[2])     # strtod(): the leading number, garbage is 0
    seconds = float(number[0]) if number else 0.0
    time.sleep(min(max(seconds, 0), 3600))      # blocks the server, as Redis's DEBUG SLEEP does
    return OK


def _debug_reload(client, argv):
    client.state.reload()
    return OK


def _debug_set_active_expire(client, argv):
    if len(argv) != 3:
        raise _debug_usage(argv)
    number = _LEADING_NUMBER.match(argv[2])     # atoi(): the leading number, garbage is 0
    client.state.active_expire = bool(number and int(float(number[0])))
    return OK


def _debug_help(client, argv):
    return [Status(line) for line in (
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "OBJECT <key>", "    Show low level info about the <key> and associated value.",
        "RELOAD", "    Rebuild the keyspace from the event log.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not accessed.",
        "SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed.",
        "HELP", "    Prints this help.")]


_DEBUG = {b"object": _debug_object, b"sleep": _debug_sleep, b"reload": _debug_reload,
          b"set-active-expire": _debug_set_active_expire, b"help": _debug_help}


def _debug_usage(argv):
    return errors.err("unknown subcommand or wrong number of arguments for '%s'. Try DEBUG HELP."
                      % argv[1].decode("utf-8", "replace"))


@command("debug", -2, "admin noscript loading stale", group="server", acl="dangerous",
         summary="A container for debugging commands", since="1.0.0",
         complexity="Depends on subcommand.", doc_flags="syscmd")
def debug(client, argv):
    handler = _DEBUG.get(argv[1].lower())
    if handler is None:
        raise _debug_usage(argv)
    return handler(client, argv)
