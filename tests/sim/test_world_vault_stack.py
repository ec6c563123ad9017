"""Vault server pods, the pod proxy, the Vault Agent Injector and reboots in a running k3sim."""
import json
import unittest

import world_fixtures as fx
from harness import K3sim

PROXY = "/api/v1/namespaces/vault/pods/vault-0:8200/proxy"


def _vault(k, method, path, body=None, token=None):
    headers = {"X-Vault-Token": token} if token else None
    r = k.request(method, PROXY + path, body, headers=headers)
    return r.status, (json.loads(r.body) if r.body else None)


def _seal_status(k):
    """sys/seal-status once the Vault container listens again (a restart refuses briefly)."""
    return k.wait_for(lambda: (lambda r: r[1] if r[0] == 200 else None)(_vault(k, "GET", "/v1/sys/seal-status")),
                      timeout=10, what="vault listening")


def _kubectl_status(pod):
    """The STATUS column kubectl derives from a pod's init container statuses."""
    st = pod.get("status") or {}
    inits = st.get("initContainerStatuses") or []
    for i, cs in enumerate(inits):
        state = cs.get("state") or {}
        if (state.get("terminated") or {}).get("exitCode") == 0:
            continue
        if state.get("terminated"):
            return "Init:" + (state["terminated"].get("reason") or "Error")
        if (state.get("waiting") or {}).get("reason") not in (None, "PodInitializing"):
            return "Init:" + state["waiting"]["reason"]
        return "Init:%d/%d" % (i, len(inits))
    return st.get("phase")


class VaultStack:
    """Creates the vault namespace (server + injector) and a restricted ai-agents namespace."""

    def __init__(self, k, failure_policy="Fail", injector=True):
        self.k = k
        for ns, labels in (("vault", {}), ("ai-agents", fx.RESTRICTED)):
            r = k.post("/api/v1/namespaces", fx.namespace(ns, labels))
            assert r.status == 201, r.body
        assert k.post("/apis/apps/v1/namespaces/vault/statefulsets", fx.vault_statefulset()).status == 201
        assert k.post("/api/v1/namespaces/vault/services", fx.vault_service()).status == 201
        if injector:
            assert k.post("/apis/apps/v1/namespaces/vault/deployments", fx.injector_deployment()).status == 201
        assert k.post("/api/v1/namespaces/vault/services", fx.injector_service()).status == 201
        r = k.post("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", fx.webhook(failure_policy))
        assert r.status == 201, r.body
        sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "journalist"}}
        assert k.post("/api/v1/namespaces/ai-agents/serviceaccounts", sa).status == 201
        fx.get_when(k, "/api/v1/namespaces/vault/pods/vault-0", fx.phase("Running"), what="vault-0 running")

    def init_unseal_configure(self):
        k = self.k
        st, init = _vault(k, "PUT", "/v1/sys/init", {"secret_shares": 3, "secret_threshold": 2})
        assert st == 200, init
        self.keys, self.root = init["keys_base64"], init["root_token"]
        self.unseal()
        t = self.root
        for method, path, body in (
                ("POST", "/v1/sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}),
                ("POST", "/v1/sys/auth/kubernetes", {"type": "kubernetes"}),
                ("POST", "/v1/auth/kubernetes/config", {"kubernetes_host": "https://kubernetes.default.svc"}),
                ("PUT", "/v1/sys/policies/acl/journalist",
                 {"policy": 'path "secret/data/agents/journalist" {\n  capabilities = ["read"]\n}\n'}),
                ("POST", "/v1/auth/kubernetes/role/journalist",
                 {"bound_service_account_names": ["journalist"], "bound_service_account_namespaces": ["ai-agents"],
                  "token_policies": ["journalist"]}),
                ("POST", "/v1/secret/data/agents/journalist", {"data": {"API_KEY": "k-1", "FEED_URL": "u"}})):
            st, body = _vault(k, method, path, body, t)
            assert st in (200, 204), (path, st, body)

    def unseal(self):
        for key in self.keys[:2]:
            st, body = _vault(self.k, "PUT", "/v1/sys/unseal", {"key": key})
            assert st == 200, body
        assert body["sealed"] is False, body


def agent_pod(name, pre_only=False, task="journalist", restart="Always"):
    c = fx.container("agent", env=[{"name": "AGENTD_DEMO_TASK", "value": task}])
    p = fx.pod(name, [c], annotations=fx.agent_annotations(pre_only=pre_only), sa="journalist", restart=restart)
    return p


class VaultProxyTest(unittest.TestCase):
    def test_init_unseal_two_of_three_through_pod_proxy_and_reboot_seals(self):
        with K3sim() as k:
            stack = VaultStack(k, injector=False)
            st, body = _vault(k, "GET", "/v1/sys/seal-status")
            self.assertEqual((st, body["initialized"], body["sealed"]), (200, False, True))
            st, body = _vault(k, "GET", "/v1/sys/health")
            self.assertEqual(st, 501)
            st, init = _vault(k, "PUT", "/v1/sys/init", {"secret_shares": 3, "secret_threshold": 2})
            self.assertEqual((st, len(init["keys_base64"])), (200, 3))
            stack.keys, stack.root = init["keys_base64"], init["root_token"]
            st, body = _vault(k, "PUT", "/v1/sys/unseal", {"key": init["keys_base64"][1]})
            self.assertEqual((body["sealed"], body["progress"], body["t"], body["n"]), (True, 1, 2, 3))
            st, body = _vault(k, "GET", "/v1/sys/health")
            self.assertEqual(st, 503)
            st, body = _vault(k, "PUT", "/v1/sys/unseal", {"key": init["keys_base64"][2]})
            self.assertEqual((st, body["sealed"]), (200, False))
            pod = fx.get_when(k, "/api/v1/namespaces/vault/pods/vault-0",
                            lambda p: (fx.cond(p, "Ready") or {}).get("status") == "True", what="vault-0 Ready")
            self.assertTrue(pod["status"]["containerStatuses"][0]["ready"])
            st, _ = _vault(k, "PUT", "/v1/sys/audit/stdout", {"type": "file", "options": {"file_path": "stdout"}},
                           stack.root)
            self.assertEqual(st, 204)
            self.assertEqual(_vault(k, "GET", "/v1/sys/mounts")[0], 403)
            self.assertEqual(_vault(k, "GET", "/v1/sys/mounts", token=stack.root)[0], 200)
            log = k.get("/api/v1/namespaces/vault/pods/vault-0/log", container="vault").body.decode()
            self.assertIn("==> Vault server started!", log)
            audit = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
            self.assertTrue(any(a["request"]["path"] == "sys/mounts" for a in audit))
            self.assertNotIn(stack.root, log)
            # no listener on another port -> the API server's own 503 Status
            r = k.get("/api/v1/namespaces/vault/pods/vault-0:9999/proxy/")
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json["kind"], "Status")
            # reboot: objects persist, Vault comes back sealed and initialised, NotReady
            k.reboot()
            body = _seal_status(k)
            self.assertEqual((body["initialized"], body["sealed"]), (True, True))
            pod = k.get("/api/v1/namespaces/vault/pods/vault-0").json
            self.assertGreaterEqual(pod["status"]["containerStatuses"][0]["restartCount"], 1)
            self.assertNotEqual((fx.cond(pod, "Ready") or {}).get("status"), "True")
            stack.unseal()
            st, body = _vault(k, "GET", "/v1/sys/audit", token=stack.root)
            self.assertIn("stdout/", body)


class RestartTest(unittest.TestCase):
    def test_control_restart_pod_seals_vault(self):
        with K3sim() as k:
            stack = VaultStack(k, injector=False)
            stack.init_unseal_configure()
            k.control("restart-pod", namespace="vault", name="vault-0")
            body = _seal_status(k)
            self.assertEqual((body["sealed"], body["initialized"]), (True, True))
            pod = k.get("/api/v1/namespaces/vault/pods/vault-0").json
            self.assertEqual(pod["status"]["containerStatuses"][0]["restartCount"], 1)
            self.assertTrue(fx.events(k, "vault", "Killing", "Pod"))
            stack.unseal()
            st, body = _vault(k, "GET", "/v1/secret/data/agents/journalist", token=stack.root)
            self.assertEqual(body["data"]["data"]["API_KEY"], "k-1")


def _ready_is(want):
    return lambda p: (fx.cond(p, "Ready") or {}).get("status") == want


def _vault_pod(name, probe=None):
    extra = {"readinessProbe": probe} if probe else {}
    c = fx.container("vault", "hashicorp/vault:1.17.2", ports=[{"containerPort": 8200, "name": "http"}], **extra)
    return fx.pod(name, [c])


class ReadinessTest(unittest.TestCase):
    """A Vault pod's Ready condition is its readinessProbe's verdict on the running Vault."""

    def test_helm_probe_seal_without_restart_turns_the_pod_not_ready(self):
        with K3sim() as k:
            stack = VaultStack(k, injector=False)
            stack.init_unseal_configure()
            path = "/api/v1/namespaces/vault/pods/vault-0"
            fx.get_when(k, path, _ready_is("True"), what="vault-0 Ready once unsealed")
            st, _ = _vault(k, "PUT", "/v1/sys/seal", token=stack.root)
            self.assertEqual(st, 204)
            pod = fx.get_when(k, path, _ready_is("False"), what="vault-0 NotReady once sealed")
            self.assertEqual(pod["status"]["containerStatuses"][0]["restartCount"], 0)
            self.assertTrue(_seal_status(k)["sealed"])
            stack.unseal()
            fx.get_when(k, path, _ready_is("True"), what="vault-0 Ready again once unsealed")

    def test_without_a_probe_a_running_sealed_vault_is_ready(self):
        with K3sim() as k:
            self.assertEqual(k.post("/api/v1/namespaces", fx.namespace("vault")).status, 201)
            self.assertEqual(k.post("/api/v1/namespaces/vault/pods", _vault_pod("vault-0")).status, 201)
            fx.get_when(k, "/api/v1/namespaces/vault/pods/vault-0", _ready_is("True"), what="vault-0 Ready")
            body = _seal_status(k)
            self.assertEqual((body["initialized"], body["sealed"]), (False, True))

    def test_http_probe_asks_vault_with_its_codes(self):
        with K3sim() as k:
            self.assertEqual(k.post("/api/v1/namespaces", fx.namespace("vault")).status, 201)
            strict = {"httpGet": {"path": "/v1/sys/health?standbyok=true", "port": 8200}}
            lenient = {"httpGet": {"path": "/v1/sys/health?sealedcode=200&uninitcode=200", "port": "http"}}
            elsewhere = {"httpGet": {"path": "/v1/sys/health?sealedcode=200&uninitcode=200", "port": 8201}}
            for name, probe in (("strict", strict), ("lenient", lenient), ("elsewhere", elsewhere)):
                self.assertEqual(k.post("/api/v1/namespaces/vault/pods", _vault_pod(name, probe)).status, 201)
            fx.get_when(k, "/api/v1/namespaces/vault/pods/lenient", _ready_is("True"), what="lenient Ready")
            for name in ("strict", "elsewhere"):
                pod = fx.get_when(k, "/api/v1/namespaces/vault/pods/" + name, fx.phase("Running"))
                self.assertEqual((fx.cond(pod, "Ready") or {}).get("status"), "False", name)


class NamespaceRecreatedTest(unittest.TestCase):
    def test_vault_data_goes_with_its_namespace(self):
        """Deleting the vault namespace deletes its claim; the claim made again is
        bound to a new volume, so the new Vault starts uninitialised (a real
        cluster's dynamically provisioned volume with reclaim policy Delete)."""
        with K3sim() as k:
            stack = VaultStack(k, injector=False)
            stack.init_unseal_configure()
            self.assertEqual(k.delete("/api/v1/namespaces/vault").status, 200)
            k.wait_for(lambda: k.get("/api/v1/namespaces/vault").status == 404, timeout=30, what="vault namespace gone")
            self.assertEqual(k.post("/api/v1/namespaces", fx.namespace("vault", {})).status, 201)
            self.assertEqual(k.post("/apis/apps/v1/namespaces/vault/statefulsets", fx.vault_statefulset()).status, 201)
            fx.get_when(k, "/api/v1/namespaces/vault/pods/vault-0", fx.phase("Running"), what="new vault-0 running")
            body = _seal_status(k)
            self.assertEqual((body["initialized"], body["sealed"]), (False, True))


class InjectorTest(unittest.TestCase):
    def test_injects_and_pod_waits_in_init_until_vault_unsealed(self):
        with K3sim() as k:
            stack = VaultStack(k)
            fx.get_when(k, "/apis/apps/v1/namespaces/vault/deployments/vault-agent-injector",
                      lambda d: (fx.cond(d, "Available") or {}).get("status") == "True", what="injector available")
            cfg = fx.get_when(k, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/"
                               "vault-agent-injector-cfg",
                            lambda c: c["webhooks"][0]["clientConfig"].get("caBundle"), what="caBundle")
            self.assertIn(b"BEGIN CERTIFICATE", __import__("base64").b64decode(
                cfg["webhooks"][0]["clientConfig"]["caBundle"]))
            r = k.post("/api/v1/namespaces/ai-agents/pods", agent_pod("agent"))
            self.assertEqual(r.status, 201, r.body)
            pod = r.json
            self.assertEqual(pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"], "injected")
            init = pod["spec"]["initContainers"][-1]
            side = pod["spec"]["containers"][-1]
            self.assertEqual((init["name"], side["name"]), ("vault-agent-init", "vault-agent"))
            for c in (init, side):
                self.assertEqual(c["securityContext"], {"runAsUser": 100, "runAsGroup": 1000, "runAsNonRoot": True,
                                                        "readOnlyRootFilesystem": True,
                                                        "allowPrivilegeEscalation": False,
                                                        "capabilities": {"drop": ["ALL"]}})
                self.assertEqual(c["resources"], {"limits": {"cpu": "500m", "memory": "128Mi"},
                                                  "requests": {"cpu": "250m", "memory": "64Mi"}})
            self.assertIn({"name": "vault-secrets", "mountPath": "/vault/secrets"},
                          pod["spec"]["containers"][0]["volumeMounts"])
            # Vault is uninitialised and sealed: the pod waits in Init:0/1
            pod = fx.get_when(k, "/api/v1/namespaces/ai-agents/pods/agent",
                            lambda p: "running" in ((p["status"].get("initContainerStatuses") or [{}])[0]
                                                    .get("state") or {}), what="init running")
            self.assertEqual(_kubectl_status(pod), "Init:0/1")
            self.assertEqual(pod["status"]["phase"], "Pending")
            self.assertEqual(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "PodInitializing")
            self.assertEqual(fx.cond(pod, "Initialized")["status"], "False")
            k.wait_for(lambda: "Vault is sealed" in k.get("/api/v1/namespaces/ai-agents/pods/agent/log",
                                                          container="vault-agent-init").body.decode(),
                       timeout=10, what="agent log says sealed")
            stack.init_unseal_configure()
            pod = fx.get_when(k, "/api/v1/namespaces/ai-agents/pods/agent",
                            lambda p: (fx.cond(p, "Ready") or {}).get("status") == "True", timeout=15,
                            what="agent pod Ready")
            self.assertEqual(_kubectl_status(pod), "Running")
            log = k.get("/api/v1/namespaces/ai-agents/pods/agent/log", container="agent").body.decode()
            self.assertEqual(log, "agent-task=journalist secret-file=env keys: API_KEY FEED_URL\n"
                                  "agent-task=journalist result=ok\n")
            self.assertNotIn("k-1", log)
            # reboot: the agent pod runs its init container again and waits for the unseal
            k.reboot()
            pod = fx.get_when(k, "/api/v1/namespaces/ai-agents/pods/agent",
                            lambda p: _kubectl_status(p) == "Init:0/1", timeout=10, what="Init:0/1 after reboot")
            stack.unseal()
            fx.get_when(k, "/api/v1/namespaces/ai-agents/pods/agent",
                      lambda p: (fx.cond(p, "Ready") or {}).get("status") == "True", timeout=15,
                      what="Ready after unseal")

    def test_job_pod_with_pre_populate_only_completes(self):
        with K3sim() as k:
            stack = VaultStack(k)
            stack.init_unseal_configure()
            k.control("config", job_seconds=1)
            fx.get_when(k, "/apis/apps/v1/namespaces/vault/deployments/vault-agent-injector",
                      lambda d: (fx.cond(d, "Available") or {}).get("status") == "True", what="injector available")
            k.wait_for(lambda: (k.get("/api/v1/namespaces/vault/endpoints/vault-agent-injector-svc").json
                                .get("subsets")), timeout=10, what="injector endpoints")
            tmpl = agent_pod("x", pre_only=True, restart="Never")
            job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "journalist-run"},
                   "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": tmpl["metadata"]["annotations"]},
                                                            "spec": tmpl["spec"]}}}
            self.assertEqual(k.post("/apis/batch/v1/namespaces/ai-agents/jobs", job).status, 201)
            done = fx.get_when(k, "/apis/batch/v1/namespaces/ai-agents/jobs/journalist-run",
                             lambda j: fx.cond(j, "Complete") or fx.cond(j, "Failed"), timeout=15, what="job done")
            self.assertIsNotNone(fx.cond(done, "Complete"), done.get("status"))
            pod = k.get("/api/v1/namespaces/ai-agents/pods", labelSelector="job-name=journalist-run").json["items"][0]
            self.assertEqual([c["name"] for c in pod["spec"]["containers"]], ["agent"])
            log = k.get("/api/v1/namespaces/ai-agents/pods/%s/log" % pod["metadata"]["name"],
                        container="agent").body.decode()
            self.assertIn("agent-task=journalist result=ok", log)

    def test_exit_on_err_crash_loops_and_sidecar_keeps_job_running(self):
        with K3sim() as k:
            stack = VaultStack(k)
            k.control("config", job_seconds=1)
            fx.get_when(k, "/apis/apps/v1/namespaces/vault/deployments/vault-agent-injector",
                        lambda d: (fx.cond(d, "Available") or {}).get("status") == "True", what="injector available")
            k.wait_for(lambda: (k.get("/api/v1/namespaces/vault/endpoints/vault-agent-injector-svc").json
                                .get("subsets")), timeout=10, what="injector endpoints")
            p = agent_pod("exits")
            p["metadata"]["annotations"]["vault.hashicorp.com/agent-auto-auth-exit-on-err"] = "true"
            self.assertEqual(k.post("/api/v1/namespaces/ai-agents/pods", p).status, 201)
            pod = fx.get_when(k, "/api/v1/namespaces/ai-agents/pods/exits",
                              lambda o: _kubectl_status(o) == "Init:CrashLoopBackOff", what="Init:CrashLoopBackOff")
            cs = pod["status"]["initContainerStatuses"][0]
            self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 1)
            self.assertGreaterEqual(cs["restartCount"], 1)
            stack.init_unseal_configure()
            tmpl = agent_pod("x", restart="Never")
            job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "with-sidecar"},
                   "spec": {"template": {"metadata": {"annotations": tmpl["metadata"]["annotations"]},
                                         "spec": tmpl["spec"]}}}
            self.assertEqual(k.post("/apis/batch/v1/namespaces/ai-agents/jobs", job).status, 201)

            def agent_done():
                items = k.get("/api/v1/namespaces/ai-agents/pods", labelSelector="job-name=with-sidecar").json["items"]
                for cs in (items[0]["status"].get("containerStatuses") or []) if items else []:
                    if cs["name"] == "agent" and "terminated" in cs["state"]:
                        return items[0]
                return None
            pod = k.wait_for(agent_done, timeout=15, what="agent container finished")
            k.control("advance", seconds=30)
            pod = k.get("/api/v1/namespaces/ai-agents/pods/" + pod["metadata"]["name"]).json
            self.assertEqual(pod["status"]["phase"], "Running")
            side = next(cs for cs in pod["status"]["containerStatuses"] if cs["name"] == "vault-agent")
            self.assertIn("running", side["state"])
            job = k.get("/apis/batch/v1/namespaces/ai-agents/jobs/with-sidecar").json
            self.assertIsNone(fx.cond(job, "Complete"))
            self.assertEqual(job["status"]["active"], 1)

    def test_unbound_role_keeps_agent_waiting(self):
        with K3sim() as k:
            stack = VaultStack(k)
            stack.init_unseal_configure()
            fx.get_when(k, "/apis/apps/v1/namespaces/vault/deployments/vault-agent-injector",
                        lambda d: (fx.cond(d, "Available") or {}).get("status") == "True", what="injector available")
            k.wait_for(lambda: (k.get("/api/v1/namespaces/vault/endpoints/vault-agent-injector-svc").json
                                .get("subsets")), timeout=10, what="injector endpoints")
            sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "intruder"}}
            self.assertEqual(k.post("/api/v1/namespaces/ai-agents/serviceaccounts", sa).status, 201)
            p = agent_pod("intruder")
            p["spec"]["serviceAccountName"] = "intruder"
            self.assertEqual(k.post("/api/v1/namespaces/ai-agents/pods", p).status, 201)
            k.wait_for(lambda: "service account name not authorized" in k.get(
                "/api/v1/namespaces/ai-agents/pods/intruder/log", container="vault-agent-init").body.decode(),
                timeout=10, what="authorization failure in the agent log")
            self.assertEqual(_kubectl_status(k.get("/api/v1/namespaces/ai-agents/pods/intruder").json), "Init:0/1")

    def test_failure_policy_fail_and_ignore_when_injector_down(self):
        with K3sim() as k:
            VaultStack(k, failure_policy="Fail", injector=False)
            r = k.post("/api/v1/namespaces/ai-agents/pods", agent_pod("a"))
            self.assertEqual(r.status, 500)
            self.assertEqual(r.json["reason"], "InternalError")
            self.assertEqual(r.json["message"],
                             'Internal error occurred: failed calling webhook "vault.hashicorp.com": failed to call '
                             'webhook: Post "https://vault-agent-injector-svc.vault.svc:443/mutate?timeout=30s": '
                             'no endpoints available for service "vault-agent-injector-svc"')
            r = k.patch("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/vault-agent-injector-cfg",
                        [{"op": "replace", "path": "/webhooks/0/failurePolicy", "value": "Ignore"}],
                        "application/json-patch+json")
            self.assertEqual(r.status, 200, r.body)
            r = k.post("/api/v1/namespaces/ai-agents/pods", agent_pod("b"))
            self.assertEqual(r.status, 201, r.body)
            self.assertNotIn("vault.hashicorp.com/agent-inject-status", r.json["metadata"]["annotations"])
            self.assertEqual([c["name"] for c in r.json["spec"]["containers"]], ["agent"])
            # a namespace outside the webhook's selector is never touched
            k.post("/api/v1/namespaces", fx.namespace("other"))
            r = k.post("/api/v1/namespaces/other/pods", agent_pod("c"))
            self.assertEqual(r.status, 201, r.body)

    def test_injected_pod_without_pod_seccomp_is_rejected_by_restricted(self):
        with K3sim() as k:
            VaultStack(k)
            fx.get_when(k, "/apis/apps/v1/namespaces/vault/deployments/vault-agent-injector",
                      lambda d: (fx.cond(d, "Available") or {}).get("status") == "True", what="injector available")
            k.wait_for(lambda: (k.get("/api/v1/namespaces/vault/endpoints/vault-agent-injector-svc").json
                                .get("subsets")), timeout=10, what="injector endpoints")
            p = agent_pod("noseccomp")
            del p["spec"]["securityContext"]["seccompProfile"]
            p["spec"]["containers"][0]["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}
            r = k.post("/api/v1/namespaces/ai-agents/pods", p)
            self.assertEqual(r.status, 403)
            self.assertIn('seccompProfile (pod or containers "vault-agent-init", "vault-agent" must set '
                          'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")', r.json["message"])


if __name__ == "__main__":
    unittest.main()
