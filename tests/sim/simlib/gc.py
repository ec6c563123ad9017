"""The garbage collector: ownerReference-based cascading deletion (Background, Foreground)
and orphaning."""
import copy


def _index(sim):
    by_uid = {}
    kinds = {}
    for kind in sim.registry.all():
        if kind.key in kinds:
            continue
        kinds[kind.key] = kind
        for o in sim.store.items(kind.key):
            by_uid[o["metadata"]["uid"]] = (kind, o)
    return by_uid


def _without_finalizer(sim, kind, obj, fin):
    new = copy.deepcopy(obj)
    new["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != fin]
    sim._commit(kind, new, obj)


def garbage_collector(sim):
    by_uid = _index(sim)
    dependents = {}
    for uid, (kind, o) in by_uid.items():
        for ref in o["metadata"].get("ownerReferences") or []:
            dependents.setdefault(ref.get("uid"), []).append((kind, o))
    # owners being deleted with Orphan / Foreground
    for uid, (kind, owner) in list(by_uid.items()):
        fins = owner["metadata"].get("finalizers") or []
        if not owner["metadata"].get("deletionTimestamp"):
            continue
        deps = dependents.get(uid, [])
        if "orphan" in fins:
            for dkind, d in deps:
                cur = sim.store.get(dkind.key, d["metadata"].get("namespace", ""), d["metadata"]["name"])
                if cur is None:
                    continue
                new = copy.deepcopy(cur)
                new["metadata"]["ownerReferences"] = [r for r in cur["metadata"].get("ownerReferences") or []
                                                      if r.get("uid") != uid]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                sim._commit(dkind, new, cur)
            _without_finalizer(sim, kind, owner, "orphan")
        elif "foregroundDeletion" in fins:
            blocking = False
            for dkind, d in deps:
                cur = sim.store.get(dkind.key, d["metadata"].get("namespace", ""), d["metadata"]["name"])
                if cur is None:
                    continue
                if not cur["metadata"].get("deletionTimestamp"):
                    sim.do_delete(dkind, cur["metadata"].get("namespace", ""), cur["metadata"]["name"],
                                  "system:serviceaccount:kube-system:generic-garbage-collector", "Foreground",
                                  admit=False)
                if any(r.get("uid") == uid and r.get("blockOwnerDeletion")
                       for r in cur["metadata"].get("ownerReferences") or []):
                    if sim.store.get(dkind.key, cur["metadata"].get("namespace", ""), cur["metadata"]["name"]):
                        blocking = True
            if not blocking:
                cur = sim.store.get(kind.key, owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
                if cur is not None:
                    _without_finalizer(sim, kind, cur, "foregroundDeletion")
    # dependents whose owners are all gone
    by_uid = _index(sim)
    for uid, (kind, o) in by_uid.items():
        refs = o["metadata"].get("ownerReferences") or []
        if not refs or o["metadata"].get("deletionTimestamp"):
            continue
        if all(r.get("uid") not in by_uid for r in refs):
            sim.do_delete(kind, o["metadata"].get("namespace", ""), o["metadata"]["name"],
                          "system:serviceaccount:kube-system:generic-garbage-collector", "Background", admit=False)


def install(sim):
    sim.core_controllers.append(("garbagecollector", garbage_collector))
