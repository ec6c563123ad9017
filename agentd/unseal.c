/* unseal — one key (or a reset) to every sealed Vault pod, and the verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unseal.h"

static const char *const outcome_names[] = {
	[UNSEAL_UNSEALED] = "unsealed",       [UNSEAL_PROGRESS] = "progress",
	[UNSEAL_DUPLICATE] = "duplicate",     [UNSEAL_WRONG_KEY] = "wrong-key",
	[UNSEAL_RESET] = "reset",             [UNSEAL_NOT_SEALED] = "not-sealed",
	[UNSEAL_NOT_INITIALIZED] = "not-initialized", [UNSEAL_UNREACHABLE] = "unreachable",
	[UNSEAL_FAILED] = "failed",
};

const char *
unseal_outcome_name(enum unseal_outcome o)
{
	return (unsigned)o <= UNSEAL_FAILED ? outcome_names[o] : "unknown";
}

enum unseal_outcome
unseal_judge(const struct vault_seal *before, const struct vault_reply *r, const struct vault_seal *after,
	     bool reset)
{
	if (r->transport)
		return UNSEAL_UNREACHABLE;
	if (r->err) {
		/* 400 on a submit: "Unseal failed, invalid key" or a malformed key;
		 * Vault has discarded the attempt either way. */
		if (r->status == 400 && !reset)
			return UNSEAL_WRONG_KEY;
		return UNSEAL_FAILED;
	}
	if (after == NULL)
		return UNSEAL_FAILED;
	if (!after->sealed)
		return reset ? UNSEAL_NOT_SEALED : UNSEAL_UNSEALED;
	if (reset)
		return UNSEAL_RESET;
	/* Sealed with progress 0 after a submit: the set of keys was wrong. */
	if (after->progress == 0)
		return UNSEAL_WRONG_KEY;
	if (before != NULL && before->sealed && after->progress == before->progress)
		return UNSEAL_DUPLICATE;
	return UNSEAL_PROGRESS;
}

/* Worse verdicts sort first. */
static int
rank(enum unseal_outcome o)
{
	switch (o) {
	case UNSEAL_WRONG_KEY:
		return 0;
	case UNSEAL_UNREACHABLE:
	case UNSEAL_FAILED:
		return 1;
	case UNSEAL_NOT_INITIALIZED:
		return 2;
	case UNSEAL_DUPLICATE:
		return 3;
	case UNSEAL_PROGRESS:
		return 4;
	case UNSEAL_RESET:
		return 5;
	case UNSEAL_UNSEALED:
		return 6;
	case UNSEAL_NOT_SEALED:
		return 7;
	}
	return 1;
}

enum unseal_outcome
unseal_summarize(const struct unseal_result *res, bool reset, char *buf, size_t size)
{
	const struct unseal_pod *w = NULL;
	size_t i;

	for (i = 0; i < res->n; i++)
		if (w == NULL || rank(res->pods[i].outcome) < rank(w->outcome))
			w = &res->pods[i];
	if (w == NULL) {
		snprintf(buf, size, "Vault unreachable: no Vault server pod found");
		return UNSEAL_UNREACHABLE;
	}
	switch (w->outcome) {
	case UNSEAL_WRONG_KEY:
		snprintf(buf, size,
			 "wrong key: %s discarded the unseal attempt (progress back to 0/%d)%s%s; "
			 "start again with correct keys",
			 w->name, w->threshold, w->message[0] ? ": " : "", w->message);
		break;
	case UNSEAL_UNREACHABLE:
		snprintf(buf, size, "Vault unreachable: %s: %s", w->name, w->message);
		break;
	case UNSEAL_FAILED:
		snprintf(buf, size, "unseal failed on %s: %s", w->name, w->message);
		break;
	case UNSEAL_NOT_INITIALIZED:
		snprintf(buf, size, "%s is not initialised: there are no unseal keys yet (the bootstrap initialises Vault)",
			 w->name);
		break;
	case UNSEAL_DUPLICATE:
		snprintf(buf, size, "%d/%d keys: %s already had this key; Vault still sealed, enter a different key",
			 w->progress, w->threshold, w->name);
		break;
	case UNSEAL_PROGRESS:
		snprintf(buf, size, "%d/%d keys: Vault still sealed, run agentctl unseal again with the next key",
			 w->progress, w->threshold);
		break;
	case UNSEAL_RESET:
		snprintf(buf, size, "unseal progress discarded: Vault still sealed, start again with the first key");
		break;
	case UNSEAL_UNSEALED:
		snprintf(buf, size, "Vault unsealed");
		break;
	case UNSEAL_NOT_SEALED:
		snprintf(buf, size, reset ? "not sealed: nothing to reset" : "not sealed: Vault is already unsealed");
		break;
	}
	return w->outcome;
}

uint64_t
unseal_limit_wait(const struct unseal_limit *l, uint64_t now)
{
	return now >= l->not_before ? 0 : l->not_before - now;
}

void
unseal_limit_record(struct unseal_limit *l, uint64_t now, enum unseal_outcome verdict)
{
	if (verdict == UNSEAL_WRONG_KEY) {
		l->penalty = l->penalty == 0 ? 1000000 : l->penalty * 2;
		if (l->penalty > UNSEAL_LIMIT_MAX_USEC)
			l->penalty = UNSEAL_LIMIT_MAX_USEC;
		l->not_before = now + l->penalty;
	} else if (verdict == UNSEAL_PROGRESS || verdict == UNSEAL_UNSEALED) {
		l->penalty = 0;
		l->not_before = 0;
	}
}

struct unseal_ctx {
	struct unseal *u;
	size_t i;
	struct vault_seal before;
	bool have_before;
};

struct unseal {
	struct vault *v;
	struct secret *key;    /* NULL for a reset, or once every pod had it */
	bool reset;
	unseal_done_fn fn;
	void *data;
	struct unseal_result res;
	struct unseal_ctx *ctx;
	size_t pending;        /* pods not yet judged */
	size_t to_submit;      /* pods that may still need the key */
};

static void
unseal_free(struct unseal *u)
{
	secret_free(u->key);
	free(u->res.pods);
	free(u->ctx);
	free(u);
}

/* The key is no longer needed once every pod has had it (or will not). */
static void
submitted(struct unseal *u)
{
	if (u->to_submit > 0 && --u->to_submit == 0)
		u->key = secret_free(u->key);
}

static void
judged(struct unseal *u, size_t i, enum unseal_outcome o, int progress, int threshold, const char *msg)
{
	struct unseal_pod *p = &u->res.pods[i];

	p->outcome = o;
	p->progress = progress;
	p->threshold = threshold;
	snprintf(p->message, sizeof(p->message), "%s", msg ? msg : "");
	if (--u->pending == 0) {
		u->fn(&u->res, u->data);
		unseal_free(u);
	}
}

static void
on_unseal(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct unseal_ctx *c = arg;
	struct unseal *u = c->u;
	enum unseal_outcome o = unseal_judge(c->have_before ? &c->before : NULL, r, s, u->reset);

	judged(u, c->i, o, s ? s->progress : 0, s ? s->t : c->before.t, r->err ? r->message : "");
}

static void
on_status(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct unseal_ctx *c = arg;
	struct unseal *u = c->u;
	int rc;

	if (s == NULL) {
		submitted(u);
		judged(u, c->i, r->transport ? UNSEAL_UNREACHABLE : UNSEAL_FAILED, 0, 0, r->message);
		return;
	}
	c->before = *s;
	c->have_before = true;
	if (!s->initialized || !s->sealed) {
		submitted(u);
		judged(u, c->i, !s->initialized ? UNSEAL_NOT_INITIALIZED : UNSEAL_NOT_SEALED, s->progress, s->t, "");
		return;
	}
	if (u->reset)
		rc = vault_unseal_reset(u->v, u->res.pods[c->i].name, on_unseal, c);
	else
		rc = vault_unseal(u->v, u->res.pods[c->i].name, u->key->data, u->key->len, on_unseal, c);
	submitted(u);
	if (rc < 0)
		judged(u, c->i, rc == -EINVAL && !u->reset ? UNSEAL_WRONG_KEY : UNSEAL_FAILED, s->progress, s->t,
		       rc == -EINVAL && !u->reset ? "the key is neither hex nor base64" : strerror(-rc));
}

int
unseal_start(struct vault *v, const char *const *pods, size_t n, struct secret *key, unseal_done_fn fn,
	     void *data, struct unseal **out)
{
	struct unseal *u = calloc(1, sizeof(*u));
	size_t i;

	if (u == NULL || n == 0 || (u->res.pods = calloc(n, sizeof(*u->res.pods))) == NULL ||
	    (u->ctx = calloc(n, sizeof(*u->ctx))) == NULL) {
		if (u != NULL) {
			free(u->res.pods);
			free(u);
		}
		secret_free(key);
		return n == 0 ? -ENOENT : -ENOMEM;
	}
	u->v = v;
	u->key = key;
	u->reset = key == NULL;
	u->fn = fn;
	u->data = data;
	u->res.n = n;
	/* Held at one more than the pods until every request has been started,
	 * so a synchronous failure cannot finish the operation under our feet. */
	u->pending = n + 1;
	u->to_submit = key != NULL ? n + 1 : 0;
	for (i = 0; i < n; i++) {
		snprintf(u->res.pods[i].name, sizeof(u->res.pods[i].name), "%s", pods[i]);
		u->res.pods[i].outcome = UNSEAL_UNREACHABLE;
		u->ctx[i].u = u;
		u->ctx[i].i = i;
	}
	*out = u;
	for (i = 0; i < n; i++) {
		int rc = vault_seal_status(v, u->res.pods[i].name, on_status, &u->ctx[i]);

		if (rc < 0) {
			submitted(u);
			judged(u, i, UNSEAL_FAILED, 0, 0, strerror(-rc));
		}
	}
	submitted(u);
	if (--u->pending == 0) {
		u->fn(&u->res, u->data);
		unseal_free(u);
		*out = NULL;
	}
	return 0;
}

void
unseal_cancel(struct unseal *u, const char *message)
{
	size_t i;

	for (i = 0; i < u->res.n; i++)
		if (u->res.pods[i].outcome == UNSEAL_UNREACHABLE && u->res.pods[i].message[0] == '\0')
			snprintf(u->res.pods[i].message, sizeof(u->res.pods[i].message), "%s", message);
	u->fn(&u->res, u->data);
	unseal_free(u);
}
