"""Pub/Sub on Redwood alone: subscribers that stop reading, output buffer limits, the client
list, and message delivery with redis-py's own Pub/Sub client."""
import socket
import time

from tests.servers import RawClient, encode_command


def _rss(client) -> int:
    return client.info("memory")["used_memory_rss"]


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def _slow_subscriber(server, limits: str, channel: str):
    """A redis-py client on a server with these pubsub output limits, and a subscriber to
    channel that never reads (with a small receive buffer, so its output piles up in the server)."""
    client = server.client()
    client.config_set("client-output-buffer-limit", limits)
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(encode_command(("SUBSCRIBE", channel)))
    _wait(lambda: client.pubsub_numsub(channel) == [(channel.encode(), 1)])
    return client, slow


def test_slow_subscriber_is_dropped_at_its_hard_limit_and_memory_stays_bounded(redwood_server):
    client, slow = _slow_subscriber(redwood_server.start(), "pubsub 4mb 0 0", "firehose")
    before = _rss(client)
    payload = b"x" * 64 * 1024
    receivers = [client.publish("firehose", payload) for _ in range(400)]   # 25 MiB, never read
    assert receivers[0] == 1 and receivers[-1] == 0, "the subscriber outlived its 4 MiB limit"
    assert client.pubsub_numsub("firehose") == [(b"firehose", 0)]
    assert _rss(client) - before < 24 * 1024 * 1024     # the 25 MiB were not kept for it
    slow.close()
    assert client.ping()


def test_soft_limit_drops_after_its_seconds(redwood_server):
    client, slow = _slow_subscriber(redwood_server.start(), "pubsub 0 256kb 3", "c")
    for _ in range(100):        # 6 MiB: past what the kernel's socket buffers hold, over the limit
        client.publish("c", b"y" * 64 * 1024)
    assert client.pubsub_numsub("c") == [(b"c", 1)], "dropped before its soft seconds"
    deadline = time.monotonic() + 20
    while client.publish("c", b"z") and time.monotonic() < deadline:
        time.sleep(0.1)                                  # still over it after 3 s: dropped
    assert client.pubsub_numsub("c") == [(b"c", 0)]
    slow.close()


def test_output_limit_config_matches_redis(diff):
    diff("CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb 512kb 30")
    diff("CONFIG", "GET", "client-output-buffer-limit")
    diff("CONFIG", "SET", "client-output-buffer-limit", "normal 1 2 3 slave 4 5 6")
    diff("CONFIG", "GET", "client-output-buffer-limit")
    for bad in ("pubsub 1mb 512kb", "nosuch 1 2 3", "pubsub x 1 1", "pubsub 1 1 -1"):
        diff("CONFIG", "SET", "client-output-buffer-limit", bad)
    diff("CONFIG", "SET", "client-output-buffer-limit",
         "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")


def test_redis_py_pubsub_and_keyspace_events(r):
    r.config_set("notify-keyspace-events", "KEA")
    try:
        pubsub = r.pubsub()
        pubsub.psubscribe("__keyevent@0__:*")
        assert pubsub.get_message(timeout=5)["type"] == "psubscribe"
        r.set("k", "v")
        r.expire("k", 100)
        r.delete("k")
        events = [pubsub.get_message(timeout=5) for _ in range(3)]
        assert [(e["channel"], e["data"]) for e in events] == [
            (b"__keyevent@0__:set", b"k"), (b"__keyevent@0__:expire", b"k"),
            (b"__keyevent@0__:del", b"k")]
        pubsub.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_active_expiry_is_announced(r):
    r.config_set("notify-keyspace-events", "Ex")
    try:
        pubsub = r.pubsub()
        pubsub.subscribe("__keyevent@0__:expired")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
        r.set("soon", "v", px=20)
        message = pubsub.get_message(timeout=5)      # nobody reads the key: the cycle expires it
        assert message is not None and message["data"] == b"soon"
        pubsub.close()
    finally:
        r.config_set("notify-keyspace-events", "")


def test_subscriber_disconnect_forgets_subscriptions(shared_redwood):
    subscriber = RawClient(shared_redwood.port)
    subscriber.call("SUBSCRIBE", "gone")
    subscriber.call("PSUBSCRIBE", "gone*")
    client = shared_redwood.client()
    assert client.pubsub_numsub("gone") == [(b"gone", 1)]
    subscriber.close()
    _wait(lambda: client.pubsub_numsub("gone") == [(b"gone", 0)] and client.pubsub_numpat() == 0)
    assert client.publish("gone", "x") == 0


def test_info_counts_channels_patterns_and_tracking(r, shared_redwood):
    subscriber = RawClient(shared_redwood.port)
    subscriber.call("SUBSCRIBE", "one", "two")
    subscriber.read_reply()
    subscriber.call("PSUBSCRIBE", "p*")
    subscriber.call("SSUBSCRIBE", "s")
    tracker = RawClient(shared_redwood.port)
    tracker.call("HELLO", "3")
    tracker.call("CLIENT", "TRACKING", "on")
    tracker.call("MGET", "a", "b")
    try:
        stats, clients = r.info("stats"), r.info("clients")
        assert (stats["pubsub_channels"], stats["pubsub_patterns"], stats["pubsubshard_channels"]) == (2, 1, 1)
        assert (stats["tracking_total_keys"], stats["tracking_total_items"]) == (2, 2)
        assert clients["tracking_clients"] == 1
    finally:
        subscriber.close()
        tracker.close()
