"""MULTI / EXEC / DISCARD against real Redis (WATCH arrives with the transactions issue)."""
import pytest

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
