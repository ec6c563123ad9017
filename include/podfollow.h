/* podfollow — the pods a sealed Vault held, followed until they run again.
 *
 * While Vault is sealed, every pod injected with the Vault Agent
 * (`vault-agent-init` among its init containers) in the namespaces Vault's
 * Kubernetes role serves (values: vault.auth.bound_namespaces, default
 * ai-agents) that has not got past that container is noted: its agent
 * retries the login until Vault answers.  Once Vault is unsealed those pods
 * are followed until they run: one journal line per pod recovered, then one
 * MSGID_PODS_RECOVERED summary ("N pods recovered after unseal in X s").  A
 * pod still held vault.pod_recovery_deadline after the unseal gets one
 * MSGID_POD_STUCK warning naming its init container's state and what to do;
 * it stays followed, so a late recovery (or its deletion) is still seen.
 *
 * agentd never deletes a pod: deleting one is the operator's call (its
 * controller recreates it, and a Job pod may not come back).
 */
#ifndef AGENTD_PODFOLLOW_H
#define AGENTD_PODFOLLOW_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "config.h"

struct kube;
struct podfollow;

/* Where a pod stands with its Vault Agent init container. */
enum podfollow_hold {
	PODFOLLOW_NONE,     /* no vault-agent-init, or finished, failed or going away */
	PODFOLLOW_HELD,     /* Pending, vault-agent-init not completed: waits for Vault */
	PODFOLLOW_STARTING, /* Pending, vault-agent-init completed: the rest is starting */
	PODFOLLOW_RUNNING,  /* Running (or Succeeded) */
};

/* Pure: how POD (a v1 Pod object) stands; for HELD and STARTING, a few words
 * on its init container's state in WHY ("vault-agent-init running, 2 restarts"). */
enum podfollow_hold podfollow_classify(const cJSON *pod, char *why, size_t whysize);

/* CHANGED(DATA) runs whenever the set of held pods or their state changed
 * (the owner rewords its status).  *CFGP is read at each use.  NULL on OOM. */
typedef void (*podfollow_changed_fn)(void *data);
struct podfollow *podfollow_new(struct ev_loop *loop, struct config *const *cfgp, podfollow_changed_fn changed,
				void *data);

/* Stops the watches, frees; NULL is a no-op. */
struct podfollow *podfollow_free(struct podfollow *pf);

/* Vault is sealed: watch the pods with K (borrowed; the same client until
 * podfollow_stop) and note those held.  Idempotent. */
void podfollow_sealed(struct podfollow *pf, struct kube *k);

/* Vault answers unsealed: follow the pods noted until they run.  A no-op
 * unless podfollow_sealed came first. */
void podfollow_unsealed(struct podfollow *pf);

/* The client goes away (API lost, agentd stopping): forget everything. */
void podfollow_stop(struct podfollow *pf);

/* Pods held now (noted or followed): how many, and "ns/name, ns/name" in BUF
 * (truncated to fit).  STUCK (optional) counts those past the deadline. */
size_t podfollow_held(const struct podfollow *pf, char *buf, size_t size, size_t *stuck);

/* The held pods as a new JSON array of {"namespace","name","waiting","stuck"}
 * (waiting: the WHY of podfollow_classify); NULL on OOM. */
cJSON *podfollow_json(const struct podfollow *pf);

#endif
