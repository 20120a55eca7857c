"""Durable logs and snapshot stores behind one contract (`backends.base.Backend`)."""


def open_backend(kind: str, path: str):
    """The backend named `kind` (lmdb, memory) over the data directory `path`."""
    if kind == "lmdb":
        from backends.lmdb import LmdbBackend
        return LmdbBackend(path)
    if kind == "memory":
        from backends.memory import MemoryBackend
        return MemoryBackend()
    raise ValueError(f"unknown backend {kind!r} (known: lmdb, memory)")
