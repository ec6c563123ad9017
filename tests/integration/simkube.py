"""simkube — the simulator's API as its admin, for the integration scripts' Python.

lib.sh's `kpy` runs Python with this folder on sys.path and KC naming the
simulator's kubeconfig ($T/sim/kubeconfig):

    kpy - "$T/render.jsonl" <<'EOF'
    from simkube import get, snapshot
"""
import base64
import json
import os
import ssl
import tempfile
import urllib.error
import urllib.request

import yaml


def _context(kc):
    user, cluster = kc["users"][0]["user"], kc["clusters"][0]["cluster"]
    # ssl loads certificates from files only; they are gone once loaded.
    with tempfile.TemporaryDirectory() as d:
        paths = {}
        for key, name in (("client-certificate-data", "c.pem"), ("client-key-data", "k.pem"),
                          ("certificate-authority-data", "ca.pem")):
            paths[name] = os.path.join(d, name)
            with open(paths[name], "wb") as f:
                f.write(base64.b64decode(cluster.get(key) or user.get(key)))
        ctx = ssl.create_default_context(cafile=paths["ca.pem"])
        ctx.check_hostname = False
        ctx.load_cert_chain(paths["c.pem"], paths["k.pem"])
    return cluster["server"], ctx


with open(os.environ["KC"]) as _f:
    SERVER, _CTX = _context(yaml.safe_load(_f))


def get(path, headers=None):
    """(HTTP status, the JSON body) of GET PATH; the body is None on an HTTP error."""
    req = urllib.request.Request(SERVER + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=_CTX) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


PLURAL = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps",
          "Service": "services", "ResourceQuota": "resourcequotas", "LimitRange": "limitranges"}


def path_of(o):
    """The API path of object O (apiVersion, kind, metadata.name and .namespace)."""
    av, kind, md = o["apiVersion"], o["kind"], o["metadata"]
    plural = PLURAL.get(kind) or (kind.lower()[:-1] + "ies" if kind.endswith("y")
                                  else kind.lower() + ("es" if kind.endswith("s") else "s"))
    base = "/api/" + av if "/" not in av else "/apis/" + av
    ns = "/namespaces/%s" % md["namespace"] if md.get("namespace") else ""
    return "%s%s/%s/%s" % (base, ns, plural, md["name"])


def snapshot(render_jsonl):
    """One line per object of `agentd --render` output: kind, name, HTTP status and
    its resourceVersion (generation for controllers, whose controller writes their
    status), so that two snapshots differ only where something was written."""
    lines = []
    with open(render_jsonl) as f:
        for line in f:
            o = json.loads(line)["object"]
            st, x = get(path_of(o))
            key = "generation" if o["kind"] in ("Deployment", "StatefulSet", "CronJob") else "resourceVersion"
            lines.append("%s %s %s %s" % (o["kind"], o["metadata"]["name"], st,
                                          (x or {}).get("metadata", {}).get(key)))
    return lines
