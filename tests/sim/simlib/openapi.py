"""/openapi/v3: the index and one document per group-version. Schemas stay empty; what
kubectl needs (FACTS.md) is, per kind, a PATCH operation carrying
x-kubernetes-group-version-kind and the fieldValidation query parameter."""
import hashlib
import json

VERSION = "v1.32.3+k3s1"

_QUERY = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty"]


def _gv_path(kind):
    return "apis/%s/%s" % (kind.group, kind.version) if kind.group else "api/v1"


def _op(kind, verb, action, params):
    return {
        "description": "%s the specified %s" % (verb, kind.kind),
        "operationId": "%s%s" % (verb, kind.kind),
        "tags": [kind.group or "core_v1"],
        "parameters": [{"name": p, "in": "query", "schema": {"type": "boolean" if p == "force" else "string"},
                        "uniqueItems": True} for p in params],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {}}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
    }


def document(registry, gv):
    paths = {}
    for kind in registry.all():
        if _gv_path(kind) != gv:
            continue
        base = "/" + gv + ("/namespaces/{namespace}" if kind.namespaced else "")
        coll = base + "/" + kind.plural
        item = coll + "/{name}"
        paths[coll] = {"get": _op(kind, "list", "list", ["labelSelector", "fieldSelector", "watch"]),
                       "post": _op(kind, "create", "post", ["dryRun", "fieldManager", "fieldValidation"])}
        paths[item] = {"get": _op(kind, "read", "get", []),
                       "put": _op(kind, "replace", "put", ["dryRun", "fieldManager", "fieldValidation"]),
                       "patch": _op(kind, "patch", "patch", _QUERY),
                       "delete": _op(kind, "delete", "delete", ["dryRun", "propagationPolicy"])}
        if kind.has_status:
            paths[item + "/status"] = {"get": _op(kind, "read", "get", []),
                                       "put": _op(kind, "replace", "put", ["fieldManager", "fieldValidation"]),
                                       "patch": _op(kind, "patch", "patch", _QUERY)}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": VERSION}, "paths": paths,
            "components": {"schemas": {}}}


def index(registry):
    out = {}
    gvs = []
    for kind in registry.all():
        gv = _gv_path(kind)
        if gv not in gvs:
            gvs.append(gv)
    for gv in gvs:
        h = hashlib.sha512(json.dumps(document(registry, gv), sort_keys=True).encode()).hexdigest()[:128].upper()
        out[gv] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (gv, h)}
    return {"paths": out}
