"""The ssl contexts, built from Redis's `tls-*` options as Redis's `tlsConfigure` reads them:
the `tls-port` listener's, and a replica's towards its primary (`tls-replication yes`),
which presents the same certificate and verifies the primary's with the same CAs."""
import ssl

# Redis's names for the protocol versions, in order (`tls-protocols` takes any of them).
PROTOCOLS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
             "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}
DEFAULT_PROTOCOLS = "TLSv1.2 TLSv1.3"
_VERIFY = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}


class TLSConfigError(Exception):
    """The options cannot make a working context; the message is the line Redis logs."""


def server_context(config) -> ssl.SSLContext:
    """The context of the `tls-port` listener; TLSConfigError when Redis would refuse to start."""
    cert, key = config["tls-cert-file"], config["tls-key-file"]
    ca_file, ca_dir = config["tls-ca-cert-file"], config["tls-ca-cert-dir"]
    if not cert:
        raise TLSConfigError("No tls-cert-file configured!")
    if not key:
        raise TLSConfigError("No tls-key-file configured!")
    if config["tls-auth-clients"] != "no" and not ca_file and not ca_dir:
        raise TLSConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                             "tls-cluster, tls-replication or tls-auth-clients are enabled!")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version, context.maximum_version = _versions(config["tls-protocols"])
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"Failed to load certificate {cert} or private key {key}: {exc}") from exc
    if ca_file or ca_dir:
        try:
            context.load_verify_locations(cafile=ca_file or None, capath=ca_dir or None)
        except (OSError, ssl.SSLError) as exc:
            raise TLSConfigError(f"Failed to configure CA certificate(s) file/directory: {exc}") from exc
    context.verify_mode = _VERIFY[config["tls-auth-clients"]]
    return context


def client_context(config) -> ssl.SSLContext:
    """A replica's context for its link to the primary (the primary is the server)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version, context.maximum_version = _versions(config["tls-protocols"])
    context.check_hostname = False          # Redis verifies the chain, not the name
    if config["tls-cert-file"] and config["tls-key-file"]:
        context.load_cert_chain(config["tls-cert-file"], config["tls-key-file"])
    ca_file, ca_dir = config["tls-ca-cert-file"], config["tls-ca-cert-dir"]
    context.load_verify_locations(cafile=ca_file or None, capath=ca_dir or None)
    return context


def _versions(text: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """The lowest and highest version of `tls-protocols` (empty: Redis's default, TLSv1.2 and
    TLSv1.3). Python's ssl can only express a range, so a list with a gap is refused rather
    than widened."""
    names = (text or DEFAULT_PROTOCOLS).lower().split()
    if not names or any(name not in PROTOCOLS for name in names):
        raise TLSConfigError("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                             "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
    order = list(PROTOCOLS)
    positions = sorted({order.index(name) for name in names})
    if positions[-1] - positions[0] + 1 != len(positions):
        raise TLSConfigError("tls-protocols must name consecutive versions (e.g. 'TLSv1.2 TLSv1.3')")
    return PROTOCOLS[order[positions[0]]], PROTOCOLS[order[positions[-1]]]
