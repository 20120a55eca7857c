"""A client session: the context every handler receives.

It carries the selected database, the keyspace (with its clock `now`), where
events go (`store`: the live store, or a null sink while replaying), the
server-wide state, and what CLIENT LIST shows about the connection.
"""
import itertools
import time

from engine import pubsub
from engine.events import Origin

_ids = itertools.count(1)


class Client:
    __slots__ = (
        "id", "addr", "laddr", "fd", "name", "user", "db", "keyspace", "store", "state",
        "origin", "resp", "created", "last_active", "last_command", "close_after_reply",
        "authenticated", "connection", "blocked", "multi", "multi_failed", "in_exec",
        "watched", "channels", "patterns", "shard_channels", "tracking", "acl",
        "reply_mode", "no_evict", "monitor", "dirty", "subscriptions", "replication",
        "replica_port", "last_write",
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
        self.last_command = "NULL"
        self.close_after_reply = False
        self.authenticated = state.users.default_authenticated()
        self.origin = b""
        self.connection = None   # the server's connection object, for CLIENT KILL and QUIT
        self.blocked = None      # an engine.blocking.Waiter while a blocking command waits
        self.multi = None        # the queued (spec, argv) of an open MULTI
        self.multi_failed = False  # a command failed to queue: EXEC will abort
        self.in_exec = False
        self.watched = None      # WATCHed keys: {(db index, key): expired when watched}, or None
        self.dirty = False       # a watched key changed: EXEC will fail
        self.subscriptions = 0   # channels + patterns + shard channels subscribed to
        self.channels = {}       # Pub/Sub subscriptions (engine.pubsub): channel -> None
        self.patterns = {}
        self.shard_channels = {}
        self.tracking = None     # client-side caching state (CLIENT TRACKING), or None
        self.acl = state.users.default_acl()   # the ACL user while it is restricted (engine.acl)
        self.reply_mode = "on"   # CLIENT REPLY: on, off, skip
        self.no_evict = False    # CLIENT NO-EVICT
        self.monitor = False     # MONITOR: this connection receives every command
        self.replication = None  # on a primary: the replica's link, once it sent LOGSYNC
        self.replica_port = 0    # REPLCONF listening-port
        self.last_write = 0      # the seq of this connection's last logged write (HISTORY POSITION)
        self.update_origin()

    def update_origin(self):
        self.origin = Origin("client", self.id, self.addr,
                             self.name.decode(errors="replace"), self.user).encode()

    def set_name(self, name: bytes):
        self.name = name
        self.update_origin()

    def log(self, argv):
        """Record argv as the event of the write this handler just made."""
        self.last_write = self.store.append(self.db.index, argv, self.origin)
        if self.keyspace.observed:
            self.keyspace.changes.append((self.db.index, argv, self.last_command))

    def release(self):
        """Forget the session's WATCHes, subscriptions, tracking and MONITOR (RESET, disconnection)."""
        self.monitor = False        # its entry in state.monitors is dropped at the next feed
        self.keyspace.unwatch(self)
        pubsub.forget(self)
        if self.tracking is not None:
            self.keyspace.tracking.stop(self)

    def select(self, index: int):
        self.db = self.keyspace.dbs[index]
