#!/usr/bin/python3
"""A scripted Kubernetes-shaped HTTPS server for tests/unit/test_kube.c and
test_vault.c.  Writes DIR/kubeconfig (CA file + bearer token), prints
"READY port=N", runs until stdin closes.  Every request needs the token.

  configmaps in namespace ns1: cm1 exists; anything else is a 404 Status
  PATCH (apply): echoes method, content type and query into the object's annotations;
                 name "invalid" gets a 422 Status
  /nonjson, /truncated: broken 200 bodies
  watch on ns1 configmaps: list rv 100 -> stream ADDED, BOOKMARK 105, ERROR 410;
                 list rv 200 -> stream MODIFIED, then the stream stays open
  /api/v1/namespaces/vault/pods/vault-N:8200/proxy/v1/...: a tiny Vault (see vault_*)
"""
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_testserver import QuietHandler, make_certs, serve, tls_server  # noqa: E402

TOKEN = "t0k-sekrit"
STATE = {"lists": 0, "vault": {}}
LOCK = threading.Lock()


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def cm(name, rv):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns1", "resourceVersion": rv}, "data": {}}


class Handler(QuietHandler):
    def send(self, code, obj, ctype="application/json"):
        self.reply(code, obj if isinstance(obj, (bytes, str)) else json.dumps(obj), ctype)

    def stream(self, events, hold=False):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for e in events:
            data = (json.dumps(e) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            time.sleep(0.05)
        if hold:
            time.sleep(3)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        path = u.path
        if path.startswith("/direct/v1/"):  # a Vault reached without the API server
            return self.vault("/api/v1/namespaces/vault/pods/direct:8200/proxy" + path[len("/direct"):], body)
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.send(401, status(401, "Unauthorized", "Unauthorized"))
        if path == "/readyz":
            return self.send(200, "ok", "text/plain")
        if path == "/nonjson":
            return self.send(200, "<html>proxy page</html>", "text/html")
        if path == "/truncated":
            return self.send(200, '{"kind":"ConfigMap","metadata":{"na')
        if path.startswith("/api/v1/namespaces/vault/pods/"):
            return self.vault(path, body)
        if path == "/api/v1/namespaces/ns2/configmaps":
            return self.ns2(q)
        base = "/api/v1/namespaces/ns1/configmaps"
        if path == base and self.command == "GET":
            if "watch" in q:
                return self.watch(q)
            with LOCK:
                if "labelSelector" not in q:  # the watch test's lists
                    STATE["lists"] += 1
                rv = "100" if STATE["lists"] <= 1 else "200"
            return self.send(200, {"kind": "ConfigMapList", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": rv},
                                   "items": [cm("cm1", rv)],
                                   "x-query": q})
        if path.startswith(base + "/"):
            name = path[len(base) + 1:]
            if self.command == "PATCH":
                if name == "invalid":
                    return self.send(422, status(422, "Invalid",
                                                 'ConfigMap "invalid" is invalid: data: Invalid value'))
                obj = json.loads(body)
                obj.setdefault("metadata", {})["annotations"] = {
                    "method": self.command, "ctype": self.headers.get("Content-Type"),
                    "query": u.query}
                return self.send(200, obj)
            if self.command == "DELETE":
                return self.send(200, status(200, "", "") | {"status": "Success", "details": {"query": u.query}})
            if name == "cm1":
                return self.send(200, cm("cm1", "7"))
            return self.send(404, status(404, "NotFound", 'configmaps "%s" not found' % name))
        if path == "/apis/batch/v1/namespaces/ns1/jobs" and self.command == "POST":
            obj = json.loads(body)
            obj["metadata"]["uid"] = "u-1"
            return self.send(201, obj)
        return self.send(404, status(404, "NotFound", "the server could not find the requested resource"))

    def ns2(self, q):
        """HTTP 410 on the first watch, then a normal stream after the re-list."""
        if "watch" not in q:
            with LOCK:
                STATE["ns2"] = STATE.get("ns2", 0) + 1
                rv = "stale-1" if STATE["ns2"] == 1 else "300"
            return self.send(200, {"kind": "ConfigMapList", "metadata": {"resourceVersion": rv}, "items": []})
        if q.get("resourceVersion") == "stale-1":
            return self.send(410, status(410, "Expired", "too old resource version: 1 (300)"))
        return self.stream([{"type": "MODIFIED", "object": cm("cm9", "301")}], hold=True)

    def watch(self, q):
        rv = q.get("resourceVersion")
        assert q.get("allowWatchBookmarks") == "true"
        if rv == "100":
            return self.stream([{"type": "ADDED", "object": cm("cm2", "101")},
                                {"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1",
                                                                "metadata": {"resourceVersion": "105"}}},
                                {"type": "ERROR", "object": status(410, "Expired", "too old resource version")}])
        if rv == "200":
            return self.stream([{"type": "MODIFIED", "object": cm("cm1", "201")}], hold=True)
        return self.send(410, status(410, "Gone", "too old"))

    # --- a tiny Vault behind the pod proxy ---------------------------------
    def vault(self, path, body):
        rest = path[len("/api/v1/namespaces/vault/pods/"):]
        pod, _, vpath = rest.partition("/proxy")
        if pod == "vault-down:8200":
            return self.send(503, status(503, "ServiceUnavailable",
                                         "error trying to reach service: dial tcp 10.42.0.9:8200: connect: connection refused"))
        if pod == "vault-noip:8200":
            return self.send(400, status(400, "BadRequest", "address not allowed"))
        with LOCK:
            v = STATE["vault"].setdefault(pod, {"init": False, "sealed": True, "progress": 0,
                                                "t": 1, "n": 1, "token": None, "kv": {}})
            return self.vault_locked(v, vpath, body)

    def vault_locked(self, v, vpath, body):
        tok = self.headers.get("X-Vault-Token")
        def seal():
            return {"type": "shamir", "initialized": v["init"], "sealed": v["sealed"], "t": v["t"],
                    "n": v["n"], "progress": v["progress"], "nonce": "", "version": "1.15.0",
                    "storage_type": "file"}
        if vpath == "/v1/sys/seal-status":
            return self.send(200, seal())
        if vpath.startswith("/v1/sys/health"):
            code = 501 if not v["init"] else 503 if v["sealed"] else 200
            return self.send(code, {"initialized": v["init"], "sealed": v["sealed"], "standby": False})
        if vpath == "/v1/sys/init" and self.command in ("POST", "PUT"):
            if v["init"]:
                return self.send(400, {"errors": ["Vault is already initialized"]})
            req = json.loads(body)
            v.update(init=True, t=req["secret_threshold"], n=req["secret_shares"], token="root-sekrit")
            keys = ["k%d-sekrit" % i for i in range(req["secret_shares"])]
            v["keys"] = keys
            return self.send(200, {"keys": keys, "keys_base64": [k + "-b64" for k in keys],
                                   "root_token": "root-sekrit",
                                   "x-pgp": req.get("pgp_keys")})
        if vpath == "/v1/sys/unseal":
            req = json.loads(body)
            if req.get("reset"):
                v["progress"] = 0
                return self.send(200, seal())
            if req.get("key") in [k + "-b64" for k in v.get("keys", [])]:
                v["progress"] += 1
                if v["progress"] >= v["t"]:
                    v.update(sealed=False, progress=0)
            else:
                v["progress"] = 0
            return self.send(200, seal())
        if tok != v["token"] or tok is None:
            return self.send(403, {"errors": ["permission denied"]})
        key = vpath[len("/v1/"):]
        if self.command == "GET":
            if key in v["kv"]:
                return self.send(200, {"data": v["kv"][key]})
            return self.send(404, {"errors": []})
        if self.command in ("POST", "PUT"):
            data = json.loads(body) if body else {}
            if key == "sys/policies/acl/bad":
                return self.send(400, {"errors": ["failed to parse policy", "line 1: bad"]})
            v["kv"][key] = data
            return self.send(204, b"")
        if self.command == "DELETE":
            v["kv"].pop(key, None)
            return self.send(204, b"")
        return self.send(405, {"errors": ["unsupported"]})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    d = sys.argv[1]
    make_certs(d)
    srv = tls_server(d, Handler)
    port = srv.server_address[1]
    with open(os.path.join(d, "token"), "w") as f:
        f.write(TOKEN + "\n")
    with open(os.path.join(d, "kubeconfig"), "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                "clusters: [{name: t, cluster: {server: 'https://127.0.0.1:%d', certificate-authority: ca.pem}}]\n"
                "contexts: [{name: t, context: {cluster: t, user: t}}]\n"
                "users: [{name: t, user: {tokenFile: token}}, {name: bad, user: {token: wrong}}]\n" % port)
    serve(srv)


if __name__ == "__main__":
    main()
