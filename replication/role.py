"""This server's part in replication: always a primary to whoever follows it (a replica can
have replicas of its own), and a replica while it follows someone (REPLICAOF, `replicaof`).

The engine's commands (REPLICAOF, ROLE, REPLCONF, LOGSYNC, WAIT, INFO replication) call in
here; it keeps the server's write restrictions in step: READONLY on a read-only replica,
NOREPLICAS below min-replicas-to-write, MASTERDOWN while a replica that may not serve stale
data has no link.
"""
import logging
import time

from engine import errors
from engine.blocking import block
from engine.recovery import event_ts
from replication.changefeed import ChangeFeed
from replication.primary import Primary
from replication.replica import Follower

log = logging.getLogger("redwood.replication")

READONLY = errors.RedisError("READONLY You can't write against a read only replica.")
NOREPLICAS = errors.RedisError("NOREPLICAS Not enough good replicas to write.")
MASTERDOWN = errors.RedisError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")


class Replication:
    def __init__(self, state):
        self.state = state
        self.primary = Primary(state)
        self.changefeed = ChangeFeed(state)
        state.store.on_committed = self._committed
        self.follower: Follower | None = None
        self.waiting: list = []          # (client, numreplicas, seq) blocked in WAIT
        state.on_publish = self.primary.publish
        for name in ("replica-read-only", "replica-serve-stale-data", "min-replicas-to-write",
                     "min-replicas-max-lag"):
            state.config.on_change(name, lambda value: self.restrict())

    def _committed(self, batch):
        """Each batch the store commits: to the replicas, and to the change stream's followers."""
        self.primary.broadcast(batch)
        if self.changefeed.followers:
            self.changefeed.broadcast(batch)

    # -- REPLICAOF ---------------------------------------------------------------------------
    def follow(self, host: str, port: int) -> bool:
        """Become a replica of host:port; False if already following it."""
        if self.follower is not None:
            if (self.follower.host, self.follower.port) == (host, port):
                return False
            self.follower.stop()
        self.state.store.flush()
        self.follower = Follower(self.state, host, port)
        self.state.keyspace.replica = True
        self.state.eviction.configure()
        self.follower.start()
        log.info("REPLICAOF %s:%d enabled", host, port)
        self.restrict()
        return True

    def promote(self):
        """REPLICAOF NO ONE: stop following; the log, its history and its id stay."""
        if self.follower is None:
            return
        self.follower.stop()
        self.follower = None
        self.state.keyspace.replica = False
        self.state.eviction.configure()
        log.info("MASTER MODE enabled: this replica is a primary now, its log kept")
        self.restrict()

    # -- the write restrictions ----------------------------------------------------------------
    def restrict(self):
        """Recompute what the executor refuses (engine.executor reads state.refuse_*)."""
        state, config = self.state, self.state.config
        refuse = None
        if config["min-replicas-to-write"] and config["min-replicas-max-lag"] and \
                self.primary.good(config["min-replicas-max-lag"]) < config["min-replicas-to-write"]:
            refuse = NOREPLICAS
        elif self.follower is not None and config["replica-read-only"]:
            refuse = READONLY
        state.refuse_writes = refuse
        state.refuse_stale = MASTERDOWN if self.follower is not None and not self.follower.link_up \
            and not config["replica-serve-stale-data"] else None
        state.restricted = state.refuse_writes is not None or state.refuse_stale is not None

    def tick(self):
        """Every second: pings, acknowledgements, restrictions, WAIT's waiters."""
        self.primary.tick()
        if self.follower is not None and self.follower.link_up:
            self.follower.ack()
        self.restrict()
        self.acknowledged()

    # -- WAIT ----------------------------------------------------------------------------------
    def wait(self, client, numreplicas: int, timeout_ms: int):
        """WAIT: the replicas that hold every event so far, now or when enough do (or at the
        timeout, how many then)."""
        seq = self.state.store.next_seq - 1
        acked = self.primary.acked(seq)
        if acked >= numreplicas:
            return acked
        entry = (client, numreplicas, seq)
        self.waiting.append(entry)
        return block(client, (), timeout_ms, _no_key, cannot_wait=acked,
                     timeout_reply=lambda: self._give_up(entry))

    def _give_up(self, entry) -> int:
        if entry in self.waiting:
            self.waiting.remove(entry)
        return self.primary.acked(entry[2])

    def acknowledged(self):
        """After ACKs: serve the WAITs that have enough."""
        for entry in list(self.waiting):
            client, numreplicas, seq = entry
            if client.blocked is None:                  # gone, or unblocked otherwise
                self.waiting.remove(entry)
                continue
            acked = self.primary.acked(seq)
            if acked >= numreplicas:
                self.waiting.remove(entry)
                client.connection.unblocked(acked)

    # -- ROLE and INFO -------------------------------------------------------------------------
    def role(self) -> list:
        follower, backend = self.follower, self.state.backend
        if follower is None:
            return [b"master", backend.last_seq,
                    [[link.ip.encode(), b"%d" % link.port, b"%d" % link.ack_seq]
                     for link in self.primary.links.values()]]
        state = b"connected" if follower.link_up else b"sync" if follower.sync_in_progress else b"connect"
        return [b"slave", follower.host.encode(), follower.port, state, backend.last_seq]

    def info(self) -> list:
        state, backend, follower = self.state, self.state.backend, self.follower
        now = time.monotonic()
        fields = [("role", "master" if follower is None else "slave")]
        if follower is not None:
            fields += [("master_host", follower.host), ("master_port", follower.port),
                       ("master_link_status", "up" if follower.link_up else "down"),
                       ("master_last_io_seconds_ago", int(now - follower.last_io) if follower.last_io else -1),
                       ("master_sync_in_progress", int(follower.sync_in_progress)),
                       ("slave_read_repl_offset", backend.last_seq), ("slave_repl_offset", backend.last_seq)]
            if not follower.link_up:
                fields.append(("master_link_down_since_seconds", int(now - follower.down_since)))
            fields += [("slave_priority", 100), ("slave_read_only", int(state.config["replica-read-only"])),
                       ("replica_announced", 1),
                       ("lag_ms", follower.lag_ms)]
        links = list(self.primary.links.values())
        fields.append(("connected_slaves", len(links)))
        now_ms = time.time_ns() // 1_000_000
        for n, link in enumerate(links):
            # lag: seconds since its last ACK, as Redis; lag_ms: how long the oldest event it has
            # not acknowledged has been waiting (0 when it has them all)
            behind = link.ack_seq < backend.last_seq
            lag_ms = max(now_ms - event_ts(backend, link.ack_seq + 1), 0) if behind else 0
            fields.append((f"slave{n}", f"ip={link.ip},port={link.port},state={'online' if link.online else 'send_bulk'},"
                                        f"offset={link.ack_seq},lag={int(now - link.ack_time)},lag_ms={lag_ms}"))
        fields += [("master_failover_state", "no-failover"), ("master_replid", state.log_id),
                   ("master_replid2", "0" * 40), ("master_repl_offset", backend.last_seq),
                   ("second_repl_offset", -1), ("repl_backlog_active", 1),
                   ("repl_backlog_first_byte_offset", backend.first_seq),
                   ("repl_backlog_histlen", backend.last_seq - backend.first_seq + 1 if backend.last_seq else 0)]
        return fields


def _no_key(key):
    """WAIT waits on no key: acknowledgements (or its timeout) end it."""
