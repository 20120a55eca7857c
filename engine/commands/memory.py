"""MEMORY USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP: Redis's answers, with Redwood's figures.

Byte counts come from engine.eviction's meter (what the allocator holds) and, per key, from
sys.getsizeof of the value's parts: the Python objects and tables that hold it.
"""
import itertools
from sys import getsizeof

from engine import errors
from engine.commands.hashes import Hash
from engine.commands.lists import ListValue
from engine.commands.server import resident_bytes
from engine.commands.sets import SetValue
from engine.commands.zsets import ZSet
from engine.keyspace import STRINGS
from engine.parsing import parse_int
from engine.registry import command, container_docs
from engine.replies import OK, Double, Map, Status, Verbatim

container_docs("memory", group="server", summary="A container for memory diagnostics commands",
               since="4.0.0", complexity="Depends on subcommand.")

DEFAULT_SAMPLES = 5     # OBJ_COMPUTE_SIZE_DEF_SAMPLES
# A sorted set keeps each member twice: in its dict, and in its SortedList as a (score, member)
# tuple (the score object is shared) behind a list slot.
ZSET_ORDER_ENTRY = getsizeof((0.0, b"")) + 8


def _sampled(items, count: int, samples: int, size) -> int:
    """The elements' bytes: the mean of the first `samples` ones times `count`, as Redis's
    objectComputeSize() extrapolates from the first elements it walks."""
    if not count:
        return 0
    seen = list(itertools.islice(items, samples))
    return sum(map(size, seen)) * count // len(seen)


def _pair(item) -> int:
    return getsizeof(item[0]) + getsizeof(item[1])


def value_usage(value, samples: int) -> int:
    """Bytes held by a value: its containers exactly, its elements sampled."""
    kind = type(value)
    if kind in STRINGS:
        return getsizeof(value)
    n = len(value)
    if kind is ListValue:
        return getsizeof(value) + _sampled(value, n, samples, getsizeof)
    if kind is Hash:
        extra = getsizeof(value.sample) if value.sample is not None else 0
        return getsizeof(value) + extra + _sampled(value.items(), n, samples, _pair)
    if kind is SetValue:
        extra = sum(getsizeof(part) for part in (value.picks, value.stale) if part is not None)
        return (getsizeof(value) + getsizeof(value.members) + extra
                + _sampled(value.members, n, samples, getsizeof))
    if kind is ZSet:
        return (getsizeof(value) + n * ZSET_ORDER_ENTRY
                + _sampled(value.items(), n, samples, _pair))
    return getsizeof(value)


def key_usage(db, key: bytes, value, samples: int) -> int:
    """MEMORY USAGE: the key, its share of the database's tables, and the value."""
    table = getsizeof(db.data) // len(db.data)
    size = getsizeof(key) + table + value_usage(value, samples)
    when = db.expires.get(key)
    if when is not None:
        size += getsizeof(db.expires) // len(db.expires) + getsizeof(when)
    return size


@command("memory|usage", -3, "readonly", keys=(2, 2, 1), group="server", acl="read",
         key_specs=(("RO", 2),),
         summary="Estimate the memory usage of a key", since="4.0.0",
         complexity="O(N) where N is the number of samples.", syntax="key [SAMPLES count:integer]")
def memory_usage(client, argv):
    samples, i = DEFAULT_SAMPLES, 3
    while i < len(argv):
        if argv[i].lower() != b"samples" or i + 1 == len(argv):
            raise errors.SYNTAX
        samples = parse_int(argv[i + 1])
        if samples < 0:
            raise errors.SYNTAX
        samples = samples or 1 << 62     # 0: every element
        i += 2
    db = client.db
    value = db.data.get(argv[2])    # dbFind(): neither expires nor touches the key
    return None if value is None else key_usage(db, argv[2], value, samples)


def _stats(state) -> list:
    """The MEMORY STATS fields in Redis's order, with our values (0 where we have no such part)."""
    eviction = state.eviction
    allocated, active, resident = eviction.meter.allocator_stats()
    rss = resident_bytes()[0]
    if active is None:      # pymalloc: no allocator figures; the process's resident memory
        active = resident = rss
    state.peak_memory = max(state.peak_memory, allocated)
    fields = [("peak.allocated", state.peak_memory), ("total.allocated", allocated),
              ("startup.allocated", eviction.startup)]
    fields += [(name, 0) for name in ("replication.backlog", "clients.slaves", "clients.normal",
                                      "cluster.links", "aof.buffer", "lua.caches", "functions.caches")]
    overhead = eviction.startup
    for db in state.keyspace.dbs:
        if db.data:
            tables = getsizeof(db.data), getsizeof(db.expires)
            overhead += sum(tables)
            fields.append((f"db.{db.index}", Map({b"overhead.hashtable.main": tables[0],
                                                  b"overhead.hashtable.expires": tables[1]})))
    keys = state.keyspace.total_keys()
    net = max(allocated - eviction.startup, 0)
    dataset = max(allocated - overhead, 0)
    fields += [("overhead.total", overhead), ("keys.count", keys),
               ("keys.bytes-per-key", net // keys if keys else 0), ("dataset.bytes", dataset),
               ("dataset.percentage", Double(dataset * 100 / net if net else 0)),
               ("peak.percentage", Double(allocated * 100 / state.peak_memory)),
               ("allocator.allocated", allocated), ("allocator.active", active),
               ("allocator.resident", resident),
               ("allocator-fragmentation.ratio", Double(active / allocated)),
               ("allocator-fragmentation.bytes", active - allocated),
               ("allocator-rss.ratio", Double(resident / active)), ("allocator-rss.bytes", resident - active),
               ("rss-overhead.ratio", Double(rss / resident)), ("rss-overhead.bytes", rss - resident),
               ("fragmentation", Double(rss / allocated)), ("fragmentation.bytes", rss - allocated)]
    return fields


@command("memory|stats", 2, "", group="server", summary="Show memory usage details", since="4.0.0",
         complexity="O(1)")
def memory_stats(client, argv):
    return Map({name.encode(): value for name, value in _stats(client.state)})


DOCTOR_EMPTY = (
    "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used "
    "in these conditions. Please, leave for your mission on Earth and fill it with some data. The new "
    "Sam and I will be back to our programming as soon as I finished rebooting.")
DOCTOR_FINE = ("Hi Sam, I can't find any memory issue in your instance. I can only account for what "
               "occurs on this base.")
DOCTOR_PEAK = (
    " * Peak memory: In the past this instance used more than 150% the memory that is currently "
    "using. The allocator is normally not able to release memory after a peak, so you can expect to "
    "see a big fragmentation ratio, however this is actually harmless and is only due to the memory "
    "peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the "
    "memory will be used as soon as you fill the Redis instance with more data. If the memory peak "
    "was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, "
    "otherwise the only other option is to shutdown and restart the instance.\n\n")
DOCTOR_RSS = (
    " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 "
    "(this means that the Resident Set Size of the Redis process is much larger than the sum of the "
    "logical allocations Redis performed). This problem is usually due either to a large peak memory "
    "(check if there is a peak memory entry above in the report) or may result from a workload that "
    "causes the allocator to fragment memory a lot. If the problem is a large peak memory, then "
    "there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default "
    "libc malloc. Note: The currently used allocator is \"%s\".\n\n")


@command("memory|doctor", 2, "", group="server", summary="Outputs memory problems report",
         since="4.0.0", complexity="O(1)")
def memory_doctor(client, argv):
    """Redis's report, its thresholds applied to what this process holds beyond its start-up
    memory (the interpreter's ~15 MB would otherwise never look empty)."""
    stats = dict(_stats(client.state))
    if stats["total.allocated"] - stats["startup.allocated"] < 5 * 1024 * 1024:
        return Verbatim(DOCTOR_EMPTY.encode())
    issues = []
    if stats["peak.allocated"] / stats["total.allocated"] > 1.5:
        issues.append(DOCTOR_PEAK)
    if stats["fragmentation"] > 1.4 and stats["fragmentation.bytes"] > 10 << 20:
        issues.append(DOCTOR_RSS % client.state.eviction.meter.name)
    if not issues:
        return Verbatim(DOCTOR_FINE.encode())
    return Verbatim(("Sam, I detected a few issues in this Redis instance memory implants:\n\n"
                     + "".join(issues) + "I'm here to keep you safe, Sam. I want to help you.\n").encode())


@command("memory|malloc-stats", 2, "", group="server", summary="Show allocator internal stats",
         since="4.0.0", complexity="Depends on how much memory is allocated, could be slow")
def memory_malloc_stats(client, argv):
    text = client.state.eviction.meter.stats_text()
    return Verbatim(text if text is not None else b"Stats not supported for the current allocator")


@command("memory|purge", 2, "", group="server", summary="Ask the allocator to release memory",
         since="4.0.0", complexity="Depends on how much memory is allocated, could be slow")
def memory_purge(client, argv):
    client.state.eviction.meter.purge()
    return OK


@command("memory|help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="4.0.0", complexity="O(1)")
def memory_help(client, argv):
    return [Status(line) for line in (
        "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        "HELP",
        "    Prints this help.")]
