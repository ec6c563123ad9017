"""The node agent: schedules and runs pods (status only, no processes), runs a Vault
emulator for every Vault server container, plays injected Vault Agents against those
emulators, and produces container logs.

Pod lifecycle as the real kubelet reports it: Pending (unscheduled) -> scheduled
(PodScheduled) -> sandbox (podIP, PodReadyToStartContainers) -> init containers in order
(`Init:N/M`, app containers waiting PodInitializing) -> containers running -> Ready.
A `vault-agent-init` whose Vault is sealed keeps running (the pod stays `Init:0/1`) unless
agent-auto-auth-exit-on-err is set, in which case it fails and is restarted with back-off."""
import copy
import datetime as dt
import hashlib
import urllib.parse

from . import injector, templates
from .errors import ApiError
from . import vault as vaultmod

P = injector.P
AGENT_INIT, AGENT = "vault-agent-init", "vault-agent"
BACKOFF_START, BACKOFF_MAX = 10, 300


def _parse_ts(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Runtime:
    """Process state of the simulated node (lost on reboot, like real processes)."""

    def __init__(self):
        self.vaults = {}         # pod uid -> vaultmod.Vault
        self.logs = {}           # (pod uid, container) -> [lines]
        self.files = {}          # pod uid -> {file name: rendered text}
        self.agent_state = {}    # (pod uid, container) -> last agent problem (to log once)

    def log(self, uid, container, line):
        self.logs.setdefault((uid, container), []).append(line)

    def forget(self, uid):
        self.vaults.pop(uid, None)
        self.files.pop(uid, None)
        for key in [k for k in self.logs if k[0] == uid]:
            del self.logs[key]
        for key in [k for k in self.agent_state if k[0] == uid]:
            del self.agent_state[key]


def node_name(sim):
    nodes = sim.list("v1", "Node")
    return nodes[0]["metadata"]["name"] if nodes else "k3sim"


def is_vault_container(c):
    return injector.image_repo(c.get("image")) == "hashicorp/vault" and \
        any(p.get("containerPort") == 8200 for p in c.get("ports") or [])


def vault_storage_key(sim, pod):
    """Where POD's Vault keeps its data: the volume bound to its claim.  A claim
    deleted and made again (its namespace deleted and recreated) is bound to a
    new dynamically provisioned volume, so the data starts empty, as on a real
    cluster whose StorageClass reclaims with Delete."""
    ns = pod["metadata"]["namespace"]
    for v in (pod.get("spec") or {}).get("volumes") or []:
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            pvc = sim.get("v1", "PersistentVolumeClaim", ns, claim) or {}
            volume = (pvc.get("spec") or {}).get("volumeName") or (pvc.get("metadata") or {}).get("uid")
            return "pv:%s" % volume if volume else "pvc:%s/%s" % (ns, claim)
    return "pod:" + pod["metadata"]["uid"]


def vault_of(sim, rt, pod):
    """The running Vault emulator of POD, started on demand (sealed, like a fresh process)."""
    uid = pod["metadata"]["uid"]
    v = rt.vaults.get(uid)
    if v is None:
        vc = next((c for c in (pod.get("spec") or {}).get("containers") or [] if is_vault_container(c)), None)
        if vc is None or not _container_running(pod, vc["name"]):
            return None
        stores = sim.world_state.setdefault("vault", {})
        store = stores.setdefault(vault_storage_key(sim, pod), vaultmod.new_storage())
        version = injector.image_tag(vc.get("image")) or vaultmod.DEFAULT_VERSION
        if not version[:1].isdigit():
            version = vaultmod.DEFAULT_VERSION
        v = vaultmod.Vault(store, sim.clock.now, log=lambda line, n=vc["name"]: rt.log(uid, n, line),
                           version=version)
        rt.vaults[uid] = v
    return v


def _container_running(pod, name):
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        if cs.get("name") == name:
            return "running" in (cs.get("state") or {})
    return False


def _cond(status, type_, value, now, reason=None, message=None):
    conds = status.setdefault("conditions", [])
    for c in conds:
        if c["type"] == type_:
            if c["status"] != value or c.get("reason") != reason:
                c["status"] = value
                c["lastTransitionTime"] = now
                c.pop("reason", None)
                c.pop("message", None)
                if reason:
                    c["reason"] = reason
                if message:
                    c["message"] = message
            return
    c = {"type": type_, "status": value, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    conds.append(c)


def _owner_kind(pod):
    for o in pod["metadata"].get("ownerReferences") or []:
        if o.get("controller"):
            return o.get("kind")
    return None


def _env(c):
    return {e["name"]: e.get("value") for e in c.get("env") or [] if "name" in e}


class Kubelet:
    def __init__(self, rt):
        self.rt = rt

    # ------------------------------------------------------------------ tick
    def __call__(self, sim):
        live = set()
        for pod in sim.list("v1", "Pod"):
            live.add(pod["metadata"]["uid"])
            try:
                self.sync(sim, pod)
            except ApiError:
                continue    # e.g. a conflicting write: this pod is synced again next tick
        for uid in list(self.rt.vaults) + [k[0] for k in self.rt.logs]:
            if uid not in live:
                self.rt.forget(uid)

    def sync(self, sim, pod):
        st = pod.get("status") or {}
        if st.get("phase") in ("Succeeded", "Failed"):
            return
        if not (pod.get("spec") or {}).get("nodeName"):
            self.schedule(sim, pod)
            return
        new = copy.deepcopy(pod)
        self.run(sim, new)
        if new.get("status") != pod.get("status"):
            sim.update_status(new)

    def schedule(self, sim, pod):
        ns = pod["metadata"]["namespace"]
        for v in (pod.get("spec") or {}).get("volumes") or []:
            claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim:
                continue
            pvc = sim.get("v1", "PersistentVolumeClaim", ns, claim)
            if pvc is None:
                msg = 'persistentvolumeclaim "%s" not found' % claim
            elif (pvc.get("status") or {}).get("phase") != "Bound":
                msg = ("0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                       "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.")
            else:
                continue
            new = copy.deepcopy(pod)
            _cond(new.setdefault("status", {}), "PodScheduled", "False", sim.now(), "Unschedulable", msg)
            if new["status"] != pod.get("status"):
                sim.update_status(new)
                sim.emit_event(pod, "Warning", "FailedScheduling", msg, "default-scheduler")
            return
        node = node_name(sim)
        bound = copy.deepcopy(pod)
        bound["spec"]["nodeName"] = node
        bound = sim.update(bound)
        _cond(bound.setdefault("status", {}), "PodScheduled", "True", sim.now())
        sim.update_status(bound)
        sim.emit_event(pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s"
                       % (ns, pod["metadata"]["name"], node), "default-scheduler")

    # ------------------------------------------------------------------ running a pod
    def run(self, sim, pod):
        now = sim.now()
        st = pod.setdefault("status", {})
        spec = pod["spec"]
        if not st.get("podIP"):
            ip = _pod_ip(sim, pod["metadata"]["uid"])
            st.update({"hostIP": "10.0.2.15", "hostIPs": [{"ip": "10.0.2.15"}], "podIP": ip,
                       "podIPs": [{"ip": ip}], "startTime": now})
            _cond(st, "PodReadyToStartContainers", "True", now)
            st["initContainerStatuses"] = [self._waiting(c, "PodInitializing" if i else None)
                                           for i, c in enumerate(spec.get("initContainers") or [])]
            st["containerStatuses"] = [self._waiting(c, "PodInitializing") for c in spec.get("containers") or []]
            if not spec.get("initContainers"):
                st["containerStatuses"] = [self._waiting(c, "ContainerCreating") for c in spec["containers"]]
        inits = spec.get("initContainers") or []
        done = self.run_inits(sim, pod, inits)
        if pod["status"].get("phase") == "Failed":
            return
        if done is not True:
            _cond(st, "Initialized", "False", now, "ContainersNotInitialized",
                  "containers with incomplete status: [%s]" % " ".join(c["name"] for c in inits[done:]))
            _cond(st, "Ready", "False", now, "ContainersNotReady",
                  "containers with unready status: [%s]" % " ".join(c["name"] for c in spec["containers"]))
            _cond(st, "ContainersReady", "False", now, "ContainersNotReady",
                  "containers with unready status: [%s]" % " ".join(c["name"] for c in spec["containers"]))
            st["phase"] = "Pending"
            return
        _cond(st, "Initialized", "True", now)
        self.run_containers(sim, pod)

    @staticmethod
    def _waiting(c, reason):
        s = {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False, "restartCount": 0,
             "started": False, "state": {"waiting": {"reason": reason}} if reason else {"waiting": {}}}
        return s

    def _start(self, sim, pod, c, cs):
        now = sim.now()
        cs["state"] = {"running": {"startedAt": now}}
        cs["started"] = True
        cs["imageID"] = "docker.io/%s@sha256:%s" % (injector.image_repo(c.get("image")),
                                                    hashlib.sha256((c.get("image") or "").encode()).hexdigest())
        cs["containerID"] = "containerd://" + hashlib.sha256(("%s/%s/%d" % (pod["metadata"]["uid"], c["name"],
                                                              cs.get("restartCount", 0))).encode()).hexdigest()
        sim.emit_event(pod, "Normal", "Pulled", 'Container image "%s" already present on machine' % c.get("image"),
                       "kubelet")
        sim.emit_event(pod, "Normal", "Created", "Created container: %s" % c["name"], "kubelet")
        sim.emit_event(pod, "Normal", "Started", "Started container %s" % c["name"], "kubelet")

    def _terminate(self, sim, cs, code, reason):
        now = sim.now()
        started = ((cs.get("state") or {}).get("running") or {}).get("startedAt", now)
        cs["state"] = {"terminated": {"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": now,
                                      "containerID": cs.get("containerID", "")}}
        cs["ready"] = False
        cs["started"] = False

    def _backoff(self, sim, pod, c, cs):
        """A failed container under restartPolicy Always/OnFailure: CrashLoopBackOff, then restart."""
        now = sim.clock.now()
        waiting = (cs.get("state") or {}).get("waiting") or {}
        term = (cs.get("state") or {}).get("terminated")
        if term:
            cs["lastState"] = {"terminated": term}
            cs["restartCount"] = cs.get("restartCount", 0) + 1
            delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, cs["restartCount"] - 1))
            cs["state"] = {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": "back-off %ds restarting failed container=%s pod=%s_%s(%s)"
                                       % (delay, c["name"], pod["metadata"]["name"], pod["metadata"]["namespace"],
                                          pod["metadata"]["uid"])}}
            sim.emit_event(pod, "Warning", "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)"
                           % (c["name"], pod["metadata"]["name"], pod["metadata"]["namespace"],
                              pod["metadata"]["uid"]), "kubelet")
            return
        if waiting.get("reason") == "CrashLoopBackOff":
            last = _parse_ts(cs["lastState"]["terminated"]["finishedAt"])
            delay = min(BACKOFF_MAX, BACKOFF_START * 2 ** max(0, cs["restartCount"] - 1))
            if (now - last).total_seconds() >= delay:
                self._start(sim, pod, c, cs)

    # ------------------------------------------------------------------ init containers
    def run_inits(self, sim, pod, inits):
        """Advance init containers; True when all completed, else the index still pending."""
        st = pod["status"]
        statuses = {s["name"]: s for s in st.get("initContainerStatuses") or []}
        for i, c in enumerate(inits):
            cs = statuses.get(c["name"])
            if cs is None:
                cs = self._waiting(c, None)
                st.setdefault("initContainerStatuses", []).append(cs)
            state = cs.get("state") or {}
            if (state.get("terminated") or {}).get("exitCode") == 0:
                continue
            if state.get("waiting") is not None and not state["waiting"].get("reason") in ("CrashLoopBackOff",):
                self._start(sim, pod, c, cs)
                if c["name"] == AGENT_INIT:
                    self.rt.log(pod["metadata"]["uid"], c["name"], "==> Vault Agent started! Log data will stream "
                                "in below:")
                return i
            if state.get("terminated") or (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                if pod["spec"].get("restartPolicy") == "Never" and state.get("terminated"):
                    st["phase"] = "Failed"
                    return i
                self._backoff(sim, pod, c, cs)
                return i
            code = self.init_result(sim, pod, c)
            if code is None:
                return i
            self._terminate(sim, cs, code, "Completed" if code == 0 else "Error")
            if code != 0:
                return i
            cs["ready"] = True
        return True

    def init_result(self, sim, pod, c):
        """None while the init container keeps running, else its exit code."""
        if c["name"] == AGENT_INIT:
            ok, problem = self.agent_fetch(sim, pod, c)
            key = (pod["metadata"]["uid"], c["name"])
            if ok:
                self.rt.log(key[0], c["name"], "[INFO]  agent: (runner) all templates rendered")
                self.rt.log(key[0], c["name"], "[INFO]  agent: exit_after_auth set, stopping")
                return 0
            if self.rt.agent_state.get(key) != problem:
                self.rt.agent_state[key] = problem
                self.rt.log(key[0], c["name"], "[ERROR] agent.auth.handler: error authenticating: error=\"%s\" "
                            "backoff=1s" % problem)
            if injector.agent_config(c) and injector.agent_config(c).get("exit_after_auth_error"):
                return 1
            return None
        if injector.image_repo(c.get("image")) in _fail_images(sim):
            return 1
        return 0

    # ------------------------------------------------------------------ Vault Agent
    def agent_fetch(self, sim, pod, c):
        """Authenticate as the pod's ServiceAccount and render every template.
        -> (True, None) with files stored, or (False, why)."""
        cfg = injector.agent_config(c)
        if cfg is None:
            return False, "no agent configuration"
        addr = (cfg.get("vault") or {}).get("address", "")
        host = urllib.parse.urlsplit(addr).hostname or ""
        parts = host.split(".")
        if len(parts) < 2:
            return False, 'Put "%s/v1/auth/kubernetes/login": dial tcp: lookup %s: no such host' % (addr, host)
        svc_name, svc_ns = parts[0], parts[1]
        ep = sim.get("v1", "Endpoints", svc_ns, svc_name)
        targets = []
        for subset in (ep or {}).get("subsets") or []:
            for a in (subset.get("addresses") or []) + (subset.get("notReadyAddresses") or []):
                ref = a.get("targetRef") or {}
                p = sim.get("v1", "Pod", ref.get("namespace", svc_ns), ref.get("name", ""))
                if p is not None:
                    targets.append(p)
        vaults = [v for v in (vault_of(sim, self.rt, p) for p in targets) if v is not None]
        login = "%s/v1/%s/login" % (addr, (cfg["auto_auth"]["method"].get("mount_path") or "auth/kubernetes"))
        if not vaults:
            return False, 'Put "%s": dial tcp %s:8200: connect: connection refused' % (login, host)
        v = next((x for x in vaults if not x.sealed), None)
        if v is None:
            return False, ('Error making API request.\n\nURL: PUT %s\nCode: 503. Errors:\n\n* Vault is sealed'
                           % login)
        mount = (cfg["auto_auth"]["method"].get("mount_path") or "auth/kubernetes").strip("/")
        mount_key = mount[len("auth/"):] + "/" if mount.startswith("auth/") else mount + "/"
        role_name = cfg["auto_auth"]["method"]["config"].get("role", "")
        role = (v.store.get("auth_roles") or {}).get(mount_key, {}).get(role_name)
        sa = pod["spec"].get("serviceAccountName", "default")
        ns = pod["metadata"]["namespace"]
        if mount_key not in (v.store.get("auth") or {}):
            return False, ("Error making API request.\n\nURL: PUT %s\nCode: 403. Errors:\n\n* permission denied"
                           % login)
        if role is None:
            return False, ('Error making API request.\n\nURL: PUT %s\nCode: 400. Errors:\n\n* invalid role name "%s"'
                           % (login, role_name))
        if not (("*" in role["bound_service_account_names"] or sa in role["bound_service_account_names"]) and
                ("*" in role["bound_service_account_namespaces"] or ns in role["bound_service_account_namespaces"])):
            return False, ("Error making API request.\n\nURL: PUT %s\nCode: 403. Errors:\n\n* service account name "
                           "not authorized" % login)
        policies = set(role.get("token_policies") or []) | {"default"}
        files = {}
        for t in cfg.get("template") or []:
            def read(path, v=v, policies=policies):
                return v.secret_data(path) if v.allowed(policies, path, "read") else None
            try:
                files[t["destination"].rsplit("/", 1)[-1]] = templates.render(t["contents"], read)
            except KeyError as e:
                return False, "(runner) no secret exists at %s or permission denied" % e.args[0]
            except templates.TemplateError as e:
                return False, str(e)
        self.rt.files[pod["metadata"]["uid"]] = files
        return True, None

    # ------------------------------------------------------------------ containers
    def run_containers(self, sim, pod):
        now = sim.now()
        st = pod["status"]
        spec = pod["spec"]
        statuses = {s["name"]: s for s in st.get("containerStatuses") or []}
        job_pod = _owner_kind(pod) == "Job"
        fail = _fail_images(sim)
        job_seconds = float(sim.world_config.get("job_seconds", 5))
        for c in spec["containers"]:
            cs = statuses.get(c["name"])
            if cs is None:
                cs = self._waiting(c, "ContainerCreating")
                st.setdefault("containerStatuses", []).append(cs)
            state = cs.get("state") or {}
            if "waiting" in state and state["waiting"].get("reason") != "CrashLoopBackOff":
                self._start(sim, pod, c, cs)
                self.on_container_start(sim, pod, c)
                state = cs["state"]
            if "running" in state:
                started = _parse_ts(state["running"]["startedAt"])
                age = (sim.clock.now() - started).total_seconds()
                if injector.image_repo(c.get("image")) in fail and age >= 1:
                    self._terminate(sim, cs, 1, "Error")
                elif job_pod and c["name"] != AGENT and age >= job_seconds:
                    self._terminate(sim, cs, 0, "Completed")
                else:
                    cs["ready"] = self.container_ready(sim, pod, c)
            state = cs["state"]
            if "terminated" in state or (state.get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                code = (state.get("terminated") or {}).get("exitCode", 1)
                policy = spec.get("restartPolicy", "Always")
                if policy == "Always" or (policy == "OnFailure" and code != 0):
                    self._backoff(sim, pod, c, cs)
        cstat = [statuses.get(c["name"]) or next(s for s in st["containerStatuses"] if s["name"] == c["name"])
                 for c in spec["containers"]]
        terminated = [s for s in cstat if "terminated" in (s.get("state") or {})]
        if len(terminated) == len(cstat):
            codes = [s["state"]["terminated"]["exitCode"] for s in terminated]
            st["phase"] = "Succeeded" if all(x == 0 for x in codes) else "Failed"
            _cond(st, "Ready", "False", now, "PodCompleted")
            _cond(st, "ContainersReady", "False", now, "PodCompleted")
            _cond(st, "PodReadyToStartContainers", "False", now)
            return
        st["phase"] = "Running"
        unready = [s["name"] for s in cstat if not s.get("ready")]
        if unready:
            msg = "containers with unready status: [%s]" % " ".join(unready)
            _cond(st, "Ready", "False", now, "ContainersNotReady", msg)
            _cond(st, "ContainersReady", "False", now, "ContainersNotReady", msg)
        else:
            _cond(st, "Ready", "True", now)
            _cond(st, "ContainersReady", "True", now)

    def container_ready(self, sim, pod, c):
        if is_vault_container(c):
            return self.vault_probe(sim, pod, c)
        if c["name"] == AGENT:
            return self.agent_fetch(sim, pod, c)[0]
        return True

    def vault_probe(self, sim, pod, c):
        """The Vault container's readiness: what its readinessProbe says of the running
        Vault (asked at every tick; periodSeconds and failureThreshold are not modelled).
        Without a probe the kubelet has nothing to ask: running is Ready, sealed or not.
        httpGet asks the Vault on its port (sys/health answers 503 sealed, 501
        uninitialised unless the query overrides the codes); exec is vault-helm's
        `vault status`, which exits 0 only when initialised and unsealed; tcpSocket
        and grpc only see that Vault listens."""
        probe = c.get("readinessProbe")
        if not isinstance(probe, dict):
            return True
        v = vault_of(sim, self.rt, pod)
        if v is None:
            return False
        if isinstance(probe.get("httpGet"), dict):
            get = probe["httpGet"]
            port = get.get("port")
            named = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
            if named.get(port, port) not in (8200, "8200"):
                return False
            headers = {h.get("name"): h.get("value") for h in get.get("httpHeaders") or []}
            status, _, _ = v.handle("GET", get.get("path") or "/", headers, b"")
            return 200 <= status < 400
        if isinstance(probe.get("exec"), dict):
            return v.initialized and not v.sealed
        return True

    def on_container_start(self, sim, pod, c):
        uid = pod["metadata"]["uid"]
        if is_vault_container(c):
            # a new process: sealed again, prints its banner
            self.rt.vaults.pop(uid, None)
            vault_of(sim, self.rt, pod)
        task = _env(c).get("AGENTD_DEMO_TASK")
        if task:
            files = self.rt.files.get(uid, {})
            for name in sorted(files):
                self.rt.log(uid, c["name"], "agent-task=%s secret-file=%s keys: %s"
                            % (task, name, " ".join(templates.export_keys(files[name]))))
            if injector.image_repo(c.get("image")) not in _fail_images(sim):
                self.rt.log(uid, c["name"], "agent-task=%s result=ok" % task)
            else:
                self.rt.log(uid, c["name"], "agent-task=%s result=error" % task)

    # ------------------------------------------------------------------ restarts and logs
    def restart(self, sim, pod):
        """Every container of POD restarts (node reboot or control API): a Vault process
        comes back sealed and the init containers run again."""
        uid = pod["metadata"]["uid"]
        self.rt.vaults.pop(uid, None)
        self.rt.files.pop(uid, None)
        new = copy.deepcopy(pod)
        st = new.setdefault("status", {})
        if st.get("phase") in ("Succeeded", "Failed") or not new["spec"].get("nodeName"):
            return True
        now = sim.now()
        for group in ("initContainerStatuses", "containerStatuses"):
            for cs in st.get(group) or []:
                state = cs.get("state") or {}
                if "running" in state:
                    cs["lastState"] = {"terminated": {"exitCode": 255, "reason": "Unknown",
                                                      "startedAt": state["running"]["startedAt"], "finishedAt": now}}
                    cs["restartCount"] = cs.get("restartCount", 0) + 1
                elif "terminated" in state:
                    cs["lastState"] = {"terminated": state["terminated"]}
                    cs["restartCount"] = cs.get("restartCount", 0) + 1
                cs["state"] = {"waiting": {"reason": "PodInitializing"}}
                cs["ready"] = False
                cs["started"] = False
        if st.get("initContainerStatuses"):
            st["initContainerStatuses"][0]["state"] = {"waiting": {}}
        for c in new["spec"]["containers"]:
            sim.emit_event(new, "Normal", "Killing", "Stopping container %s" % c["name"], "kubelet")
        st["phase"] = "Pending"
        sim.update_status(new)
        return True

    def log_source(self, sim, pod, container):
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        names = [c["name"] for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
        if container not in names:
            return None
        lines = self.rt.logs.get((uid, container), [])
        return "".join(line + "\n" for line in lines)

    def pod_proxy(self, sim, pod, port, method, path_qs, headers, body):
        if int(port) != 8200:
            return None
        if not any(is_vault_container(c) for c in (pod.get("spec") or {}).get("containers") or []):
            return None
        v = vault_of(sim, self.rt, pod)
        if v is None:
            return None
        return v.handle(method, path_qs, headers, body)


def _fail_images(sim):
    return {injector.image_repo(i) for i in sim.world_config.get("fail_images") or []} | \
        set(sim.world_config.get("fail_images") or [])


def _pod_ip(sim, uid):
    used = {(p.get("status") or {}).get("podIP") for p in sim.list("v1", "Pod")}
    h = int(hashlib.sha256(uid.encode()).hexdigest(), 16)
    for i in range(65000):
        n = (h + i) % 65000 + 2
        ip = "10.42.%d.%d" % (n // 254, n % 254 + 1)
        if ip not in used:
            return ip
    raise RuntimeError("pod network 10.42.0.0/16 exhausted")
