"""The RESP codec, sans-IO: bytes in, commands out; values in, bytes out.

Each request is read three ways (whole, byte by byte, split at every point) and
must give the same commands; errors must carry Redis 7.0's exact words.
"""
import hiredis
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import RedisError
from engine.replies import (NULL_ARRAY, OK, BigNumber, Double, Map, Push, RSet, Status, format_double,
                            Verbatim)
from engine.parsing import split_args
from server.resp import RequestParser, encode

LIMIT = 512 * 1024 * 1024


def parser(max_bulk=LIMIT, max_query=1 << 30):
    return RequestParser({"proto-max-bulk-len": max_bulk, "client-query-buffer-limit": max_query})


def whole(data, **kw):
    p = parser(**kw)
    return p.feed(data), p


def bytewise(data, **kw):
    p, out = parser(**kw), []
    for i in range(len(data)):
        out += p.feed(data[i:i + 1])
        if p.error:
            break
    return out, p


def resp(*argv):
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


REQUESTS = [
    (resp(b"SET", b"k", b"v"), [[b"SET", b"k", b"v"]]),
    (resp(b"GET", b"") + resp(b"PING"), [[b"GET", b""], [b"PING"]]),
    (resp(b"SET", b"k", b"a\r\nb\x00c"), [[b"SET", b"k", b"a\r\nb\x00c"]]),
    (b"PING\r\n", [[b"PING"]]),
    (b"PING\n", [[b"PING"]]),
    (b"set k \"a b\"\r\nget k\r\n", [[b"set", b"k", b"a b"], [b"get", b"k"]]),
    (b"\r\n\r\nPING\r\n", [[b"PING"]]),                      # empty inline lines are no command
    (b"*0\r\n*-1\r\n*-5\r\nPING\r\n", [[b"PING"]]),          # Redis ignores counts <= 0
    (resp(b"ECHO", b"-5") + resp(b"ECHO", b"+x"), [[b"ECHO", b"-5"], [b"ECHO", b"+x"]]),
    (b"*1\r\n$4\r\nPINGxx" + resp(b"PING"), [[b"PING"], [b"PING"]]),   # the CRLF is not checked
]


@pytest.mark.parametrize("data, commands", REQUESTS)
def test_requests_parse_whole_and_byte_by_byte(data, commands):
    for read in (whole, bytewise):
        got, p = read(data)
        assert got == commands, read.__name__
        assert p.error is None


@pytest.mark.parametrize("data, commands", REQUESTS)
def test_requests_split_anywhere(data, commands):
    for cut in range(1, len(data)):
        p = parser()
        assert p.feed(data[:cut]) + p.feed(data[cut:]) == commands, cut


def test_trailing_partial_command_is_kept():
    p = parser()
    data = resp(b"SET", b"k", b"v") + resp(b"GET", b"k")
    assert p.feed(data[:-3]) == [[b"SET", b"k", b"v"]]
    assert p.feed(data[-3:]) == [[b"GET", b"k"]]


def test_big_bulk_is_gathered_across_reads():
    value = bytes(range(256)) * 4096          # 1 MiB
    data = resp(b"SET", b"k", value) + resp(b"PING")
    p, out = parser(), []
    for i in range(0, len(data), 65536):
        out += p.feed(data[i:i + 65536])
    assert out == [[b"SET", b"k", value], [b"PING"]]
    assert p.chunks == [] and p.buf == b""


ERRORS = [
    (b"*abc\r\n", "Protocol error: invalid multibulk length"),
    (b"*3000000000\r\n", "Protocol error: invalid multibulk length"),
    (b"*1\r\n$3000000000\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n+PING\r\n", "Protocol error: expected '$', got '+'"),
    (b"*2\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n", "Protocol error: expected '$', got '*'"),
    (b"*2\r\n$4\r\nECHO\r\n:5\r\n", "Protocol error: expected '$', got ':'"),
    (b'SET a "b\r\n', "Protocol error: unbalanced quotes in request"),
    (b"SET a 'b'c\r\n", "Protocol error: unbalanced quotes in request"),
    (b"x" * (64 * 1024 + 1), "Protocol error: too big inline request"),
    (b"*" + b"1" * (64 * 1024 + 1), "Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * (64 * 1024 + 1), "Protocol error: too big bulk count string"),
]


@pytest.mark.parametrize("data, message", ERRORS)
def test_protocol_errors_have_redis_words(data, message):
    got, p = whole(data)
    assert got == [] and p.error.message == message
    got, p = bytewise(data)
    assert got == [] and p.error.message == message


def test_commands_before_an_error_still_run():
    got, p = whole(resp(b"PING") + b"*1\r\n+x\r\n" + resp(b"PING"))
    assert got == [[b"PING"]]
    assert p.error.message.startswith("Protocol error")
    assert p.feed(resp(b"PING")) == []          # nothing more is read after an error


def test_bulk_length_limit_follows_config():
    got, p = whole(resp(b"SET", b"k", b"x" * 100), max_bulk=99)
    assert p.error.message == "Protocol error: invalid bulk length"
    got, p = whole(resp(b"SET", b"k", b"x" * 99), max_bulk=99)
    assert got == [[b"SET", b"k", b"x" * 99]]


def test_query_buffer_limit_closes_silently_without_buffering_it():
    p = parser(max_query=1 << 20)
    p.feed(b"*2\r\n$3\r\nSET\r\n$100000000\r\n")
    for _ in range(15):
        p.feed(b"x" * 65536)
    assert p.error is None                       # 15/16 MiB of payload + "SET": within the limit
    p.feed(b"x" * 65536)
    assert p.error is not None and p.error.message is None
    assert p.chunked <= (1 << 20)                # the payload past the limit was never kept


def test_many_small_arguments_count_against_the_limit():
    p = parser(max_query=1 << 20)
    p.feed(b"*2000000000\r\n")
    for _ in range(200):
        p.feed(b"$1\r\na\r\n" * 1000)
        if p.error:
            break
    assert p.error is not None and p.error.message is None


@pytest.mark.parametrize("line, words", [
    (b"a b  c", [b"a", b"b", b"c"]),
    (b'"a\\x41\\n" b', [b"aA\n", b"b"]),
    (b"'it\\'s' x", [b"it's", b"x"]),
    (b'a"b c"', [b"ab c"]),
    (b"", []),
    (b"   ", []),
    (b"a\x00b", [b"a"]),
    (b'"\\q"', [b"q"]),
])
def test_split_args_like_sdssplitargs(line, words):
    assert split_args(line) == words


@given(st.lists(st.lists(st.binary(max_size=40), min_size=1, max_size=6), max_size=6),
       st.integers(min_value=1, max_value=50))
def test_any_commands_parse_in_any_chunking(commands, step):
    data = b"".join(resp(*argv) for argv in commands)
    p, out = parser(), []
    for i in range(0, len(data), step):
        out += p.feed(data[i:i + step])
    assert out == commands and p.error is None


# -- replies -------------------------------------------------------------------------

ROUND_TRIP = [
    (OK, b"+OK\r\n", b"+OK\r\n"),
    (Status("PONG"), b"+PONG\r\n", b"+PONG\r\n"),
    (RedisError("ERR x"), b"-ERR x\r\n", b"-ERR x\r\n"),
    (42, b":42\r\n", b":42\r\n"),
    (b"hi", b"$2\r\nhi\r\n", b"$2\r\nhi\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),
    ([b"a", 1, None], b"*3\r\n$1\r\na\r\n:1\r\n$-1\r\n", b"*3\r\n$1\r\na\r\n:1\r\n_\r\n"),
    (Map({b"k": b"v"}), b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n", b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n"),
    (RSet([b"a"]), b"*1\r\n$1\r\na\r\n", b"~1\r\n$1\r\na\r\n"),
    (Push([b"a"]), b"*1\r\n$1\r\na\r\n", b">1\r\n$1\r\na\r\n"),
    (Double(1.5), b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (Verbatim(b"x"), b"$1\r\nx\r\n", b"=5\r\ntxt:x\r\n"),
    (BigNumber(1 << 70), b"$22\r\n1180591620717411303424\r\n", b"(1180591620717411303424\r\n"),
    (True, b":1\r\n", b"#t\r\n"),
]


@pytest.mark.parametrize("value, resp2, resp3", ROUND_TRIP)
def test_reply_encoding(value, resp2, resp3):
    assert encode(value) == resp2
    assert encode(value, resp3=True) == resp3


@pytest.mark.parametrize("value", [[b"a", [b"b", 2]], b"", 0, -1, [b"x" * 100000]])
def test_replies_read_back_with_hiredis(value):
    reader = hiredis.Reader()
    reader.feed(encode(value))
    assert reader.gets() == value


@pytest.mark.parametrize("value, text", [
    (1.0, b"1"), (-0.0, b"-0"), (0.0, b"0"), (1.1, b"1.1000000000000001"),
    (float("inf"), b"inf"), (float("-inf"), b"-inf"), (1e20, b"1e+20"), (2.0 ** 52, b"4503599627370496"),
])
def test_doubles_format_as_redis_7_0(value, text):
    assert format_double(value) == text


# -- the test harness's own reply reader: the differential tests are only as good as it is --

@pytest.mark.parametrize("value", [[b"a", [b"b", 2]], b"", None, Map({b"k": [1, 2]}), RSet([b"x"]),
                                   Verbatim(b"t"), RedisError("ERR x"), NULL_ARRAY, Double(2.5)])
def test_harness_reads_exactly_one_reply(value):
    from tests.servers import reply_end
    for resp3 in (False, True):
        raw = encode(value, resp3)
        assert reply_end(raw + b"+NEXT\r\n", 0) == len(raw)
        assert all(reply_end(raw[:cut], 0) is None for cut in range(len(raw)))
