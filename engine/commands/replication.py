"""Replication commands: REPLICAOF (SLAVEOF), ROLE, and the two a replica sends its primary,
REPLCONF and LOGSYNC (replication/PROTOCOL.md). They call the server's replication layer
(replication.role.Replication, `state.replication`)."""
from engine import errors
from engine.parsing import to_int
from engine.registry import command
from engine.replies import NO_REPLY, OK, Status

_REPLICAOF_DOCS = dict(group="server", acl="admin slow dangerous",
                       summary="Make the server a replica of another instance, or promote it as master.",
                       complexity="O(1)", syntax="(host port:integer | NO ONE)")


def _replication(client):
    replication = client.state.replication
    if replication is None:
        raise errors.err("replication needs a running server")
    return replication


@command("replicaof", 3, "admin noscript stale no_async_loading", since="5.0.0", **_REPLICAOF_DOCS)
def replicaof(client, argv):
    replication = _replication(client)
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        replication.promote()
        return OK
    if client.replication is not None:
        raise errors.err("Command is not valid when client is a replica.")
    port = to_int(argv[2])
    if port is None or not 0 <= port <= 65535:
        raise errors.err("Invalid master port")
    if not replication.follow(argv[1].decode(errors="replace"), port):
        return Status("OK Already connected to specified master")
    return OK


@command("slaveof", 3, "admin noscript stale no_async_loading", since="1.0.0",
         doc_flags="deprecated", **_REPLICAOF_DOCS)
def slaveof(client, argv):
    return replicaof(client, argv)


@command("role", 1, "noscript loading stale fast", group="server", acl="admin fast dangerous",
         summary="Return the role of the instance in the context of replication", since="2.8.12",
         complexity="O(1)")
def role(client, argv):
    return _replication(client).role()


@command("replconf", -1, "admin noscript loading stale allow_busy", group="server",
         acl="admin slow dangerous", summary="An internal command for configuring the replication stream",
         since="3.0.0", complexity="O(1)", doc_flags="syscmd")
def replconf(client, argv):
    """`listening-port <port>` (and Redis's other options, accepted) before LOGSYNC; `ACK <seq>`
    after it, with no reply."""
    if len(argv) % 2 == 0:
        raise errors.SYNTAX
    options = {argv[i].lower(): argv[i + 1] for i in range(1, len(argv), 2)}
    if b"ack" in options:
        seq = to_int(options[b"ack"])
        if seq is not None and client.replication is not None:
            replication = _replication(client)
            replication.primary.ack(client, seq)
            replication.acknowledged()
        return NO_REPLY
    for name, value in options.items():
        if name == b"listening-port":
            port = to_int(value)
            if port is None:
                raise errors.NOT_INTEGER
            client.replica_port = port
        elif name not in (b"ip-address", b"capa", b"getack", b"rdb-only", b"rdb-filter-only"):
            raise errors.err(f"Unrecognized REPLCONF option: {name.decode(errors='replace')}")
    return OK


@command("logsync", 4, "admin noscript no_multi", group="server", acl="admin slow dangerous",
         summary="Follow this server's event log (Redwood's replication handshake)", since="7.0.0",
         complexity="O(1)", syntax="log-id seq:integer crc:integer")
def logsync(client, argv):
    """The replica's log id, last seq and its record's checksum; the primary answers
    +CONTINUE or +FULLRESYNC and streams (replication/PROTOCOL.md)."""
    seq, crc = to_int(argv[2]), to_int(argv[3])
    if seq is None or crc is None or seq < 0:
        raise errors.NOT_INTEGER
    if client.replication is not None:
        raise errors.err("this connection is a replica's already")
    _replication(client).primary.sync(client, argv[1], seq, crc, client.replica_port)
    return NO_REPLY
