/* discover — stack presence and Vault seal state after the API came up. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <syslog.h>

#include "apiprobe.h"
#include "bootstrap.h"
#include "discover.h"
#include "http.h"
#include "kinds.h"
#include "kube.h"
#include "log.h"
#include "vault.h"

struct discover {
	struct ev_loop *loop;
	struct http_client *http;
	struct apiprobe *probe;
	struct supervisor *sv;
	struct status *st;
	struct config *const *cfgp;
	ev_timer again;
	bool running;
	struct vault *vault;
	cJSON *pods;		/* being built */
	unsigned waiting;	/* seal-status answers outstanding */
	char sealed_msg[512];
	bool any_sealed;
	struct bootstrap *bootstrap;	/* running */
	struct discover_watch *watches;	/* clients following it */
	bool init_unshown;		/* Vault initialised; no client has seen the keys yet */
	bool held;			/* a reset test tears the stack down: hands off */
};

struct discover_watch {
	struct discover_watch *next;
	struct bootstrap_ops ops;
	void *arg;
};

static void run(struct discover *d);

static void
schedule(struct discover *d)
{
	ev_timer_stop(d->loop, &d->again);
	ev_timer_set(&d->again, (double)(*d->cfgp)->verify.interval / 1000.0, 0.0);
	ev_timer_start(d->loop, &d->again);
}

static void
on_again(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct discover *d = w->data;
	if (supervisor_state(d->sv) != SV_WAIT_API && supervisor_state(d->sv) != SV_STARTING && !d->bootstrap)
		run(d);
}

static void
finish(struct discover *d, enum sv_state state, const char *reason)
{
	d->running = false;
	d->vault = vault_free(d->vault);
	/* The API went away while we looked: the probe owns wait-api, not us.  A
	 * look that began before a hold says nothing about the stack now. */
	const struct status_check *api = status_get(d->st, "api");
	if (api && api->ok && !d->held)
		supervisor_set_state(d->sv, state, reason);
	schedule(d);
}

/* No answer, rejected credentials or an unavailable server: the API is not usable. */
static bool
api_unusable(const struct kube_result *r)
{
	return r->err && (r->status == 0 || r->status == 401 || r->status == 503);
}

/* The API is gone again: the supervisor's business. */
static void
api_lost(struct discover *d, const struct kube_result *r)
{
	char reason[600];
	d->running = false;
	d->vault = vault_free(d->vault);
	cJSON_Delete(d->pods);
	d->pods = NULL;
	snprintf(reason, sizeof reason, "API lost during discovery: %s", r->message);
	supervisor_api_result(d->sv, false, reason);
}

static void
all_pods_answered(struct discover *d)
{
	int n = cJSON_GetArraySize(d->pods);
	supervisor_set_vault_pods(d->sv, d->pods);
	d->pods = NULL;
	if (n == 0) {
		status_set(d->st, "vault-sealed", false, STATUS_CRITICAL, "no running Vault server pod in namespace %s",
			   (*d->cfgp)->vault.namespace);
		finish(d, SV_DEGRADED, "no running Vault server pod");
		return;
	}
	if (d->any_sealed) {
		status_set(d->st, "vault-sealed", false, STATUS_CRITICAL, "%s", d->sealed_msg);
		finish(d, SV_VAULT_SEALED, d->sealed_msg);
		return;
	}
	status_set(d->st, "vault-sealed", true, STATUS_CRITICAL, "every Vault pod is initialised and unsealed");
	finish(d, status_all_ok(d->st) ? SV_HEALTHY : SV_DEGRADED,
	       status_all_ok(d->st) ? "stack present, every check passes" : "stack present, some check fails");
}

struct pod_ctx {
	struct discover *d;
	char name[254];
};

static void
on_seal(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct pod_ctx *pc = arg;
	struct discover *d = pc->d;
	cJSON *p = cJSON_CreateObject();
	if (p) {
		cJSON_AddStringToObject(p, "name", pc->name);
		cJSON_AddBoolToObject(p, "initialized", s && s->initialized);
		cJSON_AddBoolToObject(p, "sealed", !s || s->sealed);
		cJSON_AddNumberToObject(p, "progress", s ? s->progress : 0);
		cJSON_AddNumberToObject(p, "threshold", s ? s->t : 0);
		if (!s)
			cJSON_AddStringToObject(p, "error", r->message);
		cJSON_AddItemToArray(d->pods, p);
	}
	if (!s || s->sealed || !s->initialized) {
		size_t o = strlen(d->sealed_msg);
		if (!s)
			snprintf(d->sealed_msg + o, sizeof d->sealed_msg - o, "%s%s: seal status unknown (%s)",
				 o ? "; " : "", pc->name, r->message);
		else if (!s->initialized)
			snprintf(d->sealed_msg + o, sizeof d->sealed_msg - o, "%s%s is not initialised", o ? "; " : "",
				 pc->name);
		else
			snprintf(d->sealed_msg + o, sizeof d->sealed_msg - o, "%s%s is sealed (unseal progress %d/%d)",
				 o ? "; " : "", pc->name, s->progress, s->t);
		d->any_sealed = true;
	}
	free(pc);
	if (--d->waiting == 0)
		all_pods_answered(d);
}

static void
on_pods(void *arg, const struct kube_result *r)
{
	struct discover *d = arg;
	if (api_unusable(r)) {
		api_lost(d, r);
		return;
	}
	if (r->err) {
		char reason[600];
		snprintf(reason, sizeof reason, "cannot list Vault pods: %s", r->message);
		finish(d, SV_DEGRADED, reason);
		return;
	}
	const struct config *cfg = *d->cfgp;
	int rc = cfg->vault.address ? vault_new_direct(d->http, cfg->vault.address, NULL,
						       (long)cfg->api.request_timeout, &d->vault)
				    : vault_new_proxy(apiprobe_kube(d->probe), cfg->vault.namespace, cfg->vault.port,
						      &d->vault);
	d->pods = cJSON_CreateArray();
	if (rc < 0 || !d->pods) {
		finish(d, SV_DEGRADED, "out of memory");
		return;
	}
	d->waiting = 1;	/* held until every request is started */
	d->any_sealed = false;
	d->sealed_msg[0] = '\0';
	const cJSON *item;
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r->json, "items")) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(item, "status");
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
		const char *ip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "podIP"));
		if (!name || !ip || !*ip || cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp"))
			continue;	/* not running yet, or going away: nothing to ask */
		struct pod_ctx *pc = calloc(1, sizeof *pc);
		if (!pc)
			continue;
		pc->d = d;
		snprintf(pc->name, sizeof pc->name, "%s", name);
		d->waiting++;
		if (vault_seal_status(d->vault, name, on_seal, pc) < 0) {
			d->waiting--;
			free(pc);
		}
	}
	if (--d->waiting == 0)
		all_pods_answered(d);
}

static void
on_bootstrap_line(void *arg, const char *line)
{
	struct discover *d = arg;
	log_send(LOG_INFO, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap: %s", line);
	/* The line only names the file; the keys themselves never pass here. */
	if (strncmp(line, "vault: ", 7) == 0 && strstr(line, " initialised (") != NULL)
		d->init_unshown = true;
	for (struct discover_watch *w = d->watches; w; w = w->next)
		if (w->ops.progress)
			w->ops.progress(w->arg, line);
}

/* Every watch hears the end once and is freed. */
static void
watches_done(struct discover *d, int err, const char *msg)
{
	struct discover_watch *w = d->watches;
	d->watches = NULL;
	while (w) {
		struct discover_watch *next = w->next;
		w->ops.done(w->arg, err, msg);
		free(w);
		w = next;
	}
}

static void
on_bootstrap_done(void *arg, int err, const char *msg)
{
	struct discover *d = arg;
	d->bootstrap = NULL;
	watches_done(d, err, msg);
	if (err == 0) {
		log_send(LOG_NOTICE, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap complete: %s", msg);
		d->running = false;
		run(d);
		return;
	}
	log_send(LOG_ERR, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap stopped: %s", msg);
	finish(d, err == -EAGAIN ? SV_VAULT_SEALED : SV_DEGRADED, msg);
}

static void
start_bootstrap(struct discover *d, const char *why)
{
	static const struct bootstrap_ops ops = { on_bootstrap_line, on_bootstrap_done };
	char reason[700];
	if (d->bootstrap) {	/* one asked for by a client runs already */
		d->running = false;
		return;
	}
	snprintf(reason, sizeof reason, "bootstrapping: %s", why);
	supervisor_set_state(d->sv, SV_BOOTSTRAP, reason);
	log_send(LOG_NOTICE, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap starts: %s", why);
	if (bootstrap_start(d->loop, apiprobe_kube(d->probe), d->http, *d->cfgp, &ops, d, &d->bootstrap) < 0) {
		watches_done(d, -ENOMEM, "bootstrap could not start");
		finish(d, SV_DEGRADED, "bootstrap could not start");
	}
}

int
discover_bootstrap(struct discover *d, const struct bootstrap_ops *ops, void *arg, struct discover_watch **out,
		   char *why, size_t whysize)
{
	const struct status_check *api = status_get(d->st, "api");
	if (!apiprobe_kube(d->probe) || !api || !api->ok) {
		snprintf(why, whysize, "the Kubernetes API is not reachable yet (%s): see agentctl status",
			 api && api->message && api->message[0] ? api->message : "no answer so far");
		return -ENOTCONN;
	}
	struct discover_watch *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(why, whysize, "out of memory");
		return -ENOMEM;
	}
	w->ops = *ops;
	w->arg = arg;
	w->next = d->watches;
	d->watches = w;
	*out = w;
	if (!d->bootstrap)
		start_bootstrap(d, "requested with agentctl bootstrap");
	return 0;
}

void
discover_bootstrap_detach(struct discover *d, struct discover_watch *w)
{
	for (struct discover_watch **p = &d->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			free(w);
			return;
		}
}

bool
discover_take_init(struct discover *d)
{
	bool was = d->init_unshown;
	d->init_unshown = false;
	return was;
}

int
discover_hold(struct discover *d)
{
	if (d->bootstrap)
		return -EBUSY;
	d->held = true;
	ev_timer_stop(d->loop, &d->again);
	return 0;
}

void
discover_release(struct discover *d)
{
	if (!d->held)
		return;
	d->held = false;
	run(d);
	if (!d->running)
		schedule(d);
}

bool
discover_bootstrapping(const struct discover *d)
{
	return d->bootstrap != NULL;
}

static void
on_namespace(void *arg, const struct kube_result *r)
{
	struct discover *d = arg;
	const struct config *cfg = *d->cfgp;
	char reason[600];
	if (d->held) {
		finish(d, SV_BOOTSTRAP, "held");
		return;
	}
	if (r->err == -ENOENT) {
		snprintf(reason, sizeof reason, "stack absent: namespace %s does not exist", cfg->vault.namespace);
		start_bootstrap(d, reason);
		return;
	}
	if (r->err == 0 && bootstrap_needed(cfg, kube_kinds(apiprobe_kube(d->probe)), reason, sizeof reason)) {
		start_bootstrap(d, reason);
		return;
	}
	if (api_unusable(r)) {
		api_lost(d, r);
		return;
	}
	if (r->err) {
		snprintf(reason, sizeof reason, "cannot read namespace %s: %s", cfg->vault.namespace, r->message);
		finish(d, SV_DEGRADED, reason);
		return;
	}
	struct kube *k = apiprobe_kube(d->probe);
	int rc = kube_list(k, kinds_find(kube_kinds(k), "v1", "Pod"), cfg->vault.namespace, cfg->vault.selector, NULL,
			   on_pods, d, NULL);
	if (rc < 0)
		finish(d, SV_DEGRADED, "cannot list Vault pods");
}

static void
run(struct discover *d)
{
	struct kube *k = apiprobe_kube(d->probe);
	if (d->running || !k || d->held)
		return;
	d->running = true;
	int rc = kube_get(k, kinds_find(kube_kinds(k), "v1", "Namespace"), NULL, (*d->cfgp)->vault.namespace,
			  on_namespace, d, NULL);
	if (rc < 0) {
		d->running = false;
		supervisor_set_state(d->sv, SV_DEGRADED, "discovery could not start");
		schedule(d);
	}
}

static void
on_api_up(struct supervisor *sv, void *data)
{
	(void)sv;
	run(data);
}

struct discover *
discover_new(struct ev_loop *loop, struct http_client *http, struct apiprobe *probe, struct supervisor *sv,
	     struct status *st, struct config *const *cfgp)
{
	struct discover *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	*d = (struct discover){ .loop = loop, .http = http, .probe = probe, .sv = sv, .st = st, .cfgp = cfgp };
	ev_timer_init(&d->again, on_again, 0.0, 0.0);
	d->again.data = d;
	supervisor_set_api_up(sv, on_api_up, d);
	return d;
}

struct discover *
discover_free(struct discover *d)
{
	if (!d)
		return NULL;
	supervisor_set_api_up(d->sv, NULL, NULL);
	ev_timer_stop(d->loop, &d->again);
	bootstrap_cancel(d->bootstrap);
	while (d->watches) {
		struct discover_watch *w = d->watches;
		d->watches = w->next;
		free(w);
	}
	vault_free(d->vault);
	cJSON_Delete(d->pods);
	free(d);
	return NULL;
}
