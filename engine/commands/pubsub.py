"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB.

The registry and delivery are engine.pubsub. A RESP2 client with subscriptions
may only run the (un)subscribe commands, PING, QUIT and RESET (the executor
refuses the rest); in RESP3 every command stays available.
"""
from engine import errors, glob, pubsub
from engine.pubsub import CHANNELS, PATTERNS, SHARD
from engine.registry import command, container_docs
from engine.replies import Several, Status


@command("subscribe", -2, "pubsub noscript loading stale", group="pubsub",
         summary="Listen for messages published to the given channels", since="2.0.0",
         complexity="O(N) where N is the number of channels to subscribe to.", syntax="channel [channel ...]")
def subscribe(client, argv):
    return Several(pubsub.subscribe(client, CHANNELS, argv[1:]))


@command("psubscribe", -2, "pubsub noscript loading stale", group="pubsub",
         summary="Listen for messages published to channels matching the given patterns", since="2.0.0",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.",
         syntax="(pattern:pattern) [(pattern:pattern) ...]")
def psubscribe(client, argv):
    return Several(pubsub.subscribe(client, PATTERNS, argv[1:]))


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub",
         key_specs=(("NOT_KEY", 1, -1),),
         summary="Listen for messages published to the given shard channels", since="7.0.0",
         complexity="O(N) where N is the number of shard channels to subscribe to.",
         syntax="shardchannel [shardchannel ...]")
def ssubscribe(client, argv):
    return Several(pubsub.subscribe(client, SHARD, argv[1:]))


@command("unsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         summary="Stop listening for messages posted to the given channels", since="2.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a channel.",
         syntax="[channel [channel ...]]")
def unsubscribe(client, argv):
    return Several(pubsub.unsubscribe(client, CHANNELS, argv[1:]))


@command("punsubscribe", -1, "pubsub noscript loading stale", group="pubsub",
         summary="Stop listening for messages posted to channels matching the given patterns",
         since="2.0.0", complexity="O(N+M) where N is the number of patterns the client is already "
         "subscribed and M is the number of total patterns subscribed in the system (by any client).",
         syntax="[pattern:pattern [pattern:pattern ...]]")
def punsubscribe(client, argv):
    return Several(pubsub.unsubscribe(client, PATTERNS, argv[1:]))


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub",
         key_specs=(("NOT_KEY", 1, -1),),
         summary="Stop listening for messages posted to the given shard channels", since="7.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
         syntax="[shardchannel [shardchannel ...]]")
def sunsubscribe(client, argv):
    return Several(pubsub.unsubscribe(client, SHARD, argv[1:]))


@command("publish", 3, "pubsub loading stale fast", group="pubsub", summary="Post a message to a channel",
         since="2.0.0", complexity="O(N+M) where N is the number of clients subscribed to the receiving "
         "channel and M is the total number of subscribed patterns (by any client).",
         syntax="channel message")
def publish(client, argv):
    client.state.on_publish(b"PUBLISH", argv[1], argv[2])
    return pubsub.publish(client.state, argv[1], argv[2])


@command("spublish", 3, "pubsub loading stale fast", keys=(1, 1, 1), group="pubsub",
         key_specs=(("NOT_KEY", 1),),
         summary="Post a message to a shard channel", since="7.0.0",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard channel.",
         syntax="shardchannel message")
def spublish(client, argv):
    client.state.on_publish(b"SPUBLISH", argv[1], argv[2])
    return pubsub.spublish(client.state, argv[1], argv[2])


# -- PUBSUB ------------------------------------------------------------------------
container_docs("pubsub", group="pubsub", summary="A container for Pub/Sub commands", since="2.8.0",
               complexity="Depends on subcommand.")


def _active(table: dict, argv) -> list:
    if len(argv) > 3:
        raise errors.subcommand_arguments("pubsub", argv[1])
    if len(argv) == 2:
        return list(table)
    match = glob.matcher(argv[2])
    return [name for name in table if match(name)]


@command("pubsub|channels", -2, "pubsub loading stale", group="pubsub", summary="List active channels",
         since="2.8.0", complexity="O(N) where N is the number of active channels, and assuming constant "
         "time pattern matching (relatively short channels and patterns)", syntax="[pattern:pattern]")
def pubsub_channels(client, argv):
    return _active(client.state.pubsub.channels, argv)


@command("pubsub|shardchannels", -2, "pubsub loading stale", group="pubsub",
         summary="List active shard channels", since="7.0.0",
         complexity="O(N) where N is the number of active shard channels, and assuming constant time "
         "pattern matching (relatively short shard channels).", syntax="[pattern:pattern]")
def pubsub_shardchannels(client, argv):
    return _active(client.state.pubsub.shard_channels, argv)


@command("pubsub|numsub", -2, "pubsub loading stale", group="pubsub",
         summary="Get the count of subscribers for channels", since="2.8.0",
         complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels",
         syntax="[channel [channel ...]]")
def pubsub_numsub(client, argv):
    return _counts(client.state.pubsub.channels, argv)


@command("pubsub|shardnumsub", -2, "pubsub loading stale", group="pubsub",
         summary="Get the count of subscribers for shard channels", since="7.0.0",
         complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
         syntax="[shardchannel [shardchannel ...]]")
def pubsub_shardnumsub(client, argv):
    return _counts(client.state.pubsub.shard_channels, argv)


def _counts(table: dict, argv) -> list:
    reply = []
    for name in argv[2:]:
        reply += [name, len(table.get(name, ()))]
    return reply


@command("pubsub|numpat", 2, "pubsub loading stale", group="pubsub",
         summary="Get the count of unique patterns pattern subscriptions", since="2.8.0", complexity="O(1)")
def pubsub_numpat(client, argv):
    return len(client.state.pubsub.patterns)


@command("pubsub|help", 2, "loading stale", group="pubsub", acl="-pubsub",
         summary="Show helpful text about the different subcommands", since="6.2.0", complexity="O(1)")
def pubsub_help(client, argv):
    return [Status(line) for line in (
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.")]
