"""Replication's commands, one server at a time: replies compared with real Redis where they
are deterministic, and a replica's refusals (READONLY, MASTERDOWN, NOREPLICAS)."""
import time


from tests.servers import Redwood, free_port


def test_command_errors_match_redis(diff):
    diff.run(["REPLICAOF", "REPLICAOF no", "REPLICAOF 127.0.0.1 abc", "REPLICAOF localhost 99999",
              "REPLICAOF localhost -1", "SLAVEOF a", "REPLICAOF no one", "ROLE x", "REPLCONF foo",
              "REPLCONF listening-port 5", "REPLCONF listening-port x", "WAIT 0 0", "WAIT x 0", "WAIT 1 x"])


def test_role_and_info_of_a_primary(r):
    role = r.execute_command("ROLE")
    assert role[0] == b"master" and role[2] == []
    info = r.info("replication")
    assert info["role"] == "master" and info["connected_slaves"] == 0
    assert info["master_repl_offset"] == r.info("persistence")["log_last_seq"]


def test_min_replicas_to_write_refuses_writes(r, shared_redwood):
    raw = shared_redwood.raw()
    r.config_set("min-replicas-to-write", 1)
    try:
        assert raw.call("SET", "k", "v") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
        assert raw.call("GET", "k") == b"$-1\r\n"                   # reads go on
        assert raw.call("MULTI") == b"+OK\r\n"
        assert raw.call("SET", "k", "v") == b"-NOREPLICAS Not enough good replicas to write.\r\n"
        assert raw.call("EXEC") == (b"-EXECABORT Transaction discarded because of previous errors.\r\n")
    finally:
        r.config_set("min-replicas-to-write", 0)
        raw.close()
    assert r.set("k", "v")


def test_a_replica_without_its_primary(tmp_path):
    """Pointed at a port nobody listens on: its link stays down, it refuses writes, and with
    replica-serve-stale-data no everything but `stale` commands."""
    data = tmp_path / "data"
    data.mkdir()
    nobody = free_port()
    server = Redwood(str(data), "--replicaof", f"127.0.0.1:{nobody}").start()
    try:
        c, raw = server.client(), server.raw()
        info = c.info("replication")
        assert info["role"] == "slave" and info["master_port"] == nobody
        assert info["master_link_status"] == "down" and info["master_sync_in_progress"] == 0
        assert c.execute_command("ROLE") == [b"slave", b"127.0.0.1", nobody, b"connect", 0]
        assert raw.call("SET", "k", "v") == b"-READONLY You can't write against a read only replica.\r\n"
        assert raw.call("WAIT", "1", "0").startswith(b"-ERR WAIT cannot be used with replica instances.")
        assert c.get("k") is None
        c.config_set("replica-serve-stale-data", "no")
        assert raw.call("GET", "k") == (b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data "
                                        b"is set to 'no'.\r\n")
        assert c.info("replication")["role"] == "slave"       # INFO is `stale`
        assert c.execute_command("REPLICAOF", "127.0.0.1", nobody) == b"OK Already connected to specified master"
        assert c.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        assert c.set("k", "v") and c.get("k") == b"v"       # a primary again: all allowed
        assert c.info("replication")["role"] == "master"
        raw.close()
    finally:
        server.stop()


def test_a_replica_hides_expired_keys_until_the_primarys_del(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary = Redwood(str(tmp_path / "p")).start()
    replica = None
    try:
        p = primary.client()
        p.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")    # only a read on the primary expires it
        p.set("short", "v", px=200)
        replica = Redwood(str(tmp_path / "r"), "--replicaof", f"127.0.0.1:{primary.port}").start()
        r = replica.client()
        deadline = time.monotonic() + 10
        while r.info("replication")["slave_repl_offset"] < p.info("persistence")["log_last_seq"]:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)
        assert r.get("short") is None                   # hidden: past its time
        assert r.dbsize() == 1                          # ... but not deleted by the replica
        assert p.get("short") is None                   # the primary expires it, logs DEL
        deadline = time.monotonic() + 10
        while r.dbsize():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()


def _pair(tmp_path, *primary_options, replica_options=()):
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    primary = Redwood(str(tmp_path / "p"), *primary_options).start()
    replica = Redwood(str(tmp_path / "r"), "--replicaof", f"127.0.0.1:{primary.port}", *replica_options).start()
    return primary, replica


def _until(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_masterauth_and_masteruser(tmp_path):
    primary, replica = _pair(tmp_path, "--requirepass", "topsecret",
                             replica_options=("--masterauth", "wrong"))
    try:
        p = primary.client(password="topsecret")
        r = replica.client()
        time.sleep(0.5)
        assert r.info("replication")["master_link_status"] == "down"      # refused
        p.execute_command("ACL", "SETUSER", "repl", "on", ">replpw", "+@all", "~*")
        r.config_set("masteruser", "repl")
        r.config_set("masterauth", "replpw")
        p.set("k", "v")
        _until(lambda: r.get("k") == b"v", replica.output())
        assert r.info("replication")["master_link_status"] == "up"
    finally:
        replica.stop()
        primary.stop()


def test_publish_reaches_the_replicas_subscribers(tmp_path):
    primary, replica = _pair(tmp_path)
    try:
        _until(lambda: replica.client().info("replication")["master_link_status"] == "up", replica.output())
        subscriber = replica.client().pubsub()
        subscriber.subscribe("news")
        assert subscriber.get_message(timeout=5)["type"] == "subscribe"
        assert primary.client().publish("news", "hello") == 0     # nobody on the primary itself
        message = subscriber.get_message(timeout=5)
        assert message is not None and (message["channel"], message["data"]) == (b"news", b"hello")
        subscriber.close()
    finally:
        replica.stop()
        primary.stop()


def test_a_replica_ignores_maxmemory(tmp_path):
    """Far over its maxmemory, a replica neither evicts nor refuses: its primary's DELs evict."""
    primary, replica = _pair(tmp_path, replica_options=("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-random"))
    try:
        p, r = primary.client(), replica.client()
        p.mset({f"k{i}": "v" * 100 for i in range(200)})
        _until(lambda: r.dbsize() == 200, replica.output())
        assert r.get("k7") == b"v" * 100 and r.info("stats")["evicted_keys"] == 0
        r.execute_command("REPLICAOF", "NO", "ONE")               # a primary again: the limit holds
        r.get("k1")
        assert r.dbsize() < 200 and r.info("stats")["evicted_keys"] > 0
    finally:
        replica.stop()
        primary.stop()


def test_catch_up_frames_never_split_a_transaction():
    """A catch-up frame ends only before a record outside a MULTI/EXEC run."""
    from backends.memory import MemoryBackend
    from engine import events
    from replication.primary import CATCH_UP_RECORDS, _whole_transactions

    def record(seq, flags):
        return events.encode(seq, seq, 0, events.ORIGIN_INTERNAL, [b"SET", b"k", b"%d" % seq], flags)

    backend = MemoryBackend()
    in_multi = range(CATCH_UP_RECORDS - 5, CATCH_UP_RECORDS + 20)      # a transaction across the mark
    backend.append([(seq, record(seq, events.FLAG_MULTI if seq in in_multi else 0))
                    for seq in range(1, 3 * CATCH_UP_RECORDS)])
    backend.commit(sync=True)
    first = _whole_transactions(backend, 1, backend.last_seq)
    assert len(first) == in_multi[-1]                   # up to the transaction's last record
    second = _whole_transactions(backend, len(first) + 1, backend.last_seq)
    assert len(second) == CATCH_UP_RECORDS              # no transaction there: the plain size
