/* cmd_bootstrap.c — `bootstrap`: run the first-run bootstrap now, or follow the
 * one under way.  The daemon owns the run, so it goes on when the client leaves.
 *
 * Each progress line becomes a PROGRESS frame {"phase", "object", "result",
 * "elapsed", "line"}; the end is one REPLY {"result": "complete" |
 * "waiting-unseal", "message", "objects", "phases", "duration"} or a `failed`
 * error naming the step.  When this run initialised Vault, the first client to
 * reach the end gets "vault_init" (the content of vault-init.json) in that
 * REPLY and no one else ever does; it is never logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "clock.h"
#include "cmd.h"
#include "discover.h"
#include "readfile.h"
#include "wipe.h"

#define INIT_MAX 65536

struct boot_req {
	struct control_req *req;
	struct daemon *d;
	struct discover_watch *watch;
	uint64_t started;	/* monotonic usec */
	unsigned objects;	/* objects applied */
	unsigned phases;	/* phases done */
};

static double
elapsed(const struct boot_req *b)
{
	return (double)(clock_mono_usec() - b->started) / 1e6;
}

static void
on_cancel(struct control_req *req, void *data)
{
	struct boot_req *b = data;

	(void)req;
	discover_bootstrap_detach(b->d->discover, b->watch);
	free(b);
}

/* "phase NAME: WHAT: RESULT (1.2s)", "phase NAME: done (..)", "vault: ...". */
static void
split_line(const char *line, char *phase, size_t psize, char *object, size_t osize, const char **result)
{
	const char *p = line, *colon;

	object[0] = '\0';
	if (strncmp(p, "phase ", 6) == 0)
		p += 6;
	colon = strstr(p, ": ");
	if (colon == NULL) {
		snprintf(phase, psize, "%s", "");
		*result = line;
		return;
	}
	snprintf(phase, psize, "%.*s", (int)(colon - p), p);
	p = colon + 2;
	colon = strstr(p, ": ");
	/* An object is "Kind ns/name" or "Kind name": one blank, no colon. */
	if (colon != NULL && memchr(p, ' ', (size_t)(colon - p)) != NULL &&
	    memchr(p, ' ', (size_t)(colon - p)) == memrchr(p, ' ', (size_t)(colon - p))) {
		snprintf(object, osize, "%.*s", (int)(colon - p), p);
		p = colon + 2;
	}
	*result = p;
}

static void
on_progress(void *arg, const char *line)
{
	struct boot_req *b = arg;
	char phase[128], object[300];
	const char *result;
	cJSON *o;

	split_line(line, phase, sizeof phase, object, sizeof object, &result);
	if (strncmp(line, "phase ", 6) == 0) {
		if (object[0] && strncmp(result, "applied", 7) == 0)
			b->objects++;
		else if (strncmp(result, "done", 4) == 0)
			b->phases++;
	}
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddStringToObject(o, "phase", phase) || !cJSON_AddStringToObject(o, "object", object) ||
	    !cJSON_AddStringToObject(o, "result", result) || !cJSON_AddNumberToObject(o, "elapsed", elapsed(b)) ||
	    !cJSON_AddStringToObject(o, "line", line)) {
		cJSON_Delete(o);
		return;
	}
	(void)control_reply(b->req, PROTO_PROGRESS, o);
	cJSON_Delete(o);
}

void
cmd_reply_with_init(struct control_req *req, struct daemon *d, cJSON *o, const char *what)
{
	char path[4200], why[4400], *buf = NULL;
	size_t len = 0;
	cJSON *init = NULL;
	int r;

	cJSON_AddStringToObject(o, "state_directory", d->config->state_dir);
	if (discover_take_init(d->discover)) {
		snprintf(path, sizeof path, "%s/vault-init.json", d->config->state_dir);
		r = readfile(path, INIT_MAX, &buf, &len);
		if (r < 0) {
			snprintf(why, sizeof why, "cannot read %s: %s", path, strerror(-r));
		} else {
			init = cJSON_ParseWithLength(buf, len);
			wipe_free(buf, len);
			if (init == NULL)
				snprintf(why, sizeof why, "%s is not JSON", path);
		}
		if (init != NULL)
			cJSON_AddItemToObject(o, "vault_init", init);
		else
			cJSON_AddStringToObject(o, "vault_init_error", why);
	}
	if (control_reply(req, PROTO_REPLY, o) < 0)
		control_error(req, PROTO_E_INTERNAL, "the %s result does not fit in a frame", what);
	else
		control_end(req);
	wipe_json_free(o);
}

static void
on_done(void *arg, int err, const char *message)
{
	struct boot_req *b = arg;
	struct control_req *req = b->req;
	cJSON *o;

	control_req_on_cancel(req, NULL, NULL);
	if (err != 0 && err != -EAGAIN) {
		control_error(req, PROTO_E_FAILED, "bootstrap failed: %s", message);
		free(b);
		return;
	}
	o = cJSON_CreateObject();
	if (o == NULL || !cJSON_AddStringToObject(o, "result", err == 0 ? "complete" : "waiting-unseal") ||
	    !cJSON_AddStringToObject(o, "message", message) || !cJSON_AddNumberToObject(o, "objects", b->objects) ||
	    !cJSON_AddNumberToObject(o, "phases", b->phases) || !cJSON_AddNumberToObject(o, "duration", elapsed(b))) {
		cJSON_Delete(o);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		free(b);
		return;
	}
	cmd_reply_with_init(req, b->d, o, "bootstrap");
	free(b);
}

static void
cmd_bootstrap(struct control_req *req, struct daemon *d)
{
	static const struct bootstrap_ops ops = { on_progress, on_done };
	struct boot_req *b;
	char why[600];
	int r;

	if (d->discover == NULL) {
		control_error(req, PROTO_E_FAILED, "this agentd has no Kubernetes client: nothing to bootstrap");
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	*b = (struct boot_req){ .req = req, .d = d, .started = clock_mono_usec() };
	/* Before starting: a run that cannot start ends (and frees B) at once. */
	control_req_on_cancel(req, on_cancel, b);
	r = discover_bootstrap(d->discover, &ops, b, &b->watch, why, sizeof why);
	if (r < 0) {
		control_req_on_cancel(req, NULL, NULL);
		free(b);
		control_error(req, PROTO_E_FAILED, "%s", why);
	}
}

const struct cmd_entry cmd_bootstrap_entry = {
	.name = "bootstrap",
	.flags = CMD_MUTATING,
	.summary = "stand the stack up now (or follow the bootstrap under way) and stream its progress",
	.exec = cmd_bootstrap,
};
