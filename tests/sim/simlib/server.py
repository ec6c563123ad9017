"""The HTTPS API server: TLS with client certificates or bearer tokens, routing of the
Kubernetes REST paths, watches (chunked), logs, the pod proxy, and the transport faults."""
import base64
import copy
import http.server
import json
import os
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import urllib.parse

import yaml

from . import errors, openapi, protobuf, store
from .errors import ApiError

PUBLIC_PATHS = {"/readyz", "/livez", "/healthz", "/version"}
PATCH_TYPES = {"application/apply-patch+yaml": "apply", "application/merge-patch+json": "merge",
               "application/json-patch+json": "json", "application/strategic-merge-patch+json": "strategic"}
BOOKMARK_SECONDS = 30.0


class ApiServer:
    def __init__(self, sim, port, ctx):
        self.sim = sim
        self.port = port
        self.ctx = ctx
        self.sock = None
        self.conns = set()
        self.mu = threading.Lock()
        self.stopped = False
        self.url = None

    def bind(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(128)
        s.settimeout(0.2)
        self.port = s.getsockname()[1]
        self.url = "https://127.0.0.1:%d" % self.port
        self.sock = s

    def start(self):
        self.bind()
        threading.Thread(target=self._accept_loop, name="api-accept", daemon=True).start()

    def _accept_loop(self):
        while not self.stopped:
            s = self.sock
            if s is None:
                time.sleep(0.05)
                continue
            try:
                conn, addr = s.accept()
            except (socket.timeout, OSError):
                continue
            if self.sim.faults.take_drop():
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                continue
            threading.Thread(target=self._serve_conn, args=(conn, addr), daemon=True).start()

    def _serve_conn(self, conn, addr):
        with self.mu:
            self.conns.add(conn)
        tls = None
        try:
            conn.settimeout(10)
            tls = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
            # wrap_socket takes CONN's descriptor over (CONN is closed): drop_connections
            # must reach the TLS socket.
            with self.mu:
                self.conns.discard(conn)
                self.conns.add(tls)
            tls.do_handshake()
            tls.settimeout(None)
            Handler(tls, addr, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self.mu:
                self.conns.discard(conn)
                self.conns.discard(tls)
            for s in (tls, conn):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def drop_connections(self):
        with self.mu:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def go_down(self, seconds):
        """Close the listening socket (connection refused) and every connection, then listen
        again on the same port after SECONDS."""
        self.sim.faults.set(down_until=time.monotonic() + seconds)
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        with self.sim.lock:
            self.sim.store.cut_watches()
        self.drop_connections()

        def back():
            time.sleep(seconds)
            while not self.stopped:
                try:
                    self.bind()
                    return
                except OSError:
                    time.sleep(0.05)
        threading.Thread(target=back, name="api-back", daemon=True).start()

    def stop(self):
        self.stopped = True
        if self.sock is not None:
            self.sock.close()
        self.drop_connections()


def _peer_user(sock):
    try:
        cert = sock.getpeercert()
    except (ValueError, OSError):
        return None
    if not cert:
        return None
    cn, groups = None, []
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                groups.append(v)
    return (cn, groups) if cn else None


class Handler(http.server.BaseHTTPRequestHandler):
    """One client connection. Stored objects are never mutated in place (every write stores
    a new dict), so responses are serialized after the lock is released."""

    protocol_version = "HTTP/1.1"
    server_version = "k3sim"
    sys_version = ""
    timeout = 300

    def __init__(self, request, client_address, api):
        self.api = api
        self.sim = api.sim
        super().__init__(request, client_address, api)

    def log_message(self, fmt, *args):
        if os.environ.get("K3SIM_DEBUG"):
            sys.stderr.write("k3sim: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    # ------------------------------------------------------------ plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, warnings=(), extra=None):
        body = json.dumps(obj).encode()
        if self.sim.faults.take_truncate():
            body = body[:max(1, len(body) // 2)]
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        for w in warnings:
            self.send_header("Warning", '299 - "%s"' % w.replace("\\", "\\\\").replace('"', '\\"'))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.lag()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def lag(self):
        """The 'lag' fault: the answer is made (the state read), then held back."""
        s = self.sim.faults.lag_for(self.command, self.path)
        if s > 0:
            time.sleep(s)

    def send_text(self, code, text, ctype="text/plain; charset=utf-8"):
        body = text.encode() if isinstance(text, str) else text
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.lag()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_error_status(self, err):
        self.send_json(err.code, err.status())

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_stream(self, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def cut(self):
        """End the connection without a final chunk, like a dropped network path."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def authenticate(self):
        u = _peer_user(self.connection)
        if u:
            return u
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[7:].strip()
            with self.sim.lock:
                return self.sim.tokens.get(tok)
        return None

    # ------------------------------------------------------------ dispatch
    def dispatch(self, method):
        self.audit_id = os.urandom(16).hex()
        faults = self.sim.faults
        faults.count_request()
        try:
            body = self.read_body() if method in ("POST", "PUT", "PATCH", "DELETE") else b""
            if faults.delay_ms:
                time.sleep(faults.delay_ms / 1000.0)
            url = urllib.parse.urlsplit(self.path)
            path = url.path.rstrip("/") or "/"
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            if faults.failing(url.path):
                if path in ("/readyz", "/livez", "/healthz"):
                    self.send_text(503, "[-]etcd failed: reason withheld\n%s check failed\n" % path[1:])
                else:
                    self.send_error_status(errors.unavailable())
                return
            if path not in PUBLIC_PATHS:
                user = self.authenticate()
                if user is None:
                    self.send_error_status(errors.unauthorized())
                    return
                self.user = user[0]
            else:
                # Credentials are checked before the anonymous fallback: a bad bearer
                # token is refused even here (kube-apiserver: union.NewFailOnError).
                user = self.authenticate()
                if user is None and self.headers.get("Authorization"):
                    self.send_error_status(errors.unauthorized())
                    return
                self.user = user[0] if user else "system:anonymous"
            self.route(method, path, q, body)
        except ApiError as e:
            self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception:
            sys.stderr.write("k3sim: %s %s failed:\n%s" % (method, self.path, traceback.format_exc()))
            self.send_error_status(errors.internal("unexpected server error"))

    def route(self, method, path, q, body):
        if path in ("/readyz", "/livez", "/healthz"):
            if "verbose" in q:
                self.send_text(200, "[+]ping ok\n[+]etcd ok\n%s check passed\n" % path[1:])
            else:
                self.send_text(200, "ok")
            return
        if path == "/version":
            self.send_json(200, {"major": "1", "minor": "32", "gitVersion": openapi.VERSION,
                                 "gitCommit": "k3sim", "gitTreeState": "clean", "buildDate": "2025-03-27T00:00:00Z",
                                 "goVersion": "go1.23.6", "compiler": "gc", "platform": "linux/amd64"})
            return
        if path == "/openapi/v3":
            with self.sim.lock:
                doc = openapi.index(self.sim.registry)
            self.send_json(200, doc)
            return
        if path.startswith("/openapi/v3/"):
            with self.sim.lock:
                doc = openapi.document(self.sim.registry, path[len("/openapi/v3/"):])
            if not doc["paths"]:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            self.send_json(200, doc)
            return
        parts = path.strip("/").split("/")
        if parts[0] == "api":
            if len(parts) == 1:
                self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:%d" % self.api.port}]})
                return
            if parts[1] != "v1":
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            self.resource(method, "", "v1", parts[2:], q, body)
            return
        if parts[0] == "apis":
            with self.sim.lock:
                groups = self.sim.registry.groups()
            if len(parts) == 1:
                self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    _group_doc(g, vs) for g, vs in groups]})
                return
            match = dict(groups).get(parts[1])
            if match is None:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            if len(parts) == 2:
                doc = _group_doc(parts[1], match)
                doc.update({"kind": "APIGroup", "apiVersion": "v1"})
                self.send_json(200, doc)
                return
            if parts[2] not in match:
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            self.resource(method, parts[1], parts[2], parts[3:], q, body)
            return
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")

    def resource(self, method, group, version, segs, q, body):
        reg = self.sim.registry
        gv = group + "/" + version if group else version
        if not segs:
            with self.sim.lock:
                res = []
                for k in reg.all():
                    if k.group == group and k.version == version:
                        res.extend(k.discovery())
            self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                                 "resources": res})
            return
        ns = None
        with self.sim.lock:
            if segs[0] == "namespaces" and len(segs) >= 3 and segs[2] not in ("status", "finalize"):
                ns = segs[1]
                segs = segs[2:]
                kind = reg.by_resource(group, version, segs[0])
                if kind is not None and not kind.namespaced:
                    kind = None
            else:
                kind = reg.by_resource(group, version, segs[0])
        if kind is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        name = segs[1] if len(segs) > 1 else None
        sub = segs[2] if len(segs) > 2 else ""
        if name and sub == "proxy":
            self.proxy(method, kind, ns, name, "/" + "/".join(segs[3:]), q, body)
            return
        if len(segs) > 3 or (sub and sub not in kind.subresources):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "log":
            self.pod_log(kind, ns, name, q)
            return
        if sub in ("scale", "proxy"):
            raise errors.method_not_allowed(method)
        if kind.namespaced and name is None and ns is None and method not in ("GET", "HEAD"):
            if method != "POST":
                raise errors.method_not_allowed(method)
        self.crud(method, kind, ns or "", name, sub, q, body)

    # ------------------------------------------------------------ CRUD
    def decode(self, body, ctype, kind=None):
        if ctype == "application/vnd.kubernetes.protobuf" and kind is not None:
            return protobuf.decode(body, kind.api_version, kind.kind)
        if not body:
            raise errors.bad_request("the body of the request was in an unknown format - accepted media types "
                                     "include: application/json, application/yaml")
        try:
            return json.loads(body)
        except ValueError:
            pass
        if "yaml" in ctype:
            try:
                return yaml.safe_load(body.decode())
            except (yaml.YAMLError, UnicodeDecodeError) as e:
                raise errors.bad_request("error converting YAML to JSON: %s" % str(e).replace("\n", " "))
        raise errors.bad_request("couldn't get version/kind; json parse error: invalid character in body")

    def manager(self, q, default_prefix=True):
        m = q.get("fieldManager")
        if m:
            return m
        ua = self.headers.get("User-Agent", "")
        return ua.split("/")[0] if ua else "unknown"

    def crud(self, method, kind, ns, name, sub, q, body):
        sim = self.sim
        dry = q.get("dryRun") == "All"
        if q.get("dryRun") not in (None, "All"):
            raise errors.invalid("CreateOptions", "", "meta.k8s.io", [(
                "dryRun", "FieldValueNotSupported", "Unsupported value: \"%s\": supported values: \"All\""
                % q.get("dryRun"))])
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if method in ("GET", "HEAD"):
            if name is None:
                if q.get("watch") in ("1", "true"):
                    self.watch(kind, ns or None, q)
                    return
                self.list(kind, ns or None, q)
                return
            with sim.lock:
                obj = sim.store.get(kind.key, ns, name)
                if obj is None:
                    raise errors.not_found(kind.plural, name, kind.group)
            self.send_json(200, obj)
            return
        if method == "POST":
            if name is not None:
                raise errors.method_not_allowed(method)
            obj = self.decode(body, ctype, kind)
            with sim.lock:
                created, warnings = sim.do_create(kind, ns, obj, self.user, self.manager(q), True, dry)
            self.send_json(201, created, warnings)
            return
        if name is None:
            if method == "DELETE":
                self.delete_collection(kind, ns or None, q, body)
                return
            raise errors.method_not_allowed(method)
        if method == "PUT":
            obj = self.decode(body, ctype, kind)
            with sim.lock:
                out, warnings = sim.do_update(kind, ns, name, obj, self.user, self.manager(q), sub, True, dry)
            self.send_json(200, out, warnings)
            return
        if method == "PATCH":
            ptype = PATCH_TYPES.get(ctype)
            if ptype is None:
                raise errors.ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown "
                                      "format - accepted media types include: application/json-patch+json, "
                                      "application/merge-patch+json, application/apply-patch+yaml")
            if ptype == "apply":
                if not q.get("fieldManager"):
                    raise errors.ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: "
                                          "Required value: is required for apply patch",
                                          {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                                              {"reason": "FieldValueRequired", "message":
                                               "Required value: is required for apply patch",
                                               "field": "fieldManager"}]})
            elif "force" in q:
                raise errors.ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: "
                                      "may not be specified for non-apply patch",
                                      {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
                                          {"reason": "FieldValueForbidden", "message":
                                           "Forbidden: may not be specified for non-apply patch", "field": "force"}]})
            patch_body = self.decode(body, "yaml" if ptype == "apply" else ctype)
            force = q.get("force") in ("true", "1")
            with sim.lock:
                existed = sim.store.get(kind.key, ns, name) is not None
                out, warnings = sim.do_patch(kind, ns, name, ptype, patch_body, self.user, self.manager(q), force,
                                             sub, dry)
            self.send_json(200 if existed or ptype != "apply" else 201, out, warnings)
            return
        if method == "DELETE":
            opts = self.decode(body, ctype) if body else {}
            prop = q.get("propagationPolicy") or opts.get("propagationPolicy")
            orphan = q.get("orphanDependents") or opts.get("orphanDependents")
            if prop is None and orphan is not None:
                prop = "Orphan" if str(orphan).lower() == "true" else "Background"
            with sim.lock:
                out, now, warnings = sim.do_delete(kind, ns, name, self.user, prop, opts.get("preconditions"),
                                                   True, dry)
            self.send_json(202 if not now and prop == "Foreground" else 200, out, warnings)
            return
        raise errors.method_not_allowed(method)

    def list(self, kind, ns, q):
        sim = self.sim
        limit = int(q.get("limit") or 0)
        cont = q.get("continue")
        start = 0
        with sim.lock:
            items = sim.select(kind, ns, q.get("labelSelector"), q.get("fieldSelector"))
            rv = sim.store.rv
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont.encode()))
                    start, tok_rv = int(tok["start"]), int(tok["rv"])
                except (ValueError, KeyError, TypeError):
                    raise errors.bad_request("continue key is not valid: illegal base64 data")
                if tok_rv < sim.store.compacted:
                    raise errors.gone("The provided continue parameter is too old to display a consistent list "
                                      "result. You can start a new list without the continue parameter, or use "
                                      "the continue token in this response to retrieve the remainder of the "
                                      "results. Continuing with the provided token results in an inconsistent "
                                      "list - objects that were created, modified, or deleted between the time "
                                      "the first chunk was returned and now may show up in the list.")
            page = items[start:start + limit] if limit else items[start:]
            meta = {"resourceVersion": str(rv)}
            if limit and start + limit < len(items):
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"start": start + limit, "rv": rv}).encode()).decode()
                meta["remainingItemCount"] = len(items) - start - limit
        self.send_json(200, {"kind": kind.kind + "List", "apiVersion": kind.api_version,
                             "metadata": meta, "items": page})

    def delete_collection(self, kind, ns, q, body):
        sim = self.sim
        deleted = []
        with sim.lock:
            for o in list(sim.select(kind, ns, q.get("labelSelector"), q.get("fieldSelector"))):
                out, _, _ = sim.do_delete(kind, o["metadata"].get("namespace", ""), o["metadata"]["name"],
                                          self.user, q.get("propagationPolicy"), None, True,
                                          q.get("dryRun") == "All")
                deleted.append(out)
            self.send_json(200, {"kind": kind.kind + "List", "apiVersion": kind.api_version,
                                 "metadata": {"resourceVersion": str(sim.store.rv)}, "items": deleted})

    # ------------------------------------------------------------ watch
    def watch(self, kind, ns, q):
        sim = self.sim
        lreqs = store.parse_label_selector(q.get("labelSelector"))
        freqs = store.parse_field_selector(q.get("fieldSelector"), kind)
        rv = q.get("resourceVersion")
        bookmarks = q.get("allowWatchBookmarks") in ("true", "1")
        initial_flag = q.get("sendInitialEvents") in ("true", "1")
        timeout = float(q.get("timeoutSeconds") or 0)
        initial = []
        err = None
        with sim.lock:
            try:
                if rv in (None, "", "0") or initial_flag:
                    initial = sim.select(kind, ns, q.get("labelSelector"), q.get("fieldSelector"))
                    w = sim.store.watch(kind.key, ns, lreqs, freqs, None)
                else:
                    try:
                        since = int(rv)
                    except ValueError:
                        raise errors.bad_request("invalid resource version: %s" % rv)
                    w = sim.store.watch(kind.key, ns, lreqs, freqs, since)
            except ApiError as e:
                if e.code != 410:
                    raise
                err = e
            bookmark_every = float(sim.world_config.get("bookmark_seconds", BOOKMARK_SECONDS))
        self.start_stream("application/json")
        if err is not None:
            self.chunk(json.dumps({"type": "ERROR", "object": err.status()}).encode() + b"\n")
            self.chunk(b"")
            return
        try:
            for o in initial:
                self.chunk(json.dumps({"type": "ADDED", "object": o}).encode() + b"\n")
            if initial_flag and bookmarks:
                self.chunk(json.dumps(self.bookmark(kind, {"k8s.io/initial-events-end": "true"})).encode() + b"\n")
            deadline = time.monotonic() + timeout if timeout > 0 else None
            next_bm = time.monotonic() + bookmark_every
            while True:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    self.chunk(b"")
                    return
                wait = min(0.5, (deadline - now) if deadline else 0.5)
                try:
                    ev = w.queue.get(timeout=max(0.01, wait))
                except Exception:
                    ev = False
                if ev is None or w.cut:
                    self.cut()
                    return
                if ev:
                    self.chunk(json.dumps({"type": ev[0], "object": ev[1]}).encode() + b"\n")
                elif bookmarks and time.monotonic() >= next_bm:
                    self.chunk(json.dumps(self.bookmark(kind, None)).encode() + b"\n")
                    next_bm = time.monotonic() + bookmark_every
        finally:
            with sim.lock:
                sim.store.unwatch(w)

    def bookmark(self, kind, annotations):
        with self.sim.lock:
            md = {"resourceVersion": str(self.sim.store.rv)}
        if annotations:
            md["annotations"] = annotations
        return {"type": "BOOKMARK", "object": {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": md}}

    # ------------------------------------------------------------ pods: log, proxy
    def pod_log(self, kind, ns, name, q):
        sim = self.sim
        follow = q.get("follow") in ("true", "1")
        tail = q.get("tailLines")
        with sim.lock:
            pod = sim.store.get(kind.key, ns, name)
            if pod is None:
                raise errors.not_found("pods", name)
            container = _log_container(pod, q.get("container"))
            text = _log_text(sim, pod, container)
        if not follow:
            self.send_text(200, _tail(text, tail))
            return
        self.start_stream("text/plain")
        sent = _tail(text, tail)
        self.chunk(sent.encode())
        pos = len(text)
        while True:
            time.sleep(0.3)
            with sim.lock:
                pod = sim.store.get(kind.key, ns, name)
                if pod is None:
                    break
                try:
                    text = _log_text(sim, pod, container)
                except ApiError:
                    break
            if len(text) > pos:
                self.chunk(text[pos:].encode())
                pos = len(text)
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Succeeded", "Failed"):
                break
        self.chunk(b"")

    def proxy(self, method, kind, ns, name_port, rest, q, body):
        sim = self.sim
        name, port = name_port, None
        scheme = "http"
        bits = name_port.split(":")
        if len(bits) == 3:
            scheme, name, port = bits
        elif len(bits) == 2:
            name, port = bits
        with sim.lock:
            if kind.key != ("", "pods"):
                raise errors.ApiError(404, "NotFound", "the server could not find the requested resource")
            pod = sim.store.get(kind.key, ns, name)
            if pod is None:
                raise errors.not_found("pods", name)
            ip = (pod.get("status") or {}).get("podIP")
            if not ip:
                raise errors.bad_request("address not allowed")
            port = int(port) if port and port.isdigit() else 80
            qs = urllib.parse.urlencode(q)
            path_qs = (rest or "/") + ("?" + qs if qs else "")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("authorization", "host")}
            answer = None
            for fn in sim._proxies:
                answer = fn(sim, copy.deepcopy(pod), port, method, path_qs, headers, body)
                if answer is not None:
                    break
        if answer is None:
            raise errors.ApiError(503, "ServiceUnavailable", "error trying to reach service: dial tcp %s:%d: "
                                  "connect: connection refused" % (ip, port))
        status, hdrs, payload = answer
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
        self.send_response(status)
        ctype_set = False
        for k, v in (hdrs or {}).items():
            if k.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            ctype_set = ctype_set or k.lower() == "content-type"
            self.send_header(k, v)
        if not ctype_set:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.lag()
        self.end_headers()
        self.wfile.write(payload)


def _log_container(pod, container):
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    inits = [c.get("name") for c in spec.get("initContainers") or []]
    name = pod["metadata"]["name"]
    if not container:
        if len(names) == 1:
            return names[0]
        msg = "a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(names))
        if inits:
            msg += " or one of the init containers: [%s]" % " ".join(inits)
        raise errors.bad_request(msg)
    if container not in names + inits:
        raise errors.bad_request("container %s is not valid for pod %s" % (container, name))
    return container


def _log_text(sim, pod, container):
    statuses = ((pod.get("status") or {}).get("containerStatuses") or []) + \
        ((pod.get("status") or {}).get("initContainerStatuses") or [])
    st = next((s for s in statuses if s.get("name") == container), None)
    waiting = ((st or {}).get("state") or {}).get("waiting")
    text = None if waiting else sim.pod_log(pod, container)
    if text is None:
        reason = (waiting or {}).get("reason") or "ContainerCreating"
        raise errors.bad_request('container "%s" in pod "%s" is waiting to start: %s'
                                 % (container, pod["metadata"]["name"], reason))
    return text


def _tail(text, tail):
    if tail in (None, ""):
        return text
    n = int(tail)
    lines = text.splitlines(True)
    return "".join(lines[-n:]) if n > 0 else ""


def _group_doc(group, versions):
    vs = [{"groupVersion": group + "/" + v, "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def make_ssl_context(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_crt, pki.server_key)
    ctx.load_verify_locations(pki.ca_crt)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx
