"""PATCH flavours (JSON merge patch, JSON patch, strategic merge patch) and server-side
apply field ownership (managedFields, FieldsV1)."""
import copy
import json

from . import errors

MISSING = object()

# Associative lists (x-kubernetes-list-type: map) and their keys, by field name: the subset of
# the built-in schemas the stack touches. Lists not named here are atomic.
LIST_KEYS = {
    "containers": ["name"], "initContainers": ["name"], "ephemeralContainers": ["name"],
    "env": ["name"], "volumes": ["name"], "volumeMounts": ["mountPath"], "volumeDevices": ["devicePath"],
    "imagePullSecrets": ["name"], "conditions": ["type"], "webhooks": ["name"], "versions": ["name"],
    "ownerReferences": ["uid"], "hostAliases": ["ip"], "resourceClaims": ["name"],
    "topologySpreadConstraints": ["topologyKey", "whenUnsatisfiable"],
}
SET_LISTS = {"finalizers"}
# Maps/structs replaced as a whole (structType/mapType atomic): label selectors, Service selector.
ATOMIC_MAPS = {"selector"}
STRIP_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"}


def _port_keys(items):
    if any(isinstance(i, dict) and "containerPort" in i for i in items):
        return ["containerPort", "protocol"]
    return ["port", "protocol"]


def list_keys(name, items):
    """Key fields of an associative list, "set" for a set, None for atomic."""
    if name in SET_LISTS:
        return "set"
    if name == "ports":
        return _port_keys(items)
    return LIST_KEYS.get(name)


def item_key(item, keys):
    if not isinstance(item, dict):
        return None
    out = {}
    for k in keys:
        if k in item:
            out[k] = item[k]
        elif k == "protocol":
            out[k] = "TCP"      # defaulted before the key is computed, as the real server does
    return out


def _kstr(key):
    return "k:" + json.dumps(key, sort_keys=True, separators=(",", ":"))


def _vstr(v):
    return "v:" + json.dumps(v, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------- merge patch (RFC 7386)

def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---------------------------------------------------------------- strategic merge patch

def strategic_merge(target, patch, name=None):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            field = k.split("/", 1)[1]
            out[field] = [x for x in out.get(field) or [] if x not in (v or [])]
            continue
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list):
            out[k] = _strategic_list(out.get(k), v, k)
        elif isinstance(v, dict):
            out[k] = strategic_merge(out.get(k), v, k)
        else:
            out[k] = v
    return out


def _strategic_list(target, patch, name):
    keys = list_keys(name, patch + (target or []))
    if keys == "set":
        merged = list(target or [])
        for x in patch:
            if x not in merged:
                merged.append(x)
        return merged
    if not keys or not isinstance(target, list):
        return [x for x in copy.deepcopy(patch) if not (isinstance(x, dict) and x.get("$patch") == "delete")]
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [x for x in copy.deepcopy(patch) if not (isinstance(x, dict) and "$patch" in x)]
    merged = copy.deepcopy(target)
    for item in patch:
        k = item_key(item, keys)
        idx = next((i for i, cur in enumerate(merged) if item_key(cur, keys) == k), None)
        if isinstance(item, dict) and item.get("$patch") == "delete":
            if idx is not None:
                merged.pop(idx)
        elif idx is None:
            merged.append(copy.deepcopy(item))
        else:
            merged[idx] = strategic_merge(merged[idx], item)
    return merged


# ---------------------------------------------------------------- JSON patch (RFC 6902)

def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise errors.bad_request("the server rejected our request due to an error in our request: "
                                 "JSON pointer %r does not start with /" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts, create=False):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in "
                                      "our request: index %s out of range" % p)
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in our "
                                  "request: doc is missing path: \"/%s\": missing value" % "/".join(parts))
    return cur


def _get(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            cur = cur[int(p)]
        else:
            cur = cur[p]
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise errors.bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        kind = op.get("op")
        parts = _pointer(op.get("path", ""))
        if kind in ("add", "replace"):
            val = copy.deepcopy(op.get("value"))
            par = _parent(doc, parts)
            last = parts[-1]
            if isinstance(par, list):
                if last == "-":
                    par.append(val)
                else:
                    i = int(last)
                    if kind == "add":
                        par.insert(i, val)
                    else:
                        par[i] = val
            else:
                if kind == "replace" and last not in par:
                    raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error "
                                          "in our request: replace operation does not apply: doc is missing "
                                          "key: %s: missing value" % op.get("path"))
                par[last] = val
        elif kind == "remove":
            par = _parent(doc, parts)
            try:
                if isinstance(par, list):
                    par.pop(int(parts[-1]))
                else:
                    del par[parts[-1]]
            except (KeyError, IndexError, ValueError):
                raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in "
                                      "our request: remove operation does not apply: doc is missing path: "
                                      "\"%s\": missing value" % op.get("path"))
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from", ""))
            val = copy.deepcopy(_get(doc, src))
            if kind == "move":
                doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
            doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": val}])
        elif kind == "test":
            try:
                cur = _get(doc, parts)
            except (KeyError, IndexError, ValueError):
                cur = MISSING
            if cur != op.get("value"):
                raise errors.ApiError(422, "Invalid", "the server rejected our request due to an error in our "
                                      "request: testing value %s failed: test failed" % op.get("path"))
        else:
            raise errors.bad_request("Unexpected kind: %s" % kind)
    return doc


# ---------------------------------------------------------------- field sets (FieldsV1)

def fieldset(obj, scope="main"):
    """Leaf paths of OBJ as tuples of FieldsV1 elements ("f:spec", "k:{...}", "v:...", ".").
    scope "main": without status; "status": status only; "all": both."""
    out = set()

    def walk(node, path):
        for k, v in node.items():
            p = path + ("f:" + k,)
            if isinstance(v, dict) and v and k not in ATOMIC_MAPS:
                walk(v, p)
            elif isinstance(v, list) and v:
                keys = list_keys(k, v)
                if keys == "set":
                    for x in v:
                        out.add(p + (_vstr(x),))
                elif keys and all(isinstance(x, dict) for x in v):
                    for x in v:
                        kp = p + (_kstr(item_key(x, keys)),)
                        out.add(kp + (".",))
                        walk(x, kp)
                else:
                    out.add(p)
            else:
                out.add(p)

    top = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if k == "metadata":
            md = {mk: mv for mk, mv in (v or {}).items() if mk not in STRIP_META}
            if md:
                top[k] = md
        elif k == "status":
            if scope in ("status", "all"):
                top[k] = v
        elif scope != "status":
            top[k] = v
    walk(top, ())
    return out


def _step(node, el):
    if el == ".":
        return node
    if el.startswith("f:"):
        if isinstance(node, dict) and el[2:] in node:
            return node[el[2:]]
        return MISSING
    if not isinstance(node, list):
        return MISSING
    if el.startswith("k:"):
        key = json.loads(el[2:])
        for item in node:
            if isinstance(item, dict) and item_key(item, list(key)) == key:
                return item
        return MISSING
    if el.startswith("v:"):
        val = json.loads(el[2:])
        return val if val in node else MISSING
    return MISSING


def value_at(obj, path):
    cur = obj
    for el in path:
        cur = _step(cur, el)
        if cur is MISSING:
            return MISSING
    return cur


def remove_path(obj, path):
    """Delete the field at PATH from OBJ (in place); a "." path removes the list item."""
    if path and path[-1] == ".":
        path = path[:-1]
    if not path:
        return
    parent = value_at(obj, path[:-1])
    el = path[-1]
    if el.startswith("f:") and isinstance(parent, dict):
        parent.pop(el[2:], None)
    elif el.startswith("k:") and isinstance(parent, list):
        key = json.loads(el[2:])
        parent[:] = [i for i in parent if not (isinstance(i, dict) and item_key(i, list(key)) == key)]
    elif el.startswith("v:") and isinstance(parent, list):
        val = json.loads(el[2:])
        parent[:] = [i for i in parent if i != val]


def to_fields_v1(paths):
    tree = {}
    for p in sorted(paths):
        cur = tree
        for el in p:
            cur = cur.setdefault(el, {})
    return tree


def from_fields_v1(tree):
    out = set()

    def walk(node, path):
        if not node:
            out.add(path)
            return
        for k, v in node.items():
            if k == ".":
                out.add(path + (".",))
            else:
                walk(v, path + (k,))
    for k, v in (tree or {}).items():
        walk(v, (k,))
    return out


def path_string(path):
    """fieldpath.Path.String(): .spec.containers[name="c"].image"""
    s = ""
    for el in path:
        if el == ".":
            continue
        if el.startswith("f:"):
            s += "." + el[2:]
        elif el.startswith("k:"):
            key = json.loads(el[2:])
            s += "[" + ",".join("%s=%s" % (k, json.dumps(v)) for k, v in sorted(key.items())) + "]"
        elif el.startswith("v:"):
            s += "[=" + el[2:] + "]"
    return s


# ---------------------------------------------------------------- managedFields bookkeeping

class Managed:
    """The managedFields of one object as a list of entries with path sets."""

    def __init__(self, entries):
        self.entries = []
        for e in entries or []:
            self.entries.append({"manager": e.get("manager", ""), "operation": e.get("operation", "Update"),
                                 "apiVersion": e.get("apiVersion", ""), "time": e.get("time"),
                                 "subresource": e.get("subresource", ""),
                                 "paths": from_fields_v1(e.get("fieldsV1"))})

    def find(self, manager, operation, subresource):
        for e in self.entries:
            if (e["manager"], e["operation"], e["subresource"]) == (manager, operation, subresource):
                return e
        return None

    def entry(self, manager, operation, subresource, api_version, now):
        e = self.find(manager, operation, subresource)
        if e is None:
            e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
                 "subresource": subresource, "paths": set()}
            self.entries.append(e)
        return e

    def prune(self, existing):
        for e in self.entries:
            e["paths"] = {p for p in e["paths"] if p in existing}
        self.entries = [e for e in self.entries if e["paths"]]

    def render(self):
        out = []
        for e in self.entries:
            d = {"manager": e["manager"], "operation": e["operation"], "apiVersion": e["apiVersion"]}
            if e["time"]:
                d["time"] = e["time"]
            d["fieldsType"] = "FieldsV1"
            d["fieldsV1"] = to_fields_v1(e["paths"])
            if e["subresource"]:
                d["subresource"] = e["subresource"]
            out.append(d)
        return out

    def signature(self):
        return sorted((e["manager"], e["operation"], e["subresource"], tuple(sorted(e["paths"])))
                      for e in self.entries)


def track_update(managed, old, new, manager, subresource, api_version, now):
    """Record a non-apply write (create, update, patch) by MANAGER: it takes every field it
    changed, from whoever owned it, without conflict."""
    scope = "status" if subresource == "status" else "main"
    new_set = fieldset(new, "all")
    old_set = fieldset(old, "all") if old is not None else set()
    mine = fieldset(new, scope)
    changed = {p for p in mine if p not in old_set or value_at(old, p) != value_at(new, p)}
    if old is not None:
        # parents of changed leaves inside lists that already existed keep their owners
        changed = {p for p in changed if not (p[-1] == "." and p in old_set)}
    for e in managed.entries:
        e["paths"] -= changed
    if changed:
        e = managed.entry(manager, "Update", subresource, api_version, now)
        e["paths"] |= changed
        e["time"] = now
    managed.prune(new_set)


def deep_apply(live, applied):
    """Merge an apply configuration into the live object (associative lists by key)."""
    for k, v in applied.items():
        cur = live.get(k, MISSING)
        if v is None:
            live.pop(k, None)
        elif isinstance(v, dict) and isinstance(cur, dict) and k not in ATOMIC_MAPS:
            deep_apply(cur, v)
        elif isinstance(v, list) and isinstance(cur, list):
            keys = list_keys(k, v + cur)
            if keys == "set":
                for x in v:
                    if x not in cur:
                        cur.append(copy.deepcopy(x))
            elif keys and all(isinstance(x, dict) for x in v + cur):
                for item in v:
                    ik = item_key(item, keys)
                    match = next((c for c in cur if item_key(c, keys) == ik), None)
                    if match is None:
                        cur.append(copy.deepcopy(item))
                    else:
                        deep_apply(match, item)
            else:
                live[k] = copy.deepcopy(v)
        else:
            live[k] = copy.deepcopy(v)


class ApplyConflict(Exception):
    def __init__(self, conflicts):
        super().__init__("conflict")
        self.conflicts = conflicts      # [(manager entry, path)]


def _manager_label(e):
    s = '"%s"' % e["manager"]
    if e["subresource"]:
        s += ' with subresource "%s"' % e["subresource"]
    if e["operation"] == "Update":
        s += " using %s" % e["apiVersion"]
    return s


def conflict_error(conflicts):
    causes = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % _manager_label(e),
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        e, p = conflicts[0]
        msg = "Apply failed with 1 conflict: conflict with %s: %s" % (_manager_label(e), path_string(p))
    else:
        by = {}
        for e, p in conflicts:
            by.setdefault(_manager_label(e), []).append(path_string(p))
        lines = []
        for label in sorted(by):
            lines.append("conflicts with %s:" % label)
            lines.extend("- " + x for x in by[label])
        msg = "Apply failed with %d conflicts: %s" % (len(conflicts), "\n".join(lines))
    return errors.ApiError(409, "Conflict", msg, {"causes": causes})


def apply(live, applied, managed, manager, force, subresource, api_version, now):
    """Server-side apply of APPLIED onto LIVE (None for create-on-apply); returns the new
    object. Raises ApiError 409 on conflicts unless FORCE."""
    scope = "status" if subresource == "status" else "main"
    cfg = copy.deepcopy(applied)
    if scope == "main":
        cfg.pop("status", None)
    else:
        cfg = {"apiVersion": cfg.get("apiVersion"), "kind": cfg.get("kind"),
               "metadata": cfg.get("metadata") or {}, "status": cfg.get("status") or {}}
    base = copy.deepcopy(live) if live is not None else {}
    want = fieldset(cfg, scope)
    me = managed.find(manager, "Apply", subresource)
    conflicts = []
    for e in managed.entries:
        if e is me:
            continue
        for p in sorted(e["paths"] & want):
            if p[-1] == ".":
                continue
            if value_at(base, p) != value_at(cfg, p):
                conflicts.append((e, p))
    if conflicts and not force:
        raise conflict_error(conflicts)
    for e, p in conflicts:
        e["paths"].discard(p)
    others = set()
    for e in managed.entries:
        if e is not me:
            others |= e["paths"]
    previous = me["paths"] if me else set()
    # a removed list item (its "." path) goes first and takes its fields along
    for p in sorted(previous - want - others, key=lambda p: (len(p), p[-1] != ".")):
        remove_path(base, p)
    meta_cfg = cfg.get("metadata") or {}
    cfg["metadata"] = {k: v for k, v in meta_cfg.items() if k not in STRIP_META}
    deep_apply(base, cfg)
    me = managed.entry(manager, "Apply", subresource, api_version, now)
    me["paths"] = want
    me["time"] = now
    managed.prune(fieldset(base, "all"))
    return base
