/* verify — the check engine: watches the managed namespaces, keeps the
 * objects the checks read, evaluates them (checks.h) and feeds the status
 * registry, one journal entry per transition (status.h).
 *
 * Watched: pods, deployments, statefulsets, jobs, cronjobs, events
 * (FailedCreate, TooManyMissedTimes), resourcequotas, networkpolicies,
 * endpoints and secrets (names and types only) in every namespace the
 * rendered stack defines, plus namespaces and mutatingwebhookconfigurations.
 * A watch event re-evaluates within VERIFY_DEBOUNCE; a timer re-evaluates
 * when a CronJob falls due and every verify.interval; every
 * VERIFY_RELIST_FACTOR intervals every watch lists again (the safety net; a
 * watch resumes from its resourceVersion with bookmarks and re-lists on 410
 * Gone at once, so this is rare: at the default 30 s, every 2 h, as each
 * round costs a list and a new watch per watched kind and namespace).
 * The engine runs while the stack is present (states healthy, degraded,
 * vault-sealed) and moves the supervisor between healthy and degraded.
 *
 * vault-audit: agentd keeps no standing root token.  When
 * $STATE_DIRECTORY/vault-init.json holds one (agentd initialised Vault) it
 * reads sys/audit with it; otherwise it looks for audit entries in the Vault
 * server's log (pods/log); with neither it says "unknown", severity info.
 * Nothing watches it: it is read every VERIFY_AUDIT_FACTOR intervals (5 min
 * at the default), every interval while the check does not pass, and at
 * every verify_run.
 * When vault.namespace disappears from the watched namespaces (the stack was
 * deleted), the gone callback tells discovery (verify_on_gone).
 */
#ifndef AGENTD_VERIFY_H
#define AGENTD_VERIFY_H

#include <ev.h>

#include "config.h"
#include "status.h"
#include "supervisor.h"

#define VERIFY_DEBOUNCE 0.2
#define VERIFY_RELIST_FACTOR 240
#define VERIFY_AUDIT_FACTOR 10
#define VERIFY_QUOTA_THRESHOLD 0.9

struct apiprobe;
struct verify;

/* Everything is borrowed; *CFGP is read at each run (replaced on reload).
 * NULL on allocation failure. */
struct verify *verify_new(struct ev_loop *loop, struct apiprobe *probe, struct supervisor *sv,
			  struct status *st, struct config *const *cfgp);
struct verify *verify_free(struct verify *v);

/* Runs every check now (the vault-audit read included) and calls DONE(DATA)
 * once the results are in the status registry, from the loop.  0; -EAGAIN
 * when the stack is not being verified (API down, stack absent: status
 * says why); -EBUSY when too many runs are waiting. */
typedef void (*verify_done_fn)(void *data);
int verify_run(struct verify *v, verify_done_fn done, void *data);

/* Forgets a DONE callback registered by verify_run (the client went away). */
void verify_cancel(struct verify *v, void *data);

/* FN(DATA) when vault.namespace is gone from the watched namespaces (its
 * DELETED event, or absent from a list): the stack is no longer there. */
typedef void (*verify_gone_fn)(void *data);
void verify_on_gone(struct verify *v, verify_gone_fn fn, void *data);

#endif
