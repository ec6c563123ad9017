"""Built-in admission plugins of the simulated API server: LimitRanger (mutating),
PodSecurity and ResourceQuota (validating).  Messages follow the real plugins."""
import copy
import re
from fractions import Fraction

from . import pss
from .errors import ApiError

WORKLOAD_KINDS = {("apps/v1", "Deployment"), ("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet"),
                  ("apps/v1", "DaemonSet"), ("batch/v1", "Job"), ("batch/v1", "CronJob"),
                  ("v1", "ReplicationController"), ("v1", "PodTemplate")}

_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
           "n": Fraction(1, 10 ** 9), "u": Fraction(1, 10 ** 6), "m": Fraction(1, 1000), "": 1,
           "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18}
_QTY = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]*)?|[+-]?\.[0-9]+)(?:[eE]([+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def parse_quantity(text, field="quantity"):
    """resource.Quantity -> Fraction; raises ApiError(422) style ValueError on junk."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return Fraction(str(text))
    m = _QTY.match(str(text).strip())
    if not m:
        raise ValueError("%s: Invalid value: %r: quantities must match the regular expression "
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" % (field, text))
    num = Fraction(m.group(1))
    if m.group(2):
        return num * Fraction(10) ** int(m.group(2))
    return num * _SUFFIX[m.group(3) or ""]


def format_quantity(value, resource):
    """Canonical-ish Quantity string: cpu in cores or millicores, memory/storage in binary units."""
    if resource.endswith("cpu"):
        milli = value * 1000
        if milli.denominator == 1 and milli % 1000:
            return "%dm" % milli
        return str(int(value)) if value.denominator == 1 else "%dm" % round(milli)
    if resource in ("pods", "services", "configmaps", "secrets") or resource.startswith("count/"):
        return str(int(value))
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _SUFFIX[suffix]
        if value >= unit and (value / unit).denominator == 1:
            return "%d%s" % (value / unit, suffix)
    return str(int(value)) if value.denominator == 1 else str(float(value))


def _forbidden(req, why, resource="pods"):
    name = (req.obj or req.old or {}).get("metadata", {}).get("name") or req.name or ""
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (resource, name, why),
                    {"name": name, "kind": resource})


# ------------------------------------------------------------------ LimitRanger

def limit_ranger(sim, req):
    if req.kind != ("v1", "Pod") or req.operation != "CREATE":
        return None
    ranges = sim.list("v1", "LimitRange", req.namespace)
    if not ranges:
        return None
    spec = req.obj.setdefault("spec", {})
    set_req, set_lim = {}, {}
    for lr in sorted(ranges, key=lambda o: o["metadata"]["name"]):
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            for group in ("containers", "initContainers"):
                for c in spec.get(group) or []:
                    res = c.setdefault("resources", {})
                    for rname, qty in (item.get("default") or {}).items():
                        if rname not in (res.get("limits") or {}):
                            res.setdefault("limits", {})[rname] = qty
                            set_lim.setdefault(c["name"], []).append(rname)
                    for rname, qty in (item.get("defaultRequest") or {}).items():
                        if rname not in (res.get("requests") or {}):
                            res.setdefault("requests", {})[rname] = qty
                            set_req.setdefault(c["name"], []).append(rname)
    notes = []
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if c["name"] in set_req:
            notes.append("%s request for %s %s" % (", ".join(set_req[c["name"]]),
                                                   "init container" if c in (spec.get("initContainers") or [])
                                                   else "container", c["name"]))
        if c["name"] in set_lim:
            notes.append("%s limit for %s %s" % (", ".join(set_lim[c["name"]]),
                                                 "init container" if c in (spec.get("initContainers") or [])
                                                 else "container", c["name"]))
    if notes:
        md = req.obj.setdefault("metadata", {})
        md.setdefault("annotations", {})["kubernetes.io/limit-ranger"] = "LimitRanger plugin set: " + "; ".join(notes)
    # requests default to limits when only limits are given (core/v1 defaulting)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for rname, qty in (res.get("limits") or {}).items():
            if rname not in (res.get("requests") or {}):
                res.setdefault("requests", {})[rname] = qty
    _limit_range_validate(req, ranges, spec)
    return None


def _limit_range_validate(req, ranges, spec):
    errs = []
    for lr in ranges:
        for item in (lr.get("spec") or {}).get("limits") or []:
            if item.get("type") != "Container":
                continue
            for c in spec.get("containers") or []:
                res = c.get("resources") or {}
                for rname, qty in (item.get("max") or {}).items():
                    lim = (res.get("limits") or {}).get(rname)
                    if lim is None:
                        errs.append("maximum %s usage per Container is %s.  No limit is specified" % (rname, qty))
                    elif parse_quantity(lim) > parse_quantity(qty):
                        errs.append("maximum %s usage per Container is %s, but limit is %s" % (rname, qty, lim))
                for rname, qty in (item.get("min") or {}).items():
                    rq = (res.get("requests") or {}).get(rname)
                    if rq is None:
                        errs.append("minimum %s usage per Container is %s.  No request is specified" % (rname, qty))
                    elif parse_quantity(rq) < parse_quantity(qty):
                        errs.append("minimum %s usage per Container is %s, but request is %s" % (rname, qty, rq))
    if errs:
        raise _forbidden(req, "[" + ", ".join(errs) + "]" if len(errs) > 1 else errs[0])


# ------------------------------------------------------------------ PodSecurity

def _ns_labels(sim, namespace):
    ns = sim.get("v1", "Namespace", "", namespace)
    return ((ns or {}).get("metadata") or {}).get("labels") or {}


def _pod_like(req):
    """The pod metadata+spec a workload object carries (PodSecurity's PodSpecExtractor)."""
    obj = req.obj or {}
    if req.kind == ("v1", "Pod"):
        return obj
    spec = obj.get("spec") or {}
    if req.kind == ("batch/v1", "CronJob"):
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    if req.kind == ("v1", "PodTemplate"):
        return obj.get("template") or {}
    return spec.get("template") or {}


def pod_security(sim, req):
    if req.operation == "UPDATE" and req.kind == ("v1", "Namespace"):
        return _namespace_label_update(sim, req)
    is_pod = req.kind == ("v1", "Pod")
    if not is_pod and req.kind not in WORKLOAD_KINDS:
        return None
    if req.operation not in ("CREATE", "UPDATE") or req.subresource:
        return None
    if is_pod and req.operation == "UPDATE":
        return None     # a pod's spec is immutable in the fields PodSecurity checks
    policy = pss.policy_from_labels(_ns_labels(sim, req.namespace))
    pod = _pod_like(req)
    warnings = []
    if is_pod:
        level, vtext, vt = policy[pss.ENFORCE]
        violations = pss.evaluate(level, vt, pod)
        if violations:
            raise _forbidden(req, pss.message(level, vtext, violations))
    level, vtext, vt = policy[pss.AUDIT]
    violations = pss.evaluate(level, vt, pod)
    if violations:
        md = (req.obj or {}).get("metadata") or {}
        audit = sim.world_state.setdefault("pss_audit", [])
        audit.append({"time": sim.now(), "namespace": req.namespace, "kind": req.kind[1], "name": md.get("name"),
                      "pod-security.kubernetes.io/audit-violations": pss.message(level, vtext, violations, True)})
        del audit[:-200]
    level, vtext, vt = policy[pss.WARN]
    violations = pss.evaluate(level, vt, pod)
    if violations:
        warnings.append(pss.message(level, vtext, violations, would=True))
    return warnings


def _namespace_label_update(sim, req):
    new = pss.policy_from_labels((req.obj.get("metadata") or {}).get("labels"))[pss.ENFORCE]
    old = pss.policy_from_labels(((req.old or {}).get("metadata") or {}).get("labels"))[pss.ENFORCE]
    if new[:2] == old[:2] or new[0] == "privileged":
        return None
    groups = {}
    for pod in sim.list("v1", "Pod", req.obj["metadata"]["name"]):
        violations = pss.evaluate(new[0], new[2], pod)
        if violations:
            reason = ", ".join(v[1] for v in violations)
            groups.setdefault(reason, []).append(pod["metadata"]["name"])
    if not groups:
        return None
    out = ['existing pods in namespace "%s" violate the new PodSecurity enforce level "%s:%s"'
           % (req.obj["metadata"]["name"], new[0], new[1])]
    for reason, names in sorted(groups.items(), key=lambda kv: sorted(kv[1])[0]):
        names.sort()
        if len(names) == 1:
            out.append("%s: %s" % (names[0], reason))
        elif len(names) == 2:
            out.append("%s (and 1 other pod): %s" % (names[0], reason))
        else:
            out.append("%s (and %d other pods): %s" % (names[0], len(names) - 1, reason))
    return out


# ------------------------------------------------------------------ ResourceQuota

_VALIDATED = {"cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"}


def container_usage(c):
    res = c.get("resources") or {}
    out = {}
    for rname, q in (res.get("requests") or {}).items():
        if rname in ("cpu", "memory", "ephemeral-storage"):
            out[rname] = parse_quantity(q)
            out["requests." + rname] = parse_quantity(q)
    for rname, q in (res.get("limits") or {}).items():
        if rname in ("cpu", "memory", "ephemeral-storage"):
            out["limits." + rname] = parse_quantity(q)
    return out


def pod_usage(pod):
    """PodUsageFunc: sum over containers, max against each init container; plus pods=1."""
    spec = pod.get("spec") or {}
    total = {}
    for c in spec.get("containers") or []:
        for k, v in container_usage(c).items():
            total[k] = total.get(k, 0) + v
    for c in spec.get("initContainers") or []:
        for k, v in container_usage(c).items():
            if v > total.get(k, 0):
                total[k] = v
    total["pods"] = Fraction(1)
    total["count/pods"] = Fraction(1)
    return total


def pod_terminal(pod):
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def quota_used(sim, namespace, hard):
    used = {k: Fraction(0) for k in hard}
    for pod in sim.list("v1", "Pod", namespace):
        if pod_terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        for k, v in pod_usage(pod).items():
            if k in used:
                used[k] += v
    for k in hard:
        if k.startswith("count/") and k not in ("count/pods",):
            res, _, group = k[len("count/"):].partition(".")
            kinds = {"jobs": ("batch/v1", "Job"), "cronjobs": ("batch/v1", "CronJob"),
                     "deployments": ("apps/v1", "Deployment"), "configmaps": ("v1", "ConfigMap"),
                     "secrets": ("v1", "Secret"), "services": ("v1", "Service")}
            if res in kinds:
                used[k] = Fraction(len(sim.list(kinds[res][0], kinds[res][1], namespace)))
    return used


def resource_quota(sim, req):
    if req.kind != ("v1", "Pod") or req.operation != "CREATE":
        return None
    quotas = sim.list("v1", "ResourceQuota", req.namespace)
    if not quotas:
        return None
    pod = req.obj
    for rq in sorted(quotas, key=lambda o: o["metadata"]["name"]):
        hard = {k: parse_quantity(v) for k, v in ((rq.get("spec") or {}).get("hard") or {}).items()}
        required = set(hard) & _VALIDATED
        missing = {}
        spec = pod.get("spec") or {}
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            have = set(container_usage(c))
            for r in sorted(required - have):
                missing.setdefault(r, []).append(c["name"])
        if missing:
            parts = ["%s for: %s" % (r, ",".join(sorted(set(names)))) for r, names in sorted(missing.items())]
            raise _forbidden(req, "failed quota: %s: must specify %s" % (rq["metadata"]["name"], "; ".join(parts)))
        usage = pod_usage(pod)
        used = quota_used(sim, req.namespace, hard)
        exceeded = sorted(k for k in hard if k in usage and used[k] + usage[k] > hard[k])
        if exceeded:
            def pretty(values):
                return ",".join("%s=%s" % (k, format_quantity(values[k], k)) for k in exceeded)
            raise _forbidden(req, "exceeded quota: %s, requested: %s, used: %s, limited: %s"
                             % (rq["metadata"]["name"], pretty(usage), pretty(used), pretty(hard)))
    return None


def quota_controller(sim):
    for rq in sim.list("v1", "ResourceQuota"):
        hard_raw = (rq.get("spec") or {}).get("hard") or {}
        try:
            hard = {k: parse_quantity(v) for k, v in hard_raw.items()}
        except ValueError:
            continue
        used = quota_used(sim, rq["metadata"]["namespace"], hard)
        status = {"hard": copy.deepcopy(hard_raw), "used": {k: format_quantity(used[k], k) for k in hard}}
        if rq.get("status") != status:
            rq["status"] = status
            sim.update_status(rq)
