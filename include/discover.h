/* discover — what is there once the API answers: is the stack present, and is
 * every Vault server pod initialised and unsealed (the Vault watcher's verdict,
 * vaultwatch_first_look: the watcher alone owns the Vault pods of `agentctl
 * status` and the `vault-sealed` check)?  Drives the supervisor out of wait-api
 * (bootstrap, vault-sealed, healthy or degraded), tells the watcher while the
 * bootstrap unseals Vault itself.  Until a look finds the stack it looks again
 * every verify.interval while the API is up (a failed bootstrap is retried so);
 * once it is there, it looks again when told (discover_recheck: the stack's
 * namespace went away, the configuration was reloaded), when the API comes
 * back, and every DISCOVER_SAFETY_FACTOR intervals as a safety net. */
#ifndef AGENTD_DISCOVER_H
#define AGENTD_DISCOVER_H

#include <ev.h>

#include "config.h"
#include "status.h"
#include "supervisor.h"

/* Once the stack is found: 10 min at the default verify.interval.  Catches
 * manifests changed on disk without a reload, and whatever a watch missed. */
#define DISCOVER_SAFETY_FACTOR 20

struct apiprobe;
struct discover;
struct http_client;
struct vaultwatch;

/* Registers as SV's api-up hook.  Everything is borrowed; *CFGP is read at each run
 * (the daemon replaces its config on reload).  NULL on allocation failure. */
struct discover *discover_new(struct ev_loop *loop, struct http_client *http, struct apiprobe *probe,
			      struct supervisor *sv, struct status *st, struct config *const *cfgp);
struct discover *discover_free(struct discover *d);

/* Looks again as soon as it can (not while the API is down, a bootstrap runs
 * or a reset test holds it): something may have changed what is there. */
void discover_recheck(struct discover *d);

/* The Vault watcher to ask (borrowed; it must outlive D). */
void discover_set_vaultwatch(struct discover *d, struct vaultwatch *vw);

struct bootstrap_ops;
struct discover_watch;

/* `agentctl bootstrap`: runs a bootstrap now, or attaches to the one under way.
 * OPS get every later progress line and then done, once; the watch is freed
 * after done.  -ENOTCONN (with *WHY) while there is no Kubernetes client. */
int discover_bootstrap(struct discover *d, const struct bootstrap_ops *ops, void *arg, struct discover_watch **out,
		       char *why, size_t whysize);
/* Stops delivering to W (its client went away); the bootstrap itself goes on. */
void discover_bootstrap_detach(struct discover *d, struct discover_watch *w);
/* True exactly once after a bootstrap initialised Vault: the init material of
 * vault-init.json is then shown to the one client that takes it. */
bool discover_take_init(struct discover *d);

/* The reset test (resettest.h) tears the stack down on purpose: while held,
 * discovery neither looks nor starts a bootstrap, so an absent stack is not
 * rebuilt under the teardown's feet.  -EBUSY while a bootstrap runs (wait for it:
 * discover_bootstrapping).  Release looks again at once. */
int discover_hold(struct discover *d);
void discover_release(struct discover *d);
bool discover_bootstrapping(const struct discover *d);
/* The config a bootstrap under way borrowed (bootstrap_start), NULL when none
 * runs: a reload keeps it alive until the bootstrap ends (daemon_reload). */
const struct config *discover_bootstrap_config(const struct discover *d);

#endif
