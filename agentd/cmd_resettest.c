/* cmd_resettest.c — `reset-test {"yes", "keep_vault_data", "teardown_timeout"}`:
 * the reset test of resettest.h, one at a time.
 *
 * Without "yes" nothing is touched: the REPLY is {"result": "confirm", "plan":
 * what the teardown would delete (teardown_plan)} for agentctl to ask about.
 * With it, PROGRESS frames {"phase", "line", "elapsed"} stream while it runs and
 * the end is one REPLY: the report (rtreport.h) plus "result": "pass" | "fail",
 * and, when its bootstrap initialised Vault, "vault_init" (the new keys, as
 * after `agentctl bootstrap`: to this client only, never logged).  A client that
 * leaves interrupts the test at a safe point (resettest_cancel). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <syslog.h>

#include "clock.h"
#include "cmd.h"
#include "log.h"
#include "msgid.h"
#include "resettest.h"
#include "wipe.h"

struct rt_req {
	struct control_req *req;
	struct daemon *d;
	struct resettest *test;
	uint64_t started;
};

/* One test at a time: a second one would tear down what the first builds. */
static struct rt_req *running;

static void
rt_progress(void *arg, const char *phase, const char *line)
{
	struct rt_req *r = arg;
	cJSON *o = cJSON_CreateObject();

	log_send(LOG_INFO, NULL, LOG_FIELDS("AGENTD_RESET_TEST=1"), "reset-test: %s", line);
	if (o && cJSON_AddStringToObject(o, "phase", phase ? phase : "") && cJSON_AddStringToObject(o, "line", line) &&
	    cJSON_AddNumberToObject(o, "elapsed", (double)(clock_mono_usec() - r->started) / 1e6))
		(void)control_reply(r->req, PROTO_PROGRESS, o);
	cJSON_Delete(o);
}

/* The first failure in words, for the journal. */
static void
first_failure(const cJSON *report, char *buf, size_t size)
{
	const cJSON *e;

	snprintf(buf, size, "a success metric failed");
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(report, "phases"))
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ok"))) {
			snprintf(buf, size, "%s: %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name")),
				 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "detail")));
			return;
		}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(report, "metrics"))
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "ok"))) {
			snprintf(buf, size, "%s: %s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "name")),
				 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "detail")));
			return;
		}
}

static void
rt_done(void *arg, const cJSON *report)
{
	struct rt_req *r = arg;
	struct control_req *req = r->req;
	char why[1200], secs[64];
	cJSON *o;

	control_req_on_cancel(req, NULL, NULL);
	running = NULL;
	if (!report || !(o = cJSON_Duplicate(report, true))) {
		log_error("reset-test: out of memory building the report");
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		free(r);
		return;
	}
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok"));
	snprintf(secs, sizeof secs, "AGENTD_RESET_TEST_SECONDS=%.1f",
		 cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(o, "duration")));
	if (ok) {
		log_send(LOG_NOTICE, MSGID_RESET_TEST_PASSED, LOG_FIELDS("AGENTD_RESET_TEST=1", secs),
			 "reset test passed: every phase and all three success metrics");
	} else {
		first_failure(o, why, sizeof why);
		log_send(LOG_WARNING, MSGID_RESET_TEST_FAILED, LOG_FIELDS("AGENTD_RESET_TEST=1", secs),
			 "reset test failed: %s", why);
	}
	cJSON_AddStringToObject(o, "result", ok ? "pass" : "fail");
	cmd_reply_with_init(req, r->d, o, "reset test");
	free(r);
}

static const struct resettest_ops rt_ops = { rt_progress, rt_done };

static void
rt_cancel(struct control_req *req, void *data)
{
	struct rt_req *r = data;

	(void)req;
	log_send(LOG_WARNING, NULL, LOG_FIELDS("AGENTD_RESET_TEST=1"),
		 "reset test interrupted: its client went away; agentd rebuilds whatever is missing");
	resettest_cancel(r->test);
	running = NULL;
	free(r);
}

static int
arg_bool(struct control_req *req, const char *name, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(req->args, name);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v)) {
		control_error(req, PROTO_E_USAGE, "reset-test: args.%s must be true or false", name);
		return -EINVAL;
	}
	*out = cJSON_IsTrue(v);
	return 0;
}

static void
reply_plan(struct control_req *req, struct daemon *d, bool keep)
{
	cJSON *plan = NULL, *o;
	char why[700];

	if (resettest_plan(d, keep, &plan, why, sizeof why) < 0) {
		control_error(req, PROTO_E_FAILED, "reset-test: %s", why);
		return;
	}
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "result", "confirm") || !cJSON_AddItemToObject(o, "plan", plan)) {
		if (!o || !cJSON_GetObjectItemCaseSensitive(o, "plan"))
			cJSON_Delete(plan);
		cJSON_Delete(o);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	control_reply(req, PROTO_REPLY, o);
	control_end(req);
	cJSON_Delete(o);
}

static void
cmd_resettest(struct control_req *req, struct daemon *d)
{
	struct resettest_opts opts = {
		.teardown_s = RESETTEST_TEARDOWN_S,
		.bootstrap_s = RESETTEST_BOOTSTRAP_S,
		.checks_s = RESETTEST_CHECKS_S,
		.run_s = RESETTEST_RUN_S,
	};
	const cJSON *to = cJSON_GetObjectItemCaseSensitive(req->args, "teardown_timeout");
	bool yes = false;
	char why[700];
	struct rt_req *r;

	if (arg_bool(req, "yes", &yes) < 0 || arg_bool(req, "keep_vault_data", &opts.keep_vault_data) < 0)
		return;
	if (to) {
		if (!cJSON_IsNumber(to) || to->valuedouble <= 0 || to->valuedouble > 86400) {
			control_error(req, PROTO_E_USAGE, "reset-test: args.teardown_timeout must be 1..86400 seconds");
			return;
		}
		opts.teardown_s = to->valuedouble;
	}
	if (running) {
		control_error(req, PROTO_E_FAILED, "reset-test: a reset test is already running (client pid %d)",
			      (int)running->req->peer->pid);
		return;
	}
	if (!yes) {
		reply_plan(req, d, opts.keep_vault_data);
		return;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	*r = (struct rt_req){ .req = req, .d = d, .started = clock_mono_usec() };
	log_send(LOG_NOTICE, NULL, LOG_FIELDS("AGENTD_RESET_TEST=1"),
		 "reset test starts (uid %u pid %d)%s: teardown, bootstrap, checks, journalist and publisher runs",
		 (unsigned)req->peer->uid, (int)req->peer->pid, opts.keep_vault_data ? ", keeping Vault's data" : "");
	if (resettest_start(d, &opts, &rt_ops, r, &r->test, why, sizeof why) < 0) {
		free(r);
		control_error(req, PROTO_E_FAILED, "reset-test: %s", why);
		return;
	}
	running = r;
	control_req_on_cancel(req, rt_cancel, r);
}

const struct cmd_entry cmd_resettest_entry = {
	.name = "reset-test",
	.flags = CMD_MUTATING,
	.summary = "tear the stack down, bootstrap it from scratch and prove it with a journalist and a publisher run",
	.exec = cmd_resettest,
};
