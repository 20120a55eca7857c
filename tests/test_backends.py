"""The backend contract, one suite run against every backend."""
import pytest

from backends import open_backend
from backends.base import LogUnavailable
from engine import events


@pytest.fixture(params=["memory", "lmdb"])
def backend(request, tmp_path):
    b = open_backend(request.param, str(tmp_path / "data"))
    yield b
    b.close()


def record(seq, key=b"k"):
    return events.encode(seq, 1000 + seq, 0, events.ORIGIN_INTERNAL, [b"SET", key, b"%d" % seq])


def test_empty_log_has_no_bounds(backend):
    assert (backend.first_seq, backend.last_seq) == (0, 0)
    assert list(backend.read(1)) == []


def test_append_is_invisible_until_commit(backend):
    backend.append([(1, record(1)), (2, record(2))])
    assert backend.last_seq == 0
    backend.commit(sync=True)
    assert (backend.first_seq, backend.last_seq) == (1, 2)
    assert [seq for seq, _ in backend.read(1)] == [1, 2]


def test_abort_discards_the_staged_batch(backend):
    backend.append([(1, record(1))])
    backend.abort()
    backend.commit(sync=False)
    assert backend.last_seq == 0
    assert list(backend.read(1)) == []


def test_read_ranges(backend):
    for start in (1, 4, 7):
        backend.append([(s, record(s)) for s in range(start, start + 3)])
        backend.commit(sync=False)
    assert [s for s, _ in backend.read(4)] == list(range(4, 10))
    assert [s for s, _ in backend.read(2, 5)] == [2, 3, 4, 5]
    assert [s for s, _ in backend.read(10)] == []
    seq, raw = next(iter(backend.read(5)))
    assert events.decode(seq, raw).argv == [b"SET", b"k", b"5"]


def test_meta_round_trip(backend):
    assert backend.get_meta("log_id") is None
    backend.set_meta("log_id", b"abc")
    assert backend.get_meta("log_id") == b"abc"


def test_lmdb_survives_reopen(tmp_path):
    path = str(tmp_path / "data")
    b = open_backend("lmdb", path)
    b.append([(1, record(1)), (2, record(2))])
    b.commit(sync=True)
    b.close()
    b = open_backend("lmdb", path)
    assert (b.first_seq, b.last_seq) == (1, 2)
    assert [events.decode(s, r).argv[2] for s, r in b.read(1)] == [b"1", b"2"]
    b.close()


def test_memory_backend_failure_discards_batch():
    b = open_backend("memory", "")
    b.fail_next_commit = True
    b.append([(1, record(1))])
    with pytest.raises(LogUnavailable):
        b.commit(sync=True)
    assert b.last_seq == 0


def test_scan_matches_read(backend):
    backend.append([(seq, record(seq)) for seq in range(1, 6)])
    backend.commit(sync=False)
    for bounds in ((1, None), (2, 4), (5, 5), (6, None)):
        scanned = [(int.from_bytes(bytes(key), "big"), bytes(rec)) for key, rec in backend.scan(*bounds)]
        assert scanned == list(backend.read(*bounds))
