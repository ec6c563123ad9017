"""Object storage: one collection per group+resource, a global resourceVersion counter,
a bounded history of changes for watches, label and field selectors, persistence."""
import collections
import copy
import json
import os
import queue
import re

from . import errors

HISTORY = 4096


# ---------------------------------------------------------------- selectors

_LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _split_top(text):
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """-> list of (key, op, values); op in = != in notin exists !exists (labels.Parse)."""
    reqs = []
    if not text:
        return reqs
    for part in _split_top(text):
        m = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
        if m:
            vals = [v.strip() for v in m.group(3).split(",") if v.strip()]
            reqs.append((m.group(1), m.group(2), vals))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        else:
            m = re.match(r"^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$", part)
            if m:
                reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "=", [m.group(3)]))
            elif re.match(r"^[^=!\s()]+$", part):
                reqs.append((part, "exists", []))
            else:
                raise errors.bad_request("unable to parse requirement: found '%s', expected: "
                                         "in, notin, =, ==, !=, gt, lt" % part)
        key = reqs[-1][0]
        if not _LABEL_KEY.match(key):
            raise errors.bad_request("unable to parse requirement: invalid label key \"%s\"" % key)
    return reqs


def label_selector_from_struct(sel):
    """metav1.LabelSelector (matchLabels/matchExpressions) -> requirements."""
    reqs = []
    for k, v in sorted(((sel or {}).get("matchLabels") or {}).items()):
        reqs.append((k, "=", [v]))
    for e in (sel or {}).get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}.get(e.get("operator"))
        if op is None:
            raise errors.bad_request("\"%s\" is not a valid label selector operator" % e.get("operator"))
        reqs.append((e.get("key", ""), op, list(e.get("values") or [])))
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        present = key in labels
        if op == "=" and not (present and labels[key] == vals[0]):
            return False
        if op == "!=" and present and labels[key] == vals[0]:
            return False
        if op == "in" and not (present and labels[key] in vals):
            return False
        if op == "notin" and present and labels[key] in vals:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def parse_field_selector(text, kind):
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not m:
            raise errors.bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
        field = m.group(1).strip()
        if field not in kind.fields:
            raise errors.bad_request('field label not supported: %s' % field)
        reqs.append((field, "!=" if m.group(2) == "!=" else "=", m.group(3).strip()))
    return reqs


def field_value(obj, field):
    cur = obj
    for p in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and field == "source":     # Event.source is a struct; the label is its component
        return cur.get("component", "")
    return str(cur)


def fields_match(reqs, obj):
    for field, op, val in reqs:
        v = field_value(obj, field)
        if (op == "=") != (v == val):
            return False
    return True


# ---------------------------------------------------------------- watchers

class Watcher:
    def __init__(self, key, namespace, label_reqs, field_reqs):
        self.key = key
        self.namespace = namespace
        self.label_reqs = label_reqs
        self.field_reqs = field_reqs
        self.queue = queue.Queue()
        self.cut = False

    def _matches(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        if self.namespace and md.get("namespace") != self.namespace:
            return False
        return labels_match(self.label_reqs, md.get("labels")) and fields_match(self.field_reqs, obj)

    def translate(self, type_, obj, old):
        """The event this watcher sees, or None: a MODIFIED object leaving the selector is
        DELETED for it, one entering it is ADDED (the watch cache's filtering)."""
        now = self._matches(obj)
        if type_ == "MODIFIED":
            before = self._matches(old)
            if now and not before:
                return "ADDED"
            if before and not now:
                return "DELETED"
            return "MODIFIED" if now else None
        return type_ if now else None

    def push(self, type_, obj):
        self.queue.put((type_, obj))

    def close(self):
        self.cut = True
        self.queue.put(None)


# ---------------------------------------------------------------- store

class Store:
    def __init__(self, history=HISTORY):
        self.objects = {}           # (group, plural) -> {(namespace, name): obj}
        self.rv = 0
        self.history = collections.deque()
        self.history_max = history
        self.compacted = 0          # every change with rv > compacted is in history
        self.watchers = set()

    # reads return the stored dicts; callers copy before handing them out
    def get(self, key, namespace, name):
        return self.objects.get(key, {}).get((namespace or "", name))

    def items(self, key, namespace=None):
        coll = self.objects.get(key, {})
        out = [o for (ns, _), o in coll.items() if namespace is None or ns == namespace]
        out.sort(key=lambda o: ((o["metadata"].get("namespace") or ""), o["metadata"]["name"]))
        return out

    def keys(self):
        return list(self.objects.keys())

    def next_rv(self):
        self.rv += 1
        return self.rv

    def put(self, key, obj, old=None):
        """Store OBJ (already carrying a fresh resourceVersion) and tell watchers."""
        md = obj["metadata"]
        self.objects.setdefault(key, {})[(md.get("namespace") or "", md["name"])] = obj
        self._record("ADDED" if old is None else "MODIFIED", key, obj, old)

    def remove(self, key, obj):
        md = obj["metadata"]
        self.objects.get(key, {}).pop((md.get("namespace") or "", md["name"]), None)
        gone = copy.deepcopy(obj)
        gone["metadata"]["resourceVersion"] = str(self.next_rv())
        self._record("DELETED", key, gone, None)
        return gone

    def drop_collection(self, key):
        self.objects.pop(key, None)

    def _record(self, type_, key, obj, old):
        rv = int(obj["metadata"]["resourceVersion"])
        self.history.append((rv, type_, key, obj, old))
        while len(self.history) > self.history_max:
            self.compacted = self.history.popleft()[0]
        for w in list(self.watchers):
            if w.key == key:
                t = w.translate(type_, obj, old)
                if t:
                    w.push(t, obj)

    def resize_history(self, size):
        if size < 1:
            raise ValueError("history size must be at least 1")
        self.history_max = size
        while len(self.history) > size:
            self.compacted = self.history.popleft()[0]

    def compact(self):
        """Forget all history (etcd compaction): older resourceVersions become 410 Gone."""
        self.history.clear()
        self.compacted = self.rv

    def watch(self, key, namespace, label_reqs, field_reqs, since):
        """Register a watcher and queue every change after resourceVersion SINCE (None:
        nothing, the caller sends the current state itself). Raises 410 Expired."""
        w = Watcher(key, namespace, label_reqs, field_reqs)
        if since is not None:
            if since < self.compacted:
                raise errors.expired("too old resource version: %d (%d)" % (since, self.compacted + 1))
            for rv, type_, k, obj, old in self.history:
                if rv > since and k == key:
                    t = w.translate(type_, obj, old)
                    if t:
                        w.push(t, obj)
        self.watchers.add(w)
        return w

    def unwatch(self, w):
        self.watchers.discard(w)

    def cut_watches(self):
        for w in list(self.watchers):
            w.close()
        self.watchers.clear()

    # ------------------------------------------------------------ persistence
    def dump(self):
        objs = []
        for key, coll in self.objects.items():
            for obj in coll.values():
                objs.append({"group": key[0], "resource": key[1], "object": obj})
        return {"resourceVersion": self.rv, "objects": objs}

    def load(self, data):
        self.rv = int(data.get("resourceVersion", 0))
        self.compacted = self.rv
        for entry in data.get("objects", []):
            obj = entry["object"]
            md = obj["metadata"]
            self.objects.setdefault((entry["group"], entry["resource"]), {})[
                (md.get("namespace") or "", md["name"])] = obj


def save_json_atomic(path, data):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
