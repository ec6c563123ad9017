"""k3sim core: watches (initial state, resourceVersion, selectors, bookmarks, timeouts,
410 Gone) and namespace / cluster-scoped watch paths."""
import time
import unittest

from harness import K3sim

CMS = "/api/v1/namespaces/w/configmaps"


def cm(name, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}},
            "data": {"k": "v"}}


class WatchTest(unittest.TestCase):
    def setUp(self):
        self.k = K3sim().start()
        self.k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "w"}})
        # The namespace's defaults (ConfigMap kube-root-ca.crt, as a real cluster's
        # publisher makes it) arrive from a controller: let them land before any
        # test lists or watches the ConfigMaps, or one shows up as a stray ADDED.
        self.k.wait_for(lambda: self.k.get(CMS + "/kube-root-ca.crt").status == 200, timeout=10,
                        what="the namespace's kube-root-ca.crt")

    def tearDown(self):
        self.k.__exit__(None, None, None)

    def test_stream_from_list_resource_version(self):
        self.k.post(CMS, cm("before"))
        lst = self.k.get(CMS).json
        rv = lst["metadata"]["resourceVersion"]
        with self.k.watch(CMS, resourceVersion=rv) as w:
            self.k.post(CMS, cm("a"))
            self.k.patch(CMS + "/a", {"data": {"k": "w"}})
            self.k.delete(CMS + "/a")
            evs = [w.next(), w.next(), w.next()]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
        self.assertTrue(all(e["object"]["metadata"]["name"] == "a" for e in evs))
        self.assertEqual(evs[1]["object"]["data"], {"k": "w"})
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in evs]
        self.assertEqual(rvs, sorted(rvs))
        self.assertGreater(rvs[0], int(rv))

    def test_without_resource_version_sends_current_state_first(self):
        self.k.post(CMS, cm("x"))
        with self.k.watch(CMS, fieldSelector="metadata.name=x") as w:
            e = w.next()
            self.assertEqual((e["type"], e["object"]["metadata"]["name"]), ("ADDED", "x"))
            self.assertIsNone(w.next(timeout=0.5))

    def test_history_replay_from_older_resource_version(self):
        rv = self.k.post(CMS, cm("r1", {"t": "1"})).json["metadata"]["resourceVersion"]
        self.k.post(CMS, cm("r2", {"t": "1"}))
        self.k.post(CMS, cm("r3", {"t": "1"}))
        with self.k.watch(CMS, resourceVersion=rv, labelSelector="t=1") as w:
            names = [w.next()["object"]["metadata"]["name"], w.next()["object"]["metadata"]["name"]]
        self.assertEqual(names, ["r2", "r3"])

    def test_label_selector_moves_in_and_out(self):
        self.k.post(CMS, cm("s", {"app": "no"}))
        rv = self.k.get(CMS).json["metadata"]["resourceVersion"]
        with self.k.watch(CMS, resourceVersion=rv, labelSelector="app=yes") as w:
            self.k.patch(CMS + "/s", {"metadata": {"labels": {"app": "yes"}}})
            self.assertEqual(w.next()["type"], "ADDED")
            self.k.patch(CMS + "/s", {"data": {"k": "2"}})
            self.assertEqual(w.next()["type"], "MODIFIED")
            self.k.patch(CMS + "/s", {"metadata": {"labels": {"app": "no"}}})
            self.assertEqual(w.next()["type"], "DELETED")
            self.k.patch(CMS + "/s", {"data": {"k": "3"}})
            self.assertIsNone(w.next(timeout=0.5))

    def test_too_old_resource_version_is_410_error_event(self):
        rv = self.k.post(CMS, cm("old")).json["metadata"]["resourceVersion"]
        self.k.post(CMS, cm("new"))
        self.k.control("compact")
        with self.k.watch(CMS, resourceVersion=rv) as w:
            e = w.next()
            self.assertTrue(w.wait_end())
        self.assertEqual(e["type"], "ERROR")
        st = e["object"]
        self.assertEqual((st["kind"], st["status"], st["code"], st["reason"]), ("Status", "Failure", 410, "Expired"))
        self.assertRegex(st["message"], r"^too old resource version: \d+ \(\d+\)$")
        # the current resourceVersion still works after compaction
        cur = self.k.get(CMS).json["metadata"]["resourceVersion"]
        with self.k.watch(CMS, resourceVersion=cur) as w:
            self.k.post(CMS, cm("after"))
            self.assertEqual(w.next()["object"]["metadata"]["name"], "after")

    def test_bounded_history_expires(self):
        rv = self.k.get(CMS).json["metadata"]["resourceVersion"]
        self.k.control("history", size=5)
        for i in range(8):
            self.k.post(CMS, cm("h%d" % i))
        with self.k.watch(CMS, resourceVersion=rv) as w:
            e = w.next()
        self.assertEqual((e["type"], e["object"]["code"]), ("ERROR", 410))

    def test_timeout_seconds_ends_stream_cleanly(self):
        t0 = time.monotonic()
        with self.k.watch(CMS, resourceVersion=self.k.get(CMS).json["metadata"]["resourceVersion"],
                          timeoutSeconds=1) as w:
            self.assertTrue(w.wait_end(5))
            self.assertIsNone(w.error)
        self.assertLess(time.monotonic() - t0, 4)

    def test_bookmarks(self):
        self.k.control("config", bookmark_seconds=0.3)
        rv = self.k.get(CMS).json["metadata"]["resourceVersion"]
        with self.k.watch(CMS, resourceVersion=rv, allowWatchBookmarks="true", labelSelector="t=1") as w:
            e = w.next(3)
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual((e["object"]["kind"], e["object"]["apiVersion"]), ("ConfigMap", "v1"))
        self.assertGreaterEqual(int(e["object"]["metadata"]["resourceVersion"]), int(rv))
        with self.k.watch(CMS, sendInitialEvents="true", allowWatchBookmarks="true",
                          resourceVersionMatch="NotOlderThan") as w:
            e = w.next()
            while e["type"] == "ADDED":
                e = w.next()
        self.assertEqual(e["type"], "BOOKMARK")
        self.assertEqual(e["object"]["metadata"]["annotations"], {"k8s.io/initial-events-end": "true"})

    def test_cluster_scoped_and_all_namespaces(self):
        rv = self.k.get("/api/v1/namespaces").json["metadata"]["resourceVersion"]
        with self.k.watch("/api/v1/namespaces", resourceVersion=rv) as wn, \
                self.k.watch("/api/v1/configmaps", resourceVersion=rv) as wc:
            self.k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "w2"}})
            self.k.post("/api/v1/namespaces/w2/configmaps", cm("c"))
            self.assertEqual(wn.next()["object"]["metadata"]["name"], "w2")
            seen = set()
            for _ in range(3):
                e = wc.next(2)
                if e:
                    seen.add((e["object"]["metadata"]["namespace"], e["object"]["metadata"]["name"]))
            self.assertIn(("w2", "c"), seen)

    def test_cut_watches(self):
        with self.k.watch(CMS, resourceVersion=self.k.get(CMS).json["metadata"]["resourceVersion"]) as w:
            self.k.control("cut-watches")
            self.assertTrue(w.wait_end(5))
            self.assertIsNotNone(w.error)          # no clean end of the chunked stream


if __name__ == "__main__":
    unittest.main()
