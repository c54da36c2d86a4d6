"""cdp.py - just enough of the Chrome DevTools Protocol, over a WebSocket
client of our own (RFC 6455, client side: masked text frames out, the
server's unmasked frames in), to drive a headless Chromium from a test
without third-party Python packages."""
import base64
import json
import os
import socket
import struct
import time
import urllib.parse
import urllib.request


class WebSocket:
    def __init__(self, url, timeout=30):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        req = ('GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n') % (u.path, u.hostname, u.port, key)
        self.sock.sendall(req.encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError('websocket handshake: connection closed')
            head += chunk
        head, self.buf = head.split(b'\r\n\r\n', 1)
        if b' 101 ' not in head.split(b'\r\n', 1)[0]:
            raise ConnectionError('websocket handshake refused: %r' % head[:80])

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError('websocket closed')
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack('!BB', 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', 0x81, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', 0x81, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        parts = []
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0f, b1 & 0x7f
            if n == 126:
                n = struct.unpack('!H', self._read(2))[0]
            elif n == 127:
                n = struct.unpack('!Q', self._read(8))[0]
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if op == 0x9:  # ping
                self.sock.sendall(struct.pack('!BB', 0x8a, 0x80 | len(payload)) + b'\0\0\0\0' + payload)
                continue
            if op == 0x8:
                raise ConnectionError('websocket closed by the browser')
            parts.append(payload)
            if b0 & 0x80:
                return b''.join(parts).decode()


class Page:
    """One page target of a browser started with --remote-debugging-port."""

    def __init__(self, devtools_port):
        with urllib.request.urlopen('http://127.0.0.1:%d/json/list' % devtools_port, timeout=10) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get('type') == 'page')
        self.ws = WebSocket(page['webSocketDebuggerUrl'])
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({'id': self.next_id, 'method': method, 'params': params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get('id') == self.next_id:
                if 'error' in msg:
                    raise RuntimeError('%s: %s' % (method, msg['error']))
                return msg.get('result', {})

    def eval(self, expr):
        r = self.call('Runtime.evaluate', expression=expr, returnByValue=True, awaitPromise=True)
        if 'exceptionDetails' in r:
            raise RuntimeError('page: %s' % r['exceptionDetails'].get('text'))
        return r['result'].get('value')

    def wait(self, expr, timeout=15.0):
        """Poll expr until it is truthy; its value, or None after timeout."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                v = self.eval(expr)
            except RuntimeError:  # the page is between documents (a reload)
                v = None
            if v:
                return v
            time.sleep(0.1)
        return None


def devtools_port(user_data_dir, timeout=30.0):
    """The port Chromium chose (--remote-debugging-port=0) once it wrote it."""
    path = os.path.join(user_data_dir, 'DevToolsActivePort')
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(path) as f:
                return int(f.readline())
        except (OSError, ValueError):
            time.sleep(0.1)
    raise TimeoutError('Chromium wrote no DevToolsActivePort in %s' % user_data_dir)
