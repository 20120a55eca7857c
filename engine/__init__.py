"""The event-sourced core: command table, keyspace views, events and the store."""
