/* bootstrap — stand the stack up from manifests/ with the gates of FACTS.md
 * "Bootstrap order":
 *   phases up to the one holding Vault's StatefulSet (gated, except that set:
 *   a sealed Vault is never Ready) → a Vault server pod Running with an IP →
 *   seal-status → init when uninitialised (shares, threshold, pgp_keys from the
 *   config; keys and root token written once to STATE_DIR/vault-init.json, 0600,
 *   never logged) → unseal with the keys agentd holds → configure Vault (audit to
 *   stdout, KV v2, Kubernetes auth, one policy, one role; each read back first and
 *   written only when it differs) → the remaining phases, gated, with the webhook's
 *   caBundle awaited after its phase.
 * Idempotent: every step first looks at what is there.  Asynchronous, on the loop. */
#ifndef AGENTD_BOOTSTRAP_H
#define AGENTD_BOOTSTRAP_H

#include <stdbool.h>

#include "config.h"
#include "kinds.h"

struct ev_loop;
struct http_client;
struct kube;
struct bootstrap;

struct bootstrap_ops {
	/* One line of progress ("phase vault-server: StatefulSet vault/vault applied"). */
	void (*progress)(void *arg, const char *line);
	/* err 0: the stack is up.  -EAGAIN: Vault needs an operator's unseal key. */
	void (*done)(void *arg, int err, const char *message);
};

/* CFG, K and HTTP are borrowed for the run. */
int bootstrap_start(struct ev_loop *loop, struct kube *k, struct http_client *http, const struct config *cfg,
		    const struct bootstrap_ops *ops, void *arg, struct bootstrap **out);

/* Stops a run without calling done; not from inside its own callbacks. */
void bootstrap_cancel(struct bootstrap *b);

/* The stack record: a hash of the rendered manifests, kept in STATE_DIR/stack.json
 * once a bootstrap completed.  bootstrap_needed says whether the record is missing
 * or differs from what the manifests render to now (*why says which). */
bool bootstrap_needed(const struct config *cfg, struct kinds *kinds, char *why, size_t whysize);

/* The root token of STATE_DIR/vault-init.json (agentd initialised this Vault), or
 * NULL when there is none.  A secret: the caller wipe_free_str()s it, never logs it. */
char *bootstrap_saved_root_token(const char *state_dir);

#endif
