#!/usr/bin/python3
"""verify_stack.py STATE VERB [ARG...]: the shipped stack in a running k3sim, for verify.sh.

  up [SCHEDULE]          apply manifests/ with config/values.yaml (journalist.schedule
                         replaced by SCHEDULE if given) phase by phase, init, unseal and
                         configure Vault, run each CronJob once: what the bootstrap does,
                         done as tests/sim/test_stack_manifests.py does it
  apply FILE             re-apply one manifest file (e.g. 40-agents-policy.yaml)
  api METHOD PATH [JSON] one API request (PATCH is a merge patch); prints the body,
                         exit 1 unless 2xx
STATE is the simulator's state directory (its kubeconfig names the server)."""
import json
import os
import sys
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "sim"))

import test_stack_manifests as tsm  # noqa: E402
from harness import K3sim  # noqa: E402


def attach(state):
    """A harness client for the k3sim already serving STATE (no process of its own)."""
    k = K3sim(state_dir=state)
    with open(os.path.join(state, "kubeconfig")) as f:
        k.url = yaml.safe_load(f)["clusters"][0]["cluster"]["server"]
    k.port = urllib.parse.urlsplit(k.url).port
    tls = os.path.join(state, "tls")
    import ssl
    k.ctx = ssl.create_default_context(cafile=os.path.join(tls, "server-ca.crt"))
    k.ctx.load_cert_chain(os.path.join(tls, "client-admin.crt"), os.path.join(tls, "client-admin.key"))
    return k


class Stack(tsm.SimulatorTest):
    """The stack test's bootstrap, reused on a simulator someone else runs."""


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    k = attach(argv[0])
    verb, rest = argv[1], argv[2:]
    values = tsm.load_values()
    if verb == "up" and rest:
        values["journalist"]["schedule"] = rest[0]
    Stack.k, Stack.values, Stack.objects = k, values, tsm.load_stack(values)
    if verb == "up":
        Stack.bootstrap()
        return 0
    if verb == "apply":
        Stack.apply_phase(rest[0])
        return 0
    if verb == "api":
        method, path = rest[0], rest[1]
        body = json.loads(rest[2]) if len(rest) > 2 else None
        if method == "PATCH":
            r = k.patch(path, body)
        else:
            r = k.request(method, path, body)
        sys.stdout.write(r.body.decode() + "\n")
        return 0 if 200 <= r.status < 300 else 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
