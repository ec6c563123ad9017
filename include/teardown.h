/* teardown — delete exactly what agentd manages, and wait until it is gone.
 *
 * Candidates: the rendered stack's Namespaces and cluster-scoped objects
 * (MutatingWebhookConfiguration, CRDs, ClusterRoles/Bindings), plus every object of
 * those kinds labelled app.kubernetes.io/managed-by=agentd (leftovers of an older
 * stack).  A candidate is deleted only when it exists AND carries that label: a
 * same-named object someone else made is left alone and reported as skipped.
 *
 * Order: the namespaces first (their contents, the Vault PVC with them), waiting
 * until each GET answers 404; only then the cluster-scoped objects, waited for the
 * same way; then $STATE_DIR/vault-init.json is moved aside to
 * vault-init.json.YYYYMMDDTHHMMSSZ (its keys belong to the Vault just destroyed).
 * A namespace still there at the deadline is reported with its phase, its
 * NamespaceDeletion* / NamespaceContentRemaining / NamespaceFinalizersRemaining
 * conditions and its remaining finalizers, and nothing after it is deleted.
 *
 * keep_vault_data: the Vault namespace (config vault.namespace) is not a candidate
 * and vault-init.json stays: Vault's storage and its keys survive together.
 *
 * Asynchronous, on the loop; never logs (the caller does). */
#ifndef AGENTD_TEARDOWN_H
#define AGENTD_TEARDOWN_H

#include <stdbool.h>
#include <cjson/cJSON.h>

#include "config.h"

struct ev_loop;
struct kinds;
struct kube;
struct teardown;

struct teardown_ops {
	void (*progress)(void *arg, const char *line);
	/* err 0: everything managed is gone.  -ETIMEDOUT: the deadline passed (report
	 * "stuck" says what remains).  Other negative errno: an API or file error
	 * (MESSAGE says which).  REPORT (borrowed for the call):
	 * {"deleted": ["Namespace/ai-agents", ...], "skipped": ["Namespace/x: not managed-by agentd"],
	 *  "stuck": [{"object": "Namespace/ai-agents", "phase": STR, "conditions":
	 *             [{"type","status","reason","message"}], "finalizers": [STR]}],
	 *  "vault_init_moved_to": STR or null} */
	void (*done)(void *arg, int err, const char *message, const cJSON *report);
};

/* What a teardown would delete, for the confirmation prompt: {"namespaces": [..],
 * "cluster": ["CustomResourceDefinition/agenttasks.agents.example", ...],
 * "vault_init": PATH or null}, from the rendered stack only (no API call).
 * 0 and *out (cJSON_Delete), or a negative errno and *err (malloc'd). */
int teardown_plan(const struct config *cfg, struct kinds *kinds, bool keep_vault_data, cJSON **out, char **err);

/* K is borrowed for the run; what is needed of CFG is copied at the start. */
int teardown_start(struct ev_loop *loop, struct kube *k, const struct config *cfg, bool keep_vault_data,
		   double deadline_s, const struct teardown_ops *ops, void *arg, struct teardown **out,
		   char **err);

/* Stops without calling done (deletions already sent stay sent); not from inside
 * its own callbacks. */
void teardown_cancel(struct teardown *t);

#endif
