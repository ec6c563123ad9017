/* checks — the live checks as pure functions of the observed objects. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "jpath.h"
#include "kstatus.h"
#include "lint.h"
#include "rfc3339.h"
#include "strbuf.h"

#define PSS_PREFIX "pod-security.kubernetes.io/"
/* A pod younger than this may still be starting (pulling, Init while the Vault
 * Agent logs in): not a problem yet unless it has a hard cause. */
#define SETTLE_SECONDS 120
/* A FailedCreate event older than this no longer explains anything. */
#define EVENT_WINDOW 600
/* Problems spelled out in one message; the rest are counted. */
#define MAX_SHOWN 3

static const char *
md_str(const cJSON *o, const char *k)
{
	return jpath_str(jpath_get(o, "metadata"), k);
}

static const char *
or_q(const char *s)
{
	return s ? s : "?";
}

static int64_t
md_time(const cJSON *o, const char *k)
{
	int64_t t;
	const char *s = md_str(o, k);

	return s && rfc3339_parse(s, &t) == 0 ? t : 0;
}

void
check_results_add(struct check_results *out, const char *name, bool ok, enum status_severity sev,
		  const char *fmt, ...)
{
	struct check_result *v;
	char *msg = NULL, *nm;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	nm = strdup(name);
	v = r < 0 || !nm ? NULL : realloc(out->v, (out->n + 1) * sizeof(*v));
	if (!v) {
		if (r >= 0)
			free(msg);
		free(nm);
		out->oom = true;
		return;
	}
	out->v = v;
	v[out->n++] = (struct check_result){ .name = nm, .ok = ok, .severity = sev, .message = msg };
}

void
check_results_clear(struct check_results *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].name);
		free(r->v[i].message);
	}
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* Collected problems of one check: the first MAX_SHOWN spelled out. */
struct problems {
	struct strbuf b;
	size_t n;
};

__attribute__((format(printf, 2, 3))) static void
problem(struct problems *p, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	p->n++;
	if (p->n > MAX_SHOWN)
		return;
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		p->b.oom = true;
		return;
	}
	strbuf_printf(&p->b, "%s%s", p->n > 1 ? "; " : "", s);
	free(s);
}

/* Emits the check: failing with the problems, or passing with OK_MSG. */
static void
finish(struct check_results *out, struct problems *p, const char *name, enum status_severity sev,
       const char *ok_msg)
{
	if (p->b.oom)
		out->oom = true;
	if (p->n == 0)
		check_results_add(out, name, true, sev, "%s", ok_msg);
	else if (p->n > MAX_SHOWN)
		check_results_add(out, name, false, sev, "%s; and %zu more", p->b.s ? p->b.s : "",
				  p->n - MAX_SHOWN);
	else
		check_results_add(out, name, false, sev, "%s", p->b.s ? p->b.s : "");
	free(p->b.s);
	memset(p, 0, sizeof(*p));
}

static const cJSON *
find_named(const cJSON *arr, const char *ns, const char *name)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		const char *n = md_str(o, "name"), *s = md_str(o, "namespace");

		if (n && strcmp(n, name) == 0 && (!ns || (s && strcmp(s, ns) == 0)))
			return o;
	}
	return NULL;
}

static bool
is_kind(const cJSON *o, const char *kind)
{
	const char *k = jpath_str(o, "kind");

	return k && strcmp(k, kind) == 0;
}

/* The namespaces the stack manages: the rendered Namespace objects, or the
 * live ones given when nothing was rendered. */
static const cJSON *
managed_namespaces(const struct checks_input *in, bool *from_expected)
{
	const cJSON *o;

	*from_expected = false;
	cJSON_ArrayForEach(o, in->expected)
		if (is_kind(o, "Namespace")) {
			*from_expected = true;
			return in->expected;
		}
	return in->namespaces;
}

/* The enforce level a namespace should have (as rendered), else has. */
static int
ns_policy(const struct checks_input *in, const char *ns, enum pss_level *level, unsigned *minor)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, in->expected)
		if (is_kind(o, "Namespace") && md_str(o, "name") && strcmp(md_str(o, "name"), ns) == 0)
			return lint_namespace_policy(o, level, minor);
	o = find_named(in->namespaces, NULL, ns);
	return o ? lint_namespace_policy(o, level, minor) : -ENOENT;
}

/* ------------------------------------------------------------ pss-labels */

void
check_pss_labels(const struct checks_input *in, struct check_results *out)
{
	static const char *const keys[] = { "enforce", "enforce-version", "warn",
					    "warn-version", "audit", "audit-version" };
	struct problems p = { 0 };
	const cJSON *o;
	size_t seen = 0;

	if (!in->expected) {
		check_results_add(out, "pss-labels", false, STATUS_WARNING,
				  "cannot tell the labels the stack ships: %s", or_q(in->expected_error));
		return;
	}
	cJSON_ArrayForEach(o, in->expected) {
		const char *ns = md_str(o, "name");
		const cJSON *live, *want = jpath_get(jpath_get(o, "metadata"), "labels"), *have;

		if (!is_kind(o, "Namespace") || !ns)
			continue;
		seen++;
		live = find_named(in->namespaces, NULL, ns);
		if (!live) {
			problem(&p, "namespace %s does not exist (fix: agentctl bootstrap)", ns);
			continue;
		}
		have = jpath_get(jpath_get(live, "metadata"), "labels");
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			char key[64];
			const char *w, *h;

			snprintf(key, sizeof(key), PSS_PREFIX "%s", keys[i]);
			w = jpath_str(want, key);
			h = jpath_str(have, key);
			if (!w || (h && strcmp(w, h) == 0))
				continue;
			if (h)
				problem(&p, "namespace %s has %s=%s, the stack ships %s (fix: kubectl label namespace %s %s=%s --overwrite)",
					ns, key, h, w, ns, key, w);
			else
				problem(&p, "namespace %s lacks label %s=%s (fix: kubectl label namespace %s %s=%s)", ns,
					key, w, ns, key, w);
		}
	}
	if (seen == 0) {
		check_results_add(out, "pss-labels", false, STATUS_WARNING,
				  "the rendered stack has no Namespace objects: nothing to compare");
		return;
	}
	finish(out, &p, "pss-labels", STATUS_CRITICAL,
	       "every managed namespace carries its Pod Security labels as shipped");
}

/* ------------------------------------------------------------ pss-pods */

static bool
pod_running(const cJSON *pod)
{
	const char *phase = jpath_str(jpath_get(pod, "status"), "phase");

	return phase && (strcmp(phase, "Running") == 0 || strcmp(phase, "Pending") == 0) &&
	       !md_str(pod, "deletionTimestamp");
}

void
check_pss_pods(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	const cJSON *pod;
	size_t n = 0;

	cJSON_ArrayForEach(pod, in->pods) {
		const char *ns = md_str(pod, "namespace");
		struct lint_result lr = { 0 };
		enum pss_level level;
		unsigned minor;

		if (!ns || !pod_running(pod) || ns_policy(in, ns, &level, &minor) < 0)
			continue;
		n++;
		if (lint_object(pod, level, minor, LINT_PSS_ONLY, &lr) < 0)
			out->oom = true;
		for (size_t i = 0; i < lr.n; i++)
			if (!lr.f[i].note)
				problem(&p, "%s (admitted before the label was enforced? fix the pod's securityContext, then kubectl delete pod -n %s %s)",
					lr.f[i].message, ns, or_q(md_str(pod, "name")));
		lint_result_clear(&lr);
	}
	char ok[128];
	snprintf(ok, sizeof(ok), "%zu running pod%s pass their namespace's Pod Security level", n, n == 1 ? "" : "s");
	finish(out, &p, "pss-pods", STATUS_CRITICAL, ok);
}

/* ------------------------------------------------------------ pods */

static const char *
owner_kind(const cJSON *o, const char **name)
{
	const cJSON *ref;

	cJSON_ArrayForEach(ref, jpath_get(jpath_get(o, "metadata"), "ownerReferences")) {
		*name = jpath_str(ref, "name");
		return jpath_str(ref, "kind");
	}
	*name = NULL;
	return NULL;
}

static bool
job_finished(const cJSON *job)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, jpath_get(jpath_get(job, "status"), "conditions")) {
		const char *t = jpath_str(c, "type"), *s = jpath_str(c, "status");

		if (t && s && strcmp(s, "True") == 0 && (strcmp(t, "Complete") == 0 || strcmp(t, "Failed") == 0))
			return true;
	}
	return false;
}

static void
crash_loop(struct problems *p, const char *ns, const char *name, const char *ctr)
{
	problem(p, "pod %s/%s: container %s is crash-looping (CrashLoopBackOff) (fix: read kubectl logs -n %s %s -c %s --previous)",
		ns, name, ctr, ns, name, ctr);
}

/* A container of POD that exited with an error within SETTLE_SECONDS and was restarted.
 * Reason "Unknown" is the kubelet's word for a container killed by a node or sandbox
 * restart (a reboot), not one that failed by itself: that is no crash. */
static bool
recent_crash(const struct checks_input *in, const cJSON *pod, char *ctr, size_t size)
{
	const cJSON *cs;

	cJSON_ArrayForEach(cs, jpath_get(jpath_get(pod, "status"), "containerStatuses")) {
		const cJSON *term = jpath_get(jpath_get(cs, "lastState"), "terminated"), *code = jpath_get(term, "exitCode");
		const char *fin = jpath_str(term, "finishedAt");
		int64_t t;

		const char *why = jpath_str(term, "reason");

		if (why && strcmp(why, "Unknown") == 0)
			continue;
		if (cJSON_IsNumber(code) && code->valueint != 0 && fin && rfc3339_parse(fin, &t) == 0 &&
		    in->now - t < SETTLE_SECONDS) {
			snprintf(ctr, size, "%s", or_q(jpath_str(cs, "name")));
			return true;
		}
	}
	return false;
}

/* The pod's trouble in words, with the fix; NULL when it is not a problem (yet). */
static void
pod_problem(const struct checks_input *in, const cJSON *pod, struct problems *p)
{
	const char *ns = or_q(md_str(pod, "namespace")), *name = or_q(md_str(pod, "name"));
	const char *phase = jpath_str(jpath_get(pod, "status"), "phase");
	const char *okind, *oname;
	char ctr[254];
	struct kstatus ks;
	int64_t age = in->now - md_time(pod, "creationTimestamp");

	okind = owner_kind(pod, &oname);
	if (phase && strcmp(phase, "Succeeded") == 0)
		return;
	/* Between two back-offs a crash-looping container runs, maybe Ready:
	 * a failed exit within the settle window keeps the verdict steady. */
	if (recent_crash(in, pod, ctr, sizeof(ctr))) {
		crash_loop(p, ns, name, ctr);
		return;
	}
	/* A finished Job's failed pod is the cron check's business. */
	if (okind && strcmp(okind, "Job") == 0 && phase && strcmp(phase, "Failed") == 0)
		return;
	kstatus_compute(pod, in->now, &ks);
	if (ks.status == KSTATUS_CURRENT || ks.status == KSTATUS_TERMINATING)
		return;
	switch (ks.cause) {
	case KSTATUS_CAUSE_CRASH_LOOP:
		crash_loop(p, ns, name, ks.container);
		return;
	case KSTATUS_CAUSE_IMAGE_PULL:
		problem(p, "pod %s/%s: container %s cannot pull its image (%s) (fix: check the image in config/values.yaml and registry access)",
			ns, name, ks.container, ks.message);
		return;
	case KSTATUS_CAUSE_CONFIG_ERROR:
		problem(p, "pod %s/%s: container %s: CreateContainerConfigError, a referenced ConfigMap or key is missing (%s)",
			ns, name, ks.container, ks.message);
		return;
	case KSTATUS_CAUSE_VAULT_INIT:
		if (in->vault_sealed) {
			problem(p, "pod %s/%s is stuck in Init: vault-agent-init waits for Vault, which is sealed (fix: agentctl unseal)",
				ns, name);
			return;
		}
		if (age >= SETTLE_SECONDS)
			problem(p, "pod %s/%s is stuck in Init: vault-agent-init cannot get its secrets from Vault (fix: check the Vault role and the pod's ServiceAccount: kubectl logs -n %s %s -c vault-agent-init)",
				ns, name, ns, name);
		return;
	case KSTATUS_CAUSE_UNSCHEDULABLE:
		problem(p, "pod %s/%s cannot be scheduled: %s", ns, name, ks.message);
		return;
	default:
		break;
	}
	if (ks.status == KSTATUS_FAILED)
		problem(p, "pod %s/%s failed: %s", ns, name, ks.message);
	else if (age >= SETTLE_SECONDS)
		problem(p, "pod %s/%s is not ready after %llds: %s", ns, name, (long long)age, ks.message);
}

static const char *
event_time(const cJSON *ev)
{
	const char *t = jpath_str(ev, "lastTimestamp");

	return t ? t : jpath_str(ev, "eventTime");
}

/* Why pod creation for a workload fails, from its recent FailedCreate events. */
static void
failed_create(const struct checks_input *in, const char *ns, const char *kind, const char *name,
	      struct problems *p)
{
	const cJSON *ev, *newest = NULL;
	int64_t newest_t = 0;

	cJSON_ArrayForEach(ev, in->events) {
		const cJSON *io = jpath_get(ev, "involvedObject");
		const char *r = jpath_str(ev, "reason"), *ik = jpath_str(io, "kind"), *in_ = jpath_str(io, "name");
		const char *ens = md_str(ev, "namespace");
		int64_t t;

		if (!r || strcmp(r, "FailedCreate") != 0 || !ik || !in_ || !ens || strcmp(ens, ns) != 0 ||
		    !event_time(ev) || rfc3339_parse(event_time(ev), &t) < 0 || t < in->now - EVENT_WINDOW)
			continue;
		if (strcmp(ik, kind) == 0 && strcmp(in_, name) == 0) {
			/* exact */
		} else if (strcmp(kind, "Deployment") == 0 && strcmp(ik, "ReplicaSet") == 0 &&
			   strncmp(in_, name, strlen(name)) == 0 && in_[strlen(name)] == '-') {
			/* a ReplicaSet of the Deployment: NAME-HASH */
		} else {
			continue;
		}
		if (!newest || t >= newest_t) {
			newest = ev;
			newest_t = t;
		}
	}
	if (!newest)
		return;
	const char *m = or_q(jpath_str(newest, "message"));
	if (strstr(m, "exceeded quota"))
		problem(p, "%s %s/%s cannot create pods, refused by the ResourceQuota: %s (fix: raise quota.* in the values override, or lower the pod's requests)",
			kind, ns, name, m);
	else if (strstr(m, "violates PodSecurity"))
		problem(p, "%s %s/%s cannot create pods, refused by Pod Security: %s (fix: make the pod template comply; agentctl lint shows how)",
			kind, ns, name, m);
	else if (strstr(m, "webhook"))
		problem(p, "%s %s/%s cannot create pods, the Vault Agent Injector webhook is unreachable: %s (fix: check Deployment vault/vault-agent-injector)",
			kind, ns, name, m);
	else
		problem(p, "%s %s/%s cannot create pods: %s", kind, ns, name, m);
}

static void
workloads(const struct checks_input *in, const cJSON *arr, const char *kind, struct problems *p, size_t *n)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		const char *ns = md_str(o, "namespace"), *name = md_str(o, "name");
		struct kstatus ks;
		size_t before = p->n;

		if (!ns || !name)
			continue;
		(*n)++;
		kstatus_compute(o, in->now, &ks);
		if (ks.status == KSTATUS_CURRENT)
			continue;
		failed_create(in, ns, kind, name, p);
		if (p->n == before && ks.status == KSTATUS_FAILED)
			problem(p, "%s %s/%s failed: %s", kind, ns, name, ks.message);
	}
}

void
check_pods(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	const cJSON *o;
	size_t n = 0;
	char ok[160];

	workloads(in, in->deployments, "Deployment", &p, &n);
	workloads(in, in->statefulsets, "StatefulSet", &p, &n);
	cJSON_ArrayForEach(o, in->jobs) {
		const char *ns = md_str(o, "namespace"), *name = md_str(o, "name");

		if (ns && name && !job_finished(o))
			failed_create(in, ns, "Job", name, &p);
	}
	cJSON_ArrayForEach(o, in->pods)
		pod_problem(in, o, &p);
	snprintf(ok, sizeof(ok), "%zu workload%s and their pods are healthy", n, n == 1 ? "" : "s");
	finish(out, &p, "pods", STATUS_CRITICAL, ok);
}

/* ------------------------------------------------------------ secrets, images */

/* The agents' namespaces: every managed one but Vault's. */
static bool
agent_namespace(const struct checks_input *in, const char *ns)
{
	bool from_expected;
	const cJSON *o, *all = managed_namespaces(in, &from_expected);

	if (in->vault_namespace && strcmp(in->vault_namespace, ns) == 0)
		return false;
	cJSON_ArrayForEach(o, all)
		if ((!from_expected || is_kind(o, "Namespace")) && md_str(o, "name") &&
		    strcmp(md_str(o, "name"), ns) == 0)
			return true;
	return false;
}

/* Lint findings named CHECK on every object of ARR (optionally agent namespaces only). */
static void
lint_findings(const struct checks_input *in, const cJSON *arr, const char *check, bool agents_only,
	      const char *fix, struct problems *p, struct check_results *out)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, arr) {
		struct lint_result lr = { 0 };
		const char *ns = md_str(o, "namespace");

		if (!ns || (agents_only && !agent_namespace(in, ns)))
			continue;
		if (is_kind(o, "Pod") && !pod_running(o))
			continue;
		if (lint_object(o, PSS_PRIVILEGED, PSS_VERSION_LATEST, 0, &lr) < 0)
			out->oom = true;
		for (size_t i = 0; i < lr.n; i++)
			if (!lr.f[i].note && strcmp(lr.f[i].check, check) == 0)
				problem(p, "%s (fix: %s)", lr.f[i].message, fix);
		lint_result_clear(&lr);
	}
}

void
check_secrets(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	const cJSON *o;

	cJSON_ArrayForEach(o, in->secrets) {
		const char *ns = md_str(o, "namespace");

		if (ns && agent_namespace(in, ns))
			problem(&p, "plain Secret %s/%s (type %s) in the agents' namespace (fix: move its values into Vault with agentctl secret import-k8s, then delete it)",
				ns, or_q(md_str(o, "name")), or_q(jpath_str(o, "type")));
	}
	lint_findings(in, in->pods, "no-secrets", true, "deliver it through the Vault Agent annotations instead", &p,
		      out);
	finish(out, &p, "secrets", STATUS_CRITICAL,
	       "no agent pod consumes a Kubernetes Secret and the agents' namespace holds none");
}

void
check_images(const struct checks_input *in, struct check_results *out)
{
	static const char fix[] = "pin it as NAME@sha256:DIGEST in config/values.yaml images.*";
	struct problems p = { 0 };

	lint_findings(in, in->pods, "image-digest", false, fix, &p, out);
	lint_findings(in, in->cronjobs, "image-digest", false, fix, &p, out);
	lint_findings(in, in->deployments, "image-digest", false, fix, &p, out);
	lint_findings(in, in->statefulsets, "image-digest", false, fix, &p, out);
	finish(out, &p, "images", STATUS_WARNING, "every image in the managed namespaces is pinned by digest");
}

/* ------------------------------------------------------------ quota */

int
checks_quantity(const char *s, double *out)
{
	static const struct {
		const char *suffix;
		double mult;
	} sfx[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 }, { "Ti", 1099511627776.0 },
		{ "Pi", 1125899906842624.0 }, { "Ei", 1152921504606846976.0 }, { "n", 1e-9 }, { "u", 1e-6 },
		{ "m", 1e-3 }, { "k", 1e3 }, { "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 },
		{ "E", 1e18 }, { "", 1.0 },
	};
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0 || (*s != '.' && (*s < '0' || *s > '9')))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++)
		if (strcmp(end, sfx[i].suffix) == 0) {
			*out = v * sfx[i].mult;
			return 0;
		}
	return -EINVAL;
}

static bool
covers(const cJSON *hard, const char *a, const char *b)
{
	return jpath_get(hard, a) || (b && jpath_get(hard, b));
}

void
check_quota(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	bool from_expected;
	const cJSON *ns, *q;
	size_t nq = 0;

	cJSON_ArrayForEach(ns, managed_namespaces(in, &from_expected)) {
		const char *name = md_str(ns, "name");
		bool any = false;

		if ((from_expected && !is_kind(ns, "Namespace")) || !name || !agent_namespace(in, name))
			continue;
		cJSON_ArrayForEach(q, in->quotas) {
			const cJSON *hard = jpath_get(jpath_get(q, "spec"), "hard");
			const char *qns = md_str(q, "namespace");
			char missing[128] = "";

			if (!qns || strcmp(qns, name) != 0)
				continue;
			any = true;
			nq++;
			if (!covers(hard, "requests.cpu", "cpu"))
				strcat(missing, " requests.cpu");
			if (!covers(hard, "limits.cpu", NULL))
				strcat(missing, " limits.cpu");
			if (!covers(hard, "requests.memory", "memory"))
				strcat(missing, " requests.memory");
			if (!covers(hard, "limits.memory", NULL))
				strcat(missing, " limits.memory");
			if (!covers(hard, "pods", "count/pods"))
				strcat(missing, " pods");
			if (*missing)
				problem(&p, "ResourceQuota %s/%s does not cover%s (fix: re-apply manifests/40-agents-policy.yaml: agentctl bootstrap)",
					name, or_q(md_str(q, "name")), missing);
		}
		if (!any)
			problem(&p, "namespace %s has no ResourceQuota (fix: re-apply manifests/40-agents-policy.yaml: agentctl bootstrap)",
				name);
	}
	if (p.n) {
		finish(out, &p, "quota", STATUS_CRITICAL, "");
		return;
	}
	cJSON_ArrayForEach(q, in->quotas) {
		const cJSON *st = jpath_get(q, "status"), *h;

		cJSON_ArrayForEach(h, jpath_get(st, "hard")) {
			double hv, uv;
			const char *used = jpath_str(jpath_get(st, "used"), h->string);

			if (!cJSON_IsString(h) || !used || checks_quantity(h->valuestring, &hv) < 0 ||
			    checks_quantity(used, &uv) < 0 || hv <= 0)
				continue;
			if (uv / hv > in->quota_threshold)
				problem(&p, "ResourceQuota %s/%s: %s uses %s of %s (%.0f%%, threshold %.0f%%) (fix: raise quota.* in the values override or stop idle workloads)",
					or_q(md_str(q, "namespace")), or_q(md_str(q, "name")), h->string, used,
					h->valuestring, 100.0 * uv / hv, 100.0 * in->quota_threshold);
		}
	}
	char ok[128];
	snprintf(ok, sizeof(ok), "%zu ResourceQuota%s cover cpu, memory and pods, usage under %.0f%%", nq,
		 nq == 1 ? "" : "s", 100.0 * in->quota_threshold);
	finish(out, &p, "quota", STATUS_WARNING, ok);
}

/* ------------------------------------------------------------ netpol */

static bool
empty_selector(const cJSON *sel)
{
	const cJSON *ml = jpath_get(sel, "matchLabels"), *me = jpath_get(sel, "matchExpressions");

	return (!ml || cJSON_GetArraySize(ml) == 0) && (!me || cJSON_GetArraySize(me) == 0);
}

static bool
default_deny(const cJSON *np)
{
	const cJSON *spec = jpath_get(np, "spec"), *t;
	bool ingress = false, egress = false;

	if (!spec || !empty_selector(jpath_get(spec, "podSelector")))
		return false;
	cJSON_ArrayForEach(t, jpath_get(spec, "policyTypes")) {
		if (cJSON_IsString(t) && strcmp(t->valuestring, "Ingress") == 0)
			ingress = true;
		if (cJSON_IsString(t) && strcmp(t->valuestring, "Egress") == 0)
			egress = true;
	}
	return ingress && egress && cJSON_GetArraySize(jpath_get(spec, "ingress")) == 0 &&
	       cJSON_GetArraySize(jpath_get(spec, "egress")) == 0;
}

void
check_netpol(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	bool from_expected;
	const cJSON *ns, *np;
	size_t n = 0;

	cJSON_ArrayForEach(ns, managed_namespaces(in, &from_expected)) {
		const char *name = md_str(ns, "name");
		bool shipped = !from_expected, live = false;

		if ((from_expected && !is_kind(ns, "Namespace")) || !name)
			continue;
		cJSON_ArrayForEach(np, in->expected)
			if (is_kind(np, "NetworkPolicy") && md_str(np, "namespace") &&
			    strcmp(md_str(np, "namespace"), name) == 0 && default_deny(np))
				shipped = true;
		if (!shipped)
			continue;
		n++;
		cJSON_ArrayForEach(np, in->netpols)
			if (md_str(np, "namespace") && strcmp(md_str(np, "namespace"), name) == 0 && default_deny(np))
				live = true;
		if (!live)
			problem(&p, "namespace %s has no default-deny NetworkPolicy (podSelector {}, policyTypes Ingress and Egress, no rules) (fix: re-apply manifests/40-agents-policy.yaml: agentctl bootstrap)",
				name);
	}
	char ok[128];
	snprintf(ok, sizeof(ok), "default-deny NetworkPolicy in place in %zu namespace%s", n, n == 1 ? "" : "s");
	finish(out, &p, "netpol", STATUS_CRITICAL, ok);
}

/* ------------------------------------------------------------ webhook */

static bool
endpoints_ready(const struct checks_input *in, const char *ns, const char *name)
{
	const cJSON *ep = find_named(in->endpoints, ns, name), *s;

	cJSON_ArrayForEach(s, jpath_get(ep, "subsets"))
		if (cJSON_GetArraySize(jpath_get(s, "addresses")) > 0)
			return true;
	return false;
}

static void
webhook_entry(const struct checks_input *in, const char *cfg, const cJSON *want, const cJSON *have,
	      struct problems *p)
{
	const char *wh = or_q(jpath_str(want, "name"));
	const cJSON *svc = jpath_get(jpath_get(have, "clientConfig"), "service");
	const char *ca = jpath_str(jpath_get(have, "clientConfig"), "caBundle");
	const char *wf = jpath_str(want, "failurePolicy"), *hf = jpath_str(have, "failurePolicy");

	if (!ca || !*ca)
		problem(p, "webhook %s/%s has no caBundle yet (the injector writes it when it starts; fix: check kubectl logs -n vault deploy/vault-agent-injector)",
			cfg, wh);
	if (wf && (!hf || strcmp(wf, hf) != 0))
		problem(p, "webhook %s/%s has failurePolicy %s, the stack ships %s (fix: agentctl bootstrap re-applies it)",
			cfg, wh, hf ? hf : "(default Fail)", wf);
	if (!cJSON_Compare(jpath_get(want, "namespaceSelector"), jpath_get(have, "namespaceSelector"), true))
		problem(p, "webhook %s/%s has a namespaceSelector other than the shipped one (it must only see the agents' namespace; fix: agentctl bootstrap re-applies it)",
			cfg, wh);
	if (svc && jpath_str(svc, "namespace") && jpath_str(svc, "name") &&
	    !endpoints_ready(in, jpath_str(svc, "namespace"), jpath_str(svc, "name")))
		problem(p, "webhook %s/%s: Service %s/%s has no ready endpoints, so agent pods cannot be created (fix: check Deployment vault/vault-agent-injector)",
			cfg, wh, jpath_str(svc, "namespace"), jpath_str(svc, "name"));
}

void
check_webhook(const struct checks_input *in, struct check_results *out)
{
	struct problems p = { 0 };
	const cJSON *o;
	size_t n = 0;

	if (!in->expected) {
		check_results_add(out, "webhook", false, STATUS_WARNING,
				  "cannot tell the webhook the stack ships: %s", or_q(in->expected_error));
		return;
	}
	cJSON_ArrayForEach(o, in->expected) {
		const char *name = md_str(o, "name");
		const cJSON *live, *w;

		if (!is_kind(o, "MutatingWebhookConfiguration") || !name)
			continue;
		n++;
		live = find_named(in->webhooks, NULL, name);
		if (!live) {
			problem(&p, "MutatingWebhookConfiguration %s is missing, agent pods start without their Vault secrets (fix: agentctl bootstrap)",
				name);
			continue;
		}
		cJSON_ArrayForEach(w, jpath_get(o, "webhooks")) {
			const cJSON *hw = NULL, *x;

			cJSON_ArrayForEach(x, jpath_get(live, "webhooks"))
				if (jpath_str(x, "name") && jpath_str(w, "name") && strcmp(jpath_str(x, "name"), jpath_str(w, "name")) == 0)
					hw = x;
			if (hw)
				webhook_entry(in, name, w, hw, &p);
			else
				problem(&p, "MutatingWebhookConfiguration %s lacks webhook %s (fix: agentctl bootstrap)", name,
					or_q(jpath_str(w, "name")));
		}
	}
	char ok[160];
	snprintf(ok, sizeof(ok), "%zu injector webhook configuration%s as shipped, caBundle set, endpoints ready", n,
		 n == 1 ? "" : "s");
	finish(out, &p, "webhook", STATUS_CRITICAL, ok);
}

/* ------------------------------------------------------------ vault-audit */

/* True when LINE is a Vault audit entry: a JSON object whose type is request
 * or response and which carries the request. */
static bool
audit_line(const char *line, size_t len)
{
	cJSON *j;
	const char *t;
	bool yes;

	if (len < 2 || line[0] != '{')
		return false;
	j = cJSON_ParseWithLength(line, len);
	t = jpath_str(j, "type");
	yes = t && (strcmp(t, "request") == 0 || strcmp(t, "response") == 0) && cJSON_IsObject(jpath_get(j, "request"));
	cJSON_Delete(j);
	return yes;
}

void
checks_vault_audit(const cJSON *sys_audit, const char *token_error, const char *log, const char *pod,
		   struct check_results *out)
{
	const cJSON *d;
	struct strbuf b = { 0 };

	if (sys_audit) {
		cJSON_ArrayForEach(d, sys_audit)
			if (cJSON_IsObject(d))
				strbuf_printf(&b, "%s%s (%s)", b.len ? ", " : "", d->string, or_q(jpath_str(d, "type")));
		if (b.len)
			check_results_add(out, "vault-audit", true, STATUS_CRITICAL, "audit device %s enabled", b.s);
		else
			check_results_add(out, "vault-audit", false, STATUS_CRITICAL,
					  "Vault has no audit device enabled: requests go unrecorded (fix: vault audit enable file file_path=stdout; agentctl bootstrap configures it)");
		free(b.s);
		return;
	}
	for (const char *l = log; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);

		if (audit_line(l, len)) {
			check_results_add(out, "vault-audit", true, STATUS_INFO,
					  "audit entries in %s's log (no Vault token to read sys/audit)", or_q(pod));
			return;
		}
		l += len + (e ? 1 : 0);
	}
	if (token_error)
		check_results_add(out, "vault-audit", false, STATUS_WARNING,
				  "cannot read sys/audit (%s) and no audit entry in %s's log", token_error, or_q(pod));
	else
		check_results_add(out, "vault-audit", false, STATUS_INFO,
				  "unknown: no Vault token to read sys/audit, and no audit entry in %s's log since it started (this clears at the first audited Vault request)",
				  or_q(pod));
}

int
checks_evaluate(const struct checks_input *in, struct check_results *out)
{
	check_pss_labels(in, out);
	check_pss_pods(in, out);
	check_pods(in, out);
	check_cron(in, out);
	check_secrets(in, out);
	check_quota(in, out);
	check_netpol(in, out);
	check_images(in, out);
	check_webhook(in, out);
	return out->oom ? -ENOMEM : 0;
}
