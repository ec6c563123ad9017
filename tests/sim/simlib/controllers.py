"""kube-controller-manager in miniature: Deployment -> ReplicaSet -> Pods, StatefulSet
(ordinal pods, PVCs from volumeClaimTemplates), PersistentVolume binding against a
StorageClass, Job, CronJob (simlib.cron), Service -> Endpoints + EndpointSlices, CRDs
becoming Established.  Each function is one idempotent pass, run every tick with the
Sim lock held; object creation goes through admission like a real controller's."""
import copy
import datetime as dt
import hashlib
import json

from . import cron
from .errors import ApiError

DEFAULT_CLASS_ANN = "storageclass.kubernetes.io/is-default-class"
SCHEDULED_TS_ANN = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def _ts(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fmt(t):
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_ref(obj, controller=True):
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
           "uid": obj["metadata"]["uid"], "blockOwnerDeletion": True}
    if controller:
        ref["controller"] = True
    return ref


def _owned(objs, owner):
    uid = owner["metadata"]["uid"]
    return [o for o in objs if any(r.get("uid") == uid and r.get("controller")
                                   for r in o["metadata"].get("ownerReferences") or [])]


def _pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _pod_active(pod):
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and \
        not pod["metadata"].get("deletionTimestamp")


def _set_cond(conds, type_, status, reason, message, now):
    for c in conds:
        if c["type"] == type_:
            if c["status"] != status:
                c["lastTransitionTime"] = now
            if c.get("reason") != reason or c.get("message") != message or c["status"] != status:
                c["lastUpdateTime"] = now
            c.update({"status": status, "reason": reason, "message": message})
            return
    conds.append({"type": type_, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
                  "reason": reason, "message": message})


def _template_hash(template):
    return hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]


def _safe_hash(h):
    # pod-template-hash values are rendered with safe characters (no vowels)
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    n = int(h, 16)
    out = ""
    while n and len(out) < 10:
        out += alphabet[n % len(alphabet)]
        n //= len(alphabet)
    return out


def _kill_pod(sim, pod):
    """Delete POD; its kubelet reports stopping each running container."""
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if "running" in (cs.get("state") or {}):
            sim.emit_event(pod, "Normal", "Killing", "Stopping container %s" % cs["name"], "kubelet")
    sim.delete("v1", "Pod", pod["metadata"]["namespace"], pod["metadata"]["name"])


def _create_pod(sim, owner, template, name=None, generate=None, extra_labels=None, component=None):
    """-> (pod, None) or (None, the API error message) after a FailedCreate event."""
    md = copy.deepcopy(template.get("metadata") or {})
    md["namespace"] = owner["metadata"]["namespace"]
    if extra_labels:
        md.setdefault("labels", {}).update(extra_labels)
    if name:
        md["name"] = name
    else:
        md["generateName"] = generate
    md["ownerReferences"] = [_owner_ref(owner)]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": copy.deepcopy(template.get("spec") or {})}
    try:
        return sim.create(pod), None
    except ApiError as e:
        sim.emit_event(owner, "Warning", "FailedCreate", "Error creating: %s" % e.message
                       if owner["kind"] != "StatefulSet" else
                       "create Pod %s in StatefulSet %s failed error: %s" % (name, owner["metadata"]["name"],
                                                                             e.message), component)
        return None, e.message


# ------------------------------------------------------------------ Deployment / ReplicaSet

def deployment_controller(sim):
    now = sim.now()
    for d in sim.list("apps/v1", "Deployment"):
        if d["metadata"].get("deletionTimestamp"):
            continue
        spec = d.get("spec") or {}
        template = spec.get("template") or {}
        phash = _safe_hash(_template_hash(template))
        rs_name = "%s-%s" % (d["metadata"]["name"], phash)
        ns = d["metadata"]["namespace"]
        owned = _owned(sim.list("apps/v1", "ReplicaSet", ns), d)
        want = spec.get("replicas", 1)
        current = next((r for r in owned if r["metadata"]["name"] == rs_name), None)
        if current is None:
            tmpl = copy.deepcopy(template)
            tmpl.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = phash
            sel = copy.deepcopy(spec.get("selector") or {})
            sel.setdefault("matchLabels", {})["pod-template-hash"] = phash
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": rs_name, "namespace": ns,
                               "labels": dict((template.get("metadata") or {}).get("labels") or {},
                                              **{"pod-template-hash": phash}),
                               "annotations": {"deployment.kubernetes.io/desired-replicas": str(want),
                                               "deployment.kubernetes.io/max-replicas": str(want + 1),
                                               "deployment.kubernetes.io/revision": str(len(owned) + 1)},
                               "ownerReferences": [_owner_ref(d)]},
                  "spec": {"replicas": want, "selector": sel, "template": tmpl}}
            current = sim.create(rs, admit=True)
            sim.emit_event(d, "Normal", "ScalingReplicaSet", "Scaled up replica set %s from 0 to %d"
                           % (rs_name, want), "deployment-controller")
        elif current["spec"].get("replicas") != want:
            old = current["spec"].get("replicas", 0)
            current["spec"]["replicas"] = want
            current = sim.update(current)
            sim.emit_event(d, "Normal", "ScalingReplicaSet", "Scaled %s replica set %s from %d to %d"
                           % ("up" if want > old else "down", rs_name, old, want), "deployment-controller")
        for r in owned:
            if r["metadata"]["name"] != rs_name and r["spec"].get("replicas", 0) != 0:
                old = r["spec"]["replicas"]
                r["spec"]["replicas"] = 0
                sim.update(r)
                sim.emit_event(d, "Normal", "ScalingReplicaSet", "Scaled down replica set %s from %d to 0"
                               % (r["metadata"]["name"], old), "deployment-controller")
        rst = current.get("status") or {}
        total = sum((r.get("status") or {}).get("replicas", 0) for r in owned) if owned else 0
        ready = rst.get("readyReplicas", 0)
        available = rst.get("availableReplicas", 0)
        st = copy.deepcopy(d.get("status") or {})
        st.update({"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                   "updatedReplicas": rst.get("replicas", 0), "readyReplicas": ready,
                   "availableReplicas": available})
        if want - available > 0:
            st["unavailableReplicas"] = want - available
        else:
            st.pop("unavailableReplicas", None)
        for k in ("readyReplicas", "availableReplicas", "updatedReplicas", "replicas"):
            if not st.get(k):
                st.pop(k, None)
        conds = st.setdefault("conditions", [])
        if available >= want:
            _set_cond(conds, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.",
                      now)
        else:
            _set_cond(conds, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", now)
        rs_fail = [x for x in rst.get("conditions") or [] if x["type"] == "ReplicaFailure"]
        if rs_fail:
            _set_cond(conds, "ReplicaFailure", "True", "FailedCreate", rs_fail[0]["message"], now)
        else:
            conds[:] = [x for x in conds if x["type"] != "ReplicaFailure"]
        progressing = next((x for x in conds if x["type"] == "Progressing"), None)
        if available >= want and rst.get("replicas", 0) == want:
            _set_cond(conds, "Progressing", "True", "NewReplicaSetAvailable",
                      'ReplicaSet "%s" has successfully progressed.' % rs_name, now)
        elif progressing and progressing["reason"] == "ProgressDeadlineExceeded":
            pass
        elif progressing and progressing["reason"] == "ReplicaSetUpdated" and \
                (sim.clock.now() - _ts(progressing["lastUpdateTime"])).total_seconds() > \
                spec.get("progressDeadlineSeconds", 600):
            _set_cond(conds, "Progressing", "False", "ProgressDeadlineExceeded",
                      'ReplicaSet "%s" has timed out progressing.' % rs_name, now)
        else:
            _set_cond(conds, "Progressing", "True", "ReplicaSetUpdated",
                      'ReplicaSet "%s" is progressing.' % rs_name, now)
        if st != (d.get("status") or {}):
            d["status"] = st
            sim.update_status(d)


def replicaset_controller(sim):
    for rs in sim.list("apps/v1", "ReplicaSet"):
        if rs["metadata"].get("deletionTimestamp"):
            continue
        ns = rs["metadata"]["namespace"]
        pods = [p for p in _owned(sim.list("v1", "Pod", ns), rs) if _pod_active(p)]
        want = (rs.get("spec") or {}).get("replicas", 1)
        failure = None
        if len(pods) < want:
            for _ in range(want - len(pods)):
                pod, failure = _create_pod(sim, rs, rs["spec"].get("template") or {},
                                           generate=rs["metadata"]["name"] + "-", component="replicaset-controller")
                if pod is None:
                    break
                pods.append(pod)
                sim.emit_event(rs, "Normal", "SuccessfulCreate", "Created pod: %s" % pod["metadata"]["name"],
                               "replicaset-controller")
        elif len(pods) > want:
            for p in sorted(pods, key=lambda p: (_pod_ready(p), p["metadata"]["creationTimestamp"]))[:len(pods) - want]:
                _kill_pod(sim, p)
                sim.emit_event(rs, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"],
                               "replicaset-controller")
                pods.remove(p)
        ready = sum(1 for p in pods if _pod_ready(p))
        st = {"replicas": len(pods), "fullyLabeledReplicas": len(pods), "readyReplicas": ready,
              "availableReplicas": ready, "observedGeneration": rs["metadata"].get("generation", 1)}
        st = {k: v for k, v in st.items() if v or k in ("replicas", "observedGeneration")}
        old_fail = [x for x in (rs.get("status") or {}).get("conditions") or [] if x["type"] == "ReplicaFailure"]
        if failure:
            same = old_fail and old_fail[0]["message"] == failure
            st["conditions"] = old_fail if same else [{"type": "ReplicaFailure", "status": "True",
                                                       "lastTransitionTime": sim.now(), "reason": "FailedCreate",
                                                       "message": failure}]
        elif old_fail and len(pods) < want:
            st["conditions"] = old_fail
        if st != (rs.get("status") or {}):
            rs["status"] = st
            sim.update_status(rs)


# ------------------------------------------------------------------ StatefulSet and volumes

def statefulset_controller(sim):
    for sts in sim.list("apps/v1", "StatefulSet"):
        if sts["metadata"].get("deletionTimestamp"):
            continue
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        spec = sts.get("spec") or {}
        want = spec.get("replicas", 1)
        revision = "%s-%s" % (name, _safe_hash(_template_hash(spec.get("template") or {})))
        pods = {p["metadata"]["name"]: p for p in _owned(sim.list("v1", "Pod", ns), sts)}
        ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
        for i in range(want):
            pname = "%s-%d" % (name, i)
            if pname in pods:
                if ordered and not _pod_ready(pods[pname]):
                    break
                continue
            for vct in spec.get("volumeClaimTemplates") or []:
                claim = "%s-%s" % (vct["metadata"]["name"], pname)
                if sim.get("v1", "PersistentVolumeClaim", ns, claim) is None:
                    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                           "metadata": {"name": claim, "namespace": ns,
                                        "labels": dict(((spec.get("selector") or {}).get("matchLabels") or {}))},
                           "spec": copy.deepcopy(vct.get("spec") or {})}
                    try:
                        sim.create(pvc)
                        sim.emit_event(sts, "Normal", "SuccessfulCreate", "create Claim %s Pod %s in StatefulSet %s "
                                       "success" % (claim, pname, name), "statefulset-controller")
                    except ApiError as e:
                        sim.emit_event(sts, "Warning", "FailedCreate", "create Claim %s for Pod %s in StatefulSet %s "
                                       "failed error: %s" % (claim, pname, name, e.message), "statefulset-controller")
            tmpl = copy.deepcopy(spec.get("template") or {})
            tspec = tmpl.setdefault("spec", {})
            vols = tspec.setdefault("volumes", [])
            for vct in spec.get("volumeClaimTemplates") or []:
                vname = vct["metadata"]["name"]
                vols[:] = [v for v in vols if v.get("name") != vname]
                vols.append({"name": vname, "persistentVolumeClaim": {
                    "claimName": "%s-%s" % (vname, pname)}})
            tspec.setdefault("hostname", pname)
            if spec.get("serviceName"):
                tspec.setdefault("subdomain", spec["serviceName"])
            labels = {"controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pname,
                      "apps.kubernetes.io/pod-index": str(i)}
            pod, _ = _create_pod(sim, sts, tmpl, name=pname, extra_labels=labels, component="statefulset-controller")
            if pod is None:
                break
            pods[pname] = pod
            sim.emit_event(sts, "Normal", "SuccessfulCreate", "create Pod %s in StatefulSet %s successful"
                           % (pname, name), "statefulset-controller")
            if ordered:
                break
        for pname, p in list(pods.items()):
            idx = pname.rsplit("-", 1)[-1]
            if idx.isdigit() and int(idx) >= want:
                _kill_pod(sim, p)
                sim.emit_event(sts, "Normal", "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful"
                               % (pname, name), "statefulset-controller")
                del pods[pname]
        ready = sum(1 for p in pods.values() if _pod_ready(p))
        st = {"observedGeneration": sts["metadata"].get("generation", 1), "replicas": len(pods),
              "readyReplicas": ready, "currentReplicas": len(pods), "updatedReplicas": len(pods),
              "availableReplicas": ready, "currentRevision": revision, "updateRevision": revision,
              "collisionCount": 0}
        st = {k: v for k, v in st.items() if v != 0 or k in ("replicas", "observedGeneration", "collisionCount",
                                                               "availableReplicas")}
        if st != (sts.get("status") or {}):
            sts["status"] = st
            sim.update_status(sts)


def volume_controller(sim):
    """PersistentVolume binding as local-path-provisioner does it: a PVC whose class exists
    gets a dynamically provisioned hostPath PV; an unknown class leaves it Pending."""
    if not sim.world_state.get("storageclass_seeded"):
        seed_storage_class(sim)
        sim.world_state["storageclass_seeded"] = True
    classes = {c["metadata"]["name"]: c for c in sim.list("storage.k8s.io/v1", "StorageClass")}
    default = next((n for n, c in classes.items()
                    if (c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANN) == "true"), None)
    for pvc in sim.list("v1", "PersistentVolumeClaim"):
        if (pvc.get("status") or {}).get("phase") == "Bound" or pvc["metadata"].get("deletionTimestamp"):
            continue
        spec = pvc.get("spec") or {}
        cls = spec.get("storageClassName", default)
        if cls is None:
            continue
        if spec.get("storageClassName") is None:
            pvc["spec"]["storageClassName"] = cls
            pvc = sim.update(pvc)
        if cls not in classes:
            sim.emit_event(pvc, "Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "%s" not found' % cls,
                           "persistentvolume-controller")
            continue
        sc = classes[cls]
        ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        pv_name = "pvc-" + pvc["metadata"]["uid"]
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        if sim.get("v1", "PersistentVolume", "", pv_name) is None:
            pv = {"apiVersion": "v1", "kind": "PersistentVolume",
                  "metadata": {"name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by":
                                                                sc.get("provisioner", "rancher.io/local-path")},
                               "finalizers": ["kubernetes.io/pv-protection"]},
                  "spec": {"accessModes": spec.get("accessModes") or ["ReadWriteOnce"], "capacity": {"storage": size},
                           "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": name,
                                        "namespace": ns, "uid": pvc["metadata"]["uid"]},
                           "hostPath": {"path": "/var/lib/rancher/k3s/storage/%s_%s_%s" % (pv_name, ns, name),
                                        "type": "DirectoryOrCreate"},
                           "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
                           "storageClassName": cls, "volumeMode": spec.get("volumeMode", "Filesystem")}}
            pv = sim.create(pv, admit=False)
            pv["status"] = {"phase": "Bound"}
            sim.update_status(pv)
            sim.emit_event(pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s" % pv_name,
                           sc.get("provisioner", "rancher.io/local-path"))
        pvc["spec"]["volumeName"] = pv_name
        pvc = sim.update(pvc)
        pvc["status"] = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                         "capacity": {"storage": size}}
        sim.update_status(pvc)


# ------------------------------------------------------------------ Job

def _job_finished(job):
    for c in (job.get("status") or {}).get("conditions") or []:
        if c["type"] in ("Complete", "Failed") and c["status"] == "True":
            return c["type"]
    return None


def job_controller(sim):
    now_t = sim.clock.now()
    now = sim.now()
    for job in sim.list("batch/v1", "Job"):
        if job["metadata"].get("deletionTimestamp") or _job_finished(job):
            continue
        spec = job.get("spec") or {}
        ns = job["metadata"]["namespace"]
        pods = _owned(sim.list("v1", "Pod", ns), job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        restarts = sum(cs.get("restartCount", 0) for p in pods if _pod_active(p)
                       for cs in (p.get("status") or {}).get("containerStatuses") or [])
        active = [p for p in pods if _pod_active(p)]
        st = copy.deepcopy(job.get("status") or {})
        st.setdefault("startTime", now)
        conds = st.setdefault("conditions", [])
        completions = spec.get("completions", 1)
        fail_reason = None
        if failed + restarts > spec.get("backoffLimit", 6):
            fail_reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        deadline = spec.get("activeDeadlineSeconds")
        if deadline is not None and (now_t - _ts(st["startTime"])).total_seconds() >= deadline:
            fail_reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
        if fail_reason:
            for p in active:
                _kill_pod(sim, p)
                sim.emit_event(job, "Normal", "SuccessfulDelete", "Deleted pod: %s" % p["metadata"]["name"],
                               "job-controller")
            active = []
            for t in ("FailureTarget", "Failed"):
                conds.append({"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                              "reason": fail_reason[0], "message": fail_reason[1]})
            sim.emit_event(job, "Warning", fail_reason[0], fail_reason[1], "job-controller")
        elif succeeded >= completions:
            for t, reason, msg in (("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded "
                                    "pods"), ("Complete", "CompletionsReached", "Reached expected number of succeeded "
                                                                              "pods")):
                conds.append({"type": t, "status": "True", "lastProbeTime": now, "lastTransitionTime": now,
                              "reason": reason, "message": msg})
            st["completionTime"] = now
            sim.emit_event(job, "Normal", "Completed", "Job completed", "job-controller")
        elif not spec.get("suspend") and len(active) < min(spec.get("parallelism", 1), completions - succeeded):
            tmpl = spec.get("template") or {}
            pod, _ = _create_pod(sim, job, tmpl, generate=job["metadata"]["name"] + "-",
                              extra_labels={"batch.kubernetes.io/controller-uid": job["metadata"]["uid"],
                                            "batch.kubernetes.io/job-name": job["metadata"]["name"],
                                            "controller-uid": job["metadata"]["uid"],
                                            "job-name": job["metadata"]["name"]},
                              component="job-controller")
            if pod is not None:
                active.append(pod)
                sim.emit_event(job, "Normal", "SuccessfulCreate", "Created pod: %s" % pod["metadata"]["name"],
                               "job-controller")
        if not conds:
            st.pop("conditions")
        st["active"] = len(active)
        st["ready"] = sum(1 for p in active if _pod_ready(p))
        st["terminating"] = 0
        st["uncountedTerminatedPods"] = {}
        for k, v in (("succeeded", succeeded), ("failed", failed)):
            if v:
                st[k] = v
        if not st["active"]:
            del st["active"]
        if st != (job.get("status") or {}):
            job["status"] = st
            sim.update_status(job)


# ------------------------------------------------------------------ CronJob

def _cj_schedule(sim, cj):
    spec = cj.get("spec") or {}
    return cron.for_cronjob(spec.get("schedule", ""), spec.get("timeZone"))


def cronjob_controller(sim):
    now = sim.clock.now()
    for cj in sim.list("batch/v1", "CronJob"):
        if cj["metadata"].get("deletionTimestamp"):
            continue
        try:
            _sync_cronjob(sim, cj, now)
        except ApiError:
            continue


def _sync_cronjob(sim, cj, now):
    spec = cj.get("spec") or {}
    ns, name = cj["metadata"]["namespace"], cj["metadata"]["name"]
    st = copy.deepcopy(cj.get("status") or {})
    jobs = _owned(sim.list("batch/v1", "Job", ns), cj)
    active = {a.get("uid"): a for a in st.get("active") or []}
    for j in jobs:
        uid = j["metadata"]["uid"]
        done = _job_finished(j)
        if uid in active and done:
            del active[uid]
            sim.emit_event(cj, "Normal", "SawCompletedJob", "Saw completed job: %s, condition: %s"
                           % (j["metadata"]["name"], done), "cronjob-controller")
        elif uid not in active and not done:
            sim.emit_event(cj, "Warning", "UnexpectedJob", "Saw a job that the controller did not create or forgot: %s"
                           % j["metadata"]["name"], "cronjob-controller")
        if done == "Complete" and (j.get("status") or {}).get("completionTime"):
            ct = j["status"]["completionTime"]
            if not st.get("lastSuccessfulTime") or _ts(ct) > _ts(st["lastSuccessfulTime"]):
                st["lastSuccessfulTime"] = ct
    live = {j["metadata"]["uid"] for j in jobs}
    for uid in [u for u in active if u not in live]:
        del active[uid]
    st["active"] = list(active.values())
    _cleanup_history(sim, cj, jobs)
    if not spec.get("suspend"):
        try:
            sched = _cj_schedule(sim, cj)
        except cron.ParseError as e:
            kind = "UnknownTimeZone" if spec.get("timeZone") and "time zone" in str(e) else "UnparseableSchedule"
            msg = ("invalid timeZone: \"%s\": unknown time zone %s" % (spec.get("timeZone"), spec.get("timeZone"))
                   if kind == "UnknownTimeZone" else 'unparseable schedule: "%s" : %s' % (spec.get("schedule"), e))
            sim.emit_event(cj, "Warning", kind, msg, "cronjob-controller")
            sched = None
        if sched is not None:
            _maybe_start(sim, cj, spec, st, sched, now)
    if not st["active"]:
        del st["active"]
    if st != (cj.get("status") or {}):
        cj["status"] = st
        sim.update_status(cj)


def _maybe_start(sim, cj, spec, st, sched, now):
    ns, name = cj["metadata"]["namespace"], cj["metadata"]["name"]
    last = _ts(st["lastScheduleTime"]) if st.get("lastScheduleTime") else None
    try:
        _, scheduled, missed = cron.most_recent(sched, _ts(cj["metadata"]["creationTimestamp"]), last, now,
                                                spec.get("startingDeadlineSeconds"))
    except ValueError:
        return
    if scheduled is None or scheduled > now:
        return
    if missed == cron.MANY_MISSED:
        sim.emit_event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease "
                       ".spec.startingDeadlineSeconds or check clock skew", "cronjob-controller")
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None and scheduled + dt.timedelta(seconds=deadline) < now:
        sim.emit_event(cj, "Warning", "MissSchedule", "Missed scheduled time to start a job: %s"
                       % scheduled.strftime("%a, %d %b %Y %H:%M:%S +0000"), "cronjob-controller")
        return
    job_name = "%s-%d" % (name, int(scheduled.timestamp()) // 60)
    if any(a.get("name") == job_name for a in st["active"]) or (last is not None and last == scheduled):
        return
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy == "Forbid" and st["active"]:
        sim.emit_event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and "
                       "concurrency policy is Forbid", "cronjob-controller")
        return
    if policy == "Replace":
        for a in list(st["active"]):
            if sim.get("batch/v1", "Job", ns, a["name"]) is not None:
                sim.delete("batch/v1", "Job", ns, a["name"], propagation="Background")
                sim.emit_event(cj, "Normal", "SuccessfulDelete", "Deleted job %s" % a["name"], "cronjob-controller")
            st["active"].remove(a)
    jt = copy.deepcopy(spec.get("jobTemplate") or {})
    md = jt.get("metadata") or {}
    zone = cron.load_zone(spec["timeZone"]) if spec.get("timeZone") else dt.timezone.utc
    ann = dict(md.get("annotations") or {})
    ann[SCHEDULED_TS_ANN] = scheduled.astimezone(zone).isoformat().replace("+00:00", "Z")
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": job_name, "namespace": ns, "labels": dict(md.get("labels") or {}),
                        "annotations": ann, "ownerReferences": [_owner_ref(cj)]},
           "spec": jt.get("spec") or {}}
    try:
        created = sim.create(job)
    except ApiError as e:
        if e.reason != "AlreadyExists":
            sim.emit_event(cj, "Warning", "FailedCreate", "Error creating job: %s" % e.message, "cronjob-controller")
            return
        created = sim.get("batch/v1", "Job", ns, job_name)
    else:
        sim.emit_event(cj, "Normal", "SuccessfulCreate", "Created job %s" % job_name, "cronjob-controller")
    st["active"].append({"kind": "Job", "namespace": ns, "name": job_name, "uid": created["metadata"]["uid"],
                         "apiVersion": "batch/v1", "resourceVersion": created["metadata"]["resourceVersion"]})
    st["lastScheduleTime"] = _fmt(scheduled)


def _cleanup_history(sim, cj, jobs):
    spec = cj.get("spec") or {}
    ns = cj["metadata"]["namespace"]
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        if limit is None:
            continue
        done = [j for j in jobs if _job_finished(j) == kind]
        done.sort(key=lambda j: (j.get("status") or {}).get("startTime") or j["metadata"]["creationTimestamp"])
        for j in done[:max(0, len(done) - limit)]:
            sim.delete("batch/v1", "Job", ns, j["metadata"]["name"], propagation="Background")
            sim.emit_event(cj, "Normal", "SuccessfulDelete", "Deleted job %s" % j["metadata"]["name"],
                           "cronjob-controller")


# ------------------------------------------------------------------ Services

def _target_port(svc_port, pod):
    tp = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(tp, int):
        return tp
    if isinstance(tp, str) and tp.isdigit():
        return int(tp)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == tp:
                return p.get("containerPort")
    return None


def endpoints_controller(sim):
    for svc in sim.list("v1", "Service"):
        spec = svc.get("spec") or {}
        selector = spec.get("selector")
        if not selector:
            continue
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        pods = [p for p in sim.list("v1", "Pod", ns, label_selector=",".join("%s=%s" % kv for kv in
                                                                              sorted(selector.items())))
                if (p.get("status") or {}).get("podIP") and _pod_active(p)]
        pods.sort(key=lambda p: p["metadata"]["name"])
        publish = bool(spec.get("publishNotReadyAddresses"))
        ready, not_ready = [], []
        for p in pods:
            addr = {"ip": p["status"]["podIP"], "nodeName": p["spec"].get("nodeName"),
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                  "uid": p["metadata"]["uid"]}}
            if p["spec"].get("hostname") and p["spec"].get("subdomain") == name:
                addr["hostname"] = p["spec"]["hostname"]
            (ready if publish or _pod_ready(p) else not_ready).append(addr)
        ports = []
        for sp in spec.get("ports") or []:
            port = _target_port(sp, pods[0]) if pods else None
            if port is None:
                continue
            ep = {"port": port, "protocol": sp.get("protocol", "TCP")}
            if sp.get("name"):
                ep["name"] = sp["name"]
            ports.append(ep)
        subsets = []
        if (ready or not_ready) and ports:
            sub = {}
            if ready:
                sub["addresses"] = ready
            if not_ready:
                sub["notReadyAddresses"] = not_ready
            sub["ports"] = ports
            subsets.append(sub)
        want = {"apiVersion": "v1", "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns, "labels": dict(svc["metadata"].get("labels") or {})}}
        if subsets:
            want["subsets"] = subsets
        cur = sim.get("v1", "Endpoints", ns, name)
        if cur is None:
            sim.create(want, admit=False)
        elif cur.get("subsets") != want.get("subsets"):
            cur["subsets"] = subsets
            if not subsets:
                cur.pop("subsets")
            sim.update(cur)
        _endpoint_slice(sim, svc, pods, ports, publish)


def _endpoint_slice(sim, svc, pods, ports, publish):
    ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
    slice_name = "%s-%s" % (name, _safe_hash(hashlib.sha256(svc["metadata"]["uid"].encode()).hexdigest())[:5])
    endpoints = []
    for p in pods:
        ready = _pod_ready(p)
        endpoints.append({"addresses": [p["status"]["podIP"]],
                          "conditions": {"ready": ready or publish, "serving": ready or publish, "terminating": False},
                          "nodeName": p["spec"].get("nodeName"),
                          "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                        "uid": p["metadata"]["uid"]}})
    want_ports = [dict({"port": pt["port"], "protocol": pt["protocol"]}, **({"name": pt["name"]} if "name" in pt
                                                                           else {"name": ""})) for pt in ports]
    cur = sim.get("discovery.k8s.io/v1", "EndpointSlice", ns, slice_name)
    body = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": slice_name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": name,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                         "ownerReferences": [_owner_ref(svc)]},
            "endpoints": endpoints, "ports": want_ports}
    if cur is None:
        sim.create(body, admit=False)
    elif cur.get("endpoints") != endpoints or cur.get("ports") != want_ports:
        cur["endpoints"], cur["ports"] = endpoints, want_ports
        sim.update(cur)


# ------------------------------------------------------------------ CRDs

def crd_controller(sim):
    now = sim.now()
    for crd in sim.list("apiextensions.k8s.io/v1", "CustomResourceDefinition"):
        if crd["metadata"].get("deletionTimestamp"):
            continue
        spec = crd.get("spec") or {}
        st = copy.deepcopy(crd.get("status") or {})
        names = copy.deepcopy(spec.get("names") or {})
        names.setdefault("singular", names.get("kind", "").lower())
        names.setdefault("listKind", names.get("kind", "") + "List")
        conds = st.setdefault("conditions", [])
        have = {c["type"]: c for c in conds}
        if "NamesAccepted" not in have:
            conds.append({"type": "NamesAccepted", "status": "True", "lastTransitionTime": now,
                          "reason": "NoConflicts", "message": "no conflicts found"})
        if "Established" not in have:
            conds.append({"type": "Established", "status": "True", "lastTransitionTime": now,
                          "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"})
        st["acceptedNames"] = names
        storage = [v["name"] for v in spec.get("versions") or [] if v.get("storage")]
        st["storedVersions"] = sorted(set((st.get("storedVersions") or []) + storage))
        if st != (crd.get("status") or {}):
            crd["status"] = st
            sim.update_status(crd)


def seed_storage_class(sim):
    """K3s ships local-path as the default StorageClass."""
    if sim.get("storage.k8s.io/v1", "StorageClass", "", "local-path") is None:
        sim.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": {"name": "local-path", "annotations": {DEFAULT_CLASS_ANN: "true"}},
                    "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete",
                    "volumeBindingMode": "WaitForFirstConsumer"}, admit=False)
