/* resettest.c — teardown, bootstrap, checks, proof runs, report. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "apiprobe.h"
#include "bootstrap.h"
#include "clock.h"
#include "daemon.h"
#include "discover.h"
#include "kube.h"
#include "proof.h"
#include "resettest.h"
#include "rtprobe.h"
#include "rtreport.h"
#include "status.h"
#include "supervisor.h"
#include "teardown.h"
#include "verify.h"

#define CHECKS_POLL_S 1.0

static const char *const tasks[RTREPORT_NTASKS] = RTREPORT_TASKS;

struct resettest {
	struct daemon *d;
	struct resettest_opts o;
	const struct resettest_ops *ops;
	void *arg;
	const char *phase;		/* the phase under way */
	uint64_t started;		/* monotonic usec: the report's duration is wall time */
	uint64_t phase_started;		/* monotonic usec */
	bool held;			/* discovery held by us */
	struct discover_watch *boot;	/* following a bootstrap */
	struct teardown *teardown;
	bool verifying;			/* a verify_run is outstanding */
	ev_timer timer;			/* checks: next look; also the phase deadline */
	double checks_deadline;
	bool fresh_vault;		/* this test's bootstrap initialised Vault */
	struct rtprobe *probe;		/* probe keys seeded into empty entries */
	struct proof *runs[RTREPORT_NTASKS];
	unsigned runs_left;
	cJSON *phases, *runs_done, *teardown_report;
};

static void start_teardown(struct resettest *t);
static void start_bootstrap(struct resettest *t);
static void after_runs(struct resettest *t);
static void start_runs(struct resettest *t);
static void start_probe(struct resettest *t);

static void
say(struct resettest *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say(struct resettest *t, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (t->ops->progress)
		t->ops->progress(t->arg, t->phase, line);
}

static void
phase_begin(struct resettest *t, const char *name)
{
	t->phase = name;
	t->phase_started = clock_mono_usec();
}

static void
phase_end(struct resettest *t, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
phase_end(struct resettest *t, bool ok, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;
	cJSON *p = cJSON_CreateObject();

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	double secs = (double)(clock_mono_usec() - t->phase_started) / 1e6;
	if (!p || !cJSON_AddStringToObject(p, "name", t->phase) || !cJSON_AddBoolToObject(p, "ok", ok) ||
	    !cJSON_AddNumberToObject(p, "seconds", (double)(long)(secs * 10) / 10) ||
	    !cJSON_AddStringToObject(p, "detail", detail) || !cJSON_AddItemToArray(t->phases, p))
		cJSON_Delete(p);
	say(t, "%s %s (%.1f s): %s", t->phase, ok ? "done" : "FAILED", secs, detail);
}

static void
release(struct resettest *t)
{
	if (t->held) {
		t->held = false;
		discover_release(t->d->discover);
	}
}

static void
stop_all(struct resettest *t)
{
	ev_timer_stop(t->d->loop, &t->timer);
	if (t->boot)
		discover_bootstrap_detach(t->d->discover, t->boot);
	t->boot = NULL;
	teardown_cancel(t->teardown);
	t->teardown = NULL;
	if (t->verifying)
		verify_cancel(t->d->verify, t);
	t->verifying = false;
	for (size_t i = 0; i < RTREPORT_NTASKS; i++)
		if (t->runs[i])
			proof_cancel(t->runs[i]);
	memset(t->runs, 0, sizeof t->runs);
	rtprobe_free(t->probe);
	t->probe = NULL;
	release(t);
}

static void
free_test(struct resettest *t)
{
	cJSON_Delete(t->phases);
	cJSON_Delete(t->runs_done);
	cJSON_Delete(t->teardown_report);
	free(t);
}

static void
finish(struct resettest *t)
{
	stop_all(t);
	cJSON *checks = status_checks_json(t->d->status);
	cJSON *report = rtreport_build(t->phases, checks, t->runs_done, t->teardown_report);
	cJSON_Delete(checks);
	/* The runs overlap: the sum of the phases overstates the time it took. */
	double wall = (double)(clock_mono_usec() - t->started) / 1e6;
	if (report)
		cJSON_ReplaceItemInObject(report, "duration", cJSON_CreateNumber((double)(long)(wall * 10) / 10));
	const struct resettest_ops *ops = t->ops;
	void *arg = t->arg;
	free_test(t);
	ops->done(arg, report);
	cJSON_Delete(report);
}

/* ---- the proof runs ---- */

static void
run_progress(void *arg, const char *line)
{
	struct resettest *t = arg;
	say(t, "%s", line);
}

static void
probe_cleared(void *arg, int err, const char *msg)
{
	struct resettest *t = arg;

	/* The runs' verdict stands either way; a probe key left behind is said. */
	if (err)
		say(t, "the probe keys could not be removed again (%s): remove %s with agentctl secret", msg,
		    RTPROBE_KEY);
	else
		say(t, "probe keys removed: %s", msg);
	finish(t);
}

static void
after_runs(struct resettest *t)
{
	int r = t->probe ? rtprobe_clear(t->probe, probe_cleared, t) : 1;

	if (r == 1) {
		finish(t);
	} else if (r < 0) {
		say(t, "the probe keys could not be removed again (%s): remove %s with agentctl secret", strerror(-r),
		    RTPROBE_KEY);
		finish(t);
	}
}

static void
record_run(struct resettest *t, const cJSON *result)
{
	const char *task = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "task"));
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(result, "ok"));
	const char *reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "reason"));
	const char *job = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "job"));
	double secs = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(result, "seconds"));
	cJSON *p = cJSON_CreateObject();
	char name[80], detail[1024];

	snprintf(name, sizeof name, "run-%s", task ? task : "?");
	if (ok)
		snprintf(detail, sizeof detail, "job %s/%s complete, %d secret files from Vault", PROOF_NAMESPACE,
			 job ? job : "?", cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(result, "files")));
	else
		snprintf(detail, sizeof detail, "%s", reason && *reason ? reason : "failed");
	if (p && cJSON_AddStringToObject(p, "name", name) && cJSON_AddBoolToObject(p, "ok", ok) &&
	    cJSON_AddNumberToObject(p, "seconds", secs == secs ? secs : 0) &&
	    cJSON_AddStringToObject(p, "detail", detail) && cJSON_AddItemToArray(t->phases, p))
		p = NULL;
	cJSON_Delete(p);
	cJSON_AddItemToArray(t->runs_done, cJSON_Duplicate(result, true));
	say(t, "run %s %s: %s", task ? task : "?", ok ? "succeeded" : "FAILED", detail);
}

static void
run_done(void *arg, const cJSON *result)
{
	struct resettest *t = arg;
	const char *task = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(result, "task"));

	for (size_t i = 0; i < RTREPORT_NTASKS; i++)
		if (task && strcmp(task, tasks[i]) == 0)
			t->runs[i] = NULL;	/* freed by proof.c after this call */
	if (result)
		record_run(t, result);
	if (--t->runs_left == 0)
		after_runs(t);
}

static const struct proof_ops run_ops = { run_progress, run_done };

static void
start_runs(struct resettest *t)
{
	struct kube *k = apiprobe_kube(t->d->apiprobe);
	unsigned failed = 0;

	phase_begin(t, "runs");
	t->runs_left = RTREPORT_NTASKS;
	for (size_t i = 0; i < RTREPORT_NTASKS; i++) {
		say(t, "starting a %s run (as kubectl create job --from=cronjob/%s)", tasks[i], tasks[i]);
		if (k && proof_start(t->d->loop, k, tasks[i], t->o.run_s, &run_ops, t, &t->runs[i]) == 0)
			continue;
		cJSON *r = cJSON_CreateObject();
		if (r && cJSON_AddStringToObject(r, "task", tasks[i]) && cJSON_AddBoolToObject(r, "ok", false) &&
		    cJSON_AddStringToObject(r, "reason", "the run could not start") && cJSON_AddNullToObject(r, "pod"))
			record_run(t, r);
		cJSON_Delete(r);
		t->runs[i] = NULL;
		failed++;
	}
	/* proof.c answers from the loop only, so the count is settled before any answer. */
	t->runs_left -= failed;
	if (t->runs_left == 0)
		after_runs(t);
}

/* ---- probe keys (a fresh Vault's agent entries are empty) ---- */

static void
probe_seeded(void *arg, int err, const char *msg)
{
	struct resettest *t = arg;

	if (err) {
		phase_end(t, false, "%s", msg);
		finish(t);
		return;
	}
	phase_end(t, true, "%s", msg);
	start_runs(t);
}

static void
start_probe(struct resettest *t)
{
	phase_begin(t, "probe-secrets");
	say(t, "the new Vault's agent entries are empty: a probe key (%s) goes into each, for the runs to show",
	    RTPROBE_KEY);
	int r = rtprobe_seed(t->d->loop, apiprobe_kube(t->d->apiprobe), t->d->http, t->d->config, tasks,
			     RTREPORT_NTASKS, probe_seeded, t, &t->probe);
	if (r < 0) {
		phase_end(t, false, "cannot start: %s", strerror(-r));
		finish(t);
	}
}

/* ---- checks ---- */

static void checks_look(struct resettest *t);

static void
on_verified(void *data)
{
	struct resettest *t = data;
	char failing[900];

	t->verifying = false;
	enum sv_state s = supervisor_state(t->d->sv);
	if (status_all_ok(t->d->status) && s == SV_HEALTHY) {
		phase_end(t, true, "all %zu checks pass", status_count(t->d->status));
		if (t->fresh_vault)
			start_probe(t);
		else
			start_runs(t);
		return;
	}
	if (ev_now(t->d->loop) >= t->checks_deadline) {
		status_failing(t->d->status, true, failing, sizeof failing);
		phase_end(t, false, "not every check passed within %.0f s (state %s): %s", t->o.checks_s,
			  supervisor_state_name(s), failing[0] ? failing : "no check has reported yet");
		finish(t);
		return;
	}
	ev_timer_set(&t->timer, CHECKS_POLL_S, 0.0);
	ev_timer_start(t->d->loop, &t->timer);
}

static void
on_checks_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	checks_look(w->data);
}

static void
checks_look(struct resettest *t)
{
	int r = verify_run(t->d->verify, on_verified, t);
	if (r == 0) {
		t->verifying = true;
		return;
	}
	/* -EAGAIN: the engine is not verifying yet (discovery still looking). */
	on_verified(t);
}

static void
start_checks(struct resettest *t)
{
	phase_begin(t, "checks");
	say(t, "waiting until every check passes (at most %.0f s)", t->o.checks_s);
	t->checks_deadline = ev_now(t->d->loop) + t->o.checks_s;
	ev_timer_init(&t->timer, on_checks_timer, 0.0, 0.0);
	t->timer.data = t;
	checks_look(t);
}

/* ---- bootstrap ---- */

static void
boot_progress(void *arg, const char *line)
{
	struct resettest *t = arg;
	/* The line only names the file; the keys never pass here. */
	if (strncmp(line, "vault: ", 7) == 0 && strstr(line, " initialised (") != NULL)
		t->fresh_vault = true;
	say(t, "%s", line);
}

static void
boot_done(void *arg, int err, const char *message)
{
	struct resettest *t = arg;

	t->boot = NULL;	/* freed by discover after this call */
	ev_timer_stop(t->d->loop, &t->timer);
	if (strcmp(t->phase, "wait-bootstrap") == 0) {
		/* Whatever it came to, the teardown starts from here. */
		phase_end(t, true, "the bootstrap under way ended: %s", err ? message : "complete");
		start_teardown(t);
		return;
	}
	if (err) {
		phase_end(t, false, "%s", err == -EAGAIN ? "waiting for an unseal key (agentctl unseal)" : message);
		finish(t);
		return;
	}
	phase_end(t, true, "%s", message);
	start_checks(t);
}

static const struct bootstrap_ops boot_ops = { boot_progress, boot_done };

static void
on_boot_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct resettest *t = w->data;
	(void)loop;
	(void)revents;
	/* The bootstrap itself goes on (the daemon's); the test stops following it. */
	phase_end(t, false, "did not complete within %.0f s", t->o.bootstrap_s);
	finish(t);
}

static int
follow_bootstrap(struct resettest *t, char *why, size_t whysize)
{
	int r = discover_bootstrap(t->d->discover, &boot_ops, t, &t->boot, why, whysize);
	if (r < 0)
		return r;
	ev_timer_init(&t->timer, on_boot_deadline, t->o.bootstrap_s, 0.0);
	t->timer.data = t;
	ev_timer_start(t->d->loop, &t->timer);
	return 0;
}

static void
start_bootstrap(struct resettest *t)
{
	char why[700];

	phase_begin(t, "bootstrap");
	release(t);
	if (follow_bootstrap(t, why, sizeof why) < 0) {
		phase_end(t, false, "%s", why);
		finish(t);
	}
}

/* ---- teardown ---- */

static void
td_progress(void *arg, const char *line)
{
	struct resettest *t = arg;
	say(t, "%s", line);
}

/* "Namespace/ai-agents (Terminating): NamespaceFinalizersRemaining=True
 * (SomeFinalizersRemain: ...); finalizers: example.com/hold". */
static void
stuck_words(const cJSON *stuck, char *buf, size_t size)
{
	const cJSON *s, *c, *f;
	size_t o = 0;

#define PUT(...) (o += o < size ? (size_t)snprintf(buf + o, size - o, __VA_ARGS__) : 0)
	buf[0] = '\0';
	cJSON_ArrayForEach(s, stuck) {
		PUT("%s%s (%s)", o ? "; " : "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "object")),
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "phase")));
		cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(s, "conditions")) {
			const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "type"));
			const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "status"));
			/* Only the conditions that say what holds it: the True ones. */
			if (!type || !status || strcmp(status, "True") != 0)
				continue;
			PUT(" %s=%s (%s: %s)", type, status,
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "reason")),
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "message")));
		}
		int nf = 0;
		cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(s, "finalizers"))
			PUT("%s%s", nf++ ? ", " : "; finalizers: ", f->valuestring);
	}
#undef PUT
}

static void
td_done(void *arg, int err, const char *message, const cJSON *report)
{
	struct resettest *t = arg;

	t->teardown = NULL;	/* freed by teardown.c */
	cJSON_Delete(t->teardown_report);
	t->teardown_report = report ? cJSON_Duplicate(report, true) : NULL;
	if (err) {
		/* Nothing more is deleted; the stack stays as it is for the operator to see. */
		char stuck[900];
		stuck_words(cJSON_GetObjectItemCaseSensitive(report, "stuck"), stuck, sizeof stuck);
		phase_end(t, false, "%s%s%s", message, stuck[0] ? ": " : "", stuck);
		finish(t);
		return;
	}
	phase_end(t, true, "%d objects deleted%s",
		  cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "deleted")),
		  cJSON_IsString(cJSON_GetObjectItemCaseSensitive(report, "vault_init_moved_to"))
			  ? ", the old Vault keys moved aside"
			  : "");
	start_bootstrap(t);
}

static const struct teardown_ops td_ops = { td_progress, td_done };

static void
start_teardown(struct resettest *t)
{
	char path[1100], *err = NULL;
	const struct config *cfg = t->d->config;

	phase_begin(t, "teardown");
	if (discover_hold(t->d->discover) < 0) {
		/* A bootstrap started between the two (discovery's own): follow it again. */
		char why[700];
		say(t, "a bootstrap started in the meantime: following it to its end first");
		phase_begin(t, "wait-bootstrap");
		if (follow_bootstrap(t, why, sizeof why) < 0) {
			phase_end(t, false, "%s", why);
			finish(t);
		}
		return;
	}
	t->held = true;
	supervisor_set_state(t->d->sv, SV_BOOTSTRAP, "reset test: tearing the stack down");
	snprintf(path, sizeof path, "%s/stack.json", cfg->state_dir);
	if (unlink(path) < 0 && errno != ENOENT)
		say(t, "cannot remove %s: %s (the bootstrap will apply everything anyway)", path, strerror(errno));
	int r = teardown_start(t->d->loop, apiprobe_kube(t->d->apiprobe), cfg, t->o.keep_vault_data, t->o.teardown_s,
			       &td_ops, t, &t->teardown, &err);
	if (r < 0) {
		phase_end(t, false, "%s", err ? err : strerror(-r));
		free(err);
		finish(t);
	}
}

/* ---- entry points ---- */

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	start_teardown(w->data);
}

int
resettest_plan(struct daemon *d, bool keep_vault_data, cJSON **out, char *why, size_t whysize)
{
	struct kube *k = d->apiprobe ? apiprobe_kube(d->apiprobe) : NULL;
	char *err = NULL;

	if (!k) {
		snprintf(why, whysize, "the Kubernetes API has not answered yet: see agentctl status");
		return -ENOTCONN;
	}
	int r = teardown_plan(d->config, kube_kinds(k), keep_vault_data, out, &err);
	if (r < 0)
		snprintf(why, whysize, "%s", err ? err : strerror(-r));
	free(err);
	return r;
}

int
resettest_start(struct daemon *d, const struct resettest_opts *opts, const struct resettest_ops *ops, void *arg,
		struct resettest **out, char *why, size_t whysize)
{
	const struct status_check *api = status_get(d->status, "api");
	struct resettest *t;

	if (!d->discover || !d->verify || !d->apiprobe || !apiprobe_kube(d->apiprobe) || !api || !api->ok) {
		snprintf(why, whysize, "the Kubernetes API is not reachable yet (%s): see agentctl status",
			 api && api->message && api->message[0] ? api->message : "no answer so far");
		return -ENOTCONN;
	}
	t = calloc(1, sizeof *t);
	if (!t || !(t->phases = cJSON_CreateArray()) || !(t->runs_done = cJSON_CreateArray())) {
		if (t)
			free_test(t);
		snprintf(why, whysize, "out of memory");
		return -ENOMEM;
	}
	t->d = d;
	t->started = clock_mono_usec();
	t->o = *opts;
	t->ops = ops;
	t->arg = arg;
	*out = t;
	if (discover_bootstrapping(d->discover)) {
		phase_begin(t, "wait-bootstrap");
		say(t, "a bootstrap is under way (an earlier run's, or agentd's own): following it to its end first");
		if (follow_bootstrap(t, why, whysize) < 0) {
			*out = NULL;
			free_test(t);
			return -ENOTCONN;
		}
		return 0;
	}
	/* From the loop, so that done never comes before this returns. */
	ev_timer_init(&t->timer, on_kick, 0.0, 0.0);
	t->timer.data = t;
	ev_timer_start(d->loop, &t->timer);
	return 0;
}

void
resettest_cancel(struct resettest *t)
{
	if (!t)
		return;
	stop_all(t);
	free_test(t);
}
