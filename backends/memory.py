"""The in-memory reference backend: the contract with nothing durable, for fast unit tests."""
from backends.base import LogUnavailable


class MemoryBackend:
    def __init__(self):
        self.log: dict[int, bytes] = {}
        self.meta: dict[str, bytes] = {}
        self.staged: list[tuple[int, bytes]] = []
        self.fail_next_commit = False   # lets tests exercise the failure path

    def append(self, batch):
        self.staged.extend(batch)
        return batch[-1][0]

    def commit(self, sync):
        staged, self.staged = self.staged, []
        if self.fail_next_commit:
            self.fail_next_commit = False
            raise LogUnavailable("simulated write failure")
        self.log.update(staged)

    def abort(self):
        self.staged = []

    def sync(self):
        pass

    def read(self, from_seq, to_seq=None):
        last = self.last_seq if to_seq is None else min(to_seq, self.last_seq)
        for seq in range(max(from_seq, self.first_seq), last + 1):
            yield seq, self.log[seq]

    def scan(self, from_seq, to_seq=None):
        for seq, record in self.read(from_seq, to_seq):
            yield seq.to_bytes(8, "big"), record

    @property
    def first_seq(self):
        return min(self.log) if self.log else 0

    @property
    def last_seq(self):
        return max(self.log) if self.log else 0

    def get_meta(self, name):
        return self.meta.get(name)

    def set_meta(self, name, value):
        self.meta[name] = value

    def close(self):
        pass
