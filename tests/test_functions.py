"""FUNCTION's libraries on Redwood alone: stored state that is logged (as its deterministic
forms, nothing for a failed load), survives kill -9, DEBUG RELOAD and a restart from a snapshot
on a compacted log, reaches a replica; FUNCTION KILL of a busy function; DUMP → FLUSH → RESTORE."""
import time

import pytest
import redis

from engine import events
from tests.servers import Redwood, encode_command, open_store
from tests.test_replication import info, replica_of, servers, wait_for, wait_synced  # noqa: F401  (fixture)

LIB = "#!lua name=counter\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)"
LIB2 = ("#!lua name=reader\nredis.register_function{function_name='peek', callback=function(keys) "
        "return redis.call('get', keys[1]) end, flags={'no-writes'}}")
BUSY = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"


def _libraries(client) -> list:
    return sorted(entry[b"library_name"] if isinstance(entry, dict) else entry[1]
                  for entry in client.execute_command("FUNCTION", "LIST"))


def _logged(data) -> list:
    backend = open_store(str(data))
    try:
        return [events.decode(seq, record).argv for seq, record in backend.read(1)]
    finally:
        backend.close()


def test_libraries_are_logged_and_survive_kill_9_and_debug_reload(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = Redwood(str(data), "--appendfsync", "always").start()
    client = server.client()
    assert client.execute_command("FUNCTION", "LOAD", LIB) == b"counter"
    try:
        client.execute_command("FUNCTION", "LOAD", LIB)          # exists: fails, logs nothing
    except redis.ResponseError:
        pass
    assert client.execute_command("FUNCTION", "LOAD", LIB2) == b"reader"
    assert client.execute_command("FCALL", "bump", 1, "n") == 1
    assert client.execute_command("FUNCTION", "DELETE", "reader") == b"OK"
    assert client.execute_command("FUNCTION", "LOAD", "REPLACE", LIB2) == b"reader"
    server.kill()
    assert _logged(data) == [[b"FUNCTION", b"LOAD", b"REPLACE", LIB.encode()],
                             [b"FUNCTION", b"LOAD", b"REPLACE", LIB2.encode()],
                             [b"incr", b"n"],
                             [b"FUNCTION", b"DELETE", b"reader"],
                             [b"FUNCTION", b"LOAD", b"REPLACE", LIB2.encode()]]
    client = server.restart().client()
    assert _libraries(client) == [b"counter", b"reader"]
    assert client.execute_command("FCALL", "bump", 1, "n") == 2
    assert client.execute_command("FCALL_RO", "peek", 1, "n") == b"2"
    assert client.execute_command("FUNCTION", "FLUSH") == b"OK"
    assert client.execute_command("FUNCTION", "LOAD", LIB) == b"counter"
    assert client.execute_command("DEBUG", "RELOAD") == b"OK"
    assert _libraries(client) == [b"counter"]
    assert client.execute_command("FCALL", "bump", 1, "n") == 3
    server.stop()


def test_a_snapshot_keeps_the_libraries_when_the_log_is_compacted(redwood_server):
    server = redwood_server.start()
    client = server.client()
    client.execute_command("FUNCTION", "LOAD", LIB)
    client.execute_command("FUNCTION", "LOAD", LIB2)
    client.execute_command("FCALL", "bump", 1, "n")
    client.config_set("log-retention", "1b")
    client.execute_command("BGREWRITEAOF")
    wait_for(lambda: client.info("persistence")["aof_rewrite_in_progress"] == 0
             and client.info("persistence")["aof_rewrites"] == 1, "the snapshot")
    assert client.info("persistence")["log_first_seq"] == 3         # the loads are gone from the log
    server.kill()
    client = server.restart().client()
    assert client.info("persistence")["loading_snapshot_seq"] == 3
    assert _libraries(client) == [b"counter", b"reader"]
    assert client.execute_command("FCALL", "bump", 1, "n") == 2


def test_a_replica_gets_the_libraries(servers):  # noqa: F811
    primary = servers("primary")
    client = primary.client()
    client.execute_command("FUNCTION", "LOAD", LIB)                  # before the replica: in its first sync
    replica = replica_of(servers, "replica", primary)
    client.execute_command("FUNCTION", "LOAD", LIB2)                 # after: streamed
    client.execute_command("FCALL", "bump", 1, "n")
    wait_synced(primary, replica)
    with replica.client() as follower:
        assert _libraries(follower) == [b"counter", b"reader"]
        assert follower.execute_command("FCALL_RO", "peek", 1, "n") == b"1"
    client.execute_command("FUNCTION", "DELETE", "counter")
    wait_synced(primary, replica)
    with replica.client() as follower:
        assert _libraries(follower) == [b"reader"]


def test_function_kill_stops_a_busy_function(shared_redwood):
    caller, other = shared_redwood.raw(), shared_redwood.raw()
    other.call("FUNCTION", "FLUSH")
    assert other.call("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function() "
                      "local i = 0 while true do i = i + 1 end end)") == b"$4\r\nspin\r\n"
    assert other.call("CONFIG", "SET", "busy-reply-threshold", "50") == b"+OK\r\n"
    caller.send_raw(encode_command(["FCALL", "spin", "0"]))
    deadline = time.monotonic() + 30
    while (reply := other.call("PING")) != BUSY:
        assert reply == b"+PONG\r\n" and time.monotonic() < deadline, reply
        time.sleep(0.01)
    assert b"$4\r\nspin\r\n" in other.call("FUNCTION", "STATS")            # running_script names it
    assert other.call("SCRIPT", "KILL") == BUSY                         # not an EVAL script
    assert other.call("FUNCTION", "KILL") == b"+OK\r\n"
    assert caller.read_reply().startswith(b"-ERR Script killed by user with SCRIPT KILL...")
    assert other.call("FUNCTION", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    other.call("CONFIG", "SET", "busy-reply-threshold", "5000")
    other.call("FUNCTION", "FLUSH")


def test_dump_flush_restore_round_trip_and_script_flush(r):
    r.execute_command("FUNCTION", "FLUSH")
    r.execute_command("FUNCTION", "LOAD", LIB)
    r.execute_command("FUNCTION", "LOAD", LIB2)
    payload = r.execute_command("FUNCTION", "DUMP")
    r.execute_command("FUNCTION", "FLUSH")
    assert _libraries(r) == []
    assert r.execute_command("FUNCTION", "RESTORE", payload) == b"OK"
    assert _libraries(r) == [b"counter", b"reader"]
    assert r.execute_command("FUNCTION", "RESTORE", payload, "REPLACE") == b"OK"
    assert r.execute_command("SCRIPT", "FLUSH") == b"OK"                # a new Lua state: compiled again
    assert r.execute_command("FCALL", "bump", 1, "n") == 1
    with pytest.raises(redis.ResponseError, match="DUMP payload version or checksum are wrong"):
        r.execute_command("FUNCTION", "RESTORE", payload[:-1] + b"x", "FLUSH")
    assert _libraries(r) == [b"counter", b"reader"]
    r.execute_command("FUNCTION", "FLUSH")
