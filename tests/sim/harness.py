"""Test harness for k3sim (standard library only).

    from harness import K3sim

    with K3sim(speed=1.0) as k:              # k3sim on a fresh temporary state directory
        r = k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": "demo"}})
        assert r.status == 201 and r.json["metadata"]["uid"]
        r = k.get("/api/v1/namespaces/demo")                   # r.status, r.headers, r.body, r.json
        k.apply("/api/v1/namespaces/demo", {...}, manager="me", force=False)   # server-side apply
        k.patch(path, body, "application/merge-patch+json")  # any patch type
        k.delete(path, propagationPolicy="Foreground")      # query parameters as keywords
        with k.watch("/api/v1/namespaces/demo/pods", resourceVersion="0") as w:
            ev = w.next(timeout=5)                           # {"type": ..., "object": ...} or None
        k.control("fail", seconds=2)                         # control API verb (see simlib/control.py)
        k.wait_for(lambda: k.get(path).status == 404, timeout=10)
        k.reboot()                                           # stop and start again on the same state
    # the state directory is removed on exit unless K3sim(state_dir=...) was given

Attributes: k.url, k.kubeconfig, k.state, k.port, k.token (bearer token), k.proc.
Requests use the admin client certificate; k.request(..., token=T) uses a bearer token
instead (token="" for an anonymous request). k.env() gives os.environ with KUBECONFIG set,
for running kubectl or agentd against the simulator.
"""
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
K3SIM = os.path.join(HERE, "k3sim")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body)

    def warnings(self):
        return [v for k, v in self.headers if k.lower() == "warning"]

    def __repr__(self):
        return "<Response %d %s>" % (self.status, self.body[:200])


class Watch:
    """An open watch stream; next() returns one decoded event, None on timeout or end.
    After the stream ended, .error is None for a clean end (last chunk received) and an
    exception for a cut connection."""

    def __init__(self, conn, resp):
        self.conn = conn
        self.resp = resp
        self.events = []
        self.ended = False
        self.error = None
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        """Decode the chunked body by hand: http.client cannot tell a cut stream from an end."""
        fp, buf = self.resp.fp, b""
        try:
            while True:
                size_line = fp.readline()
                if not size_line:
                    raise http.client.IncompleteRead(buf)
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    break
                data = fp.read(size)
                fp.readline()
                if len(data) < size:
                    raise http.client.IncompleteRead(data)
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        with self._cv:
                            self.events.append(json.loads(line))
                            self._cv.notify_all()
        except Exception as e:       # the reader thread reports whatever ended the stream
            self.error = e
        with self._cv:
            self.ended = True
            self._cv.notify_all()

    def next(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self.events and not self.ended:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cv.wait(left)
            return self.events.pop(0) if self.events else None

    def wait_end(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self.ended and time.monotonic() < deadline:
                self._cv.wait(deadline - time.monotonic())
            return self.ended

    def close(self):
        try:
            self.conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class K3sim:
    def __init__(self, speed=1.0, state_dir=None, port=0, start_timeout=10.0):
        self.speed = speed
        self.port = port
        self.own_state = state_dir is None
        self.state = state_dir or tempfile.mkdtemp(prefix="k3sim-")
        self.start_timeout = start_timeout
        self.proc = None
        self.url = None
        self.kubeconfig = None
        self.stderr_path = os.path.join(self.state, "k3sim.stderr")

    # ------------------------------------------------------------ lifecycle
    def start(self):
        args = [K3SIM, "--state", self.state, "--port", str(self.port), "--speed", str(self.speed)]
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        line = [None]

        def read():
            line[0] = self.proc.stdout.readline()
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(self.start_timeout)
        if not line[0] or not line[0].startswith("READY "):
            self.stop()
            raise RuntimeError("k3sim did not become ready: %r; stderr: %s" % (line[0], self.stderr()))
        fields = dict(kv.split("=", 1) for kv in line[0].split()[1:])
        self.kubeconfig, self.url = fields["kubeconfig"], fields["url"]
        self.port = urllib.parse.urlsplit(self.url).port
        tls = os.path.join(self.state, "tls")
        self.ctx = ssl.create_default_context(cafile=os.path.join(tls, "server-ca.crt"))
        self.ctx.load_cert_chain(os.path.join(tls, "client-admin.crt"), os.path.join(tls, "client-admin.key"))
        self.anon_ctx = ssl.create_default_context(cafile=os.path.join(tls, "server-ca.crt"))
        with open(os.path.join(self.state, "token")) as f:
            self.token = f.read().strip()
        with open(os.path.join(self.state, "control-url")) as f:
            self.control_url = f.read().strip()
        with open(os.path.join(self.state, "control-token")) as f:
            self.control_token = f.read().strip()
        return self

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self, kill=False):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self._stderr.close()
        self.proc = None

    def reboot(self, kill=False):
        """Stop k3sim (SIGTERM, or SIGKILL with kill=True) and start it on the same state."""
        self.stop(kill)
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self.own_state:
            shutil.rmtree(self.state, ignore_errors=True)

    def env(self):
        e = dict(os.environ)
        e["KUBECONFIG"] = self.kubeconfig
        return e

    # ------------------------------------------------------------ API client
    def _conn(self, token=None, timeout=30):
        ctx = self.ctx if token is None else self.anon_ctx
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)

    def request(self, method, path, body=None, ctype="application/json", token=None, headers=None,
                timeout=30, **query):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            if isinstance(data, str):
                data = data.encode()
        h = {"Accept": "application/json", "User-Agent": "k3sim-harness/1"}
        if data is not None:
            h["Content-Type"] = ctype
        if token:
            h["Authorization"] = "Bearer " + token
        h.update(headers or {})
        conn = self._conn(token, timeout)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read())
        finally:
            conn.close()

    def get(self, path, **query):
        return self.request("GET", path, **query)

    def post(self, path, obj, **query):
        return self.request("POST", path, obj, **query)

    def put(self, path, obj, **query):
        return self.request("PUT", path, obj, **query)

    def patch(self, path, body, ctype="application/merge-patch+json", **query):
        return self.request("PATCH", path, body, ctype, **query)

    def apply(self, path, obj, manager="test", force=False, **query):
        q = dict(query, fieldManager=manager)
        if force:
            q["force"] = "true"
        return self.request("PATCH", path, obj, "application/apply-patch+yaml", **q)

    def delete(self, path, body=None, **query):
        return self.request("DELETE", path, body, **query)

    def watch(self, path, timeout=30, **query):
        query["watch"] = "1"
        path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        conn = self._conn(None, timeout)
        conn.request("GET", path, headers={"Accept": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            body = resp.read()
            conn.close()
            raise RuntimeError("watch %s: %d %s" % (path, resp.status, body[:300]))
        return Watch(conn, resp)

    # ------------------------------------------------------------ control API
    def control(self, verb, **args):
        req = urllib.request.Request(self.control_url + "/" + verb, data=json.dumps(args).encode(),
                                     headers={"X-Sim-Token": self.control_token,
                                              "Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def wait_for(self, cond, timeout=10.0, interval=0.1, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(interval)
        raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
