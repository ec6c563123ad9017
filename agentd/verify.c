/* verify — watches, the object cache, and when the checks run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiprobe.h"
#include "bootstrap.h"
#include "checks.h"
#include "clock.h"
#include "jpath.h"
#include "kinds.h"
#include "kube.h"
#include "log.h"
#include "metrics.h"
#include "render.h"
#include "rfc3339.h"
#include "vault.h"
#include "verify.h"
#include "wipe.h"

#define MAX_SPANS 16
#define MAX_WAITERS 32
#define AUDIT_LOG_LINES "5000"

enum wk {
	WK_NAMESPACE, WK_WEBHOOK, WK_POD, WK_DEPLOYMENT, WK_STATEFULSET, WK_JOB, WK_CRONJOB, WK_EVENT,
	WK_QUOTA, WK_NETPOL, WK_ENDPOINTS, WK_SECRET, WK_COUNT,
};

static const struct {
	const char *api_version, *kind;
	bool cluster;
} watched[WK_COUNT] = {
	[WK_NAMESPACE] = { "v1", "Namespace", true },
	[WK_WEBHOOK] = { "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", true },
	[WK_POD] = { "v1", "Pod", false },
	[WK_DEPLOYMENT] = { "apps/v1", "Deployment", false },
	[WK_STATEFULSET] = { "apps/v1", "StatefulSet", false },
	[WK_JOB] = { "batch/v1", "Job", false },
	[WK_CRONJOB] = { "batch/v1", "CronJob", false },
	[WK_EVENT] = { "v1", "Event", false },
	[WK_QUOTA] = { "v1", "ResourceQuota", false },
	[WK_NETPOL] = { "networking.k8s.io/v1", "NetworkPolicy", false },
	[WK_ENDPOINTS] = { "v1", "Endpoints", false },
	[WK_SECRET] = { "v1", "Secret", false },
};

struct vwatch {
	struct verify *v;
	enum wk kind;
	char *ns;			/* NULL for cluster-scoped kinds */
	struct kube_watch *w;
	cJSON *objs;			/* object: name -> stored object */
	bool listed;			/* objs holds a full list */
	struct vwatch *next;
};

struct zone {
	char *name;
	struct tz *tz;
	struct zone *next;
};

struct waiter {
	verify_done_fn done;
	void *data;
};

struct verify {
	struct ev_loop *loop;
	struct apiprobe *probe;
	struct supervisor *sv;
	struct status *st;
	struct config *const *cfgp;
	const struct config *rendered_for;
	struct kube *kube;		/* the client the watches run on */
	cJSON *expected;		/* rendered stack objects */
	char *expected_error;
	struct vwatch *watches;
	struct zone *zones;
	ev_timer tick, debounce, deadline, relist;
	int64_t newest_seen;		/* newest server timestamp seen: the cluster's clock */
	struct checks_span spans[MAX_SPANS];
	size_t n_spans;
	/* vault-audit read in flight */
	struct vault *vault;
	struct kube_call *log_call;
	bool audit_pending;
	unsigned audit_ticks;		/* ticks since the last read */
	struct waiter waiters[MAX_WAITERS];
	size_t n_waiters;
	verify_gone_fn gone;
	void *gone_data;
};

/* ------------------------------------------------------------ the expected stack */

static void
render_expected(struct verify *v)
{
	const struct config *cfg = *v->cfgp;
	struct manifest_stack *ms = NULL;
	char *err = NULL;
	int r;

	v->rendered_for = cfg;
	cJSON_Delete(v->expected);
	v->expected = NULL;
	free(v->expected_error);
	v->expected_error = NULL;
	r = render_load(cfg->manifests, cfg->values, cfg->values_override, kube_kinds(v->kube), &ms, &err);
	if (r < 0) {
		v->expected_error = err ? err : strdup(strerror(-r));
		return;
	}
	v->expected = cJSON_CreateArray();
	for (size_t i = 0; v->expected && i < ms->count; i++) {
		const struct manifest_phase *ph = &ms->phases[i];

		if (ph->error && !v->expected_error)
			v->expected_error = strdup(ph->error);
		for (size_t j = 0; j < ph->count; j++)
			cJSON_AddItemToArray(v->expected, cJSON_Duplicate(ph->objects[j].obj, true));
	}
	manifest_stack_free(ms);
	if (v->expected_error)
		log_warning("verify: the stack does not render, checks compare against what does: %s", v->expected_error);
}

/* The namespaces of the rendered stack (borrowed strings). */
static size_t
managed(const struct verify *v, const char **out, size_t max)
{
	const cJSON *o;
	size_t n = 0;

	cJSON_ArrayForEach(o, v->expected)
		if (jpath_str(o, "kind") && strcmp(jpath_str(o, "kind"), "Namespace") == 0 && jpath_str(jpath_get(o, "metadata"), "name") &&
		    n < max)
			out[n++] = jpath_str(jpath_get(o, "metadata"), "name");
	return n;
}

/* ------------------------------------------------------------ the cache */

static void schedule_eval(struct verify *v);

static void
note_time(struct verify *v, const char *s)
{
	int64_t t;

	if (s && rfc3339_parse(s, &t) == 0 && t > v->newest_seen)
		v->newest_seen = t;
}

/* Server timestamps on an object: the newest tells the cluster's time (the
 * simulator's clock may run fast; a real cluster's is ours). */
static void
note_times(struct verify *v, const cJSON *obj)
{
	const cJSON *mf;

	note_time(v, jpath_str(jpath_get(obj, "metadata"), "creationTimestamp"));
	note_time(v, jpath_str(obj, "lastTimestamp"));
	cJSON_ArrayForEach(mf, jpath_get(jpath_get(obj, "metadata"), "managedFields"))
		note_time(v, jpath_str(mf, "time"));
}

/* What the cache keeps of OBJ: a copy with apiVersion and kind set; for a
 * Secret only its name, namespace and type (never its data). */
static cJSON *
stored(enum wk kind, const cJSON *obj)
{
	cJSON *c;

	if (kind == WK_SECRET) {
		const cJSON *md = jpath_get(obj, "metadata");
		cJSON *m;

		c = cJSON_CreateObject();
		m = c ? cJSON_AddObjectToObject(c, "metadata") : NULL;
		if (!m)
			return cJSON_Delete(c), NULL;
		cJSON_AddStringToObject(m, "name", jpath_str(md, "name") ? jpath_str(md, "name") : "");
		cJSON_AddStringToObject(m, "namespace", jpath_str(md, "namespace") ? jpath_str(md, "namespace") : "");
		cJSON_AddStringToObject(c, "type", jpath_str(obj, "type") ? jpath_str(obj, "type") : "Opaque");
	} else {
		c = cJSON_Duplicate(obj, true);
		if (!c)
			return NULL;
		cJSON_DeleteItemFromObjectCaseSensitive(c, "apiVersion");
		cJSON_DeleteItemFromObjectCaseSensitive(c, "kind");
	}
	cJSON_AddStringToObject(c, "apiVersion", watched[kind].api_version);
	cJSON_AddStringToObject(c, "kind", watched[kind].kind);
	return c;
}

/* Events matter only when they explain a failure. */
static bool
wanted(enum wk kind, const cJSON *obj)
{
	const char *r = jpath_str(obj, "reason");

	return kind != WK_EVENT || (r && (strcmp(r, "FailedCreate") == 0 || strcmp(r, "TooManyMissedTimes") == 0));
}

static void
cache_put(struct vwatch *w, const cJSON *obj)
{
	const char *name = jpath_str(jpath_get(obj, "metadata"), "name");
	cJSON *c;

	note_times(w->v, obj);
	if (!name || !wanted(w->kind, obj))
		return;
	c = stored(w->kind, obj);
	if (!c)
		return;
	if (cJSON_GetObjectItemCaseSensitive(w->objs, name))
		cJSON_ReplaceItemInObjectCaseSensitive(w->objs, name, c);
	else
		cJSON_AddItemToObject(w->objs, name, c);
}

/* Vault's namespace missing from the watched namespaces: the stack is gone,
 * discovery decides what follows (it bootstraps an absent stack). */
static void
check_gone(const struct vwatch *w)
{
	struct verify *v = w->v;

	if (w->kind == WK_NAMESPACE && v->gone &&
	    !cJSON_GetObjectItemCaseSensitive(w->objs, (*v->cfgp)->vault.namespace))
		v->gone(v->gone_data);
}

static void
on_list(void *arg, const cJSON *items)
{
	struct vwatch *w = arg;
	cJSON *fresh = cJSON_CreateObject(), *old = w->objs;
	const cJSON *it;

	if (!fresh)
		return;
	w->objs = fresh;
	w->listed = true;
	cJSON_ArrayForEach(it, items)
		cache_put(w, it);
	cJSON_Delete(old);
	check_gone(w);
	schedule_eval(w->v);
}

static void
on_event(void *arg, const char *type, const cJSON *obj)
{
	struct vwatch *w = arg;
	const char *name = jpath_str(jpath_get(obj, "metadata"), "name");

	if (strcmp(type, "DELETED") == 0) {
		if (name)
			cJSON_DeleteItemFromObjectCaseSensitive(w->objs, name);
		if (name && strcmp(name, (*w->v->cfgp)->vault.namespace) == 0)
			check_gone(w);
	} else {
		cache_put(w, obj);
	}
	schedule_eval(w->v);
}

static void
on_watch_error(void *arg, const struct kube_result *res)
{
	struct vwatch *w = arg;

	log_debug("verify: watch of %s%s%s: %s", watched[w->kind].kind, w->ns ? " in " : "", w->ns ? w->ns : "",
		  res->message);
}

static const struct kube_watch_ops watch_ops = { on_list, on_event, on_watch_error };

static int
watch_one(struct verify *v, enum wk kind, const char *ns)
{
	struct vwatch *w = calloc(1, sizeof(*w));
	const struct kind_info *ki = kinds_find(kube_kinds(v->kube), watched[kind].api_version, watched[kind].kind);

	if (!w || !ki || (ns && !(w->ns = strdup(ns))) || !(w->objs = cJSON_CreateObject())) {
		if (w)
			free(w->ns);
		free(w);
		return -ENOMEM;
	}
	w->v = v;
	w->kind = kind;
	w->next = v->watches;
	v->watches = w;
	return kube_watch_start(v->kube, ki, ns, NULL, &watch_ops, w, &w->w);
}

static void
stop_watches(struct verify *v)
{
	while (v->watches) {
		struct vwatch *w = v->watches;

		v->watches = w->next;
		kube_watch_stop(w->w);
		cJSON_Delete(w->objs);
		free(w->ns);
		free(w);
	}
}

static void
start_watches(struct verify *v)
{
	const char *ns[16];
	size_t n = managed(v, ns, 16);

	for (int k = 0; k < WK_COUNT; k++) {
		if (watched[k].cluster) {
			if (watch_one(v, (enum wk)k, NULL) < 0)
				log_error("verify: cannot watch %s", watched[k].kind);
			continue;
		}
		for (size_t i = 0; i < n; i++)
			if (watch_one(v, (enum wk)k, ns[i]) < 0)
				log_error("verify: cannot watch %s in %s", watched[k].kind, ns[i]);
	}
}

/* Every object of KIND, as one array of references (cJSON_Delete frees the array only). */
static cJSON *
gather(const struct verify *v, enum wk kind)
{
	cJSON *arr = cJSON_CreateArray();
	const struct vwatch *w;
	const cJSON *o;

	for (w = v->watches; arr && w; w = w->next)
		if (w->kind == kind)
			cJSON_ArrayForEach(o, w->objs)
				cJSON_AddItemReferenceToArray(arr, (cJSON *)(uintptr_t)o);
	return arr;
}

/* ------------------------------------------------------------ evaluation */

static int
load_zone(void *data, const char *name, const struct tz **zone, char *err, size_t errsize)
{
	struct verify *v = data;
	struct zone *z;
	char *msg = NULL;
	struct tz *tz;
	int r;

	for (z = v->zones; z; z = z->next)
		if (strcmp(z->name, name) == 0) {
			*zone = z->tz;
			return 0;
		}
	r = tz_load(name, &tz, &msg);
	if (r < 0) {
		snprintf(err, errsize, "%s", msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	z = calloc(1, sizeof(*z));
	if (!z || !(z->name = strdup(name))) {
		free(z);
		tz_free(tz);
		return -ENOMEM;
	}
	z->tz = tz;
	z->next = v->zones;
	v->zones = z;
	*zone = tz;
	return 0;
}

static int64_t
cluster_now(const struct verify *v)
{
	int64_t now = (int64_t)(clock_now_usec() / 1000000);

	return v->newest_seen > now ? v->newest_seen : now;
}

/* Keeps the spans in which the vault-sealed check failed. */
static void
track_sealed(struct verify *v, int64_t now)
{
	const struct status_check *c = status_get(v->st, "vault-sealed");
	bool sealed = c && !c->ok, open = v->n_spans && v->spans[v->n_spans - 1].to == 0;

	if (sealed && !open) {
		if (v->n_spans == MAX_SPANS) {
			memmove(v->spans, v->spans + 1, (MAX_SPANS - 1) * sizeof(v->spans[0]));
			v->n_spans--;
		}
		v->spans[v->n_spans++] = (struct checks_span){ .from = now, .to = 0 };
	} else if (!sealed && open) {
		v->spans[v->n_spans - 1].to = now;
	}
}

static bool
verifying(const struct verify *v)
{
	enum sv_state s = supervisor_state(v->sv);

	return v->kube && (s == SV_HEALTHY || s == SV_DEGRADED || s == SV_VAULT_SEALED);
}

/* Until every watch has listed once, a missing object only means "not seen yet". */
static bool
all_listed(const struct verify *v)
{
	for (const struct vwatch *w = v->watches; w; w = w->next)
		if (!w->listed)
			return false;
	return v->watches != NULL;
}

static void
update_state(struct verify *v)
{
	enum sv_state s = supervisor_state(v->sv);
	char failing[500], reason[512];

	if (s != SV_HEALTHY && s != SV_DEGRADED)
		return;
	status_failing(v->st, false, failing, sizeof failing);
	snprintf(reason, sizeof reason, "failing: %s", failing);
	if (status_all_ok(v->st))
		supervisor_set_state(v->sv, SV_HEALTHY, "every check passes");
	else
		supervisor_set_state(v->sv, SV_DEGRADED, reason);
}

static void
write_metrics(struct verify *v)
{
	const char *path = (*v->cfgp)->metrics.textfile;
	char *text, *err = NULL;

	if (!path)
		return;
	text = metrics_format(v->st, supervisor_state(v->sv), supervisor_since(v->sv));
	if (text && metrics_write(path, text, &err) < 0) {
		log_warning("%s", err ? err : "metrics: cannot write the textfile");
		free(err);
	}
	free(text);
}

static bool
is_ours(const char *name)
{
	return strncmp(name, "cron-", 5) == 0;
}

static void
evaluate(struct verify *v)
{
	cJSON *arr[WK_COUNT];
	struct check_results res = { 0 };
	const struct config *cfg = *v->cfgp;
	const struct status_check *sealed = status_get(v->st, "vault-sealed");
	int64_t now = cluster_now(v), when;

	if (!verifying(v) || !all_listed(v))
		return;
	track_sealed(v, now);
	for (int k = 0; k < WK_COUNT; k++)
		arr[k] = gather(v, (enum wk)k);
	struct checks_input in = {
		.expected = v->expected, .expected_error = v->expected_error,
		.namespaces = arr[WK_NAMESPACE], .pods = arr[WK_POD], .deployments = arr[WK_DEPLOYMENT],
		.statefulsets = arr[WK_STATEFULSET], .jobs = arr[WK_JOB], .cronjobs = arr[WK_CRONJOB],
		.events = arr[WK_EVENT], .quotas = arr[WK_QUOTA], .netpols = arr[WK_NETPOL],
		.webhooks = arr[WK_WEBHOOK], .endpoints = arr[WK_ENDPOINTS], .secrets = arr[WK_SECRET],
		.vault_namespace = cfg->vault.namespace, .now = now, .grace = (int64_t)(cfg->verify.grace / 1000),
		.quota_threshold = VERIFY_QUOTA_THRESHOLD, .vault_sealed = sealed && !sealed->ok,
		.sealed = v->spans, .n_sealed = v->n_spans, .load_zone = load_zone, .zone_data = v,
	};
	if (checks_evaluate(&in, &res) < 0)
		log_error("verify: out of memory while evaluating the checks");
	for (size_t i = 0; i < res.n; i++)
		status_set(v->st, res.v[i].name, res.v[i].ok, res.v[i].severity, "%s", res.v[i].message);
	/* A CronJob deleted or suspended: its check goes away. */
	for (size_t i = status_count(v->st); i-- > 0;) {
		const char *name = status_at(v->st, i)->name;
		bool found = false;

		for (size_t j = 0; j < res.n && !found; j++)
			found = strcmp(res.v[j].name, name) == 0;
		if (is_ours(name) && !found && !res.oom)
			status_remove(v->st, name);
	}
	ev_timer_stop(v->loop, &v->deadline);
	if (checks_cron_deadline(&in, &when) == 0) {
		ev_timer_set(&v->deadline, (double)(when - now) + 1.0, 0.0);
		ev_timer_start(v->loop, &v->deadline);
	}
	check_results_clear(&res);
	for (int k = 0; k < WK_COUNT; k++)
		cJSON_Delete(arr[k]);
	update_state(v);
	write_metrics(v);
}

static void
schedule_eval(struct verify *v)
{
	if (!ev_is_active(&v->debounce)) {
		ev_timer_set(&v->debounce, VERIFY_DEBOUNCE, 0.0);
		ev_timer_start(v->loop, &v->debounce);
	}
}

static void
debounce_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	evaluate(t->data);
}

/* ------------------------------------------------------------ vault-audit */

static void
audit_done(struct verify *v, const cJSON *sys_audit, const char *token_error, const char *log, const char *pod)
{
	struct check_results res = { 0 };
	size_t n = v->n_waiters;
	struct waiter w[MAX_WAITERS];

	v->audit_pending = false;
	v->vault = vault_free(v->vault);
	v->log_call = NULL;
	if (verifying(v)) {
		checks_vault_audit(sys_audit, token_error, log, pod, &res);
		for (size_t i = 0; i < res.n; i++)
			status_set(v->st, res.v[i].name, res.v[i].ok, res.v[i].severity, "%s", res.v[i].message);
		check_results_clear(&res);
		update_state(v);
		write_metrics(v);
	}
	memcpy(w, v->waiters, n * sizeof(w[0]));
	v->n_waiters = 0;
	for (size_t i = 0; i < n; i++)
		w[i].done(w[i].data);
}

/* The Vault server pod: in Vault's namespace, owned by a StatefulSet, running. */
static const cJSON *
vault_pod(const struct verify *v)
{
	const struct vwatch *w;
	const cJSON *p, *ref;

	for (w = v->watches; w; w = w->next) {
		if (w->kind != WK_POD || !w->ns || strcmp(w->ns, (*v->cfgp)->vault.namespace) != 0)
			continue;
		cJSON_ArrayForEach(p, w->objs)
			cJSON_ArrayForEach(ref, jpath_get(jpath_get(p, "metadata"), "ownerReferences"))
				if (jpath_str(ref, "kind") && strcmp(jpath_str(ref, "kind"), "StatefulSet") == 0 &&
				    jpath_str(jpath_get(p, "status"), "podIP"))
					return p;
	}
	return NULL;
}

struct log_ctx {
	struct verify *v;
	char pod[254];
};

static void
on_log(void *arg, const struct kube_result *r)
{
	struct log_ctx *lc = arg;
	char why[600];

	if (r->err) {
		snprintf(why, sizeof(why), "cannot read the log of %s: %s", lc->pod, r->message);
		audit_done(lc->v, NULL, why, NULL, lc->pod);
	} else {
		audit_done(lc->v, NULL, NULL, r->body, lc->pod);
	}
	free(lc);
}

static void
read_log(struct verify *v, const char *why_no_token)
{
	const cJSON *pod = vault_pod(v);
	const char *name = jpath_str(jpath_get(pod, "metadata"), "name");
	const char *ctr = jpath_str(cJSON_GetArrayItem(jpath_get(jpath_get(pod, "spec"), "containers"), 0), "name");
	struct log_ctx *lc;
	char path[1024];

	if (!name || !ctr) {
		audit_done(v, NULL, why_no_token ? why_no_token : "no running Vault server pod to read", NULL, "vault");
		return;
	}
	lc = calloc(1, sizeof(*lc));
	if (lc) {
		lc->v = v;
		snprintf(lc->pod, sizeof(lc->pod), "%s", name);
	}
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=" AUDIT_LOG_LINES,
		 (*v->cfgp)->vault.namespace, name, ctr);
	if (!lc || kube_request(v->kube, "GET", path, NULL, NULL, NULL, 0, false, on_log, lc, &v->log_call) < 0) {
		free(lc);
		audit_done(v, NULL, "cannot request the Vault log", NULL, name);
	}
}

static void
on_sys_audit(void *arg, const struct vault_reply *r)
{
	struct verify *v = arg;
	const cJSON *data = jpath_get(r->json, "data");
	char why[600];

	if (r->err) {
		snprintf(why, sizeof(why), "%s", r->message);
		v->vault = vault_free(v->vault);
		read_log(v, why);
		return;
	}
	audit_done(v, cJSON_IsObject(data) ? data : r->json, NULL, NULL, "vault");
}

static void
read_audit(struct verify *v)
{
	const struct config *cfg = *v->cfgp;
	const cJSON *pod;
	char *tok;

	if (v->audit_pending)
		return;
	v->audit_pending = true;
	tok = bootstrap_saved_root_token(cfg->state_dir);
	pod = vault_pod(v);
	if (tok && pod && jpath_str(jpath_get(pod, "metadata"), "name") &&
	    vault_new_proxy(v->kube, cfg->vault.namespace, cfg->vault.port, &v->vault) == 0 &&
	    vault_read(v->vault, jpath_str(jpath_get(pod, "metadata"), "name"), tok, "sys/audit", on_sys_audit, v) == 0) {
		wipe_free_str(tok);
		return;
	}
	wipe_free_str(tok);
	v->vault = vault_free(v->vault);
	read_log(v, NULL);
}

/* ------------------------------------------------------------ timers */

/* No watch sees an audit device disabled (only a root token's holder can): read
 * every VERIFY_AUDIT_FACTOR ticks, and at every tick until the check passes. */
static bool
audit_due(struct verify *v)
{
	const struct status_check *c = status_get(v->st, "vault-audit");

	if (c && c->ok && ++v->audit_ticks < VERIFY_AUDIT_FACTOR)
		return false;
	v->audit_ticks = 0;
	return true;
}

static void
ensure_started(struct verify *v)
{
	struct kube *k = apiprobe_kube(v->probe);

	if (k != v->kube) {
		stop_watches(v);
		v->kube = k;
		v->rendered_for = NULL;
	}
	if (!verifying(v))
		return;
	if (v->rendered_for != *v->cfgp) {
		stop_watches(v);
		render_expected(v);
	}
	/* Without the rendered stack there is nothing to compare against and no
	 * managed namespace to watch: the render error was logged. */
	if (!v->watches && v->expected && cJSON_GetArraySize(v->expected) > 0)
		start_watches(v);
}

static void
tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct verify *v = t->data;

	(void)loop;
	(void)revents;
	ensure_started(v);
	if (all_listed(v)) {
		evaluate(v);
		if (audit_due(v))
			read_audit(v);
	}
	ev_timer_set(t, (double)(*v->cfgp)->verify.interval / 1000.0, 0.0);
	ev_timer_start(v->loop, t);
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	evaluate(t->data);
}

static void
relist_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct verify *v = t->data;

	(void)loop;
	(void)revents;
	/* The safety net: whatever a watch may have missed, a fresh list has. */
	for (struct vwatch *w = v->watches; w; w = w->next) {
		const struct kind_info *ki = kinds_find(kube_kinds(v->kube), watched[w->kind].api_version,
							watched[w->kind].kind);

		kube_watch_stop(w->w);
		w->w = NULL;
		if (ki && kube_watch_start(v->kube, ki, w->ns, NULL, &watch_ops, w, &w->w) < 0)
			log_error("verify: cannot watch %s again", watched[w->kind].kind);
	}
	ev_timer_set(t, (double)(*v->cfgp)->verify.interval * VERIFY_RELIST_FACTOR / 1000.0, 0.0);
	ev_timer_start(v->loop, t);
}

int
verify_run(struct verify *v, verify_done_fn done, void *data)
{
	ensure_started(v);
	if (!all_listed(v) || !verifying(v))
		return -EAGAIN;
	if (v->n_waiters == MAX_WAITERS)
		return -EBUSY;
	evaluate(v);
	v->waiters[v->n_waiters++] = (struct waiter){ done, data };
	read_audit(v);
	return 0;
}

void
verify_on_gone(struct verify *v, verify_gone_fn fn, void *data)
{
	v->gone = fn;
	v->gone_data = data;
}

void
verify_cancel(struct verify *v, void *data)
{
	for (size_t i = 0; i < v->n_waiters; i++)
		if (v->waiters[i].data == data) {
			memmove(&v->waiters[i], &v->waiters[i + 1], (v->n_waiters - i - 1) * sizeof(v->waiters[0]));
			v->n_waiters--;
			return;
		}
}

struct verify *
verify_new(struct ev_loop *loop, struct apiprobe *probe, struct supervisor *sv, struct status *st,
	   struct config *const *cfgp)
{
	struct verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	*v = (struct verify){ .loop = loop, .probe = probe, .sv = sv, .st = st, .cfgp = cfgp };
	ev_timer_init(&v->tick, tick_cb, 1.0, 0.0);
	ev_timer_init(&v->debounce, debounce_cb, VERIFY_DEBOUNCE, 0.0);
	ev_timer_init(&v->deadline, deadline_cb, 1.0, 0.0);
	ev_timer_init(&v->relist, relist_cb, (double)(*cfgp)->verify.interval * VERIFY_RELIST_FACTOR / 1000.0, 0.0);
	v->tick.data = v->debounce.data = v->deadline.data = v->relist.data = v;
	ev_timer_start(loop, &v->tick);
	ev_timer_start(loop, &v->relist);
	return v;
}

struct verify *
verify_free(struct verify *v)
{
	if (!v)
		return NULL;
	ev_timer_stop(v->loop, &v->tick);
	ev_timer_stop(v->loop, &v->debounce);
	ev_timer_stop(v->loop, &v->deadline);
	ev_timer_stop(v->loop, &v->relist);
	if (v->log_call)
		kube_cancel(v->log_call);
	vault_free(v->vault);
	stop_watches(v);
	while (v->zones) {
		struct zone *z = v->zones;

		v->zones = z->next;
		tz_free(z->tz);
		free(z->name);
		free(z);
	}
	cJSON_Delete(v->expected);
	free(v->expected_error);
	free(v);
	return NULL;
}
