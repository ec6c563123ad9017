"""Objects the world tests create: a Vault server, the injector, restricted namespaces."""

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/audit": "restricted"}
HARDENED_SC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
               "readOnlyRootFilesystem": True}
POD_SC = {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
RESOURCES = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}


# vault-helm's server readinessProbe (values.yaml server.readinessProbe, exec form).
VAULT_HELM_READINESS = {"exec": {"command": ["/bin/sh", "-ec", "vault status -tls-skip-verify"]},
                        "failureThreshold": 2, "initialDelaySeconds": 5, "periodSeconds": 5,
                        "successThreshold": 1, "timeoutSeconds": 3}


def namespace(name, labels=None):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}


def container(name="app", image="registry.example/agent:1.0", **extra):
    c = {"name": name, "image": image, "securityContext": dict(HARDENED_SC), "resources": dict(RESOURCES)}
    c.update(extra)
    return c


def pod(name, containers=None, annotations=None, labels=None, sa=None, restart="Always"):
    spec = {"securityContext": dict(POD_SC), "containers": containers or [container()], "restartPolicy": restart}
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}, "labels": labels or {}}, "spec": spec}


def vault_statefulset(storage_class=None, image="hashicorp/vault:1.17.2"):
    vct = {"metadata": {"name": "data"},
           "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    if storage_class:
        vct["spec"]["storageClassName"] = storage_class
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "vault", "namespace": "vault"},
            "spec": {"serviceName": "vault-internal", "replicas": 1,
                     "selector": {"matchLabels": {"app.kubernetes.io/name": "vault"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/name": "vault", "component": "server"}},
                                  "spec": {"securityContext": dict(POD_SC, fsGroup=1000),
                                           "containers": [container("vault", image,
                                                                    ports=[{"containerPort": 8200, "name": "http"}],
                                                                    readinessProbe=VAULT_HELM_READINESS,
                                                                    volumeMounts=[{"name": "data",
                                                                                   "mountPath": "/vault/data"}])]}},
                     "volumeClaimTemplates": [vct]}}


def vault_service():
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vault", "namespace": "vault"},
            "spec": {"selector": {"app.kubernetes.io/name": "vault", "component": "server"},
                     "publishNotReadyAddresses": True,
                     "ports": [{"name": "http", "port": 8200, "targetPort": 8200}]}}


def injector_deployment():
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "vault-agent-injector", "namespace": "vault"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "vault-agent-injector"}},
                     "template": {"metadata": {"labels": {"app.kubernetes.io/name": "vault-agent-injector"}},
                                  "spec": {"securityContext": dict(POD_SC),
                                           "containers": [container(
                                               "sidecar-injector", "hashicorp/vault-k8s:1.7.6",
                                               ports=[{"containerPort": 8080, "name": "https"}],
                                               env=[{"name": "AGENT_INJECT_VAULT_ADDR",
                                                     "value": "http://vault.vault.svc:8200"},
                                                    {"name": "AGENT_INJECT_VAULT_IMAGE",
                                                     "value": "hashicorp/vault:1.17.2"}])]}}}}


def injector_service():
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vault-agent-injector-svc", "namespace": "vault"},
            "spec": {"selector": {"app.kubernetes.io/name": "vault-agent-injector"},
                     "ports": [{"name": "https", "port": 443, "targetPort": 8080}]}}


def webhook(failure_policy="Fail", namespaces=("ai-agents",)):
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "vault-agent-injector-cfg"},
            "webhooks": [{"name": "vault.hashicorp.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                          "failurePolicy": failure_policy, "timeoutSeconds": 30,
                          "clientConfig": {"service": {"name": "vault-agent-injector-svc", "namespace": "vault",
                                                       "path": "/mutate", "port": 443}},
                          "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name",
                                                                      "operator": "In",
                                                                      "values": list(namespaces)}]},
                          "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                                     "resources": ["pods"]}]}]}


def agent_annotations(role="journalist", secret="secret/data/agents/journalist", pre_only=False):
    ann = {"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": role,
           "vault.hashicorp.com/agent-inject-secret-env": secret,
           "vault.hashicorp.com/agent-inject-template-env":
               '{{- with secret "%s" -}}{{ range $k, $v := .Data.data }}export {{ $k }}="{{ $v }}"\n'
               '{{ end }}{{- end }}' % secret}
    if pre_only:
        ann["vault.hashicorp.com/agent-pre-populate-only"] = "true"
    return ann


def warning_texts(response):
    """The texts of the Warning headers (`299 - "text"`, quotes backslash-escaped)."""
    out = []
    for w in response.warnings():
        code, _, rest = w.partition(" ")
        _, _, quoted = rest.partition(" ")
        assert code == "299" and quoted.startswith('"') and quoted.endswith('"'), w
        body, text, i = quoted[1:-1], [], 0
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body):
                i += 1
            text.append(body[i])
            i += 1
        out.append("".join(text))
    return out


def get_when(k, path, pred, timeout=10, what=None):
    """Poll GET PATH until pred(object) holds; returns the object."""
    def probe():
        r = k.get(path)
        return r.json if r.status == 200 and pred(r.json) else None
    return k.wait_for(probe, timeout=timeout, what=what or path)


def cond(obj, type_):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c
    return None


def phase(want):
    return lambda o: (o.get("status") or {}).get("phase") == want


def events(k, ns, reason=None, kind=None):
    return [ev for ev in k.get("/api/v1/namespaces/%s/events" % ns).json["items"]
            if (reason is None or ev["reason"] == reason) and (kind is None or ev["involvedObject"]["kind"] == kind)]
