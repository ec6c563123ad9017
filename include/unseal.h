/* unseal — submitting one unseal key (or a reset) to every sealed Vault pod.
 *
 * One operation: for each pod, read its seal status; if it is initialised and
 * sealed, POST sys/unseal with the key (or {"reset": true}); judge the answer.
 * The key lives only in the struct secret handed to unseal_start (taken, wiped
 * and freed when the last submission has been started); vault.c wipes its own
 * copies.  Neither the key nor any part of it reaches a message.
 *
 * The judging (unseal_judge), the summary (unseal_summarize) and the rate
 * limit (unseal_limit_*) are pure and unit-tested.
 */
#ifndef AGENTD_UNSEAL_H
#define AGENTD_UNSEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "secret.h"
#include "vault.h"

enum unseal_outcome {
	UNSEAL_UNSEALED,        /* this key completed the threshold */
	UNSEAL_PROGRESS,        /* accepted; more keys needed */
	UNSEAL_DUPLICATE,       /* accepted before: progress did not move */
	UNSEAL_WRONG_KEY,       /* Vault discarded the attempt: progress back to 0 */
	UNSEAL_RESET,           /* a reset discarded the progress */
	UNSEAL_NOT_SEALED,      /* nothing to do on this pod */
	UNSEAL_NOT_INITIALIZED, /* no keys exist yet: the bootstrap initialises Vault */
	UNSEAL_UNREACHABLE,     /* the pod proxy or the connection failed */
	UNSEAL_FAILED,          /* another Vault error */
};

const char *unseal_outcome_name(enum unseal_outcome o);

/* Judges a sys/unseal exchange.  BEFORE: the pod's seal status read just
 * before (may be NULL).  R: the reply; AFTER: the parsed answer (NULL when
 * r->err).  RESET: the request was a reset. */
enum unseal_outcome unseal_judge(const struct vault_seal *before, const struct vault_reply *r,
				 const struct vault_seal *after, bool reset);

struct unseal_pod {
	char name[254];
	enum unseal_outcome outcome;
	int progress, threshold;
	char message[384];      /* Vault's or the proxy's words; never the key */
};

struct unseal_result {
	size_t n;
	struct unseal_pod *pods;
};

/* The overall verdict over every pod, worst first: any wrong key, then
 * unreachable/failed, then progress/duplicate, then unsealed; not-sealed only
 * when every pod is.  Writes one line for the operator into BUF ("2/3 keys:
 * Vault still sealed ...", "Vault unsealed", "wrong key: ...").  Returns the
 * verdict; UNSEAL_UNREACHABLE for zero pods. */
enum unseal_outcome unseal_summarize(const struct unseal_result *res, bool reset, char *buf, size_t size);

/* Rate limit: after a rejected key the next attempt waits 1 s, doubling per
 * further rejection up to UNSEAL_LIMIT_MAX_USEC; an accepted key clears it. */
#define UNSEAL_LIMIT_MAX_USEC (60ULL * 1000000ULL)
struct unseal_limit {
	uint64_t not_before;   /* CLOCK_MONOTONIC usec */
	uint64_t penalty;      /* the next wait after a rejection */
};
/* 0 when an attempt is allowed at NOW, else the usec still to wait. */
uint64_t unseal_limit_wait(const struct unseal_limit *l, uint64_t now);
void unseal_limit_record(struct unseal_limit *l, uint64_t now, enum unseal_outcome verdict);

struct unseal;
/* RES is valid during the call only. */
typedef void (*unseal_done_fn)(const struct unseal_result *res, void *data);

/* Starts an operation on PODS (names, copied) through V (borrowed, must
 * outlive the operation or unseal_cancel it first).  KEY is taken (NULL for a
 * reset).  0 and *out, or a negative errno (the key is freed either way). */
int unseal_start(struct vault *v, const char *const *pods, size_t n, struct secret *key, unseal_done_fn fn,
		 void *data, struct unseal **out);

/* For when V is about to be freed (its pending calls then never answer): FN
 * is called once with every pod not yet answered marked unreachable (MESSAGE
 * says why), then the operation is freed.  Call vault_free(V) right after. */
void unseal_cancel(struct unseal *u, const char *message);

#endif
