"""Observing the server: SLOWLOG, LATENCY, MONITOR, and WAIT (replication's acknowledgements).

engine.observe records what these read; the executor feeds it for every command.
"""
from itertools import islice

from engine import errors
from engine.blocking import block
from engine.commands.connection import parse_timeout_ms
from engine.parsing import parse_int, to_int
from engine.registry import command, container_docs
from engine.replies import NO_REPLY, OK, Status

# -- SLOWLOG ------------------------------------------------------------------------
container_docs("slowlog", group="server", summary="A container for slow log commands", since="2.2.12",
               complexity="Depends on subcommand.")


@command("slowlog|get", -2, "admin loading stale", group="server", summary="Get the slow log's entries",
         since="2.2.12", complexity="O(N) where N is the number of entries returned", syntax="[count:integer]")
def slowlog_get(client, argv):
    if len(argv) > 3:
        raise errors.subcommand_arguments("slowlog", argv[1])
    entries = client.state.slowlog.entries
    count = 10
    if len(argv) == 3:
        count = to_int(argv[2])
        if count is None or count < -1:
            raise errors.err("count should be greater than or equal to -1")
        if count == -1:
            count = len(entries)
    return list(islice(entries, count))


@command("slowlog|len", 2, "admin loading stale", group="server", summary="Get the slow log's length",
         since="2.2.12", complexity="O(1)")
def slowlog_len(client, argv):
    return len(client.state.slowlog.entries)


@command("slowlog|reset", 2, "admin loading stale", group="server", summary="Clear all entries from the slow log",
         since="2.2.12", complexity="O(N) where N is the number of entries in the slowlog")
def slowlog_reset(client, argv):
    client.state.slowlog.entries.clear()
    return OK


@command("slowlog|help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands", since="6.2.0", complexity="O(1)")
def slowlog_help(client, argv):
    return [Status(line) for line in (
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Prints this help.")]


# -- LATENCY ------------------------------------------------------------------------
container_docs("latency", group="server", summary="A container for latency diagnostics commands",
               since="2.8.13", complexity="Depends on subcommand.")


@command("latency|latest", 2, "admin noscript loading stale", group="server",
         summary="Return the latest latency samples for all events.", since="2.8.13", complexity="O(1)")
def latency_latest(client, argv):
    return [[name, *series.samples[-1], series.max]
            for name, series in client.state.latency.events.items()]


@command("latency|history", 3, "admin noscript loading stale", group="server",
         summary="Return timestamp-latency samples for the event.", since="2.8.13", complexity="O(1)",
         syntax="event")
def latency_history(client, argv):
    series = client.state.latency.events.get(argv[2])
    return [] if series is None else list(series.samples)


@command("latency|reset", -2, "admin noscript loading stale", group="server",
         summary="Reset latency data for one or more events.", since="2.8.13", complexity="O(1)",
         syntax="[event [event ...]]")
def latency_reset(client, argv):
    events = client.state.latency.events
    if len(argv) == 2:
        count = len(events)
        events.clear()
        return count
    return sum(events.pop(name, None) is not None for name in argv[2:])


@command("latency|help", 2, "loading stale", group="server",
         summary="Show helpful text about the different subcommands.", since="2.8.13", complexity="O(1)")
def latency_help(client, argv):
    return [Status(line) for line in (
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        ("    Return a cumulative distribution of latencies in the format of a histogram for the specified "
         "command names."),
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Prints this help.")]


# -- MONITOR ------------------------------------------------------------------------
@command("monitor", 1, "admin noscript loading stale", group="server",
         summary="Listen for all requests received by the server in real time", since="1.0.0")
def monitor(client, argv):
    if client.connection is None or client.in_exec:
        # Redis refuses a client that expects one reply per command (inside EXEC).
        raise errors.err("MONITOR isn't allowed for DENY BLOCKING client")
    if client.monitor:
        return NO_REPLY             # Redis ignores a second MONITOR, reply included
    client.monitor = True
    client.state.monitors.append(client)
    return OK


# -- WAIT ---------------------------------------------------------------------------
@command("wait", 3, "noscript", group="generic", acl="connection -keyspace",
         summary="Wait for the synchronous replication of all the write commands sent in the context "
                 "of the current connection", since="3.0.0", complexity="O(1)",
         syntax="numreplicas:integer timeout:integer")
def wait(client, argv):
    """How many replicas acknowledged every event so far (replication.role); in process,
    without replication: 0, at once when that is enough."""
    numreplicas = parse_int(argv[1])
    timeout_ms = parse_timeout_ms(argv[2])
    replication = client.state.replication
    if replication is not None:
        if replication.follower is not None:
            raise errors.err("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 "
                             "if a replica is configured to be writable (which is not the default) writes to "
                             "replicas are just local and are not propagated.")
        return replication.wait(client, numreplicas, timeout_ms)
    if numreplicas <= 0:
        return 0
    return block(client, (), timeout_ms, _no_key, cannot_wait=0, timeout_reply=0)


def _no_key(key):
    """WAIT waits on no key: only its timeout (or the client leaving) ends it."""
