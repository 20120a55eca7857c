"""The contract every backend keeps. The engine imports this, never a concrete backend."""
from typing import Iterator, Protocol


class LogUnavailable(Exception):
    """The log cannot be written (disk full, I/O error): writes must stop."""


class Backend(Protocol):
    def append(self, batch: list[tuple[int, bytes]]) -> int:
        """Stage (seq, record) pairs, seqs dense and increasing; returns the last seq.
        Nothing is visible to readers or durable before `commit`."""

    def commit(self, sync: bool) -> None:
        """Make the staged batch one transaction; with sync, on stable storage before returning.
        Raises LogUnavailable and discards the batch when it cannot."""

    def abort(self) -> None:
        """Discard a staged batch."""

    def sync(self) -> None:
        """Flush committed transactions to stable storage (the `everysec` tick)."""

    def read(self, from_seq: int, to_seq: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Committed (seq, record) pairs from from_seq to to_seq inclusive, streaming."""

    def scan(self, from_seq: int, to_seq: int | None = None) -> Iterator[tuple[bytes, object]]:
        """Like read, zero-copy, for replay: (8-byte big-endian seq, record buffer) pairs, each
        valid only until the next one is taken."""

    @property
    def first_seq(self) -> int:
        """The oldest seq held (0 when the log is empty)."""

    @property
    def last_seq(self) -> int:
        """The newest committed seq (0 when the log is empty)."""

    def get_meta(self, name: str) -> bytes | None: ...

    def set_meta(self, name: str, value: bytes) -> None: ...

    def close(self) -> None: ...
