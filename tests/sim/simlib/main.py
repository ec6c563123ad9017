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
SAVE_EVERY = 0.25      # at most this often a busy simulator rewrites state.json


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


class Instance:
    """One simulator: state, PKI, Sim with core (and world) installed, the HTTPS API and the
    control API serving. Tests may build one in-process: world=False keeps world code out,
    install=fn(sim) plugs in extensions where world.install would (before boot hooks run)."""

    def __init__(self, state, port=0, speed=1.0, world=True, install=None):
        self.state = os.path.abspath(state)
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        p = self.pki = pki.Pki(self.state)
        p.ensure()
        sim = self.sim = Sim(self.state, speed)
        sim.ca_pem = p.read(p.ca_crt).decode()
        sim.tokens[_secret_file(os.path.join(self.state, "token"))] = (pki.ADMIN_USER, pki.ADMIN_GROUPS)
        ctl_token = _secret_file(os.path.join(self.state, "control-token"))
        self.done = threading.Event()
        rebooted = sim.load()
        namespaces.install(sim)
        gc.install(sim)
        if world and importlib.util.find_spec("simlib.world") is not None:
            from . import world as world_mod
            world_mod.install(sim)
        if install is not None:
            install(sim)
        with sim.lock:
            namespaces.seed(sim)
        if rebooted:
            sim.run_boot_hooks()
        self.api = server.ApiServer(sim, port, server.make_ssl_context(p))
        self.api.start()
        self.ctl = ControlServer(sim, self.api, ctl_token, self.done.set)
        self.ctl.start()
        self.kubeconfig = os.path.join(self.state, "kubeconfig")
        pki.write_file(self.kubeconfig, kubeconfig(self.api.url, p.read(p.ca_crt), p.read(p.admin_crt),
                                                   p.read(p.admin_key)))
        pki.write_file(os.path.join(self.state, "control-url"), self.ctl.url + "\n", 0o644)
        sim.save()

    def run(self):
        """Tick until shut down (control verb shutdown, SIGTERM, or stop())."""
        saved = 0.0
        while not self.done.is_set():
            t0 = time.monotonic()
            self.sim.tick()
            if self.sim.dirty and t0 - saved >= SAVE_EVERY:
                self.sim.save()
                saved = t0
            self.done.wait(max(0.0, TICK - (time.monotonic() - t0)))
        self.api.stop()
        self.ctl.httpd.shutdown()
        self.sim.save()

    def stop(self):
        self.done.set()


def main(argv=None):
    ap = argparse.ArgumentParser(prog="k3sim", description="simulated K3s API server for tests")
    ap.add_argument("--state", required=True, help="state directory (created if missing)")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    args = ap.parse_args(argv)
    if args.speed <= 0:
        ap.error("--speed must be positive, got %s" % args.speed)
    try:
        inst = Instance(args.state, args.port, args.speed)
    except OSError as e:
        sys.stderr.write("k3sim: %s\n" % e)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: inst.stop())
    signal.signal(signal.SIGINT, lambda *_: inst.stop())
    sys.stdout.write("READY kubeconfig=%s url=%s\n" % (inst.kubeconfig, inst.api.url))
    sys.stdout.flush()
    inst.run()
    return 0
