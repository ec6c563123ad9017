"""Structural checks of the stack: manifests/*.yaml with config/values.yaml.

This is a check of the manifests, not a renderer.  agentd's loader
(agentd/manifest.c) renders them; the small substitution below only follows the
values contract closely enough to see the objects agentd will apply:
a scalar that is exactly ${a.b.c} takes the typed value at that path, ${a.b.c}
inside a longer string is replaced as text, $${ is a literal ${.

Each rule of DESIGN.md section 2 and issue 5 is one test; a failure names the
file, the object and the container.
"""
import base64
import json
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

import yaml

from harness import K3sim
from simlib import pss, templates

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
VALUES = ROOT / "config" / "values.yaml"

PHASES = ["namespaces", "vault-server", "vault-injector", "vault-webhook",
          "crds", "agents-policy", "agents-controller", "agents-cronjobs"]
NAMESPACES = ("vault", "ai-agents")
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding",
                 "MutatingWebhookConfiguration", "CustomResourceDefinition"}
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component",
          "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by")
PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "127.0.0.0/8"]
VAULT = "vault.hashicorp.com/"
DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
PLACEHOLDER = re.compile(r"(?<!\$)\$\{([^}]*)\}")
VALUE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*")


class SubstitutionError(Exception):
    pass


def lookup(values, path):
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise SubstitutionError("undefined value ${%s}" % path)
        node = node[part]
    return node


def substitute(node, values, where):
    """Return node with placeholders replaced; raise SubstitutionError naming where."""
    if isinstance(node, dict):
        for key in node:
            if isinstance(key, str) and "${" in key:
                raise SubstitutionError("%s: placeholder in a key: %r" % (where, key))
        return {k: substitute(v, values, "%s.%s" % (where, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, values, "%s[%d]" % (where, i)) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node
    whole = PLACEHOLDER.fullmatch(node)
    if whole:
        if not VALUE_PATH.fullmatch(whole.group(1)):
            raise SubstitutionError("%s: bad placeholder %r" % (where, node))
        try:
            return lookup(values, whole.group(1))
        except SubstitutionError as e:
            raise SubstitutionError("%s: %s" % (where, e)) from None

    def text(m):
        if not VALUE_PATH.fullmatch(m.group(1)):
            raise SubstitutionError("%s: bad placeholder %r" % (where, m.group(0)))
        try:
            value = lookup(values, m.group(1))
        except SubstitutionError as e:
            raise SubstitutionError("%s: %s" % (where, e)) from None
        if isinstance(value, (dict, list, bool)) or value is None:
            raise SubstitutionError("%s: ${%s} is not text" % (where, m.group(1)))
        return str(value)

    out = PLACEHOLDER.sub(text, node)
    if re.search(r"(?<!\$)\$\{", out):
        raise SubstitutionError("%s: unterminated placeholder in %r" % (where, node))
    return out.replace("$${", "${")


def load_values():
    with open(VALUES, encoding="utf-8") as f:
        return yaml.safe_load(f)


def load_stack(values):
    """[(file name, object)] in phase order, placeholders substituted."""
    objects = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
        for i, doc in enumerate(docs):
            where = "%s#%d" % (path.name, i)
            objects.append((path.name, substitute(doc, values, where)))
    return objects


def quantity(q):
    """A Kubernetes quantity as a float (cpu in cores, bytes for memory/storage)."""
    s = str(q)
    for suffix, mult in (("Ki", 2**10), ("Mi", 2**20), ("Gi", 2**30), ("Ti", 2**40),
                         ("m", 1e-3), ("k", 1e3), ("M", 1e6), ("G", 1e9)):
        if s.endswith(suffix):
            return float(s[:-len(suffix)]) * mult
    return float(s)


def obj_name(obj):
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return "%s %s%s" % (obj["kind"], ns + "/" if ns else "", meta.get("name"))


def pod_templates(objects):
    """[(where, namespace, kind, pod template)] for every workload."""
    out = []
    for fname, obj in objects:
        kind = obj["kind"]
        ns = obj["metadata"].get("namespace")
        if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            tmpl = obj["spec"]["template"]
        elif kind == "CronJob":
            tmpl = obj["spec"]["jobTemplate"]["spec"]["template"]
        elif kind == "Pod":
            tmpl = obj
        else:
            continue
        out.append(("%s: %s" % (fname, obj_name(obj)), ns, kind, tmpl))
    return out


def containers(spec):
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        yield c


def injected(ann, kind):
    """The containers the injector adds, as it would (resources from annotations)."""
    if ann.get(VAULT + "agent-inject") != "true":
        return [], []
    res = {"requests": {"cpu": ann[VAULT + "agent-requests-cpu"],
                        "memory": ann[VAULT + "agent-requests-mem"],
                        "ephemeral-storage": ann[VAULT + "agent-requests-ephemeral"]},
           "limits": {"cpu": ann[VAULT + "agent-limits-cpu"],
                      "memory": ann[VAULT + "agent-limits-mem"],
                      "ephemeral-storage": ann[VAULT + "agent-limits-ephemeral"]}}
    # The securityContext vault-k8s sets on its containers: no seccompProfile.
    sc = {"runAsUser": 100, "runAsGroup": 1000, "runAsNonRoot": True, "readOnlyRootFilesystem": True,
          "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    init = [{"name": "vault-agent-init", "resources": res, "securityContext": sc}]
    sidecar = [] if ann.get(VAULT + "agent-pre-populate-only") == "true" else \
        [{"name": "vault-agent", "resources": res, "securityContext": sc}]
    return init, sidecar


def pod_usage(tmpl, kind):
    """Quota usage of one pod: max(sum of containers, largest init container)."""
    ann = tmpl["metadata"].get("annotations", {})
    init, sidecar = injected(ann, kind)
    spec = tmpl["spec"]
    mains = spec["containers"] + sidecar
    inits = spec.get("initContainers", []) + init
    usage = {}
    for kind_ in ("requests", "limits"):
        for res in ("cpu", "memory", "ephemeral-storage"):
            total = sum(quantity(c["resources"][kind_][res]) for c in mains)
            biggest = max([quantity(c["resources"][kind_][res]) for c in inits] or [0])
            usage["%s.%s" % (kind_, res)] = max(total, biggest)
    return usage


class StackTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.values = load_values()
        cls.objects = load_stack(cls.values)
        cls.pods = pod_templates(cls.objects)

    def find(self, kind, name, namespace=None):
        for fname, obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
                return obj
        self.fail("no %s %s/%s in manifests/" % (kind, namespace, name))

    def each_container(self):
        for where, ns, kind, tmpl in self.pods:
            for c in containers(tmpl["spec"]):
                yield "%s container %s" % (where, c["name"]), ns, kind, tmpl, c

    # ------------------------------------------------------------ format contract
    def test_phase_files_in_bootstrap_order(self):
        names = sorted(p.name for p in MANIFESTS.glob("*"))
        for n in names:
            self.assertRegex(n, r"^[0-9]{2}-[a-z0-9-]+\.yaml$", "manifests/%s" % n)
        self.assertEqual([n[3:-5] for n in names], PHASES)

    def test_every_placeholder_resolves(self):
        for path in sorted(MANIFESTS.glob("*.yaml")):
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
            for i, doc in enumerate(docs):
                with self.subTest(file=path.name, doc=i):
                    try:
                        substitute(doc, self.values, "%s#%d" % (path.name, i))
                    except SubstitutionError as e:
                        self.fail(str(e))

    def test_agrees_with_agentd_render(self):
        # The objects checked here are the ones agentd applies: agentd's own renderer
        # (agentd --render) gives the same phases and the same objects.
        agentd = ROOT / os.environ.get("BUILD", "build") / "agentd"
        if not os.access(agentd, os.X_OK):
            self.skipTest("%s not built (make all)" % agentd)
        r = subprocess.run([str(agentd), "--render", "-c", str(ROOT / "config" / "agentd.yaml")],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        rendered = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([x.get("error") for x in rendered], [None] * len(rendered))
        self.assertEqual(len(rendered), len(self.objects))
        for x, (fname, obj) in zip(rendered, self.objects):
            with self.subTest(obj="%s: %s" % (fname, obj_name(obj))):
                self.assertEqual(x["phase"], fname[3:-5])
                self.assertEqual(x["object"], obj)

    def test_substitution_keeps_types(self):
        ctl = self.find("Deployment", "agent-controller", "ai-agents")
        self.assertIsInstance(ctl["spec"]["replicas"], int)
        self.assertIsInstance(ctl["spec"]["template"]["spec"]["containers"][0]["resources"], dict)
        https = self.find("NetworkPolicy", "allow-https-internet", "ai-agents")
        self.assertIsInstance(https["spec"]["egress"][0]["to"][0]["ipBlock"]["except"], list)

    def test_undefined_value_is_an_error(self):
        with self.assertRaisesRegex(SubstitutionError, r"x\.y: undefined value \$\{no\.such\}"):
            substitute({"y": "${no.such}"}, self.values, "x")
        with self.assertRaisesRegex(SubstitutionError, "is not text"):
            substitute("a-${controller.resources}", self.values, "x")
        with self.assertRaisesRegex(SubstitutionError, "unterminated"):
            substitute("a-${controller", self.values, "x")
        self.assertEqual(substitute("$${HOME}/${vault.kv.mount}", self.values, "x"), "${HOME}/secret")

    def test_every_object_labelled(self):
        for fname, obj in self.objects:
            labels = obj["metadata"].get("labels", {})
            with self.subTest(obj="%s: %s" % (fname, obj_name(obj))):
                for key in LABELS:
                    self.assertTrue(labels.get(key), "missing label %s" % key)
                self.assertEqual(labels.get("app.kubernetes.io/managed-by"), "agentd")
                self.assertEqual(labels.get("app.kubernetes.io/part-of"), "agentd")
        for where, ns, kind, tmpl in self.pods:
            with self.subTest(pod=where):
                labels = tmpl["metadata"].get("labels", {})
                for key in LABELS:
                    self.assertTrue(labels.get(key), "pod template lacks label %s" % key)

    def test_objects_live_in_the_managed_namespaces(self):
        for fname, obj in self.objects:
            with self.subTest(obj="%s: %s" % (fname, obj_name(obj))):
                ns = obj["metadata"].get("namespace")
                if obj["kind"] in CLUSTER_KINDS:
                    self.assertIsNone(ns, "cluster-scoped kind with a namespace")
                else:
                    self.assertIn(ns, NAMESPACES)

    # ------------------------------------------------------------ namespaces / PSS
    def test_namespaces_carry_pss_labels_with_versions(self):
        version = self.values["pss"]["version"]
        self.assertRegex(version, r"^v1\.[0-9]+$")
        want = {"vault": self.values["pss"]["vault_enforce"], "ai-agents": "restricted"}
        self.assertEqual(want["ai-agents"], "restricted")
        self.assertIn(want["vault"], ("restricted", "baseline"))
        for ns, enforce in want.items():
            labels = self.find("Namespace", ns)["metadata"]["labels"]
            with self.subTest(namespace=ns):
                self.assertEqual(labels["pod-security.kubernetes.io/enforce"], enforce)
                for mode in ("warn", "audit"):
                    self.assertEqual(labels["pod-security.kubernetes.io/" + mode], "restricted")
                for mode in ("enforce", "warn", "audit"):
                    self.assertEqual(labels["pod-security.kubernetes.io/%s-version" % mode], version)

    def test_pods_pass_their_namespace_pss_level(self):
        # Evaluated as admitted: after the injector added its containers (webhooks run
        # before PodSecurity), at the namespace's enforce level, and at restricted
        # (vault warns and audits at restricted).
        labels = {ns: self.find("Namespace", ns)["metadata"]["labels"] for ns in NAMESPACES}
        for where, ns, kind, tmpl in self.pods:
            init, sidecar = injected(tmpl["metadata"].get("annotations", {}), kind)
            spec = dict(tmpl["spec"])
            spec["initContainers"] = spec.get("initContainers", []) + init
            spec["containers"] = spec["containers"] + sidecar
            pod = {"apiVersion": "v1", "kind": "Pod", "metadata": tmpl["metadata"], "spec": spec}
            version = pss.parse_version(labels[ns]["pod-security.kubernetes.io/enforce-version"])
            for level in (labels[ns]["pod-security.kubernetes.io/enforce"], "restricted"):
                with self.subTest(pod=where, level=level):
                    violations = pss.evaluate(level, version, pod)
                    self.assertEqual(violations, [], pss.format_violations(violations))

    # ------------------------------------------------------------ pod hardening
    def test_pod_run_as_non_root(self):
        for where, ns, kind, tmpl in self.pods:
            with self.subTest(pod=where):
                self.assertIs(tmpl["spec"].get("securityContext", {}).get("runAsNonRoot"), True)

    def test_pod_seccomp_runtime_default(self):
        # Pod level, so the injected containers (which set none) are covered too.
        for where, ns, kind, tmpl in self.pods:
            with self.subTest(pod=where):
                sc = tmpl["spec"].get("securityContext", {})
                self.assertEqual(sc.get("seccompProfile"), {"type": "RuntimeDefault"})

    def test_container_no_privilege_escalation(self):
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                self.assertIs(c.get("securityContext", {}).get("allowPrivilegeEscalation"), False)

    def test_container_drops_all_capabilities(self):
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                caps = c.get("securityContext", {}).get("capabilities", {})
                self.assertEqual(caps.get("drop"), ["ALL"])
                self.assertFalse(caps.get("add"), "adds capabilities")

    def test_container_read_only_root(self):
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                self.assertIs(c.get("securityContext", {}).get("readOnlyRootFilesystem"), True)

    def test_container_no_privileged_or_host_access(self):
        for where, ns, kind, tmpl in self.pods:
            spec = tmpl["spec"]
            with self.subTest(pod=where):
                for key in ("hostNetwork", "hostPID", "hostIPC"):
                    self.assertFalse(spec.get(key), key)
                for c in containers(spec):
                    self.assertFalse(c.get("securityContext", {}).get("privileged"), c["name"])
                    for p in c.get("ports", []):
                        self.assertNotIn("hostPort", p, c["name"])

    def test_container_requests_and_limits(self):
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                res = c.get("resources", {})
                # The ai-agents quota covers ephemeral storage: every container there
                # must declare it (and so do Vault's, for the same discipline).
                for k in ("requests", "limits"):
                    for r in ("cpu", "memory", "ephemeral-storage"):
                        self.assertIn(r, res.get(k, {}), "%s.%s" % (k, r))
                        quantity(res[k][r])
                    for r in ("cpu", "memory", "ephemeral-storage"):
                        self.assertLessEqual(quantity(res["requests"][r]),
                                             quantity(res["limits"][r]), r)

    def test_writable_paths_are_size_limited(self):
        for where, ns, kind, tmpl in self.pods:
            vols = {v["name"]: v for v in tmpl["spec"].get("volumes", [])}
            claims = set()
            for fname, obj in self.objects:
                if "%s: %s" % (fname, obj_name(obj)) == where and obj["kind"] == "StatefulSet":
                    claims = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
            for c in containers(tmpl["spec"]):
                for m in c.get("volumeMounts", []):
                    with self.subTest(mount="%s container %s %s" % (where, c["name"], m["mountPath"])):
                        if m.get("readOnly"):
                            continue
                        if m["name"] in claims:
                            continue
                        vol = vols.get(m["name"])
                        self.assertIsNotNone(vol, "mount of an undeclared volume")
                        self.assertIn("emptyDir", vol, "writable mount is not an emptyDir")
                        self.assertTrue(vol["emptyDir"].get("sizeLimit"), "emptyDir without sizeLimit")
            for name, vol in vols.items():
                with self.subTest(volume="%s volume %s" % (where, name)):
                    self.assertNotIn("hostPath", vol)

    def test_images_pinned_by_digest(self):
        for key in ("vault", "vault_k8s", "controller", "journalist", "publisher"):
            with self.subTest(value="images." + key):
                self.assertRegex(self.values["images"][key], DIGEST)
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                self.assertRegex(c["image"], DIGEST)
                self.assertEqual(c.get("imagePullPolicy"), "IfNotPresent")

    def test_service_account_token_mount_is_explicit(self):
        for where, ns, kind, tmpl in self.pods:
            with self.subTest(pod=where):
                spec = tmpl["spec"]
                self.assertIn("automountServiceAccountToken", spec)
                self.assertTrue(spec.get("serviceAccountName"), "runs as the default account")
                self.assertIs(spec.get("enableServiceLinks"), False)

    # ------------------------------------------------------------ secrets
    def test_no_secret_objects(self):
        for fname, obj in self.objects:
            with self.subTest(obj="%s: %s" % (fname, obj_name(obj))):
                self.assertNotEqual(obj["kind"], "Secret")

    def test_no_secret_consumption(self):
        for where, ns, kind, tmpl, c in self.each_container():
            with self.subTest(container=where):
                for env in c.get("env", []):
                    self.assertNotIn("secretKeyRef", env.get("valueFrom", {}), env["name"])
                for src in c.get("envFrom", []):
                    self.assertNotIn("secretRef", src)
        for where, ns, kind, tmpl in self.pods:
            with self.subTest(pod=where):
                for vol in tmpl["spec"].get("volumes", []):
                    self.assertNotIn("secret", vol, vol["name"])
                    for source in vol.get("projected", {}).get("sources", []):
                        self.assertNotIn("secret", source, vol["name"])
                self.assertFalse(tmpl["spec"].get("imagePullSecrets"))

    def agent_pods(self):
        return [p for p in self.pods if p[1] == "ai-agents"]

    def test_agent_pods_get_secrets_from_the_injector(self):
        kv = self.values["vault"]["kv"]
        self.assertEqual(len(self.agent_pods()), 3)
        for where, ns, kind, tmpl in self.agent_pods():
            ann = tmpl["metadata"].get("annotations", {})
            with self.subTest(pod=where):
                self.assertEqual(ann.get(VAULT + "agent-inject"), "true")
                self.assertEqual(ann.get(VAULT + "role"), self.values["vault"]["auth"]["role"])
                app = tmpl["spec"]["containers"][0]["name"]
                self.assertEqual(ann.get(VAULT + "agent-inject-containers"), app)
                secrets = {k[len(VAULT + "agent-inject-secret-"):]: v for k, v in ann.items()
                           if k.startswith(VAULT + "agent-inject-secret-")}
                self.assertTrue(secrets, "no agent-inject-secret-* annotation")
                for name, path in secrets.items():
                    self.assertTrue(name.endswith(".env"), name)
                    self.assertEqual(path, "%s/data/%s%s" % (kv["mount"], kv["prefix"], app))
                    tmpl_text = ann.get(VAULT + "agent-inject-template-" + name, "")
                    self.assertIn('with secret "%s"' % path, tmpl_text)
                    self.assertIn("range $k, $v := .Data.data", tmpl_text)
                    self.assertRegex(tmpl_text, r"(?m)^export \{\{ \$k \}\}=")
                    self.assertEqual(ann.get(VAULT + "agent-inject-perms-" + name), "0440")

    def test_agent_pods_size_the_injected_containers(self):
        for where, ns, kind, tmpl in self.agent_pods():
            ann = tmpl["metadata"].get("annotations", {})
            with self.subTest(pod=where):
                for a in ("requests-cpu", "requests-mem", "requests-ephemeral",
                          "limits-cpu", "limits-mem", "limits-ephemeral"):
                    self.assertIsInstance(ann.get(VAULT + "agent-" + a), str, a)
                    quantity(ann[VAULT + "agent-" + a])

    def test_job_pods_pre_populate_only(self):
        for where, ns, kind, tmpl in self.agent_pods():
            ann = tmpl["metadata"]["annotations"]
            with self.subTest(pod=where):
                if kind in ("CronJob", "Job"):
                    self.assertEqual(ann.get(VAULT + "agent-pre-populate-only"), "true")
                    self.assertEqual(tmpl["spec"]["restartPolicy"], "Never")
                else:
                    self.assertNotIn(VAULT + "agent-pre-populate-only", ann)

    def test_exit_on_err_decided(self):
        for where, ns, kind, tmpl in self.agent_pods():
            ann = tmpl["metadata"]["annotations"]
            with self.subTest(pod=where):
                want = "true" if kind in ("CronJob", "Job") else "false"
                self.assertEqual(ann.get(VAULT + "agent-auto-auth-exit-on-err"), want)

    def test_agent_pods_demo_task_env(self):
        for where, ns, kind, tmpl in self.agent_pods():
            c = tmpl["spec"]["containers"][0]
            with self.subTest(pod=where):
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                self.assertEqual(env.get("AGENTD_DEMO_TASK"), c["name"])

    # ------------------------------------------------------------ quota
    def test_quota_covers_and_admits_the_stack(self):
        quota = self.find("ResourceQuota", "ai-agents", "ai-agents")["spec"]["hard"]
        for r in ("pods", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
                  "limits.cpu", "limits.memory", "limits.ephemeral-storage"):
            self.assertIn(r, quota)
        self.assertEqual(quota.get("count/secrets"), "0")
        # Everything the stack runs at once: the controller replicas, one scheduled
        # journalist run, and a manual run of each CronJob (agentctl run, reset-test).
        total, pods = {}, 0
        for where, ns, kind, tmpl in self.agent_pods():
            n = self.values["controller"]["replicas"] if kind == "Deployment" else 2
            for k, v in pod_usage(tmpl, kind).items():
                total[k] = total.get(k, 0) + n * v
            pods += n
        self.assertLessEqual(pods, quantity(quota["pods"]))
        for k, v in total.items():
            with self.subTest(resource=k):
                self.assertLessEqual(v, quantity(quota[k]), "stack needs %s of %s" % (v, quota[k]))

    def test_limitrange_admits_every_container(self):
        lr = self.find("LimitRange", "ai-agents", "ai-agents")["spec"]["limits"][0]
        self.assertEqual(lr["type"], "Container")
        for where, ns, kind, tmpl in self.agent_pods():
            init, sidecar = injected(tmpl["metadata"]["annotations"], kind)
            for c in tmpl["spec"]["containers"] + init + sidecar:
                with self.subTest(container="%s container %s" % (where, c["name"])):
                    for r, most in lr["max"].items():
                        self.assertLessEqual(quantity(c["resources"]["limits"][r]), quantity(most), r)

    # ------------------------------------------------------------ network
    def policies(self, ns):
        return [o for f, o in self.objects if o["kind"] == "NetworkPolicy"
                and o["metadata"]["namespace"] == ns]

    def assert_default_deny(self, ns):
        deny = [p for p in self.policies(ns) if p["spec"]["podSelector"] == {}
                and sorted(p["spec"]["policyTypes"]) == ["Egress", "Ingress"]
                and not p["spec"].get("ingress") and not p["spec"].get("egress")]
        self.assertEqual(len(deny), 1, "%s: no default deny of ingress and egress" % ns)

    def egress_rules(self, ns):
        for p in self.policies(ns):
            for rule in p["spec"].get("egress", []):
                yield p, rule

    def test_ai_agents_default_deny(self):
        self.assert_default_deny("ai-agents")
        for p in self.policies("ai-agents"):
            with self.subTest(policy=p["metadata"]["name"]):
                self.assertFalse(p["spec"].get("ingress"), "ai-agents admits ingress")

    def test_ai_agents_egress_only_dns_vault_https(self):
        allowed = []
        for p, rule in self.egress_rules("ai-agents"):
            ports = sorted((x["protocol"], x["port"]) for x in rule["ports"])
            peer = rule["to"]
            with self.subTest(policy=p["metadata"]["name"]):
                self.assertEqual(len(peer), 1)
                if ports == [("TCP", 53), ("UDP", 53)]:
                    self.assertEqual(peer[0]["namespaceSelector"]["matchLabels"],
                                     {"kubernetes.io/metadata.name": "kube-system"})
                    allowed.append("dns")
                elif ports == [("TCP", 8200)]:
                    self.assertEqual(peer[0]["namespaceSelector"]["matchLabels"],
                                     {"kubernetes.io/metadata.name": "vault"})
                    self.assertIn("podSelector", peer[0])
                    allowed.append("vault")
                elif ports == [("TCP", 443)]:
                    self.assertEqual(p["spec"]["podSelector"], {})
                    self.assertEqual(peer[0]["ipBlock"]["cidr"], "0.0.0.0/0")
                    self.assertEqual(sorted(peer[0]["ipBlock"]["except"]), sorted(PRIVATE))
                    allowed.append("https")
                elif ports == [("TCP", self.values["network"]["api_server"]["port"])]:
                    self.assertEqual(p["spec"]["podSelector"],
                                     {"matchLabels": {"app.kubernetes.io/name": "agent-controller"}})
                    allowed.append("controller-api")
                else:
                    self.fail("unexpected egress %r" % (ports,))
        self.assertEqual(sorted(allowed), ["controller-api", "dns", "https", "vault"])

    def test_vault_namespace_network(self):
        self.assert_default_deny("vault")
        for p in self.policies("vault"):
            for rule in p["spec"].get("ingress", []):
                ports = [(x["protocol"], x["port"]) for x in rule["ports"]]
                with self.subTest(policy=p["metadata"]["name"]):
                    if ports == [("TCP", 8200)]:
                        sources = sorted(s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                                         for s in rule["from"])
                        self.assertEqual(sources, ["ai-agents", "vault"])
                        self.assertEqual(p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "vault")
                    else:
                        self.assertEqual(ports, [("TCP", 8080)], "only 8200 and the webhook port")
                        self.assertEqual(p["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"],
                                         "vault-agent-injector")
        egress = sorted(tuple(sorted((x["protocol"], x["port"]) for x in rule["ports"]))
                        for p, rule in self.egress_rules("vault"))
        api = self.values["network"]["api_server"]["port"]
        self.assertEqual(egress, sorted([(("TCP", 53), ("UDP", 53)), (("TCP", api),)]))

    # ------------------------------------------------------------ vault and injector
    def test_vault_server(self):
        sts = self.find("StatefulSet", "vault", "vault")
        c = sts["spec"]["template"]["spec"]["containers"][0]
        # The simulator (and agentd) recognise Vault by image repository and port.
        self.assertEqual(c["image"].split("@")[0].split(":")[0], "hashicorp/vault")
        self.assertIn(8200, [p["containerPort"] for p in c["ports"]])
        self.assertNotIn("sealedcode", c["readinessProbe"]["httpGet"]["path"])
        self.assertIn("sealedcode=204", c["livenessProbe"]["httpGet"]["path"])
        claim = sts["spec"]["volumeClaimTemplates"][0]["spec"]
        self.assertEqual(claim["storageClassName"], self.values["vault"]["storage_class"])
        self.assertEqual(sts["spec"]["serviceName"], "vault-internal")
        self.assertEqual(self.find("Service", "vault-internal", "vault")["spec"]["clusterIP"], "None")
        hcl = self.find("ConfigMap", "vault-config", "vault")["data"]["vault.hcl"]
        self.assertIn(self.values["vault"]["storage"], ("file", "raft"))
        self.assertIn('storage "%s"' % self.values["vault"]["storage"], hcl)
        self.assertIn("disable_mlock = true", hcl)
        binding = self.find("ClusterRoleBinding", "vault-server-auth-delegator")
        self.assertEqual(binding["roleRef"]["name"], "system:auth-delegator")
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "vault", "namespace": "vault"}])

    def test_injector_and_webhook(self):
        dep = self.find("Deployment", "vault-agent-injector", "vault")
        c = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["image"].split("@")[0].split(":")[0], "hashicorp/vault-k8s")
        env = {e["name"]: e.get("value") for e in c["env"]}
        hook = self.find("MutatingWebhookConfiguration", "vault-agent-injector-cfg")
        self.assertEqual(env["AGENT_INJECT_TLS_AUTO"], hook["metadata"]["name"])
        self.assertEqual(env["AGENT_INJECT_VAULT_IMAGE"], self.values["images"]["vault"])
        self.assertEqual(len(hook["webhooks"]), 1)
        wh = hook["webhooks"][0]
        self.assertEqual(wh["failurePolicy"], "Fail")
        self.assertEqual(wh["namespaceSelector"],
                         {"matchLabels": {"kubernetes.io/metadata.name": "ai-agents"}})
        self.assertNotIn("caBundle", wh["clientConfig"])
        svc_ref = wh["clientConfig"]["service"]
        svc = self.find("Service", svc_ref["name"], svc_ref["namespace"])
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        for k, v in svc["spec"]["selector"].items():
            self.assertEqual(pod_labels.get(k), v, "webhook Service does not select the injector")
        self.assertIn(svc_ref.get("port", 443), [p["port"] for p in svc["spec"]["ports"]])
        role = self.find("ClusterRole", "vault-agent-injector")
        for rule in role["rules"]:
            self.assertEqual(rule["resources"], ["mutatingwebhookconfigurations"])
            if set(rule["verbs"]) - {"get", "list", "watch"}:
                self.assertEqual(rule.get("resourceNames"), [hook["metadata"]["name"]])

    def test_controller_rbac_is_namespaced_and_narrow(self):
        role = self.find("Role", "agent-controller", "ai-agents")
        for rule in role["rules"]:
            with self.subTest(rule=rule["resources"]):
                self.assertNotIn("*", rule["verbs"] + rule["resources"] + rule["apiGroups"])
                self.assertNotIn("secrets", rule["resources"])
                self.assertNotIn("pods/exec", rule["resources"])
        for fname, obj in self.objects:
            if obj["kind"] == "ClusterRoleBinding":
                with self.subTest(binding=obj["metadata"]["name"]):
                    for s in obj["subjects"]:
                        self.assertNotEqual(s.get("namespace"), "ai-agents")

    def test_crd(self):
        crd = self.find("CustomResourceDefinition", "agenttasks.agents.agentd.io")
        self.assertEqual(crd["spec"]["names"]["kind"], "AgentTask")
        self.assertEqual(crd["spec"]["scope"], "Namespaced")
        storage = [v for v in crd["spec"]["versions"] if v["storage"]]
        self.assertEqual(len(storage), 1)
        self.assertEqual(storage[0]["schema"]["openAPIV3Schema"]["type"], "object")

    # ------------------------------------------------------------ cronjobs
    def test_cronjobs(self):
        for name, suspended in (("journalist", False), ("publisher", True)):
            cj = self.find("CronJob", name, "ai-agents")["spec"]
            v = self.values[name]
            with self.subTest(cronjob=name):
                self.assertEqual(cj["schedule"], v["schedule"])
                self.assertEqual(len(cj["schedule"].split()), 5)
                self.assertEqual(cj["timeZone"], v["time_zone"])
                self.assertIsInstance(cj["startingDeadlineSeconds"], int)
                self.assertEqual(cj["concurrencyPolicy"], "Forbid")
                self.assertIs(cj["suspend"], suspended)
                job = cj["jobTemplate"]["spec"]
                self.assertIsInstance(job["backoffLimit"], int)
                self.assertIsInstance(job["activeDeadlineSeconds"], int)

    # ------------------------------------------------------------ demo script
    def run_script(self, files, mode="once"):
        script = self.find("ConfigMap", "agent-demo-script", "ai-agents")["data"]["report.sh"]
        with tempfile.TemporaryDirectory() as d:
            secrets = Path(d) / "secrets"
            secrets.mkdir()
            for name, text in files.items():
                (secrets / name).write_text(text)
            body = script.replace("/vault/secrets", str(secrets))
            return subprocess.run(["sh", "-c", body, "report.sh", mode], capture_output=True, text=True,
                                  env={"AGENTD_DEMO_TASK": "journalist", "PATH": "/usr/bin:/bin"},
                                  timeout=10)

    def render(self, task, data):
        """The secret file of TASK for a KV v2 entry, rendered from the manifest's own
        template by the simulator's template engine."""
        tmpl = next(t for w, ns, k, t in self.agent_pods() if t["spec"]["containers"][0]["name"] == task)
        ann = tmpl["metadata"]["annotations"]
        path = ann[VAULT + "agent-inject-secret-%s.env" % task]
        return templates.render(ann[VAULT + "agent-inject-template-%s.env" % task],
                                lambda p: {"data": data, "metadata": {"version": 1}} if p == path else None)

    def test_demo_script_reports_key_names_only(self):
        data = {"OPENAI_API_KEY": "sk-very-secret", "FEED_TOKEN": "t0k3n"}
        r = self.run_script({"journalist.env": self.render("journalist", data)})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "agent-task=journalist secret-file=journalist.env keys: FEED_TOKEN OPENAI_API_KEY\n"
                                   "agent-task=journalist result=ok\n")
        for v in data.values():
            self.assertNotIn(v, r.stdout + r.stderr)

    def test_demo_script_fails_without_secrets(self):
        r = self.run_script({})
        self.assertEqual(r.returncode, 1)
        self.assertIn("agent-task=journalist result=fail", r.stdout)

    def test_demo_script_empty_entry(self):
        r = self.run_script({"journalist.env": self.render("journalist", {})})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "agent-task=journalist secret-file=journalist.env keys: \n"
                                   "agent-task=journalist result=ok\n")

    def test_rendered_secret_file_is_shell_safe(self):
        # Sourcing the file must give back every value byte for byte: nothing in a
        # secret is expanded, executed or split.
        data = {"A": "it's $(echo injected) `id` \"q\" \\n $HOME", "B": "'", "C": "a\nb", "D": ""}
        for task in ("controller", "journalist", "publisher"):
            with self.subTest(task=task), tempfile.TemporaryDirectory() as d:
                f = Path(d) / (task + ".env")
                f.write_text(self.render(task, data))
                out = subprocess.run(["sh", "-c", '. "$1"; printf "%s|" "$A" "$B" "$C" "$D"',
                                      "sh", str(f)], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.stderr, "")
                self.assertEqual(out.stdout, "".join(v + "|" for v in (data[k] for k in "ABCD")))



# ------------------------------------------------------------------ in the simulator
# Kind -> (API prefix, plural) for the kinds manifests/ uses.
RESOURCES = {
    "Namespace": ("/api/v1", "namespaces"), "ServiceAccount": ("/api/v1", "serviceaccounts"),
    "ConfigMap": ("/api/v1", "configmaps"), "Service": ("/api/v1", "services"),
    "ResourceQuota": ("/api/v1", "resourcequotas"), "LimitRange": ("/api/v1", "limitranges"),
    "Deployment": ("/apis/apps/v1", "deployments"), "StatefulSet": ("/apis/apps/v1", "statefulsets"),
    "CronJob": ("/apis/batch/v1", "cronjobs"),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies"),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles"),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles"),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings"),
    "MutatingWebhookConfiguration": ("/apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations"),
    "CustomResourceDefinition": ("/apis/apiextensions.k8s.io/v1", "customresourcedefinitions"),
}
VAULT_PROXY = "/api/v1/namespaces/vault/pods/vault-0:8200/proxy"
SECRETS = {"controller": {"CONTROLLER_TOKEN": "c-secret-value"},
           "journalist": {"OPENAI_API_KEY": "sk-journalist-value", "FEED_TOKEN": "feed-value"},
           "publisher": {"CMS_PASSWORD": "pa$$w'rd-value"}}


def object_path(obj):
    prefix, plural = RESOURCES[obj["kind"]]
    ns = obj["metadata"].get("namespace")
    return "%s/%s%s/%s" % (prefix, "namespaces/%s/" % ns if ns else "", plural, obj["metadata"]["name"])


class SimulatorTest(unittest.TestCase):
    """The acceptance of the stack in k3sim: the manifests applied phase by phase with the
    gates of FACTS.md "Bootstrap order", Vault initialised and configured the way agentd
    does it, then a run of each CronJob.  This drives the simulator directly (not
    agentd) so that the manifests are proven against the simulated cluster on their own."""

    @classmethod
    def setUpClass(cls):
        cls.values = load_values()
        cls.objects = load_stack(cls.values)
        cls.k = K3sim(speed=1.0).start()
        try:
            cls.bootstrap()
        except BaseException:
            cls.k.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)

    @classmethod
    def apply_phase(cls, fname):
        for f, obj in cls.objects:
            if f == fname:
                r = cls.k.apply(object_path(obj), obj, manager="stack-test", force=True)
                if r.status not in (200, 201):
                    raise AssertionError("%s: apply %s: %s" % (f, obj_name(obj), r))

    @classmethod
    def get_when(cls, path, pred, timeout=30, what=None):
        def probe():
            r = cls.k.get(path)
            return r.json if r.status == 200 and pred(r.json) else None
        try:
            return cls.k.wait_for(probe, timeout=timeout, what=what or path)
        except AssertionError as e:
            warnings = ["%s %s: %s" % (ev["involvedObject"]["name"], ev["reason"], ev["message"])
                        for ns in NAMESPACES for ev in cls.k.get("/api/v1/namespaces/%s/events" % ns).json["items"]
                        if ev.get("type") == "Warning"]
            raise AssertionError("%s; warning events: %s" % (e, "; ".join(warnings[-5:]) or "none")) from None

    @classmethod
    def vault(cls, method, path, body=None, token=None, want=(200, 204)):
        headers = {"X-Vault-Token": token} if token else None
        r = cls.k.request(method, VAULT_PROXY + "/v1/" + path, body, headers=headers)
        if r.status not in want:
            raise AssertionError("vault %s %s: %s" % (method, path, r))
        return r.json if r.body else None

    @classmethod
    def bootstrap(cls):
        v, k = cls.values["vault"], cls.k
        files = sorted(p.name for p in MANIFESTS.glob("*.yaml"))
        phase = {n[3:-5]: n for n in files}
        cls.apply_phase(phase["namespaces"])
        cls.apply_phase(phase["vault-server"])
        cls.get_when("/api/v1/namespaces/vault/pods/vault-0",
                     lambda p: p["status"].get("phase") == "Running" and p["status"].get("podIP"),
                     what="vault-0 Running with an IP")
        with open(ROOT / "config" / "agentd.yaml", encoding="utf-8") as f:
            shares = yaml.safe_load(f)["vault"]["init"]
        init = cls.vault("POST", "sys/init", {"secret_shares": shares["shares"],
                                              "secret_threshold": shares["threshold"]})
        for key in init["keys_base64"][:shares["threshold"]]:
            cls.vault("POST", "sys/unseal", {"key": key})
        token = cls.root_token = init["root_token"]
        cls.vault("PUT", "sys/audit/" + v["audit"]["path"],
                  {"type": v["audit"]["type"], "options": {"file_path": v["audit"]["file_path"]}}, token)
        cls.vault("POST", "sys/mounts/" + v["kv"]["mount"], {"type": "kv", "options": {"version": "2"}}, token)
        cls.vault("POST", "sys/auth/" + v["auth"]["mount"], {"type": "kubernetes"}, token)
        cls.vault("POST", "auth/%s/config" % v["auth"]["mount"], {"kubernetes_host": v["auth"]["kubernetes_host"]},
                  token)
        policy = 'path "%s/data/%s*" {\n  capabilities = ["read"]\n}\n' % (v["kv"]["mount"], v["kv"]["prefix"])
        cls.vault("PUT", "sys/policies/acl/" + v["policy"]["name"], {"policy": policy}, token)
        cls.vault("POST", "auth/%s/role/%s" % (v["auth"]["mount"], v["auth"]["role"]),
                  {"bound_service_account_names": v["auth"]["bound_service_accounts"],
                   "bound_service_account_namespaces": v["auth"]["bound_namespaces"],
                   "token_policies": [v["policy"]["name"]], "token_ttl": v["auth"]["token_ttl"],
                   "token_max_ttl": v["auth"]["token_max_ttl"]}, token)
        for task, data in SECRETS.items():
            cls.vault("POST", "%s/data/%s%s" % (v["kv"]["mount"], v["kv"]["prefix"], task), {"data": data}, token)
        cls.get_when("/api/v1/namespaces/vault/pods/vault-0",
                     lambda p: any(c["type"] == "Ready" and c["status"] == "True"
                                   for c in p["status"].get("conditions", [])), what="vault-0 Ready")
        cls.apply_phase(phase["vault-injector"])
        cls.get_when("/api/v1/namespaces/vault/endpoints/vault-agent-injector-svc",
                     lambda e: any(s.get("addresses") for s in e.get("subsets") or []),
                     what="injector endpoints ready")
        cls.apply_phase(phase["vault-webhook"])
        cls.get_when(object_path(next(o for f, o in cls.objects if o["kind"] == "MutatingWebhookConfiguration")),
                     lambda w: w["webhooks"][0]["clientConfig"].get("caBundle"), what="webhook caBundle")
        cls.apply_phase(phase["crds"])
        cls.get_when(object_path(next(o for f, o in cls.objects if o["kind"] == "CustomResourceDefinition")),
                     lambda c: any(x["type"] == "Established" and x["status"] == "True"
                                   for x in (c.get("status") or {}).get("conditions", [])), what="CRD Established")
        for name in ("agents-policy", "agents-controller", "agents-cronjobs"):
            cls.apply_phase(phase[name])
        cls.get_when("/apis/apps/v1/namespaces/ai-agents/deployments/agent-controller",
                     lambda d: (d.get("status") or {}).get("availableReplicas") == cls.values["controller"]["replicas"],
                     timeout=60, what="agent-controller available")
        # Runs as `kubectl create job --from=cronjob/NAME` starts them (agentctl run).
        for name in ("journalist", "publisher"):
            cj = k.get("/apis/batch/v1/namespaces/ai-agents/cronjobs/" + name).json
            job = {"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": name + "-manual", "namespace": "ai-agents",
                                "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                                "labels": cj["spec"]["jobTemplate"]["metadata"].get("labels", {}),
                                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": name,
                                                     "uid": cj["metadata"]["uid"]}]},
                   "spec": cj["spec"]["jobTemplate"]["spec"]}
            r = k.post("/apis/batch/v1/namespaces/ai-agents/jobs", job)
            if r.status != 201:
                raise AssertionError("create job from %s: %s" % (name, r))
        for name in ("journalist", "publisher"):
            cls.get_when("/apis/batch/v1/namespaces/ai-agents/jobs/%s-manual" % name,
                         lambda j: any(c["type"] in ("Complete", "Failed") and c["status"] == "True"
                                       for c in (j.get("status") or {}).get("conditions", [])),
                         timeout=60, what="job %s-manual finished" % name)

    def pods(self, ns):
        return self.k.get("/api/v1/namespaces/%s/pods" % ns).json["items"]

    def test_jobs_succeed(self):
        for name in ("journalist", "publisher"):
            job = self.k.get("/apis/batch/v1/namespaces/ai-agents/jobs/%s-manual" % name).json
            with self.subTest(job=name):
                self.assertTrue(any(c["type"] == "Complete" and c["status"] == "True"
                                    for c in job["status"]["conditions"]), job["status"])

    def test_every_pod_healthy(self):
        for ns in NAMESPACES:
            for p in self.pods(ns):
                with self.subTest(pod="%s/%s" % (ns, p["metadata"]["name"])):
                    if p["metadata"].get("ownerReferences", [{}])[0].get("kind") == "Job":
                        self.assertEqual(p["status"]["phase"], "Succeeded")
                    else:
                        self.assertEqual(p["status"]["phase"], "Running")
                        ready = [c for c in p["status"]["conditions"] if c["type"] == "Ready"]
                        self.assertEqual(ready[0]["status"], "True", p["status"])

    def test_agent_pods_injected_and_report_their_keys(self):
        seen = set()
        for p in self.pods("ai-agents"):
            app = p["spec"]["containers"][0]["name"]
            seen.add(app)
            with self.subTest(pod=p["metadata"]["name"]):
                self.assertEqual(p["metadata"]["annotations"].get(VAULT + "agent-inject-status"), "injected")
                self.assertIn("vault-agent-init", [c["name"] for c in p["spec"].get("initContainers", [])])
                log = self.k.get("/api/v1/namespaces/ai-agents/pods/%s/log" % p["metadata"]["name"],
                                 container=app).body.decode()
                want = "agent-task=%s secret-file=%s.env keys: %s\nagent-task=%s result=ok\n" % (
                    app, app, " ".join(sorted(SECRETS[app])), app)
                self.assertIn(want, log)
                for value in SECRETS[app].values():
                    self.assertNotIn(value, log)
        self.assertEqual(seen, set(SECRETS))

    def test_no_secret_objects_or_consumption(self):
        self.assertEqual(self.k.get("/api/v1/namespaces/ai-agents/secrets").json["items"], [])
        for p in self.pods("ai-agents"):
            spec = p["spec"]
            with self.subTest(pod=p["metadata"]["name"]):
                for c in spec.get("initContainers", []) + spec["containers"]:
                    for e in c.get("env", []):
                        self.assertNotIn("secretKeyRef", e.get("valueFrom", {}))
                    self.assertFalse([s for s in c.get("envFrom", []) if "secretRef" in s])
                self.assertFalse([v for v in spec.get("volumes", []) if "secret" in v])

    def test_every_container_has_requests_and_limits(self):
        for ns in NAMESPACES:
            for p in self.pods(ns):
                for c in p["spec"].get("initContainers", []) + p["spec"]["containers"]:
                    with self.subTest(container="%s/%s %s" % (ns, p["metadata"]["name"], c["name"])):
                        for k in ("requests", "limits"):
                            for r in ("cpu", "memory"):
                                self.assertIn(r, c.get("resources", {}).get(k, {}))

    def test_quota_admitted_everything(self):
        rq = self.k.get("/api/v1/namespaces/ai-agents/resourcequotas/ai-agents").json
        used, hard = rq["status"]["used"], rq["status"]["hard"]
        for r in hard:
            with self.subTest(resource=r):
                self.assertLessEqual(quantity(used.get(r, "0")), quantity(hard[r]))
        events = self.k.get("/api/v1/namespaces/ai-agents/events").json["items"]
        self.assertEqual([e["message"] for e in events if e["reason"] == "FailedCreate"], [])

    def test_agentd_finds_the_vault_pods(self):
        with open(ROOT / "config" / "agentd.yaml", encoding="utf-8") as f:
            cfg = yaml.safe_load(f)["vault"]
        pods = self.k.get("/api/v1/namespaces/%s/pods" % cfg["namespace"], labelSelector=cfg["selector"]).json
        self.assertEqual([p["metadata"]["name"] for p in pods["items"]], ["vault-0"])

    def test_vault_unsealed_with_audit(self):
        health = self.k.request("GET", VAULT_PROXY + "/v1/sys/seal-status").json
        self.assertFalse(health["sealed"])
        self.assertTrue(health["initialized"])
        audit = self.vault("GET", "sys/audit", token=self.root_token)
        self.assertIn(self.values["vault"]["audit"]["path"] + "/", audit)


if __name__ == "__main__":
    unittest.main()
