"""k3sim entry point: state directory, PKI, kubeconfig, servers, the tick loop."""
import argparse
import base64
import importlib.util
import os
import secrets
import signal
import sys
import threading
import time

import yaml

from . import gc, namespaces, pki, server
from .control import ControlServer
from .sim import Sim

TICK = 0.1


def kubeconfig(url, ca, crt, key):
    b64 = lambda b: base64.b64encode(b).decode()
    return yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "default", "cluster": {"certificate-authority-data": b64(ca), "server": url}}],
        "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
        "current-context": "default",
        "users": [{"name": "default", "user": {"client-certificate-data": b64(crt), "client-key-data": b64(key)}}],
    }, default_flow_style=False)


def _secret_file(path):
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    tok = secrets.token_hex(24)
    pki.write_file(path, tok + "\n")
    return tok


def main(argv=None):
    ap = argparse.ArgumentParser(prog="k3sim", description="simulated K3s API server for tests")
    ap.add_argument("--state", required=True, help="state directory (created if missing)")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive, got %s" % args.speed)
    state = os.path.abspath(args.state)
    os.makedirs(state, mode=0o700, exist_ok=True)

    p = pki.Pki(state)
    p.ensure()
    sim = Sim(state, args.speed)
    sim.ca_pem = p.read(p.ca_crt).decode()
    token = _secret_file(os.path.join(state, "token"))
    sim.tokens[token] = (pki.ADMIN_USER, pki.ADMIN_GROUPS)
    ctl_token = _secret_file(os.path.join(state, "control-token"))

    rebooted = sim.load()
    namespaces.install(sim)
    gc.install(sim)
    if importlib.util.find_spec("simlib.world") is not None:
        from . import world
        world.install(sim)
    with sim.lock:
        namespaces.seed(sim)
    if rebooted:
        sim.run_boot_hooks()

    api = server.ApiServer(sim, args.port, server.make_ssl_context(p))
    api.start()
    done = threading.Event()

    def shutdown(*_):
        done.set()

    ctl = ControlServer(sim, api, ctl_token, shutdown)
    ctl.start()
    kc = os.path.join(state, "kubeconfig")
    pki.write_file(kc, kubeconfig(api.url, p.read(p.ca_crt), p.read(p.admin_crt), p.read(p.admin_key)))
    pki.write_file(os.path.join(state, "control-url"), ctl.url + "\n", 0o644)
    sim.save()
    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    sys.stdout.write("READY kubeconfig=%s url=%s\n" % (kc, api.url))
    sys.stdout.flush()

    while not done.is_set():
        t0 = time.monotonic()
        sim.tick()
        if sim.dirty:
            sim.save()
        done.wait(max(0.0, TICK - (time.monotonic() - t0)))
    api.stop()
    sim.save()
    return 0
