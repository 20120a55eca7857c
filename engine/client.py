"""A client session: the context every handler receives.

It carries the selected database, the keyspace (with its clock `now`), where
events go (`store`: the live store, or a null sink while replaying), the
server-wide state, and what CLIENT LIST shows about the connection.
"""
import itertools
import time

from engine.events import Origin

_ids = itertools.count(1)


class Client:
    __slots__ = (
        "id", "addr", "laddr", "fd", "name", "user", "db", "keyspace", "store", "state",
        "origin", "resp", "created", "last_active", "last_command", "close_after_reply",
        "authenticated", "connection", "blocked", "multi", "multi_failed", "in_exec",
    )

    def __init__(self, state, addr: str = "", laddr: str = "", fd: int = -1):
        self.id = next(_ids)
        self.addr, self.laddr, self.fd = addr, laddr, fd
        self.name = b""
        self.user = "default"
        self.state = state
        self.keyspace = state.keyspace
        self.db = self.keyspace.dbs[0]
        self.store = state.store
        self.resp = 2
        self.created = self.last_active = time.time()
        self.last_command = b"NULL"
        self.close_after_reply = False
        self.authenticated = not state.config["requirepass"]
        self.origin = b""
        self.connection = None   # the server's connection object, for CLIENT KILL and QUIT
        self.blocked = None      # an engine.blocking.Waiter while a blocking command waits
        self.multi = None        # the queued (spec, argv) of an open MULTI
        self.multi_failed = False  # a command failed to queue: EXEC will abort
        self.in_exec = False
        self.update_origin()

    def update_origin(self):
        self.origin = Origin("client", self.id, self.addr,
                             self.name.decode(errors="replace"), self.user).encode()

    def set_name(self, name: bytes):
        self.name = name
        self.update_origin()

    def log(self, argv):
        """Record argv as the event of the write this handler just made."""
        self.store.append(self.db.index, argv, self.origin)

    def select(self, index: int):
        self.db = self.keyspace.dbs[index]
