"""The change stream: a client follows the log from a seq (HISTORY FOLLOW) and is pushed every
committed event from there on, decoded: the durable, resumable form of keyspace notifications.

A follower first catches up from the log (in batches, never far ahead of its socket), then
gets each batch the store commits, as replicas do. It counts as a Pub/Sub client for
`client-output-buffer-limit`, so one that stops reading is dropped, not buffered without
end; it resumes by following again from the last seq it saw plus one.
"""
import asyncio

from engine.events import decode
from engine.replies import Push
from replication.primary import drain

BATCH = 1000
AHEAD = 1 << 20          # bytes a catching-up follower may have unsent


def message(seq: int, record: bytes) -> Push:
    event = decode(seq, record, verify=False)
    origin = event.origin
    return Push((b"history", event.seq, event.ts, event.db, origin.user.encode(), origin.addr.encode(),
                 origin.name.encode(), event.argv, origin.kind.encode()))


class ChangeFeed:
    def __init__(self, state):
        self.state = state
        self.followers: dict = {}        # client -> True once live (receives committed batches)

    def follow(self, client, seq: int):
        """Push every event from seq on to client (its earlier follow, if any, ends)."""
        self.unfollow(client)
        self.followers[client] = False
        asyncio.get_running_loop().create_task(self._catch_up(client, seq))

    def unfollow(self, client):
        self.followers.pop(client, None)

    async def _catch_up(self, client, seq: int):
        backend = self.state.backend
        seq = max(seq, backend.first_seq or 1)
        while client in self.followers and client.connection is not None and not client.connection.closing:
            last = backend.last_seq
            if seq > last:
                self.followers[client] = True
                return
            for seq, record in backend.read(seq, min(last, seq + BATCH - 1)):
                client.connection.push(message(seq, record))
            seq += 1
            await drain(client.connection, AHEAD)

    def broadcast(self, batch):
        """A committed batch: to every live follower."""
        live = [client for client, ready in self.followers.items() if ready]
        if not live:
            return
        messages = [message(seq, record) for seq, record in batch]
        for client in live:
            connection = client.connection
            if connection is None or connection.closing:
                self.followers.pop(client, None)
                continue
            for item in messages:
                connection.push(item)
