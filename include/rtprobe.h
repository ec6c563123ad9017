/* rtprobe — the reset test's probe key.
 *
 * On a Vault the reset test has just initialised, every agent KV entry exists
 * but is empty (the bootstrap creates them so the agents' pods can start; the
 * operator adds keys with `agentctl secret put`), so a run could not show a key
 * arriving from Vault.  rtprobe_seed writes one key, RESET_TEST_PROBE (a random
 * value, never logged or shown), into each EMPTY entry that the tasks' CronJob
 * templates ask the injector for; an entry with keys is left alone.
 * rtprobe_clear writes the seeded entries back empty, as the bootstrap left
 * them.  The root token is read from $STATE_DIRECTORY/vault-init.json (the
 * fresh init's, bootstrap_saved_root_token) for each of the two and wiped after;
 * the Vault client (vault_new_for_config) lives as long as the probe.
 *
 * Asynchronous, on the loop; never logs (the caller does). */
#ifndef AGENTD_RTPROBE_H
#define AGENTD_RTPROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct ev_loop;
struct http_client;
struct kube;
struct rtprobe;

#define RTPROBE_KEY "RESET_TEST_PROBE"

/* err 0 and MSG "N entries seeded" / "N entries cleared"; or a negative errno
 * and MSG naming the step (a Vault path, the CronJob, the init file). */
typedef void (*rtprobe_done_fn)(void *arg, int err, const char *msg);

/* TASKS: CronJob names in ai-agents, borrowed for the probe's life, as K and
 * HTTP are; what is needed of CFG is copied. */
int rtprobe_seed(struct ev_loop *loop, struct kube *k, struct http_client *http, const struct config *cfg,
		 const char *const *tasks, size_t ntasks, rtprobe_done_fn done, void *arg, struct rtprobe **out);
/* Empties what SEED wrote; P stays the caller's.  0 (DONE follows from the
 * loop), 1 when nothing was seeded (DONE is not called), -EBUSY while a step
 * runs, or the error opening Vault. */
int rtprobe_clear(struct rtprobe *p, rtprobe_done_fn done, void *arg);
/* Stops and frees; pending answers are dropped. */
void rtprobe_free(struct rtprobe *p);

#endif
