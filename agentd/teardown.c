/* teardown.c — delete what agentd manages (namespaces, then cluster-scoped
 * objects), wait for 404s, report a stuck namespace instead of hanging. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "jpath.h"
#include "kube.h"
#include "render.h"
#include "teardown.h"

#define POLL_S 0.5
#define MANAGED_KEY "app.kubernetes.io/managed-by"
#define MAX_ITEMS 64

enum item_state { ITEM_TODO, ITEM_WAIT, ITEM_GONE, ITEM_SKIPPED };

struct item {
	const struct kind_info *ki;
	char name[254];
	bool stage_ns;		/* namespaces are stage 0, cluster objects stage 1 */
	enum item_state state;
	cJSON *last;		/* the last GET while waiting, for the stuck report */
};

/* The kinds listed by label, in deletion order within their stage. */
static const char *const listed[][2] = {
	{ "v1", "Namespace" },
	{ "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration" },
	{ "apiextensions.k8s.io/v1", "CustomResourceDefinition" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRoleBinding" },
	{ "rbac.authorization.k8s.io/v1", "ClusterRole" },
};
#define N_LISTED (sizeof listed / sizeof *listed)

struct teardown {
	struct ev_loop *loop;
	struct kube *k;
	char state_dir[1024];	/* copied: a reload may free the config meanwhile */
	char vault_ns[254];
	bool keep_vault_data;
	const struct teardown_ops *ops;
	void *arg;
	struct item items[MAX_ITEMS];
	size_t n;
	size_t listing;		/* index into listed[] while listing */
	int stage;		/* 0 namespaces, 1 cluster objects */
	size_t cur;		/* the item being handled */
	bool waiting;		/* in the wait pass of the stage */
	struct kube_call *pending;
	ev_timer poll, deadline;
	double deadline_s;
	cJSON *deleted, *skipped;
};

static void step(struct teardown *t);

static void
progress(struct teardown *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
progress(struct teardown *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!t->ops->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	t->ops->progress(t->arg, line);
}

static void
item_label(const struct item *it, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", it->ki->kind, it->name);
}

/* With keep_vault_data, Vault's namespace (its data, its pods) is not ours to delete. */
static bool
kept(bool keep_vault_data, const char *vault_ns, const char *kind, const char *name)
{
	return keep_vault_data && vault_ns && strcmp(kind, "Namespace") == 0 && strcmp(name, vault_ns) == 0;
}

static void
add_item(struct teardown *t, const struct kind_info *ki, const char *name)
{
	if (!ki || !name)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i].ki == ki && strcmp(t->items[i].name, name) == 0)
			return;
	if (t->n == MAX_ITEMS || strlen(name) >= sizeof t->items[0].name)
		return;
	if (kept(t->keep_vault_data, t->vault_ns, ki->kind, name))
		return;
	struct item *it = &t->items[t->n++];
	memset(it, 0, sizeof *it);
	it->ki = ki;
	snprintf(it->name, sizeof it->name, "%s", name);
	it->stage_ns = strcmp(ki->kind, "Namespace") == 0;
}

static cJSON *
stuck_report(const struct teardown *t)
{
	cJSON *a = cJSON_CreateArray();
	char label[300];

	for (size_t i = 0; a && i < t->n; i++) {
		const struct item *it = &t->items[i];
		if (it->state != ITEM_WAIT)
			continue;
		cJSON *o = cJSON_CreateObject(), *conds = cJSON_CreateArray(), *fins = cJSON_CreateArray(), *c;
		item_label(it, label, sizeof label);
		cJSON_AddStringToObject(o, "object", label);
		const cJSON *st = jpath_get(it->last, "status");
		const char *phase = jpath_str(st, "phase");
		cJSON_AddStringToObject(o, "phase", phase ? phase : "");
		cJSON_ArrayForEach(c, jpath_get(st, "conditions")) {
			cJSON *k = cJSON_CreateObject();
			static const char *const keys[] = { "type", "status", "reason", "message" };
			for (size_t j = 0; j < 4; j++) {
				const char *v = jpath_str(c, keys[j]);
				cJSON_AddStringToObject(k, keys[j], v ? v : "");
			}
			cJSON_AddItemToArray(conds, k);
		}
		/* Both kinds of finalizer hold a namespace: spec.finalizers ("kubernetes")
		 * and metadata.finalizers (anyone's). */
		const cJSON *lists[2] = { jpath_find(it->last, "spec.finalizers"),
					  jpath_find(it->last, "metadata.finalizers") };
		for (size_t j = 0; j < 2; j++)
			cJSON_ArrayForEach(c, lists[j]) if (cJSON_IsString(c))
				cJSON_AddItemToArray(fins, cJSON_CreateString(c->valuestring));
		cJSON_AddItemToObject(o, "conditions", conds);
		cJSON_AddItemToObject(o, "finalizers", fins);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static void
finish(struct teardown *t, int err, const char *message, const char *moved)
{
	cJSON *r = cJSON_CreateObject();

	ev_timer_stop(t->loop, &t->poll);
	ev_timer_stop(t->loop, &t->deadline);
	if (t->pending)
		kube_cancel(t->pending);
	t->pending = NULL;
	if (r) {
		cJSON_AddItemToObject(r, "deleted", t->deleted);
		cJSON_AddItemToObject(r, "skipped", t->skipped);
		t->deleted = t->skipped = NULL;
		cJSON_AddItemToObject(r, "stuck", stuck_report(t));
		if (moved)
			cJSON_AddStringToObject(r, "vault_init_moved_to", moved);
		else
			cJSON_AddNullToObject(r, "vault_init_moved_to");
	}
	const struct teardown_ops *ops = t->ops;
	void *arg = t->arg;
	teardown_cancel(t);
	ops->done(arg, err, message, r);
	cJSON_Delete(r);
}

static bool
managed(const cJSON *obj)
{
	const char *v = jpath_str(jpath_find(obj, "metadata.labels"), MANAGED_KEY);
	return v && strcmp(v, "agentd") == 0;
}

static void
api_failed(struct teardown *t, const char *what, const struct item *it, const struct kube_result *res)
{
	char msg[800], label[300];
	item_label(it, label, sizeof label);
	snprintf(msg, sizeof msg, "%s %s: %s", what, label, res->message && *res->message ? res->message : "failed");
	finish(t, res->err ? res->err : -EIO, msg, NULL);
}

static void
deleted_cb(void *arg, const struct kube_result *res)
{
	struct teardown *t = arg;
	struct item *it = &t->items[t->cur];
	char label[300];

	t->pending = NULL;
	if (res->err && res->err != -ENOENT) {
		api_failed(t, "delete", it, res);
		return;
	}
	item_label(it, label, sizeof label);
	cJSON_AddItemToArray(t->deleted, cJSON_CreateString(label));
	it->state = res->err ? ITEM_GONE : ITEM_WAIT;
	progress(t, "teardown: %s deleted", label);
	t->cur++;
	step(t);
}

static void
got_cb(void *arg, const struct kube_result *res)
{
	struct teardown *t = arg;
	struct item *it = &t->items[t->cur];
	char label[300];

	t->pending = NULL;
	item_label(it, label, sizeof label);
	if (res->err == -ENOENT) {
		if (it->state == ITEM_WAIT)
			progress(t, "teardown: %s gone", label);
		it->state = ITEM_GONE;
		t->cur++;
		step(t);
		return;
	}
	if (res->err) {
		/* While waiting, an API hiccup is retried on the next pass. */
		if (it->state == ITEM_WAIT) {
			t->cur++;
			step(t);
			return;
		}
		api_failed(t, "read", it, res);
		return;
	}
	if (it->state == ITEM_WAIT) {
		cJSON_Delete(it->last);
		it->last = cJSON_Duplicate(res->json, true);
		t->cur++;
		step(t);
		return;
	}
	if (!managed(res->json)) {
		char why[400];
		snprintf(why, sizeof why, "%s: not labelled %s=agentd, left alone", label, MANAGED_KEY);
		cJSON_AddItemToArray(t->skipped, cJSON_CreateString(why));
		progress(t, "teardown: %s", why);
		it->state = ITEM_SKIPPED;
		t->cur++;
		step(t);
		return;
	}
	const char *dts = jpath_str(jpath_get(res->json, "metadata"), "deletionTimestamp");
	if (dts) {
		/* An earlier (interrupted) run already deleted it: wait for it. */
		cJSON_AddItemToArray(t->deleted, cJSON_CreateString(label));
		it->last = cJSON_Duplicate(res->json, true);
		it->state = ITEM_WAIT;
		t->cur++;
		step(t);
		return;
	}
	if (kube_delete(t->k, it->ki, NULL, it->name, "Background", deleted_cb, t, &t->pending) < 0)
		finish(t, -ENOMEM, "could not send a delete", NULL);
}

static int
move_vault_init(struct teardown *t, char *moved, size_t size, char *msg, size_t msgsize)
{
	char path[1100], stamp[32];
	time_t now = time(NULL);
	struct tm tm;

	snprintf(path, sizeof path, "%s/vault-init.json", t->state_dir);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(moved, size, "%s.%s", path, stamp);
	if (rename(path, moved) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	int e = errno;
	snprintf(msg, msgsize, "move %s aside: %s", path, strerror(e));
	return -e;
}

static void
on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct teardown *t = w->data;
	(void)loop;
	(void)revents;
	t->cur = 0;
	step(t);
}

/* One call at a time: the next item of the current stage needing one, else the
 * next pass, stage, or the end. */
static void
step(struct teardown *t)
{
	/* Namespaces go one at a time, dependents first: one stuck on a finalizer
	 * stops the teardown there, with everything after it untouched. */
	bool ns_waiting = false;
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i].stage_ns && t->items[i].state == ITEM_WAIT)
			ns_waiting = true;
	for (; t->cur < t->n; t->cur++) {
		struct item *it = &t->items[t->cur];
		if (it->stage_ns != (t->stage == 0))
			continue;
		if ((it->state == ITEM_TODO && !(it->stage_ns && ns_waiting)) ||
		    (t->waiting && it->state == ITEM_WAIT)) {
			if (kube_get(t->k, it->ki, NULL, it->name, got_cb, t, &t->pending) < 0)
				finish(t, -ENOMEM, "could not send a request", NULL);
			return;
		}
	}
	bool remaining = false;
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i].stage_ns == (t->stage == 0) &&
		    (t->items[i].state == ITEM_WAIT || t->items[i].state == ITEM_TODO))
			remaining = true;
	if (remaining) {
		t->waiting = true;
		ev_timer_set(&t->poll, POLL_S, 0.0);
		ev_timer_start(t->loop, &t->poll);
		return;
	}
	if (t->stage == 0) {
		progress(t, "teardown: managed namespaces gone");
		t->stage = 1;
		t->waiting = false;
		t->cur = 0;
		step(t);
		return;
	}
	progress(t, "teardown: managed cluster-scoped objects gone");
	char moved[1200], msg[1400];
	int r = t->keep_vault_data ? 0 : move_vault_init(t, moved, sizeof moved, msg, sizeof msg);
	if (r < 0) {
		finish(t, r, msg, NULL);
		return;
	}
	if (r > 0)
		progress(t, "teardown: old Vault keys moved aside to %s", moved);
	finish(t, 0, "", r > 0 ? moved : NULL);
}

static void
listed_cb(void *arg, const struct kube_result *res)
{
	struct teardown *t = arg;
	const cJSON *o;

	t->pending = NULL;
	const struct kind_info *ki = kinds_find(kube_kinds(t->k), listed[t->listing][0], listed[t->listing][1]);
	/* A kind the server does not serve has nothing of ours. */
	if (res->err && res->err != -ENOENT) {
		char msg[800];
		snprintf(msg, sizeof msg, "list %s labelled %s=agentd: %s", listed[t->listing][1], MANAGED_KEY,
			 res->message);
		finish(t, res->err, msg, NULL);
		return;
	}
	cJSON_ArrayForEach(o, jpath_get(res->json, "items"))
		add_item(t, ki, jpath_str(jpath_get(o, "metadata"), "name"));
	t->listing++;
	while (t->listing < N_LISTED) {
		ki = kinds_find(kube_kinds(t->k), listed[t->listing][0], listed[t->listing][1]);
		if (ki) {
			if (kube_list(t->k, ki, NULL, "app.kubernetes.io/managed-by=agentd", NULL, listed_cb, t,
				      &t->pending) < 0)
				finish(t, -ENOMEM, "could not send a list", NULL);
			return;
		}
		t->listing++;
	}
	progress(t, "teardown: %zu managed objects to remove", t->n);
	t->cur = 0;
	step(t);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct teardown *t = w->data;
	char msg[300];
	(void)loop;
	(void)revents;
	snprintf(msg, sizeof msg, "teardown: not everything was gone within %.0f s", t->deadline_s);
	finish(t, -ETIMEDOUT, msg, NULL);
}

static bool
kind_is_listed(const struct kind_info *ki)
{
	for (size_t i = 0; i < N_LISTED; i++)
		if (strcmp(ki->kind, listed[i][1]) == 0)
			return true;
	return false;
}

/* The inventory from the rendered stack: its cluster-scoped objects of the listed
 * kinds (the namespaced ones go with their namespace), in reverse order of
 * creation (the agents' namespace before Vault's, the webhook before the CRDs).
 * The plan shows it and the teardown deletes it, in this order. */
static void
inventory(const struct manifest_stack *s, void (*fn)(void *arg, const struct manifest_object *m), void *arg)
{
	for (size_t i = s->count; i-- > 0;)
		for (size_t j = s->phases[i].count; j-- > 0;) {
			const struct manifest_object *m = &s->phases[i].objects[j];
			if (!m->namespace && m->info && kind_is_listed(m->info))
				fn(arg, m);
		}
}

struct plan {
	cJSON *namespaces, *cluster;
	bool keep_vault_data;
	const char *vault_ns;
};

static void
plan_add(void *arg, const struct manifest_object *m)
{
	struct plan *p = arg;
	char label[300];

	if (kept(p->keep_vault_data, p->vault_ns, m->kind, m->name))
		return;
	if (strcmp(m->kind, "Namespace") == 0) {
		cJSON_AddItemToArray(p->namespaces, cJSON_CreateString(m->name));
		return;
	}
	snprintf(label, sizeof label, "%s/%s", m->kind, m->name);
	cJSON_AddItemToArray(p->cluster, cJSON_CreateString(label));
}

int
teardown_plan(const struct config *cfg, struct kinds *kinds, bool keep_vault_data, cJSON **out, char **err)
{
	struct manifest_stack *s = NULL;
	int r = render_load(cfg->manifests, cfg->values, cfg->values_override, kinds, &s, err);
	if (r < 0)
		return r;
	cJSON *o = cJSON_CreateObject();
	struct plan p = { cJSON_CreateArray(), cJSON_CreateArray(), keep_vault_data, cfg->vault.namespace };
	char path[1024];
	inventory(s, plan_add, &p);
	manifest_stack_free(s);
	cJSON_AddItemToObject(o, "namespaces", p.namespaces);
	cJSON_AddItemToObject(o, "cluster", p.cluster);
	snprintf(path, sizeof path, "%s/vault-init.json", cfg->state_dir);
	if (keep_vault_data)
		cJSON_AddNullToObject(o, "vault_init");
	else
		cJSON_AddStringToObject(o, "vault_init", path);
	*out = o;
	return 0;
}

static void
start_add(void *arg, const struct manifest_object *m)
{
	add_item(arg, m->info, m->name);
}

int
teardown_start(struct ev_loop *loop, struct kube *k, const struct config *cfg, bool keep_vault_data,
	       double deadline_s, const struct teardown_ops *ops, void *arg, struct teardown **out, char **err)
{
	struct manifest_stack *s = NULL;
	int r = render_load(cfg->manifests, cfg->values, cfg->values_override, kube_kinds(k), &s, err);
	if (r < 0)
		return r;
	struct teardown *t = calloc(1, sizeof *t);
	if (!t) {
		manifest_stack_free(s);
		return -ENOMEM;
	}
	t->loop = loop;
	t->k = k;
	snprintf(t->state_dir, sizeof t->state_dir, "%s", cfg->state_dir);
	snprintf(t->vault_ns, sizeof t->vault_ns, "%s", cfg->vault.namespace ? cfg->vault.namespace : "");
	t->keep_vault_data = keep_vault_data;
	t->ops = ops;
	t->arg = arg;
	t->deadline_s = deadline_s;
	t->deleted = cJSON_CreateArray();
	t->skipped = cJSON_CreateArray();
	inventory(s, start_add, t);
	manifest_stack_free(s);
	ev_timer_init(&t->poll, on_poll, POLL_S, 0.0);
	t->poll.data = t;
	ev_timer_init(&t->deadline, on_deadline, deadline_s, 0.0);
	t->deadline.data = t;
	const struct kind_info *ki = kinds_find(kube_kinds(k), listed[0][0], listed[0][1]);
	if (!t->deleted || !t->skipped || !ki ||
	    kube_list(k, ki, NULL, "app.kubernetes.io/managed-by=agentd", NULL, listed_cb, t, &t->pending) < 0) {
		teardown_cancel(t);
		return -ENOMEM;
	}
	ev_timer_start(loop, &t->deadline);
	if (out)
		*out = t;
	return 0;
}

void
teardown_cancel(struct teardown *t)
{
	if (!t)
		return;
	ev_timer_stop(t->loop, &t->poll);
	ev_timer_stop(t->loop, &t->deadline);
	if (t->pending)
		kube_cancel(t->pending);
	for (size_t i = 0; i < t->n; i++)
		cJSON_Delete(t->items[i].last);
	cJSON_Delete(t->deleted);
	cJSON_Delete(t->skipped);
	free(t);
}
