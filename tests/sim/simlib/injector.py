"""The Vault Agent Injector (hashicorp/vault-k8s) as the simulated API server sees it:
a MutatingWebhookConfiguration whose service is backed by an injector Deployment.

Recognition (tests/sim/ARCHITECTURE.md): a Deployment whose container image repository is
`hashicorp/vault-k8s`; a webhook whose clientConfig.service names a Service selecting that
Deployment's pods.  Injection mirrors vault-k8s agent-inject: `vault-agent-init` (unless
pre-populate is off) and `vault-agent` (unless pre-populate-only) with runAsUser 100,
runAsGroup 1000, drop ALL, no privilege escalation, read-only root and no seccompProfile,
resources 250m/500m cpu and 64Mi/128Mi memory unless annotated otherwise."""
import base64
import copy
import json

from . import admission
from .errors import ApiError

P = "vault.hashicorp.com/"
INJECTOR_REPO = "hashicorp/vault-k8s"


def image_repo(image):
    """Repository path without registry host, tag or digest: 'hashicorp/vault'."""
    ref = (image or "").split("@", 1)[0]
    last = ref.rsplit("/", 1)
    if ":" in last[-1]:
        ref = ref[: len(ref) - len(last[-1])] + last[-1].split(":", 1)[0]
    parts = ref.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["library"] + parts
    return "/".join(parts)


def image_tag(image):
    ref = (image or "").split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def _selects(selector, labels):
    return bool(selector) and all((labels or {}).get(k) == v for k, v in selector.items())


def _label_selector_matches(sel, labels):
    """metav1.LabelSelector (matchLabels + matchExpressions); empty/None selects everything."""
    labels = labels or {}
    if not sel:
        return True
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and key in labels and labels[key] in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def injector_deployments(sim):
    out = []
    for d in sim.list("apps/v1", "Deployment"):
        cs = (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        if any(image_repo(c.get("image")) == INJECTOR_REPO for c in cs):
            out.append(d)
    return out


def _deployment_available(d):
    for c in (d.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Available":
            return c.get("status") == "True"
    return False


def _service_backend(sim, svc_ref):
    """-> (service or None, injector deployment selected by it or None, ready endpoint count)."""
    ns, name = svc_ref.get("namespace", "default"), svc_ref.get("name", "")
    svc = sim.get("v1", "Service", ns, name)
    if svc is None:
        return None, None, 0
    selector = (svc.get("spec") or {}).get("selector") or {}
    dep = None
    for d in injector_deployments(sim):
        tlabels = (((d.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
        if d["metadata"]["namespace"] == ns and _selects(selector, tlabels):
            dep = d
    ready = 0
    ep = sim.get("v1", "Endpoints", ns, name)
    for subset in (ep or {}).get("subsets") or []:
        ready += len(subset.get("addresses") or [])
    return svc, dep, ready


def _injector_env(dep):
    cs = (((dep.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    env = {}
    for c in cs:
        if image_repo(c.get("image")) == INJECTOR_REPO:
            for e in c.get("env") or []:
                if "value" in e:
                    env[e["name"]] = e["value"]
    return env


def _rule_matches(webhook, req):
    for rule in webhook.get("rules") or []:
        ops = rule.get("operations") or []
        res = rule.get("resources") or []
        groups = rule.get("apiGroups") or []
        if ("*" in ops or req.operation in ops) and ("*" in res or "pods" in res) and \
                ("*" in groups or "" in groups):
            return True
    return False


def _webhooks(sim):
    for cfg in sim.list("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"):
        for i, wh in enumerate(cfg.get("webhooks") or []):
            svc = (wh.get("clientConfig") or {}).get("service")
            if svc:
                yield cfg, i, wh, svc


def webhook_admission(sim, req):
    if req.kind != ("v1", "Pod") or req.operation != "CREATE":
        return None
    ns_labels = ((sim.get("v1", "Namespace", "", req.namespace) or {}).get("metadata") or {}).get("labels") or {}
    pod_labels = (req.obj.get("metadata") or {}).get("labels") or {}
    for cfg, _, wh, svc_ref in _webhooks(sim):
        if not _rule_matches(wh, req):
            continue
        if not _label_selector_matches(wh.get("namespaceSelector"), ns_labels):
            continue
        if not _label_selector_matches(wh.get("objectSelector"), pod_labels):
            continue
        svc, dep, ready = _service_backend(sim, svc_ref)
        if svc is None or dep is None or ready == 0 or not _deployment_available(dep):
            if wh.get("failurePolicy", "Fail") == "Ignore":
                continue
            port = svc_ref.get("port", 443)
            url = "https://%s.%s.svc:%d%s?timeout=%ds" % (svc_ref.get("name"), svc_ref.get("namespace"), port,
                                                         svc_ref.get("path", ""), wh.get("timeoutSeconds", 10))
            if svc is None:
                why = 'service "%s" not found' % svc_ref.get("name")
            else:
                why = 'no endpoints available for service "%s"' % svc_ref.get("name")
            raise ApiError(500, "InternalError", 'Internal error occurred: failed calling webhook "%s": failed to '
                           'call webhook: Post "%s": %s' % (wh.get("name"), url, why))
        inject(req.obj, req.namespace, _injector_env(dep))
    return None


def _truthy(v):
    return str(v).lower() in ("true", "1", "t", "yes", "y", "on")


def inject(pod, namespace, env):
    """Mutate POD in place like vault-k8s; no-op unless agent-inject is true and the pod is not
    already injected, and never in kube-system/kube-public."""
    md = pod.setdefault("metadata", {})
    ann = md.setdefault("annotations", {})
    if namespace in ("kube-system", "kube-public"):
        return False
    if not _truthy(ann.get(P + "agent-inject", "false")) or ann.get(P + "agent-inject-status") == "injected":
        return False
    spec = pod.setdefault("spec", {})
    pre_only = _truthy(ann.get(P + "agent-pre-populate-only", "false"))
    pre = _truthy(ann.get(P + "agent-pre-populate", "true"))
    image = ann.get(P + "agent-image") or env.get("AGENT_INJECT_VAULT_IMAGE", "hashicorp/vault:1.17.2")
    addr = ann.get(P + "service") or env.get("AGENT_INJECT_VAULT_ADDR", "http://vault.vault.svc:8200")
    auth_path = ann.get(P + "auth-path") or env.get("AGENT_INJECT_VAULT_AUTH_PATH", "auth/kubernetes")
    run_as_user = int(ann.get(P + "agent-run-as-user", env.get("AGENT_INJECT_RUN_AS_USER", 100)))
    run_as_group = int(ann.get(P + "agent-run-as-group", env.get("AGENT_INJECT_RUN_AS_GROUP", 1000)))
    secret_path = ann.get(P + "secret-volume-path", "/vault/secrets")
    resources = {"limits": {}, "requests": {}}
    for kind, key, default in (("limits", "cpu", "500m"), ("limits", "memory", "128Mi"),
                               ("requests", "cpu", "250m"), ("requests", "memory", "64Mi"),
                               ("limits", "ephemeral-storage", ""), ("requests", "ephemeral-storage", "")):
        short = {"cpu": "cpu", "memory": "mem", "ephemeral-storage": "ephemeral"}[key]
        value = ann.get("%sagent-%s-%s" % (P, kind, short), default)
        if value:
            admission.parse_quantity(value, "%sagent-%s-%s" % (P, kind, short))
            resources[kind][key] = value
    templates = []
    for key in sorted(ann):
        if key.startswith(P + "agent-inject-secret-"):
            name = key[len(P + "agent-inject-secret-"):]
            contents = ann.get(P + "agent-inject-template-" + name) or \
                '{{ with secret "%s" }}{{ range $k, $v := .Data }}{{ $k }}: {{ $v }}\n{{ end }}{{ end }}' % ann[key]
            templates.append({"destination": "%s/%s" % (secret_path, name), "contents": contents,
                              "left_delimiter": "{{", "right_delimiter": "}}", "secret_path": ann[key]})
    sa_mount = None
    for c in spec.get("containers") or []:
        for vm in c.get("volumeMounts") or []:
            if vm.get("mountPath") == "/var/run/secrets/kubernetes.io/serviceaccount":
                sa_mount = vm.get("name")
    sc = {"runAsUser": run_as_user, "runAsGroup": run_as_group,
          "runAsNonRoot": not (run_as_user == 0 or run_as_group == 0), "readOnlyRootFilesystem": True,
          "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}

    def config(init):
        cfg = {"auto_auth": {"method": {"type": "kubernetes", "mount_path": auth_path,
                                        "config": {"role": ann.get(P + "role", ""),
                                                   "token_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"}},
                             "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token"}}]},
               "exit_after_auth": init, "pid_file": "/home/vault/.pid", "vault": {"address": addr},
               "template": [{k: v for k, v in t.items() if k != "secret_path"} for t in templates],
               "template_config": {"exit_on_retry_failure": True}}
        if _truthy(ann.get(P + "agent-auto-auth-exit-on-err", "false")):
            cfg["exit_after_auth_error"] = True
        return base64.b64encode(json.dumps(cfg, sort_keys=True).encode()).decode()

    def container(name, init):
        mounts = []
        if sa_mount:
            mounts.append({"name": sa_mount, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                           "readOnly": True})
        mounts.append({"name": "home-init" if init else "home-sidecar", "mountPath": "/home/vault"})
        mounts.append({"name": "vault-secrets", "mountPath": secret_path})
        c = {"name": name, "image": image, "command": ["/bin/sh", "-ec"],
             "args": ["echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && "
                      "vault agent -config=/home/vault/config.json"],
             "env": [{"name": "NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                       "fieldPath": "metadata.namespace"}}},
                     {"name": "HOST_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}}},
                     {"name": "POD_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}},
                     {"name": "VAULT_LOG_LEVEL", "value": ann.get(P + "log-level", "info")},
                     {"name": "VAULT_LOG_FORMAT", "value": ann.get(P + "log-format", "standard")},
                     {"name": "VAULT_CONFIG", "value": config(init)}],
             "resources": copy.deepcopy(resources), "securityContext": copy.deepcopy(sc),
             "volumeMounts": mounts, "imagePullPolicy": "IfNotPresent",
             "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
        if not init:
            c["lifecycle"] = {}
        return c

    volumes = spec.setdefault("volumes", [])
    if pre:
        volumes.append({"name": "home-init", "emptyDir": {"medium": "Memory"}})
    if not pre_only:
        volumes.append({"name": "home-sidecar", "emptyDir": {"medium": "Memory"}})
    volumes.append({"name": "vault-secrets", "emptyDir": {"medium": "Memory"}})
    only = [x.strip() for x in ann.get(P + "agent-inject-containers", "").split(",") if x.strip()]
    for c in spec.get("containers") or []:
        if not only or c.get("name") in only:
            c.setdefault("volumeMounts", []).append({"name": "vault-secrets", "mountPath": secret_path})
    if pre:
        inits = spec.setdefault("initContainers", [])
        if _truthy(ann.get(P + "agent-init-first", "false")):
            inits.insert(0, container("vault-agent-init", True))
        else:
            inits.append(container("vault-agent-init", True))
    if not pre_only:
        spec.setdefault("containers", []).append(container("vault-agent", False))
    ann[P + "agent-inject-status"] = "injected"
    return True


def agent_config(container):
    """The decoded VAULT_CONFIG of an injected agent container (None if absent or junk)."""
    for e in container.get("env") or []:
        if e.get("name") == "VAULT_CONFIG" and "value" in e:
            try:
                return json.loads(base64.b64decode(e["value"]))
            except ValueError:
                return None
    return None


def ca_bundle_controller(sim):
    """The injector writes its own CA into its webhook configuration once it runs."""
    for cfg, i, wh, svc_ref in list(_webhooks(sim)):
        svc, dep, ready = _service_backend(sim, svc_ref)
        if dep is None or not ready or not _deployment_available(dep):
            continue
        if (wh.get("clientConfig") or {}).get("caBundle"):
            continue
        fresh = sim.get("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "",
                        cfg["metadata"]["name"])
        fresh["webhooks"][i]["clientConfig"]["caBundle"] = base64.b64encode(_injector_ca(sim)).decode()
        sim.update(fresh)


def _injector_ca(sim):
    pem = sim.world_state.get("injector_ca")
    if not pem:
        pem = _self_signed_pem()
        sim.world_state["injector_ca"] = pem
    return pem.encode()


def _self_signed_pem():
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Agent Inject CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()
