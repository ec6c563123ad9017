/* supervisor.c — the state machine and the API probe schedule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "msgid.h"
#include "supervisor.h"

struct supervisor {
	struct ev_loop *loop;
	struct status *status;
	const struct config *cfg;

	enum sv_state state;
	uint64_t since;

	supervisor_probe_fn probe;
	void *probe_data;
	supervisor_api_up_fn api_up;
	void *api_up_data;
	supervisor_state_fn on_state;
	void *on_state_data;

	ev_timer probe_timer;
	bool probe_pending;
	uint64_t backoff_ms;      /* the next delay after a failure */
	bool api_ok;
	char *api_message;
	uint64_t api_checked;

	cJSON *vault_pods;
};

static const char *const state_names[] = {
	[SV_STARTING] = "starting",         [SV_WAIT_API] = "wait-api",
	[SV_BOOTSTRAP] = "bootstrap",       [SV_VAULT_SEALED] = "vault-sealed",
	[SV_HEALTHY] = "healthy",           [SV_DEGRADED] = "degraded",
};

const char *
supervisor_state_name(enum sv_state state)
{
	if ((unsigned)state > SV_DEGRADED)
		return "unknown";
	return state_names[state];
}

/* Until a Kubernetes client registers a probe: say what can be known. */
static void
builtin_probe(struct supervisor *sv, const struct config *cfg, void *data)
{
	char reason[512];
	int fd;

	(void)data;
	fd = open(cfg->kubeconfig, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(reason, sizeof(reason), "kubeconfig %s: %s", cfg->kubeconfig, strerror(errno));
	} else {
		close(fd);
		snprintf(reason, sizeof(reason),
			 "API not probed: this build has no Kubernetes client yet (kubeconfig %s is readable)",
			 cfg->kubeconfig);
	}
	supervisor_api_result(sv, false, reason);
}

static void
probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct supervisor *sv = w->data;

	(void)loop;
	(void)revents;
	sv->probe_pending = true;
	sv->probe(sv, sv->cfg, sv->probe_data);
}

static void
schedule_probe(struct supervisor *sv, uint64_t delay_ms)
{
	ev_timer_stop(sv->loop, &sv->probe_timer);
	ev_timer_set(&sv->probe_timer, (double)delay_ms / 1000.0, 0.);
	ev_timer_start(sv->loop, &sv->probe_timer);
}

struct supervisor *
supervisor_new(struct ev_loop *loop, struct status *st, const struct config *cfg)
{
	struct supervisor *sv = calloc(1, sizeof(*sv));

	if (sv == NULL)
		return NULL;
	sv->loop = loop;
	sv->status = st;
	sv->cfg = cfg;
	sv->state = SV_STARTING;
	sv->since = clock_now_usec();
	sv->probe = builtin_probe;
	sv->backoff_ms = cfg->api.backoff_initial;
	sv->vault_pods = cJSON_CreateArray();
	if (sv->vault_pods == NULL) {
		free(sv);
		return NULL;
	}
	ev_timer_init(&sv->probe_timer, probe_cb, 0., 0.);
	sv->probe_timer.data = sv;
	return sv;
}

struct supervisor *
supervisor_free(struct supervisor *sv)
{
	if (sv == NULL)
		return NULL;
	ev_timer_stop(sv->loop, &sv->probe_timer);
	cJSON_Delete(sv->vault_pods);
	free(sv->api_message);
	free(sv);
	return NULL;
}

void
supervisor_start(struct supervisor *sv)
{
	supervisor_set_state(sv, SV_WAIT_API, "waiting for the Kubernetes API");
	/* Probe now so the first status already says why; an asynchronous
	 * probe leaves a placeholder until it answers. */
	sv->probe_pending = true;
	sv->probe(sv, sv->cfg, sv->probe_data);
	if (status_get(sv->status, "api") == NULL)
		status_set(sv->status, "api", false, STATUS_CRITICAL, "API probe in progress");
}

void
supervisor_set_config(struct supervisor *sv, const struct config *cfg)
{
	sv->cfg = cfg;
	sv->backoff_ms = cfg->api.backoff_initial;
	if (!sv->probe_pending)
		schedule_probe(sv, 0);
}

void
supervisor_set_api_probe(struct supervisor *sv, supervisor_probe_fn fn, void *data)
{
	sv->probe = fn != NULL ? fn : builtin_probe;
	sv->probe_data = fn != NULL ? data : NULL;
}

void
supervisor_set_api_up(struct supervisor *sv, supervisor_api_up_fn fn, void *data)
{
	sv->api_up = fn;
	sv->api_up_data = data;
}

void
supervisor_on_state(struct supervisor *sv, supervisor_state_fn fn, void *data)
{
	sv->on_state = fn;
	sv->on_state_data = data;
}

/* Full jitter on the upper half: spreads reconnect storms, never below half. */
static uint64_t
jitter(uint64_t ms)
{
	return ms / 2 + (ms > 1 ? (uint64_t)random() % (ms / 2 + 1) : 0);
}

void
supervisor_api_result(struct supervisor *sv, bool ok, const char *reason)
{
	char *msg = strdup(reason);
	bool reworded = !ok && sv->state == SV_WAIT_API &&
			(sv->api_message == NULL || strcmp(sv->api_message, reason) != 0);
	uint64_t next;

	if (msg != NULL) {
		free(sv->api_message);
		sv->api_message = msg;
	}
	sv->probe_pending = false;
	sv->api_ok = ok;
	sv->api_checked = clock_now_usec();
	status_set(sv->status, "api", ok, STATUS_CRITICAL, "%s", reason);
	if (ok) {
		sv->backoff_ms = sv->cfg->api.backoff_initial;
		next = sv->cfg->verify.interval;
		if (sv->state == SV_WAIT_API || sv->state == SV_STARTING) {
			if (sv->api_up != NULL)
				sv->api_up(sv, sv->api_up_data);
			else
				supervisor_set_state(sv, SV_WAIT_API,
						     "API reachable; no stack discovery wired in yet");
		}
	} else {
		next = jitter(sv->backoff_ms);
		sv->backoff_ms = sv->backoff_ms * 2 > sv->cfg->api.backoff_max
					 ? sv->cfg->api.backoff_max : sv->backoff_ms * 2;
		supervisor_set_state(sv, SV_WAIT_API, reason);
		/* Still waiting, for another reason (refused, then 503): STATUS= follows. */
		if (reworded && sv->on_state != NULL)
			sv->on_state(sv, SV_WAIT_API, SV_WAIT_API, reason, sv->on_state_data);
	}
	schedule_probe(sv, next);
}

void
supervisor_set_state(struct supervisor *sv, enum sv_state state, const char *reason)
{
	enum sv_state old = sv->state;
	char f_state[64], f_prev[64], f_reason[600];

	if (old == state)
		return;
	sv->state = state;
	sv->since = clock_now_usec();
	snprintf(f_state, sizeof(f_state), "AGENTD_STATE=%s", supervisor_state_name(state));
	snprintf(f_prev, sizeof(f_prev), "AGENTD_PREV_STATE=%s", supervisor_state_name(old));
	snprintf(f_reason, sizeof(f_reason), "AGENTD_REASON=%s", reason);
	log_send(LOG_NOTICE, MSGID_STATE_CHANGED, LOG_FIELDS(f_state, f_prev, f_reason),
		 "state %s -> %s: %s", supervisor_state_name(old), supervisor_state_name(state), reason);
	if (sv->on_state != NULL)
		sv->on_state(sv, old, state, reason, sv->on_state_data);
}

enum sv_state
supervisor_state(const struct supervisor *sv)
{
	return sv->state;
}

void
supervisor_set_vault_pods(struct supervisor *sv, cJSON *pods)
{
	cJSON_Delete(sv->vault_pods);
	sv->vault_pods = pods;
}

cJSON *
supervisor_status_json(const struct supervisor *sv)
{
	char since[CLOCK_RFC3339_SIZE], checked[CLOCK_RFC3339_SIZE];
	cJSON *o = cJSON_CreateObject(), *api, *vault, *pods, *checks;

	if (o == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "state", supervisor_state_name(sv->state)) == NULL ||
	    cJSON_AddStringToObject(o, "since", clock_format_rfc3339(sv->since, since, sizeof(since))) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	api = cJSON_AddObjectToObject(o, "api");
	vault = cJSON_AddObjectToObject(o, "vault");
	pods = cJSON_Duplicate(sv->vault_pods, true);
	checks = status_checks_json(sv->status);
	if (api == NULL || vault == NULL || pods == NULL || checks == NULL ||
	    cJSON_AddBoolToObject(api, "ok", sv->api_ok) == NULL ||
	    cJSON_AddStringToObject(api, "kubeconfig", sv->cfg->kubeconfig) == NULL ||
	    cJSON_AddStringToObject(api, "message", sv->api_message ? sv->api_message
							: "API has not been probed yet") == NULL ||
	    (sv->api_checked != 0
		     ? cJSON_AddStringToObject(api, "checked",
					       clock_format_rfc3339(sv->api_checked, checked, sizeof(checked)))
		     : cJSON_AddNullToObject(api, "checked")) == NULL ||
	    !cJSON_AddItemToObject(vault, "pods", pods)) {
		cJSON_Delete(pods);
		cJSON_Delete(checks);
		cJSON_Delete(o);
		return NULL;
	}
	if (!cJSON_AddItemToObject(o, "checks", checks)) {
		cJSON_Delete(checks);
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

uint64_t
supervisor_since(const struct supervisor *sv)
{
	return sv->since;
}
