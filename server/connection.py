"""One client connection: an asyncio Protocol on uvloop — the hot path.

Each read is fed once to the connection's parser; every complete command runs,
and the replies leave in one joined write. With `appendfsync always`, replies
produced while the store holds uncommitted events (this client's writes, or
reads that may have seen another client's) wait for the pass's commit.
"""
import asyncio
import logging
import time

from engine.client import Client
from engine.errors import RedisError
from engine.executor import execute
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
        client, parser = self.client, self.parser
        commands = parser.feed(data)
        stats = self.state.stats
        stats.net_input_bytes += len(data)
        replies = []
        for argv in commands:
            reply = execute(client, argv)
            replies.append(encode(reply, client.resp == 3))   # HELLO 3 answers in RESP3
            if client.close_after_reply:
                break
        stats.total_commands_processed += len(replies)
        client.last_active = time.time()
        if parser.error is not None and not client.close_after_reply:
            if parser.error.message is not None:
                replies.append(encode(RedisError("ERR " + parser.error.message)))
            client.close_after_reply = True
        store = self.state.store
        if self.waiting or (store.pending and store.appendfsync == "always"):
            self.held.extend(replies)
            if not self.waiting:
                self.waiting = True
                store.wait(self.release)
        elif replies:
            self._write(replies)
        elif client.close_after_reply:
            self.close()

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
