"""On-disk format upgrades: each step on a store built in the old format, the check the
server runs on open, and `redwood migrate`, all on real directories and processes."""
import os
import subprocess
import sys

import lmdb
import pytest

import migrations
from backends import open_backend
from engine import events
from tests.servers import ROOT, Redwood

LOG_ID = b"0123456789abcdef0123456789abcdef01234567"
ORIGIN = events.Origin("client", 7, "127.0.0.1:5000").encode()
KEYS = {b"k%d" % i: b"v%d" % i for i in range(1, 6)}


def write_v1_store(path, meta=None, records=None):
    """A data directory as Redwood wrote it before format 2, with the old code's raw calls:
    env <path>/log.lmdb, sub-databases `log` (8-byte big-endian seq -> record) and `meta`."""
    if meta is None:
        meta = {b"format_version": b"1", b"log_id": LOG_ID}
    if records is None:
        records = [events.encode(seq, 1_700_000_000_000 + seq, 0, ORIGIN, [b"SET", key, value])
                   for seq, (key, value) in enumerate(KEYS.items(), 1)]
    os.makedirs(path, exist_ok=True)
    env = lmdb.open(os.path.join(path, "log.lmdb"), map_size=1 << 40, max_dbs=8)
    with env.begin(write=True) as txn:
        log_db, meta_db = env.open_db(b"log", txn=txn), env.open_db(b"meta", txn=txn)
        for seq, record in enumerate(records, 1):
            txn.put(seq.to_bytes(8, "big"), record, db=log_db)
        for name, value in meta.items():
            txn.put(name, value, db=meta_db)
    env.close()


def read_raw(path):
    """(records by seq, metadata) of an LMDB store, read without Redwood's backend."""
    env = lmdb.open(os.path.join(path, "log.lmdb"), map_size=1 << 40, max_dbs=8, readonly=True)
    with env.begin() as txn:
        log_db, meta_db = env.open_db(b"log", txn=txn), env.open_db(b"meta", txn=txn)
        records = {int.from_bytes(k, "big"): v for k, v in txn.cursor(db=log_db)}
        meta = dict(txn.cursor(db=meta_db))
    env.close()
    return records, meta


def redwood_cli(*argv):
    """A `redwood` subcommand run to its end; its output as written (a `\r` stays one)."""
    result = subprocess.run([sys.executable, "-m", "server.cli", *argv], cwd=ROOT,
                            capture_output=True, timeout=60)
    result.stdout, result.stderr = result.stdout.decode(), result.stderr.decode()
    return result


@pytest.fixture
def v1_dir(tmp_path):
    path = str(tmp_path / "data")
    write_v1_store(path)
    return path


# -- the steps ---------------------------------------------------------------------------
def test_steps_are_numbered_one_per_version():
    assert [step.VERSION for step in migrations.STEPS] == list(range(1, migrations.CURRENT + 1))
    for step in migrations.STEPS:
        assert step.__name__.rsplit(".", 1)[1].startswith("%04d_" % step.VERSION)
        assert step.DESCRIPTION and "\n" not in step.DESCRIPTION


@pytest.mark.parametrize("kind", ["lmdb", "sqlite"])
def test_step_0001_sets_up_an_empty_directory(tmp_path, kind):
    backend = open_backend(kind, str(tmp_path / "data"))
    done = []
    step = migrations.STEPS[0]
    step.upgrade(backend, done.append)
    log_id = backend.get_meta("log_id")
    assert backend.get_meta("format_version") == b"1"
    assert len(log_id) == 40 and int(log_id, 16) >= 0
    assert done[-1] == 1.0
    step.upgrade(backend, done.append)        # run again after a crash: same identity
    assert backend.get_meta("log_id") == log_id
    backend.close()


def test_step_0002_upgrades_a_version_1_lmdb_store(v1_dir):
    records, _ = read_raw(v1_dir)
    backend = open_backend("lmdb", v1_dir)
    migrations.STEPS[1].upgrade(backend, lambda fraction: None)
    backend.close()
    after, meta = read_raw(v1_dir)
    assert after == records and len(records) == len(KEYS)
    assert meta == {b"format_version": b"2", b"log_id": LOG_ID,
                    b"log_format": b"1", b"snapshot_format": b"1"}


def test_step_0003_indexes_the_log_a_store_holds(v1_dir):
    from engine import keyindex
    backend = open_backend("lmdb", v1_dir)
    assert backend.key_seqs(keyindex.digest(b"k1"), 1 << 62, 10) == []
    migrations.STEPS[2].upgrade(backend, lambda fraction: None)
    for seq, key in enumerate(KEYS, 1):
        assert seq in backend.key_seqs(keyindex.digest(key), 1 << 62, 100)
    assert backend.get_meta("format_version") == b"3"
    backend.close()


@pytest.mark.parametrize("kind", ["lmdb", "sqlite"])
def test_step_0004_writes_the_index_again_by_epoch(v1_dir, kind, tmp_path):
    """A format 3 store's index (one tree by digest) is dropped and written by epoch."""
    from engine import keyindex
    path = v1_dir if kind == "lmdb" else str(tmp_path / "sqlite")
    backend = open_backend(kind, path)
    if kind == "sqlite":
        backend.put_records(read_raw(v1_dir)[0].items())
    old = [(keyindex.digest(key), seq) for seq, key in enumerate(KEYS, 1)]
    if kind == "lmdb":                          # format 3's layout: digest -> seq, and seq -> digests
        with backend.env.begin(write=True) as txn:
            for digest, seq in old:
                txn.put(digest, seq.to_bytes(8, "big"), db=backend.keys)
                txn.put(seq.to_bytes(8, "big"), digest, db=backend.keyseqs)
    else:
        backend.db.execute("CREATE TABLE keyidx (digest INTEGER NOT NULL, seq INTEGER NOT NULL,"
                           " PRIMARY KEY (digest, seq)) WITHOUT ROWID")
        backend.db.executemany("INSERT INTO keyidx VALUES (?, ?)",
                               [(int.from_bytes(d, "big", signed=True), seq) for d, seq in old])
    migrations.STEPS[3].upgrade(backend, lambda fraction: None)
    assert backend.get_meta("format_version") == b"4"
    for seq, key in enumerate(KEYS, 1):
        assert backend.key_seqs(keyindex.digest(key), 1 << 62, 100) == [seq]
    if kind == "lmdb":
        with backend.env.begin(db=backend.keys) as txn:
            assert all(len(key) == 12 for key in txn.cursor().iternext(values=False))
    else:
        assert backend.db.execute("SELECT name FROM sqlite_master WHERE name = 'keyidx'").fetchall() == []
    backend.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_new_store_records_this_codes_formats(tmp_path, kind):
    from engine import snapshot
    backend = open_backend(kind, str(tmp_path / "data"))
    assert migrations.migrate(backend, str(tmp_path / "data")) is None     # nothing to back up
    assert backend.get_meta("format_version") == b"%d" % migrations.CURRENT
    assert backend.get_meta("log_format") == b"%d" % events.FORMAT_VERSION
    assert backend.get_meta("snapshot_format") == b"%d" % snapshot.FORMAT_VERSION
    if kind == "sqlite":
        from backends.sqlite import SCHEMA_VERSION
        assert backend.get_meta("schema") == b"%d" % SCHEMA_VERSION
    backend.close()


# -- the check on open -------------------------------------------------------------------
def test_open_backs_up_then_upgrades(v1_dir):
    records, _ = read_raw(v1_dir)
    backend = open_backend("lmdb", v1_dir)
    migrations.on_open(backend, v1_dir, auto_migrate=True)
    assert backend.get_meta("format_version") == b"%d" % migrations.CURRENT
    backend.close()
    (backup,) = os.listdir(os.path.join(v1_dir, "backups"))
    assert backup.startswith("format-1-")
    old_records, old_meta = read_raw(os.path.join(v1_dir, "backups", backup))
    assert old_records == records
    assert old_meta == {b"format_version": b"1", b"log_id": LOG_ID}
    assert read_raw(v1_dir)[0] == records


def test_open_without_auto_migrate_refuses_and_changes_nothing(v1_dir):
    before = read_raw(v1_dir)
    backend = open_backend("lmdb", v1_dir)
    with pytest.raises(migrations.FormatError) as refused:
        migrations.on_open(backend, v1_dir, auto_migrate=False)
    backend.close()
    assert str(refused.value) == (
        f"the data directory {v1_dir} has format version 1; this Redwood uses version "
        f"{migrations.CURRENT}; run `redwood migrate --dir {v1_dir}` (it backs the directory up "
        "first) or start without --no-auto-migrate")
    assert read_raw(v1_dir) == before
    assert not os.path.exists(os.path.join(v1_dir, "backups"))


def test_open_sets_up_a_new_directory_even_without_auto_migrate(tmp_path):
    backend = open_backend("lmdb", str(tmp_path / "data"))
    migrations.on_open(backend, str(tmp_path / "data"), auto_migrate=False)
    assert backend.get_meta("format_version") == b"%d" % migrations.CURRENT
    backend.close()


def test_a_log_without_format_version_is_not_a_redwood_store(tmp_path):
    path = str(tmp_path / "data")
    write_v1_store(path, meta={})
    backend = open_backend("lmdb", path)
    with pytest.raises(migrations.FormatError, match="holds events but no format version"):
        migrations.on_open(backend, path, auto_migrate=True)
    backend.close()
    assert read_raw(path)[1] == {}


# -- the server ----------------------------------------------------------------------------
def test_server_upgrades_a_version_1_directory_and_serves_it(v1_dir):
    records, _ = read_raw(v1_dir)
    server = Redwood(v1_dir, "--backend", "lmdb").start()   # version 1 stores are LMDB
    try:
        client = server.client()
        assert {key: client.get(key) for key in KEYS} == KEYS
        assert client.info("replication")["master_replid"] == LOG_ID.decode()
        client.close()
    finally:
        server.stop()
    assert "backed up" in server.output()
    after, meta = read_raw(v1_dir)
    assert meta[b"format_version"] == b"%d" % migrations.CURRENT
    assert {seq: after[seq] for seq in records} == records
    assert os.listdir(os.path.join(v1_dir, "backups"))


def test_server_without_auto_migrate_refuses_a_version_1_directory(v1_dir):
    before = read_raw(v1_dir)
    server = Redwood(v1_dir, "--backend", "lmdb", "--no-auto-migrate")
    with pytest.raises(RuntimeError):
        server.start()
    assert server.proc.returncode != 0
    assert f"run `redwood migrate --dir {v1_dir}`" in server.output()
    assert read_raw(v1_dir) == before
    assert not os.path.exists(os.path.join(v1_dir, "backups"))


def test_a_newer_format_is_refused_by_the_server_and_by_migrate(tmp_path):
    path = str(tmp_path / "data")
    write_v1_store(path, meta={b"format_version": b"99", b"log_id": LOG_ID})
    server = Redwood(path, "--backend", "lmdb")
    with pytest.raises(RuntimeError):
        server.start()
    assert server.proc.returncode != 0
    newer = f"format version 99, newer than this Redwood's {migrations.CURRENT}"
    assert newer in server.output()
    result = redwood_cli("migrate", "--dir", path)
    assert result.returncode != 0
    assert newer in result.stderr
    assert read_raw(path)[1][b"format_version"] == b"99"


# -- redwood migrate -----------------------------------------------------------------------
def test_migrate_dry_run_changes_nothing(v1_dir):
    before = read_raw(v1_dir)
    result = redwood_cli("migrate", "--dir", v1_dir, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"format version 1; this Redwood uses version {migrations.CURRENT}" in result.stdout
    for step in migrations.pending(1):
        assert step.DESCRIPTION in result.stdout
    assert read_raw(v1_dir) == before
    assert not os.path.exists(os.path.join(v1_dir, "backups"))


def test_migrate_backs_up_and_upgrades_with_a_progress_bar(v1_dir):
    records, _ = read_raw(v1_dir)
    result = redwood_cli("migrate", "--dir", v1_dir)
    assert result.returncode == 0, result.stderr
    assert "\r[" + "#" * 40 + "] 100%" in result.stderr
    after, meta = read_raw(v1_dir)
    assert meta[b"format_version"] == b"%d" % migrations.CURRENT and after == records
    (backup,) = os.listdir(os.path.join(v1_dir, "backups"))
    assert os.path.join(v1_dir, "backups", backup) in result.stdout
    assert read_raw(os.path.join(v1_dir, "backups", backup)) == (records, {
        b"format_version": b"1", b"log_id": LOG_ID})
    again = redwood_cli("migrate", "--dir", v1_dir)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_migrate_refuses_a_directory_without_that_store(v1_dir, tmp_path):
    other_kind = redwood_cli("migrate", "--dir", v1_dir, "--backend", "sqlite")
    assert other_kind.returncode != 0 and "holds an lmdb store, not sqlite" in other_kind.stderr
    assert os.listdir(v1_dir) == ["log.lmdb"]
    missing = redwood_cli("migrate", "--dir", str(tmp_path / "nothing"))
    assert missing.returncode != 0 and "holds no Redwood store" in missing.stderr
    assert not os.path.exists(tmp_path / "nothing")
