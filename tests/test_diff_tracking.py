"""Client-side caching (CLIENT TRACKING) against real Redis: the same steps on both servers,
with the tracking client's invalidation messages compared byte for byte."""
import pytest

from tests.conftest import run_steps

CASES = {
    "resp3-default-mode": [
        "~A: HELLO 3", "A: CLIENT TRACKING on", "A: GET k", "B: SET k 1", "A<", "B: SET k 2",
        "A: MGET k x", "B: SET x 1", "A<", "A: GET k", "B: INCR k", "A<", "A: CLIENT GETREDIR",
        "A: CLIENT TRACKINGINFO", "A: CLIENT TRACKING off", "B: SET k 3", "A: PING"],
    "own-writes-invalidate-unless-noloop": [
        "~A: HELLO 3", "A: CLIENT TRACKING on", "A: GET k", "A: SET k 1", "A<",
        "A: CLIENT TRACKING on NOLOOP", "A: GET k", "A: SET k 2", "A: PING", "B: SET k 3",
        "A: GET k", "B: SET k 4", "A<", "A: CLIENT TRACKINGINFO"],
    "expiry-and-flush-invalidate": [
        # Only lazy expiry: the steps alternate between the servers, so an active cycle would
        # run at different points of the sequence on each.
        "~A: HELLO 3", "A: CLIENT TRACKING on", "A: DEBUG SET-ACTIVE-EXPIRE 0", "B: SET e v PX 100",
        "A: GET e", "A: DEBUG SLEEP 0.2", "A: GET e", "A<", "A: GET k", "B: FLUSHALL", "A<", "A: PING",
        "A: DEBUG SET-ACTIVE-EXPIRE 1"],
    "optin": [
        "~A: HELLO 3", "A: CLIENT TRACKING on OPTIN", "A: GET k", "B: SET k 1", "A: CLIENT CACHING yes",
        "A: CLIENT TRACKINGINFO", "A: GET k", "B: SET k 2", "A<", "A: CLIENT CACHING yes", "A: PING",
        "A: GET k", "B: SET k 3", "A: CLIENT CACHING no", "A: PING"],
    "optout": [
        "~A: HELLO 3", "A: CLIENT TRACKING on OPTOUT", "A: CLIENT CACHING no", "A: GET k",
        "B: SET k 1", "A: GET k", "B: SET k 2", "A<", "A: CLIENT CACHING yes", "A: CLIENT TRACKINGINFO"],
    "bcast-prefixes": [
        "~A: HELLO 3", "A: CLIENT TRACKING on BCAST PREFIX user: PREFIX item:", "B: SET user:1 a", "A<",
        "B: SET other b", "B: HSET item:9 f v", "A<", "A: CLIENT TRACKINGINFO",
        "A: CLIENT TRACKING on BCAST PREFIX user:x", "A: CLIENT TRACKING on BCAST PREFIX cart:",
        "A: CLIENT TRACKINGINFO", "A: CLIENT TRACKING on", "A: CLIENT TRACKING off",
        "A: CLIENT TRACKING on BCAST", "B: SET anything 1", "A<", "A: CLIENT TRACKINGINFO"],
    "bcast-one-message-per-prefix-per-pass": [
        "~A: HELLO 3", "A: CLIENT TRACKING on BCAST PREFIX k PREFIX x", "B: MSET k3 1 k1 2 x9 3 k2 4",
        "A<", "A<", "A: CLIENT TRACKING on BCAST NOLOOP", "A: MSET k5 1 k4 1", "B: MSET k5 2 k6 2", "A<"],
    "option-errors": [
        "A: CLIENT TRACKING", "A: CLIENT TRACKING maybe", "A: CLIENT TRACKING on nosuch",
        "A: CLIENT TRACKING on REDIRECT x", "A: CLIENT TRACKING on REDIRECT 987654",
        "A: CLIENT TRACKING on PREFIX a", "A: CLIENT TRACKING on BCAST OPTIN",
        "A: CLIENT TRACKING on OPTIN OPTOUT", "A: CLIENT TRACKING on BCAST PREFIX a PREFIX ab",
        "A: CLIENT TRACKING on BCAST PREFIX ab PREFIX a", "A: CLIENT CACHING yes", "A: CLIENT CACHING maybe",
        "A: CLIENT TRACKING on OPTIN", "A: CLIENT CACHING no", "A: CLIENT CACHING maybe",
        "A: CLIENT TRACKING on OPTOUT", "A: CLIENT TRACKING on BCAST", "A: CLIENT TRACKING off",
        "A: CLIENT GETREDIR", "A: CLIENT TRACKINGINFO", "A: CLIENT CACHING", "A: CLIENT GETREDIR x"],
}


@pytest.mark.parametrize("name", CASES)
def test_same_messages_as_redis(both, name):
    run_steps(both, CASES[name])


def test_resp2_redirect_to_a_subscriber(both):
    """RESP2 has no pushes: invalidations go to the REDIRECT client's `__redis__:invalidate`
    subscription. Client ids differ between the servers: each redirects to its own listener."""
    transcripts = []
    for sessions in both:
        listener, tracker, writer = sessions["R"], sessions["A"], sessions["B"]
        ident = listener.call("CLIENT", "ID")[1:-2].decode()
        transcript = [listener.call("SUBSCRIBE", "__redis__:invalidate"),
                      tracker.call("CLIENT", "TRACKING", "on", "REDIRECT", ident),
                      tracker.call("CLIENT", "GETREDIR") == b":%s\r\n" % ident.encode(),
                      tracker.call("GET", "k"), writer.call("SET", "k", "1"), listener.read_reply(),
                      tracker.call("GET", "k"), writer.call("FLUSHALL"), listener.read_reply()]
        listener.close()
        sessions.clients.pop("R")
        transcript += [tracker.call("GET", "k"), writer.call("SET", "k", "2"), tracker.call("PING")]
        transcripts.append(transcript)
    assert transcripts[1] == transcripts[0]
