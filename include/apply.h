/* apply — server-side apply of rendered phases, in order, with gates.
 *
 * For each phase: a rejected phase (manifest error) stops the run before anything
 * of it is sent; otherwise every object of the phase is applied at once
 * (PATCH apply, fieldManager=agentd, force), transient failures (no answer, 429,
 * 5xx, a truncated body) retried with backoff until the phase deadline, and then
 * the gate: every object the WAIT predicate selects is polled until kstatus says
 * Current.  Earlier phases stay applied when a later one fails.  Asynchronous, on
 * the loop; the stack and the client are borrowed for the run. */
#ifndef AGENTD_APPLY_H
#define AGENTD_APPLY_H

#include <stdbool.h>

#include "kube.h"
#include "manifest.h"

struct ev_loop;
struct apply;

enum apply_step {
	APPLY_OBJECT,	/* an object was applied (err 0) or failed for good */
	APPLY_RETRY,	/* a transient failure; it will be tried again */
	APPLY_WAITING,	/* the gate: an object is not Current yet (message says why) */
	APPLY_READY,	/* the gate: an object became Current */
	APPLY_PHASE,	/* a phase finished (applied and gated) */
};

struct apply_event {
	enum apply_step step;
	const char *phase;
	const struct manifest_object *obj;	/* NULL for APPLY_PHASE */
	int err;
	const char *message;
	double elapsed;				/* seconds since the run started */
};

struct apply_ops {
	void (*progress)(void *arg, const struct apply_event *ev);	/* may be NULL */
	/* err 0 when every phase in range is applied and gated; else what stopped it. */
	void (*done)(void *arg, int err, const char *message);
	/* Whether the gate waits for OBJ (NULL: every object). */
	bool (*wait)(void *arg, const struct manifest_object *obj);
};

/* Applies phases [FROM, TO) of S.  phase_timeout_ms bounds applying plus gating of
 * one phase.  0 and *out (cancel with apply_cancel; it ends by itself after done). */
int apply_start(struct ev_loop *loop, struct kube *k, const struct manifest_stack *s, size_t from, size_t to,
		long phase_timeout_ms, const struct apply_ops *ops, void *arg, struct apply **out);

/* Stops a run without calling done; not from inside its own callbacks. */
void apply_cancel(struct apply *a);

/* The pause in seconds before a wait's next look: 0.1 s while it has waited
 * under 2 s (most gates open at a controller's next pass), then doubling from
 * 0.2 s up to MAX (a slow image pull is not asked ten times a second).  *STEP
 * carries the doubling: 0 for a new wait.  A retry, which should not hurry,
 * passes WAITED as INFINITY. */
double apply_poll_pause(double waited, double *step, double max);

/* Whether a kube error is worth retrying (no answer, 429, 5xx, bad body). */
bool apply_transient(const struct kube_result *r);

#endif
