"""One client connection: an asyncio Protocol on uvloop — the hot path.

Each read is fed once to the connection's parser; every complete command runs,
and the replies leave in one joined write. With `appendfsync always`, replies
produced while the store holds uncommitted events (this client's writes, or
reads that may have seen another client's) wait for the pass's commit.

A blocking command (BLPOP …) that has to wait stops the run: the commands after
it wait in a queue, not run, until the client is served (`unblocked`), times
out or disconnects; then the queue runs on.
"""
import asyncio
import logging
import os
import time
from collections import deque

from engine import blocking
from engine.blocking import BLOCKED
from engine.client import Client
from engine.errors import RedisError
from engine.commands.connection import paused
from engine.executor import execute
from server.resp import RequestParser, encode

log = logging.getLogger("redwood.connection")

MAXCLIENTS_ERROR = b"-ERR max number of clients reached\r\n"
PROTECTED_MODE_ERROR = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password "
    b"is set for the default user. In this mode connections are only accepted from the loopback "
    b"interface. If you want to connect from external computers to Redis you may adopt one of the "
    b"following solutions: 1) Just disable protected mode sending the command 'CONFIG SET "
    b"protected-mode no' from the loopback interface by connecting to Redis from the same host the "
    b"server is running, however MAKE SURE Redis is not publicly accessible from internet if you do "
    b"so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the "
    b"protected mode by editing the Redis configuration file, and setting the protected mode option "
    b"to 'no', and then restarting the server. 3) If you started the server manually just for "
    b"testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    b"password for the default user. NOTE: You only need to do one of the above things in order for "
    b"the server to start accepting connections from the outside.\r\n")


class Connection(asyncio.Protocol):
    def __init__(self, state):
        self.state = state
        self.transport = None
        self.client: Client | None = None
        self.parser = RequestParser(state.config)
        self.held: list[bytes] = []     # replies waiting for the store's commit
        self.waiting = False
        self.closing = False
        self.queue: deque = deque()     # commands read while the client was blocked
        self.queued_error = None        # a protocol error that came after them
        self.over_soft_since = None     # when unsent output passed the soft output limit
        self.after_reply: list[bytes] = []  # pushes that go after the running command's reply
        self.pushed: list[bytes] = []   # pushes to write at the end of this loop pass

    # -- lifecycle ---------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        state = self.state
        peer = transport.get_extra_info("peername")
        # Redis's admission control: a refused connection gets the error and is closed, and
        # counts as rejected, not received.
        refused = (MAXCLIENTS_ERROR if len(state.clients) >= state.config["maxclients"]
                   else PROTECTED_MODE_ERROR if protected(state, peer[0]) else None)
        if refused is not None:
            state.stats.rejected_connections += 1
            transport.write(refused)
            transport.close()
            self.closing = True
            return
        state.stats.total_connections_received += 1
        sock = transport.get_extra_info("socket")
        self.client = Client(state, _addr(peer),
                             _addr(transport.get_extra_info("sockname")),
                             sock.fileno() if sock is not None else -1)
        self.client.connection = self
        state.clients[self.client.id] = self.client

    def connection_lost(self, exc):
        self.closing = True
        if self.client is not None:
            self._forget_waiter()
            if self.client.replication is not None:
                self.state.replication.primary.forget(self.client)
            if self.state.replication is not None:
                self.state.replication.changefeed.unfollow(self.client)
            self.client.release()
            self.state.clients.pop(self.client.id, None)

    # A client that stops reading its replies stops being read from: its
    # pending output stays bounded by the transport's high-water mark.
    def pause_writing(self):
        self.transport.pause_reading()
        self.check_output_limit()

    def resume_writing(self):
        if not self.closing:
            self.transport.resume_reading()

    def close(self):
        """Close after what is already written (QUIT, CLIENT KILL, protocol errors)."""
        if not self.closing:
            self.closing = True
            self.transport.close()

    # -- the hot path ------------------------------------------------------
    def data_received(self, data):
        if self.closing:
            return
        parser = self.parser
        commands = parser.feed(data)
        self.state.stats.net_input_bytes += len(data)
        if self.queue or self.client.blocked is not None:
            self.queue.extend(commands)
            self.queued_error = parser.error
        else:
            self._run(commands, parser.error)

    def _run(self, commands, error):
        """Run commands in order until one blocks; answer them, then `error` if it is set."""
        client, state = self.client, self.state
        replies, done = [], 0
        for argv in commands:
            if state.pause_mode and paused(client, argv):
                self._postpone(commands[done:], error)
                error = None
                break
            reply = execute(client, argv)
            done += 1
            if reply is BLOCKED:
                self.queue.extend(commands[done:])
                self.queued_error, error = error, None
                self._start_timer()
                break
            if client.reply_mode == "on":
                replies.append(encode(reply, client.resp == 3))   # HELLO 3 answers in RESP3
            else:
                _silence(client)
            if self.after_reply:
                replies += self.after_reply
                self.after_reply.clear()
            if client.close_after_reply:
                break
        self.state.stats.total_commands_processed += done
        client.last_active = time.time()
        if error is not None and not client.close_after_reply:
            if error.message is not None:
                replies.append(encode(RedisError("ERR " + error.message)))
            client.close_after_reply = True
        self._send(replies)

    def _send(self, replies):
        store = self.state.store
        # A busy script holds the commit: what others are answered meanwhile (BUSY, allow_busy
        # commands) reveals nothing it waits for, and goes at once.
        if self.waiting or (store.pending and store.appendfsync == "always" and self.state.busy_script is None):
            self.held.extend(replies)
            if not self.waiting:
                self.waiting = True
                store.wait(self.release)
        elif replies:
            self._write(replies)
        elif self.client.close_after_reply:
            self.close()

    def serve_busy(self):
        """A script past busy-reply-threshold holds the loop (engine.scripting): read what this
        client sent and answer it now. TLS connections wait for the script's end (their bytes
        go through the SSL transport), and so do new connections."""
        if self.closing or self.client.fd < 0 or self.transport.get_extra_info("sslcontext") is not None:
            return
        try:
            data = os.read(self.client.fd, 1 << 16)
        except OSError:             # nothing to read (EAGAIN), or the peer is gone: the loop sees it later
            return
        if data:
            self.data_received(data)

    # -- blocked and paused clients -------------------------------------------
    def _start_timer(self):
        waiter = self.client.blocked
        if waiter.timeout_ms:
            loop = asyncio.get_running_loop()
            waiter.timer = loop.call_later(waiter.timeout_ms / 1000, self._timed_out, waiter)

    def _timed_out(self, waiter):
        """A callable timeout reply is what the client gets then (WAIT: the count at that time)."""
        reply = waiter.timeout_reply
        self.unblocked(reply() if callable(reply) else reply)

    def _postpone(self, commands, error):
        """CLIENT PAUSE holds these commands (and what comes after them) until it ends."""
        self.queue.extend(commands)
        self.queued_error = error
        state = self.state
        state.postponed[self] = None
        asyncio.get_running_loop().call_later(max(state.pause_end - time.monotonic(), 0), self._resume)

    def unpaused(self):
        """The pause ended (CLIENT UNPAUSE, or its time passed): run the held commands."""
        asyncio.get_running_loop().call_soon(self._resume)

    def unblocked(self, reply):
        """The client was served (or timed out, or CLIENT UNBLOCK): answer, then run its queue."""
        client = self.client
        self._forget_waiter()
        client.last_active = time.time()          # it waited; it was not idle
        if client.reply_mode == "on":
            self._send([encode(reply, client.resp == 3)])
        else:                                     # CLIENT REPLY OFF / SKIP covers it too
            _silence(client)
        if self.queue or self.queued_error is not None:
            asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self):
        if self.closing or self.client.blocked is not None or not (self.queue or self.queued_error):
            return
        commands, error = list(self.queue), self.queued_error
        self.queue.clear()
        self.queued_error = None
        self._run(commands, error)

    def _forget_waiter(self):
        waiter = blocking.unblock(self.client)
        if waiter is not None and waiter.timer is not None:
            waiter.timer.cancel()

    def release(self, ok: bool):
        """The store committed (ok) or failed: send the held replies, or errors in their place."""
        held, self.held = self.held, []
        self.waiting = False
        if not ok:
            failure = encode(self.state.store.failure)
            held = [failure] * len(held)
        if not self.closing:
            self._write(held)

    def push(self, value, encoded: dict | None = None, after_reply: bool = False):
        """Send an out-of-band message (Pub/Sub, MONITOR, invalidation), in order with the
        client's replies: after any still held for the commit, before any written later.
        Pushes are gathered and written once per loop pass, one write per connection for all
        the messages of the pass, as Redis writes a client's buffer once per event-loop turn.
        `encoded`, shared by the pushes of one message to many clients, encodes it once per
        protocol; `after_reply`: this client is running the command that caused it, and hears
        of it after that command's reply (tracking's own invalidations, as Redis 7.0 orders them)."""
        if self.closing:
            return
        resp3 = self.client.resp == 3
        if encoded is None:
            data = encode(value, resp3)
        else:
            data = encoded.get(resp3)
            if data is None:
                data = encoded[resp3] = encode(value, resp3)
        if after_reply:
            self.after_reply.append(data)
        elif self.waiting:
            self.held.append(data)
        else:
            if not self.pushed:
                if not _OUTBOX:
                    asyncio.get_running_loop().call_soon(_write_pushes)
                _OUTBOX.append(self)
            self.pushed.append(data)

    def write_pushes(self):
        if self.closing or not self.pushed:
            return
        data = b"".join(self.pushed)
        self.pushed.clear()
        self.state.stats.net_output_bytes += len(data)
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > 0:
            self.check_output_limit()

    def check_output_limit(self):
        """client-output-buffer-limit: drop a client whose unsent output passed its class's hard
        limit, or stayed over the soft limit longer than the soft seconds. (Replies are bounded
        without it: a client that stops reading is not read from.)"""
        if self.client is None:
            return
        client = self.client
        kind = ("replica" if client.replication is not None else
                "pubsub" if client.subscriptions or client in self.state.replication.changefeed.followers
                else "normal")
        hard, soft, seconds = self.state.config["client-output-buffer-limit"][kind]
        size = self.transport.get_write_buffer_size()
        now = time.monotonic()
        if not soft or size < soft:
            self.over_soft_since = None
        elif self.over_soft_since is None:
            self.over_soft_since = now
        if (hard and size >= hard) or (self.over_soft_since is not None
                                       and now - self.over_soft_since > seconds):
            log.warning("client id=%d addr=%s closed for overcoming of output buffer limits",
                        client.id, client.addr)
            self.closing = True
            self.transport.abort()

    def _write(self, replies):
        if self.pushed:                 # messages that came first go first
            self.write_pushes()
        data = b"".join(replies)
        self.state.stats.net_output_bytes += len(data)
        self.transport.write(data)
        if self.client.close_after_reply:
            self.close()


# Connections with pushes to write at the end of this loop pass.
_OUTBOX: list[Connection] = []


def _write_pushes():
    connections = _OUTBOX[:]
    _OUTBOX.clear()
    for connection in connections:
        connection.write_pushes()


def _silence(client):
    """CLIENT REPLY OFF or SKIP dropped a reply. SKIP drops its own and the next command's:
    `skip_next` (SKIP just ran) becomes `skip`, and `skip` (the skipped one ran) `on` again."""
    if client.reply_mode == "skip_next":
        client.reply_mode = "skip"
    elif client.reply_mode == "skip":
        client.reply_mode = "on"


LOOPBACK = ("127.0.0.1", "::1")


def protected(state, peer_host: str) -> bool:
    """Whether protected mode refuses this peer: `protected-mode yes`, a default user without
    password (`nopass`), and a peer other than 127.0.0.1 or ::1 (Redis 7.0 compares the address
    text, so 127.0.0.2 is refused too)."""
    return state.config["protected-mode"] and state.users.default.nopass and peer_host not in LOOPBACK


def _addr(name) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        host = name[0]
        return f"[{host}]:{name[1]}" if ":" in host else f"{host}:{name[1]}"
    return str(name or "")
