/* vaultwatch — the Vault server pods and their seal state, kept current.
 *
 * While the API is up (any supervisor state but starting and wait-api) it
 * watches the pods matching vault.selector in vault.namespace and reads each
 * running pod's sys/seal-status through the pod proxy (or vault.address):
 * on every pod event (a restart is re-checked within a second), every second
 * while a pod is sealed, unreachable or unknown, and otherwise as a safety
 * net every verify.interval, or every VAULTWATCH_SAFETY_FACTOR intervals when
 * every pod's containers have a readiness probe: Vault's probe fails while it
 * is sealed (FACTS.md), so a seal without a restart turns the pod NotReady
 * and the watch's event asks at once.
 *
 * It owns what follows from the answers: the Vault pods of `agentctl status`
 * (supervisor_set_vault_pods), the `vault-sealed` check, the move to the
 * vault-sealed state and back (to the state it interrupted, or healthy or
 * degraded as the checks say), one MSGID_VAULT_SEALED warning per seal and
 * one MSGID_VAULT_UNSEALED notice when it ends, STATUS= for systemd, and the
 * systemd password request (askpw.h), open exactly while a pod is sealed
 * (and ask_password.enabled).  Keys typed at the prompt or sent with
 * `agentctl unseal` go through vaultwatch_unseal().  Once Vault answers
 * unsealed again, the pods it held are followed until they run (podfollow.h);
 * while they are, the passing vault-sealed check names them.
 *
 * Not failures, so neither a failing check nor a warning: a pod seen for the
 * first time that does not answer yet, its containers never restarted, for
 * VAULTWATCH_START_GRACE seconds (it is starting); an uninitialised Vault while the
 * bootstrap runs (the bootstrap initialises it); a sealed one while the
 * bootstrap holds the keys and unseals it (vaultwatch_bootstrap_unsealing).
 * A Vault that answers sealed after a restart is reported at once.
 */
#ifndef AGENTD_VAULTWATCH_H
#define AGENTD_VAULTWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "config.h"
#include "secret.h"
#include "status.h"
#include "supervisor.h"
#include "unseal.h"

/* A pod seen for the first time, its containers never restarted, that does
 * not answer yet is starting (image pull, Vault binding its port), not failing. */
#define VAULTWATCH_START_GRACE 30.0
/* The longest agentd's own bootstrap may keep a sealed Vault quiet. */
#define VAULTWATCH_HOLD_MAX    120.0
/* The seal-status safety net when readiness carries the seal: 10 min at the
 * default verify.interval (a probe that ignores the seal is still caught). */
#define VAULTWATCH_SAFETY_FACTOR 20

struct http_client;
struct kube;
struct vaultwatch;

/* The Kubernetes client to use now (NULL while none is configured). */
typedef struct kube *(*vaultwatch_kube_fn)(void *data);

/* Everything is borrowed; *CFGP is read at each use (the daemon replaces its
 * config on reload).  NULL on allocation failure. */
struct vaultwatch *vaultwatch_new(struct ev_loop *loop, struct http_client *http, struct supervisor *sv,
				  struct status *st, struct config *const *cfgp, vaultwatch_kube_fn kube_fn,
				  void *kube_data);

/* Withdraws the password request, stops the watch, frees; NULL is a no-op. */
struct vaultwatch *vaultwatch_free(struct vaultwatch *vw);

/* The supervisor moved from OLD to STATE (the daemon forwards its observer). */
void vaultwatch_on_state(struct vaultwatch *vw, enum sv_state old, enum sv_state state);

/* Reads every pod's seal status now. */
void vaultwatch_refresh(struct vaultwatch *vw);

/* VERDICT and SUMMARY (one line for the operator) over RES. */
typedef void (*vaultwatch_unseal_fn)(enum unseal_outcome verdict, const char *summary,
				     const struct unseal_result *res, void *data);

/* Submits KEY (taken; NULL: reset the unseal progress) to every running Vault
 * pod.  VIA names the path in the journal ("agentctl", "ask-password").
 * 0: FN follows (possibly already called).  Otherwise a negative errno and a
 * line for the operator in WHY: -EBUSY (another unseal in progress), -EAGAIN
 * (rate-limited after a wrong key), -ENOTCONN (no API, or no Vault pod known). */
int vaultwatch_unseal(struct vaultwatch *vw, struct secret *key, const char *via, vaultwatch_unseal_fn fn,
		      void *data, char *why, size_t whysize);

/* Discovery's first look, also from wait-api: once every running Vault pod
 * has answered (or failed to) since the watch listed, FN(VERDICT, MESSAGE,
 * DATA) runs once from the loop.  MESSAGE is the vault-sealed check's words
 * for what is not unsealed ("" when all are).  -ENOTCONN: no client.  A new
 * look replaces the one waiting. */
enum vaultwatch_verdict {
	VAULTWATCH_UNSEALED,      /* every Vault pod is initialised and unsealed */
	VAULTWATCH_NOT_UNSEALED,  /* some pod is sealed, uninitialised or unknown */
	VAULTWATCH_PENDING,       /* no failure yet: a pod starting, the bootstrap unsealing */
	VAULTWATCH_NO_POD,        /* no Vault server pod at all */
};
typedef void (*vaultwatch_look_fn)(enum vaultwatch_verdict verdict, const char *message, void *data);
int vaultwatch_first_look(struct vaultwatch *vw, vaultwatch_look_fn fn, void *data);
void vaultwatch_first_look_cancel(struct vaultwatch *vw);

/* agentd's own bootstrap holds the init keys and is about to unseal (ON), or
 * no longer (at most VAULTWATCH_HOLD_MAX seconds either way): meanwhile a sealed Vault
 * is neither warned about nor asked for. */
void vaultwatch_bootstrap_unsealing(struct vaultwatch *vw, bool on);

/* The pods the seal held that do not run yet, as podfollow_json (new). */
cJSON *vaultwatch_held_pods(const struct vaultwatch *vw);

/* The open password request's file (borrowed) or NULL (tests, status). */
const char *vaultwatch_ask_path(const struct vaultwatch *vw);

#endif
