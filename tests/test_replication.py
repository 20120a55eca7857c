"""Replication between real Redwood processes: replicas converge to their primary's whole state
(full dumps compared) and resume incrementally after a restart of either side; a full resync
when the history is gone or the logs diverged; a cut network, WAIT, a replica that stops
reading, and expiry arriving as the primary's DEL."""
import os
import random
import signal
import socket
import threading
import time

import pytest
import redis

from engine import events
from tests.proxy import Proxy
from tests.servers import Redwood, encode_command, open_store
from tests.test_diff_random import dump

READONLY = b"-READONLY You can't write against a read only replica.\r\n"
SHORT_TTL_MS = 300            # the load's expiring keys live at most this long


@pytest.fixture
def servers(tmp_path):
    """start(name, *options, port=None): a Redwood on tmp_path/name, stopped after the test."""
    started = []

    def start(name, *options, port=None):
        data = tmp_path / name
        data.mkdir()
        server = Redwood(str(data), *options, port=port).start()
        started.append(server)
        return server
    yield start
    for server in started:
        server.stop()


def replica_of(servers, name, primary, *options):
    return servers(name, "--replicaof", f"127.0.0.1:{primary.port}", *options)


def info(server, section="replication") -> dict:
    with server.client() as client:
        return client.info(section)


def wait_for(predicate, what: str, timeout: float = 60.0):
    """Poll until predicate() is truthy; on timeout, fail saying what was awaited."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def wait_synced(primary, *replicas, timeout: float = 60.0):
    """Until every replica's link is up and its offset is the primary's last seq (call it when
    the primary has stopped writing; a replica of a replica reaches the same offset)."""
    def synced():
        target = info(primary)["master_repl_offset"]
        states = [info(replica) for replica in replicas]
        return all(s.get("master_link_status") == "up" and s.get("slave_repl_offset") == target
                   for s in states)
    wait_for(synced, f"replicas of {primary.port} to catch up", timeout)


def state(server) -> list:
    client = server.raw()
    try:
        return dump(client)
    finally:
        client.close()


def assert_same_state(primary, *replicas):
    expected = state(primary)
    assert expected, "the primary holds nothing: the comparison would prove nothing"
    for replica in replicas:
        assert state(replica) == expected, f"replica {replica.port} differs from {primary.port}"


def stats(server) -> tuple[int, int, int]:
    s = info(server, "stats")
    return s["sync_full"], s["sync_partial_ok"], s["sync_partial_err"]


class WriteLoad:
    """Writes of every type to a primary from a thread until stop(): strings with and without
    TTLs, keys that expire during the load, hashes, lists, sets, sorted sets, MULTI/EXEC, DEL,
    SPOP and INCRBYFLOAT (logged in deterministic forms), and FLUSHDB in db 1."""

    def __init__(self, port: int):
        self.port, self.rounds, self.error = port, 0, None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def wait_rounds(self, n: int):
        target = self.rounds + n
        wait_for(lambda: self.rounds >= target or self.error, f"{n} rounds of writes")
        if self.error:
            raise self.error

    def stop(self):
        """Stop writing; return once every expiring key written has expired, so that no key
        expires between two dumps."""
        self.done.set()
        self.thread.join(timeout=60)
        if self.error:
            raise self.error
        time.sleep(SHORT_TTL_MS / 1000 + 0.1)

    def _run(self):
        rng = random.Random(self.port)
        db0 = redis.Redis(port=self.port, socket_timeout=30)
        db1 = redis.Redis(port=self.port, db=1, socket_timeout=30)
        try:
            while not self.done.is_set():
                self._round(db0, db1, rng, self.rounds)
                self.rounds += 1
        except Exception as exc:      # raised again in the test's thread by wait_rounds/stop
            self.error = exc
        finally:
            db0.close()
            db1.close()

    @staticmethod
    def _round(db0, db1, rng, i):
        p = db0.pipeline(transaction=False)
        p.set(f"s:{i % 40}", rng.randbytes(rng.randint(0, 30)), ex=1000 if i % 3 else None)
        p.set(f"tmp:{i}", i, px=rng.randint(50, SHORT_TTL_MS))
        p.hset(f"h:{i % 10}", f"f{i % 13}", i)
        p.rpush(f"l:{i % 10}", i, -i)
        p.lpop(f"l:{(i + 3) % 10}")
        p.sadd(f"set:{i % 10}", i % 50, rng.randint(0, 100))
        p.spop(f"set:{(i + 1) % 10}")
        p.zadd(f"z:{i % 10}", {f"m{i % 30}": rng.random()})
        p.zincrby(f"z:{(i + 1) % 10}", 1.5, f"m{i % 7}")
        p.incrbyfloat("float", 0.1)
        p.delete(f"s:{(i + 20) % 40}")
        p.execute()
        tx = db0.pipeline(transaction=True)
        tx.incr("tx:n").lpush("tx:l", i).hincrby("tx:h", "n", 1).pexpire(f"h:{i % 10}", 10_000_000)
        tx.execute()
        db1.set(f"db1:{i % 5}", i)
        if i % 25 == 24:
            db1.flushdb()


# -- convergence ---------------------------------------------------------------------------
def test_two_replicas_and_a_chained_one_converge_under_load(servers):
    primary = servers("primary")
    first, second = replica_of(servers, "r1", primary), replica_of(servers, "r2", primary)
    chained = replica_of(servers, "r3", first)
    load = WriteLoad(primary.port)
    load.wait_rounds(150)
    load.stop()
    wait_synced(primary, first, second, chained)
    assert_same_state(primary, first, second, chained)

    assert info(primary)["connected_slaves"] == 2 and info(first)["connected_slaves"] == 1
    assert info(first)["role"] == "slave" and info(first)["master_port"] == primary.port
    with first.client() as client:
        role = client.execute_command("ROLE")
    assert role[0] == b"slave" and int(role[2]) == primary.port
    with primary.client() as client:
        role = client.execute_command("ROLE")
    assert role[0] == b"master" and sorted(int(r[1]) for r in role[2]) == sorted([first.port, second.port])
    for replica in (first, chained):
        raw = replica.raw()
        assert raw.call("SET", "k", "v") == READONLY
        assert raw.call("GET", "s:1")[:1] == b"$"            # reads are served
        raw.close()
    with primary.client() as client:                        # the replicas indexed what they appended
        history = client.execute_command("HISTORY", "KEY", "s:1", "COUNT", "100")
    assert history[1]
    for replica in (first, second, chained):
        with replica.client() as client:
            assert client.execute_command("HISTORY", "KEY", "s:1", "COUNT", "100") == history


def test_kill_9_of_a_replica_mid_stream_resumes_incrementally(servers):
    primary = servers("primary")
    replica = replica_of(servers, "replica", primary)
    load = WriteLoad(primary.port)
    load.wait_rounds(30)
    wait_for(lambda: info(replica).get("slave_repl_offset", 0) > 0, "the replica to receive events")
    full, partial, _ = stats(primary)
    replica.kill()
    load.wait_rounds(60)
    replica.restart()
    load.wait_rounds(30)
    load.stop()
    wait_synced(primary, replica)
    assert_same_state(primary, replica)
    after = stats(primary)
    assert after[:2] == (full, partial + 1), f"sync_full, sync_partial_ok went from {(full, partial)} to {after[:2]}"


def test_primary_restart_replicas_resume_incrementally(servers):
    primary = servers("primary")
    replicas = replica_of(servers, "r1", primary), replica_of(servers, "r2", primary)
    load = WriteLoad(primary.port)
    load.wait_rounds(50)
    load.stop()
    wait_synced(primary, *replicas)
    primary.stop()
    wait_for(lambda: all(info(r)["master_link_status"] == "down" for r in replicas), "the links to go down")
    primary.restart()
    load = WriteLoad(primary.port)
    load.wait_rounds(30)
    load.stop()
    wait_synced(primary, *replicas)
    assert_same_state(primary, *replicas)
    assert stats(primary) == (0, 2, 0)     # counted since the restart: both resumed, none in full


def test_retention_shorter_than_the_outage_resyncs_in_full(servers):
    primary = servers("primary")
    replica = replica_of(servers, "replica", primary)
    load = WriteLoad(primary.port)
    load.wait_rounds(30)
    load.stop()
    wait_synced(primary, replica)
    replica_seq = info(replica)["slave_repl_offset"]
    replica.stop()
    load = WriteLoad(primary.port)
    load.wait_rounds(30)
    load.stop()
    with primary.client() as client:
        client.config_set("log-retention", "1b")
        client.bgrewriteaof()
    wait_for(lambda: info(primary, "persistence")["aof_rewrite_in_progress"] == 0, "the snapshot")
    assert info(primary, "persistence")["log_first_seq"] > replica_seq      # its seq is really gone
    full, partial, _ = stats(primary)
    replica.restart()
    wait_synced(primary, replica)
    assert_same_state(primary, replica)
    assert stats(primary)[:2] == (full + 1, partial)
    with primary.client() as client:                        # and it streams on after the resync
        client.set("after", "resync")
    wait_synced(primary, replica)
    assert_same_state(primary, replica)


def test_sync_counters_are_counted_as_redis_counts_them(servers):
    """A fresh replica is one sync_full (Redis: its `PSYNC ? -1` is no failed partial sync); a
    restarted one a sync_partial_ok; one whose seq is gone a sync_full and a sync_partial_err."""
    primary = servers("primary")
    with primary.client() as client:
        client.set("a", 1)
    replica = replica_of(servers, "replica", primary)
    wait_synced(primary, replica)
    assert stats(primary) == (1, 0, 0)
    replica.restart()
    wait_synced(primary, replica)
    assert stats(primary) == (1, 1, 0)
    replica.stop()
    with primary.client() as client:
        client.set("b", 2)
        client.config_set("log-retention", "1b")
        client.bgrewriteaof()
    wait_for(lambda: info(primary, "persistence")["aof_rewrite_in_progress"] == 0, "the snapshot")
    replica.restart()
    wait_synced(primary, replica)
    assert stats(primary) == (2, 1, 1)


@pytest.mark.parametrize("old_writes", [0, 1, 5], ids=["incremental", "diverged", "diverged-ahead"])
def test_promotion_then_the_old_primary_follows(servers, old_writes):
    """The new primary writes 2 events after the promotion; the old one 0 (its log is a prefix
    of the new one's), 1 (its last seq is held by the new primary, with another record) or 5
    (its last seq is beyond the new primary's)."""
    old = servers("old")
    new = replica_of(servers, "new", old)
    with old.client() as client:
        for i in range(50):
            client.set(f"k{i}", i)
            client.hset("h", f"f{i}", i)
    wait_synced(old, new)
    raw = new.raw()
    assert raw.call("REPLICAOF", "NO", "ONE") == b"+OK\r\n"
    raw.close()
    assert info(new)["role"] == "master"
    with new.client() as client:
        client.set("k1", "on the new primary")
        client.rpush("only-new", "a", "b")
    with old.client() as client:
        for i in range(old_writes):
            client.set("k2" if i == 0 else f"only-old{i}", "on the old primary after the promotion")
    full, partial, _ = stats(new)
    raw = old.raw()
    assert raw.call("REPLICAOF", "127.0.0.1", new.port) == b"+OK\r\n"
    raw.close()
    wait_synced(new, old)
    assert_same_state(new, old)
    with old.client() as client:
        assert client.get("k1") == b"on the new primary" and client.get("k2") == b"2"
        assert client.exists(*(f"only-old{i}" for i in range(1, 5))) == 0
    expected = (full + 1, partial) if old_writes else (full, partial + 1)
    assert stats(new)[:2] == expected


# -- the network, WAIT, a stuck replica ----------------------------------------------------
def test_network_cut_replica_reconnects_by_itself(servers):
    primary = servers("primary")
    proxy = Proxy(primary.port)
    try:
        replica = servers("replica", "--replicaof", f"127.0.0.1:{proxy.port}")
        with primary.client() as client:
            client.set("before", "cut")
        wait_synced(primary, replica)
        connections = proxy.accepted
        assert proxy.cut(refuse=True) >= 1
        wait_for(lambda: info(replica)["master_link_status"] == "down", "the link to go down")
        load = WriteLoad(primary.port)
        load.wait_rounds(30)
        assert info(replica)["slave_repl_offset"] < info(primary)["master_repl_offset"]
        proxy.restore()
        load.wait_rounds(30)
        load.stop()
        wait_synced(primary, replica)
        assert proxy.accepted > connections
        assert_same_state(primary, replica)
    finally:
        proxy.close()


def test_wait_counts_acknowledging_replicas(servers):
    primary = servers("primary")
    replicas = replica_of(servers, "r1", primary), replica_of(servers, "r2", primary)
    wait_synced(primary, *replicas)
    with primary.client() as client:
        client.set("k", "v")
        assert client.execute_command("WAIT", 2, 1000) == 2
        client.set("k", "w")
        started = time.monotonic()
        assert client.execute_command("WAIT", 3, 200) == 2
        assert time.monotonic() - started >= 0.19        # it waited for a third one
    for replica in replicas:
        with replica.client() as client:
            assert client.get("k") == b"w"


def test_a_replica_that_stops_reading_is_dropped_at_its_buffer_limit(servers):
    primary = servers("primary", "--client-output-buffer-limit", "replica 1mb 512kb 1")
    good = replica_of(servers, "good", primary)
    wait_synced(primary, good)
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)     # before connect: a small window
    stuck.connect(("127.0.0.1", primary.port))
    try:
        stuck.sendall(encode_command(["LOGSYNC", "?", "0", "0"]))
        wait_for(lambda: info(primary)["connected_slaves"] == 2, "the stuck replica to be attached")
        memory = info(primary, "memory")["used_memory"]
        value, highest = os.urandom(100_000), 0
        with primary.client() as client:
            for _ in range(100):                                        # 10 MB through the stream,
                client.set("big", value)                                # 100 KB in the keyspace
                highest = max(highest, client.info("memory")["used_memory"])
        wait_for(lambda: info(primary)["connected_slaves"] == 1, "the stuck replica to be dropped")
        assert "output buffer limit" in primary.output()
        assert highest - memory < 5_000_000, f"the primary grew by {highest - memory} bytes"
        wait_synced(primary, good)
        assert_same_state(primary, good)
    finally:
        stuck.close()


# -- expiry --------------------------------------------------------------------------------
def test_expiry_reaches_the_replica_only_as_the_primarys_del(servers):
    primary = servers("primary")
    replica = replica_of(servers, "replica", primary)
    with primary.client() as client:
        client.set("stays", "v")
        client.set("k", "v", px=1000)
        seq = info(primary)["master_repl_offset"]
    wait_synced(primary, replica)
    primary.proc.send_signal(signal.SIGSTOP)       # the primary cannot expire anything now
    try:
        with replica.client() as client:
            wait_for(lambda: client.get("k") is None, "k to read as expired on the replica")
        assert info(replica, "persistence")["log_last_seq"] == seq    # hidden, not deleted
        assert info(replica)["slave_repl_offset"] == seq
    finally:
        primary.proc.send_signal(signal.SIGCONT)
    wait_for(lambda: info(primary)["master_repl_offset"] == seq + 1, "the primary's DEL")
    wait_synced(primary, replica)
    assert_same_state(primary, replica)
    primary.stop()
    replica.stop()
    primary_log, replica_log = _log(primary.dir), _log(replica.dir)
    assert replica_log == primary_log                  # the very same records, byte for byte
    last = events.decode(*primary_log[-1])
    assert last.argv == [b"DEL", b"k"] and last.origin.kind == "expire"


def _log(data_dir: str) -> list:
    backend = open_store(data_dir)
    try:
        return [(seq, bytes(record)) for seq, record in backend.read(backend.first_seq)]
    finally:
        backend.close()
