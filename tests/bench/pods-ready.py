#!/usr/bin/env python3
"""Wait until every pod of the stack is Ready; print that moment (epoch ns).

usage: pods-ready.py KUBECONFIG [TIMEOUT_S]

Polls the pods of the vault and ai-agents namespaces every 20 ms over one TLS
context (a Job's pods are left out: they finish).  It must first see a pod that
is not Ready, so a stale view taken before the fault is never the answer.  Exit 1
on timeout."""
import base64
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.request

import yaml


def main():
    kc = yaml.safe_load(open(sys.argv[1]))
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    u, c = kc["users"][0]["user"], kc["clusters"][0]["cluster"]
    d = tempfile.mkdtemp()
    for k, f in (("client-certificate-data", "c.pem"), ("client-key-data", "k.pem"),
                 ("certificate-authority-data", "ca.pem")):
        with open(os.path.join(d, f), "wb") as out:
            out.write(base64.b64decode(c.get(k) or u.get(k)))
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
    ctx.check_hostname = False
    ctx.load_cert_chain(os.path.join(d, "c.pem"), os.path.join(d, "k.pem"))
    for f in ("c.pem", "k.pem", "ca.pem"):
        os.unlink(os.path.join(d, f))
    os.rmdir(d)

    def all_ready():
        n = 0
        for ns in ("vault", "ai-agents"):
            url = "%s/api/v1/namespaces/%s/pods" % (c["server"], ns)
            with urllib.request.urlopen(url, context=ctx, timeout=5) as r:
                items = json.load(r)["items"]
            for p in items:
                if any(o.get("kind") == "Job" for o in p["metadata"].get("ownerReferences") or []):
                    continue
                n += 1
                conds = p.get("status", {}).get("conditions") or []
                if not any(x["type"] == "Ready" and x["status"] == "True" for x in conds):
                    return False
        return n > 0

    seen_unready = False
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            ready = all_ready()
        except OSError:
            ready = False
        if ready and seen_unready:
            print(time.time_ns())
            return 0
        seen_unready = seen_unready or not ready
        time.sleep(0.02)
    print("pods-ready: not every pod Ready after %.0f s" % timeout, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
