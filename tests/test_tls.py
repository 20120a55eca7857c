"""TLS: the listener on `tls-port`, client certificates as `tls-auth-clients` asks, redis-py and
redis-cli against it, side by side with a real redis-server given the same certificates (made
per session by the openssl command: a throwaway CA, a server and a client certificate, and a
client certificate from another CA that must be refused)."""
import os
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.servers import RealRedis, Redwood, free_port, redis_server_path
from tests.test_net_limits import read_until_closed

KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
EXTENSIONS = """basicConstraints = CA:FALSE
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth, clientAuth
"""


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """The folder holding ca, server, client (signed by ca) and stranger (signed by other-ca),
    each as NAME.crt and NAME.key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the openssl command is required in CI (make test installs it with apt)")
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("certs")
    (folder / "ext.cnf").write_text(EXTENSIONS)

    def run(*args):
        subprocess.run([openssl, *args], cwd=folder, check=True, capture_output=True, timeout=60)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", *KEY, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
            "-subj", f"/CN=Redwood test {ca}", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, ca in (("server", "ca"), ("client", "ca"), ("stranger", "other-ca")):
        run("req", "-new", *KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", "ext.cnf")
    return folder


def tls_options(certs, tls_port, *more):
    return ["--tls-port", str(tls_port), "--tls-cert-file", str(certs / "server.crt"),
            "--tls-key-file", str(certs / "server.key"), "--tls-ca-cert-file", str(certs / "ca.crt"),
            *more]


@pytest.fixture
def start(tmp_path, certs):
    """start(*options, tcp=True) -> [real redis-server, Redwood], both given the same TLS options
    (and `--port 0` unless tcp), each with its `tls_port`; stopped when the test ends."""
    started = []

    def start(*options, tcp=True):
        pair = []
        for kind in (RealRedis, Redwood):
            tls_port = free_port()
            argv = tls_options(certs, tls_port, *options) + ([] if tcp else ["--port", "0"])
            if kind is RealRedis:
                server = RealRedis(str(tmp_path), *argv)
            else:
                data = tmp_path / f"data-{tls_port}"
                data.mkdir()
                server = Redwood(str(data), *argv)
            server.tls_port = tls_port
            if not tcp:
                server.port = tls_port      # what start() waits for
            pair.append(server.start())
            started.append(server)
        return pair

    yield start
    for server in started:
        server.stop()


def tls_client(server, certs, cert="client") -> redis.Redis:
    """redis-py over TLS, presenting NAME.crt (None: no client certificate); a refusal is
    not retried."""
    own = {} if cert is None else {"ssl_certfile": str(certs / f"{cert}.crt"),
                                   "ssl_keyfile": str(certs / f"{cert}.key")}
    return redis.Redis(host="127.0.0.1", port=server.tls_port, ssl=True,
                       ssl_ca_certs=str(certs / "ca.crt"), socket_timeout=10,
                       retry=Retry(NoBackoff(), 0), **own)


def refused(server, certs, cert) -> bool:
    client = tls_client(server, certs, cert)
    try:
        client.ping()
    except redis.ConnectionError:
        return True
    finally:
        client.close()
    return False


def test_client_certificate_signed_by_the_ca_is_required_by_default(start, certs):
    for server in start():
        client = tls_client(server, certs)
        assert client.set("k", "v") and client.get("k") == b"v"
        assert refused(server, certs, None)
        assert refused(server, certs, "stranger")
        assert client.ping() is True              # the server and its other clients carry on
        client.close()


def test_auth_clients_no_and_optional(start, certs):
    for server in start("--tls-auth-clients", "no"):
        assert not refused(server, certs, None)
        assert not refused(server, certs, "client")
    for server in start("--tls-auth-clients", "optional"):
        assert not refused(server, certs, None)
        assert not refused(server, certs, "client")
        assert refused(server, certs, "stranger")     # a certificate, if sent, must verify


def test_config_get_and_info_show_the_tls_options(start, certs):
    names = ["tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-auth-clients", "tls-protocols"]
    shown = []
    for server in start("--tls-auth-clients", "optional", "--tls-protocols", "TLSv1.2 TLSv1.3"):
        client = tls_client(server, certs)
        assert client.config_get("tls-port") == {"tls-port": str(server.tls_port)}
        assert client.info("server")["tcp_port"] == server.port      # the TCP port, as before
        shown.append([client.config_get(name) for name in names])
        client.close()
    assert shown[0] == shown[1]
    assert shown[1][3] == {"tls-auth-clients": "optional"}


def test_tls_defaults_as_redis(diff):
    for name in ("tls-port", "tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir",
                 "tls-auth-clients", "tls-protocols"):
        diff("CONFIG", "GET", name)


def test_tls_only_with_port_0(start, certs):
    for server in start(tcp=False):
        client = tls_client(server, certs)
        assert client.config_get("port") == {"port": "0"}
        assert client.info("server")["tcp_port"] == server.tls_port      # Redis shows the TLS port
        client.close()


def test_plain_tcp_to_the_tls_port_fails_cleanly(start, certs):
    for server in start():
        with socket.create_connection(("127.0.0.1", server.tls_port), timeout=10) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            assert read_until_closed(sock) == b""       # no reply in clear, the connection closed
        client = tls_client(server, certs)
        assert client.ping() is True
        client.close()
        assert server.alive


def redis_cli(server, certs, *argv, cert=True):
    own = ["--cert", str(certs / "client.crt"), "--key", str(certs / "client.key")] if cert else []
    cli = os.path.join(os.path.dirname(redis_server_path()), "redis-cli")
    return subprocess.run([cli, "-h", "127.0.0.1", "-p", str(server.tls_port), "--tls",
                           "--cacert", str(certs / "ca.crt"), *own, *argv],
                          capture_output=True, text=True, timeout=30)


def test_redis_cli_over_tls(start, certs):
    outputs = []
    for server in start():
        ran = [redis_cli(server, certs, *argv) for argv in (["SET", "k", "v"], ["GET", "k"], ["PING"])]
        outputs.append([(r.returncode, r.stdout) for r in ran])
        without = redis_cli(server, certs, "PING", cert=False)
        assert "PONG" not in without.stdout
    assert outputs[0] == outputs[1] == [(0, "OK\n"), (0, "v\n"), (0, "PONG\n")]


def handshake(server, certs, version: ssl.TLSVersion) -> bytes:
    """A PING over TLS of exactly this version: the reply, or the handshake's SSLError."""
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    context.load_cert_chain(str(certs / "client.crt"), str(certs / "client.key"))
    context.minimum_version = context.maximum_version = version
    with socket.create_connection(("127.0.0.1", server.tls_port), timeout=10) as sock:
        with context.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"*1\r\n$4\r\nPING\r\n")
            return tls.recv(100)


def test_tls_protocols(start, certs):
    for server in start("--tls-protocols", "tlsv1.3"):
        assert handshake(server, certs, ssl.TLSVersion.TLSv1_3) == b"+PONG\r\n"
        with pytest.raises(ssl.SSLError):
            handshake(server, certs, ssl.TLSVersion.TLSv1_2)
    for server in start():          # Redis's default: TLSv1.2 and TLSv1.3
        assert handshake(server, certs, ssl.TLSVersion.TLSv1_2) == b"+PONG\r\n"


@pytest.mark.parametrize("options, logged", [
    (["--tls-port", "{port}"], "No tls-cert-file configured!"),
    (["--tls-port", "{port}", "--tls-cert-file", "{certs}/server.crt", "--tls-key-file",
      "{certs}/server.key"], "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
    (["--tls-port", "{port}", "--tls-cert-file", "{certs}/server.crt", "--tls-key-file",
      "{certs}/server.key", "--tls-auth-clients", "no", "--tls-protocols", "TLSv9"],
     "Invalid tls-protocols specified."),
    (["--port", "0"], "Configured to not listen anywhere, exiting."),
])
def test_bad_tls_configuration_stops_start_up(tmp_path, certs, options, logged):
    argv = [arg.format(port=free_port(), certs=certs) for arg in options]
    real = RealRedis(str(tmp_path), *argv)
    redwood = Redwood(str(tmp_path), *argv)
    for server in (real, redwood):
        result = subprocess.run(server.argv, capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert logged in result.stdout + result.stderr


def test_replication_over_tls(tmp_path, certs):
    """A replica with tls-replication yes follows the primary's TLS port (presenting its
    certificate, verifying the primary's with the CA)."""
    (tmp_path / "p").mkdir()
    (tmp_path / "r").mkdir()
    tls_port = free_port()
    primary = Redwood(str(tmp_path / "p"), *tls_options(certs, tls_port)).start()
    replica = None
    try:
        primary.client().set("over", "tls")
        replica = Redwood(str(tmp_path / "r"), "--replicaof", f"127.0.0.1:{tls_port}", "--tls-replication", "yes",
                          "--tls-cert-file", str(certs / "client.crt"), "--tls-key-file", str(certs / "client.key"),
                          "--tls-ca-cert-file", str(certs / "ca.crt")).start()
        client = replica.client()
        deadline = time.monotonic() + 20
        while client.get("over") != b"tls":
            assert time.monotonic() < deadline, replica.output()
            time.sleep(0.05)
        assert client.info("replication")["master_link_status"] == "up"
    finally:
        if replica is not None:
            replica.stop()
        primary.stop()
