/* discover — stack presence after the API came up; the Vault verdict is the watcher's. */
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
#include "vaultwatch.h"

struct discover {
	struct ev_loop *loop;
	struct http_client *http;
	struct apiprobe *probe;
	struct supervisor *sv;
	struct status *st;
	struct config *const *cfgp;
	ev_timer again;
	bool running;
	bool present;		/* the last look found the stack: watches tell what changes */
	bool recheck;		/* asked to look again while a look was under way */
	bool looking;		/* waiting for the Vault watcher's first verdict */
	struct vaultwatch *vw;	/* owns the Vault pods and the vault-sealed check */
	struct bootstrap *bootstrap;	/* running */
	const struct config *boot_cfg;	/* the config it borrowed */
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

/* Until a look finds the stack (a bootstrap failed, the API answered oddly),
 * look again every verify.interval.  Once it is there, verify's namespace
 * watch, the Vault watcher and the API probe report what changes
 * (discover_recheck); the timer is only a safety net. */
static void
schedule(struct discover *d)
{
	double every = (double)(*d->cfgp)->verify.interval / 1000.0;
	ev_timer_stop(d->loop, &d->again);
	ev_timer_set(&d->again, d->recheck ? 0.0 : d->present ? every * DISCOVER_SAFETY_FACTOR : every, 0.0);
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
finish(struct discover *d, enum sv_state state, const char *reason, bool present)
{
	d->running = false;
	d->present = present;
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
	snprintf(reason, sizeof reason, "API lost during discovery: %s", r->message);
	supervisor_api_result(d->sv, false, reason);
}

static void
on_verdict(enum vaultwatch_verdict verdict, const char *message, void *data)
{
	struct discover *d = data;

	d->looking = false;
	switch (verdict) {
	case VAULTWATCH_NO_POD:
		finish(d, SV_DEGRADED, "no running Vault server pod", true);
		return;
	case VAULTWATCH_NOT_UNSEALED:
		finish(d, SV_VAULT_SEALED, message, true);
		return;
	case VAULTWATCH_PENDING:
		/* Not a failure: a state the stack is in already stays. */
		if (supervisor_state(d->sv) == SV_STARTING || supervisor_state(d->sv) == SV_WAIT_API)
			finish(d, SV_VAULT_SEALED, message, true);
		else
			finish(d, supervisor_state(d->sv), message, true);
		return;
	case VAULTWATCH_UNSEALED:
		break;
	}
	finish(d, status_all_ok(d->st) ? SV_HEALTHY : SV_DEGRADED,
	       status_all_ok(d->st) ? "stack present, every check passes" : "stack present, some check fails", true);
}

/* The stack is there: what state it is in follows from Vault, which the
 * watcher reads (one source of truth for the seal state). */
static void
look_at_vault(struct discover *d)
{
	if (!d->vw || vaultwatch_first_look(d->vw, on_verdict, d) < 0) {
		d->looking = false;
		finish(d, SV_DEGRADED, "cannot watch the Vault pods", false);
		return;
	}
	d->looking = true;
}

static void
on_bootstrap_line(void *arg, const char *line)
{
	struct discover *d = arg;
	log_send(LOG_INFO, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap: %s", line);
	/* The line only names the file; the keys themselves never pass here. */
	if (strncmp(line, "vault: ", 7) == 0 && strstr(line, " initialised (") != NULL)
		d->init_unshown = true;
	/* While the bootstrap holds the keys and unseals, a sealed Vault is its
	 * business: the watcher neither warns nor asks for a key. */
	if (d->vw && strncmp(line, "vault: ", 7) == 0) {
		if (strstr(line, " is not initialised: initialising") || strstr(line, " is sealed: unsealing with the keys"))
			vaultwatch_bootstrap_unsealing(d->vw, true);
		else if (strstr(line, " unsealed") && line[strlen(line) - 1] == 'd')
			vaultwatch_bootstrap_unsealing(d->vw, false);
	}
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
	d->boot_cfg = NULL;
	if (d->vw)
		vaultwatch_bootstrap_unsealing(d->vw, false);
	watches_done(d, err, msg);
	if (err == 0) {
		log_send(LOG_NOTICE, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap complete: %s", msg);
		d->running = false;
		run(d);
		return;
	}
	log_send(LOG_ERR, NULL, LOG_FIELDS("AGENTD_BOOTSTRAP=1"), "bootstrap stopped: %s", msg);
	finish(d, err == -EAGAIN ? SV_VAULT_SEALED : SV_DEGRADED, msg, false);
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
	d->boot_cfg = *d->cfgp;
	if (bootstrap_start(d->loop, apiprobe_kube(d->probe), d->http, *d->cfgp, &ops, d, &d->bootstrap) < 0) {
		d->boot_cfg = NULL;
		watches_done(d, -ENOMEM, "bootstrap could not start");
		finish(d, SV_DEGRADED, "bootstrap could not start", false);
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

const struct config *
discover_bootstrap_config(const struct discover *d)
{
	return d->bootstrap ? d->boot_cfg : NULL;
}

static void
on_namespace(void *arg, const struct kube_result *r)
{
	struct discover *d = arg;
	const struct config *cfg = *d->cfgp;
	char reason[600];
	if (d->held) {
		finish(d, SV_BOOTSTRAP, "held", false);
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
		finish(d, SV_DEGRADED, reason, false);
		return;
	}
	look_at_vault(d);
}

static void
run(struct discover *d)
{
	struct kube *k = apiprobe_kube(d->probe);
	if (d->running || !k || d->held)
		return;
	d->running = true;
	d->recheck = false;
	int rc = kube_get(k, kinds_find(kube_kinds(k), "v1", "Namespace"), NULL, (*d->cfgp)->vault.namespace,
			  on_namespace, d, NULL);
	if (rc < 0) {
		d->running = false;
		d->present = false;
		supervisor_set_state(d->sv, SV_DEGRADED, "discovery could not start");
		schedule(d);
	}
}

static void
on_api_up(struct supervisor *sv, void *data)
{
	struct discover *d = data;

	(void)sv;
	/* A bootstrap (or a reset test's teardown) that outlived the outage goes on:
	 * that is the state to show, not wait-api until it ends. */
	if (d->bootstrap || d->held) {
		supervisor_set_state(d->sv, SV_BOOTSTRAP, d->bootstrap ? "API back; the bootstrap under way goes on"
									: "API back; the reset test goes on");
		return;
	}
	/* A look that began before the API went away again starts afresh. */
	if (d->looking)
		look_at_vault(d);
	else
		run(d);
}

void
discover_recheck(struct discover *d)
{
	d->recheck = true;
	if (!d->running)
		schedule(d);
}

void
discover_set_vaultwatch(struct discover *d, struct vaultwatch *vw)
{
	d->vw = vw;
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
	if (d->vw && d->looking)
		vaultwatch_first_look_cancel(d->vw);
	while (d->watches) {
		struct discover_watch *w = d->watches;
		d->watches = w->next;
		free(w);
	}
	free(d);
	return NULL;
}
