"""The event record: round trip, checksum, and the closed vocabulary."""
import pytest
from hypothesis import given, strategies as st

from backends.memory import MemoryBackend
from engine import events
from engine.keyspace import Keyspace
from engine.store import Store

binary = st.binary(max_size=64)


@given(seq=st.integers(1, 2**63), ts=st.integers(0, 2**62), db=st.integers(0, 15),
       argv=st.lists(binary, min_size=1, max_size=8),
       name=st.text(max_size=20), addr=st.text(max_size=30))
def test_round_trip(seq, ts, db, argv, name, addr):
    origin = events.Origin("client", 42, addr, name, "default")
    raw = events.encode(seq, ts, db, origin.encode(), argv, events.FLAG_MULTI)
    ev = events.decode(seq, raw)
    assert ev == events.Event(seq, ts, db, events.FLAG_MULTI,
                              events.Origin("client", 42, addr.encode()[:255].decode(errors="replace"),
                                            name.encode()[:255].decode(errors="replace"), "default"),
                              argv)
    key = seq.to_bytes(8, "big")
    assert list(events.replay_stream([(key, raw)])) == [(key, ts, db, argv)]


def test_a_flipped_bit_is_detected():
    raw = bytearray(events.encode(7, 1, 0, events.ORIGIN_INTERNAL, [b"SET", b"k", b"v"]))
    for i in range(len(raw)):
        bad = bytearray(raw)
        bad[i] ^= 0x10
        with pytest.raises(events.CorruptRecord):
            events.decode(7, bytes(bad))
        with pytest.raises(events.CorruptRecord):     # the start-up path checks as much
            list(events.replay_stream([((7).to_bytes(8, "big"), memoryview(bytes(bad)))]))


def test_a_record_under_the_wrong_seq_is_detected():
    raw = events.encode(7, 1, 0, events.ORIGIN_INTERNAL, [b"SET", b"k", b"v"])
    with pytest.raises(events.CorruptRecord):
        events.decode(8, raw)


def test_store_refuses_commands_outside_the_vocabulary():
    store = Store(MemoryBackend(), Keyspace())
    with pytest.raises(AssertionError):
        store.append(0, [b"EXPIRE", b"k", b"10"], events.ORIGIN_INTERNAL)
    store.append(0, [b"SET", b"k", b"v"], events.ORIGIN_INTERNAL)
    assert store.pending


def test_store_timestamps_never_go_backwards():
    keyspace = Keyspace()
    backend = MemoryBackend()
    store = Store(backend, keyspace)
    for now in (100, 50, 200):
        keyspace.now = now
        store.append(0, [b"SET", b"k", b"v"], events.ORIGIN_INTERNAL)
    store.flush()
    assert [events.decode(s, r).ts for s, r in backend.read(1)] == [100, 100, 200]
