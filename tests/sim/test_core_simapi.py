"""k3sim core: the Sim API world code plugs into (ARCHITECTURE.md), exercised in-process:
admission chain, controllers, pod proxy, log sources, boot and restart hooks, events."""
import http.client
import json
import os
import shutil
import ssl
import tempfile
import threading
import time
import unittest

from simlib import errors
from simlib.errors import ApiError
from simlib.main import Instance

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
       "spec": {"containers": [{"name": "c", "image": "busybox:1", "ports": [{"containerPort": 8200}]}]}}


class InProcess(unittest.TestCase):
    """A simulator inside the test process, world code left out."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="k3sim-inproc-")
        self.start()

    def start(self, install=None):
        self.inst = Instance(self.dir, world=False, install=install)
        self.sim = self.inst.sim
        self.thread = threading.Thread(target=self.inst.run, daemon=True)
        self.thread.start()
        p = self.inst.pki
        self.ctx = ssl.create_default_context(cafile=p.ca_crt)
        self.ctx.load_cert_chain(p.admin_crt, p.admin_key)
        if self.sim.get("v1", "Namespace", "", "a") is None:
            self.sim.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}, admit=False)

    def stop(self):
        self.inst.stop()
        self.thread.join(10)

    def tearDown(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def req(self, method, path, body=None, ctype="application/json"):
        c = http.client.HTTPSConnection("127.0.0.1", self.inst.api.port, context=self.ctx, timeout=10)
        try:
            c.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                      headers={"Content-Type": ctype})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read(), r.getheaders()
        finally:
            c.close()


class AdmissionTest(InProcess):
    def test_mutating_runs_before_validating_and_warnings_reach_headers(self):
        order = []

        def mutate(sim, req):
            order.append(("m", req.operation, req.kind, req.namespace, req.user))
            if req.operation == "CREATE":
                req.obj["metadata"].setdefault("labels", {})["mutated"] = "yes"
            return ["mutated it"]

        def validate(sim, req):
            order.append(("v", req.operation, (req.obj or {}).get("metadata", {}).get("labels", {}).get("mutated")))
            if req.obj and req.obj["metadata"].get("labels", {}).get("deny") == "1":
                raise ApiError(403, "Forbidden", 'pods "p" is forbidden: denied by test')
            return None

        self.sim.add_admission("test-validate", validate, mutating=False)
        self.sim.add_admission("test-mutate", mutate, mutating=True)
        status, headers, body, raw = self.req("POST", "/api/v1/namespaces/a/pods", POD)
        self.assertEqual(status, 201, body)
        self.assertEqual(json.loads(body)["metadata"]["labels"]["mutated"], "yes")
        self.assertIn(("Warning", '299 - "mutated it"'), raw)
        self.assertEqual(order[0], ("m", "CREATE", ("v1", "Pod"), "a", "system:admin"))
        self.assertEqual(order[1], ("v", "CREATE", "yes"))
        denied = json.loads(json.dumps(POD))
        denied["metadata"].update(name="q", labels={"deny": "1"})
        status, _, body, _ = self.req("POST", "/api/v1/namespaces/a/pods", denied)
        self.assertEqual(status, 403)
        self.assertEqual(json.loads(body)["message"], 'pods "p" is forbidden: denied by test')
        # sim.create with admit=True goes through the same chain
        with self.assertRaises(ApiError):
            self.sim.create(denied, admit=True)
        self.assertIsNotNone(self.sim.create(dict(denied, metadata={"name": "r", "namespace": "a"}), admit=True))
        self.assertIsNotNone(self.sim.create(denied, admit=False))
        status, _, _, _ = self.req("DELETE", "/api/v1/namespaces/a/pods/p")
        self.assertEqual(status, 200)
        self.assertIn("DELETE", [o[1] for o in order])


class ControllerTest(InProcess):
    def test_controller_ticks_with_lock_and_can_be_paused(self):
        ticks = []

        def ctl(sim):
            self.assertTrue(sim.lock._is_owned())
            ticks.append(1)
        self.sim.add_controller("counter", ctl)
        time.sleep(0.5)
        self.assertGreaterEqual(len(ticks), 3)
        self.sim.paused.add("counter")
        time.sleep(0.2)
        n = len(ticks)
        time.sleep(0.4)
        self.assertEqual(len(ticks), n)

    def test_a_failing_controller_does_not_stop_others(self):
        ticks = []

        def bad(sim):
            raise RuntimeError("boom")
        self.sim.add_controller("bad", bad)
        self.sim.add_controller("good", lambda sim: ticks.append(1))
        time.sleep(0.4)
        self.assertGreater(len(ticks), 1)


class PodTest(InProcess):
    def pod_with_ip(self):
        pod = self.sim.create(POD, admit=False)
        pod["status"]["podIP"] = "10.42.0.9"
        pod["status"]["phase"] = "Running"
        pod["status"]["containerStatuses"] = [{"name": "c", "ready": True, "restartCount": 0, "image": "busybox:1",
                                               "state": {"running": {"startedAt": self.sim.now()}}}]
        return self.sim.update_status(pod)

    def test_proxy_errors_and_handler(self):
        self.sim.create(POD, admit=False)
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p:8200/proxy/v1/sys/seal-status")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["kind"], "Status")
        self.sim.delete("v1", "Pod", "a", "p")
        self.pod_with_ip()
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p:8200/proxy/v1/sys/seal-status")
        self.assertEqual(status, 503)
        st = json.loads(body)
        self.assertEqual((st["kind"], st["reason"], st["code"]), ("Status", "ServiceUnavailable", 503))
        self.assertEqual(st["message"], "error trying to reach service: dial tcp 10.42.0.9:8200: connect: "
                                        "connection refused")
        seen = []

        def proxy(sim, pod, port, method, path_qs, headers, body):
            seen.append((pod["metadata"]["name"], port, method, path_qs, headers.get("X-Vault-Token"), body))
            if port != 8200:
                return None
            return 503, {"Content-Type": "application/json"}, {"errors": ["Vault is sealed"]}
        self.sim.add_pod_proxy(proxy)
        c = http.client.HTTPSConnection("127.0.0.1", self.inst.api.port, context=self.ctx, timeout=10)
        c.request("PUT", "/api/v1/namespaces/a/pods/p:8200/proxy/v1/sys/unseal?x=1", body=b'{"key":"k"}',
                  headers={"X-Vault-Token": "t", "Authorization": "Bearer secret"})
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())), (503, {"errors": ["Vault is sealed"]}))
        c.close()
        self.assertEqual(seen[-1], ("p", 8200, "PUT", "/v1/sys/unseal?x=1", "t", b'{"key":"k"}'))
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p:9999/proxy/")
        self.assertEqual(status, 503)

    def test_logs(self):
        self.sim.create(POD, admit=False)
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p/log")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["message"], 'container "c" in pod "p" is waiting to start: '
                                                      'ContainerCreating')
        self.sim.add_log_source(lambda sim, pod, c: "line1\nline2\nline3\n" if c == "c" else None)
        status, headers, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p/log")
        self.assertEqual((status, body), (200, b"line1\nline2\nline3\n"))
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p/log?tailLines=1")
        self.assertEqual(body, b"line3\n")
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/p/log?container=nope")
        self.assertEqual(status, 400)
        two = json.loads(json.dumps(POD))
        two["metadata"]["name"] = "two"
        two["spec"]["containers"].append({"name": "d", "image": "busybox:1"})
        self.sim.create(two, admit=False)
        status, _, body, _ = self.req("GET", "/api/v1/namespaces/a/pods/two/log")
        self.assertEqual((status, json.loads(body)["message"]),
                         (400, "a container name must be specified for pod two, choose one of: [c d]"))

    def test_follow_log_streams_appended_text(self):
        self.pod_with_ip()
        self.sim.append_log("a", "p", "c", "first\n")
        c = http.client.HTTPSConnection("127.0.0.1", self.inst.api.port, context=self.ctx, timeout=10)
        c.request("GET", "/api/v1/namespaces/a/pods/p/log?follow=true")
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.fp.readline(), b"6\r\n")
        self.assertEqual(r.fp.readline(), b"first\n")
        with self.sim.lock:
            self.sim.append_log("a", "p", "c", "second\n")
        r.fp.readline()
        self.assertEqual(r.fp.readline(), b"7\r\n")
        self.assertEqual(r.fp.readline(), b"second\n")
        c.close()

    def test_restart_default_and_hook(self):
        self.pod_with_ip()
        pod = self.sim.restart_pod("a", "p")
        cs = pod["status"]["containerStatuses"][0]
        self.assertEqual(cs["restartCount"], 1)
        self.assertIn("terminated", cs["lastState"])
        calls = []
        self.sim.on_pod_restart(lambda sim, pod: calls.append(pod["metadata"]["name"]) or True)
        self.sim.restart_pod("a", "p")
        self.assertEqual(calls, ["p"])
        self.assertEqual(self.sim.get("v1", "Pod", "a", "p")["status"]["containerStatuses"][0]["restartCount"], 1)
        with self.assertRaises(ApiError) as cm:
            self.sim.restart_pod("a", "nope")
        self.assertEqual(cm.exception.code, 404)


class SimApiTest(InProcess):
    def test_get_list_update_delete_and_copies(self):
        sim = self.sim
        cm = sim.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "a",
                                                                                "labels": {"app": "v"}}},
                        admit=False)
        cm["data"] = {"mutated": "locally"}
        self.assertNotIn("data", sim.get("v1", "ConfigMap", "a", "x"))
        self.assertEqual(len(sim.list("v1", "ConfigMap", "a", label_selector="app=v")), 1)
        self.assertEqual(len(sim.list("v1", "ConfigMap", "a", label_selector={"matchLabels": {"app": "v"}})), 1)
        self.assertEqual(len(sim.list("v1", "ConfigMap", None, field_selector={"metadata.name": "x"})), 1)
        up = sim.update(cm, manager="my-controller")
        self.assertEqual(up["data"], {"mutated": "locally"})
        self.assertIn("my-controller", [e["manager"] for e in up["metadata"]["managedFields"]])
        stale = dict(cm)
        with self.assertRaises(ApiError) as ctx:
            sim.update(stale)
        self.assertEqual(ctx.exception.code, 409)
        sim.delete("v1", "ConfigMap", "a", "x")
        self.assertIsNone(sim.get("v1", "ConfigMap", "a", "x"))
        with self.assertRaises(ApiError) as ctx:
            sim.get("v9", "Nope", "a", "x")
        self.assertEqual(ctx.exception.code, 404)

    def test_emit_event_dedups(self):
        pod = self.sim.create(POD, admit=False)
        e1 = self.sim.emit_event(pod, "Warning", "BackOff", "Back-off restarting", "kubelet")
        e2 = self.sim.emit_event(pod, "Warning", "BackOff", "Back-off restarting", "kubelet")
        self.assertEqual(e1["metadata"]["name"], e2["metadata"]["name"])
        self.assertEqual(e2["count"], 2)
        self.assertEqual(e2["involvedObject"]["uid"], pod["metadata"]["uid"])
        evs = self.sim.list("v1", "Event", "a", field_selector="involvedObject.name=p,reason=BackOff")
        self.assertEqual(len(evs), 1)

    def test_errors_module_shapes(self):
        st = errors.not_found("pods", "x").status()
        self.assertEqual(st, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": 'pods "x" not found', "reason": "NotFound",
                              "details": {"name": "x", "kind": "pods"}, "code": 404})
        st = errors.already_exists("deployments", "d", "apps").status()
        self.assertEqual(st["message"], 'deployments.apps "d" already exists')
        self.assertEqual(st["details"], {"name": "d", "group": "apps", "kind": "deployments"})

    def test_world_state_persists_and_boot_hooks_run_on_reboot(self):
        with self.sim.lock:
            self.sim.world_state["vault"] = {"initialized": True}
            self.sim.dirty = True
        self.stop()
        booted = []
        self.start(install=lambda sim: sim.on_boot(lambda s: booted.append(dict(s.world_state))))
        self.assertEqual(booted, [{"vault": {"initialized": True}}])
        self.assertTrue(self.sim.rebooted)


if __name__ == "__main__":
    unittest.main()
