"""A TCP proxy on a free 127.0.0.1 port, in front of a server: the network between a replica
and its primary, which a test can cut (every open connection closed at once) and restore."""
import socket
import threading


class Proxy:
    """Forwards each connection to 127.0.0.1:`target_port`, two threads per connection."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs: dict[tuple, int] = {}     # (client, upstream) -> pumps still running
        self.refusing = False
        self.accepted = 0                     # connections forwarded, for tests to wait on
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, refuse: bool = False) -> int:
        """Close every open connection at once; with refuse, close new ones on arrival until
        restore(). Returns how many connections were cut."""
        with self.lock:
            self.refusing = refuse
            pairs = list(self.pairs)
        for pair in pairs:
            _shutdown(*pair)              # wakes both pumps, which close the sockets
        return len(pairs)

    def restore(self):
        self.refusing = False

    def close(self):
        _shutdown(self.listener)          # wakes the accepting thread (close alone does not)
        self.listener.close()
        self.cut(refuse=True)

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:               # the listener was closed
                return
            if self.refusing:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self.lock:
                self.pairs[pair] = 2
                self.accepted += 1
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(pair, src, dst), daemon=True).start()

    def _pump(self, pair, src, dst):
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
        except OSError:
            pass
        _shutdown(*pair)                  # one side gone: the other goes too, as on a real cut
        with self.lock:
            self.pairs[pair] -= 1
            last = self.pairs[pair] == 0
            if last:
                del self.pairs[pair]
        if last:
            for sock in pair:
                sock.close()


def _shutdown(*socks):
    for sock in socks:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
