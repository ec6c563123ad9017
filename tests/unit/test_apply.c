/* apply.c against k3sim with the tree's own stack (manifests/, config/values.yaml). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"
#include "http.h"
#include "kube.h"
#include "render.h"
#include "testserver.h"

static struct testserver sim;
static struct ev_loop *loop;
static struct http_client *http;
static struct kinds *kinds;
static struct kube *kube;
static struct manifest_stack *stack;

struct run {
	int done, err;
	char message[1200];
	int applied, retries, ready, phases;
	bool skip_statefulsets;
};

static void
progress(void *arg, const struct apply_event *ev)
{
	struct run *r = arg;
	assert_non_null(ev->phase);
	switch (ev->step) {
	case APPLY_OBJECT:
		r->applied += ev->err == 0;
		break;
	case APPLY_RETRY:
		r->retries++;
		break;
	case APPLY_READY:
		r->ready++;
		break;
	case APPLY_PHASE:
		r->phases++;
		break;
	case APPLY_WAITING:
		break;
	}
}

static void
done(void *arg, int err, const char *message)
{
	struct run *r = arg;
	r->done++;
	r->err = err;
	snprintf(r->message, sizeof r->message, "%s", message);
}

/* Vault's StatefulSet is never Ready while Vault is sealed: the bootstrap waits
 * for its pod instead. */
static bool
wait_pred(void *arg, const struct manifest_object *o)
{
	struct run *r = arg;
	return !(r->skip_statefulsets && strcmp(o->kind, "StatefulSet") == 0);
}

static size_t
phase_index(const char *name)
{
	for (size_t i = 0; i < stack->count; i++)
		if (strcmp(stack->phases[i].name, name) == 0)
			return i;
	fail_msg("no phase %s in manifests/", name);
	return 0;
}

static void
run_phases(struct run *r, size_t from, size_t to, long timeout_ms)
{
	struct apply_ops ops = { progress, done, wait_pred };
	assert_int_equal(apply_start(loop, kube, stack, from, to, timeout_ms, &ops, r, NULL), 0);
	assert_int_equal(ts_run_until(loop, &r->done, 60.0), 0);
	assert_int_equal(r->done, 1);
}

static void
on_got(void *arg, const struct kube_result *res)
{
	char *out = arg;
	const cJSON *md = cJSON_GetObjectItem(res->json, "metadata");
	const cJSON *rv = cJSON_GetObjectItem(md, "resourceVersion");
	snprintf(out, 64, "%s", res->err ? "ERR" : cJSON_IsString(rv) ? rv->valuestring : "?");
}

static void
on_phase(void *arg, const struct kube_result *res)
{
	char *out = arg;
	const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(res->json, "status"), "phase"));
	snprintf(out, 64, "%s", res->err ? "ERR" : p ? p : "?");
}

static void
get_rv(const char *apiv, const char *kind, const char *ns, const char *name, char *out)
{
	out[0] = '\0';
	assert_int_equal(kube_get(kube, kinds_find(kinds, apiv, kind), ns, name, on_got, out, NULL), 0);
	for (int i = 0; i < 500 && !out[0]; i++)
		ev_run(loop, EVRUN_ONCE);
	assert_true(out[0] != '\0');
}

static int
setup(void **state)
{
	(void)state;
	if (ts_start_k3sim(&sim) < 0)
		return -1;
	if (ts_kube_connect(&sim, &loop, &http, &kinds, &kube) < 0)
		return -1;
	char *err = NULL;
	if (render_load("manifests", "config/values.yaml", NULL, kinds, &stack, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	manifest_stack_free(stack);
	ts_kube_close(loop, &http, &kinds, &kube);
	ts_stop(&sim);
	return 0;
}

static void
test_namespaces_then_idempotent(void **state)
{
	(void)state;
	size_t ns = phase_index("namespaces");
	struct run r = { 0 };
	run_phases(&r, ns, ns + 1, 20000);
	if (r.err)
		fail_msg("%s", r.message);
	assert_int_equal(r.applied, (int)stack->phases[ns].count);
	assert_int_equal(r.ready, (int)stack->phases[ns].count);
	assert_int_equal(r.phases, 1);
	char before[64], after[64];
	get_rv("v1", "Namespace", NULL, "ai-agents", before);
	assert_string_not_equal(before, "ERR");
	struct run again = { 0 };
	run_phases(&again, ns, ns + 1, 20000);
	assert_int_equal(again.err, 0);
	get_rv("v1", "Namespace", NULL, "ai-agents", after);
	assert_string_equal(before, after);	/* the same apply changes nothing */
}

static void
test_transient_failures_retried(void **state)
{
	(void)state;
	char cmd[1024];
	/* the next requests: dropped connections, then truncated bodies, then 503s */
	snprintf(cmd, sizeof cmd, "tests/sim/simctl --state %s drop 2 >/dev/null && "
				  "tests/sim/simctl --state %s truncate 2 >/dev/null && "
				  "tests/sim/simctl --state %s fail 1 >/dev/null", sim.dir, sim.dir, sim.dir);
	assert_int_equal(system(cmd), 0);
	size_t vs = phase_index("vault-server");
	struct run r = { .skip_statefulsets = true };
	run_phases(&r, vs, vs + 1, 40000);
	if (r.err)
		fail_msg("%s", r.message);
	assert_true(r.retries > 0);
	assert_int_equal(r.applied, (int)stack->phases[vs].count);
	char rv[64];
	get_rv("apps/v1", "StatefulSet", "vault", "vault", rv);
	assert_string_not_equal(rv, "ERR");
}

static void
test_rejected_phase_applies_nothing(void **state)
{
	(void)state;
	struct manifest_file f[] = {
		{ "00-first.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: apply-first}\n", 61 },
		{ "10-broken.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: apply-second}\n---\n"
				    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: apply-first}\n"
				    "data: {a: \"${nope}\"}\n", 0 },
	};
	f[1].len = strlen(f[1].text);
	f[0].len = strlen(f[0].text);
	cJSON *values = cJSON_CreateObject();
	struct manifest_stack *s;
	char *err = NULL;
	assert_int_equal(manifest_render(f, 2, values, kinds, &s, &err), 0);
	struct manifest_stack *keep = stack;
	stack = s;
	struct run r = { 0 };
	run_phases(&r, 0, 2, 20000);
	stack = keep;
	assert_int_equal(r.err, -EINVAL);
	assert_string_equal(r.message, "phase broken rejected, nothing of it applied: "
				       "10-broken.yaml:8:11: undefined value ${nope}");
	assert_int_equal(r.phases, 1);
	char rv[64];
	get_rv("v1", "Namespace", NULL, "apply-first", rv);
	assert_string_not_equal(rv, "ERR");	/* the earlier phase stays */
	get_rv("v1", "Namespace", NULL, "apply-second", rv);
	assert_string_equal(rv, "ERR");		/* nothing of the broken one */
	manifest_stack_free(s);
	cJSON_Delete(values);
}

static void
test_invalid_object_named(void **state)
{
	(void)state;
	const char *text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: does-not-exist}\n";
	struct manifest_file f = { "00-bad.yaml", text, strlen(text) };
	cJSON *values = cJSON_CreateObject();
	struct manifest_stack *s;
	char *err = NULL;
	assert_int_equal(manifest_render(&f, 1, values, kinds, &s, &err), 0);
	struct manifest_stack *keep = stack;
	stack = s;
	struct run r = { 0 };
	run_phases(&r, 0, 1, 10000);
	stack = keep;
	assert_int_equal(r.err, -ENOENT);
	assert_non_null(strstr(r.message, "phase bad: ConfigMap does-not-exist/bad (00-bad.yaml:2:7): NotFound: "));
	manifest_stack_free(s);
	cJSON_Delete(values);
}

static void
on_answer(void *arg, const struct kube_result *res)
{
	int *status = arg;
	*status = res->err ? (int)res->status : 200;
}

/* One raw request, run to its answer; returns the HTTP status (200 for any 2xx). */
static int
raw(const char *method, const char *path, const char *ctype, const char *body)
{
	int status = 0;
	assert_int_equal(kube_request(kube, method, path, NULL, ctype, body, body ? strlen(body) : 0, false, on_answer,
				      &status, NULL),
			 0);
	for (int i = 0; i < 2000 && !status; i++)
		ev_run(loop, EVRUN_ONCE);
	return status;
}

static void
let_go(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	(void)w;
	/* The finalizer's owner lets go: the terminating namespace goes away. */
	static const char body[] = "{\"metadata\":{\"finalizers\":null}}";
	kube_request(kube, "PATCH", "/api/v1/namespaces/ai-agents/configmaps/held", NULL,
		     "application/merge-patch+json", body, strlen(body), false, on_answer, w->data, NULL);
}

/* A namespace still terminating when the apply reaches it (the bootstrap that
 * follows a teardown): applied, then gone; the gate applies it again and ends
 * with it Active, instead of waiting for an object that no longer exists. */
static void
test_object_gone_after_apply_applied_again(void **state)
{
	(void)state;
	size_t ns = phase_index("namespaces");
	struct run r = { 0 };
	run_phases(&r, ns, ns + 1, 20000);
	assert_int_equal(r.err, 0);
	assert_int_equal(raw("POST", "/api/v1/namespaces/ai-agents/configmaps", "application/json",
			     "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"held\","
			     "\"finalizers\":[\"example.com/hold\"]}}"),
			 200);
	assert_int_equal(raw("DELETE", "/api/v1/namespaces/ai-agents", NULL, NULL), 200);
	char before[64];
	get_rv("v1", "Namespace", NULL, "ai-agents", before);
	assert_string_not_equal(before, "ERR");	/* terminating, held by the ConfigMap */
	int patched = 0;
	ev_timer t;
	ev_timer_init(&t, let_go, 1.5, 0.0);
	t.data = &patched;
	ev_timer_start(loop, &t);
	struct run again = { 0 };
	run_phases(&again, ns, ns + 1, 30000);
	ev_timer_stop(loop, &t);
	if (again.err)
		fail_msg("%s", again.message);
	assert_int_equal(patched, 200);
	char phase[64] = "";
	assert_int_equal(kube_get(kube, kinds_find(kinds, "v1", "Namespace"), NULL, "ai-agents", on_phase, phase, NULL), 0);
	for (int i = 0; i < 500 && !phase[0]; i++)
		ev_run(loop, EVRUN_ONCE);
	assert_string_equal(phase, "Active");
}

/* The gates' pause: 0.1 s for the first 2 s of a wait, then doubling from 0.2 s
 * to the cap; a retry (INFINITY) starts doubling at once. */
static void
test_poll_pause(void **state)
{
	(void)state;
	double step = 0;
	assert_true(apply_poll_pause(0.0, &step, 1.0) == 0.1);
	assert_true(apply_poll_pause(1.95, &step, 1.0) == 0.1);
	assert_true(step == 0);
	const double gate[] = { 0.2, 0.4, 0.8, 1.0, 1.0 };
	for (size_t i = 0; i < sizeof gate / sizeof gate[0]; i++)
		assert_true(apply_poll_pause(2.0 + (double)i, &step, 1.0) == gate[i]);
	step = 0;
	const double retry[] = { 0.2, 0.4, 0.8, 1.6, 2.0, 2.0 };
	for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
		assert_true(apply_poll_pause(INFINITY, &step, 2.0) == retry[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespaces_then_idempotent),
		cmocka_unit_test(test_transient_failures_retried),
		cmocka_unit_test(test_rejected_phase_applies_nothing),
		cmocka_unit_test(test_invalid_object_named),
		cmocka_unit_test(test_object_gone_after_apply_applied_again),
		cmocka_unit_test(test_poll_pause),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
