"""Client-side caching (CLIENT TRACKING): remember who read which keys, tell them when they change.

Default mode: the keys a tracking client reads (read-only commands) go into one
server-wide table, key -> clients; the first write to the key sends each of them
an `invalidate` message and forgets them (they read it again to be told again).
BCAST mode: a client registers prefixes (none: every key) and hears of every
written key that starts with one of them, read or not, in one message per
prefix per event-loop pass.

The writes come from engine.changes, so expiries, evictions and every logged
write invalidate; FLUSHDB / FLUSHALL invalidate everything (a null key list).
A RESP3 client gets `>2 invalidate [keys]` on its own connection; with REDIRECT
the messages go to another client: as a push if it speaks RESP3, else as a
Pub/Sub message on `__redis__:invalidate` if it is subscribed (RESP2).
"""
from engine.replies import Push

CHANNEL = b"__redis__:invalidate"


class ClientTracking:
    """A client's CLIENT TRACKING options."""
    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "prefixes", "caching", "broken")

    def __init__(self, redirect=0, bcast=False, optin=False, optout=False, noloop=False, prefixes=()):
        self.redirect, self.bcast, self.optin, self.optout = redirect, bcast, optin, optout
        self.noloop, self.prefixes = noloop, list(prefixes)
        self.caching = None     # CLIENT CACHING yes/no for the next command: True, False or None
        self.broken = False     # the client it redirects to has gone


class TrackingTable:
    def __init__(self, state):
        self.state = state
        self.keys: dict[bytes, dict] = {}        # key -> {client: None} (default mode)
        self.prefixes: dict[bytes, dict] = {}    # prefix -> {client: None} (BCAST)
        self.clients = 0                         # clients with tracking on
        self.written: dict[bytes, dict] = {}     # BCAST prefix -> {key written this pass: writer}
        self.schedule_broadcast = self.broadcast  # the server defers it to the end of the loop pass

    def __bool__(self):
        return self.clients > 0

    def start(self, client, options: ClientTracking):
        """Tracking on (or on again with other options: BCAST prefixes add up, as in Redis)."""
        if client.tracking is None:
            self.clients += 1
        elif options.bcast:
            options.prefixes = client.tracking.prefixes + options.prefixes
        client.tracking = options
        if options.bcast:
            if not options.prefixes:
                options.prefixes.append(b"")
            for prefix in options.prefixes:
                self.prefixes.setdefault(prefix, {})[client] = None
        self.state.keyspace.update_observed()

    def stop(self, client):
        """Tracking off (or the client left). Its keys stay in the table until written, as in
        Redis; a stale entry costs one skipped message."""
        if client.tracking is None:
            return
        if client.tracking.bcast:
            for prefix in client.tracking.prefixes:
                clients = self.prefixes[prefix]
                del clients[client]
                if not clients:
                    del self.prefixes[prefix]
        client.tracking = None
        self.clients -= 1
        self.state.keyspace.update_observed()

    def after_command(self, client, spec, argv):
        """Track the keys a read-only command read (default mode); CLIENT CACHING applies to
        the one command after it (in a transaction: to the whole of it)."""
        options = client.tracking
        caching = options.caching
        if spec.container != "client" and client.multi is None and not client.in_exec:
            options.caching = None
        if not spec.readonly or options.bcast or (options.optin and caching is not True) \
                or (options.optout and caching is False):
            return
        try:
            positions = spec.key_positions(argv)
        except ValueError:
            return
        for i in positions:
            self.keys.setdefault(argv[i], {})[client] = None

    def invalidate(self, key: bytes, writer):
        """key was written (by `writer`, the client running the command, or None)."""
        clients = self.keys.pop(key, None)
        if clients:
            for client in clients:
                if client.tracking is not None and not (client.tracking.noloop and client is writer):
                    self._send(client, [key], writer)
        for prefix in self.prefixes:
            if key.startswith(prefix):
                if not self.written:
                    self.schedule_broadcast()
                self.written.setdefault(prefix, {})[key] = writer     # the last writer, for NOLOOP

    def broadcast(self):
        """BCAST: once per loop pass, each prefix's written keys (sorted, as Redis's radix tree
        holds them) in one message to each of its clients; a NOLOOP client's own writes left out."""
        written, self.written = self.written, {}
        for prefix, keys in written.items():
            ordered = sorted(keys)
            for client in list(self.prefixes.get(prefix, ())):
                mine = [key for key in ordered if keys[key] is not client] if client.tracking.noloop else ordered
                if mine:
                    self._send(client, mine, None)

    def flushed(self):
        """A database was emptied: every tracking client drops its whole cache."""
        self.keys = {}
        for client in list(self.state.clients.values()):
            if client.tracking is not None:
                self._send(client, None, None)

    def _send(self, client, keys, writer):
        options, target = client.tracking, client
        if options.redirect:
            target = self.state.clients.get(options.redirect)
            if target is None:      # told once, if it can hear it
                if not options.broken and client.resp == 3:
                    client.connection.push(Push((b"tracking-redir-broken", options.redirect)))
                options.broken = True
                return
        if target.resp == 3:
            target.connection.push(Push((b"invalidate", keys)), after_reply=target is writer)
        elif target.subscriptions:
            target.connection.push(Push((b"message", CHANNEL, keys)), after_reply=target is writer)
