"""k3sim core: server-side apply (ownership, conflicts, force, no-op, removal) and the
other PATCH types."""
import json
import unittest

from harness import K3sim

DEP = "/apis/apps/v1/namespaces/ssa/deployments/web"


def deployment(replicas=2, image="nginx:1.27", labels=None, env=None):
    c = {"name": "c", "image": image}
    if env is not None:
        c["env"] = env
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ssa", "labels": labels or {"app": "web"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [c]}}}}


class SsaTest(unittest.TestCase):
    def setUp(self):
        self.k = K3sim().start()
        self.k.apply("/api/v1/namespaces/ssa", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "ssa"}}, manager="setup")

    def tearDown(self):
        self.k.__exit__(None, None, None)

    def entries(self, obj):
        return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}

    def test_create_on_apply_and_managed_fields(self):
        r = self.k.apply(DEP, deployment(), manager="alice")
        self.assertEqual(r.status, 201, r.body)
        e = self.entries(r.json)[("alice", "Apply")]
        self.assertEqual(e["apiVersion"], "apps/v1")
        self.assertEqual(e["fieldsType"], "FieldsV1")
        f = e["fieldsV1"]
        self.assertIn("f:replicas", f["f:spec"])
        self.assertEqual(f["f:spec"]["f:selector"], {})
        self.assertEqual(f["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"c"}'],
                         {".": {}, "f:image": {}, "f:name": {}})
        self.assertEqual(f["f:metadata"], {"f:labels": {"f:app": {}}})
        self.assertEqual(r.json["spec"]["strategy"]["type"], "RollingUpdate")  # defaults still apply

    def test_no_op_apply_keeps_resource_version(self):
        # a NetworkPolicy: no controller writes to it behind the test's back
        path = "/apis/networking.k8s.io/v1/namespaces/ssa/networkpolicies/deny"

        def netpol(ports):
            return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": "deny", "namespace": "ssa", "labels": {"a": "b"}},
                    "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                             "ingress": [{"ports": [{"port": p} for p in ports]}]}}
        first = self.k.apply(path, netpol([80]), manager="alice").json
        again = self.k.apply(path, netpol([80]), manager="alice")
        self.assertEqual(again.status, 200)
        self.assertEqual(again.json["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
        self.assertEqual(again.json["metadata"]["managedFields"], first["metadata"]["managedFields"])
        # the JSON form of the same configuration, as kubectl sends it, is a no-op too
        same = self.k.request("PATCH", path, json.dumps(netpol([80])), "application/apply-patch+yaml",
                              fieldManager="alice")
        self.assertEqual(same.json["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
        changed = self.k.apply(path, netpol([80, 443]), manager="alice").json
        self.assertNotEqual(changed["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
        self.assertEqual(changed["metadata"]["generation"], 2)

    def test_yaml_body(self):
        body = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  namespace: ssa\n"
                "data:\n  a: \"1\"\n")
        r = self.k.request("PATCH", "/api/v1/namespaces/ssa/configmaps/y", body, "application/apply-patch+yaml",
                           fieldManager="yaml")
        self.assertEqual(r.status, 201, r.body)
        self.assertEqual(r.json["data"], {"a": "1"})

    def test_conflict_then_force(self):
        self.k.apply(DEP, deployment(replicas=2), manager="alice")
        r = self.k.apply(DEP, deployment(replicas=5), manager="bob")
        self.assertEqual(r.status, 409, r.body)
        st = r.json
        self.assertEqual((st["kind"], st["status"], st["reason"], st["code"]), ("Status", "Failure", "Conflict", 409))
        self.assertEqual(st["message"], 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas')
        self.assertEqual(st["details"]["causes"], [{"reason": "FieldManagerConflict",
                                                    "message": 'conflict with "alice"', "field": ".spec.replicas"}])
        # same value: shared ownership, no conflict
        r = self.k.apply(DEP, deployment(replicas=2), manager="bob")
        self.assertEqual(r.status, 200, r.body)
        # two conflicting fields listed per manager
        r = self.k.apply(DEP, deployment(replicas=4, image="nginx:2"), manager="carol")
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json["message"],
                         'Apply failed with 4 conflicts: conflicts with "alice":\n- .spec.replicas\n'
                         '- .spec.template.spec.containers[name="c"].image\nconflicts with "bob":\n'
                         '- .spec.replicas\n- .spec.template.spec.containers[name="c"].image')
        r = self.k.apply(DEP, deployment(replicas=4, image="nginx:2"), manager="carol", force=True)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["spec"]["replicas"], 4)
        ent = self.entries(r.json)
        self.assertNotIn("f:replicas", ent[("alice", "Apply")]["fieldsV1"]["f:spec"])
        self.assertIn("f:replicas", ent[("carol", "Apply")]["fieldsV1"]["f:spec"])

    def test_update_takes_ownership_and_conflicts_name_operation(self):
        self.k.apply(DEP, deployment(replicas=2), manager="alice")
        r = self.k.patch(DEP, {"spec": {"replicas": 7}}, fieldManager="kubectl-scale")
        self.assertEqual(r.status, 200)
        ent = self.entries(r.json)
        self.assertIn(("kubectl-scale", "Update"), ent)
        self.assertEqual(ent[("kubectl-scale", "Update")]["fieldsV1"], {"f:spec": {"f:replicas": {}}})
        self.assertIn("time", ent[("kubectl-scale", "Update")])
        r = self.k.apply(DEP, deployment(replicas=2), manager="alice")
        self.assertEqual(r.status, 409)
        self.assertEqual(r.json["message"], 'Apply failed with 1 conflict: conflict with "kubectl-scale" using '
                                            'apps/v1: .spec.replicas')

    def test_dropping_a_field_from_the_configuration_removes_it(self):
        self.k.apply(DEP, deployment(labels={"app": "web", "team": "x"},
                                     env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]),
                     manager="alice")
        r = self.k.apply(DEP, deployment(env=[{"name": "A", "value": "1"}]), manager="alice")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["metadata"]["labels"], {"app": "web"})
        self.assertEqual(r.json["spec"]["template"]["spec"]["containers"][0]["env"], [{"name": "A", "value": "1"}])
        # a field another manager also owns stays
        self.k.patch(DEP, {"metadata": {"labels": {"owner": "ops"}}}, fieldManager="ops")
        self.k.apply(DEP, deployment(labels={"app": "web", "owner": "ops"}), manager="alice")
        r = self.k.apply(DEP, deployment(), manager="alice")
        self.assertEqual(r.json["metadata"]["labels"], {"app": "web", "owner": "ops"})

    def test_apply_errors(self):
        r = self.k.request("PATCH", DEP, json.dumps(deployment()), "application/apply-patch+yaml")
        self.assertEqual((r.status, r.json["reason"]), (422, "Invalid"))
        self.assertEqual(r.json["message"], 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                            'is required for apply patch')
        other = deployment()
        other["metadata"]["name"] = "other"
        r = self.k.apply(DEP, other, manager="m")
        self.assertEqual(r.status, 400)
        r = self.k.request("PATCH", DEP, "{", "application/apply-patch+yaml", fieldManager="m")
        self.assertEqual(r.status, 400)
        r = self.k.patch(DEP, {"spec": {}}, force="true")
        self.assertEqual(r.status, 422)
        r = self.k.patch(DEP, {"spec": {}})
        self.assertEqual((r.status, r.json["reason"]), (404, "NotFound"))

    def test_status_subresource_apply(self):
        # a Namespace: no controller rewrites the status of a live one
        path = "/api/v1/namespaces/ssa"
        cond = {"type": "Example", "status": "True", "reason": "Test", "message": "applied"}
        st = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ssa"},
              "status": {"conditions": [cond]}}
        r = self.k.apply(path + "/status", st, manager="ctl")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["status"]["conditions"], [cond])
        e = [x for x in r.json["metadata"]["managedFields"] if x["manager"] == "ctl"][0]
        self.assertEqual((e["operation"], e["subresource"]), ("Apply", "status"))
        self.assertIn('k:{"type":"Example"}', e["fieldsV1"]["f:status"]["f:conditions"])
        # status in an apply to the main resource is dropped
        main = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ssa", "labels": {"x": "1"}},
                "status": {"phase": "Terminating"}}
        r = self.k.apply(path, main, manager="setup")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json["status"]["phase"], "Active")
        self.assertEqual(r.json["metadata"]["labels"]["x"], "1")


class PatchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = K3sim().start()
        cls.k.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "p"}})

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)

    def test_merge_patch(self):
        path = "/api/v1/namespaces/p/configmaps/m"
        self.k.post("/api/v1/namespaces/p/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                        "metadata": {"name": "m"}, "data": {"a": "1", "b": "2"}})
        r = self.k.patch(path, {"data": {"a": None, "c": "3"}})
        self.assertEqual(r.json["data"], {"b": "2", "c": "3"})
        rv = r.json["metadata"]["resourceVersion"]
        r = self.k.patch(path, {"data": {"b": "2"}})
        self.assertEqual(r.json["metadata"]["resourceVersion"], rv)   # nothing changed: no write
        r = self.k.patch(path, {"metadata": {"resourceVersion": "1"}, "data": {"b": "x"}})
        self.assertEqual(r.status, 409)

    def test_json_patch(self):
        path = "/api/v1/namespaces/p/configmaps/j"
        self.k.post("/api/v1/namespaces/p/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                        "metadata": {"name": "j"}, "data": {"a": "1"}})
        r = self.k.patch(path, [{"op": "add", "path": "/data/b", "value": "2"},
                                {"op": "replace", "path": "/data/a", "value": "0"},
                                {"op": "test", "path": "/data/b", "value": "2"}], "application/json-patch+json")
        self.assertEqual(r.json["data"], {"a": "0", "b": "2"})
        r = self.k.patch(path, [{"op": "test", "path": "/data/b", "value": "9"}], "application/json-patch+json")
        self.assertEqual(r.status, 422)
        r = self.k.patch(path, [{"op": "remove", "path": "/data/zz"}], "application/json-patch+json")
        self.assertEqual(r.status, 422)

    def test_strategic_merge_patch_merges_containers_by_name(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "s"},
               "spec": {"containers": [{"name": "a", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                                       {"name": "b", "image": "b:1"}]}}
        self.assertEqual(self.k.post("/api/v1/namespaces/p/pods", pod).status, 201)
        r = self.k.patch("/api/v1/namespaces/p/pods/s",
                         {"spec": {"containers": [{"name": "b", "image": "b:2"},
                                                  {"name": "a", "env": [{"name": "Y", "value": "2"}]}]}},
                         "application/strategic-merge-patch+json")
        self.assertEqual(r.status, 200, r.body)
        cs = {c["name"]: c for c in r.json["spec"]["containers"]}
        self.assertEqual(cs["b"]["image"], "b:2")
        self.assertEqual(cs["a"]["image"], "a:1")
        self.assertEqual([e["name"] for e in cs["a"]["env"]], ["X", "Y"])
        r = self.k.patch("/api/v1/namespaces/p/pods/s",
                         {"spec": {"containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}]}]}},
                         "application/strategic-merge-patch+json")
        cs = {c["name"]: c for c in r.json["spec"]["containers"]}
        self.assertEqual([e["name"] for e in cs["a"]["env"]], ["Y"])

    def test_unsupported_patch_type(self):
        r = self.k.patch("/api/v1/namespaces/p/configmaps/none", {}, "text/plain")
        self.assertEqual(r.status, 415)


if __name__ == "__main__":
    unittest.main()
