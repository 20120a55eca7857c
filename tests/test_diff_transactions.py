"""MULTI / EXEC / DISCARD / WATCH / UNWATCH against real Redis."""
import pytest

from tests.conftest import run_steps
from tests.test_diff_strings import run_case

CASES = {
    "exec-runs-queued": ["MULTI", "SET a 1", "INCR a", "GET a", "EXEC", "GET a"],
    "errors-at-run-time-stay-in-the-reply": ["SET s x", "MULTI", "INCR s", "SET t 2", "EXEC", "GET t"],
    "queueing-error-aborts": ["MULTI", "SET a 1", "NOSUCH", "SET b 2", "EXEC", "EXISTS a b"],
    "arity-error-aborts": ["MULTI", "SET a", "EXEC", "EXISTS a"],
    "discard": ["MULTI", "SET a 1", "DISCARD", "EXISTS a", "DISCARD", "EXEC"],
    "nested-multi": ["MULTI", "MULTI", "SET a 1", "EXEC", "GET a"],
    "empty": ["MULTI", "EXEC"],
    "exec-arity": ["MULTI", "SET a 1", "EXEC x", "EXEC", "EXISTS a", "EXEC x"],
    "select-inside": ["MULTI", "SELECT 1", "SET a 1", "EXEC", "GET a", "SELECT 0", "GET a"],
}


@pytest.mark.parametrize("name", CASES)
def test_same_replies_as_redis(diff, name):
    for case in CASES[name]:
        run_case(diff, case)
    diff.both("SELECT", "0")


def test_exec_events_replay_to_the_same_state(shared_redwood):
    client = shared_redwood.client()
    client.flushall()
    with client.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").incrby("a", 5).set("b", "x").append("b", "y")
        assert pipe.execute() == [True, 6, True, 2]
    assert client.execute_command("DEBUG", "RELOAD") == b"OK"
    assert client.mget("a", "b") == [b"6", b"xy"]


# WATCH: steps on several connections (A watches, B writes), on both servers.
WATCH_CASES = {
    "unchanged-key-execs": ["A: SET k 1", "A: WATCH k", "A: MULTI", "A: INCR k", "A: EXEC"],
    "other-client-write-fails-exec": ["A: SET k 1", "A: WATCH k", "B: SET k 2", "A: MULTI",
                                      "A: INCR k", "A: EXEC", "A: GET k"],
    "write-after-multi-fails-exec": ["A: WATCH k", "A: MULTI", "A: SET k a", "B: LPUSH k x",
                                     "A: EXEC", "A: TYPE k"],
    "own-write-before-multi-fails": ["A: WATCH k", "A: SET k 1", "A: MULTI", "A: GET k", "A: EXEC"],
    "no-op-write-does-not-touch": ["A: SET k 1", "A: WATCH k", "B: SETNX k 2", "B: DEL nosuch",
                                   "B: SREM nosuch x", "A: MULTI", "A: GET k", "A: EXEC"],
    "other-key-does-not-touch": ["A: WATCH k", "B: SET other 1", "A: MULTI", "A: SET k 1", "A: EXEC"],
    "other-db-does-not-touch": ["A: WATCH k", "B: SELECT 1", "B: SET k 1", "A: MULTI", "A: EXEC"],
    "watch-in-other-db": ["A: SELECT 2", "A: WATCH k", "B: SELECT 2", "B: SET k 1", "A: MULTI",
                          "A: EXEC", "A: SELECT 0"],
    "unwatch-forgets": ["A: WATCH k", "B: SET k 1", "A: UNWATCH", "A: MULTI", "A: GET k", "A: EXEC"],
    "exec-unwatches": ["A: WATCH k", "A: MULTI", "A: EXEC", "B: SET k 1", "A: MULTI", "A: EXEC"],
    "discard-unwatches": ["A: WATCH k", "A: MULTI", "A: DISCARD", "B: SET k 1", "A: MULTI", "A: EXEC"],
    "watch-inside-multi": ["A: MULTI", "A: WATCH k", "A: SET k 1", "A: EXEC", "A: GET k"],
    "watch-arity": ["A: WATCH", "A: UNWATCH x"],
    "unwatch-inside-multi-is-queued": ["A: WATCH k", "A: MULTI", "A: UNWATCH", "B: SET k 1",
                                       "A: EXEC"],
    "many-keys-one-touched": ["A: WATCH a b c", "B: HSET b f v", "A: MULTI", "A: SET a 1",
                              "A: EXEC", "A: EXISTS a"],
    "delete-touches": ["A: SET k 1", "A: WATCH k", "B: DEL k", "A: MULTI", "A: EXEC"],
    "expire-touches": ["A: SET k 1", "A: WATCH k", "B: EXPIRE k 100", "A: MULTI", "A: EXEC"],
    "rename-touches-both": ["A: SET s 1", "A: WATCH d", "B: RENAME s d", "A: MULTI", "A: EXEC"],
    "flushdb-touches-existing": ["A: SET k 1", "A: WATCH k", "B: FLUSHDB", "A: MULTI", "A: EXEC"],
    "flushall-leaves-missing": ["A: WATCH k", "B: SET x 1", "B: FLUSHALL", "A: MULTI", "A: EXEC"],
    "swapdb-brings-key": ["A: WATCH k", "B: SELECT 1", "B: SET k 1", "B: SWAPDB 0 1",
                          "A: MULTI", "A: EXEC", "B: FLUSHALL"],
    "swapdb-takes-key": ["A: SET k 1", "A: WATCH k", "B: SWAPDB 0 3", "A: MULTI", "A: EXEC",
                         "B: FLUSHALL"],
    "blocked-pop-served-touches": ["A: WATCH l", "C> BLPOP l 0", "B: RPUSH l x", "C<", "A: MULTI",
                                   "A: EXEC"],
    "expired-since-watch": ["A: SET k 1 PX 300", "A: WATCH k", "A: DEBUG SLEEP 0.4", "A: MULTI",
                            "A: EXEC"],
    "expired-before-watch-then-deleted": ["A: SET k 1 PX 10", "A: DEBUG SLEEP 0.03",
                                          "A: DEBUG SET-ACTIVE-EXPIRE 0", "A: WATCH k",
                                          "B: EXISTS k", "A: MULTI", "A: EXEC",
                                          "A: DEBUG SET-ACTIVE-EXPIRE 1"],
    "reset-unwatches": ["A: WATCH k", "A: RESET", "B: SET k 1", "A: MULTI", "A: EXEC"],
    "execabort-still-unwatches": ["A: WATCH k", "A: MULTI", "A: NOSUCH", "A: EXEC", "B: SET k 1",
                                  "A: MULTI", "A: EXEC"],
}


@pytest.mark.parametrize("name", WATCH_CASES)
def test_watch_same_replies_as_redis(both, name):
    run_steps(both, WATCH_CASES[name])
