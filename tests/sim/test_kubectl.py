"""Real kubectl against k3sim: get, apply --server-side, get -w, create job --from=cronjob,
delete namespace (waits), wait --for=condition=Established, logs."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import K3sim

KUBECTL = shutil.which("kubectl")

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: kc
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: kc
data:
  a: "1"
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: journalist
  namespace: kc
spec:
  schedule: "0 6 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          labels:
            app: journalist
          annotations:
            vault.hashicorp.com/agent-inject: "true"
        spec:
          restartPolicy: Never
          containers:
          - name: agent
            image: busybox:1.36
"""

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: agenttasks.agents.example.com
spec:
  group: agents.example.com
  scope: Namespaced
  names: {plural: agenttasks, singular: agenttask, kind: AgentTask, shortNames: [at]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


@unittest.skipIf(KUBECTL is None, "kubectl not installed")
class KubectlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = K3sim().start()
        cls.tmp = tempfile.mkdtemp(prefix="k3sim-kubectl-")
        cls.manifest = os.path.join(cls.tmp, "stack.yaml")
        with open(cls.manifest, "w") as f:
            f.write(MANIFEST)

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def kubectl(self, *args, check=True, timeout=60):
        env = self.k.env()
        env["HOME"] = self.tmp            # keep kubectl's discovery cache private to this run
        out = subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env, timeout=timeout)
        if check:
            self.assertEqual(out.returncode, 0, "kubectl %s: %s" % (" ".join(args), out.stderr))
        return out

    def apply_stack(self):
        return self.kubectl("apply", "--server-side", "--force-conflicts", "-f", self.manifest)

    def test_get(self):
        out = self.kubectl("get", "namespaces", "-o", "name")
        for ns in ("namespace/default", "namespace/kube-system"):
            self.assertIn(ns, out.stdout.split())
        out = self.kubectl("get", "ns", "default", "-o", "json")
        self.assertEqual(json.loads(out.stdout)["metadata"]["name"], "default")
        out = self.kubectl("get", "nodes")
        self.assertIn("k3sim", out.stdout)
        out = self.kubectl("get", "cm", "-n", "default", "nothing", check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('configmaps "nothing" not found', out.stderr)

    def test_apply_server_side_and_conflict(self):
        out = self.kubectl("apply", "--server-side", "-f", self.manifest)
        self.assertIn("namespace/kc serverside-applied", out.stdout)
        self.assertIn("cronjob.batch/journalist serverside-applied", out.stdout)
        rv = self.k.get("/api/v1/namespaces/kc/configmaps/settings").json["metadata"]["resourceVersion"]
        self.kubectl("apply", "--server-side", "-f", self.manifest)
        self.assertEqual(self.k.get("/api/v1/namespaces/kc/configmaps/settings").json["metadata"]["resourceVersion"],
                         rv)
        cm = self.k.get("/api/v1/namespaces/kc/configmaps/settings").json
        self.assertEqual([(e["manager"], e["operation"]) for e in cm["metadata"]["managedFields"]],
                         [("kubectl", "Apply")])
        other = os.path.join(self.tmp, "other.yaml")
        with open(other, "w") as f:
            f.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: kc\n"
                    "data:\n  a: \"2\"\n")
        out = self.kubectl("apply", "--server-side", "--field-manager=intruder", "-f", other, check=False)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('conflict with "kubectl"', out.stderr)
        self.assertIn(".data.a", out.stderr)
        self.kubectl("apply", "--server-side", "--field-manager=intruder", "--force-conflicts", "-f", other)
        self.assertEqual(self.k.get("/api/v1/namespaces/kc/configmaps/settings").json["data"], {"a": "2"})
        self.kubectl("apply", "--server-side", "--force-conflicts", "-f", self.manifest)
        self.assertEqual(self.k.get("/api/v1/namespaces/kc/configmaps/settings").json["data"], {"a": "1"})

    def test_get_watch(self):
        self.apply_stack()
        env = self.k.env()
        env["HOME"] = self.tmp
        p = subprocess.Popen([KUBECTL, "get", "configmaps", "-n", "kc", "-w", "-o", "name"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        lines = []
        reader = threading.Thread(target=lambda: [lines.append(l.strip()) for l in p.stdout], daemon=True)
        reader.start()
        try:
            self.k.wait_for(lambda: "configmap/settings" in lines, timeout=20, what="initial list from kubectl")
            self.k.post("/api/v1/namespaces/kc/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": "watched"}})
            self.k.wait_for(lambda: "configmap/watched" in lines, timeout=20, what="watch event in kubectl")
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()

    def test_create_job_from_cronjob(self):
        self.apply_stack()
        self.kubectl("create", "job", "journalist-manual", "--from=cronjob/journalist", "-n", "kc")
        job = self.k.get("/apis/batch/v1/namespaces/kc/jobs/journalist-manual").json
        self.assertEqual(job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"], "manual")
        cj = self.k.get("/apis/batch/v1/namespaces/kc/cronjobs/journalist").json
        ref = job["metadata"]["ownerReferences"][0]
        self.assertEqual((ref["kind"], ref["name"], ref["uid"]), ("CronJob", "journalist", cj["metadata"]["uid"]))
        self.assertEqual(job["spec"]["template"]["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"],
                         "true")
        self.assertEqual(job["spec"]["template"]["metadata"]["labels"]["app"], "journalist")
        # the Job carries the CronJob's template, decoded from kubectl's protobuf body
        want = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        self.assertEqual(job["spec"]["template"]["spec"], want)

    def test_create_commands_sending_protobuf(self):
        self.apply_stack()
        self.kubectl("create", "namespace", "made-by-kubectl")
        self.assertEqual(self.k.get("/api/v1/namespaces/made-by-kubectl").json["status"]["phase"], "Active")
        self.kubectl("create", "configmap", "lit", "--from-literal=a=b", "-n", "kc")
        self.assertEqual(self.k.get("/api/v1/namespaces/kc/configmaps/lit").json["data"], {"a": "b"})
        self.kubectl("create", "secret", "generic", "sec", "--from-literal=k=v", "-n", "kc")
        sec = self.k.get("/api/v1/namespaces/kc/secrets/sec").json
        self.assertEqual((sec["data"], sec["type"]), ({"k": "dg=="}, "Opaque"))
        self.kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2", "-n", "kc")
        d = self.k.get("/apis/apps/v1/namespaces/kc/deployments/web").json
        self.assertEqual(d["spec"]["replicas"], 2)
        self.assertEqual(d["spec"]["selector"], {"matchLabels": {"app": "web"}})
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27")
        self.kubectl("create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=0 1 * * *", "-n", "kc")
        cj = self.k.get("/apis/batch/v1/namespaces/kc/cronjobs/nightly").json
        self.assertEqual(cj["spec"]["schedule"], "0 1 * * *")
        self.assertEqual(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"],
                         "busybox:1.36")

    def test_wait_for_established(self):
        path = os.path.join(self.tmp, "crd.yaml")
        with open(path, "w") as f:
            f.write(CRD)
        self.kubectl("apply", "--server-side", "-f", path)
        name = "agenttasks.agents.example.com"

        def establish():
            time.sleep(1)
            crd = self.k.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name).json
            if any(c["type"] == "Established" for c in crd["status"].get("conditions") or []):
                return             # the world's controller got there first
            self.k.patch("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/%s/status" % name, {
                "status": {"conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                                           "message": "the initial names have been accepted",
                                           "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
        t = threading.Thread(target=establish)
        t.start()
        self.kubectl("wait", "--for=condition=Established", "crd/" + name, "--timeout=30s")
        t.join()
        self.kubectl("get", "at", "-A")

    def test_logs(self):
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "talker"},
               "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]}}
        self.assertEqual(self.k.post("/api/v1/namespaces/default/pods", pod).status, 201)
        self.k.wait_for(lambda: (self.k.get("/api/v1/namespaces/default/pods/talker").json.get("status") or {})
                        .get("phase") == "Running", timeout=20, what="pod Running")
        self.k.control("log", namespace="default", pod="talker", container="main",
                       text="hello from talker\nbye\n")
        out = self.kubectl("logs", "talker", "-n", "default")
        self.assertTrue(out.stdout.endswith("hello from talker\nbye\n"), out.stdout)
        out = self.kubectl("logs", "talker", "-n", "default", "--tail=1")
        self.assertEqual(out.stdout, "bye\n")

    def test_zz_delete_namespace_waits_until_gone(self):
        self.apply_stack()
        out = self.kubectl("delete", "namespace", "kc", "--timeout=60s", timeout=90)
        self.assertIn('namespace "kc" deleted', out.stdout)
        self.assertEqual(self.k.get("/api/v1/namespaces/kc").status, 404)
        self.assertEqual(self.k.get("/apis/batch/v1/namespaces/kc/cronjobs/journalist").status, 404)


if __name__ == "__main__":
    unittest.main()
