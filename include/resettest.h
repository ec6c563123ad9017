/* resettest — `agentctl bootstrap --reset-test`: tear the managed stack down to a
 * bare cluster, bootstrap it from scratch, wait until every check passes, then
 * prove it with a journalist and a publisher run; the outcome is the report of
 * rtreport.h.
 *
 * Phases, each timed and reported, each with its own deadline:
 *   wait-bootstrap  only when a bootstrap is already under way (an interrupted
 *                   reset test leaves one): it is followed to its end first;
 *   teardown        teardown.h, with discovery held (discover_hold) so the absent
 *                   stack is not rebuilt under its feet; STATE_DIR/stack.json
 *                   (the record of a completed bootstrap) is removed first, so
 *                   an interruption leaves a stack agentd knows to rebuild;
 *   bootstrap       the daemon's own bootstrap (discover_bootstrap): a fresh
 *                   Vault init writes new keys to vault-init.json, shown once
 *                   to the client as after `agentctl bootstrap`;
 *   checks          verify_run until every check passes and the daemon is
 *                   healthy;
 *   run-journalist, run-publisher   proof.h, both at once.
 * A failed phase ends the test (later phases are "not reached").
 *
 * Interrupting (resettest_cancel: the client went away) stops at a safe point:
 * deletions already sent stay sent, a bootstrap under way goes on (it belongs
 * to the daemon), discovery is released and rebuilds whatever is missing.  A
 * second run after an interrupted one completes: objects already being deleted
 * are waited for, a bootstrap under way is followed first.
 *
 * Asynchronous, on the daemon's loop; never logs (cmd_resettest.c does). */
#ifndef AGENTD_RESETTEST_H
#define AGENTD_RESETTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct daemon;
struct resettest;

struct resettest_opts {
	bool keep_vault_data;	/* the Vault namespace and vault-init.json survive */
	double teardown_s, bootstrap_s, checks_s, run_s;	/* per-phase deadlines */
};

#define RESETTEST_TEARDOWN_S 180.0
#define RESETTEST_BOOTSTRAP_S 600.0
#define RESETTEST_CHECKS_S 180.0
#define RESETTEST_RUN_S 300.0

struct resettest_ops {
	/* PHASE is the phase's name, LINE what happened, in words. */
	void (*progress)(void *arg, const char *phase, const char *line);
	/* REPORT (rtreport.h, borrowed for the call) or NULL on ENOMEM.  The test
	 * is freed after this returns. */
	void (*done)(void *arg, const cJSON *report);
};

/* What the teardown would remove, for the confirmation prompt (teardown_plan).
 * 0 and *out, or a negative errno and *why. */
int resettest_plan(struct daemon *d, bool keep_vault_data, cJSON **out, char *why, size_t whysize);

/* Starts a test.  -ENOTCONN while there is no Kubernetes client or the API is
 * down; -ENOMEM.  *WHY says why in words. */
int resettest_start(struct daemon *d, const struct resettest_opts *opts, const struct resettest_ops *ops, void *arg,
		    struct resettest **out, char *why, size_t whysize);

/* Stops at a safe point without calling done; not from inside its callbacks. */
void resettest_cancel(struct resettest *t);

#endif
