"""Pod Security admission evaluator (baseline and restricted, version-aware).

Follows kubernetes/pod-security-admission policy/: every check has versions,
restricted checks may override baseline ones, results are reported baseline IDs
first then restricted IDs, each group sorted, and the reasons are joined as
`reason (detail), reason (detail)`.  Pure: no I/O.
"""

LEVELS = ("privileged", "baseline", "restricted")
LATEST = (1, 10 ** 6)

ENFORCE, AUDIT, WARN = "enforce", "audit", "warn"
LABEL_PREFIX = "pod-security.kubernetes.io/"


def _join_quote(items):
    return ", ".join('"%s"' % i for i in items)


def _plural(singular, plural, n):
    return singular if n == 1 else plural


def _sc(obj):
    return (obj or {}).get("securityContext") or {}


def _containers(spec):
    """visitContainers: init containers, containers, then ephemeral ones."""
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out.extend(spec.get(key) or [])
    return out


def _is_windows(spec):
    return ((spec.get("os") or {}).get("name")) == "windows"


def _user_ns(spec):
    return spec.get("hostUsers") is False


def _go_quote(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _setters(pod_bad, containers):
    setters = ["pod"] if pod_bad else []
    if containers:
        setters.append("%s %s" % (_plural("container", "containers", len(containers)),
                                  _join_quote(containers)))
    return setters


# --- baseline checks ----------------------------------------------------------

def _privileged(meta, spec):
    bad = [c["name"] for c in _containers(spec) if _sc(c).get("privileged") is True]
    if bad:
        return ("privileged", "%s %s must not set securityContext.privileged=true"
                % (_plural("container", "containers", len(bad)), _join_quote(bad)))
    return None


def _host_namespaces(meta, spec):
    host = [f + "=true" for f in ("hostNetwork", "hostPID", "hostIPC") if spec.get(f) is True]
    return ("host namespaces", ", ".join(host)) if host else None


def _host_path_volumes(meta, spec):
    bad = [v["name"] for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    if bad:
        return ("hostPath volumes", "%s %s" % (_plural("volume", "volumes", len(bad)), _join_quote(bad)))
    return None


def _host_ports(meta, spec):
    bad, ports = [], set()
    for c in _containers(spec):
        hit = False
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                hit = True
                ports.add(str(p["hostPort"]))
        if hit:
            bad.append(c["name"])
    if bad:
        return ("hostPort", "%s %s %s %s %s" % (
            _plural("container", "containers", len(bad)), _join_quote(bad),
            _plural("uses", "use", len(bad)), _plural("hostPort", "hostPorts", len(ports)),
            ", ".join(sorted(ports))))
    return None


def _host_probes(meta, spec):
    bad, hosts = set(), set()

    def handler_hosts(h):
        found = []
        for k in ("httpGet", "tcpSocket"):
            host = ((h or {}).get(k) or {}).get("host")
            if host:
                found.append(host)
        return found

    for c in _containers(spec):
        found = []
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            found += handler_hosts(c.get(probe))
        life = c.get("lifecycle") or {}
        for hook in ("postStart", "preStop"):
            found += handler_hosts(life.get(hook))
        if found:
            bad.add(c["name"])
            hosts.update(found)
    if bad:
        return ("probe or lifecycle host", "%s %s %s %s %s" % (
            _plural("container", "containers", len(bad)), _join_quote(sorted(bad)),
            _plural("uses", "use", len(bad)),
            _plural("probe or lifecycle host", "probe or lifecycle hosts", len(hosts)),
            _join_quote(sorted(hosts))))
    return None


_CAPS_BASELINE = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                  "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def _capabilities_baseline(meta, spec):
    bad, caps = [], set()
    for c in _containers(spec):
        add = [x for x in ((_sc(c).get("capabilities") or {}).get("add") or []) if x not in _CAPS_BASELINE]
        if add:
            bad.append(c["name"])
            caps.update(add)
    if bad:
        return ("non-default capabilities", "%s %s must not include %s in securityContext.capabilities.add"
                % (_plural("container", "containers", len(bad)), _join_quote(bad), _join_quote(sorted(caps))))
    return None


def _apparmor(meta, spec):
    ok_types = ("RuntimeDefault", "Localhost")
    bad_values = set()
    pod_bad = False
    prof = _sc(spec).get("appArmorProfile")
    if prof is not None and prof.get("type") not in ok_types:
        pod_bad = True
        bad_values.add(prof.get("type") or "")
    bad = []
    for c in _containers(spec):
        prof = _sc(c).get("appArmorProfile")
        if prof is not None and prof.get("type") not in ok_types:
            bad.append(c["name"])
            bad_values.add(prof.get("type") or "")
    setters = _setters(pod_bad, bad)
    values = sorted(bad_values)
    annotations = sorted(
        "%s=%s" % (k, _go_quote(v)) for k, v in (meta.get("annotations") or {}).items()
        if k.startswith("container.apparmor.security.beta.kubernetes.io/")
        and not (v == "" or v == "runtime/default" or v.startswith("localhost/")))
    if annotations:
        values += annotations
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if setters:
        return (_plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                "%s must not set AppArmor profile type to %s" % (" and ".join(setters), _join_quote(values)))
    return None


def _selinux(allowed_types):
    def check(meta, spec):
        bad_types, flags = set(), set()

        def valid(opts):
            ok = True
            t = opts.get("type") or ""
            if t not in allowed_types:
                ok = False
                bad_types.add(t)
            if opts.get("user"):
                ok = False
                flags.add("user")
            if opts.get("role"):
                ok = False
                flags.add("role")
            return ok

        pod_opts = _sc(spec).get("seLinuxOptions")
        pod_bad = pod_opts is not None and not valid(pod_opts)
        bad = [c["name"] for c in _containers(spec)
               if _sc(c).get("seLinuxOptions") is not None and not valid(_sc(c)["seLinuxOptions"])]
        setters = _setters(pod_bad, bad)
        if not setters:
            return None
        data = []
        if bad_types:
            data.append("%s %s" % (_plural("type", "types", len(bad_types)), _join_quote(sorted(bad_types))))
        if "user" in flags:
            data.append("user may not be set")
        if "role" in flags:
            data.append("role may not be set")
        return ("seLinuxOptions", "%s set forbidden securityContext.seLinuxOptions: %s"
                % (" and ".join(setters), "; ".join(data)))
    return check


_SECCOMP_POD_ANN = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CTR_ANN = "container.seccomp.security.alpha.kubernetes.io/"


def _seccomp_baseline_1_0(meta, spec):
    ann = meta.get("annotations") or {}

    def ok(v):
        return v in ("runtime/default", "docker/default") or v.startswith("localhost/")
    bad = set()
    if _SECCOMP_POD_ANN in ann and not ok(ann[_SECCOMP_POD_ANN]):
        bad.add("%s=%s" % (_SECCOMP_POD_ANN, _go_quote(ann[_SECCOMP_POD_ANN])))
    for c in _containers(spec):
        key = _SECCOMP_CTR_ANN + c["name"]
        if key in ann and not ok(ann[key]):
            bad.add("%s=%s" % (key, _go_quote(ann[key])))
    if bad:
        return ("seccompProfile", "forbidden %s %s" % (_plural("annotation", "annotations", len(bad)),
                                                       ", ".join(sorted(bad))))
    return None


def _valid_seccomp(t):
    return t in ("RuntimeDefault", "Localhost")


def _seccomp(restricted, skip_windows):
    def check(meta, spec):
        if skip_windows and _is_windows(spec):
            return None
        bad_values = set()
        pod_bad = pod_set = False
        prof = _sc(spec).get("seccompProfile")
        if prof is not None:
            if _valid_seccomp(prof.get("type")):
                pod_set = True
            else:
                pod_bad = True
                bad_values.add(prof.get("type") or "")
        explicit, implicit = [], []
        for c in _containers(spec):
            prof = _sc(c).get("seccompProfile")
            if prof is not None:
                if not _valid_seccomp(prof.get("type")):
                    explicit.append(c["name"])
                    bad_values.add(prof.get("type") or "")
            elif not pod_set:
                implicit.append(c["name"])
        setters = _setters(pod_bad, explicit)
        if setters:
            return ("seccompProfile", "%s must not set securityContext.seccompProfile.type to %s"
                    % (" and ".join(setters), _join_quote(sorted(bad_values))))
        if restricted and implicit:
            return ("seccompProfile", 'pod or %s %s must set securityContext.seccompProfile.type to '
                    '"RuntimeDefault" or "Localhost"'
                    % (_plural("container", "containers", len(implicit)), _join_quote(implicit)))
        return None
    return check


_SYSCTLS = [
    ((1, 0), ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
              "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"]),
    ((1, 27), ["net.ipv4.ip_local_reserved_ports"]),
    ((1, 29), ["net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
               "net.ipv4.tcp_keepalive_probes"]),
    ((1, 32), ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]),
    ((1, 37), ["net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"]),
]


def _sysctls(version):
    allowed = set()
    for since, names in _SYSCTLS:
        if version >= since:
            allowed.update(names)

    def check(meta, spec):
        bad = [s.get("name", "") for s in _sc(spec).get("sysctls") or [] if s.get("name") not in allowed]
        return ("forbidden sysctls", ", ".join(bad)) if bad else None
    return check


def _proc_mount(relax_user_ns):
    def check(meta, spec):
        if relax_user_ns and _user_ns(spec):
            return None
        bad, kinds = [], set()
        for c in _containers(spec):
            pm = _sc(c).get("procMount")
            if pm is not None and pm != "Default":
                bad.append(c["name"])
                kinds.add(pm)
        if bad:
            return ("procMount", "%s %s must not set securityContext.procMount to %s"
                    % (_plural("container", "containers", len(bad)), _join_quote(bad), _join_quote(sorted(kinds))))
        return None
    return check


def _windows_host_process(meta, spec):
    pod_bad = ((_sc(spec).get("windowsOptions") or {}).get("hostProcess")) is True
    bad = [c["name"] for c in _containers(spec)
           if ((_sc(c).get("windowsOptions") or {}).get("hostProcess")) is True]
    setters = _setters(pod_bad, bad)
    if setters:
        return ("hostProcess", "%s must not set securityContext.windowsOptions.hostProcess=true"
                % " and ".join(setters))
    return None


# --- restricted checks --------------------------------------------------------

def _allow_privilege_escalation(skip_windows):
    def check(meta, spec):
        if skip_windows and _is_windows(spec):
            return None
        bad = [c["name"] for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
        if bad:
            return ("allowPrivilegeEscalation != false",
                    "%s %s must set securityContext.allowPrivilegeEscalation=false"
                    % (_plural("container", "containers", len(bad)), _join_quote(bad)))
        return None
    return check


def _capabilities_restricted(skip_windows):
    def check(meta, spec):
        if skip_windows and _is_windows(spec):
            return None
        missing, adding, caps = [], [], set()
        for c in _containers(spec):
            cap = _sc(c).get("capabilities")
            if cap is None:
                missing.append(c["name"])
                continue
            if "ALL" not in (cap.get("drop") or []):
                missing.append(c["name"])
            extra = [x for x in cap.get("add") or [] if x != "NET_BIND_SERVICE"]
            if extra:
                adding.append(c["name"])
                caps.update(extra)
        details = []
        if missing:
            details.append('%s %s must set securityContext.capabilities.drop=["ALL"]'
                           % (_plural("container", "containers", len(missing)), _join_quote(missing)))
        if adding:
            details.append("%s %s must not include %s in securityContext.capabilities.add"
                           % (_plural("container", "containers", len(adding)), _join_quote(adding),
                              _join_quote(sorted(caps))))
        return ("unrestricted capabilities", "; ".join(details)) if details else None
    return check


_ALLOWED_VOLUME_SOURCES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                           "persistentVolumeClaim", "projected", "secret"}
_RESTRICTED_VOLUME_ORDER = ["hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
                            "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
                            "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
                            "scaleIO", "storageos"]


def _restricted_volumes(meta, spec):
    bad, types = [], set()
    for v in spec.get("volumes") or []:
        sources = {k for k, val in v.items() if k != "name" and val is not None}
        # A volume without any source is an implicit emptyDir.
        if not sources or sources & _ALLOWED_VOLUME_SOURCES:
            continue
        bad.append(v["name"])
        types.add(next((t for t in _RESTRICTED_VOLUME_ORDER if t in sources), "unknown"))
    if bad:
        return ("restricted volume types", "%s %s %s %s %s" % (
            _plural("volume", "volumes", len(bad)), _join_quote(bad), _plural("uses", "use", len(bad)),
            _plural("restricted volume type", "restricted volume types", len(types)), _join_quote(sorted(types))))
    return None


def _run_as_non_root(relax_user_ns):
    def check(meta, spec):
        if relax_user_ns and _user_ns(spec):
            return None
        pod_val = _sc(spec).get("runAsNonRoot")
        pod_bad = pod_val is False
        pod_ok = pod_val is True
        explicit, implicit = [], []
        for c in _containers(spec):
            v = _sc(c).get("runAsNonRoot")
            if v is False:
                explicit.append(c["name"])
            elif v is None and not pod_ok:
                implicit.append(c["name"])
        setters = _setters(pod_bad, explicit)
        if setters:
            return ("runAsNonRoot != true", "%s must not set securityContext.runAsNonRoot=false" % " and ".join(setters))
        if implicit:
            return ("runAsNonRoot != true", "pod or %s %s must set securityContext.runAsNonRoot=true"
                    % (_plural("container", "containers", len(implicit)), _join_quote(implicit)))
        return None
    return check


def _is_zero(v):
    return isinstance(v, int) and not isinstance(v, bool) and v == 0


def _run_as_user(relax_user_ns):
    def check(meta, spec):
        if relax_user_ns and _user_ns(spec):
            return None
        pod_bad = _is_zero(_sc(spec).get("runAsUser"))
        bad = [c["name"] for c in _containers(spec) if _is_zero(_sc(c).get("runAsUser"))]
        setters = _setters(pod_bad, bad)
        if setters:
            return ("runAsUser=0", "%s must not set runAsUser=0" % " and ".join(setters))
        return None
    return check


_SELINUX_1_0 = ("", "container_t", "container_init_t", "container_kvm_t")

# (id, level, [(min_version, fn, overridden_baseline_ids)])
_CHECKS = [
    ("allowPrivilegeEscalation", "restricted", [((1, 8), _allow_privilege_escalation(False), ()),
                                                 ((1, 25), _allow_privilege_escalation(True), ())]),
    ("appArmorProfile", "baseline", [((1, 0), _apparmor, ())]),
    ("capabilities_baseline", "baseline", [((1, 0), _capabilities_baseline, ())]),
    ("capabilities_restricted", "restricted", [((1, 22), _capabilities_restricted(False), ("capabilities_baseline",)),
                                               ((1, 25), _capabilities_restricted(True), ("capabilities_baseline",))]),
    ("hostNamespaces", "baseline", [((1, 0), _host_namespaces, ())]),
    ("hostPathVolumes", "baseline", [((1, 0), _host_path_volumes, ())]),
    ("hostPorts", "baseline", [((1, 0), _host_ports, ())]),
    ("hostProbesAndHostLifecycle", "baseline", [((1, 34), _host_probes, ())]),
    ("privileged", "baseline", [((1, 0), _privileged, ())]),
    ("procMount", "baseline", [((1, 0), _proc_mount(False), ()), ((1, 35), _proc_mount(True), ())]),
    ("procMount_restricted", "restricted", [((1, 35), _proc_mount(False), ("procMount",))]),
    ("restrictedVolumes", "restricted", [((1, 0), _restricted_volumes, ("hostPathVolumes",))]),
    ("runAsNonRoot", "restricted", [((1, 0), _run_as_non_root(False), ()), ((1, 35), _run_as_non_root(True), ())]),
    ("runAsUser", "restricted", [((1, 23), _run_as_user(False), ()), ((1, 35), _run_as_user(True), ())]),
    ("seLinuxOptions", "baseline", [((1, 0), _selinux(_SELINUX_1_0), ()),
                                    ((1, 31), _selinux(_SELINUX_1_0 + ("container_engine_t",)), ())]),
    ("seccompProfile_baseline", "baseline", [((1, 0), _seccomp_baseline_1_0, ()),
                                             ((1, 19), _seccomp(False, False), ())]),
    ("seccompProfile_restricted", "restricted", [((1, 19), _seccomp(True, False), ("seccompProfile_baseline",)),
                                                 ((1, 25), _seccomp(True, True), ("seccompProfile_baseline",))]),
    ("sysctls", "baseline", [(since, _sysctls(since), ()) for since, _ in _SYSCTLS]),
    ("windowsHostProcess", "baseline", [((1, 0), _windows_host_process, ())]),
]

MAX_VERSION = (1, 37)


def parse_version(text):
    """'latest' or 'v1.N' -> (major, minor); raises ValueError otherwise."""
    if text == "latest":
        return LATEST
    if text.startswith("v1.") and text[3:].isdigit() and (text[3:] == "0" or not text[3:].startswith("0")):
        return (1, int(text[3:]))
    raise ValueError("invalid version %r: must be 'latest' or 'v1.<minor>'" % text)


def _select(check_versions, version):
    chosen = None
    for since, fn, overrides in check_versions:
        if version >= since:
            chosen = (since, fn, overrides)
    return chosen


def check_ids(level, version):
    """The check IDs that apply at level/version, in reporting order."""
    version = min(version, MAX_VERSION)
    if level == "privileged":
        return []
    baseline, restricted, overridden = [], [], set()
    for cid, clevel, versions in _CHECKS:
        chosen = _select(versions, version)
        if chosen is None:
            continue
        if clevel == "restricted":
            if level == "restricted":
                restricted.append(cid)
                overridden.update(chosen[2])
        else:
            baseline.append(cid)
    baseline = sorted(c for c in baseline if c not in overridden)
    return baseline + sorted(restricted)


def reported_as(check_id, level, version):
    """The check that reports check_id's violations at level/version: a restricted check
    that overrides it (seccompProfile_baseline -> seccompProfile_restricted, ...) or itself."""
    if level == "restricted":
        eff = min(version, MAX_VERSION)
        for cid, clevel, versions in _CHECKS:
            chosen = _select(versions, eff)
            if clevel == "restricted" and chosen and check_id in chosen[2]:
                return cid
    return check_id


def evaluate(level, version, pod):
    """Evaluate a Pod (or a pod template: metadata+spec) at level/version.

    Returns the list of (check_id, reason, detail) violations, in upstream order.
    `version` is a tuple from parse_version()."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    eff = min(version, MAX_VERSION)
    table = {cid: versions for cid, _, versions in _CHECKS}
    out = []
    for cid in check_ids(level, version):
        _, fn, _ = _select(table[cid], eff)
        res = fn(meta, spec)
        if res is not None:
            out.append((cid, res[0] or "unknown forbidden reason", res[1]))
    return out


def format_violations(violations):
    parts = []
    for _, reason, detail in violations:
        parts.append("%s (%s)" % (reason, detail) if detail else reason)
    return ", ".join(parts)


def policy_from_labels(labels):
    """Namespace labels -> {mode: (level, version_text, version_tuple)} for enforce/audit/warn.

    Unset modes are privileged:latest.  An invalid level is treated as restricted and an
    invalid version as latest, as the admission plugin does (fail closed)."""
    labels = labels or {}
    policy = {}
    for mode in (ENFORCE, AUDIT, WARN):
        level = labels.get(LABEL_PREFIX + mode, "privileged")
        if level not in LEVELS:
            level = "restricted"
        vtext = labels.get(LABEL_PREFIX + mode + "-version", "latest")
        try:
            vt = parse_version(vtext)
        except ValueError:
            vtext, vt = "latest", LATEST
        policy[mode] = (level, vtext, vt)
    return policy


def message(level, vtext, violations, would=False):
    prefix = "would violate" if would else "violates"
    return '%s PodSecurity "%s:%s": %s' % (prefix, level, vtext, format_violations(violations))
