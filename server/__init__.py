"""The network side: RESP codec, connections, the server process and the CLI."""
