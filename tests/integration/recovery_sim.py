#!/usr/bin/python3
"""Helpers for the recovery tests: a Vault server pod in k3sim, its init, its
seal status, and a systemd password agent.  Standard library only.

    recovery_sim.py vault-pod STATE              namespace vault + pod vault-0 (hashicorp/vault,
                                                 port 8200), waits until it answers seal-status
    recovery_sim.py init STATE SHARES THRESHOLD KEYFILE
                                                 sys/init through the pod proxy; keys_base64,
                                                 one per line, into KEYFILE (0600)
    recovery_sim.py seal-status STATE            prints vault-0's sys/seal-status JSON
    recovery_sim.py agent-auth STATE KEYFILE     unseals vault-0 with KEYFILE's keys, enables Kubernetes
                                                 auth with role "agents" (namespace ai-agents) using the
                                                 root token of KEYFILE.root, adds Service vault/vault
    recovery_sim.py agent-pod STATE NS NAME ROLE a pod as the injector makes it: init container
                                                 vault-agent-init logging in with ROLE (ROLE "-": a
                                                 plain pod without it); creates namespace NS if needed
    recovery_sim.py pod-phase STATE NS NAME      prints the pod's status.phase (or "absent")
    recovery_sim.py delete-pod STATE NS NAME
    recovery_sim.py agent ASKDIR                 a password agent: reads the one ask.* file in
                                                 ASKDIR, checks its keys, sends "+" + the first
                                                 line of stdin to its Socket=; prints Message=
"""
import base64
import configparser
import glob
import http.client
import json
import os
import socket
import ssl
import sys
import time

PROXY = "/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/"
LABELS = {"app.kubernetes.io/name": "vault", "app.kubernetes.io/component": "server", "component": "server"}


def client(state):
    tls = os.path.join(state, "tls")
    ctx = ssl.create_default_context(cafile=os.path.join(tls, "server-ca.crt"))
    ctx.load_cert_chain(os.path.join(tls, "client-admin.crt"), os.path.join(tls, "client-admin.key"))
    with open(os.path.join(state, "kubeconfig")) as f:
        server = next(line.split("server:", 1)[1].strip() for line in f if "server:" in line)
    port = int(server.rsplit(":", 1)[1].strip("/"))

    def call(method, path, body=None, token=None):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Vault-Token"] = token
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        raw = r.read()
        conn.close()
        return r.status, (json.loads(raw) if raw else None)
    return call


def wait(what, fn, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    sys.exit("recovery_sim: timed out waiting for %s" % what)


def vault_pod(state):
    call = client(state)
    call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "vault"}})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vault-0", "namespace": "vault", "labels": LABELS},
           "spec": {"securityContext": {"runAsNonRoot": True, "runAsUser": 100,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{"name": "vault", "image": "hashicorp/vault:1.17.2",
                                    "ports": [{"containerPort": 8200, "name": "http"}],
                                    "securityContext": {"allowPrivilegeEscalation": False,
                                                        "capabilities": {"drop": ["ALL"]},
                                                        "readOnlyRootFilesystem": True},
                                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                                  "limits": {"cpu": "200m", "memory": "128Mi"}}}]}}
    status, body = call("POST", "/api/v1/namespaces/vault/pods", pod)
    if status not in (201, 409):
        sys.exit("recovery_sim: creating vault-0: HTTP %d %s" % (status, body))
    wait("vault-0 to answer seal-status", lambda: call("GET", PROXY + "sys/seal-status")[0] == 200)


def init(state, shares, threshold, keyfile):
    call = client(state)
    status, body = call("POST", PROXY + "sys/init", {"secret_shares": int(shares), "secret_threshold": int(threshold)})
    if status != 200:
        sys.exit("recovery_sim: sys/init: HTTP %d %s" % (status, body))
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(k + "\n" for k in body["keys_base64"]))
    fd = os.open(keyfile + ".root", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(body["root_token"] + "\n")


def seal_status(state):
    status, body = client(state)("GET", PROXY + "sys/seal-status")
    if status != 200:
        sys.exit("recovery_sim: seal-status: HTTP %d %s" % (status, body))
    print(json.dumps(body))


def agent(askdir):
    files = glob.glob(os.path.join(askdir, "ask.*"))
    if len(files) != 1:
        sys.exit("recovery_sim: want exactly one ask.* file in %s, found %r" % (askdir, os.listdir(askdir)))
    ini = configparser.ConfigParser(interpolation=None)
    ini.optionxform = str
    ini.read(files[0])
    ask = ini["Ask"]
    for key, want in (("AcceptCached", "0"), ("Echo", "0"), ("NotAfter", "0")):
        if ask.get(key) != want:
            sys.exit("recovery_sim: %s=%r, want %r" % (key, ask.get(key), want))
    pid = int(ask["PID"])
    os.kill(pid, 0)
    if not ask.get("Message") or not ask.get("Id"):
        sys.exit("recovery_sim: no Message= or Id=")
    key = sys.stdin.readline().strip()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"+" + key.encode(), ask["Socket"])
    s.close()
    print(ask["Message"])


def must(what, status, body, ok=(200, 201, 204)):
    if status not in ok:
        sys.exit("recovery_sim: %s: HTTP %d %s" % (what, status, body))


def agent_auth(state, keyfile):
    call = client(state)
    for key in open(keyfile).read().split():
        status, body = call("POST", PROXY + "sys/unseal", {"key": key})
        must("sys/unseal", status, body)
        if not body["sealed"]:
            break
    root = open(keyfile + ".root").read().strip()
    must("enable kubernetes auth", *call("POST", PROXY + "sys/auth/kubernetes", {"type": "kubernetes"}, root))
    must("auth config", *call("POST", PROXY + "auth/kubernetes/config",
                              {"kubernetes_host": "https://kubernetes.default.svc"}, root))
    must("role agents", *call("POST", PROXY + "auth/kubernetes/role/agents",
                              {"bound_service_account_names": ["*"], "bound_service_account_namespaces": ["ai-agents"]},
                              root))
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "vault", "namespace": "vault"},
           "spec": {"selector": {"app.kubernetes.io/name": "vault", "component": "server"},
                    "publishNotReadyAddresses": True, "ports": [{"name": "http", "port": 8200, "targetPort": 8200}]}}
    must("Service vault/vault", *call("POST", "/api/v1/namespaces/vault/services", svc), ok=(201, 409))


def agent_pod(state, ns, name, role):
    call = client(state)
    must("namespace " + ns, *call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                                 "metadata": {"name": ns}}), ok=(201, 409))
    spec = {"containers": [{"name": "app", "image": "busybox:1.36"}]}
    if role != "-":
        cfg = {"auto_auth": {"method": {"type": "kubernetes", "mount_path": "auth/kubernetes",
                                        "config": {"role": role}}},
               "exit_after_auth": True, "vault": {"address": "http://vault.vault.svc:8200"}, "template": []}
        spec["initContainers"] = [{"name": "vault-agent-init", "image": "hashicorp/vault:1.17.2",
                                   "env": [{"name": "VAULT_CONFIG",
                                            "value": base64.b64encode(json.dumps(cfg).encode()).decode()}]}]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns,
                                                           "annotations": {"vault.hashicorp.com/agent-inject-status":
                                                                           "injected"}},
           "spec": spec}
    must("pod %s/%s" % (ns, name), *call("POST", "/api/v1/namespaces/%s/pods" % ns, pod), ok=(201,))


def pod_phase(state, ns, name):
    status, body = client(state)("GET", "/api/v1/namespaces/%s/pods/%s" % (ns, name))
    print(((body or {}).get("status") or {}).get("phase", "") if status == 200 else "absent")


def delete_pod(state, ns, name):
    must("delete pod", *client(state)("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ns, name)), ok=(200, 202))


def main(argv):
    verbs = {"vault-pod": (vault_pod, 1), "init": (init, 4), "seal-status": (seal_status, 1), "agent": (agent, 1),
             "agent-auth": (agent_auth, 2), "agent-pod": (agent_pod, 4), "pod-phase": (pod_phase, 3),
             "delete-pod": (delete_pod, 3)}
    if not argv or argv[0] not in verbs or len(argv) - 1 != verbs[argv[0]][1]:
        sys.exit(__doc__)
    verbs[argv[0]][0](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
