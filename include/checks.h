/* checks — the verification checks of DESIGN.md §4 as pure functions of the
 * objects agentd observes and the time (no I/O, no logging).
 *
 * verify.c keeps the watched objects and feeds them here; each check appends
 * one result (cron: one per CronJob) with the check's stable name, ok, a
 * severity and a message that names the object and the fix.  The `api` and
 * `vault-sealed` checks belong to other modules; `vault-audit` needs a Vault
 * answer or a pod log, which verify.c fetches and checks_vault_audit() judges.
 */
#ifndef AGENTD_CHECKS_H
#define AGENTD_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "status.h"
#include "tz.h"

/* A span of time in which Vault was sealed; to == 0: still sealed. */
struct checks_span {
	int64_t from, to;
};

/* Loads time zone NAME for a CronJob; the zone stays owned by the loader and
 * valid for the evaluation.  0, or a negative errno with a message in ERR. */
typedef int (*checks_zone_fn)(void *data, const char *name, const struct tz **zone, char *err, size_t errsize);

/* Every array holds objects of one kind with apiVersion and kind set (NULL or
 * empty: none); only objects in the managed namespaces are given.  All borrowed. */
struct checks_input {
	const cJSON *expected;		/* the rendered stack's objects (array), or NULL */
	const char *expected_error;	/* why there is no rendered stack, or NULL */
	const cJSON *namespaces, *pods, *deployments, *statefulsets, *jobs, *cronjobs, *events, *quotas,
		*netpols, *webhooks, *endpoints, *secrets;
	const char *vault_namespace;	/* Vault's namespace: not an agents' one */
	int64_t now;			/* the cluster's clock, Unix seconds */
	int64_t grace;			/* seconds a CronJob may fire late */
	double quota_threshold;		/* used/hard above this is "near full" (0 < t <= 1) */
	bool vault_sealed;		/* the vault-sealed check fails now */
	const struct checks_span *sealed;	/* past and present sealed spans */
	size_t n_sealed;
	checks_zone_fn load_zone;	/* NULL: only UTC */
	void *zone_data;
};

struct check_result {
	char *name;			/* owned */
	bool ok;
	enum status_severity severity;
	char *message;			/* owned */
};

struct check_results {
	struct check_result *v;		/* owned, n entries */
	size_t n;
	bool oom;			/* an allocation failed: results are incomplete */
};

/* Each appends its result(s) to OUT. */
void check_pss_labels(const struct checks_input *in, struct check_results *out);
void check_pss_pods(const struct checks_input *in, struct check_results *out);
void check_pods(const struct checks_input *in, struct check_results *out);
void check_cron(const struct checks_input *in, struct check_results *out);	/* cron-NAME */
void check_secrets(const struct checks_input *in, struct check_results *out);
void check_quota(const struct checks_input *in, struct check_results *out);
void check_netpol(const struct checks_input *in, struct check_results *out);
void check_images(const struct checks_input *in, struct check_results *out);
void check_webhook(const struct checks_input *in, struct check_results *out);

/* All of the above, in that order.  0, or -ENOMEM (OUT holds what was done). */
int checks_evaluate(const struct checks_input *in, struct check_results *out);

/* The earliest time after NOW at which a cron check can change by the clock
 * alone (a fire time plus the grace).  0 and *when, or -ENOENT. */
int checks_cron_deadline(const struct checks_input *in, int64_t *when);

/* vault-audit.  SYS_AUDIT: the data of GET sys/audit (an object keyed by
 * mount path) when a token was available, else NULL; LOG: the Vault server
 * container's log (may be NULL); POD names the pod the log came from;
 * TOKEN_ERROR: why sys/audit could not be read (NULL when it was, or when no
 * token was available). */
void checks_vault_audit(const cJSON *sys_audit, const char *token_error, const char *log, const char *pod,
			struct check_results *out);

/* Appends a result (printf message); sets out->oom on failure. */
void check_results_add(struct check_results *out, const char *name, bool ok, enum status_severity sev,
		       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Frees what R holds and zeroes it. */
void check_results_clear(struct check_results *r);

/* A Kubernetes quantity ("100m", "1Gi", "2", "1.5") as a number (cores,
 * bytes).  0, or -EINVAL. */
int checks_quantity(const char *s, double *out);

#endif
