"""`redwood check` and `redwood info`, run as real processes on stores a real server wrote
(or written through the backend API), damaged the way disks and crashes damage them."""
import os
import re
import uuid

import pytest

import migrations
from backends import open_backend
from engine import commands, events, keyindex, snapshot  # noqa: F401  (commands registers the handlers replay runs)
from engine.config import Config
from engine.keyspace import Keyspace
from engine.recovery import build_snapshot
from engine.state import ServerState
from tests.servers import Redwood
from tests.test_migrations import redwood_cli

KINDS = ("lmdb", "sqlite")
ORIGIN = events.Origin("client", 1, "127.0.0.1:5000").encode()
RAW_FILES = {"lmdb": os.path.join("log.lmdb", "data.mdb"), "sqlite": "redwood.sqlite3"}


@pytest.fixture(params=KINDS)
def kind(request):
    return request.param


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "data"
    path.mkdir()
    return str(path)


def write_all_types(client, tag: str, n: int = 40):
    for i in range(n):
        client.set(f"{tag}:s{i}", f"v{i}")
    client.hset(f"{tag}:h", mapping={f"f{i}": i for i in range(n)})
    client.rpush(f"{tag}:l", *range(n))
    client.sadd(f"{tag}:S", *range(n))
    client.zadd(f"{tag}:z", {f"m{i}": i / 3 for i in range(n)})
    client.incrbyfloat(f"{tag}:f", 1.5)
    client.pexpire(f"{tag}:s0", 10_000_000)
    client.setrange(f"{tag}:s1", 1, "raw")


def last_seq(client) -> int:
    return client.info("persistence")["log_last_seq"]


def check(data, *extra):
    result = redwood_cli("check", "--dir", data, *extra)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def field(output: str, name: str) -> str:
    found = re.search(rf"^{name}: (.*)$", output, re.MULTILINE)
    assert found, f"no {name} in:\n{output}"
    return found.group(1)


def served(data, kind, *keys) -> list:
    """The values a server started on the directory serves for keys (it is stopped after)."""
    server = Redwood(data, "--backend", kind).start()
    try:
        client = server.client()
        return [client.get(key) for key in keys]
    finally:
        server.stop()


def test_a_healthy_store_with_snapshots_passes_and_info_describes_it(data, kind):
    server = Redwood(data, "--backend", kind).start()
    client = server.client()
    write_all_types(client, "a")
    assert client.save()
    first_snapshot = last_seq(client)
    write_all_types(client, "b")
    client.delete("a:h", "a:s5")
    assert client.save()
    second_snapshot = last_seq(client)
    client.set("tail", "1")
    last = last_seq(client)
    server.stop()

    result = check(data)
    assert result.returncode == 0, result.stdout + result.stderr
    assert field(result.stdout, "events_checked") == f"{last} (events 1..{last})"
    assert field(result.stdout, "snapshots_checked") == f"2 (at {first_snapshot}, {second_snapshot})"
    assert field(result.stdout, "status") == "ok"

    info = redwood_cli("info", "--dir", data)
    assert info.returncode == 0, info.stderr
    assert field(info.stdout, "backend") == kind
    assert field(info.stdout, "format_version") == str(migrations.CURRENT)
    assert (field(info.stdout, "log_first_seq"), field(info.stdout, "log_last_seq")) == ("1", str(last))
    assert field(info.stdout, "log_events") == str(last)
    assert field(info.stdout, "snapshot_count") == "2"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", field(info.stdout, "log_last_time"))
    table = [line.split()[0] for line in info.stdout.splitlines() if re.match(r"\s+\d+\s", line)]
    assert table == [str(first_snapshot), str(second_snapshot)]


def test_a_directory_without_a_store_is_refused(data):
    for command in ("check", "info"):
        result = redwood_cli(command, "--dir", data)
        assert result.returncode == 1 and "holds no Redwood store" in result.stderr
    assert os.listdir(data) == []      # neither created one


def test_a_flipped_bit_is_found_and_the_server_refuses_it(data, kind):
    server = Redwood(data, "--backend", kind).start()
    client = server.client()
    write_all_types(client, "a")
    assert client.save()
    # Larger than a page: LMDB keeps it on an overflow page, not copied when later writes copy its leaf.
    marker = f"marker-{uuid.uuid4().hex}".encode() * 100
    client.set("marked", marker)
    bad = last_seq(client)
    write_all_types(client, "b", 10)
    last = last_seq(client)
    server.stop()

    path = os.path.join(data, RAW_FILES[kind])
    with open(path, "rb") as f:
        raw = bytearray(f.read())
    # Every copy of it (a page freed by copy-on-write may keep one): the live one is among them.
    copies = [found.start() for found in re.finditer(re.escape(marker), raw)]
    assert copies
    for at in copies:
        raw[at + len(marker) // 2] ^= 0x10
    with open(path, "wb") as f:
        f.write(raw)

    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "first_bad_seq") == str(bad)
    assert field(result.stdout, "first_bad_reason") == f"checksum mismatch in event {bad}"
    assert f"events {bad}..{last} ({last - bad} valid records after the first bad one" in result.stdout

    refused = Redwood(data, "--backend", kind)
    with pytest.raises(RuntimeError):
        refused.start()
    assert refused.proc.returncode != 0
    assert f"event {bad}" in refused.output()

    # redis-check-aof --fix's way: cut at the bad record, the good ones after it too, and say so.
    fixed = check(data, "--truncate")
    assert fixed.returncode == 0, fixed.stdout
    assert f"truncated: dropped events {bad}..{last} ({last - bad} valid records" in fixed.stdout
    assert check(data).returncode == 0
    assert served(data, kind, "a:s3", "marked", "b:s3") == [b"v3", None, None]


def test_a_torn_tail_is_reported_and_truncated(data, kind):
    server = Redwood(data, "--backend", kind).start()
    client = server.client()
    write_all_types(client, "a")
    assert client.save()
    kept_snapshot = last_seq(client)
    client.set("before", "kept")
    for i in range(3):
        client.set(f"torn{i}", "lost")
    assert client.save()
    last = last_seq(client)
    server.stop()

    backend = open_backend(kind, data)
    backend.put_records([(seq, record[:len(record) // 2]) for seq, record in backend.read(last - 2)])
    backend.close()

    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "first_bad_seq") == str(last - 2)
    assert f"would drop events {last - 2}..{last} (0 valid records" in result.stdout
    assert f"the snapshots (at {last})" in result.stdout

    fixed = check(data, "--truncate")
    assert fixed.returncode == 0, fixed.stdout
    dropped = field(fixed.stdout, "truncated")
    assert dropped.startswith(f"dropped events {last - 2}..{last} (0 valid records")
    assert "acknowledged writes in that range are lost" in dropped
    assert dropped.endswith(f"and the snapshots (at {last})")

    again = check(data)
    assert again.returncode == 0, again.stdout
    assert field(again.stdout, "events_checked") == f"{last - 3} (events 1..{last - 3})"
    assert field(again.stdout, "snapshots_checked") == f"1 (at {kept_snapshot})"
    assert served(data, kind, "a:s2", "before", "torn0", "torn2") == [b"v2", b"kept", None, None]


def test_a_snapshot_that_differs_from_the_log_is_reported(data, kind):
    server = Redwood(data, "--backend", kind).start()
    client = server.client()
    write_all_types(client, "a")
    assert client.save()
    write_all_types(client, "b")
    assert client.save()
    server.stop()

    backend = open_backend(kind, data)
    seq, ts = backend.snapshots()[0][:2]
    keyspace = Keyspace()
    snapshot.decode(keyspace, backend.read_snapshot(seq))
    keyspace.dbs[0].data[b"a:s7"] = b"not what the log says"
    backend.write_snapshot(seq, ts, snapshot.encode(keyspace, seq, ts))
    backend.close()

    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "problem") == f"snapshot at {seq}: differs from the log replayed to event {seq}"
    assert field(result.stdout, "status") == "damaged"


def write_store(path, kind, seqs, index=True):
    backend = open_backend(kind, path)
    migrations.on_open(backend, path, auto_migrate=True)
    records = [(seq, events.encode(seq, 1_700_000_000_000 + seq, 0, ORIGIN, [b"SET", b"k%d" % seq, b"v"]))
               for seq in seqs]
    backend.put_records(records)
    if index:
        backend.put_index(keyindex.entries(records))
    return backend


def test_missing_key_index_entries_are_found_and_reindex_writes_them(data, kind):
    backend = write_store(data, kind, range(1, 21), index=False)
    backend.put_index(keyindex.entries(backend.read(1, 5)))
    backend.close()
    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "problem") == ("the key index lacks the entries of 15 events (the first: 6): "
                                               f"`redwood check --dir {data} --reindex` writes them")
    result = check(data, "--reindex")
    assert result.returncode == 0 and field(result.stdout, "reindexed") == "the key index's entries of events 1..20"
    assert field(check(data).stdout, "status") == "ok"


def test_missing_records_are_damage_and_a_cut_says_how_many_good_ones_it_drops(data, kind):
    write_store(data, kind, [*range(1, 11), *range(13, 21)]).close()
    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "first_bad_seq") == "11"
    assert field(result.stdout, "first_bad_reason") == "events 11..12 are missing"
    assert "would drop events 11..20 (8 valid records after the first bad one" in result.stdout
    assert check(data, "--truncate").returncode == 0
    assert field(check(data).stdout, "events_checked") == "10 (events 1..10)"


def test_a_snapshot_past_the_end_of_the_log_means_a_lost_tail(data, kind):
    backend = write_store(data, kind, range(1, 11))
    backend.write_snapshot(15, 1_700_000_000_015, snapshot.encode(Keyspace(), 15, 1_700_000_000_015))
    backend.close()
    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "first_bad_seq") == "11"
    assert field(result.stdout, "first_bad_reason").startswith("the log ends at event 10 but a snapshot")
    fixed = check(data, "--truncate")
    assert field(fixed.stdout, "truncated") == "dropped the snapshots (at 15)"
    assert check(data).returncode == 0


def test_a_compacted_log_is_checked_from_its_oldest_usable_snapshot(data, kind):
    backend = write_store(data, kind, range(1, 101))
    state = ServerState(Config(), backend)
    build_snapshot(state, 50)
    build_snapshot(state, 80)
    backend.truncate_before(51)
    backend.close()

    result = check(data)
    assert result.returncode == 0, result.stdout
    assert field(result.stdout, "events_checked") == "50 (events 51..100)"
    assert field(result.stdout, "snapshots_checked") == "2 (at 50, 80)"
    info = redwood_cli("info", "--dir", data).stdout
    assert (field(info, "log_first_seq"), field(info, "log_events")) == ("51", "50")
    assert field(info, "retention_horizon_seq") == "50"
    assert field(info, "retention_horizon_time") == "2023-11-14T22:13:20.050Z"   # event 50's time

    backend = open_backend(kind, data)
    backend.delete_snapshot(50)
    assert check(data).returncode == 0          # the one at 80 is then the base
    backend.delete_snapshot(80)
    backend.close()
    result = check(data)
    assert result.returncode == 1
    assert field(result.stdout, "problem") == ("the log starts at event 51 and no usable snapshot "
                                               "holds the events before it")
