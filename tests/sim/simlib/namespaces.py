"""Namespace lifecycle: the namespace controller (content deletion, conditions,
finalization), the per-namespace defaults K3s's controllers create (ServiceAccount
"default", ConfigMap kube-root-ca.crt), and the objects a fresh cluster starts with."""
import copy

from .sim import CRD_KEY, NS_KEY

SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]
NODE_NAME = "k3sim"


def _cond(type_, status, reason, message, now, old):
    for c in old:
        if c.get("type") == type_ and c.get("status") == status and c.get("reason") == reason \
                and c.get("message") == message:
            return c
    return {"type": type_, "status": status, "lastTransitionTime": now, "reason": reason, "message": message}


def _remaining_cond(type_, counts, some, none, now, old):
    """True with the counts listed when COUNTS is non-empty, else False."""
    if counts:
        reason, prefix, item = some
        return _cond(type_, "True", reason, prefix + ", ".join(item % (k, n) for k, n in sorted(counts.items())),
                     now, old)
    return _cond(type_, "False", none[0], none[1], now, old)


def _remaining(sim, ns):
    """(resources: {"pods.": n}, finalizers: {name: n}) still in namespace NS."""
    res, fins = {}, {}
    for kind in sim.registry.all():
        if not kind.namespaced or kind.key == ("events.k8s.io", "events"):
            continue
        items = sim.store.items(kind.key, ns)
        if not items:
            continue
        label = kind.plural + "." + kind.group
        res[label] = res.get(label, 0) + len(items)
        for o in items:
            for f in o["metadata"].get("finalizers") or []:
                fins[f] = fins.get(f, 0) + 1
    return res, fins


def namespace_controller(sim):
    now = sim.now()
    for ns in list(sim.store.items(NS_KEY)):
        if not ns["metadata"].get("deletionTimestamp"):
            continue
        name = ns["metadata"]["name"]
        seen = set()
        for kind in sim.registry.all():
            if not kind.namespaced or kind.key in seen:
                continue
            seen.add(kind.key)
            for o in list(sim.store.items(kind.key, name)):
                if not o["metadata"].get("deletionTimestamp"):
                    sim.do_delete(kind, name, o["metadata"]["name"], "system:serviceaccount:kube-system:"
                                  "namespace-controller", "Background", admit=False)
        res, fins = _remaining(sim, name)
        old_conds = (ns.get("status") or {}).get("conditions") or []
        conds = [
            _cond("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered",
                  "All resources successfully discovered", now, old_conds),
            _cond("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
                  "All legacy kube types successfully parsed", now, old_conds),
            _cond("NamespaceDeletionContentFailure", "False", "ContentDeleted",
                  "All content successfully deleted, may be waiting on finalization", now, old_conds),
        ]
        conds.append(_remaining_cond("NamespaceContentRemaining", res, (
            "SomeResourcesRemain", "Some resources are remaining: ", "%s has %d resource instances"),
            ("ContentRemoved", "All content successfully removed"), now, old_conds))
        conds.append(_remaining_cond("NamespaceFinalizersRemaining", fins, (
            "SomeFinalizersRemain", "Some content in the namespace has finalizers remaining: ",
            "%s in %d resource instances"), ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
            now, old_conds))
        new = copy.deepcopy(ns)
        new.setdefault("status", {})["phase"] = "Terminating"
        new["status"]["conditions"] = conds
        if not res:
            new["spec"]["finalizers"] = [f for f in (new.get("spec") or {}).get("finalizers") or []
                                         if f != "kubernetes"]
        if new != ns:
            sim._commit(sim.registry.by_key(NS_KEY), new, ns)


def crd_cleanup_controller(sim):
    """A deleted CRD loses its instances, then its cleanup finalizer."""
    from .sim import CRD_CLEANUP
    crd_kind = sim.registry.by_key(CRD_KEY)
    for crd in list(sim.store.items(CRD_KEY)):
        md = crd["metadata"]
        if not md.get("deletionTimestamp") or CRD_CLEANUP not in (md.get("finalizers") or []):
            continue
        spec = crd.get("spec") or {}
        key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
        for o in list(sim.store.items(key)):
            sim.store.remove(key, o)
        new = copy.deepcopy(crd)
        new["metadata"]["finalizers"] = [f for f in md["finalizers"] if f != CRD_CLEANUP]
        sim._commit(crd_kind, new, crd)


def defaults_controller(sim):
    """ServiceAccount "default" and ConfigMap "kube-root-ca.crt" in every active namespace."""
    sa_kind = sim.registry.by_kind("v1", "ServiceAccount")
    cm_kind = sim.registry.by_kind("v1", "ConfigMap")
    for ns in sim.store.items(NS_KEY):
        if ns["metadata"].get("deletionTimestamp"):
            continue
        name = ns["metadata"]["name"]
        if sim.store.get(sa_kind.key, name, "default") is None:
            sim.do_create(sa_kind, name, {"apiVersion": "v1", "kind": "ServiceAccount",
                                          "metadata": {"name": "default"}}, "system:serviceaccount:kube-system:"
                          "service-account-controller", "k3s", admit=False)
        if sim.store.get(cm_kind.key, name, "kube-root-ca.crt") is None and sim.ca_pem:
            sim.do_create(cm_kind, name, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "kube-root-ca.crt",
                                                       "annotations": {"kubernetes.io/description": (
                                                           "Contains a CA bundle that can be used to verify the "
                                                           "kube-apiserver when using internal endpoints such as "
                                                           "the internal service IP or kubernetes.default.svc. No "
                                                           "other usage is guaranteed across distributions of "
                                                           "Kubernetes clusters.")}},
                                          "data": {"ca.crt": sim.ca_pem}},
                          "system:serviceaccount:kube-system:root-ca-cert-publisher", "k3s", admit=False)


def seed(sim):
    """What a fresh K3s has before anyone applies anything."""
    ns_kind = sim.registry.by_key(NS_KEY)
    for name in SYSTEM_NAMESPACES:
        if sim.store.get(NS_KEY, "", name) is None:
            sim.do_create(ns_kind, "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                          "system:apiserver", "k3s", admit=False)
    node_kind = sim.registry.by_kind("v1", "Node")
    if sim.store.get(node_kind.key, "", NODE_NAME) is None:
        node, _ = sim.do_create(node_kind, "", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": NODE_NAME, "labels": {
                "kubernetes.io/hostname": NODE_NAME, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true",
                "node.kubernetes.io/instance-type": "k3s"}},
            "spec": {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"], "providerID": "k3s://" + NODE_NAME}},
            "system:node:" + NODE_NAME, "k3s", admit=False)
        new = copy.deepcopy(node)
        now = sim.now()
        new["status"] = {
            "addresses": [{"type": "InternalIP", "address": "192.168.127.2"},
                          {"type": "Hostname", "address": NODE_NAME}],
            "allocatable": {"cpu": "4", "memory": "8048212Ki", "ephemeral-storage": "60000000Ki", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "8048212Ki", "ephemeral-storage": "61255492Ki", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "nodeInfo": {"kubeletVersion": "v1.32.3+k3s1", "containerRuntimeVersion": "containerd://2.0.4-k3s2",
                         "operatingSystem": "linux", "architecture": "amd64", "osImage": "k3sim"}}
        sim.do_update(node_kind, "", NODE_NAME, new, "system:node:" + NODE_NAME, "k3s", "status", admit=False)
    svc_kind = sim.registry.by_kind("v1", "Service")
    if sim.store.get(svc_kind.key, "default", "kubernetes") is None:
        sim.do_create(svc_kind, "default", {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.43.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}},
            "system:apiserver", "k3s", admit=False)
    sc_kind = sim.registry.by_kind("storage.k8s.io/v1", "StorageClass")
    if sim.store.get(sc_kind.key, "", "local-path") is None:
        sim.do_create(sc_kind, "", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "local-path",
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}, "system:apiserver", "k3s", admit=False)


def install(sim):
    sim.core_controllers.append(("namespace", namespace_controller))
    sim.core_controllers.append(("crd-cleanup", crd_cleanup_controller))
    sim.core_controllers.append(("serviceaccount", defaults_controller))
