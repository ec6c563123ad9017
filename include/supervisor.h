/* supervisor.h — the daemon's state machine (DESIGN.md §3, §4).
 *
 * States: starting → wait-api → (bootstrap | vault-sealed | healthy | degraded);
 * any state falls back to wait-api when the API is lost.
 *
 * The API probe.  The supervisor owns *when* the Kubernetes API is probed
 * (at start, then with exponential backoff and jitter between
 * api.backoff_initial and api.backoff_max while it fails, every
 * verify.interval while it answers); a probe function decides *how*.  Until
 * a Kubernetes client registers one with supervisor_set_api_probe(), the
 * built-in probe only checks that the kubeconfig file can be read and reports
 * the API as not probed, honestly, in the `api` check.
 *
 * A probe function must call supervisor_api_result() exactly once per
 * invocation, synchronously or later from the loop.  Other code (a watch that
 * broke, a request that failed with a transport error) may also report
 * API loss or recovery at any time with supervisor_api_result().
 */
#ifndef AGENTD_SUPERVISOR_H
#define AGENTD_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "config.h"
#include "status.h"

enum sv_state {
	SV_STARTING,
	SV_WAIT_API,
	SV_BOOTSTRAP,
	SV_VAULT_SEALED,
	SV_HEALTHY,
	SV_DEGRADED,
};

struct supervisor;

typedef void (*supervisor_probe_fn)(struct supervisor *sv, const struct config *cfg, void *data);
typedef void (*supervisor_state_fn)(struct supervisor *sv, enum sv_state old, enum sv_state state,
				    const char *reason, void *data);
typedef void (*supervisor_api_up_fn)(struct supervisor *sv, void *data);

/* `st` and `cfg` are borrowed and must outlive the supervisor (or be replaced
 * with supervisor_set_config).  Returns NULL on allocation failure. */
struct supervisor *supervisor_new(struct ev_loop *loop, struct status *st, const struct config *cfg);

/* Stops its timers and frees it; accepts NULL; returns NULL. */
struct supervisor *supervisor_free(struct supervisor *sv);

/* Enters wait-api and schedules the first API probe right away. */
void supervisor_start(struct supervisor *sv);

/* A reloaded configuration (borrowed): the probe restarts with fresh backoff. */
void supervisor_set_config(struct supervisor *sv, const struct config *cfg);

/* Registers the API probe (NULL restores the built-in one). */
void supervisor_set_api_probe(struct supervisor *sv, supervisor_probe_fn fn, void *data);

/* Called when the API is reachable again while in wait-api: the hook for
 * discovery (what to do next).  Without one the supervisor stays in
 * wait-api and says that nothing further is wired in. */
void supervisor_set_api_up(struct supervisor *sv, supervisor_api_up_fn fn, void *data);

/* The result of an API probe (or an unsolicited report).  Updates the `api`
 * check with `reason`; on failure falls back to wait-api; on success in
 * wait-api calls the api-up hook.  Schedules the next probe. */
void supervisor_api_result(struct supervisor *sv, bool ok, const char *reason);

/* Moves to `state` (no-op if already there), logs MSGID_STATE_CHANGED with
 * AGENTD_STATE and calls the state observer. */
void supervisor_set_state(struct supervisor *sv, enum sv_state state, const char *reason);

/* Observer for state changes (the daemon sends sd_notify STATUS= from it).
 * Also called with old == state when the reason for staying in wait-api
 * changes, so that STATUS= always says why agentd waits. */
void supervisor_on_state(struct supervisor *sv, supervisor_state_fn fn, void *data);

enum sv_state supervisor_state(const struct supervisor *sv);
/* When the current state was entered (CLOCK_REALTIME usec). */
uint64_t supervisor_since(const struct supervisor *sv);
const char *supervisor_state_name(enum sv_state state);

/* Replaces the Vault pods list shown by status (takes ownership of the
 * JSON array of {"name","initialized","sealed","progress","threshold"}). */
void supervisor_set_vault_pods(struct supervisor *sv, cJSON *pods);

/* The `agentctl --json status` object (DESIGN.md §4); NULL on OOM. */
cJSON *supervisor_status_json(const struct supervisor *sv);

#endif
