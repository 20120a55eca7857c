"""Replication: the primary side (serve a follower) and the replica side (follow). Not yet built."""
