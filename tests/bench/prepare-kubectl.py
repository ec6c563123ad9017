#!/usr/bin/env python3
"""Lay out what bootstrap-kubectl.sh reads, outside its timing (a script would have
its manifests on disk already).

usage: prepare-kubectl.py RENDER.jsonl KUBECONFIG SHARES THRESHOLD DIR

RENDER.jsonl is `agentd --render` ({"phase", "object"} lines, in apply order)."""
import base64
import json
import os
import sys

import yaml


def main():
    render, kubeconfig, shares, threshold, out = sys.argv[1:6]
    os.makedirs(os.path.join(out, "phases"), exist_ok=True)
    phases = []
    for line in open(render):
        d = json.loads(line)
        if not phases or phases[-1][0] != d["phase"]:
            phases.append((d["phase"], []))
        phases[-1][1].append(d["object"])
    for i, (name, objs) in enumerate(phases):
        base = os.path.join(out, "phases", "%02d-%s" % (i + 1, name))
        with open(base + ".yaml", "w") as f:   # JSON documents are YAML ones
            f.write("".join("---\n%s\n" % json.dumps(o) for o in objs))
        with open(base + ".objects", "w") as f:
            for o in objs:
                f.write("%s %s %s\n" % (o["kind"], o["metadata"].get("namespace", "-"), o["metadata"]["name"]))
    kc = yaml.safe_load(open(kubeconfig))
    u, c = kc["users"][0]["user"], kc["clusters"][0]["cluster"]
    old = os.umask(0o077)
    for key, f in (("certificate-authority-data", "ca.pem"), ("client-certificate-data", "cert.pem"),
                   ("client-key-data", "key.pem")):
        with open(os.path.join(out, f), "wb") as w:
            w.write(base64.b64decode(c.get(key) or u.get(key)))
    os.umask(old)
    with open(os.path.join(out, "server"), "w") as f:
        f.write(c["server"])
    with open(os.path.join(out, "init.json"), "w") as f:
        json.dump({"secret_shares": int(shares), "secret_threshold": int(threshold)}, f)


if __name__ == "__main__":
    main()
