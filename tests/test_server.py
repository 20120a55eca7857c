"""The server as a user meets it: the CLI, config files, auth, INFO, CLIENT, RESP3,
redis-cli, expiry, shutdown, and a log that cannot be written."""
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest
import redis

from tests.servers import ROOT, Redwood, free_port, parse_reply


def run_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30, **kwargs)


def test_help_explains_every_subcommand_and_option():
    top = run_cli("--help")
    assert top.returncode == 0 and "serve" in top.stdout
    serve = run_cli("serve", "--help")
    assert serve.returncode == 0
    for option in ("--port", "--bind", "--dir", "--appendfsync", "--backend", "--databases",
                   "--requirepass", "config_file"):
        assert option in serve.stdout


def test_bad_option_is_refused_clearly(tmp_path):
    result = run_cli("serve", "--dir", str(tmp_path), "--appendfsync", "sometimes")
    assert result.returncode != 0 and "appendfsync" in result.stderr


def test_config_file_and_config_rewrite(tmp_path):
    port = free_port()
    (tmp_path / "data").mkdir()
    conf = tmp_path / "redwood.conf"
    conf.write_text(f"# our test config\nport {port}\nbind 127.0.0.1\ndir {tmp_path / 'data'}\n"
                    "appendfsync everysec\nmaxclients 100\nsave 900 1\nsave 300 10\n")
    server = Redwood(str(tmp_path / "data"), port=port)
    server.argv = [sys.executable, "-m", "server.cli", "serve", str(conf)]
    server.start()
    try:
        client = server.client()
        assert client.config_get("appendfsync") == {"appendfsync": "everysec"}
        assert client.config_get("save") == {"save": "900 1 300 10"}     # each line adds a rule
        assert client.config_get("max*") == {"maxclients": "100", "maxmemory": "0",
                                            "maxmemory-policy": "noeviction", "maxmemory-samples": "5",
                                            "maxmemory-eviction-tenacity": "10"}
        assert client.config_set("maxclients", "200")
        assert client.config_set("appendfsync", "always")
        assert client.config_rewrite()
        text = conf.read_text()
        assert "# our test config" in text and "maxclients 200" in text
        assert "appendfsync always" in text and "maxclients 100" not in text
        assert client.info("server")["config_file"] == str(conf)
    finally:
        server.stop()
    server.start()                                   # the rewritten file is what it reads now
    try:
        assert server.client().config_get("maxclients") == {"maxclients": "200"}
        assert server.client().config_get("save") == {"save": "900 1 300 10"}
    finally:
        server.stop()


def test_requirepass(redwood_server):
    server = redwood_server
    server.argv += ["--requirepass", "s3cret"]
    server.start()
    raw = server.raw()
    try:
        assert raw.call("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert raw.call("PING") == b"-NOAUTH Authentication required.\r\n"
        assert raw.call("AUTH", "wrong") == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        assert raw.call("AUTH", "s3cret") == b"+OK\r\n"
        assert raw.call("SET", "k", "v") == b"+OK\r\n"
        assert raw.call("RESET") == b"+RESET\r\n"
        assert raw.call("GET", "k") == b"-NOAUTH Authentication required.\r\n"
        assert raw.call("AUTH", "default", "s3cret") == b"+OK\r\n"
        client = server.client(password="s3cret", protocol=3)   # HELLO 3 AUTH default s3cret
        assert client.get("k") == b"v"
    finally:
        raw.close()


def test_info_has_redis_field_names(r):
    r.set("a", 1)
    r.expire("a", 100)
    info = r.info("everything")
    assert info["redis_version"] == "7.0.15" and "redwood_version" in info
    for field in ("connected_clients", "used_memory", "used_memory_human", "loading",
                  "total_commands_processed", "instantaneous_ops_per_sec", "keyspace_hits",
                  "role", "master_replid", "used_cpu_sys", "uptime_in_seconds", "tcp_port",
                  "loading_events", "loading_events_per_sec", "aof_last_write_status"):
        assert field in info, field
    assert info["db0"] == {"keys": 1, "expires": 1, "avg_ttl": 0}
    assert info["role"] == "master"
    assert set(r.info("keyspace")) == {"db0"}


def test_client_commands(shared_redwood, r):
    victim = shared_redwood.raw()
    assert victim.call("CLIENT", "SETNAME", "worker") == b"+OK\r\n"
    victim.call("PING")
    listed = {c["name"]: c for c in r.client_list()}
    assert "worker" in listed and listed["worker"]["cmd"] == "ping"
    assert r.client_info()["id"] == r.client_id() != listed["worker"]["id"]
    assert r.client_kill_filter(_id=listed["worker"]["id"]) == 1
    assert victim.read_until_closed() == b""               # its connection was closed
    assert "worker" not in {c["name"] for c in r.client_list()}
    victim.close()


def test_resp3_hello_and_replies(shared_redwood):
    client = shared_redwood.client(protocol=3)
    client.set("k", "v")
    assert client.get("k") == b"v"
    hello = client.execute_command("HELLO", "3")
    assert hello[b"proto"] == 3 and hello[b"server"] == b"redis"
    raw = shared_redwood.raw()
    raw.call("HELLO", "3")
    assert raw.call("GET", "nokey") == b"_\r\n"
    assert raw.call("CONFIG", "GET", "hz") == b"%1\r\n$2\r\nhz\r\n$2\r\n10\r\n"
    raw.close()


def test_redis_cli_commands_and_inline_stdin(shared_redwood, r):
    cli = ["redis-cli", "-p", str(shared_redwood.port)]
    assert subprocess.run(cli + ["SET", "cli", "hello world"], capture_output=True,
                          text=True, timeout=30).stdout == "OK\n"
    piped = subprocess.run(cli, input='GET cli\nAPPEND cli "!"\nINCR n\n', capture_output=True,
                           text=True, timeout=30)
    assert piped.stdout == "hello world\n12\n1\n"


def test_redis_cli_shows_hints_from_command_docs(shared_redwood):
    """Interactive redis-cli (in a pty) asks COMMAND DOCS and hints a command's arguments."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.execvp("redis-cli", ["redis-cli", "-p", str(shared_redwood.port)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))   # room for hints
    try:
        screen = _read_pty(fd, b"> ")
        os.write(fd, b"GETEX ")
        screen = _read_pty(fd, b"PERSIST")
        assert b"key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]" \
            in screen.replace(b"\x1b[0;90;49m", b"").replace(b"\x1b[0m", b""), screen
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)


def _read_pty(fd, until: bytes, timeout: float = 10) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while until not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 4096)
            if b"\x1b[6n" in chunk:              # linenoise asks the terminal for the cursor
                os.write(fd, b"\x1b[1;1R")
            data += chunk
    return data


def _shape(arguments) -> list:
    """An argument tree without names: type, token, flags and nesting (what hints are made of)."""
    return [(a.get(b"type"), a.get(b"token"), sorted(a.get(b"flags", [])), _shape(a.get(b"arguments", [])))
            for a in arguments]


@pytest.mark.parametrize("name", ["get", "set", "getex", "expire", "bitcount", "copy", "lcs",
                                  "mset", "del", "getrange", "incrbyfloat", "setrange", "ping"])
def test_command_docs_arguments_have_redis_shape(real_redis, shared_redwood, name):
    def docs(server):
        raw = server.raw()
        raw.call("HELLO", "3")
        docs = parse_reply(raw.call("COMMAND", "DOCS", name))
        raw.close()
        return docs[name.encode()]
    ours, theirs = docs(shared_redwood), docs(real_redis)
    assert ours[b"summary"] and ours[b"since"] == theirs[b"since"] and ours[b"group"] == theirs[b"group"]
    assert _shape(ours.get(b"arguments", [])) == _shape(theirs.get(b"arguments", []))


def test_active_expiry_deletes_and_logs(redwood_server):
    server = redwood_server.start()
    client = server.client()
    for i in range(500):
        client.set(f"k{i}", "v", px=100)
    client.set("stays", "v")
    deadline = time.monotonic() + 10
    while client.dbsize() > 1 and time.monotonic() < deadline:   # no key is read meanwhile
        time.sleep(0.1)
    assert client.dbsize() == 1
    assert client.info("stats")["expired_keys"] == 500
    last_seq = client.info("persistence")["log_last_seq"]
    assert last_seq >= 1001                   # 501 SETs and 500 DELs of origin `expire`
    server.kill()
    server.restart()
    assert server.client().keys("*") == [b"stays"]


def test_debug_set_active_expire_and_lazy_expiry(r):
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("k", "v", px=50)
        time.sleep(0.3)
        assert r.dbsize() == 1                 # no active cycle: still counted
        assert r.get("k") is None              # the lookup expires it
        assert r.dbsize() == 0
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_shutdown_exits_cleanly(redwood_server):
    server = redwood_server.start()
    client = server.client()
    client.set("k", "v")
    client.shutdown(nosave=True)        # redis-py raises if any reply comes back: Redis sends none
    assert server.proc.wait(timeout=15) == 0
    server.restart()
    assert server.client().get("k") == b"v"


def test_maxclients(redwood_server):
    server = redwood_server.start()
    admin = server.raw()
    admin.call("CONFIG", "SET", "maxclients", "2")
    second = server.raw()
    third = server.raw()
    assert third.read_until_closed() == b"-ERR max number of clients reached\r\n"
    assert second.call("PING") == b"+PONG\r\n"
    for c in (admin, second, third):
        c.close()


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MB tmpfs, to fill the log's disk for real (needs root and mount)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mountpoint)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)])


def test_full_disk_refuses_writes_then_recovers(small_disk):
    server = Redwood(str(small_disk / "data"))
    server.log_path = str(small_disk.parent / "redwood.log")
    server.start()
    try:
        client = server.client()
        value = b"x" * 400_000
        acknowledged, refused = [], None
        for i in range(20):
            try:
                client.set(f"k{i}", value)
                acknowledged.append(f"k{i}")
            except redis.ResponseError as exc:
                refused = str(exc)
                break
        assert refused is not None and refused.startswith("MISCONF Errors writing to the event log")
        with pytest.raises(redis.ResponseError, match="MISCONF|event log"):
            client.set("small", "v")
        assert client.get("small") is None                   # nothing the log does not hold
        assert client.info("persistence")["aof_last_write_status"] == "err"
        assert sorted(client.keys("*")) == sorted(k.encode() for k in acknowledged)
        subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.set("after", "v")
                break
            except redis.ResponseError:
                time.sleep(0.2)
        assert client.get("after") == b"v"
        server.kill()
        server.restart()
        assert sorted(server.client().keys("*")) == sorted([k.encode() for k in acknowledged] + [b"after"])
    finally:
        server.stop()


def test_idle_clients_are_closed_after_timeout(redwood_server):
    server = redwood_server.start()
    admin = server.raw()
    assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
    idle = server.raw()
    assert idle.call("PING") == b"+PONG\r\n"
    assert idle.read_until_closed(timeout=10) == b""      # closed by the server, not by us
    assert admin.read_until_closed(timeout=10) == b""     # the admin was idle as long
    fresh = server.raw()
    assert fresh.call("CONFIG", "SET", "timeout", "0") == b"+OK\r\n"
    fresh.close()
