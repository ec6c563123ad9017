#!/usr/bin/python3
"""A small HTTPS server for tests/unit/test_http.c.

Generates a CA, a server certificate for 127.0.0.1 and a client certificate with
openssl in DIR, serves HTTPS on 127.0.0.1 (client certificate optional, reported by
/whoami), and prints one line "READY port=N" once serving.  Runs until stdin closes.

  /echo            JSON {method, path, headers, body}
  /status/N        answers status N with body "status N"
  /big/N           N bytes of 'x'
  /slow/MS         sleeps MS milliseconds, then "slow"
  /stream          chunked: lines split across chunks, a CRLF line, an empty line
  /stream-long/N   chunked: one line of N bytes, then a newline
  /stream-tail     chunked: one full line, then an unterminated one
  /stream-status/N status N (non-2xx) with a chunked JSON body
  /conn            the client's source port (keep-alive check)
  /whoami          the client certificate's CN, or "anonymous"
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                      ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", name + "-key.pem", "-out", name + ".csr", "-subj", "/CN=" + name + "-cn",
                cwd=d)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext",
                cwd=d)


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive), no request log; reply() sends one whole body."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body, ctype="text/plain"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class Handler(QuietHandler):
    def chunks(self, parts, code=200, delay=0.05):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for p in parts:
            if isinstance(p, str):
                p = p.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(p), p))
            self.wfile.flush()
            time.sleep(delay)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        parts = self.path.split("/")
        what = parts[1] if len(parts) > 1 else ""
        arg = parts[2] if len(parts) > 2 else ""
        if what == "echo":
            self.reply(200, json.dumps({"method": self.command, "path": self.path,
                                        "headers": {k.lower(): v for k, v in self.headers.items()},
                                        "body": body}), "application/json")
        elif what == "status":
            self.reply(int(arg), "status " + arg)
        elif what == "big":
            self.reply(200, "x" * int(arg))
        elif what == "slow":
            time.sleep(int(arg) / 1000.0)
            self.reply(200, "slow")
        elif what == "stream":
            self.chunks(['{"type":"ADDED","n":1}\n{"type":"MOD', 'IFIED","n":2}\n', '\n',
                         '{"type":"DELETED",', '"n":3}\r\n'])
        elif what == "stream-long":
            self.chunks(["y" * int(arg), "\n"])
        elif what == "stream-tail":
            self.chunks(['{"n":1}\n{"n":', '2'])
        elif what == "stream-status":
            self.chunks(['{"kind":"Status",', '"code":%s}' % arg], code=int(arg))
        elif what == "conn":
            self.reply(200, str(self.client_address[1]))
        elif what == "whoami":
            cert = self.connection.getpeercert()
            cn = "anonymous"
            if cert:
                for rdn in cert.get("subject", ()):
                    for k, v in rdn:
                        if k == "commonName":
                            cn = v
            self.reply(200, cn)
        else:
            self.reply(404, "no such test path")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def tls_server(d, handler, client_certs=False):
    """An HTTPS server on 127.0.0.1 (any port) with D's server certificate; with
    CLIENT_CERTS, a client certificate signed by D's CA is asked for (optional)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server-key.pem"))
    if client_certs:
        ctx.load_verify_locations(os.path.join(d, "ca.pem"))
        ctx.verify_mode = ssl.CERT_OPTIONAL
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, client_address: None  # clients hang up on purpose
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    return srv


def serve(srv):
    """Serves SRV, says "READY port=N" and runs until stdin (the test) closes."""
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("READY port=%d" % srv.server_address[1], flush=True)
    sys.stdin.read()


def main():
    d = sys.argv[1]
    make_certs(d)
    serve(tls_server(d, Handler, client_certs=True))


if __name__ == "__main__":
    main()
