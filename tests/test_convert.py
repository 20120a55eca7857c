"""`redwood convert`: a store moved between backends keeps its log (seqs and bytes), its
snapshots and its metadata (the log id: the replication identity), run as a real process."""
import os

import pytest

import migrations
from backends import open_backend
from engine import events
from server.tools import copy_store
from tests.servers import Redwood
from tests.test_migrations import redwood_cli, write_v1_store

ORIGIN = events.Origin("client", 3, "127.0.0.1:6000").encode()


def contents(path, kind):
    """(records, snapshots with their chunks, metadata) of the store in `path`."""
    backend = open_backend(kind, path)
    try:
        records = list(backend.read(backend.first_seq or 1))
        snapshots = [(info.seq, info.ts, info.size, info.chunks, list(backend.read_snapshot(info.seq)))
                     for info in backend.snapshots()]
        return records, snapshots, backend.meta_items()
    finally:
        backend.close()


def convert(source, dest, kind):
    result = redwood_cli("convert", "--from", source, "--to", dest, "--backend", kind)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def lmdb_store(tmp_path):
    """An LMDB store at the current format: 500 records from seq 11 (the head compacted away),
    and one snapshot at seq 100."""
    path = str(tmp_path / "lmdb")
    backend = open_backend("lmdb", path)
    migrations.on_open(backend, path, auto_migrate=True)
    backend.put_records((seq, events.encode(seq, 1_700_000_000_000 + seq, seq % 3, ORIGIN,
                                            [b"SET", b"k%d" % seq, b"v" * (seq % 50)]))
                        for seq in range(11, 511))
    backend.write_snapshot(100, 1_700_000_000_100, [b"first chunk", b"second chunk" * 1000])
    backend.close()
    return path


def test_lmdb_to_sqlite_to_lmdb_keeps_log_snapshots_and_metadata(lmdb_store, tmp_path):
    records, snapshots, meta = contents(lmdb_store, "lmdb")
    assert [seq for seq, _ in records] == list(range(11, 511)) and len(snapshots) == 1
    sqlite_dir, back_dir = str(tmp_path / "sqlite"), str(tmp_path / "back")
    result = convert(lmdb_store, sqlite_dir, "sqlite")
    assert "100%" in result.stderr
    from backends.sqlite import SCHEMA_VERSION
    assert contents(sqlite_dir, "sqlite") == (records, snapshots, {**meta, "schema": b"%d" % SCHEMA_VERSION})
    convert(sqlite_dir, back_dir, "lmdb")
    assert contents(back_dir, "lmdb") == (records, snapshots, meta)


def test_a_server_serves_the_converted_store(tmp_path):
    lmdb_dir, sqlite_dir = str(tmp_path / "lmdb"), str(tmp_path / "sqlite")
    os.makedirs(lmdb_dir)
    server = Redwood(lmdb_dir).start()
    client = server.client()
    client.mset({"a": "1", "b": "2"})
    client.rpush("list", "x", "y")
    replid = client.info("replication")["master_replid"]
    client.close()
    server.stop()
    convert(lmdb_dir, sqlite_dir, "sqlite")
    server = Redwood(sqlite_dir, "--backend", "sqlite").start()
    try:
        client = server.client()
        assert client.mget("a", "b") == [b"1", b"2"]
        assert client.lrange("list", 0, -1) == [b"x", b"y"]
        assert client.info("replication")["master_replid"] == replid
        client.close()
    finally:
        server.stop()


def test_a_copy_cut_short_is_not_served(lmdb_store, tmp_path):
    """The format version is written last: a destination without it but with events is
    refused by the check every server runs on open."""
    class Interrupted(Exception):
        pass

    def interrupt(fraction):
        raise Interrupted

    source, dest = open_backend("lmdb", lmdb_store), open_backend("sqlite", str(tmp_path / "dest"))
    with pytest.raises(Interrupted):
        copy_store(source, dest, interrupt)
    source.close()
    assert dest.last_seq and dest.get_meta("format_version") is None
    with pytest.raises(migrations.FormatError, match="not a Redwood store"):
        migrations.on_open(dest, str(tmp_path / "dest"), auto_migrate=True)
    dest.close()


def test_convert_refuses_a_non_empty_destination(lmdb_store, tmp_path):
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "something").write_bytes(b"keep me")
    result = redwood_cli("convert", "--from", lmdb_store, "--to", str(dest), "--backend", "sqlite")
    assert result.returncode != 0
    assert "not empty" in result.stderr
    assert os.listdir(dest) == ["something"]


def test_convert_asks_for_an_older_format_to_be_migrated_first(tmp_path):
    source, dest = str(tmp_path / "v1"), str(tmp_path / "dest")
    write_v1_store(source)
    result = redwood_cli("convert", "--from", source, "--to", dest, "--backend", "sqlite")
    assert result.returncode != 0
    assert f"run `redwood migrate --dir {source}` first" in result.stderr
    assert not os.path.exists(dest)
