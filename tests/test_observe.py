"""SLOWLOG, LATENCY, MONITOR, WAIT and the CLIENT surface (LIST/INFO fields, REPLY, PAUSE,
NO-EVICT, HELP) against real Redis: the same commands on both servers, the same bytes wherever
the output is deterministic (ids, addresses, times and durations aside)."""
import re
import time


from tests.conftest import run_steps
from tests.servers import RawClient, encode_command, parse_reply


def for_both(both, *argv):
    """The same command on the `setup` connection of each server; both replies."""
    return [sessions["setup"].call(*argv) for sessions in both]


# -- SLOWLOG -------------------------------------------------------------------------
LONG_KEY = b"k" * 200
SLOW_COMMANDS = [
    ("CLIENT", "SETNAME", "observer"),
    ("SET", LONG_KEY, b"v\x00\xff"),
    ("RPUSH", "l", *map(str, range(40))),       # 42 arguments: 31 kept, then "... (11 more arguments)"
    ("RPUSH", "l", *map(str, range(31))),       # 33 arguments: just over the limit
    ("RPUSH", "l", *map(str, range(30))),       # 32 arguments: all kept
    ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("EXEC",),    # EXEC itself is never logged
    ("EXEC",), ("NOSUCH", "x"), ("GET",),        # refused before running: not logged
    ("SELECT", "0"),
]


def _slow_entries(sessions):
    client = sessions["slow"]
    for argv in SLOW_COMMANDS:
        client.call(*argv)
    return parse_reply(client.call("SLOWLOG", "GET", "-1"))


def test_slowlog_entries_as_redis_logs_them(both):
    for_both(both, "CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        for_both(both, "SLOWLOG", "RESET")
        expected, actual = (_slow_entries(sessions) for sessions in both)
    finally:
        for_both(both, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
    # The newest first; ids count down by one; argv, client address and name as Redis has them.
    assert [entry[3] for entry in actual] == [entry[3] for entry in expected]
    assert [entry[5] for entry in actual] == [entry[5] for entry in expected]
    for entries in (expected, actual):
        assert [e[0] for e in entries] == list(range(entries[0][0], entries[0][0] - len(entries), -1))
    assert {entry[4] for entry in actual[:-1]} == {_addr(both[1]["slow"])}      # the last is the SLOWLOG RESET
    assert actual[-3][3][1] == LONG_KEY[:128] + b"... (72 more bytes)"
    assert actual[6][3][-1] == b"... (11 more arguments)"
    assert all(isinstance(e[1], int) and isinstance(e[2], int) for e in actual)


def test_slowlog_length_limit_threshold_and_errors(both):
    for_both(both, "CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        run_steps(both, [
            "A: SLOWLOG RESET", "A: SET a 1", "A: GET a", "A: SET b 2", "A: SLOWLOG LEN",
            "A: CONFIG SET slowlog-max-len 2", "A: SLOWLOG LEN", "A: CONFIG SET slowlog-max-len 128",
            "A: SLOWLOG GET 0", "A: CONFIG SET slowlog-log-slower-than -1", "A: SLOWLOG RESET",
            "A: GET a", "A: SLOWLOG LEN", "A: SLOWLOG GET", "%A: CONFIG GET slowlog*",
            "A: CONFIG SET slowlog-log-slower-than -2", "A: CONFIG SET slowlog-max-len -1",
            "A: SLOWLOG GET x", "A: SLOWLOG GET -2", "A: SLOWLOG GET 1 2", "A: SLOWLOG LEN x",
            "A: SLOWLOG RESET x", "A: SLOWLOG NOSUCH", "A: SLOWLOG HELP"])
    finally:
        for_both(both, "CONFIG", "SET", "slowlog-log-slower-than", "10000")
        for_both(both, "CONFIG", "SET", "slowlog-max-len", "128")


# -- LATENCY -------------------------------------------------------------------------
def test_latency_monitor_records_slow_commands(both):
    """DEBUG SLEEP 0.02 takes at least 20 ms: over a 5 ms threshold on both servers."""
    for_both(both, "LATENCY", "RESET")
    for_both(both, "CONFIG", "SET", "latency-monitor-threshold", "5")
    try:
        for_both(both, "DEBUG", "SLEEP", "0.02")
        for_both(both, "GET", "x")
        replies = [[parse_reply(sessions["setup"].call("LATENCY", *argv)) for sessions in both]
                   for argv in (("LATEST",), ("HISTORY", "command"))]
    finally:
        for_both(both, "CONFIG", "SET", "latency-monitor-threshold", "0")
    for latest in replies[0]:
        [[event, when, last, highest]] = latest
        assert event == b"command" and when > 0 and 20 <= last <= highest
    for history in replies[1]:
        [[when, ms]] = history
        assert when > 0 and ms >= 20
    run_steps(both, ["A: LATENCY HISTORY nosuch", "A: LATENCY RESET nosuch command",
                     "A: LATENCY LATEST", "A: LATENCY RESET", "A: LATENCY HISTORY",
                     "A: LATENCY LATEST x", "A: LATENCY HELP", "A: LATENCY NOSUCH",
                     "A: CONFIG SET latency-monitor-threshold -1",
                     "A: CONFIG GET latency-monitor-threshold"])


# -- MONITOR -------------------------------------------------------------------------
MONITORED = [
    ("SET", "k", b"a\nb\r\t\x07\x08\"\\\x00\xff\x7f \xc3\xa9 '"),
    ("GET", "k"), ("SELECT", "3"), ("SET", "x", "1"), ("SELECT", "0"),
    ("CLIENT", "SETNAME", "n2"), ("CLIENT", "ID"), ("CLIENT", "LIST"), ("CONFIG", "GET", "port"),
    ("SLOWLOG", "LEN"), ("MULTI",), ("SET", "a", "b"), ("INCR", "c"), ("EXEC",), ("PING",),
    ("NOSUCH", "a"), ("GET",), ("WAIT", "0", "0"), ("RPUSH", "list", "v"), ("BLPOP", "list", "1"),
    ("ECHO", "done"),
]
LINE = re.compile(rb"^\+(\d+)\.(\d{6}) \[(\d+) ([^\]]+)\] (.*)\r\n$", re.DOTALL)


def _monitored(sessions):
    watcher, client = sessions["monitor"], sessions["client"]
    assert watcher.call("MONITOR") == b"+OK\r\n"
    addr = _addr(client)
    for argv in MONITORED:
        client.call(*argv)
    lines = []
    while not lines or not lines[-1].endswith(b'"ECHO" "done"\r\n'):
        lines.append(watcher.read_reply())
    shown = []
    for line in lines:
        _, _, db, who, text = LINE.match(line).groups()
        shown.append((db, who == addr, text))
    return shown


def test_monitor_prints_commands_as_redis(both):
    expected, actual = (_monitored(sessions) for sessions in both)
    assert actual == expected
    assert (b"0", True, rb'"SET" "k" "a\nb\r\t\a\b\"\\\x00\xff\x7f \xc3\xa9 ' + b"'\"") in actual


def test_monitor_own_commands_and_refusals(both):
    ids = [_id(sessions["A"]) for sessions in both]
    run_steps(both, [
        "A: MULTI", "A: MONITOR", "A: EXEC",
        "A: MONITOR", "A: GET k", "A: SET k v", "A: PUBLISH ch m", "A: DBSIZE", "A: CLIENT ID x"])
    transcripts = []
    for sessions, watcher_id in zip(both, ids):
        watcher, transcript = sessions["A"], []
        assert b" flags=O " in sessions["B"].call("CLIENT", "LIST", "ID", watcher_id)
        for argv in (("MONITOR",), ("CLIENT", "REPLY", "OFF"), ("PING",), ("CLIENT", "REPLY", "ON")):
            watcher.send_raw(encode_command(argv))      # the second MONITOR says nothing
        transcript += [watcher.read_reply(), watcher.read_reply()]
        transcript += [watcher.call("ECHO", "x"), watcher.read_reply()]     # after its own reply
        transcript += [watcher.call("QUIT"), watcher.read_until_closed()]   # nothing follows QUIT
        transcripts.append([LINE.sub(rb"\5", line) for line in transcript])
    assert transcripts[1] == transcripts[0]
    assert transcripts[1][1] == b'"CLIENT" "REPLY" "ON"' and transcripts[1][-1] == b""


def _id(client: RawClient) -> bytes:
    return client.call("CLIENT", "ID")[1:-2]


def _addr(client: RawClient) -> bytes:
    """The client's address as the server sees it (CLIENT INFO's second field)."""
    return client.call("CLIENT", "INFO").split(b" ")[1][len(b"addr="):]


# -- WAIT ----------------------------------------------------------------------------
def test_wait_without_replicas(both):
    waiting = [_id(sessions["A"]) for sessions in both]
    run_steps(both, [
        "A: WAIT 0 0", "A: WAIT -1 0", "A: WAIT 1 20", "A: WAIT x 0", "A: WAIT 1 x", "A: WAIT 1 -1",
        "A: WAIT 1 1.5", "A: WAIT 99999999999999999999 1", "A: MULTI", "A: WAIT 1 0", "A: EXEC",
        "A> WAIT 1 0"])
    for sessions, client_id in zip(both, waiting):      # WAIT 1 0 waits for good
        poll(lambda b=sessions["B"], held=client_id: b" flags=b " in b.call("CLIENT", "LIST", "ID", held))


def poll(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# -- CLIENT --------------------------------------------------------------------------
VARYING = {b"id", b"addr", b"laddr", b"fd", b"age", b"idle", b"qbuf", b"qbuf-free", b"argv-mem",
           b"multi-mem", b"rbs", b"rbp", b"obl", b"oll", b"omem", b"tot-mem"}


def _text(raw: bytes) -> bytes:
    """The text of a bulk or verbatim (RESP3 `=`, `txt:` format) string reply."""
    body = raw.split(b"\r\n", 1)[1][:-2]
    return body[4:] if raw[:1] == b"=" else body


def _fields(raw: bytes) -> list:
    """CLIENT LIST / INFO fields in order, the values that differ between servers left out."""
    pairs = [field.split(b"=", 1) for field in _text(raw).strip().split(b" ")]
    return [(name, None if name in VARYING else value) for name, value in pairs]


def test_client_list_and_info_fields_as_redis(both):
    seen = []
    for sessions in both:
        a, b, c = sessions["A"], sessions["B"], sessions["C"]
        a.call("HELLO", "3")
        a.call("CLIENT", "SETNAME", "subscriber")
        a.call("SELECT", "2")
        a.call("SUBSCRIBE", "x", "y")
        a.read_reply()
        a.call("PSUBSCRIBE", "p*")
        a.call("SSUBSCRIBE", "s")
        a.call("CLIENT", "NO-EVICT", "on")
        subscriber, queuing = _id(a), _id(b)
        b.call("MULTI")
        b.call("GET", "k")
        b.call("PING")
        assert b" flags=x db=0 sub=0 psub=0 ssub=0 multi=2 " in c.call("CLIENT", "LIST", "ID", queuing)
        seen.append([
            a.call("CLIENT", "INFO"),
            c.call("CLIENT", "LIST", "ID", subscriber),
            c.call("CLIENT", "LIST", "ID", _id(c)),
            c.call("CLIENT", "LIST", "TYPE", "pubsub"),
            c.call("CLIENT", "LIST", "TYPE", "normal"),
            c.call("CLIENT", "KILL", "TYPE", "normal", "ID", subscriber),
            c.call("CLIENT", "KILL", "TYPE", "pubsub", "ID", subscriber),
        ])
    expected, actual = seen
    for theirs, ours in zip(expected[:3], actual[:3]):
        assert _fields(ours) == _fields(theirs), f"Redis: {theirs!r}\nRedwood: {ours!r}"
    for listing in (expected, actual):      # TYPE pubsub is exactly the subscribed clients
        assert listing[3].count(b" flags=Pe ") == _text(listing[3]).count(b"\n") == 1
        assert b" flags=P" not in listing[4] and b"cmd=client|list" in listing[4]
    assert actual[5:] == expected[5:] == [b":0\r\n", b":1\r\n"]


def test_client_reply_on_off_skip(both):
    run_steps(both, [
        "A> CLIENT REPLY OFF", "A> SET a 1", "A> GET a", "A> NOSUCH", "A> GET", "A: CLIENT REPLY ON",
        "A> CLIENT REPLY SKIP", "A> GET a", "A: PING",
        "A> CLIENT REPLY SKIP", "A> CLIENT REPLY SKIP", "A> PING", "A: ECHO after-two-skips",
        "A> CLIENT REPLY SKIP", "A> NOSUCH", "A: ECHO after-skipped-error",
        "A> CLIENT REPLY OFF", "A> CLIENT REPLY SKIP", "A> PING", "A: CLIENT REPLY ON",
        "A> CLIENT REPLY SKIP", "A: CLIENT REPLY ON", "A: GET a",
        "A: CLIENT REPLY", "A: CLIENT REPLY maybe", "A: CLIENT REPLY on x",
        # a blocked command's reply, when it comes, is silenced as well
        "A> CLIENT REPLY OFF", "A> BLPOP l 0", "B: RPUSH l x", "A: CLIENT REPLY ON",
        "A> CLIENT REPLY SKIP", "A> BLPOP l 0", "B: RPUSH l y", "A: ECHO after-skipped-pop", "A: LLEN l"])


def test_client_small_subcommands_and_help(both):
    run_steps(both, [
        "A: CLIENT HELP", "A: CLIENT NO-EVICT on", "A: CLIENT NO-EVICT OFF", "A: CLIENT NO-EVICT maybe",
        "A: CLIENT NO-EVICT", "A: CLIENT NO-TOUCH on", "A: CLIENT INFO x",
        "A: CLIENT PAUSE x", "A: CLIENT PAUSE -1", "A: CLIENT PAUSE 1.5", "A: CLIENT PAUSE 10 foo",
        "A: CLIENT PAUSE x foo", "A: CLIENT PAUSE 10 all x", "A: CLIENT PAUSE", "A: CLIENT UNPAUSE x",
        "A: CLIENT UNPAUSE"])


def test_client_pause_write_holds_writes_while_reads_run(redwood_server):
    server = redwood_server.start()
    admin, writer, reader, publisher = (server.raw() for _ in range(4))
    writer_id, publisher_id = _id(writer), _id(publisher)
    assert admin.call("CLIENT", "PAUSE", "100000", "WRITE") == b"+OK\r\n"
    writer.send_raw(encode_command(("SET", "k", "v")))
    publisher.send_raw(encode_command(("PUBLISH", "ch", "m")))     # PUBLISH may replicate: held too
    for held in (writer_id, publisher_id):
        poll(lambda held=held: b" flags=b " in admin.call("CLIENT", "LIST", "ID", held))
    assert reader.call("GET", "k") == b"$-1\r\n"                   # reads run; the SET waits
    assert reader.call("MULTI") == b"+OK\r\n"
    assert reader.call("GET", "k") == b"+QUEUED\r\n"
    assert reader.call("EXEC") == b"*1\r\n$-1\r\n"
    assert admin.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
    assert writer.read_reply() == b"+OK\r\n"
    assert publisher.read_reply() == b":0\r\n"
    assert reader.call("GET", "k") == b"$1\r\nv\r\n"


def test_client_pause_all_holds_every_command_but_a_monitors(redwood_server):
    server = redwood_server.start()
    admin, other, monitor = server.raw(), server.raw(), server.raw()
    assert admin.call("CLIENT", "PAUSE", "50", "ALL") == b"+OK\r\n"
    assert other.call("PING") == b"+PONG\r\n"            # answered once the 50 ms are over
    other_id = _id(other)
    assert monitor.call("MONITOR") == b"+OK\r\n"
    assert admin.call("CLIENT", "PAUSE", "100000", "ALL") == b"+OK\r\n"
    other.send_raw(encode_command(("GET", "k")))
    poll(lambda: b" flags=b " in monitor.call("CLIENT", "LIST", "ID", other_id))
    assert monitor.call("CLIENT", "UNPAUSE") == b"+OK\r\n"     # a MONITOR is never paused
    assert other.read_reply() == b"$-1\r\n"
    assert monitor.read_reply().endswith(b'] "GET" "k"\r\n')


def test_client_pause_stops_expiry_but_reads_miss(both):
    """During a pause keys are not deleted (the dataset stays static), yet an expired key
    reads as missing; after UNPAUSE it goes."""
    run_steps(both, [
        "A: DEBUG SET-ACTIVE-EXPIRE 1", "A: SET k v PX 100", "A: SET keep v", "A: CLIENT PAUSE 5000 WRITE",
        "A: DEBUG SLEEP 0.3", "A: GET k", "A: EXISTS k", "A: DBSIZE", "A: CLIENT UNPAUSE", "A: GET k",
        "A: DBSIZE"])


def test_client_unblock_ends_wait_with_its_timeout_reply(both):
    """WAIT blocked forever and unblocked: TIMEOUT gives WAIT's own answer (the replicas that
    acknowledged: 0), ERROR the UNBLOCKED error. Client ids differ: each server uses its own."""
    transcripts = []
    for sessions in both:
        waiter, other = sessions["A"], sessions["B"]
        ident = waiter.call("CLIENT", "ID")[1:-2]
        transcript = []
        for reason in ("TIMEOUT", "ERROR"):
            waiter.send_raw(encode_command(("WAIT", "1", "0")))
            deadline = time.monotonic() + 10
            while b"flags=b" not in other.call("CLIENT", "LIST", "ID", ident):
                assert time.monotonic() < deadline, "WAIT did not block"
                time.sleep(0.01)
            transcript += [other.call("CLIENT", "UNBLOCK", ident, reason), waiter.read_reply()]
        transcripts.append(transcript)
    assert transcripts[1] == transcripts[0]


def _stats_lines(raw: bytes, section: str) -> list:
    """An INFO section's lines, with commandstats' timings (which differ) taken out."""
    text = parse_reply(raw).decode()
    lines = [line for line in text.split("\r\n") if line and not line.startswith("#")]
    if section == "commandstats":
        lines = sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line) for line in lines)
    return lines


def test_info_commandstats_and_errorstats_as_redis(both):
    """Calls, refusals and failures per command, and error replies by code, counted as Redis
    counts them (Redis's order of commandstats lines is its hash table's: compared sorted)."""
    for sessions in both:
        sessions["A"].call("CONFIG", "RESETSTAT")
    run_steps(both, [
        "A: SET k v", "A: GET k", "A: GET k", "A: GET", "A: NOSUCH", "A: LPUSH k x", "A: INCR k",
        "A: CLIENT GETNAME", "A: MULTI", "A: SET a 1", "A: GET", "A: EXEC", "A: MULTI", "A: INCR k",
        "A: EXEC", "A: OBJECT ENCODING k", "A: WATCH", "A: CONFIG GET nosuch-option"])
    for section in ("commandstats", "errorstats"):
        redis, redwood = (_stats_lines(sessions["A"].call("INFO", section), section) for sessions in both)
        assert redwood == redis, section
    stats = [re.search(rb"total_error_replies:(\d+)", sessions["A"].call("INFO", "stats")).group(1)
             for sessions in both]
    assert stats[1] == stats[0]
