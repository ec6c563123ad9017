"""The Sim object: storage, the write paths every request and controller goes through
(defaulting, admission, managedFields, generation, finalizers), and the extension points
world code plugs into (see ../ARCHITECTURE.md)."""
import copy
import os
import random
import re
import sys
import threading
import traceback
import uuid

from . import clock as clockmod
from . import errors, patch, store
from .errors import ApiError
from .faults import Faults
from .kinds import Registry

CONTROLLER_USER = "system:serviceaccount:kube-system:controller"
INTERNAL_MANAGER = "k3s"
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
NS_KEY = ("", "namespaces")
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
_DNS1123_SUB = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


class AdmissionRequest:
    def __init__(self, operation, obj, old, namespace, user, kind, subresource, name):
        self.operation = operation
        self.obj = obj
        self.old = old
        self.namespace = namespace
        self.user = user
        self.kind = kind                # (api_version, kind)
        self.subresource = subresource
        self.name = name


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _without_managed(obj):
    o = dict(obj)
    md = dict(o.get("metadata") or {})
    md.pop("managedFields", None)
    md.pop("resourceVersion", None)
    o["metadata"] = md
    return o


class Sim:
    def __init__(self, state_dir, speed=1.0):
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.speed = speed
        self.clock = clockmod.SimClock(speed)
        self.store = store.Store()
        self.registry = Registry()
        self.world_state = {}
        self.world_config = {}
        self.faults = Faults()
        self.tokens = {}                # bearer token -> (user, groups)
        self.ca_pem = ""                # cluster CA, published as kube-root-ca.crt
        self.rebooted = False
        self.dirty = False
        self.paused = set()
        self.logs = {}                  # (namespace, pod, container) -> text appended via control API
        self._mutating = []
        self._validating = []
        self._controllers = []
        self._proxies = []
        self._log_sources = []
        self._boot = []
        self._restart = []
        self.core_controllers = []      # (name, fn) run before world controllers each tick

    # ------------------------------------------------------------ extension points
    def add_admission(self, name, fn, mutating):
        (self._mutating if mutating else self._validating).append((name, fn))

    def add_controller(self, name, fn):
        self._controllers.append((name, fn))

    def add_pod_proxy(self, fn):
        self._proxies.append(fn)

    def add_log_source(self, fn):
        self._log_sources.append(fn)

    def on_boot(self, fn):
        self._boot.append(fn)

    def on_pod_restart(self, fn):
        self._restart.append(fn)

    def controller_names(self):
        return [n for n, _ in self.core_controllers] + [n for n, _ in self._controllers]

    # ------------------------------------------------------------ helpers
    def now(self):
        return clockmod.fmt(self.clock.now())

    def kind_of(self, api_version, kind):
        k = self.registry.by_kind(api_version, kind)
        if k is None:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource "
                                  "(no kind \"%s\" is registered for version \"%s\")" % (kind, api_version))
        return k

    def _ns_check(self, kind, namespace, name):
        if not kind.namespaced:
            return
        ns = self.store.get(NS_KEY, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp") or (ns.get("status") or {}).get("phase") == "Terminating":
            raise errors.forbidden(kind.plural, name, kind.group,
                                   "unable to create new content in namespace %s because it is being terminated"
                                   % namespace,
                                   [{"reason": "NamespaceTerminating",
                                     "message": "namespace %s is being terminated" % namespace,
                                     "field": "metadata.namespace"}])

    def _admit(self, req, warnings):
        for _, fn in self._mutating + self._validating:
            w = fn(self, req)
            if w:
                warnings.extend(w)

    def _check_type(self, kind, obj, verb_name=None):
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        av, k = obj.get("apiVersion"), obj.get("kind")
        if not k:
            raise errors.bad_request("Object 'Kind' is missing in '%s'" % _short(obj))
        if not av:
            raise errors.bad_request("Object 'apiVersion' is missing in '%s'" % _short(obj))
        if av != kind.api_version:
            raise errors.bad_request("the API version in the data (%s) does not match the expected API "
                                     "version (%s)" % (av, kind.api_version))
        if k != kind.kind:
            raise errors.bad_request("%s in version \"%s\" cannot be handled as a %s: the object kind (%s) "
                                     "does not match the expected kind (%s)" % (k, kind.version, kind.kind, k,
                                                                                  kind.kind))
        if not isinstance(obj.get("metadata", {}), dict):
            raise errors.bad_request("metadata must be an object")

    def _validate_name(self, kind, name):
        rx = _DNS1123_LABEL if kind.plural in ("namespaces", "services") else _DNS1123_SUB
        if kind.plural in ("events",):
            return
        if not rx.match(name) or len(name) > (63 if rx is _DNS1123_LABEL else 253):
            what = "label" if rx is _DNS1123_LABEL else "subdomain"
            raise errors.invalid(kind.kind, name, kind.group, [(
                "metadata.name", "FieldValueInvalid",
                "Invalid value: \"%s\": a lowercase RFC 1123 %s must consist of lower case alphanumeric "
                "characters, '-'%s and must start and end with an alphanumeric character"
                % (name, what, "" if what == "label" else " or '.'"))])

    def _validate(self, kind, obj):
        """The required fields the stack's kinds would be rejected without (422)."""
        name = obj["metadata"].get("name", "")
        causes = []
        spec = obj.get("spec") or {}
        if kind.key == ("", "pods"):
            if not spec.get("containers"):
                causes.append(("spec.containers", "FieldValueRequired", "Required value"))
            for i, c in enumerate(spec.get("containers") or []):
                if not c.get("name"):
                    causes.append(("spec.containers[%d].name" % i, "FieldValueRequired", "Required value"))
                if not c.get("image"):
                    causes.append(("spec.containers[%d].image" % i, "FieldValueRequired", "Required value"))
        elif kind.key in (("apps", "deployments"), ("apps", "statefulsets"), ("apps", "replicasets")):
            if not spec.get("selector"):
                causes.append(("spec.selector", "FieldValueRequired", "Required value"))
            if not ((spec.get("template") or {}).get("spec") or {}).get("containers"):
                causes.append(("spec.template.spec.containers", "FieldValueRequired", "Required value"))
        elif kind.key == ("batch", "cronjobs"):
            if not spec.get("schedule"):
                causes.append(("spec.schedule", "FieldValueRequired", "Required value"))
        elif kind.key == CRD_KEY:
            for f in ("group", "names", "scope", "versions"):
                if not spec.get(f):
                    causes.append(("spec." + f, "FieldValueRequired", "Required value"))
        if causes:
            raise errors.invalid(kind.kind, name, kind.group, causes)

    # ------------------------------------------------------------ reads
    def get(self, api_version, kind, namespace, name):
        with self.lock:
            k = self.kind_of(api_version, kind)
            obj = self.store.get(k.key, namespace if k.namespaced else "", name)
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        with self.lock:
            k = self.kind_of(api_version, kind)
            return [copy.deepcopy(o) for o in self.select(k, namespace, label_selector, field_selector)]

    def select(self, kind, namespace=None, label_selector=None, field_selector=None):
        """Stored objects (not copies) matching; selectors as strings or structs."""
        if isinstance(label_selector, dict):
            lreqs = store.label_selector_from_struct(label_selector)
        else:
            lreqs = store.parse_label_selector(label_selector)
        if isinstance(field_selector, dict):
            freqs = [(f, "=", str(v)) for f, v in field_selector.items()]
        else:
            freqs = store.parse_field_selector(field_selector, kind)
        out = []
        for o in self.store.items(kind.key, namespace if kind.namespaced else None):
            if store.labels_match(lreqs, o["metadata"].get("labels")) and store.fields_match(freqs, o):
                out.append(o)
        return out

    # ------------------------------------------------------------ commit
    def _commit(self, kind, obj, old):
        """Store OBJ with a new resourceVersion; finish deletion of a finalized object."""
        md = obj["metadata"]
        if md.get("deletionTimestamp") and not md.get("finalizers") and old is not None:
            if kind.key == NS_KEY and (obj.get("spec") or {}).get("finalizers"):
                pass
            else:
                gone = self.store.remove(kind.key, old)
                self._after_change(kind)
                return gone
        md["resourceVersion"] = str(self.store.next_rv())
        self.store.put(kind.key, obj, old)
        self._after_change(kind)
        return obj

    def _after_change(self, kind):
        self.dirty = True
        if kind.key == CRD_KEY:
            self.refresh_crds()

    def refresh_crds(self):
        changed, removed = self.registry.set_crds(self.store.items(CRD_KEY))
        for k in removed:
            if self.registry.by_key(k.key) is None:
                for o in list(self.store.items(k.key)):
                    self.store.remove(k.key, o)
                self.store.drop_collection(k.key)
        return changed

    # ------------------------------------------------------------ create
    def do_create(self, kind, namespace, body, user, manager, admit=True, dry_run=False, managed=None):
        """-> (created object, warnings). MANAGED: the field ownership of a create-on-apply."""
        self._check_type(kind, body)
        obj = copy.deepcopy(body)
        md = obj.setdefault("metadata", {})
        if kind.namespaced:
            if md.get("namespace") and namespace and md["namespace"] != namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace "
                                         "sent on the request")
            namespace = namespace or md.get("namespace")
            if not namespace:
                raise errors.bad_request("an empty namespace may not be set during creation")
            md["namespace"] = namespace
        else:
            md.pop("namespace", None)
            namespace = ""
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + "".join(random.choice(_GEN_CHARS) for _ in range(5))
            else:
                raise errors.invalid(kind.kind, "", kind.group, [(
                    "metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
        name = md["name"]
        self._validate_name(kind, name)
        self._ns_check(kind, namespace, name)
        for f in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                  "selfLink"):
            md.pop(f, None)
        if kind.key == ("", "events"):
            pass
        elif kind.has_status:
            obj.pop("status", None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = self.now()
        if kind.generation:
            md["generation"] = 1
        defaults_create(self, kind, obj)
        warnings = []
        if admit:
            self._admit(AdmissionRequest("CREATE", obj, None, namespace, user, (kind.api_version, kind.kind),
                                         "", name), warnings)
            obj["metadata"]["name"], obj["metadata"]["uid"] = name, md["uid"]
        self._validate(kind, obj)
        if self.store.get(kind.key, namespace, name) is not None:
            raise errors.already_exists(kind.plural, name, kind.group)
        if managed is None:
            managed = patch.Managed(None)
            patch.track_update(managed, None, obj, manager, "", kind.api_version, self.now())
        else:
            managed.prune(patch.fieldset(obj, "all"))
        self._set_managed(obj, managed)
        if dry_run:
            return obj, warnings
        return self._commit(kind, obj, None), warnings

    def _set_managed(self, obj, managed):
        mf = managed.render()
        if mf:
            obj["metadata"]["managedFields"] = mf
        else:
            obj["metadata"].pop("managedFields", None)

    # ------------------------------------------------------------ update
    def _existing(self, kind, namespace, name):
        obj = self.store.get(kind.key, namespace if kind.namespaced else "", name)
        if obj is None:
            raise errors.not_found(kind.plural, name, kind.group)
        return obj

    def do_update(self, kind, namespace, name, body, user, manager, subresource="", admit=True,
                  dry_run=False, check_rv=True):
        """PUT semantics -> (object, warnings)."""
        self._check_type(kind, body)
        old = self._existing(kind, namespace, name)
        bmd = body.get("metadata") or {}
        if bmd.get("name") and bmd["name"] != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (bmd["name"], name))
        if kind.namespaced and bmd.get("namespace") and bmd["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        if check_rv and bmd.get("resourceVersion") and bmd["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.modified(kind.plural, name, kind.group)
        if bmd.get("uid") and bmd["uid"] != old["metadata"]["uid"]:
            raise errors.conflict(kind.plural, name, kind.group, "Precondition failed: UID in precondition: %s, "
                                  "UID in object meta: %s" % (bmd["uid"], old["metadata"]["uid"]))
        return self._write(kind, old, copy.deepcopy(body), user, manager, subresource, admit, dry_run, None)

    def _write(self, kind, old, new, user, manager, subresource, admit, dry_run, managed):
        """Common tail of update and patch: OLD is the stored object, NEW the wanted one.
        MANAGED is the managedFields result of an apply (None: track as an Update)."""
        omd = old["metadata"]
        if subresource == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
        elif subresource == "finalize":
            finalizers = (new.get("spec") or {}).get("finalizers")
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = finalizers or []
        elif kind.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        nmd = new.setdefault("metadata", {})
        for f in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation"):
            if f in omd:
                nmd[f] = omd[f]
            else:
                nmd.pop(f, None)
        nmd.pop("selfLink", None)
        nmd["resourceVersion"] = omd.get("resourceVersion")
        new["apiVersion"], new["kind"] = kind.api_version, kind.kind
        if omd.get("deletionTimestamp"):
            added = set(nmd.get("finalizers") or []) - set(omd.get("finalizers") or [])
            if added:
                raise errors.invalid(kind.kind, omd["name"], kind.group, [(
                    "metadata.finalizers", "FieldValueForbidden",
                    "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                    "finalizers []string{%s}" % ", ".join('"%s"' % f for f in sorted(added)))])
        if kind.generation and _spec_of(new) != _spec_of(old):
            nmd["generation"] = int(omd.get("generation") or 0) + 1
        defaults_update(self, kind, new, old, subresource)
        warnings = []
        if admit:
            self._admit(AdmissionRequest("UPDATE", new, copy.deepcopy(old), omd.get("namespace", ""), user,
                                         (kind.api_version, kind.kind), subresource, omd["name"]), warnings)
        self._validate(kind, new)
        if managed is None:
            managed = patch.Managed(omd.get("managedFields"))
            patch.track_update(managed, old, new, manager, subresource, kind.api_version, self.now())
        self._set_managed(new, managed)
        if _without_managed(new) == _without_managed(old) and \
                managed.signature() == patch.Managed(omd.get("managedFields")).signature():
            return copy.deepcopy(old), warnings
        if dry_run:
            return new, warnings
        return self._commit(kind, new, old), warnings

    # ------------------------------------------------------------ patch
    def do_patch(self, kind, namespace, name, ptype, body, user, manager, force=False, subresource="",
                 dry_run=False):
        """PATCH in its four flavours -> (object, warnings)."""
        old = self.store.get(kind.key, namespace if kind.namespaced else "", name)
        if ptype == "apply":
            return self._apply(kind, namespace, name, old, body, user, manager, force, subresource, dry_run)
        if old is None:
            raise errors.not_found(kind.plural, name, kind.group)
        if ptype == "json":
            new = patch.json_patch(old, body)
        elif ptype == "merge":
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            new = patch.merge_patch(old, body)
        elif ptype == "strategic":
            if not isinstance(body, dict):
                raise errors.bad_request("json: cannot unmarshal into Go value of type map[string]interface {}")
            if kind.crd:
                raise errors.unsupported_media("application/strategic-merge-patch+json")
            new = patch.strategic_merge(old, body)
        else:
            raise errors.unsupported_media(ptype)
        if not isinstance(new, dict):
            raise errors.bad_request("the patch produced an object that is not a JSON object")
        nmd = new.get("metadata") or {}
        if nmd.get("resourceVersion") and nmd["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.modified(kind.plural, name, kind.group)
        if nmd.get("name", name) != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (nmd.get("name"), name))
        return self._write(kind, old, new, user, manager, subresource, True, dry_run, None)

    def _apply(self, kind, namespace, name, old, body, user, manager, force, subresource, dry_run):
        if not isinstance(body, dict):
            raise errors.bad_request("error decoding YAML: the apply configuration must be an object")
        self._check_type(kind, body)
        bmd = body.get("metadata") or {}
        if bmd.get("name") != name:
            raise errors.bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                     % (bmd.get("name", ""), name))
        if kind.namespaced and bmd.get("namespace") and bmd["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent "
                                     "on the request")
        if bmd.get("managedFields"):
            raise errors.bad_request("metadata.managedFields must be nil")
        if old is None:
            if subresource:
                raise errors.not_found(kind.plural, name, kind.group)
            managed = patch.Managed(None)
            obj = patch.apply(None, body, managed, manager, force, "", kind.api_version, self.now())
            obj["apiVersion"], obj["kind"] = kind.api_version, kind.kind
            md = obj.setdefault("metadata", {})
            md["name"] = name
            if kind.namespaced:
                md["namespace"] = namespace
            return self.do_create(kind, namespace, obj, user, manager, True, dry_run, managed)
        managed = patch.Managed(old["metadata"].get("managedFields"))
        new = patch.apply(old, body, managed, manager, force, subresource, kind.api_version, self.now())
        return self._write(kind, old, new, user, manager, subresource, True, dry_run, managed)

    # ------------------------------------------------------------ delete
    def do_delete(self, kind, namespace, name, user, propagation=None, preconditions=None, admit=True,
                  dry_run=False):
        """-> (object, deleted_now, warnings)."""
        old = self._existing(kind, namespace, name)
        omd = old["metadata"]
        pre = preconditions or {}
        if pre.get("uid") and pre["uid"] != omd["uid"]:
            raise errors.conflict(kind.plural, name, kind.group, "Precondition failed: UID in precondition: %s, "
                                  "UID in object meta: %s" % (pre["uid"], omd["uid"]))
        if pre.get("resourceVersion") and pre["resourceVersion"] != omd["resourceVersion"]:
            raise errors.conflict(kind.plural, name, kind.group, "Precondition failed: ResourceVersion in "
                                  "precondition: %s, ResourceVersion in object meta: %s"
                                  % (pre["resourceVersion"], omd["resourceVersion"]))
        warnings = []
        if admit:
            self._admit(AdmissionRequest("DELETE", None, copy.deepcopy(old), omd.get("namespace", ""), user,
                                         (kind.api_version, kind.kind), "", name), warnings)
        if propagation is None:
            propagation = "Orphan" if kind.key == ("batch", "jobs") else "Background"
        if propagation not in ("Background", "Foreground", "Orphan"):
            raise errors.invalid("DeleteOptions", "", "meta.k8s.io", [(
                "propagationPolicy", "FieldValueNotSupported",
                "Unsupported value: \"%s\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                % propagation)])
        new = copy.deepcopy(old)
        nmd = new["metadata"]
        fin = list(nmd.get("finalizers") or [])
        if kind.key == NS_KEY:
            new.setdefault("status", {})["phase"] = "Terminating"
        if propagation == "Foreground" and "foregroundDeletion" not in fin:
            fin.append("foregroundDeletion")
        if propagation == "Orphan" and "orphan" not in fin and (omd.get("deletionTimestamp") is None):
            fin.append("orphan")
        if kind.key == CRD_KEY and CRD_CLEANUP not in fin and self.registry.by_key(
                (new["spec"].get("group", ""), (new["spec"].get("names") or {}).get("plural", ""))):
            fin.append(CRD_CLEANUP)
        if fin or kind.key == NS_KEY:
            nmd["finalizers"] = fin
            if not fin:
                nmd.pop("finalizers")
            if not nmd.get("deletionTimestamp"):
                nmd["deletionTimestamp"] = self.now()
                nmd["deletionGracePeriodSeconds"] = 0
            if new == old:
                return copy.deepcopy(old), False, warnings
            if dry_run:
                return new, False, warnings
            nmd["resourceVersion"] = str(self.store.next_rv())
            self.store.put(kind.key, new, old)
            self._after_change(kind)
            return new, False, warnings
        if dry_run:
            return copy.deepcopy(old), True, warnings
        gone = self.store.remove(kind.key, old)
        self._after_change(kind)
        return gone, True, warnings

    # ------------------------------------------------------------ public API for world code
    def create(self, obj, admit=True, user=CONTROLLER_USER, manager=INTERNAL_MANAGER):
        with self.lock:
            k = self.kind_of(obj.get("apiVersion", ""), obj.get("kind", ""))
            ns = (obj.get("metadata") or {}).get("namespace") if k.namespaced else ""
            return copy.deepcopy(self.do_create(k, ns, obj, user, manager, admit)[0])

    def update(self, obj, manager=INTERNAL_MANAGER):
        return self._replace(obj, manager, "")

    def update_status(self, obj, manager=INTERNAL_MANAGER):
        return self._replace(obj, manager, "status")

    def _replace(self, obj, manager, subresource):
        with self.lock:
            k = self.kind_of(obj.get("apiVersion", ""), obj.get("kind", ""))
            md = obj.get("metadata") or {}
            return copy.deepcopy(self.do_update(k, md.get("namespace", "") if k.namespaced else "", md.get("name"),
                                                obj, CONTROLLER_USER, manager, subresource, admit=False)[0])

    def delete(self, api_version, kind, namespace, name, propagation="Background"):
        with self.lock:
            k = self.kind_of(api_version, kind)
            return copy.deepcopy(self.do_delete(k, namespace if k.namespaced else "", name, CONTROLLER_USER,
                                                propagation, admit=False)[0])

    def emit_event(self, involved, type_, reason, message, component):
        """A core/v1 Event about INVOLVED; repeats bump count and lastTimestamp."""
        with self.lock:
            imd = involved.get("metadata") or {}
            ns = imd.get("namespace") or "default"
            ref = {"kind": involved.get("kind"), "namespace": imd.get("namespace"), "name": imd.get("name"),
                   "uid": imd.get("uid"), "apiVersion": involved.get("apiVersion"),
                   "resourceVersion": imd.get("resourceVersion")}
            ref = {k: v for k, v in ref.items() if v}
            k = self.registry.by_kind("v1", "Event")
            now = self.now()
            for ev in self.store.items(k.key, ns):
                io = ev.get("involvedObject") or {}
                if io.get("uid") == ref.get("uid") and io.get("name") == ref.get("name") and \
                        io.get("kind") == ref.get("kind") and ev.get("reason") == reason and \
                        ev.get("message") == message and ev.get("type") == type_ and \
                        (ev.get("source") or {}).get("component") == component:
                    new = copy.deepcopy(ev)
                    new["count"] = int(new.get("count") or 1) + 1
                    new["lastTimestamp"] = now
                    return copy.deepcopy(self._commit(k, new, ev))
            name = "%s.%x" % (imd.get("name", "unknown"), int(self.clock.now().timestamp() * 1e9)
                              + random.randrange(1 << 16))
            ev = {"apiVersion": "v1", "kind": "Event",
                  "metadata": {"name": name, "namespace": ns, "uid": str(uuid.uuid4()), "creationTimestamp": now},
                  "involvedObject": ref, "reason": reason, "message": message, "type": type_,
                  "source": {"component": component}, "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                  "reportingComponent": component, "reportingInstance": ""}
            if self.store.get(("", "namespaces"), "", ns) is None:
                return None
            return copy.deepcopy(self._commit(k, ev, None))

    # ------------------------------------------------------------ pods: logs, restart
    def pod_log(self, pod, container):
        """The first log source's text for the container, then whatever the control API
        appended to it; None when nobody knows the container."""
        text = None
        for fn in self._log_sources:
            text = fn(self, copy.deepcopy(pod), container)
            if text is not None:
                break
        md = pod["metadata"]
        extra = self.logs.get((md.get("namespace"), md["name"], container))
        if extra is not None:
            text = (text or "") + extra
        return text

    def append_log(self, namespace, pod, container, text):
        key = (namespace, pod, container)
        self.logs[key] = self.logs.get(key, "") + text

    def restart_pod(self, namespace, name):
        """A kubelet-style restart of every container of a pod: world hooks first; without one,
        the containers' restartCount goes up and they start again."""
        with self.lock:
            pod = self.store.get(("", "pods"), namespace, name)
            if pod is None:
                raise errors.not_found("pods", name)
            for fn in self._restart:
                if fn(self, copy.deepcopy(pod)):
                    return self.get("v1", "Pod", namespace, name)
            new = copy.deepcopy(pod)
            now = self.now()
            statuses = (new.setdefault("status", {})).setdefault("containerStatuses", [])
            if not statuses:
                for c in (new.get("spec") or {}).get("containers") or []:
                    statuses.append({"name": c.get("name"), "image": c.get("image"), "imageID": "",
                                     "ready": False, "started": False, "restartCount": 0,
                                     "state": {"waiting": {"reason": "ContainerCreating"}}})
            for cs in statuses:
                cs["restartCount"] = int(cs.get("restartCount") or 0) + 1
                cs["lastState"] = {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": now,
                                                  "startedAt": ((cs.get("state") or {}).get("running") or {})
                                                  .get("startedAt", now)}}
                cs["state"] = {"running": {"startedAt": now}}
            self._commit(self.registry.by_kind("v1", "Pod"), new, pod)
            self.emit_event(new, "Normal", "Started", "Started container(s) after restart", "kubelet")
            return copy.deepcopy(new)

    # ------------------------------------------------------------ tick and persistence
    def tick(self):
        with self.lock:
            for name, fn in self.core_controllers + self._controllers:
                if name in self.paused:
                    continue
                try:
                    fn(self)
                except Exception:          # a broken controller must not stop the others
                    sys.stderr.write("k3sim: controller %s failed:\n%s" % (name, traceback.format_exc()))

    def state_path(self):
        return os.path.join(self.state_dir, "state.json")

    def snapshot(self):
        with self.lock:
            self.dirty = False
            data = self.store.dump()
            data["world_state"] = copy.deepcopy(self.world_state)
            data["world_config"] = copy.deepcopy(self.world_config)
            data["clock"] = self.clock.snapshot()
            return data

    def save(self):
        store.save_json_atomic(self.state_path(), self.snapshot())

    def load(self):
        """Read DIR/state.json if present; True when this start is a reboot."""
        import json
        path = self.state_path()
        if not os.path.exists(path):
            return False
        with open(path) as f:
            data = json.load(f)
        self.store.load(data)
        self.world_state = data.get("world_state") or {}
        self.world_config = data.get("world_config") or {}
        if data.get("clock"):
            self.clock = clockmod.SimClock.resume(data["clock"], self.speed)
        self.refresh_crds()
        self.rebooted = True
        return True

    def run_boot_hooks(self):
        with self.lock:
            for fn in self._boot:
                fn(self)


def _short(obj):
    import json
    s = json.dumps(obj)
    return s if len(s) < 120 else s[:117] + "..."


# ---------------------------------------------------------------- defaulting (registry strategies)

def _default_pod_spec(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        image = c.get("image") or ""
        tag = image.rsplit("/", 1)[-1]
        latest = "@" not in image and (":" not in tag or tag.endswith(":latest"))
        c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")


def defaults_create(sim, kind, obj):
    """PrepareForCreate plus the defaulting every request body goes through."""
    key = kind.key
    spec = obj.get("spec")
    if key == NS_KEY:
        md = obj["metadata"]
        md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif key == ("", "pods"):
        spec = obj.setdefault("spec", {})
        _default_pod_spec(spec)
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        obj["status"] = {"phase": "Pending", "qosClass": _qos(spec)}
    elif key == ("", "services"):
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("clusterIP") != "None":
            spec["clusterIP"] = spec.get("clusterIP") or _alloc_cluster_ip(sim)
            spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
        obj["status"] = {"loadBalancer": {}}
    elif key == ("apps", "deployments") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        spec.setdefault("strategy", {"type": "RollingUpdate",
                                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif key == ("apps", "statefulsets") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif key == ("apps", "replicasets") and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
    elif key == ("batch", "jobs") and isinstance(spec, dict):
        _default_job(obj, spec)
    elif key == ("batch", "cronjobs") and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        jt = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
        jt.setdefault("backoffLimit", 6)
        jt.setdefault("completionMode", "NonIndexed")
        _default_pod_spec(jt.setdefault("template", {}).setdefault("spec", {}))
    elif key == CRD_KEY:
        obj["status"] = {"conditions": [], "acceptedNames": {"kind": "", "plural": ""}, "storedVersions": []}
    elif key == ("", "persistentvolumeclaims"):
        obj["status"] = {"phase": "Pending"}
        (obj.setdefault("spec", {})).setdefault("volumeMode", "Filesystem")
    elif key == ("", "secrets"):
        obj.setdefault("type", "Opaque")


def defaults_update(sim, kind, new, old, subresource):
    if kind.key == ("", "pods") and isinstance(new.get("spec"), dict):
        _default_pod_spec(new["spec"])
    elif kind.key == ("", "services") and isinstance(new.get("spec"), dict):
        ospec = old.get("spec") or {}
        if ospec.get("clusterIP") and not new["spec"].get("clusterIP"):
            new["spec"]["clusterIP"] = ospec["clusterIP"]
            new["spec"]["clusterIPs"] = ospec.get("clusterIPs") or [ospec["clusterIP"]]
        for p in new["spec"].get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                p.setdefault("targetPort", p.get("port"))
    elif kind.key == NS_KEY and subresource != "finalize":
        new["spec"] = old.get("spec") or {}
        new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = old["metadata"]["name"]


def _default_job(obj, spec):
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    tmpl = spec.setdefault("template", {})
    _default_pod_spec(tmpl.setdefault("spec", {}))
    if not spec.get("manualSelector"):
        uid = obj["metadata"]["uid"]
        name = obj["metadata"]["name"]
        labels = tmpl.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
                       "controller-uid": uid, "job-name": name})
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        obj["metadata"].setdefault("labels", {}).update(
            {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": name,
             "controller-uid": uid, "job-name": name})


def _qos(spec):
    cs = spec.get("containers") or []
    req = [((c.get("resources") or {}).get("requests") or {}) for c in cs if isinstance(c, dict)]
    lim = [((c.get("resources") or {}).get("limits") or {}) for c in cs if isinstance(c, dict)]
    if not any(req) and not any(lim):
        return "BestEffort"
    guaranteed = all(l.get("cpu") and l.get("memory") and r.get("cpu", l["cpu"]) == l["cpu"] and
                     r.get("memory", l["memory"]) == l["memory"] for r, l in zip(req, lim))
    return "Guaranteed" if guaranteed and lim else "Burstable"


def _alloc_cluster_ip(sim):
    used = {(s.get("spec") or {}).get("clusterIP") for s in sim.store.items(("", "services"))}
    n = 10
    while True:
        ip = "10.43.%d.%d" % (n // 250, n % 250 + 1)
        if ip not in used:
            return ip
        n += 1
