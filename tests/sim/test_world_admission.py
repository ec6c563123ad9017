"""Admission in a running k3sim: PodSecurity, ResourceQuota, LimitRange."""
import unittest

import world_fixtures as fx
from harness import K3sim


class AdmissionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = K3sim().start()

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)

    def ns(self, name, labels=None):
        r = self.k.post("/api/v1/namespaces", fx.namespace(name, labels))
        self.assertEqual(r.status, 201, r.body)

    def test_restricted_rejects_privileged_pod_with_real_message(self):
        self.ns("pss-r", fx.RESTRICTED)
        bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "priv"},
               "spec": {"containers": [{"name": "x", "image": "nginx", "securityContext": {"privileged": True}}]}}
        r = self.k.post("/api/v1/namespaces/pss-r/pods", bad)
        self.assertEqual(r.status, 403)
        st = r.json
        self.assertEqual((st["kind"], st["reason"], st["code"]), ("Status", "Forbidden", 403))
        self.assertEqual(st["message"],
                         'pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged '
                         '(container "x" must not set securityContext.privileged=true), allowPrivilegeEscalation != '
                         'false (container "x" must set securityContext.allowPrivilegeEscalation=false), unrestricted '
                         'capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), '
                         'runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), '
                         'seccompProfile (pod or container "x" must set securityContext.seccompProfile.type to '
                         '"RuntimeDefault" or "Localhost")')
        ok = self.k.post("/api/v1/namespaces/pss-r/pods", fx.pod("good"))
        self.assertEqual(ok.status, 201, ok.body)
        self.assertEqual(ok.warnings(), [])

    def test_version_label_and_warn_mode(self):
        self.ns("pss-w", {"pod-security.kubernetes.io/enforce": "baseline",
                          "pod-security.kubernetes.io/warn": "restricted",
                          "pod-security.kubernetes.io/warn-version": "v1.30"})
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"},
             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        r = self.k.post("/api/v1/namespaces/pss-w/pods", p)
        self.assertEqual(r.status, 201, r.body)
        warnings = fx.warning_texts(r)
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn('would violate PodSecurity "restricted:v1.30": allowPrivilegeEscalation != false', warnings[0])
        # a Deployment is warned about, not rejected
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
             "spec": {"selector": {"matchLabels": {"a": "b"}},
                      "template": {"metadata": {"labels": {"a": "b"}},
                                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
        r = self.k.post("/apis/apps/v1/namespaces/pss-w/deployments", d)
        self.assertEqual(r.status, 201, r.body)
        self.assertTrue(any("would violate PodSecurity" in w for w in fx.warning_texts(r)), r.warnings())

    def test_baseline_v1_0_enforce(self):
        self.ns("pss-b", {"pod-security.kubernetes.io/enforce": "baseline",
                          "pod-security.kubernetes.io/enforce-version": "v1.0"})
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hostnet"},
             "spec": {"hostNetwork": True, "containers": [{"name": "c", "image": "nginx"}]}}
        r = self.k.post("/api/v1/namespaces/pss-b/pods", p)
        self.assertEqual(r.status, 403)
        self.assertIn('violates PodSecurity "baseline:v1.0": host namespaces (hostNetwork=true)', r.json["message"])

    def test_labeling_namespace_warns_about_existing_pods(self):
        self.ns("pss-l")
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "old"},
             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
        self.assertEqual(self.k.post("/api/v1/namespaces/pss-l/pods", p).status, 201)
        r = self.k.patch("/api/v1/namespaces/pss-l",
                         {"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})
        self.assertEqual(r.status, 200, r.body)
        w = fx.warning_texts(r)
        self.assertTrue(any('existing pods in namespace "pss-l" violate the new PodSecurity enforce level '
                            '"restricted:latest"' in x for x in w), w)
        self.assertTrue(any(x.startswith("old: allowPrivilegeEscalation != false") for x in w), w)

    def test_quota_requires_limits_and_tracks_usage(self):
        self.ns("quota")
        q = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute"},
             "spec": {"hard": {"requests.cpu": "300m", "limits.cpu": "1", "limits.memory": "1Gi", "pods": "5"}}}
        self.assertEqual(self.k.post("/api/v1/namespaces/quota/resourcequotas", q).status, 201)
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nolimits"},
             "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
        r = self.k.post("/api/v1/namespaces/quota/pods", p)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json["message"], 'pods "nolimits" is forbidden: failed quota: compute: must specify '
                                            'limits.cpu for: app; limits.memory for: app; requests.cpu for: app')
        self.assertEqual(self.k.post("/api/v1/namespaces/quota/pods", fx.pod("a")).status, 201)
        self.assertEqual(self.k.post("/api/v1/namespaces/quota/pods", fx.pod("b")).status, 201)
        self.assertEqual(self.k.post("/api/v1/namespaces/quota/pods", fx.pod("c")).status, 201)
        r = self.k.post("/api/v1/namespaces/quota/pods", fx.pod("d"))
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json["message"], 'pods "d" is forbidden: exceeded quota: compute, requested: '
                                            'requests.cpu=100m, used: requests.cpu=300m, limited: requests.cpu=300m')

        def used():
            st = self.k.get("/api/v1/namespaces/quota/resourcequotas/compute").json.get("status") or {}
            return st if st.get("used", {}).get("pods") == "3" else None
        st = self.k.wait_for(used, timeout=10, what="quota status")
        self.assertEqual(st["used"]["requests.cpu"], "300m")
        self.assertEqual(st["used"]["limits.memory"], "384Mi")
        self.assertEqual(st["hard"]["pods"], "5")

    def test_quota_rejection_becomes_failed_create_event(self):
        self.ns("quota-ev")
        q = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "mem"},
             "spec": {"hard": {"limits.memory": "1Gi"}}}
        self.assertEqual(self.k.post("/api/v1/namespaces/quota-ev/resourcequotas", q).status, 201)
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}
        self.assertEqual(self.k.post("/apis/apps/v1/namespaces/quota-ev/deployments", d).status, 201)

        def event():
            for ev in self.k.get("/api/v1/namespaces/quota-ev/events").json["items"]:
                if ev["reason"] == "FailedCreate" and ev["involvedObject"]["kind"] == "ReplicaSet":
                    return ev
            return None
        ev = self.k.wait_for(event, timeout=10, what="FailedCreate event")
        self.assertEqual(ev["type"], "Warning")
        self.assertRegex(ev["message"], r'^Error creating: pods "web-[a-z0-9]+-[a-z0-9]{5}" is forbidden: failed '
                                        r'quota: mem: must specify limits.memory for: web$')
        dep = fx.get_when(self.k, "/apis/apps/v1/namespaces/quota-ev/deployments/web",
                          lambda d: fx.cond(d, "ReplicaFailure"), what="ReplicaFailure")
        cond = fx.cond(dep, "ReplicaFailure")
        self.assertEqual((cond["status"], cond["reason"]), ("True", "FailedCreate"))
        self.assertIn("failed quota: mem: must specify limits.memory for: web", cond["message"])

    def test_limit_range_defaults(self):
        self.ns("lr")
        lr = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
              "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
                                   "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                                   "max": {"cpu": "1"}}]}}
        self.assertEqual(self.k.post("/api/v1/namespaces/lr/limitranges", lr).status, 201)
        p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
             "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
        r = self.k.post("/api/v1/namespaces/lr/pods", p)
        self.assertEqual(r.status, 201, r.body)
        res = r.json["spec"]["containers"][0]["resources"]
        self.assertEqual(res, {"limits": {"cpu": "500m", "memory": "256Mi"},
                               "requests": {"cpu": "100m", "memory": "128Mi"}})
        self.assertEqual(r.json["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
                         "LimitRanger plugin set: cpu, memory request for container app; "
                         "cpu, memory limit for container app")
        p["metadata"]["name"] = "big"
        p["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "2"}}
        r = self.k.post("/api/v1/namespaces/lr/pods", p)
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json["message"], 'pods "big" is forbidden: maximum cpu usage per Container is 1, '
                                            'but limit is 2')


if __name__ == "__main__":
    unittest.main()
