"""The control API: plain HTTP on 127.0.0.1, header X-Sim-Token, POST /VERB with a JSON
object of arguments, JSON answers. Verbs are listed in VERBS (simctl's usage text too)."""
import hmac
import http.server
import json
import threading
import time

from .errors import ApiError

VERBS = {
    "unavailable": "seconds: close the API's listening socket (connection refused) for N s, then reopen the same port",
    "fail": "seconds[, path]: answer every API request (or those whose path holds PATH) with 503 for N s",
    "delay": "ms: delay every API response by N ms (0 clears)",
    "lag": "ms, path, method (default GET): hold back the answers to matching requests (path substring) "
           "for N ms after they are made; clear-faults removes every lag",
    "drop": "count: reset every open API connection now and the next N new ones",
    "truncate": "count: truncate the JSON body of the next N API responses",
    "cut-watches": "end every open watch stream abruptly",
    "clear-faults": "undo delay, lag, fail, drop and truncate",
    "advance": "seconds: move the simulated clock forward",
    "clock": "the simulated time",
    "restart-pod": "namespace, name: restart a pod's containers like its kubelet would",
    "pause": "controller: stop running a controller",
    "resume": "controller: run a paused controller again",
    "config": "KEY=VALUE...: set world_config keys (JSON values); no arguments: show world_config",
    "compact": "forget the watch history (older resourceVersions answer 410 Gone)",
    "history": "size: keep only the last N changes for watches (default 4096)",
    "log": "namespace, pod, container, text: append to a container's log",
    "status": "faults, controllers, clock, requests (API requests received so far)",
    "shutdown": "save state and exit",
}


class ControlServer:
    def __init__(self, sim, api, token, on_shutdown):
        self.sim = sim
        self.api = api
        self.token = token
        self.on_shutdown = on_shutdown
        ctl = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                self.handle_verb()

            def do_GET(self):
                self.handle_verb()

            def handle_verb(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                if not hmac.compare_digest(self.headers.get("X-Sim-Token", ""), ctl.token):
                    return self.reply(401, {"error": "bad or missing X-Sim-Token"})
                verb = self.path.strip("/").split("?")[0]
                try:
                    args = json.loads(raw) if raw else {}
                    if not isinstance(args, dict):
                        raise ValueError("arguments must be a JSON object")
                    self.reply(200, ctl.run(verb, args))
                except ApiError as e:
                    self.reply(e.code, {"error": e.message})
                except (KeyError, ValueError, TypeError) as e:
                    self.reply(400, {"error": "%s: %s" % (verb, e)})

            def reply(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def start(self):
        threading.Thread(target=self.httpd.serve_forever, name="control", daemon=True).start()

    def run(self, verb, a):
        sim, f = self.sim, self.sim.faults
        if verb == "unavailable":
            self.api.go_down(float(a["seconds"]))
        elif verb == "fail":
            f.set(fail_until=time.monotonic() + float(a["seconds"]), fail_path=str(a.get("path", "")))
        elif verb == "delay":
            f.set(delay_ms=int(a["ms"]))
        elif verb == "lag":
            if not str(a.get("path", "")):
                raise ValueError("path (a substring of the request path) is required")
            f.add_lag(str(a.get("method", "GET")), str(a["path"]), int(a["ms"]))
        elif verb == "drop":
            # A reset hits established connections too: a client reusing its
            # keep-alive connection would otherwise never see it.
            f.set(drop=int(a["count"]))
            self.api.drop_connections()
        elif verb == "truncate":
            f.set(truncate=int(a["count"]))
        elif verb == "cut-watches":
            with sim.lock:
                sim.store.cut_watches()
        elif verb == "clear-faults":
            f.clear()
        elif verb == "advance":
            sim.clock.advance(float(a["seconds"]))
        elif verb == "clock":
            pass
        elif verb == "restart-pod":
            return {"pod": sim.restart_pod(a["namespace"], a["name"])}
        elif verb in ("pause", "resume"):
            name = a["controller"]
            with sim.lock:
                if name not in sim.controller_names():
                    raise ValueError("no controller named %r (have: %s)" % (name, ", ".join(sim.controller_names())))
                (sim.paused.add if verb == "pause" else sim.paused.discard)(name)
        elif verb == "config":
            with sim.lock:
                sim.world_config.update(a)
                sim.dirty = True
                return {"config": dict(sim.world_config)}
        elif verb == "compact":
            with sim.lock:
                sim.store.compact()
        elif verb == "history":
            with sim.lock:
                sim.store.resize_history(int(a["size"]))
        elif verb == "log":
            with sim.lock:
                sim.append_log(a["namespace"], a["pod"], a["container"], a["text"])
        elif verb == "status":
            pass
        elif verb == "shutdown":
            threading.Thread(target=self.on_shutdown, daemon=True).start()
            return {"ok": True}
        else:
            raise ValueError("unknown verb (have: %s)" % ", ".join(sorted(VERBS)))
        with sim.lock:
            return {"ok": True, "now": sim.now(), "faults": f.describe(), "paused": sorted(sim.paused),
                    "controllers": sim.controller_names(), "resourceVersion": sim.store.rv,
                    "requests": f.requests}
