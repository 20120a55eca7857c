"""The backend contract, one suite run against every backend; the durable ones also against
a second real process writing the same directory, and one killed mid-snapshot."""
import ast
import sqlite3
import subprocess
import sys
import time

import pytest

from backends import EPOCH_BITS, INDEX_CHUNK, detect_backend, open_backend
from backends.base import LogUnavailable
from backends.sqlite import FILE, SCHEMA_VERSION
from engine import events, keyindex
from tests.servers import ROOT

DURABLE = ["lmdb", "sqlite"]


@pytest.fixture(params=["memory", *DURABLE])
def backend(request, tmp_path):
    b = open_backend(request.param, str(tmp_path / "data"))
    yield b
    b.close()


def record(seq, key=b"k"):
    return events.encode(seq, 1000 + seq, 0, events.ORIGIN_INTERNAL, [b"SET", key, b"%d" % seq])


def commit_records(backend, first, last, sync=False):
    backend.append([(seq, record(seq)) for seq in range(first, last + 1)])
    backend.commit(sync=sync)


def seqs(backend, from_seq=1):
    return [seq for seq, _ in backend.read(from_seq)]


def stored_chunks(backend) -> set[tuple[int, int]]:
    """(seq, n) of every chunk the backend holds, part of a visible snapshot or not."""
    if backend.kind == "memory":
        return set(backend.chunks)
    if backend.kind == "lmdb":
        with backend.env.begin(db=backend.snap) as txn:
            return {(int.from_bytes(key[:8], "big"), int.from_bytes(key[8:], "big"))
                    for key in txn.cursor().iternext(values=False)}
    return set(backend.db.execute("SELECT seq, n FROM snapshot_chunks").fetchall())


def python_process(kind, path, script) -> subprocess.Popen:
    """Another process with the same store open as `b`, running `script`."""
    prelude = f"import time\nfrom backends import open_backend\nb = open_backend({kind!r}, {path!r})\n"
    return subprocess.Popen([sys.executable, "-c", prelude + script], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)


# -- the log -----------------------------------------------------------------------------------
def test_empty_log_has_no_bounds(backend):
    assert (backend.first_seq, backend.last_seq) == (0, 0)
    assert list(backend.read(1)) == []


def test_append_is_invisible_until_commit(backend):
    backend.append([(1, record(1)), (2, record(2))])
    assert backend.last_seq == 0
    backend.commit(sync=True)
    assert (backend.first_seq, backend.last_seq) == (1, 2)
    assert seqs(backend) == [1, 2]


def test_abort_discards_the_staged_batch(backend):
    backend.append([(1, record(1))])
    backend.abort()
    backend.commit(sync=False)
    assert backend.last_seq == 0
    assert list(backend.read(1)) == []


def test_read_ranges(backend):
    for start in (1, 4, 7):
        commit_records(backend, start, start + 2)
    assert seqs(backend, 4) == list(range(4, 10))
    assert [s for s, _ in backend.read(2, 5)] == [2, 3, 4, 5]
    assert seqs(backend, 10) == []
    seq, raw = next(iter(backend.read(5)))
    assert events.decode(seq, raw).argv == [b"SET", b"k", b"5"]


def test_scan_matches_read(backend):
    commit_records(backend, 1, 5)
    for bounds in ((1, None), (2, 4), (5, 5), (6, None)):
        scanned = [(int.from_bytes(bytes(key), "big"), bytes(rec)) for key, rec in backend.scan(*bounds)]
        assert scanned == list(backend.read(*bounds))


def test_long_reads_cross_fetch_batches(backend):
    commit_records(backend, 1, 25000)
    assert seqs(backend) == list(range(1, 25001))
    assert [int.from_bytes(bytes(key), "big") for key, _ in backend.scan(3, 24000)] == list(range(3, 24001))


def test_truncate_before_drops_exactly_the_records_below(backend):
    commit_records(backend, 1, 12000)   # more records than one deleting transaction takes
    with pytest.raises(ValueError):
        backend.truncate_before(12001)
    assert backend.truncate_before(11000) == 10999
    assert (backend.first_seq, backend.last_seq) == (11000, 12000)
    assert seqs(backend) == list(range(11000, 12001))
    assert backend.truncate_before(11000) == 0
    assert backend.truncate_before(12000) == 1000
    assert (backend.first_seq, backend.last_seq) == (12000, 12000)
    commit_records(backend, 12001, 12001)
    assert seqs(backend) == [12000, 12001]


def test_put_and_delete_records(backend):
    commit_records(backend, 1, 10)
    assert backend.delete_records(8) == 3
    assert backend.last_seq == 7
    assert backend.delete_records(100) == 0
    backend.put_records([(8, record(8, b"new")), (3, record(3, b"again"))])
    assert (backend.first_seq, backend.last_seq) == (1, 8)
    assert {seq: events.decode(seq, raw).argv[1] for seq, raw in backend.read(3)} == {
        3: b"again", 4: b"k", 5: b"k", 6: b"k", 7: b"k", 8: b"new"}
    backend.put_records((seq, record(seq)) for seq in range(9, 12010))
    assert backend.last_seq == 12009
    assert backend.delete_records(9) == 12001
    assert seqs(backend) == list(range(1, 9))


# -- the key index -----------------------------------------------------------------------------
A, B, C = b"\x01" * 8, b"\x02" * 8, b"\x03" * 8


def indexed(backend, first, last, digests_of):
    """Commit records first..last with the index entries digests_of(seq) (skipped when empty)."""
    batch = [(seq, record(seq)) for seq in range(first, last + 1)]
    backend.append(batch, [(seq, digests_of(seq)) for seq in range(first, last + 1) if digests_of(seq)])
    backend.commit(sync=False)


def test_key_seqs_newest_first_below_before_at_most_limit(backend):
    indexed(backend, 1, 10, lambda seq: A if seq % 2 else A + B if seq % 4 == 0 else b"")
    assert backend.key_seqs(A, 11, 100) == [9, 8, 7, 5, 4, 3, 1]
    assert backend.key_seqs(A, 8, 2) == [7, 5]
    assert backend.key_seqs(A, 1, 10) == []
    assert backend.key_seqs(B, 100, 10) == [8, 4]
    assert backend.key_seqs(C, 100, 10) == []


def test_the_index_goes_with_its_records(backend):
    indexed(backend, 1, 10, lambda seq: A + B if seq in (2, 9) else A)
    backend.truncate_before(4)
    assert backend.key_seqs(A, 100, 100) == [10, 9, 8, 7, 6, 5, 4]
    backend.delete_records(9)
    assert backend.key_seqs(A, 100, 100) == [8, 7, 6, 5, 4]
    assert backend.key_seqs(B, 100, 100) == []


def test_an_aborted_batch_leaves_no_index(backend):
    backend.append([(1, record(1))], [(1, A)])
    backend.abort()
    assert backend.key_seqs(A, 100, 100) == []


def test_put_index_indexes_records_already_held(backend):
    commit_records(backend, 1, 5)
    backend.put_index([(2, A), (4, A + C)])
    assert backend.key_seqs(A, 100, 100) == [4, 2] and backend.key_seqs(C, 100, 100) == [4]


def test_index_items_in_seq_order(backend):
    indexed(backend, 1, 6, lambda seq: {2: B, 3: A + C, 5: A}.get(seq, b""))
    assert [(seq, set(keyindex.split(found))) for seq, found in backend.index_items(2, 5)] == \
        [(2, {B}), (3, {A, C}), (5, {A})]
    assert list(backend.index_items(4, 4)) == [] and list(backend.index_items(6, 9)) == []


@pytest.mark.parametrize("kind", DURABLE)
def test_the_index_written_behind_reads_the_same_across_its_tail_epochs_and_reopen(kind, tmp_path):
    """Entries move from the tail into the by-digest index INDEX_CHUNK at a time; a read spans
    both and the index's epochs, the tail is read back on open, and deletes reach both."""
    path = str(tmp_path / "data")
    first = (1 << EPOCH_BITS) - INDEX_CHUNK - 1000      # the log crosses into a second epoch
    last = first + INDEX_CHUNK * 2 + 700                # two moves, then a tail of 700
    b = open_backend(kind, path)
    for start in range(first, last + 1, 300):
        indexed(b, start, min(start + 299, last), lambda seq: A + B if seq % 3 == 0 else A if seq % 3 == 1 else C)
    assert 0 < len(b._index_tail()) < INDEX_CHUNK
    a_seqs = [seq for seq in range(last, first - 1, -1) if seq % 3 != 2]
    tail_start = b._index_tail().entries[0][0]
    assert b.key_seqs(A, last + 1, 1000) == a_seqs[:1000]       # the tail, then the index
    assert b.key_seqs(A, 1 << 62, len(a_seqs) + 1) == a_seqs     # both epochs
    assert b.key_seqs(B, tail_start + 5, 10) == [seq for seq in range(tail_start + 4, first, -1) if seq % 3 == 0][:10]
    assert b.key_seqs(C, first + 100, 100) == [seq for seq in range(first + 99, first - 1, -1) if seq % 3 == 2]
    items = list(b.index_items(tail_start - 3, tail_start + 3))
    assert [seq for seq, _ in items] == list(range(tail_start - 3, tail_start + 4))
    b.close()
    b = open_backend(kind, path)
    assert b.key_seqs(A, last + 1, last) == a_seqs
    cut = tail_start - 5                                            # into what the index holds
    assert b.delete_records(cut) == last - cut + 1 and b.truncate_before(first + 50) == 50
    assert b.key_seqs(A, last + 1, last) == [seq for seq in a_seqs if first + 50 <= seq < cut]
    indexed(b, cut, cut + 5, lambda seq: B)                         # seqs that were indexed come again
    b.close()
    b = open_backend(kind, path)
    assert b.key_seqs(B, cut + 6, 3) == [cut + 5, cut + 4, cut + 3]
    indexed(b, cut + 6, cut + INDEX_CHUNK, lambda seq: B)           # the tail moves again
    assert len(b._index_tail()) == 0
    assert b.key_seqs(B, cut + 1, 3) == [cut] + [seq for seq in range(cut - 1, first, -1) if seq % 3 == 0][:2]
    b.close()


def test_memory_backend_failure_discards_batch():
    b = open_backend("memory", "")
    b.fail_next_commit = True
    b.append([(1, record(1))])
    with pytest.raises(LogUnavailable):
        b.commit(sync=True)
    assert b.last_seq == 0


def test_sqlite_full_database_is_log_unavailable(tmp_path):
    """A real SQLITE_FULL (max_page_count caps the file): the batch is refused and discarded,
    and the log takes writes again once there is room."""
    b = open_backend("sqlite", str(tmp_path / "data"))
    commit_records(b, 1, 10)
    pages = b.db.execute("PRAGMA page_count").fetchone()[0]
    b.db.execute(f"PRAGMA max_page_count={pages}")
    b.append([(seq, record(seq, b"x" * 10000)) for seq in range(11, 20)])
    with pytest.raises(LogUnavailable, match="full"):
        b.commit(sync=True)
    assert (b.last_seq, seqs(b)) == (10, list(range(1, 11)))
    b.db.execute(f"PRAGMA max_page_count={pages * 100}")
    commit_records(b, 11, 12, sync=True)
    assert b.last_seq == 12
    b.close()


# -- snapshots ---------------------------------------------------------------------------------
def test_snapshot_write_list_read_replace_delete(backend):
    assert backend.snapshots() == []
    before = int(time.time() * 1000)
    ten = backend.write_snapshot(10, 1010, [b"one", b"", b"three"])
    assert ten[:4] == (10, 1010, 8, 3) and ten.created >= before
    five = backend.write_snapshot(5, 1005, iter([b"x" * 300_000]))
    assert backend.snapshots() == [five, ten]
    assert list(backend.read_snapshot(10)) == [b"one", b"", b"three"]
    assert list(backend.read_snapshot(5)) == [b"x" * 300_000]
    with pytest.raises(KeyError):
        list(backend.read_snapshot(7))

    replaced = backend.write_snapshot(10, 1010, [b"replaced"])
    assert backend.snapshots() == [five, replaced]
    assert list(backend.read_snapshot(10)) == [b"replaced"]
    assert stored_chunks(backend) == {(5, 0), (10, 0)}

    backend.delete_snapshot(5)
    assert backend.snapshots() == [replaced]
    with pytest.raises(KeyError):
        list(backend.read_snapshot(5))
    assert stored_chunks(backend) == {(10, 0)}


def test_a_failed_snapshot_is_invisible_and_cleaned_up_by_the_next_write(backend):
    def chunks():
        yield b"part"
        raise RuntimeError("the builder failed")

    kept = backend.write_snapshot(3, 1003, [b"kept"])
    with pytest.raises(RuntimeError):
        backend.write_snapshot(5, 1005, chunks())
    assert backend.snapshots() == [kept]
    with pytest.raises(KeyError):
        list(backend.read_snapshot(5))
    assert stored_chunks(backend) == {(3, 0), (5, 0)}
    backend.write_snapshot(7, 1007, [b"next"])
    assert stored_chunks(backend) == {(3, 0), (7, 0)}


# -- metadata and the directory ----------------------------------------------------------------
def test_meta_round_trip(backend):
    assert backend.get_meta("log_id") is None
    assert backend.meta_items() == {}
    backend.set_meta("log_id", b"abc")
    backend.set_meta("format_version", b"1")
    backend.set_meta("log_id", b"def")
    assert backend.get_meta("log_id") == b"def"
    assert backend.meta_items() == {"log_id": b"def", "format_version": b"1"}


def test_disk_usage_grows_with_data(backend):
    empty = backend.disk_usage()
    assert empty.snapshots == 0
    backend.append([(seq, record(seq, b"k" * 1000)) for seq in range(1, 1001)])
    backend.commit(sync=True)
    logged = backend.disk_usage()
    assert logged.log > empty.log + 1_000_000 and logged.total > empty.total
    backend.write_snapshot(1000, 2000, [b"s" * 100_000] * 3)
    snapped = backend.disk_usage()
    assert snapped.snapshots == 300_000 and snapped.total > logged.total
    assert snapped.total >= snapped.log + snapped.snapshots


def test_backup_opens_as_an_equal_store(backend, tmp_path):
    commit_records(backend, 1, 100)
    backend.truncate_before(40)
    backend.set_meta("log_id", b"abc")
    backend.write_snapshot(50, 1050, [b"a", b"b"])
    dest = str(tmp_path / "copy")
    backend.backup(dest)
    commit_records(backend, 101, 110)   # after the backup: not in it
    copy = open_backend(backend.kind, dest)
    try:
        assert (copy.first_seq, copy.last_seq) == (40, 100)
        assert list(copy.read(1)) == list(backend.read(1, 100))
        assert copy.meta_items() == {"log_id": b"abc"}
        assert copy.snapshots() == backend.snapshots()
        assert list(copy.read_snapshot(50)) == [b"a", b"b"]
    finally:
        copy.close()


def test_detect_backend(backend, tmp_path):
    assert detect_backend(str(tmp_path / "missing")) is None
    (tmp_path / "empty").mkdir()
    assert detect_backend(str(tmp_path / "empty")) is None
    assert detect_backend(str(tmp_path / "data")) == (None if backend.kind == "memory" else backend.kind)


@pytest.mark.parametrize("kind, other", [("lmdb", "sqlite"), ("sqlite", "lmdb")])
def test_a_store_of_the_other_kind_is_refused(kind, other, tmp_path):
    path = str(tmp_path / "data")
    open_backend(kind, path).close()
    with pytest.raises(LogUnavailable, match=f"holds a {kind} store"):
        open_backend(other, path)
    assert detect_backend(path) == kind


# -- durable backends: reopen, other processes, kill -9 ----------------------------------------
@pytest.mark.parametrize("kind", DURABLE)
def test_reopen_keeps_everything(kind, tmp_path):
    path = str(tmp_path / "data")
    b = open_backend(kind, path)
    commit_records(b, 1, 2, sync=True)
    commit_records(b, 3, 5, sync=False)
    b.truncate_before(2)
    b.set_meta("log_id", b"abc")
    info = b.write_snapshot(4, 1004, [b"chunk"])
    b.close()
    b = open_backend(kind, path)
    try:
        assert (b.first_seq, b.last_seq) == (2, 5)
        assert [events.decode(s, r).argv[2] for s, r in b.read(1)] == [b"2", b"3", b"4", b"5"]
        assert b.meta_items() == {"log_id": b"abc"}
        assert b.snapshots() == [info]
        assert list(b.read_snapshot(4)) == [b"chunk"]
    finally:
        b.close()


def test_sqlite_records_its_schema_version_and_refuses_a_newer_one(tmp_path):
    path = str(tmp_path / "data")
    open_backend("sqlite", path).close()
    db = sqlite3.connect(str(tmp_path / "data" / FILE))
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(LogUnavailable, match=f"schema version {SCHEMA_VERSION + 1}"):
        open_backend("sqlite", path)


@pytest.mark.parametrize("kind", DURABLE)
def test_another_process_snapshots_and_truncates_while_this_one_appends(kind, tmp_path):
    path = str(tmp_path / "data")
    b = open_backend(kind, path)
    try:
        commit_records(b, 1, 12000)
        assert (b.first_seq, b.snapshots()) == (1, [])
        builder = python_process(kind, path, """
b.write_snapshot(10000, 7, (bytes([n]) * 200_000 for n in range(20)))
dropped = b.truncate_before(10000)
print(repr((dropped, b.first_seq, [tuple(info) for info in b.snapshots()])))
""")
        seq = 12000
        while builder.poll() is None:
            seq += 1
            commit_records(b, seq, seq, sync=seq % 2 == 0)
        out, _ = builder.communicate()
        assert builder.returncode == 0
        dropped, first_seq, snapshots = ast.literal_eval(out)
        assert seq > 12000   # appends and commits went on while the builder ran
        assert dropped == 9999 and first_seq == b.first_seq == 10000
        assert [tuple(info) for info in b.snapshots()] == snapshots
        assert snapshots[0][:4] == (10000, 7, 4_000_000, 20)
        assert b"".join(b.read_snapshot(10000)) == b"".join(bytes([n]) * 200_000 for n in range(20))
        assert b.last_seq == seq and seqs(b) == list(range(10000, seq + 1))
    finally:
        b.close()


@pytest.mark.parametrize("kind", DURABLE)
def test_kill_during_write_snapshot_leaves_the_previous_snapshot(kind, tmp_path):
    path = str(tmp_path / "data")
    b = open_backend(kind, path)
    try:
        commit_records(b, 1, 3)
        previous = b.write_snapshot(2, 1002, [b"old-1", b"old-2"])
        writer = python_process(kind, path, """
def chunks():
    yield b"new" * 100_000
    print("chunk 0 committed", flush=True)
    time.sleep(60)   # killed here
    yield b"never"
b.write_snapshot(3, 1003, chunks())
""")
        try:
            assert writer.stdout.readline() == "chunk 0 committed\n"
        finally:
            writer.kill()
            writer.wait()
        assert (3, 0) in stored_chunks(b)   # the killed writer got that far, unseen
        assert b.snapshots() == [previous]
        assert list(b.read_snapshot(2)) == [b"old-1", b"old-2"]
        with pytest.raises(KeyError):
            list(b.read_snapshot(3))
        b.write_snapshot(3, 1003, [b"new"])
        assert stored_chunks(b) == {(2, 0), (2, 1), (3, 0)}
        commit_records(b, 4, 4, sync=True)   # the killed process left no lock behind
        assert b.last_seq == 4
    finally:
        b.close()
