"""Resource types the simulated API server serves: the built-in ones the stack uses and
the kinds of Established CustomResourceDefinitions."""

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# Field selectors each kind accepts besides metadata.name / metadata.namespace (the real
# registries' GetAttrs / field label conversion functions).
POD_FIELDS = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
              "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"]
EVENT_FIELDS = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
                "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"]
EVENTS_V1_FIELDS = ["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
                    "regarding.apiVersion", "regarding.resourceVersion", "regarding.fieldPath",
                    "reason", "reportingController", "type"]


class Kind:
    def __init__(self, group, version, kind, plural, namespaced=True, short=(), subresources=(),
                 generation=False, categories=(), fields=(), singular=None, crd=None):
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.singular = singular or kind.lower()
        self.namespaced = namespaced
        self.short = list(short)
        self.subresources = list(subresources)
        self.generation = generation
        self.categories = list(categories)
        self.fields = ["metadata.name", "metadata.namespace"] + list(fields) if namespaced else \
            ["metadata.name"] + list(fields)
        self.crd = crd      # name of the defining CRD, None for built-ins

    @property
    def api_version(self):
        return self.group + "/" + self.version if self.group else self.version

    @property
    def key(self):
        """Storage identity: one collection per group+resource, whatever the version."""
        return (self.group, self.plural)

    @property
    def has_status(self):
        return "status" in self.subresources

    def path(self, namespace=None, name=None):
        base = "/apis/" + self.api_version if self.group else "/api/v1"
        p = base
        if self.namespaced and namespace:
            p += "/namespaces/" + namespace
        p += "/" + self.plural
        if name:
            p += "/" + name
        return p

    def discovery(self):
        out = [{"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
                "kind": self.kind, "verbs": VERBS}]
        if self.short:
            out[0]["shortNames"] = self.short
        if self.categories:
            out[0]["categories"] = self.categories
        for sub in self.subresources:
            entry = {"name": self.plural + "/" + sub, "singularName": "", "namespaced": self.namespaced,
                     "kind": self.kind, "verbs": ["get", "patch", "update"]}
            if sub == "log":
                entry["verbs"] = ["get"]
            elif sub == "proxy":
                entry["kind"] = "PodProxyOptions"
                entry["verbs"] = ["create", "delete", "get", "patch", "update"]
            elif sub == "finalize":
                entry["verbs"] = ["update"]
            out.append(entry)
        return out


def _builtin():
    K = Kind
    return [
        K("", "v1", "Namespace", "namespaces", False, ["ns"], ["status", "finalize"], fields=["status.phase"]),
        K("", "v1", "Pod", "pods", True, ["po"], ["status", "log", "proxy"], categories=["all"],
          fields=POD_FIELDS),
        K("", "v1", "Service", "services", True, ["svc"], ["status", "proxy"], categories=["all"]),
        K("", "v1", "Endpoints", "endpoints", True, ["ep"], singular="endpoints"),
        K("", "v1", "ConfigMap", "configmaps", True, ["cm"]),
        K("", "v1", "Secret", "secrets", True, [], fields=["type"]),
        K("", "v1", "ServiceAccount", "serviceaccounts", True, ["sa"]),
        K("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True, ["pvc"], ["status"]),
        K("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], ["status"]),
        K("", "v1", "Event", "events", True, ["ev"], fields=EVENT_FIELDS),
        K("", "v1", "ResourceQuota", "resourcequotas", True, ["quota"], ["status"]),
        K("", "v1", "LimitRange", "limitranges", True, ["limits"]),
        K("", "v1", "Node", "nodes", False, ["no"], ["status", "proxy"], fields=["spec.unschedulable"]),
        K("apps", "v1", "Deployment", "deployments", True, ["deploy"], ["status", "scale"], True, ["all"]),
        K("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"], ["status", "scale"], True, ["all"],
          fields=["status.replicas"]),
        K("apps", "v1", "StatefulSet", "statefulsets", True, ["sts"], ["status", "scale"], True, ["all"]),
        K("batch", "v1", "Job", "jobs", True, [], ["status"], True, ["all"], fields=["status.successful"]),
        K("batch", "v1", "CronJob", "cronjobs", True, ["cj"], ["status"], True, ["all"]),
        K("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ["netpol"], [], True),
        K("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        K("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        K("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
        K("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
        K("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration",
          "mutatingwebhookconfigurations", False, [], [], True),
        K("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
          "validatingwebhookconfigurations", False, [], [], True),
        K("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
          ["crd", "crds"], ["status"], True),
        K("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ["sc"]),
        K("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True, []),
        K("events.k8s.io", "v1", "Event", "events", True, ["ev"], fields=EVENTS_V1_FIELDS),
        K("coordination.k8s.io", "v1", "Lease", "leases", True),
    ]


def crd_established(crd):
    for c in (crd.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Established" and c.get("status") == "True":
            return True
    return False


def kinds_of_crd(crd):
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = []
        sr = v.get("subresources") or spec.get("subresources") or {}
        if "status" in sr:
            subs.append("status")
        if "scale" in sr:
            subs.append("scale")
        out.append(Kind(spec.get("group", ""), v.get("name", "v1"), names.get("kind", ""), names.get("plural", ""),
                        spec.get("scope", "Namespaced") == "Namespaced", names.get("shortNames") or [],
                        subs, True, names.get("categories") or [],
                        singular=names.get("singular") or names.get("kind", "").lower(),
                        crd=(crd.get("metadata") or {}).get("name")))
    return out


class Registry:
    def __init__(self):
        self.builtin = _builtin()
        self.custom = []

    def all(self):
        return self.builtin + self.custom

    def by_resource(self, group, version, plural):
        for k in self.all():
            if k.group == group and k.version == version and k.plural == plural:
                return k
        return None

    def by_kind(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for k in self.all():
            if k.group == group and k.version == version and k.kind == kind:
                return k
        return None

    def by_key(self, key):
        for k in self.all():
            if k.key == key:
                return k
        return None

    def groups(self):
        """[(group, [versions])] in registration order, core group excluded."""
        seen = {}
        for k in self.all():
            if k.group:
                vs = seen.setdefault(k.group, [])
                if k.version not in vs:
                    vs.append(k.version)
        return list(seen.items())

    def set_crds(self, crds):
        """Serve exactly the kinds of the Established CRDs given; returns the removed kinds."""
        new = []
        for crd in crds:
            if crd_established(crd) and not (crd.get("metadata") or {}).get("deletionTimestamp"):
                new.extend(kinds_of_crd(crd))
        old_keys = {(k.group, k.version, k.plural) for k in self.custom}
        new_keys = {(k.group, k.version, k.plural) for k in new}
        removed = [k for k in self.custom if (k.group, k.version, k.plural) not in new_keys]
        changed = old_keys != new_keys
        self.custom = new
        return changed, removed
