"""k3sim core: the control API's faults, clock, reboot persistence, controller pause."""
import datetime
import http.client
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import unittest

from harness import HERE, K3sim

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "f"}}


def parse_time(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


class FaultTest(unittest.TestCase):
    def setUp(self):
        self.k = K3sim().start()

    def tearDown(self):
        self.k.__exit__(None, None, None)

    def test_unavailable_refuses_then_comes_back_on_the_same_port(self):
        port = self.k.port
        self.k.control("unavailable", seconds=1.5)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        time.sleep(0.5)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        self.k.wait_for(lambda: self._up(), timeout=5, what="API back")
        self.assertEqual(self.k.port, port)
        self.assertEqual(self.k.get("/readyz").status, 200)

    def _up(self):
        try:
            return self.k.get("/readyz").status == 200
        except OSError:
            return False

    def test_unavailable_ends_open_watches(self):
        w = self.k.watch("/api/v1/namespaces", resourceVersion=self.k.get("/api/v1/namespaces").json["metadata"]
                         ["resourceVersion"])
        self.k.control("unavailable", seconds=1)
        self.assertTrue(w.wait_end(5))
        self.assertIsNotNone(w.error)
        w.close()

    def test_503_window(self):
        self.k.control("fail", seconds=1)
        r = self.k.get("/api/v1/namespaces")
        self.assertEqual(r.status, 503)
        self.assertEqual((r.json["kind"], r.json["reason"], r.json["code"]), ("Status", "ServiceUnavailable", 503))
        self.assertEqual(self.k.get("/readyz").status, 503)
        self.k.wait_for(lambda: self.k.get("/api/v1/namespaces").status == 200, timeout=5, what="503s to end")

    def test_503_window_for_one_path(self):
        self.k.post("/api/v1/namespaces", NS)
        self.k.control("fail", seconds=2, path="/configmaps")
        r = self.k.get("/api/v1/namespaces/f/configmaps")
        self.assertEqual((r.status, r.json["reason"]), (503, "ServiceUnavailable"))
        self.assertEqual(self.k.get("/api/v1/namespaces").status, 200)
        self.assertEqual(self.k.get("/readyz").status, 200)
        self.k.wait_for(lambda: self.k.get("/api/v1/namespaces/f/configmaps").status == 200, timeout=5,
                        what="the path's 503s to end")

    def test_delay(self):
        self.k.control("delay", ms=400)
        t0 = time.monotonic()
        self.assertEqual(self.k.get("/api/v1/namespaces").status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.k.control("delay", ms=0)
        t0 = time.monotonic()
        self.k.get("/api/v1/namespaces")
        self.assertLess(time.monotonic() - t0, 0.4)

    def test_lag_sends_an_answer_made_before_a_later_change_after_it(self):
        self.k.post("/api/v1/namespaces", NS)
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lagged"}, "data": {"v": "1"}}
        self.k.post("/api/v1/namespaces/f/configmaps", cm)
        self.k.control("lag", ms=800, path="/configmaps/lagged")
        self.assertEqual(self.k.control("status")["faults"]["lags"],
                         [{"method": "GET", "path": "/configmaps/lagged", "ms": 800}])
        got = {}

        def slow_get():
            got["r"] = self.k.get("/api/v1/namespaces/f/configmaps/lagged")
            got["t"] = time.monotonic()

        t = threading.Thread(target=slow_get)
        t.start()
        time.sleep(0.3)
        cm["data"]["v"] = "2"
        self.assertEqual(self.k.put("/api/v1/namespaces/f/configmaps/lagged", cm).status, 200)
        put_done = time.monotonic()
        t.join(5)
        # The GET's answer was made before the PUT and arrives after the PUT's.
        self.assertEqual(got["r"].json["data"]["v"], "1")
        self.assertGreater(got["t"], put_done)
        self.assertEqual(self.k.get("/api/v1/namespaces").status, 200)  # other paths: no lag
        self.k.control("clear-faults")
        t0 = time.monotonic()
        self.assertEqual(self.k.get("/api/v1/namespaces/f/configmaps/lagged").json["data"]["v"], "2")
        self.assertLess(time.monotonic() - t0, 0.8)

    def test_lag_needs_a_path(self):
        with self.assertRaises(Exception):
            self.k.control("lag", ms=100)

    def test_drop_next_connections(self):
        self.k.control("drop", count=2)
        for _ in range(2):
            with self.assertRaises((ConnectionResetError, ssl.SSLError, http.client.RemoteDisconnected,
                                    BrokenPipeError)):
                self.k.get("/api/v1/namespaces")
        self.assertEqual(self.k.get("/api/v1/namespaces").status, 200)

    def test_drop_resets_an_open_keepalive_connection(self):
        conn = self.k._conn()
        try:
            conn.request("GET", "/readyz")
            r = conn.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"ok"))
            self.k.control("drop", count=0)
            with self.assertRaises((ConnectionResetError, ssl.SSLError, http.client.RemoteDisconnected,
                                    BrokenPipeError)):
                conn.request("GET", "/readyz")
                conn.getresponse().read()
        finally:
            conn.close()

    def test_truncated_json(self):
        self.k.control("truncate", count=1)
        r = self.k.get("/api/v1/namespaces")
        self.assertEqual(r.status, 200)
        with self.assertRaises(ValueError):
            json.loads(r.body)
        self.assertEqual(self.k.get("/api/v1/namespaces").json["kind"], "NamespaceList")

    def test_clear_faults(self):
        self.k.control("fail", seconds=30)
        self.k.control("clear-faults")
        self.assertEqual(self.k.get("/api/v1/namespaces").status, 200)

    def test_control_needs_token_and_known_verbs(self):
        import urllib.error
        import urllib.request
        req = urllib.request.Request(self.k.control_url + "/status", data=b"{}", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(req)
        self.assertEqual(cm.exception.code, 401)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.k.control("nope")
        self.assertEqual(cm.exception.code, 400)
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.k.control("pause", controller="no-such-controller")
        self.assertEqual(cm.exception.code, 400)

    def test_pause_and_resume_a_controller(self):
        self.k.post("/api/v1/namespaces", NS)
        self.k.control("pause", controller="namespace")
        self.k.delete("/api/v1/namespaces/f")
        time.sleep(0.5)
        ns = self.k.get("/api/v1/namespaces/f").json
        self.assertEqual(ns["status"]["phase"], "Terminating")
        self.assertNotIn("conditions", ns["status"])
        self.assertEqual(self.k.control("status")["paused"], ["namespace"])
        self.k.control("resume", controller="namespace")
        self.k.wait_for(lambda: self.k.get("/api/v1/namespaces/f").status == 404, what="namespace gone")

    def test_simctl(self):
        out = subprocess.run([os.path.join(HERE, "simctl"), "--state", self.k.state, "advance", "60"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(json.loads(out.stdout)["ok"])
        out = subprocess.run([os.path.join(HERE, "simctl"), "--state", self.k.state, "config", "job_seconds=2",
                              "fail_images=[\"bad:1\"]"], capture_output=True, text=True, timeout=10)
        self.assertEqual(json.loads(out.stdout)["config"], {"job_seconds": 2, "fail_images": ["bad:1"]})
        out = subprocess.run([os.path.join(HERE, "simctl"), "--state", self.k.state, "bogus"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("unknown verb", out.stderr)


class ClockTest(unittest.TestCase):
    def test_advance_and_speed(self):
        with K3sim(speed=60) as k:
            t0 = parse_time(k.control("clock")["now"])
            time.sleep(1.0)
            t1 = parse_time(k.control("clock")["now"])
            self.assertGreaterEqual((t1 - t0).total_seconds(), 50)
            k.control("advance", seconds=7200)
            t2 = parse_time(k.control("clock")["now"])
            self.assertGreaterEqual((t2 - t1).total_seconds(), 7200)
            k.post("/api/v1/namespaces", NS)
            created = parse_time(k.get("/api/v1/namespaces/f").json["metadata"]["creationTimestamp"])
            self.assertGreaterEqual(created, t2)

    def test_bad_speed_is_rejected(self):
        out = subprocess.run([os.path.join(HERE, "k3sim"), "--state", "/nonexistent-k3sim", "--speed", "0"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--speed must be positive", out.stderr)


class RebootTest(unittest.TestCase):
    def test_objects_certs_and_config_survive_a_reboot(self):
        with K3sim() as k:
            k.post("/api/v1/namespaces", NS)
            cm = k.post("/api/v1/namespaces/f/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                            "metadata": {"name": "keep"}, "data": {"a": "1"}}).json
            k.control("config", job_seconds=3)
            with open(k.kubeconfig) as f:
                ca_before = [l for l in f if "certificate-authority-data" in l]
            rv_before = int(k.get("/api/v1/namespaces").json["metadata"]["resourceVersion"])
            k.reboot()
            got = k.get("/api/v1/namespaces/f/configmaps/keep")
            self.assertEqual(got.status, 200)
            self.assertEqual(got.json["metadata"]["uid"], cm["metadata"]["uid"])
            self.assertEqual(got.json["data"], {"a": "1"})
            with open(k.kubeconfig) as f:
                self.assertEqual([l for l in f if "certificate-authority-data" in l], ca_before)
            self.assertEqual(k.control("config")["config"]["job_seconds"], 3)
            r = k.post("/api/v1/namespaces/f/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "after"}})
            self.assertGreater(int(r.json["metadata"]["resourceVersion"]), rv_before)
            # the watch history did not survive: an old resourceVersion is gone
            with k.watch("/api/v1/namespaces/f/configmaps", resourceVersion=str(rv_before - 1)) as w:
                self.assertEqual(w.next()["type"], "ERROR")

    def test_state_survives_sigkill(self):
        with K3sim() as k:
            k.post("/api/v1/namespaces", NS)
            time.sleep(0.5)
            k.reboot(kill=True)
            self.assertEqual(k.get("/api/v1/namespaces/f").status, 200)


if __name__ == "__main__":
    unittest.main()
