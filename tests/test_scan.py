"""SCAN: its order is Redis's hash-table order, so the tests check Redis's guarantees instead
(every key present for the whole iteration is returned; a deleted one is not returned after
its deletion), the options, and the error texts byte for byte."""
import random

from engine.scan import Cursors


def full_scan(client, **options):
    cursor, seen = 0, []
    while True:
        cursor, keys = client.scan(cursor, **options)
        seen += keys
        if cursor == 0:
            return seen


def test_full_iteration_returns_every_key_once(r):
    r.mset({f"key:{i}": i for i in range(2000)})
    seen = full_scan(r, count=37)
    assert len(seen) == 2000 and set(seen) == {f"key:{i}".encode() for i in range(2000)}


def test_keys_present_throughout_are_returned_under_concurrent_writes(r):
    stable = {f"stable:{i}".encode() for i in range(1000)}
    r.mset({k: 1 for k in stable})
    r.mset({f"doomed:{i}": 1 for i in range(500)})
    cursor, seen, step = 0, set(), 0
    while True:
        cursor, keys = r.scan(cursor, count=50)
        seen.update(keys)
        step += 1
        r.set(f"new:{step}", 1)                     # added meanwhile: may or may not appear
        r.delete(f"doomed:{step}")                  # deleted before it may have been visited
        if cursor == 0:
            break
    assert stable <= seen
    deleted_early = {f"doomed:{i}".encode() for i in range(1, 3)}
    assert not (deleted_early & seen)               # gone before the scan could reach them


def test_match_type_and_count(r):
    r.mset({"user:1": 1, "user:2": 2, "item:1": 3})
    r.setbit("user:bits", 1, 1)
    assert sorted(full_scan(r, match="user:*")) == [b"user:1", b"user:2", b"user:bits"]
    assert sorted(full_scan(r, match="user:?")) == [b"user:1", b"user:2"]
    assert sorted(full_scan(r, _type="string", match="item*")) == [b"item:1"]
    assert full_scan(r, _type="list") == []
    assert r.scan(0, match="item:1") == (0, [b"item:1"])   # a literal pattern is one lookup


def test_expired_keys_are_not_returned(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("gone", 1, px=1)
        r.set("here", 1)
        import time
        time.sleep(0.05)
        assert full_scan(r) == [b"here"]
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_scan_errors_like_redis(diff):
    diff.run(["SCAN", "SCAN x", "SCAN -1", "SCAN 0 COUNT 0", "SCAN 0 COUNT x", "SCAN 0 MATCH",
              "SCAN 0 FOO bar", "SCAN 18446744073709551616", "SCAN 0 COUNT -1"])


def test_cursor_table_resumes_after_eviction():
    """A cursor whose snapshot was evicted continues on a fresh one, after the last key seen."""
    cursors = Cursors(max_snapshots=1)
    data = {f"k{i}".encode(): 1 for i in range(100)}
    owner = object()
    cursor, seen = cursors.page(owner, data, 0, 10)
    cursors.page(object(), {b"x": 1, b"y": 2}, 0, 1)       # evicts our snapshot
    while cursor:
        cursor, keys = cursors.page(owner, data, cursor, 10)
        seen += keys
    assert sorted(seen) == sorted(data) and len(seen) == len(data)


def test_cursor_table_stays_bounded():
    cursors = Cursors(max_snapshots=8, max_keys=1000)
    for _ in range(100):
        data = {random.randbytes(8): 1 for _ in range(300)}
        cursors.page(object(), data, 0, 10)
    assert len(cursors.snapshots) <= 8 and cursors.total_keys <= 1000
