/* pss — Pod Security Standards checks, following kubernetes/pod-security-admission
 * policy/check_*.go (IDs, versions, reasons and detail wording). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpath.h"
#include "pss.h"
#include "strbuf.h"

/* ---- small helpers ---- */

struct names {
	const char **v;
	size_t n, cap;
	bool oom;
};

/* Add S; with UNIQUE, skip it when already present (upstream sets). */
static void
names_add(struct names *l, const char *s, bool unique)
{
	size_t i;

	if (unique)
		for (i = 0; i < l->n; i++)
			if (strcmp(l->v[i], s) == 0)
				return;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 8;
		const char **p = realloc(l->v, ncap * sizeof(*p));

		if (!p) {
			l->oom = true;
			return;
		}
		l->v = p;
		l->cap = ncap;
	}
	l->v[l->n++] = s;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
names_sort(struct names *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
}

/* `"a", "b"` */
static void
sb_join_quote(struct strbuf *b, const struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		strbuf_printf(b, "%s\"%s\"", i ? ", " : "", l->v[i]);
}

static const char *
plural(const char *one, const char *many, size_t n)
{
	return n == 1 ? one : many;
}

/* Who set a forbidden value: "pod", "container \"a\"",
 * "pod and containers \"a\", \"b\"". */
static void
sb_setters(struct strbuf *d, bool pod, const struct names *c)
{
	if (pod)
		strbuf_printf(d, "pod%s", c->n ? " and " : "");
	if (c->n) {
		strbuf_printf(d, "%s ", plural("container", "containers", c->n));
		sb_join_quote(d, c);
	}
}

static const cJSON *
get_obj(const cJSON *o, const char *k)
{
	const cJSON *v = jpath_get(o, k);

	return cJSON_IsObject(v) ? v : NULL;
}

/* 1 true, 0 false, -1 unset or not a boolean */
static int
get_bool(const cJSON *o, const char *k)
{
	const cJSON *v = jpath_get(o, k);

	if (cJSON_IsTrue(v))
		return 1;
	if (cJSON_IsFalse(v))
		return 0;
	return -1;
}

static const char *
cname(const cJSON *c)
{
	const char *n = jpath_str(c, "name");

	return n ? n : "";
}

/* ---- evaluation context ---- */

struct ev {
	const cJSON *meta, *spec;
	unsigned minor;
	struct pss_result *res;
	bool oom;
};

typedef void (*container_fn)(struct ev *e, const cJSON *c, void *arg);

static void
visit_containers(struct ev *e, container_fn fn, void *arg)
{
	static const char *const lists[] = { "initContainers", "containers", "ephemeralContainers" };
	const cJSON *c;
	size_t i;

	for (i = 0; i < 3; i++) {
		const cJSON *arr = jpath_get(e->spec, lists[i]);

		if (!cJSON_IsArray(arr))
			continue;
		cJSON_ArrayForEach(c, arr)
			if (cJSON_IsObject(c))
				fn(e, c, arg);
	}
}

static const cJSON *
sc_of(const cJSON *c)
{
	return get_obj(c, "securityContext");
}

static const cJSON *
pod_sc(const struct ev *e)
{
	return get_obj(e->spec, "securityContext");
}

static void
violation(struct ev *e, const char *check, const char *reason, struct strbuf *detail)
{
	struct pss_violation *v;
	struct pss_result *r = e->res;

	if (detail->oom) {
		e->oom = true;
		return;
	}
	v = realloc(r->v, (r->n + 1) * sizeof(*v));
	if (!v) {
		e->oom = true;
		return;
	}
	r->v = v;
	v = &r->v[r->n];
	v->check = check;
	v->reason = strdup(reason);
	v->detail = detail->s ? detail->s : strdup("");
	detail->s = NULL;
	if (!v->reason || !v->detail) {
		free(v->reason);
		free(v->detail);
		e->oom = true;
		return;
	}
	r->n++;
}

static void
track_oom(struct ev *e, const struct names *l)
{
	if (l->oom)
		e->oom = true;
}

/* A check whose one finding is "<setters> SUFFIX": POD says the pod-level
 * field is bad, FN collects the containers. */
static void
check_setters(struct ev *e, bool pod, container_fn fn, const char *check, const char *reason,
	      const char *suffix)
{
	struct names bad = { 0 };
	struct strbuf d = { 0 };

	visit_containers(e, fn, &bad);
	track_oom(e, &bad);
	if (pod || bad.n) {
		sb_setters(&d, pod, &bad);
		strbuf_printf(&d, " %s", suffix);
		violation(e, check, reason, &d);
	}
	free(d.s);
	free(bad.v);
}

/* KEP-127: user-namespaced pods relax runAsNonRoot/runAsUser (and baseline procMount). */
static bool
user_namespaced(const struct ev *e)
{
	return get_bool(e->spec, "hostUsers") == 0;
}

static bool
is_windows(const struct ev *e)
{
	const char *os = jpath_str(get_obj(e->spec, "os"), "name");

	return os && strcmp(os, "windows") == 0;
}

/* ---- baseline checks ---- */

static void
c_privileged(struct ev *e, const cJSON *c, void *arg)
{
	(void)e;
	if (get_bool(sc_of(c), "privileged") == 1)
		names_add(arg, cname(c), false);
}

static void
check_privileged(struct ev *e)
{
	check_setters(e, false, c_privileged, "privileged", "privileged",
		      "must not set securityContext.privileged=true");
}

static void
check_host_namespaces(struct ev *e)
{
	struct strbuf d = { 0 };
	const char *sep = "";

	if (get_bool(e->spec, "hostNetwork") == 1) {
		strbuf_printf(&d, "%shostNetwork=true", sep);
		sep = ", ";
	}
	if (get_bool(e->spec, "hostPID") == 1) {
		strbuf_printf(&d, "%shostPID=true", sep);
		sep = ", ";
	}
	if (get_bool(e->spec, "hostIPC") == 1)
		strbuf_printf(&d, "%shostIPC=true", sep);
	if (d.len || d.oom)
		violation(e, "hostNamespaces", "host namespaces", &d);
	free(d.s);
}

static void
check_host_path_volumes(struct ev *e)
{
	struct names bad = { 0 };
	struct strbuf d = { 0 };
	const cJSON *vol, *vols = jpath_get(e->spec, "volumes");

	if (cJSON_IsArray(vols))
		cJSON_ArrayForEach(vol, vols)
			if (jpath_get(vol, "hostPath") && !cJSON_IsNull(jpath_get(vol, "hostPath")))
				names_add(&bad, cname(vol), false);
	track_oom(e, &bad);
	if (bad.n) {
		strbuf_printf(&d, "%s ", plural("volume", "volumes", bad.n));
		sb_join_quote(&d, &bad);
		violation(e, "hostPathVolumes", "hostPath volumes", &d);
	}
	free(d.s);
	free(bad.v);
}

struct hostports {
	struct names containers;
	struct names ports;	/* owned strings */
};

static void
c_hostports(struct ev *e, const cJSON *c, void *arg)
{
	struct hostports *h = arg;
	const cJSON *p, *ports = jpath_get(c, "ports");
	bool bad = false;
	char buf[32];

	(void)e;
	if (!cJSON_IsArray(ports))
		return;
	cJSON_ArrayForEach(p, ports) {
		const cJSON *hp = jpath_get(p, "hostPort");
		char *s;

		if (!cJSON_IsNumber(hp) || hp->valuedouble == 0)
			continue;
		bad = true;
		snprintf(buf, sizeof(buf), "%.0f", hp->valuedouble);
		s = strdup(buf);
		if (!s) {
			h->ports.oom = true;
			continue;
		}
		names_add(&h->ports, s, false);
	}
	if (bad)
		names_add(&h->containers, cname(c), false);
}

static void
check_host_ports(struct ev *e)
{
	struct hostports h = { { 0 }, { 0 } };
	struct strbuf d = { 0 };
	size_t i;

	visit_containers(e, c_hostports, &h);
	track_oom(e, &h.containers);
	track_oom(e, &h.ports);
	if (h.containers.n) {
		sb_setters(&d, false, &h.containers);
		strbuf_printf(&d, " %s %s ", plural("uses", "use", h.containers.n),
			  plural("hostPort", "hostPorts", h.ports.n));
		for (i = 0; i < h.ports.n; i++)
			strbuf_printf(&d, "%s%s", i ? ", " : "", h.ports.v[i]);
		violation(e, "hostPorts", "hostPort", &d);
	}
	for (i = 0; i < h.ports.n; i++)
		free((char *)(uintptr_t)h.ports.v[i]);
	free(h.ports.v);
	free(h.containers.v);
	free(d.s);
}

static const char *const baseline_caps[] = {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT", NULL,
};

static bool
in_list(const char *s, const char *const *l)
{
	for (; *l; l++)
		if (strcmp(s, *l) == 0)
			return true;
	return false;
}

struct capcheck {
	struct names bad_containers, bad_caps, missing_drop;
	const char *const *allowed;
	bool need_drop_all;
};

static void
c_caps(struct ev *e, const cJSON *c, void *arg)
{
	struct capcheck *k = arg;
	const cJSON *caps = get_obj(sc_of(c), "capabilities"), *x;
	const cJSON *add = jpath_get(caps, "add"), *drop = jpath_get(caps, "drop");
	bool bad = false, dropped_all = false;

	(void)e;
	if (cJSON_IsArray(add))
		cJSON_ArrayForEach(x, add) {
			if (!cJSON_IsString(x) || in_list(x->valuestring, k->allowed))
				continue;
			bad = true;
			names_add(&k->bad_caps, x->valuestring, true);
		}
	if (bad)
		names_add(&k->bad_containers, cname(c), false);
	if (!k->need_drop_all)
		return;
	if (cJSON_IsArray(drop))
		cJSON_ArrayForEach(x, drop)
			if (cJSON_IsString(x) && strcmp(x->valuestring, "ALL") == 0)
				dropped_all = true;
	if (!dropped_all)
		names_add(&k->missing_drop, cname(c), false);
}

static void
check_capabilities(struct ev *e, bool restricted)
{
	static const char *const restricted_caps[] = { "NET_BIND_SERVICE", NULL };
	struct capcheck k = { { 0 }, { 0 }, { 0 }, restricted ? restricted_caps : baseline_caps, restricted };
	struct strbuf d = { 0 };

	visit_containers(e, c_caps, &k);
	track_oom(e, &k.bad_containers);
	track_oom(e, &k.bad_caps);
	track_oom(e, &k.missing_drop);
	names_sort(&k.bad_caps);
	if (k.missing_drop.n) {
		sb_setters(&d, false, &k.missing_drop);
		strbuf_printf(&d, " must set securityContext.capabilities.drop=[\"ALL\"]");
	}
	if (k.bad_containers.n) {
		if (d.len)
			strbuf_printf(&d, "; ");
		sb_setters(&d, false, &k.bad_containers);
		strbuf_printf(&d, " must not include ");
		sb_join_quote(&d, &k.bad_caps);
		strbuf_printf(&d, " in securityContext.capabilities.add");
	}
	if (d.len || d.oom)
		violation(e, restricted ? "capabilities_restricted" : "capabilities_baseline",
			  restricted ? "unrestricted capabilities" : "non-default capabilities", &d);
	free(d.s);
	free(k.bad_containers.v);
	free(k.bad_caps.v);
	free(k.missing_drop.v);
}

/* appArmorProfile: beta annotations and (since the field went GA) the
 * securityContext.appArmorProfile.type fields. */
struct apparmor {
	struct strbuf d;
	size_t n;
};

static bool
apparmor_type_ok(const cJSON *profile)
{
	const char *t = jpath_str(profile, "type");

	return !profile || (t && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0));
}

static void
c_apparmor(struct ev *e, const cJSON *c, void *arg)
{
	struct apparmor *a = arg;
	const cJSON *p = get_obj(sc_of(c), "appArmorProfile");
	const char *t;

	(void)e;
	if (apparmor_type_ok(p))
		return;
	t = jpath_str(p, "type");
	strbuf_printf(&a->d, "%scontainer \"%s\"=\"%s\"", a->n++ ? ", " : "", cname(c), t ? t : "");
}

static void
check_apparmor(struct ev *e)
{
	static const char prefix[] = "container.apparmor.security.beta.kubernetes.io/";
	struct apparmor a = { { 0 }, 0 };
	const cJSON *p = get_obj(pod_sc(e), "appArmorProfile"), *an;
	struct names bad = { 0 };
	size_t i;

	if (!apparmor_type_ok(p)) {
		const char *t = jpath_str(p, "type");

		strbuf_printf(&a.d, "pod \"%s\"", t ? t : "");
		a.n++;
	}
	visit_containers(e, c_apparmor, &a);
	cJSON_ArrayForEach(an, get_obj(e->meta, "annotations")) {
		const char *v = cJSON_IsString(an) ? an->valuestring : "";

		if (strncmp(an->string, prefix, sizeof(prefix) - 1) != 0)
			continue;
		if (!*v || strcmp(v, "runtime/default") == 0 || strncmp(v, "localhost/", 10) == 0)
			continue;
		names_add(&bad, an->string, false);
	}
	track_oom(e, &bad);
	names_sort(&bad);
	for (i = 0; i < bad.n; i++) {
		const cJSON *v = jpath_get(get_obj(e->meta, "annotations"), bad.v[i]);

		strbuf_printf(&a.d, "%s%s=\"%s\"", a.n++ ? ", " : "", bad.v[i],
			  cJSON_IsString(v) ? v->valuestring : "");
	}
	if (a.n)
		violation(e, "appArmorProfile",
			  plural("forbidden AppArmor profile", "forbidden AppArmor profiles", a.n), &a.d);
	free(a.d.s);
	free(bad.v);
}

struct selinux {
	struct names containers;
	struct names types, users, roles;
	bool pod_bad;
	bool engine_ok;
};

static bool
selinux_check(struct selinux *s, const cJSON *opts)
{
	const char *t = jpath_str(opts, "type"), *u = jpath_str(opts, "user"), *r = jpath_str(opts, "role");
	bool bad = false;

	if (!opts)
		return false;
	if (t && *t && strcmp(t, "container_t") && strcmp(t, "container_init_t") &&
	    strcmp(t, "container_kvm_t") && !(s->engine_ok && strcmp(t, "container_engine_t") == 0)) {
		names_add(&s->types, t, true);
		bad = true;
	}
	if (u && *u) {
		names_add(&s->users, u, true);
		bad = true;
	}
	if (r && *r) {
		names_add(&s->roles, r, true);
		bad = true;
	}
	return bad;
}

static void
c_selinux(struct ev *e, const cJSON *c, void *arg)
{
	struct selinux *s = arg;

	(void)e;
	if (selinux_check(s, get_obj(sc_of(c), "seLinuxOptions")))
		names_add(&s->containers, cname(c), false);
}

static void
sb_quoted_list(struct strbuf *d, const char *label, struct names *l, const char **sep)
{
	if (!l->n)
		return;
	names_sort(l);
	strbuf_printf(d, "%s%s ", *sep, plural(label, label, l->n));
	sb_join_quote(d, l);
	*sep = "; ";
}

static void
check_selinux(struct ev *e)
{
	struct selinux s;
	struct strbuf d = { 0 };
	const char *sep = "";

	memset(&s, 0, sizeof(s));
	s.engine_ok = e->minor >= 31;
	s.pod_bad = selinux_check(&s, get_obj(pod_sc(e), "seLinuxOptions"));
	visit_containers(e, c_selinux, &s);
	track_oom(e, &s.containers);
	track_oom(e, &s.types);
	track_oom(e, &s.users);
	track_oom(e, &s.roles);
	if (s.pod_bad || s.containers.n) {
		sb_setters(&d, s.pod_bad, &s.containers);
		strbuf_printf(&d, " set forbidden securityContext.seLinuxOptions: ");
		sb_quoted_list(&d, s.types.n == 1 ? "type" : "types", &s.types, &sep);
		sb_quoted_list(&d, s.users.n == 1 ? "user" : "users", &s.users, &sep);
		sb_quoted_list(&d, s.roles.n == 1 ? "role" : "roles", &s.roles, &sep);
		violation(e, "seLinuxOptions", "seLinuxOptions", &d);
	}
	free(d.s);
	free(s.containers.v);
	free(s.types.v);
	free(s.users.v);
	free(s.roles.v);
}

struct procmount {
	struct names containers, values;
};

static void
c_procmount(struct ev *e, const cJSON *c, void *arg)
{
	struct procmount *p = arg;
	const char *pm = jpath_str(sc_of(c), "procMount");

	(void)e;
	if (pm && *pm && strcmp(pm, "Default") != 0) {
		names_add(&p->containers, cname(c), false);
		names_add(&p->values, pm, true);
	}
}

/* Baseline procMount; from 1.35 (baseline only) a user-namespaced pod may unmask. */
static void
check_procmount(struct ev *e, bool restricted)
{
	struct procmount p;
	struct strbuf d = { 0 };

	if (!restricted && e->minor >= 35 && user_namespaced(e))
		return;
	memset(&p, 0, sizeof(p));
	visit_containers(e, c_procmount, &p);
	track_oom(e, &p.containers);
	track_oom(e, &p.values);
	if (p.containers.n) {
		names_sort(&p.values);
		sb_setters(&d, false, &p.containers);
		strbuf_printf(&d, " must not set securityContext.procMount to ");
		sb_join_quote(&d, &p.values);
		violation(e, restricted ? "procMount_restricted" : "procMount", "procMount", &d);
	}
	free(d.s);
	free(p.containers.v);
	free(p.values.v);
}

static void
check_seccomp_baseline_annotations(struct ev *e)
{
	static const char podkey[] = "seccomp.security.alpha.kubernetes.io/pod";
	static const char cprefix[] = "container.seccomp.security.alpha.kubernetes.io/";
	const cJSON *ann = get_obj(e->meta, "annotations"), *a;
	struct names bad = { 0 };
	struct strbuf d = { 0 };
	size_t i;

	cJSON_ArrayForEach(a, ann) {
		const char *v = cJSON_IsString(a) ? a->valuestring : "";

		if (strcmp(a->string, podkey) != 0 && strncmp(a->string, cprefix, sizeof(cprefix) - 1) != 0)
			continue;
		if (strcmp(v, "runtime/default") == 0 || strcmp(v, "docker/default") == 0 ||
		    strncmp(v, "localhost/", 10) == 0)
			continue;
		names_add(&bad, a->string, true);
	}
	track_oom(e, &bad);
	names_sort(&bad);
	if (bad.n) {
		strbuf_printf(&d, "forbidden %s ", plural("annotation", "annotations", bad.n));
		for (i = 0; i < bad.n; i++) {
			const cJSON *v = jpath_get(ann, bad.v[i]);

			strbuf_printf(&d, "%s%s=\"%s\"", i ? ", " : "", bad.v[i],
				  cJSON_IsString(v) ? v->valuestring : "");
		}
		violation(e, "seccompProfile_baseline", "seccompProfile", &d);
	}
	free(d.s);
	free(bad.v);
}

struct seccomp {
	struct names explicit_bad, implicit_bad, values;
	bool pod_set;
};

static bool
seccomp_ok(const cJSON *profile)
{
	const char *t = jpath_str(profile, "type");

	return t && (strcmp(t, "RuntimeDefault") == 0 || strcmp(t, "Localhost") == 0);
}

static void
c_seccomp(struct ev *e, const cJSON *c, void *arg)
{
	struct seccomp *s = arg;
	const cJSON *p = get_obj(sc_of(c), "seccompProfile");
	const char *t;

	(void)e;
	if (p) {
		if (!seccomp_ok(p)) {
			t = jpath_str(p, "type");
			names_add(&s->explicit_bad, cname(c), false);
			names_add(&s->values, t ? t : "", true);
		}
	} else if (!s->pod_set) {
		names_add(&s->implicit_bad, cname(c), false);
	}
}

/* seccompProfile_baseline (1.19+) and seccompProfile_restricted share the walk:
 * baseline forbids bad explicit values, restricted also requires one. */
static void
check_seccomp_fields(struct ev *e, bool restricted)
{
	struct seccomp s;
	const cJSON *p = get_obj(pod_sc(e), "seccompProfile");
	struct strbuf d = { 0 };
	bool pod_bad = false;
	const char *id = restricted ? "seccompProfile_restricted" : "seccompProfile_baseline";

	memset(&s, 0, sizeof(s));
	if (p) {
		if (!seccomp_ok(p)) {
			const char *t = jpath_str(p, "type");

			pod_bad = true;
			names_add(&s.values, t ? t : "", true);
		} else {
			s.pod_set = true;
		}
	}
	visit_containers(e, c_seccomp, &s);
	track_oom(e, &s.explicit_bad);
	track_oom(e, &s.implicit_bad);
	track_oom(e, &s.values);
	names_sort(&s.values);
	if (pod_bad || s.explicit_bad.n) {
		sb_setters(&d, pod_bad, &s.explicit_bad);
		strbuf_printf(&d, " must not set securityContext.seccompProfile.type to ");
		sb_join_quote(&d, &s.values);
		violation(e, id, "seccompProfile", &d);
	} else if (restricted && s.implicit_bad.n) {
		strbuf_printf(&d, "pod or %s ", plural("container", "containers", s.implicit_bad.n));
		sb_join_quote(&d, &s.implicit_bad);
		strbuf_printf(&d, " must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"");
		violation(e, id, "seccompProfile", &d);
	}
	free(d.s);
	free(s.explicit_bad.v);
	free(s.implicit_bad.v);
	free(s.values.v);
}

static const struct {
	const char *name;
	unsigned since;
} safe_sysctls[] = {
	{ "kernel.shm_rmid_forced", 0 },
	{ "net.ipv4.ip_local_port_range", 0 },
	{ "net.ipv4.tcp_syncookies", 0 },
	{ "net.ipv4.ping_group_range", 0 },
	{ "net.ipv4.ip_unprivileged_port_start", 0 },
	{ "net.ipv4.ip_local_reserved_ports", 27 },
	{ "net.ipv4.tcp_keepalive_time", 29 },
	{ "net.ipv4.tcp_fin_timeout", 29 },
	{ "net.ipv4.tcp_keepalive_intvl", 29 },
	{ "net.ipv4.tcp_keepalive_probes", 29 },
	{ "net.ipv4.tcp_rmem", 32 },
	{ "net.ipv4.tcp_wmem", 32 },
	{ "net.ipv4.tcp_slow_start_after_idle", 37 },
	{ "net.ipv4.tcp_notsent_lowat", 37 },
};

static bool
sysctl_allowed(const char *name, unsigned minor)
{
	size_t i;

	for (i = 0; i < sizeof(safe_sysctls) / sizeof(safe_sysctls[0]); i++)
		if (minor >= safe_sysctls[i].since && strcmp(name, safe_sysctls[i].name) == 0)
			return true;
	return false;
}

static void
check_sysctls(struct ev *e)
{
	const cJSON *s, *list = jpath_get(pod_sc(e), "sysctls");
	struct names bad = { 0 };
	struct strbuf d = { 0 };
	size_t i;

	if (cJSON_IsArray(list))
		cJSON_ArrayForEach(s, list) {
			const char *n = jpath_str(s, "name");

			if (!n)
				n = "";
			if (!sysctl_allowed(n, e->minor))
				names_add(&bad, n, true);
		}
	track_oom(e, &bad);
	if (bad.n) {
		for (i = 0; i < bad.n; i++)
			strbuf_printf(&d, "%s%s", i ? ", " : "", bad.v[i]);
		violation(e, "sysctls", plural("forbidden sysctl", "forbidden sysctls", bad.n), &d);
	}
	free(d.s);
	free(bad.v);
}

static void
c_hostprocess(struct ev *e, const cJSON *c, void *arg)
{
	(void)e;
	if (get_bool(get_obj(sc_of(c), "windowsOptions"), "hostProcess") == 1)
		names_add(arg, cname(c), false);
}

static void
check_windows_host_process(struct ev *e)
{
	check_setters(e, get_bool(get_obj(pod_sc(e), "windowsOptions"), "hostProcess") == 1, c_hostprocess,
		      "windowsHostProcess", "hostProcess", "must not set securityContext.windowsOptions.hostProcess=true");
}

struct hosts {
	struct names containers, hosts;
};

static void
probe_hosts(struct hosts *h, const cJSON *handler, bool *bad)
{
	const char *host;

	host = jpath_str(get_obj(handler, "httpGet"), "host");
	if (host && *host) {
		names_add(&h->hosts, host, true);
		*bad = true;
	}
	host = jpath_str(get_obj(handler, "tcpSocket"), "host");
	if (host && *host) {
		names_add(&h->hosts, host, true);
		*bad = true;
	}
}

static void
c_hosts(struct ev *e, const cJSON *c, void *arg)
{
	struct hosts *h = arg;
	const cJSON *lc = get_obj(c, "lifecycle");
	bool bad = false;

	(void)e;
	probe_hosts(h, get_obj(c, "livenessProbe"), &bad);
	probe_hosts(h, get_obj(c, "readinessProbe"), &bad);
	probe_hosts(h, get_obj(c, "startupProbe"), &bad);
	probe_hosts(h, get_obj(lc, "postStart"), &bad);
	probe_hosts(h, get_obj(lc, "preStop"), &bad);
	if (bad)
		names_add(&h->containers, cname(c), true);
}

static void
check_probe_hosts(struct ev *e)
{
	struct hosts h;
	struct strbuf d = { 0 };

	memset(&h, 0, sizeof(h));
	visit_containers(e, c_hosts, &h);
	track_oom(e, &h.containers);
	track_oom(e, &h.hosts);
	if (h.containers.n) {
		names_sort(&h.containers);
		names_sort(&h.hosts);
		sb_setters(&d, false, &h.containers);
		strbuf_printf(&d, " %s %s ", plural("uses", "use", h.containers.n),
			  plural("probe or lifecycle host", "probe or lifecycle hosts", h.hosts.n));
		sb_join_quote(&d, &h.hosts);
		violation(e, "hostProbesAndHostLifecycle", "probe or lifecycle host", &d);
	}
	free(d.s);
	free(h.containers.v);
	free(h.hosts.v);
}

/* ---- restricted checks ---- */

static const char *const allowed_volume_sources[] = {
	"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
	"persistentVolumeClaim", "projected", "secret", NULL,
};

static void
check_restricted_volumes(struct ev *e)
{
	const cJSON *vol, *vols = jpath_get(e->spec, "volumes"), *f;
	struct names bad = { 0 }, types = { 0 };
	struct strbuf d = { 0 };
	size_t i;

	if (cJSON_IsArray(vols))
		cJSON_ArrayForEach(vol, vols) {
			bool is_bad = false;

			if (!cJSON_IsObject(vol))
				continue;
			cJSON_ArrayForEach(f, vol) {
				if (strcmp(f->string, "name") == 0 || cJSON_IsNull(f) ||
				    in_list(f->string, allowed_volume_sources))
					continue;
				is_bad = true;
				names_add(&types, f->string, true);
			}
			if (is_bad)
				names_add(&bad, cname(vol), false);
		}
	track_oom(e, &bad);
	track_oom(e, &types);
	if (bad.n) {
		names_sort(&types);
		strbuf_printf(&d, "%s ", plural("volume", "volumes", bad.n));
		sb_join_quote(&d, &bad);
		strbuf_printf(&d, " %s restricted volume %s ", plural("uses", "use", bad.n),
			  plural("type", "types", types.n));
		for (i = 0; i < types.n; i++)
			strbuf_printf(&d, "%s\"%s\"", i ? ", " : "", types.v[i]);
		violation(e, "restrictedVolumes", "restricted volume types", &d);
	}
	free(d.s);
	free(bad.v);
	free(types.v);
}

static void
c_ape(struct ev *e, const cJSON *c, void *arg)
{
	(void)e;
	if (get_bool(sc_of(c), "allowPrivilegeEscalation") != 0)
		names_add(arg, cname(c), false);
}

static void
check_allow_privilege_escalation(struct ev *e)
{
	check_setters(e, false, c_ape, "allowPrivilegeEscalation", "allowPrivilegeEscalation != false",
		      "must set securityContext.allowPrivilegeEscalation=false");
}

struct nonroot {
	struct names explicit_bad, implicit_bad;
	bool pod_true;
};

static void
c_nonroot(struct ev *e, const cJSON *c, void *arg)
{
	struct nonroot *n = arg;
	int v = get_bool(sc_of(c), "runAsNonRoot");

	(void)e;
	if (v == 0)
		names_add(&n->explicit_bad, cname(c), false);
	else if (v < 0 && !n->pod_true)
		names_add(&n->implicit_bad, cname(c), false);
}

static void
check_run_as_non_root(struct ev *e)
{
	struct nonroot n;
	struct strbuf d = { 0 };
	int pod;

	if (e->minor >= 35 && user_namespaced(e))
		return;
	memset(&n, 0, sizeof(n));
	pod = get_bool(pod_sc(e), "runAsNonRoot");
	n.pod_true = pod == 1;
	visit_containers(e, c_nonroot, &n);
	track_oom(e, &n.explicit_bad);
	track_oom(e, &n.implicit_bad);
	if (pod == 0 || n.explicit_bad.n) {
		sb_setters(&d, pod == 0, &n.explicit_bad);
		strbuf_printf(&d, " must not set securityContext.runAsNonRoot=false");
		violation(e, "runAsNonRoot", "runAsNonRoot != true", &d);
	} else if (n.implicit_bad.n) {
		strbuf_printf(&d, "pod or %s ", plural("container", "containers", n.implicit_bad.n));
		sb_join_quote(&d, &n.implicit_bad);
		strbuf_printf(&d, " must set securityContext.runAsNonRoot=true");
		violation(e, "runAsNonRoot", "runAsNonRoot != true", &d);
	}
	free(d.s);
	free(n.explicit_bad.v);
	free(n.implicit_bad.v);
}

static bool
is_uid0(const cJSON *sc)
{
	const cJSON *u = jpath_get(sc, "runAsUser");

	return cJSON_IsNumber(u) && u->valuedouble == 0;
}

static void
c_uid0(struct ev *e, const cJSON *c, void *arg)
{
	(void)e;
	if (is_uid0(sc_of(c)))
		names_add(arg, cname(c), false);
}

static void
check_run_as_user(struct ev *e)
{
	if (e->minor >= 35 && user_namespaced(e))
		return;
	check_setters(e, is_uid0(pod_sc(e)), c_uid0, "runAsUser", "runAsUser=0", "must not set runAsUser=0");
}

/* ---- public API ---- */

int
pss_level_parse(const char *s, enum pss_level *level)
{
	if (!s)
		return -EINVAL;
	if (strcmp(s, "privileged") == 0)
		*level = PSS_PRIVILEGED;
	else if (strcmp(s, "baseline") == 0)
		*level = PSS_BASELINE;
	else if (strcmp(s, "restricted") == 0)
		*level = PSS_RESTRICTED;
	else
		return -EINVAL;
	return 0;
}

const char *
pss_level_name(enum pss_level level)
{
	switch (level) {
	case PSS_PRIVILEGED:
		return "privileged";
	case PSS_BASELINE:
		return "baseline";
	case PSS_RESTRICTED:
		return "restricted";
	}
	return "unknown";
}

int
pss_version_parse(const char *s, unsigned *minor)
{
	unsigned long n;
	char *end;

	if (!s)
		return -EINVAL;
	if (strcmp(s, "latest") == 0) {
		*minor = PSS_VERSION_LATEST;
		return 0;
	}
	if (strncmp(s, "v1.", 3) != 0 || s[3] < '0' || s[3] > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(s + 3, &end, 10);
	if (*end || errno || (s[3] == '0' && s[4]))
		return -EINVAL;
	*minor = n > PSS_VERSION_LATEST ? PSS_VERSION_LATEST : (unsigned)n;
	return 0;
}

int
pss_evaluate(const cJSON *metadata, const cJSON *spec, enum pss_level level, unsigned minor,
	     struct pss_result *res)
{
	struct pss_result r = { NULL, 0 };
	struct ev e = { metadata, spec, minor > PSS_VERSION_LATEST ? PSS_VERSION_LATEST : minor, &r, false };
	bool restricted = level == PSS_RESTRICTED;
	bool windows = is_windows(&e);

	if (level == PSS_PRIVILEGED) {
		*res = r;
		return 0;
	}
	/* Baseline checks; some are replaced by their restricted form at restricted. */
	check_apparmor(&e);
	if (restricted && e.minor >= 22) {
		if (!(windows && e.minor >= 25))
			check_capabilities(&e, true);
	} else {
		check_capabilities(&e, false);
	}
	check_host_namespaces(&e);
	check_host_path_volumes(&e);
	check_host_ports(&e);
	if (e.minor >= 34)
		check_probe_hosts(&e);
	check_privileged(&e);
	check_procmount(&e, false);
	if (restricted && e.minor >= 35)
		check_procmount(&e, true);
	check_selinux(&e);
	if (e.minor < 19)
		check_seccomp_baseline_annotations(&e);
	else if (!restricted)
		check_seccomp_fields(&e, false);
	else if (!(windows && e.minor >= 25))
		check_seccomp_fields(&e, true);
	check_sysctls(&e);
	check_windows_host_process(&e);
	if (restricted) {
		if (e.minor >= 8 && !(windows && e.minor >= 25))
			check_allow_privilege_escalation(&e);
		check_restricted_volumes(&e);
		check_run_as_non_root(&e);
		if (e.minor >= 23)
			check_run_as_user(&e);
	}
	if (e.oom) {
		pss_result_clear(&r);
		return -ENOMEM;
	}
	*res = r;
	return 0;
}

int
pss_pod_template(const cJSON *obj, const cJSON **metadata, const cJSON **spec)
{
	static const char *const template_kinds[] = {
		"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "ReplicationController", NULL,
	};
	const char *kind = jpath_str(obj, "kind");
	const cJSON *tmpl;

	if (!kind)
		return -ENOENT;
	if (strcmp(kind, "Pod") == 0)
		tmpl = obj;
	else if (strcmp(kind, "PodTemplate") == 0)
		tmpl = get_obj(obj, "template");
	else if (in_list(kind, template_kinds))
		tmpl = get_obj(get_obj(obj, "spec"), "template");
	else if (strcmp(kind, "CronJob") == 0)
		tmpl = get_obj(get_obj(get_obj(get_obj(obj, "spec"), "jobTemplate"), "spec"), "template");
	else
		return -ENOENT;
	if (!get_obj(tmpl, "spec"))
		return -ENOENT;
	*metadata = get_obj(tmpl, "metadata");
	*spec = get_obj(tmpl, "spec");
	return 0;
}

void
pss_result_clear(struct pss_result *res)
{
	size_t i;

	if (!res)
		return;
	for (i = 0; i < res->n; i++) {
		free(res->v[i].reason);
		free(res->v[i].detail);
	}
	free(res->v);
	res->v = NULL;
	res->n = 0;
}
