/* cmd_run.c — `run {"task": NAME, "timeout": SECONDS}`: a Job from CronJob NAME in
 * ai-agents now (proof.c), PROGRESS lines while it runs, then the result as REPLY.
 * A client that disconnects cancels the wait, not the Job: it runs to its end. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiprobe.h"
#include "cmd.h"
#include "log.h"
#include "proof.h"

#define RUN_DEFAULT_TIMEOUT_S 600

struct run {
	struct control_req *req;
	struct proof *proof;
};

static void
run_progress(void *arg, const char *line)
{
	struct run *r = arg;
	cJSON *o = cJSON_CreateObject();

	if (o && cJSON_AddStringToObject(o, "progress", line))
		control_reply(r->req, PROTO_PROGRESS, o);
	cJSON_Delete(o);
}

static void
run_done(void *arg, const cJSON *result)
{
	struct run *r = arg;
	struct control_req *req = r->req;

	free(r);
	if (!result) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	const char *task = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "task"));
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "reason"));
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
	log_send(ok ? LOG_INFO : LOG_WARNING, NULL, LOG_FIELDS("AGENTD_COMMAND=run"), "run %s: %s", task ? task : "?",
		 ok ? "succeeded" : reason ? reason : "failed");
	control_reply(req, PROTO_REPLY, result);
	control_end(req);
}

static const struct proof_ops run_ops = {
	.progress = run_progress,
	.done = run_done,
};

static void
run_cancel(struct control_req *req, void *data)
{
	struct run *r = data;
	(void)req;
	proof_cancel(r->proof);
	free(r);
}

static void
cmd_run(struct control_req *req, struct daemon *d)
{
	const cJSON *args = req->args;
	const char *task = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(args, "task"));
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(args, "timeout");
	double timeout = RUN_DEFAULT_TIMEOUT_S;
	struct kube *k = d->apiprobe ? apiprobe_kube(d->apiprobe) : NULL;
	struct run *r;

	if (!task) {
		control_error(req, PROTO_E_USAGE, "run: args.task (a CronJob name) is required");
		return;
	}
	if (to) {
		if (!cJSON_IsNumber(to) || to->valuedouble <= 0) {
			control_error(req, PROTO_E_USAGE, "run: args.timeout must be a positive number of seconds");
			return;
		}
		timeout = to->valuedouble;
	}
	if (!k) {
		control_error(req, PROTO_E_FAILED, "run: the Kubernetes API has not answered yet");
		return;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	r->req = req;
	int e = proof_start(d->loop, k, task, timeout, &run_ops, r, &r->proof);
	if (e < 0) {
		free(r);
		if (e == -EINVAL)
			control_error(req, PROTO_E_USAGE, "run: task \"%s\" is not a CronJob name (lowercase DNS label)",
				      task);
		else
			control_error(req, PROTO_E_INTERNAL, "run: %s", strerror(-e));
		return;
	}
	control_req_on_cancel(req, run_cancel, r);
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.flags = CMD_MUTATING,
	.summary = "start a Job from CronJob TASK now (like kubectl create job --from)",
	.exec = cmd_run,
};
