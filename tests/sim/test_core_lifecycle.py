"""k3sim core: deletion (finalizers, propagation, garbage collection), namespace
termination (including a namespace stuck on a finalizer), CRDs served once Established."""
import unittest

from harness import K3sim


def cm(name, **md):
    m = {"name": name}
    m.update(md)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {"k": "v"}}


def owner_ref(o, block=False):
    ref = {"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
           "uid": o["metadata"]["uid"]}
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.k = K3sim().start()
        self.ns("l")

    def tearDown(self):
        self.k.__exit__(None, None, None)

    def ns(self, name):
        r = self.k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        self.assertEqual(r.status, 201, r.body)
        return r.json

    def gone(self, path, timeout=10):
        self.k.wait_for(lambda: self.k.get(path).status == 404, timeout, what=path + " gone")

    def test_finalizer_holds_object_until_removed(self):
        path = "/api/v1/namespaces/l/configmaps/f"
        self.k.post("/api/v1/namespaces/l/configmaps", cm("f", finalizers=["example.com/hold"]))
        r = self.k.delete(path)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json["metadata"]["deletionTimestamp"])
        got = self.k.get(path)
        self.assertEqual(got.status, 200)
        self.assertEqual(got.json["metadata"]["deletionGracePeriodSeconds"], 0)
        r = self.k.patch(path, {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})
        self.assertEqual(r.status, 422)
        self.assertIn("no new finalizers can be added if the object is being deleted", r.json["message"])
        r = self.k.patch(path, {"metadata": {"finalizers": None}})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.k.get(path).status, 404)

    def test_background_propagation_collects_dependents(self):
        owner = self.k.post("/api/v1/namespaces/l/configmaps", cm("owner")).json
        self.k.post("/api/v1/namespaces/l/configmaps", cm("dep", ownerReferences=[owner_ref(owner)]))
        self.k.post("/api/v1/namespaces/l/configmaps", cm("dep2", ownerReferences=[owner_ref(owner)]))
        r = self.k.delete("/api/v1/namespaces/l/configmaps/owner", propagationPolicy="Background")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.k.get("/api/v1/namespaces/l/configmaps/owner").status, 404)
        self.gone("/api/v1/namespaces/l/configmaps/dep")
        self.gone("/api/v1/namespaces/l/configmaps/dep2")

    def test_foreground_waits_for_blocking_dependents(self):
        owner = self.k.post("/api/v1/namespaces/l/configmaps", cm("fg")).json
        self.k.post("/api/v1/namespaces/l/configmaps",
                    cm("fgdep", ownerReferences=[owner_ref(owner, block=True)], finalizers=["example.com/x"]))
        r = self.k.delete("/api/v1/namespaces/l/configmaps/fg", {"propagationPolicy": "Foreground"})
        self.assertEqual(r.status, 202)
        self.assertIn("foregroundDeletion", r.json["metadata"]["finalizers"])
        self.k.wait_for(lambda: self.k.get("/api/v1/namespaces/l/configmaps/fgdep").json["metadata"]
                        .get("deletionTimestamp"), what="dependent being deleted")
        self.assertEqual(self.k.get("/api/v1/namespaces/l/configmaps/fg").status, 200)
        self.k.patch("/api/v1/namespaces/l/configmaps/fgdep", {"metadata": {"finalizers": None}})
        self.gone("/api/v1/namespaces/l/configmaps/fg")

    def test_orphan_keeps_dependents_without_the_reference(self):
        owner = self.k.post("/api/v1/namespaces/l/configmaps", cm("or")).json
        self.k.post("/api/v1/namespaces/l/configmaps", cm("ordep", ownerReferences=[owner_ref(owner)]))
        self.k.delete("/api/v1/namespaces/l/configmaps/or", propagationPolicy="Orphan")
        self.gone("/api/v1/namespaces/l/configmaps/or")
        dep = self.k.get("/api/v1/namespaces/l/configmaps/ordep")
        self.assertEqual(dep.status, 200)
        self.assertNotIn("ownerReferences", dep.json["metadata"])

    def test_preconditions(self):
        o = self.k.post("/api/v1/namespaces/l/configmaps", cm("pre")).json
        r = self.k.delete("/api/v1/namespaces/l/configmaps/pre", {"preconditions": {"uid": "nope"}})
        self.assertEqual(r.status, 409)
        r = self.k.delete("/api/v1/namespaces/l/configmaps/pre", {"preconditions": {"uid": o["metadata"]["uid"]}})
        self.assertEqual(r.status, 200)

    def test_namespace_termination(self):
        self.ns("t")
        self.k.post("/api/v1/namespaces/t/configmaps", cm("a"))
        self.k.post("/api/v1/namespaces/t/configmaps", cm("hold", finalizers=["example.com/hold"]))
        r = self.k.delete("/api/v1/namespaces/t")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"]["phase"], "Terminating")
        self.assertEqual(r.json["spec"]["finalizers"], ["kubernetes"])
        r = self.k.post("/api/v1/namespaces/t/configmaps", cm("late"))
        self.assertEqual((r.status, r.json["reason"]), (403, "Forbidden"))
        self.assertEqual(r.json["message"], 'configmaps "late" is forbidden: unable to create new content in '
                                            'namespace t because it is being terminated')
        self.assertEqual(r.json["details"]["causes"][0]["reason"], "NamespaceTerminating")
        self.gone("/api/v1/namespaces/t/configmaps/a")
        self.k.patch("/api/v1/namespaces/t/configmaps/hold", {"metadata": {"finalizers": None}})
        self.gone("/api/v1/namespaces/t")
        # a namespace of the same name can be created again
        self.ns("t")

    def test_namespace_stuck_on_finalizer(self):
        self.ns("stuck")
        self.k.post("/api/v1/namespaces/stuck/configmaps", cm("held", finalizers=["example.com/hold"]))
        self.k.delete("/api/v1/namespaces/stuck")

        def conditions():
            ns = self.k.get("/api/v1/namespaces/stuck").json
            conds = {c["type"]: c for c in ns["status"].get("conditions") or []}
            return conds if "NamespaceFinalizersRemaining" in conds else None
        conds = self.k.wait_for(conditions, what="namespace conditions")
        self.assertEqual(conds["NamespaceContentRemaining"]["status"], "True")
        self.assertEqual(conds["NamespaceContentRemaining"]["reason"], "SomeResourcesRemain")
        self.assertEqual(conds["NamespaceContentRemaining"]["message"],
                         "Some resources are remaining: configmaps. has 1 resource instances")
        self.assertEqual(conds["NamespaceFinalizersRemaining"]["status"], "True")
        self.assertEqual(conds["NamespaceFinalizersRemaining"]["message"],
                         "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource "
                         "instances")
        for t in ("NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
                  "NamespaceDeletionContentFailure"):
            self.assertEqual(conds[t]["status"], "False")
        ns = self.k.get("/api/v1/namespaces/stuck").json
        self.assertEqual(ns["status"]["phase"], "Terminating")
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])
        self.k.patch("/api/v1/namespaces/stuck/configmaps/held", {"metadata": {"finalizers": []}})
        self.gone("/api/v1/namespaces/stuck")

    def test_finalize_subresource_clears_the_kubernetes_finalizer(self):
        ns = self.ns("fin")
        self.k.control("pause", controller="namespace")
        try:
            self.k.delete("/api/v1/namespaces/fin")
            ns = self.k.get("/api/v1/namespaces/fin").json
            ns["spec"]["finalizers"] = []
            r = self.k.put("/api/v1/namespaces/fin/finalize", ns)
            self.assertEqual(r.status, 200, r.body)
            self.gone("/api/v1/namespaces/fin")
        finally:
            self.k.control("resume", controller="namespace")

    def test_job_default_propagation_orphans_pods(self):
        job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
               "spec": {"template": {"spec": {"restartPolicy": "Never",
                                              "containers": [{"name": "c", "image": "busybox:1"}]}}}}
        j = self.k.post("/apis/batch/v1/namespaces/l/jobs", job).json
        self.assertEqual(j["spec"]["selector"], {"matchLabels": {"batch.kubernetes.io/controller-uid":
                                                                 j["metadata"]["uid"]}})
        self.assertEqual(j["spec"]["template"]["metadata"]["labels"]["job-name"], "j")
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "j-pod", "ownerReferences": [dict(owner_ref(j), controller=True)]},
               "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
        self.assertEqual(self.k.post("/api/v1/namespaces/l/pods", pod).status, 201)
        self.k.delete("/apis/batch/v1/namespaces/l/jobs/j")
        self.gone("/apis/batch/v1/namespaces/l/jobs/j")
        self.assertEqual(self.k.get("/api/v1/namespaces/l/pods/j-pod").status, 200)


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "agenttasks.agents.example.com"},
       "spec": {"group": "agents.example.com", "scope": "Namespaced",
                "names": {"plural": "agenttasks", "singular": "agenttask", "kind": "AgentTask",
                          "shortNames": ["at"]},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {"type": "object",
                                                             "x-kubernetes-preserve-unknown-fields": True}},
                              "subresources": {"status": {}}}]}}


def establish(k):
    st = {"status": {"conditions": [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted"}],
        "acceptedNames": CRD["spec"]["names"], "storedVersions": ["v1"]}}
    r = k.patch("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/agenttasks.agents.example.com/status", st)
    assert r.status == 200, r.body


class CrdTest(unittest.TestCase):
    def test_kinds_served_once_established_and_removed_with_the_crd(self):
        with K3sim() as k:
            if "crd" in k.control("status")["controllers"]:
                k.control("pause", controller="crd")     # the world's controller would establish it at once
            k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}})
            r = k.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRD)
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(k.get("/apis/agents.example.com/v1").status, 404)
            establish(k)
            res = k.get("/apis/agents.example.com/v1").json["resources"]
            self.assertEqual(res[0]["shortNames"], ["at"])
            self.assertIn("agenttasks/status", [x["name"] for x in res])
            self.assertIn("agents.example.com", [g["name"] for g in k.get("/apis").json["groups"]])
            idx = k.get("/openapi/v3").json["paths"]
            self.assertIn("apis/agents.example.com/v1", idx)
            task = {"apiVersion": "agents.example.com/v1", "kind": "AgentTask", "metadata": {"name": "t1"},
                    "spec": {"task": "journalist"}}
            r = k.post("/apis/agents.example.com/v1/namespaces/c/agenttasks", task)
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(r.json["metadata"]["generation"], 1)
            r = k.patch("/apis/agents.example.com/v1/namespaces/c/agenttasks/t1", {"spec": {"x": 1}},
                        "application/strategic-merge-patch+json")
            self.assertEqual(r.status, 415)
            r = k.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/agenttasks.agents.example.com")
            self.assertEqual(r.status, 200)
            k.wait_for(lambda: k.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                                     "agenttasks.agents.example.com").status == 404, what="CRD gone")
            self.assertEqual(k.get("/apis/agents.example.com/v1/namespaces/c/agenttasks/t1").status, 404)
            self.assertEqual(k.get("/apis/agents.example.com/v1").status, 404)


if __name__ == "__main__":
    unittest.main()
