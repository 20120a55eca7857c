"""Pub/Sub: who is subscribed to what, and delivering messages.

Messages are not state: nothing here is logged. There are three namespaces, as in
Redis: channels (SUBSCRIBE), glob patterns over channels (PSUBSCRIBE) and shard
channels (SSUBSCRIBE, SPUBLISH). A subscriber receives each message as a push
(RESP3 `>`, RESP2 an array) through its connection, in order with its replies;
one message is encoded once per protocol, whatever the number of subscribers.
"""
from engine import glob
from engine.replies import Push


class PubSub:
    def __init__(self):
        # name -> {client: None}: subscribers in the order they subscribed.
        self.channels: dict[bytes, dict] = {}
        self.patterns: dict[bytes, dict] = {}
        self.shard_channels: dict[bytes, dict] = {}


# (client attribute, PubSub attribute, subscribe reply, unsubscribe reply)
CHANNELS = ("channels", "channels", b"subscribe", b"unsubscribe")
PATTERNS = ("patterns", "patterns", b"psubscribe", b"punsubscribe")
SHARD = ("shard_channels", "shard_channels", b"ssubscribe", b"sunsubscribe")


def count(client, kind) -> int:
    """What a (un)subscribe reply reports: channels + patterns, or shard channels alone."""
    if kind is SHARD:
        return len(client.shard_channels)
    return len(client.channels) + len(client.patterns)


def subscribe(client, kind, names) -> list:
    mine, table = getattr(client, kind[0]), getattr(client.state.pubsub, kind[1])
    replies = []
    for name in names:
        if name not in mine:
            mine[name] = None
            table.setdefault(name, {})[client] = None
            client.subscriptions += 1
        replies.append(Push((kind[2], name, count(client, kind))))
    return replies


def unsubscribe(client, kind, names) -> list:
    """Unsubscribe from names (all of this kind when names is empty)."""
    mine, table = getattr(client, kind[0]), getattr(client.state.pubsub, kind[1])
    if not names:
        if not mine:
            return [Push((kind[3], None, count(client, kind)))]
        names = list(mine)
    replies = []
    for name in names:
        if name in mine:
            del mine[name]
            subscribers = table[name]
            del subscribers[client]
            if not subscribers:
                del table[name]
            client.subscriptions -= 1
        replies.append(Push((kind[3], name, count(client, kind))))
    return replies


def forget(client):
    """A client goes away (or RESET): drop all its subscriptions, without replies."""
    if client.subscriptions:
        for kind in (CHANNELS, PATTERNS, SHARD):
            unsubscribe(client, kind, ())


def publish(state, channel: bytes, message: bytes) -> int:
    """Deliver to the channel's subscribers, then to matching patterns'; returns the receivers."""
    pubsub, receivers = state.pubsub, 0
    subscribers = pubsub.channels.get(channel)
    if subscribers:
        push, encoded = Push((b"message", channel, message)), {}
        for client in subscribers:
            client.connection.push(push, encoded)
        receivers = len(subscribers)
    for pattern, subscribers in pubsub.patterns.items():
        if glob.match(pattern, channel):
            push, encoded = Push((b"pmessage", pattern, channel, message)), {}
            for client in subscribers:
                client.connection.push(push, encoded)
            receivers += len(subscribers)
    return receivers


def spublish(state, channel: bytes, message: bytes) -> int:
    subscribers = state.pubsub.shard_channels.get(channel)
    if not subscribers:
        return 0
    push, encoded = Push((b"smessage", channel, message)), {}
    for client in subscribers:
        client.connection.push(push, encoded)
    return len(subscribers)
