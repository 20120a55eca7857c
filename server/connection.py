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
import time
from collections import deque

from engine import blocking
from engine.blocking import BLOCKED
from engine.client import Client
from engine.errors import RedisError
from engine.executor import execute
from engine.replies import NULL_ARRAY
from server.resp import RequestParser, encode

log = logging.getLogger("redwood.connection")

MAXCLIENTS_ERROR = b"-ERR max number of clients reached\r\n"


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

    # -- lifecycle ---------------------------------------------------------
    def connection_made(self, transport):
        self.transport = transport
        state = self.state
        state.stats.total_connections_received += 1
        if len(state.clients) >= state.config["maxclients"]:
            state.stats.rejected_connections += 1
            transport.write(MAXCLIENTS_ERROR)
            transport.close()
            self.closing = True
            return
        sock = transport.get_extra_info("socket")
        self.client = Client(state, _addr(transport.get_extra_info("peername")),
                             _addr(transport.get_extra_info("sockname")),
                             sock.fileno() if sock is not None else -1)
        self.client.connection = self
        state.clients[self.client.id] = self.client

    def connection_lost(self, exc):
        self.closing = True
        if self.client is not None:
            self._forget_waiter()
            self.state.clients.pop(self.client.id, None)

    # A client that stops reading its replies stops being read from: its
    # pending output stays bounded by the transport's high-water mark.
    def pause_writing(self):
        self.transport.pause_reading()

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
        client = self.client
        replies, done = [], 0
        for argv in commands:
            reply = execute(client, argv)
            done += 1
            if reply is BLOCKED:
                self.queue.extend(commands[done:])
                self.queued_error, error = error, None
                self._start_timer()
                break
            replies.append(encode(reply, client.resp == 3))   # HELLO 3 answers in RESP3
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
        if self.waiting or (store.pending and store.appendfsync == "always"):
            self.held.extend(replies)
            if not self.waiting:
                self.waiting = True
                store.wait(self.release)
        elif replies:
            self._write(replies)
        elif self.client.close_after_reply:
            self.close()

    # -- blocked clients ----------------------------------------------------
    def _start_timer(self):
        waiter = self.client.blocked
        if waiter.timeout_ms:
            loop = asyncio.get_running_loop()
            waiter.timer = loop.call_later(waiter.timeout_ms / 1000, self.unblocked, NULL_ARRAY)

    def unblocked(self, reply):
        """The client was served (or timed out, or CLIENT UNBLOCK): answer, then run its queue."""
        self._forget_waiter()
        self.client.last_active = time.time()     # it waited; it was not idle
        self._send([encode(reply, self.client.resp == 3)])
        if self.queue or self.queued_error is not None:
            asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self):
        if self.closing or self.client.blocked is not None:
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

    def _write(self, replies):
        data = b"".join(replies)
        self.state.stats.net_output_bytes += len(data)
        self.transport.write(data)
        if self.client.close_after_reply:
            self.close()


def _addr(name) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        host = name[0]
        return f"[{host}]:{name[1]}" if ":" in host else f"{host}:{name[1]}"
    return str(name or "")
