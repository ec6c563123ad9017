/* kube.c against a scripted API server (tests/unit/kube_testserver.py). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "kube.h"
#include "testserver.h"

static struct testserver ts;
static struct ev_loop *loop;
static struct http_client *http;
static struct kinds *kinds;
static struct kube *kube;
static const struct kind_info *CM;

struct got {
	int done;
	int err;
	long status;
	char reason[64];
	char message[512];
	char json[4096];
	char body[256];
};

static void
on_done(void *arg, const struct kube_result *r)
{
	struct got *g = arg;
	g->done++;
	g->err = r->err;
	g->status = r->status;
	snprintf(g->reason, sizeof g->reason, "%s", r->reason);
	snprintf(g->message, sizeof g->message, "%s", r->message);
	snprintf(g->body, sizeof g->body, "%s", r->body);
	if (r->json) {
		char *s = cJSON_PrintUnformatted(r->json);
		snprintf(g->json, sizeof g->json, "%s", s);
		free(s);
	}
}

static void
wait_done(struct got *g)
{
	assert_int_equal(ts_run_until(loop, &g->done, 10.0), 0);
	assert_int_equal(g->done, 1);
}

static int
setup(void **state)
{
	(void)state;
	if (ts_start(&ts, "tests/unit/kube_testserver.py", NULL) < 0)
		return -1;
	if (ts_kube_connect(&ts, &loop, &http, &kinds, &kube) < 0)
		return -1;
	CM = kinds_find(kinds, "v1", "ConfigMap");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	ts_kube_close(loop, &http, &kinds, &kube);
	ts_stop(&ts);
	return 0;
}

static void
test_paths(void **state)
{
	(void)state;
	char p[256];
	assert_int_equal(kube_path(CM, "ns1", "cm1", NULL, p, sizeof p), 0);
	assert_string_equal(p, "/api/v1/namespaces/ns1/configmaps/cm1");
	assert_int_equal(kube_path(kinds_find(kinds, "apps/v1", "Deployment"), "vault", "inj", "status", p, sizeof p), 0);
	assert_string_equal(p, "/apis/apps/v1/namespaces/vault/deployments/inj/status");
	assert_int_equal(kube_path(kinds_find(kinds, "v1", "Namespace"), NULL, "vault", NULL, p, sizeof p), 0);
	assert_string_equal(p, "/api/v1/namespaces/vault");
	assert_int_equal(kube_path(kinds_find(kinds, "batch/v1", "CronJob"), NULL, NULL, NULL, p, sizeof p), 0);
	assert_string_equal(p, "/apis/batch/v1/cronjobs");
	assert_int_equal(kube_path(kinds_find(kinds, "v1", "Pod"), "vault", "vault-0:8200", "proxy", p, sizeof p), 0);
	assert_string_equal(p, "/api/v1/namespaces/vault/pods/vault-0:8200/proxy");
	assert_int_equal(kube_path(CM, NULL, "cm1", NULL, p, sizeof p), -EINVAL);	/* namespaced needs ns */
	assert_int_equal(kube_path(CM, "ns1", "../x", NULL, p, sizeof p), -EINVAL);
	assert_int_equal(kube_path(CM, "ns1", "a?b", NULL, p, sizeof p), -EINVAL);
	assert_int_equal(kube_path(CM, "ns1", "cm1", NULL, p, 10), -ENAMETOOLONG);
	char q[64];
	assert_int_equal(kube_query_escape("app=vault,tier in (a b)", q, sizeof q), 0);
	assert_string_equal(q, "app%3Dvault%2Ctier%20in%20%28a%20b%29");
}

static void
test_get_ok_and_not_found(void **state)
{
	(void)state;
	struct got g = { 0 };
	assert_int_equal(kube_get(kube, CM, "ns1", "cm1", on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 200);
	assert_non_null(strstr(g.json, "\"resourceVersion\":\"7\""));
	memset(&g, 0, sizeof g);
	assert_int_equal(kube_get(kube, CM, "ns1", "missing", on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -ENOENT);
	assert_int_equal(g.status, 404);
	assert_string_equal(g.reason, "NotFound");
	assert_string_equal(g.message, "configmaps \"missing\" not found");
}

static void
test_list_selectors(void **state)
{
	(void)state;
	struct got g = { 0 };
	assert_int_equal(kube_list(kube, CM, "ns1", "app=x,tier!=y", "metadata.name=cm1", on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(g.json, "\"labelSelector\":\"app=x,tier!=y\""));
	assert_non_null(strstr(g.json, "\"fieldSelector\":\"metadata.name=cm1\""));
}

static void
test_apply(void **state)
{
	(void)state;
	cJSON *obj = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
				 "\"metadata\":{\"name\":\"app\",\"namespace\":\"ns1\"},\"data\":{\"k\":\"v\"}}");
	struct got g = { 0 };
	assert_int_equal(kube_apply(kube, obj, true, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(g.json, "\"method\":\"PATCH\""));
	assert_non_null(strstr(g.json, "\"ctype\":\"application/apply-patch+yaml\""));
	assert_non_null(strstr(g.json, "\"query\":\"fieldManager=agentd&force=true\""));
	assert_non_null(strstr(g.json, "\"data\":{\"k\":\"v\"}"));
	cJSON_Delete(obj);

	obj = cJSON_Parse("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"invalid\",\"namespace\":\"ns1\"}}");
	memset(&g, 0, sizeof g);
	assert_int_equal(kube_apply(kube, obj, false, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -EINVAL);
	assert_int_equal(g.status, 422);
	assert_string_equal(g.reason, "Invalid");
	assert_string_equal(g.message, "ConfigMap \"invalid\" is invalid: data: Invalid value");
	cJSON_Delete(obj);

	obj = cJSON_Parse("{\"apiVersion\":\"v9\",\"kind\":\"Gizmo\",\"metadata\":{\"name\":\"x\"}}");
	assert_int_equal(kube_apply(kube, obj, false, on_done, &g, NULL), -EINVAL);
	cJSON_Delete(obj);
}

static void
test_create_and_delete(void **state)
{
	(void)state;
	cJSON *job = cJSON_Parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\",\"namespace\":\"ns1\"}}");
	struct got g = { 0 };
	assert_int_equal(kube_create(kube, job, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 201);
	assert_non_null(strstr(g.json, "\"uid\":\"u-1\""));
	cJSON_Delete(job);
	memset(&g, 0, sizeof g);
	assert_int_equal(kube_delete(kube, CM, "ns1", "cm1", "Foreground", on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(g.json, "\"query\":\"propagationPolicy=Foreground\""));
}

static void
test_bad_bodies(void **state)
{
	(void)state;
	struct got g = { 0 };
	assert_int_equal(kube_request(kube, "GET", "/nonjson", NULL, NULL, NULL, 0, true, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -EBADMSG);
	assert_string_equal(g.message, "response is not JSON (HTTP 200, 23 bytes: \"<html>proxy page</html>\")");
	memset(&g, 0, sizeof g);
	assert_int_equal(kube_request(kube, "GET", "/truncated", NULL, NULL, NULL, 0, true, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -EBADMSG);
	assert_string_equal(g.message, "truncated JSON response (35 bytes, HTTP 200)");
	memset(&g, 0, sizeof g);
	assert_int_equal(kube_request(kube, "GET", "/readyz", NULL, NULL, NULL, 0, false, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, 0);
	assert_string_equal(g.body, "ok");
}

static void
test_unauthorized(void **state)
{
	(void)state;
	char kc_path[128];
	snprintf(kc_path, sizeof kc_path, "%s/kubeconfig", ts.dir);
	struct kubeconfig *kc;
	char *err = NULL;
	assert_int_equal(kubeconfig_load(kc_path, NULL, &kc, &err), 0);
	free(kc->token);
	kc->token = strdup("wrong");
	struct kube *k2;
	assert_int_equal(kube_new(loop, http, kc, kinds, 5000, &k2), 0);
	struct got g = { 0 };
	assert_int_equal(kube_request(k2, "GET", "/readyz", NULL, NULL, NULL, 0, false, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -EACCES);
	assert_int_equal(g.status, 401);
	assert_string_equal(g.reason, "Unauthorized");
	kube_free(k2);
}

static void
test_connection_refused(void **state)
{
	(void)state;
	struct kubeconfig *kc;
	char *err = NULL;
	/* port 1 on loopback: nothing listens there */
	const char *text = "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
			   "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n";
	assert_int_equal(kubeconfig_parse(text, strlen(text), "kc", NULL, &kc, &err), 0);
	struct kube *k2;
	assert_int_equal(kube_new(loop, http, kc, kinds, 5000, &k2), 0);
	struct got g = { 0 };
	assert_int_equal(kube_request(k2, "GET", "/readyz", NULL, NULL, NULL, 0, false, on_done, &g, NULL), 0);
	wait_done(&g);
	assert_int_equal(g.err, -ECONNREFUSED);
	assert_int_equal(g.status, 0);
	assert_string_equal(g.reason, "ConnectionRefused");
	assert_true(strlen(g.message) > 0);
	kube_free(k2);
}

struct watched {
	int lists, events, errors;
	char log[1024];
	struct kube_watch *w;
	int stop_now;
};

static void
w_list(void *arg, const cJSON *items)
{
	struct watched *x = arg;
	x->lists++;
	size_t o = strlen(x->log);
	snprintf(x->log + o, sizeof x->log - o, "LIST(%d) ", cJSON_GetArraySize(items));
}

static void
w_event(void *arg, const char *type, const cJSON *obj)
{
	struct watched *x = arg;
	x->events++;
	const cJSON *md = cJSON_GetObjectItem(obj, "metadata");
	size_t o = strlen(x->log);
	snprintf(x->log + o, sizeof x->log - o, "%s:%s ", type, cJSON_GetObjectItem(md, "name")->valuestring);
	if (strcmp(type, "MODIFIED") == 0) {
		kube_watch_stop(x->w);	/* from inside its own callback */
		x->stop_now = 1;
	}
}

static void
w_error(void *arg, const struct kube_result *r)
{
	(void)r;
	((struct watched *)arg)->errors++;
}

static void
test_watch_relist_on_410_event(void **state)
{
	(void)state;
	struct watched x = { 0 };
	struct kube_watch_ops ops = { w_list, w_event, w_error };
	assert_int_equal(kube_watch_start(kube, CM, "ns1", NULL, &ops, &x, &x.w), 0);
	assert_int_equal(ts_run_until(loop, &x.stop_now, 10.0), 0);
	/* list (rv 100) → ADDED cm2 → bookmark → ERROR 410 → re-list (rv 200) → MODIFIED cm1 */
	assert_string_equal(x.log, "LIST(1) ADDED:cm2 LIST(1) MODIFIED:cm1 ");
	assert_int_equal(x.errors, 0);
	int never = 0;
	ts_run_until(loop, &never, 0.3);	/* the stopped watch is gone: no more callbacks */
	assert_string_equal(x.log, "LIST(1) ADDED:cm2 LIST(1) MODIFIED:cm1 ");
}

static void
test_watch_relist_on_http_410(void **state)
{
	(void)state;
	struct watched x = { 0 };
	struct kube_watch_ops ops = { w_list, w_event, w_error };
	assert_int_equal(kube_watch_start(kube, CM, "ns2", NULL, &ops, &x, &x.w), 0);
	assert_int_equal(ts_run_until(loop, &x.stop_now, 10.0), 0);
	assert_string_equal(x.log, "LIST(0) LIST(0) MODIFIED:cm9 ");
	assert_int_equal(x.errors, 0);	/* 410 is routine, not an error */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_get_ok_and_not_found),
		cmocka_unit_test(test_list_selectors),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_create_and_delete),
		cmocka_unit_test(test_bad_bodies),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_watch_relist_on_410_event),
		cmocka_unit_test(test_watch_relist_on_http_410),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
