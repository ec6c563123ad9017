/* vault.c: every record of ../shared/fixtures/vault-api, then a live exchange with
 * the tiny Vault behind tests/unit/kube_testserver.py's pod proxy (and directly). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http.h"
#include "kube.h"
#include "readfile.h"
#include "testserver.h"
#include "vault.h"

#define FIXTURES "../shared/fixtures/vault-api"

static struct testserver ts;
static struct ev_loop *loop;
static struct http_client *http;
static struct kinds *kinds;
static struct kube *kube;
static struct vault *vp;	/* via the pod proxy */

static cJSON *
load_json(const char *name)
{
	char path[256], *text;
	size_t len;
	snprintf(path, sizeof path, "%s/%s", FIXTURES, name);
	if (readfile(path, 1 << 20, &text, &len) < 0)
		fail_msg("cannot read %s", path);
	cJSON *j = cJSON_Parse(text);
	free(text);
	assert_non_null(j);
	return j;
}

static void
check_record(const char *file, const cJSON *rec)
{
	const char *ep = cJSON_GetObjectItem(rec, "endpoint")->valuestring;
	const char *method = cJSON_GetObjectItem(rec, "method")->valuestring;
	long status = (long)cJSON_GetObjectItem(rec, "status")->valuedouble;
	const cJSON *resp = cJSON_GetObjectItem(rec, "response");
	char *body = cJSON_IsNull(resp) ? strdup("") : cJSON_PrintUnformatted(resp);
	struct vault_reply r;
	cJSON *json;
	char msg[512];
	vault_reply_from_http(&r, 0, status, body, strlen(body), "", &json, msg, sizeof msg);
	assert_false(r.transport);
	struct vault_seal s;
	if (strcmp(ep, "*") == 0) {	/* the error envelope */
		assert_int_equal(r.err, -EINVAL);
		assert_string_equal(r.message, "vault: HTTP 400: message; another message");
	} else if (strcmp(ep, "/v1/sys/seal-status") == 0 || strcmp(ep, "/v1/sys/unseal") == 0) {
		assert_int_equal(r.err, 0);
		assert_int_equal(vault_seal_parse(json, false, &s), 0);
		assert_int_equal(s.sealed, cJSON_IsTrue(cJSON_GetObjectItem(resp, "sealed")));
		assert_int_equal(s.t, cJSON_GetObjectItem(resp, "t")->valueint);
		assert_int_equal(s.n, cJSON_GetObjectItem(resp, "n")->valueint);
		assert_int_equal(s.progress, cJSON_GetObjectItem(resp, "progress")->valueint);
		assert_true(s.initialized);
	} else if (strcmp(ep, "/v1/sys/health") == 0) {
		assert_true(vault_health_is_answer(status));
		if (strcmp(method, "HEAD") == 0) {
			assert_null(json);	/* HEAD: the status is the whole answer */
		} else {
			assert_int_equal(vault_seal_parse(json, true, &s), 0);
			assert_int_equal(s.sealed, cJSON_IsTrue(cJSON_GetObjectItem(resp, "sealed")));
			assert_int_equal(s.initialized, cJSON_IsTrue(cJSON_GetObjectItem(resp, "initialized")));
			assert_int_equal(s.standby, cJSON_IsTrue(cJSON_GetObjectItem(resp, "standby")));
		}
	} else if (strcmp(ep, "/v1/sys/init") == 0) {
		if (status >= 400) {
			assert_int_not_equal(r.err, 0);
			assert_non_null(strstr(r.message, "vault: HTTP"));
		} else if (strcmp(method, "GET") == 0) {
			assert_int_equal(r.err, 0);
			assert_true(cJSON_IsBool(cJSON_GetObjectItem(json, "initialized")));
		} else {
			assert_int_equal(r.err, 0);
			assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(json, "keys_base64")) > 0);
			assert_non_null(cJSON_GetObjectItem(json, "root_token"));
		}
	} else {
		fail_msg("%s: a record for %s %s that this test does not know", file, method, ep);
	}
	cJSON_Delete(json);
	free(body);
}

static void
test_fixtures(void **state)
{
	(void)state;
	DIR *d = opendir(FIXTURES);
	assert_non_null(d);
	struct dirent *de;
	int files = 0, records = 0;
	while ((de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');
		if (!dot || strcmp(dot, ".json") != 0)
			continue;
		files++;
		cJSON *j = load_json(de->d_name);
		if (cJSON_IsArray(j)) {
			const cJSON *rec;
			cJSON_ArrayForEach(rec, j) {
				check_record(de->d_name, rec);
				records++;
			}
		} else {	/* the sys/health code table: every state's code is an answer */
			const cJSON *st;
			int n = 0;
			cJSON_ArrayForEach(st, cJSON_GetObjectItem(j, "states")) {
				assert_true(vault_health_is_answer((long)cJSON_GetObjectItem(st, "default_status")->valuedouble));
				n++;
			}
			assert_true(n >= 6);
			assert_false(vault_health_is_answer((long)cJSON_GetObjectItem(j, "bad_parameter_status")->valuedouble));
		}
		cJSON_Delete(j);
	}
	closedir(d);
	assert_true(files >= 6);
	assert_true(records >= 10);
}

static void
test_proxy_status_is_transport(void **state)
{
	(void)state;
	const char *b = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
			"\"message\":\"error trying to reach service: dial tcp 10.42.0.9:8200: connect: connection refused\","
			"\"reason\":\"ServiceUnavailable\",\"code\":503}";
	struct vault_reply r;
	cJSON *json;
	char msg[512];
	vault_reply_from_http(&r, 0, 503, b, strlen(b), "", &json, msg, sizeof msg);
	assert_true(r.transport);
	assert_int_equal(r.err, -EHOSTUNREACH);
	assert_null(json);
	assert_string_equal(r.message, "pod proxy: HTTP 503: error trying to reach service: dial tcp 10.42.0.9:8200: connect: connection refused");
	/* Vault's own 503 (sealed) passes through the proxy and is Vault's answer */
	const char *v = "{\"errors\":[\"Vault is sealed\"]}";
	vault_reply_from_http(&r, 0, 503, v, strlen(v), "", &json, msg, sizeof msg);
	assert_false(r.transport);
	assert_int_equal(r.err, -EAGAIN);
	assert_string_equal(r.message, "vault: HTTP 503: Vault is sealed");
	cJSON_Delete(json);
}

/* ---- live ---- */

struct got {
	int done, err;
	bool transport, have_seal;
	long status;
	struct vault_seal s;
	char message[512];
	char json[1024];
	char keys[4][64];
	size_t nkeys;
	char root[64];
};

static void
record(struct got *g, const struct vault_reply *r)
{
	g->done++;
	g->err = r->err;
	g->transport = r->transport;
	g->status = r->status;
	snprintf(g->message, sizeof g->message, "%s", r->message);
	assert_null(strstr(r->message, "sekrit"));	/* never a secret in a message */
	if (r->json) {
		char *s = cJSON_PrintUnformatted(r->json);
		snprintf(g->json, sizeof g->json, "%s", s);
		free(s);
	}
}

static void
on_plain(void *arg, const struct vault_reply *r)
{
	record(arg, r);
}

static void
on_seal(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct got *g = arg;
	record(g, r);
	if (s) {
		g->s = *s;
		g->have_seal = true;
	}
}

static void
on_init(void *arg, const struct vault_reply *r, const struct vault_init_keys *k)
{
	struct got *g = arg;
	record(g, r);
	if (k) {
		g->nkeys = k->n;
		for (size_t i = 0; i < k->n && i < 4; i++)
			snprintf(g->keys[i], sizeof g->keys[i], "%s", k->keys_b64[i]);
		snprintf(g->root, sizeof g->root, "%s", k->root_token);
	}
}

#define RUN(g, call)                                                   \
	do {                                                           \
		memset(&(g), 0, sizeof(g));                            \
		assert_int_equal((call), 0);                           \
		assert_int_equal(ts_run_until(loop, &(g).done, 10.0), 0); \
	} while (0)

static int
setup(void **state)
{
	(void)state;
	if (ts_start(&ts, "tests/unit/kube_testserver.py", NULL) < 0)
		return -1;
	if (ts_kube_connect(&ts, &loop, &http, &kinds, &kube) < 0 || vault_new_proxy(kube, "vault", 8200, &vp) < 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	vp = vault_free(vp);
	ts_kube_close(loop, &http, &kinds, &kube);
	ts_stop(&ts);
	return 0;
}

static void
test_init_unseal_configure(void **state)
{
	(void)state;
	struct got g;
	RUN(g, vault_seal_status(vp, "vault-0", on_seal, &g));
	assert_int_equal(g.err, 0);
	assert_false(g.s.initialized);
	assert_true(g.s.sealed);
	RUN(g, vault_health(vp, "vault-0", on_seal, &g));
	assert_int_equal(g.err, 0);	/* 501 is an answer: not initialised */
	assert_int_equal(g.status, 501);
	assert_false(g.s.initialized);

	assert_int_equal(vault_init(vp, "vault-0", 2, 3, NULL, 0, on_init, &g), -EINVAL);
	const char *pgp[] = { "cGdwMQ==", "cGdwMg==", "cGdwMw==" };
	assert_int_equal(vault_init(vp, "vault-0", 3, 2, pgp, 2, on_init, &g), -EINVAL);
	struct got init;
	RUN(init, vault_init(vp, "vault-0", 3, 2, pgp, 3, on_init, &init));
	assert_int_equal(init.err, 0);
	assert_int_equal(init.nkeys, 3);
	assert_string_equal(init.keys[0], "k0-sekrit-b64");
	assert_string_equal(init.root, "root-sekrit");
	RUN(g, vault_init(vp, "vault-0", 3, 2, NULL, 0, on_init, &g));
	assert_int_equal(g.err, -EINVAL);
	assert_string_equal(g.message, "vault: HTTP 400: Vault is already initialized");

	RUN(g, vault_unseal(vp, "vault-0", init.keys[0], strlen(init.keys[0]), on_seal, &g));
	assert_int_equal(g.err, 0);
	assert_true(g.s.sealed);
	assert_int_equal(g.s.progress, 1);
	assert_int_equal(g.s.t, 2);
	RUN(g, vault_unseal_reset(vp, "vault-0", on_seal, &g));
	assert_int_equal(g.s.progress, 0);
	RUN(g, vault_unseal(vp, "vault-0", "d3Jvbmc=", 8, on_seal, &g));	/* a wrong key */
	assert_true(g.s.sealed);
	assert_int_equal(g.s.progress, 0);
	assert_int_equal(vault_unseal(vp, "vault-0", "not a key!", 10, on_seal, &g), -EINVAL);
	RUN(g, vault_unseal(vp, "vault-0", init.keys[1], strlen(init.keys[1]), on_seal, &g));
	RUN(g, vault_unseal(vp, "vault-0", init.keys[2], strlen(init.keys[2]), on_seal, &g));
	assert_int_equal(g.err, 0);
	assert_false(g.s.sealed);
	RUN(g, vault_health(vp, "vault-0", on_seal, &g));
	assert_int_equal(g.status, 200);
	assert_false(g.s.sealed);

	/* configuration: write, read back, Vault's errors surfaced, the token required */
	RUN(g, vault_policy_write(vp, "vault-0", init.root, "agents", "path \"secret/data/agents/*\" { capabilities = [\"read\"] }",
				  on_plain, &g));
	assert_int_equal(g.err, 0);
	assert_int_equal(g.status, 204);
	RUN(g, vault_read(vp, "vault-0", init.root, "sys/policies/acl/agents", on_plain, &g));
	assert_int_equal(g.err, 0);
	assert_non_null(strstr(g.json, "secret/data/agents/*"));
	cJSON *opts = cJSON_Parse("{\"file_path\":\"stdout\"}");
	RUN(g, vault_audit_enable(vp, "vault-0", init.root, "stdout", "file", opts, on_plain, &g));
	assert_int_equal(g.err, 0);
	RUN(g, vault_read(vp, "vault-0", init.root, "sys/audit/stdout", on_plain, &g));
	assert_string_equal(g.json, "{\"data\":{\"type\":\"file\",\"options\":{\"file_path\":\"stdout\"}}}");
	cJSON_Delete(opts);
	opts = cJSON_Parse("{\"version\":\"2\"}");
	RUN(g, vault_mount(vp, "vault-0", init.root, "secret", "kv", opts, on_plain, &g));
	assert_int_equal(g.err, 0);
	cJSON_Delete(opts);
	RUN(g, vault_auth_enable(vp, "vault-0", init.root, "kubernetes", "kubernetes", on_plain, &g));
	assert_int_equal(g.err, 0);
	cJSON *cfg = cJSON_Parse("{\"kubernetes_host\":\"https://kubernetes.default.svc\"}");
	RUN(g, vault_k8s_auth_config(vp, "vault-0", init.root, "kubernetes", cfg, on_plain, &g));
	assert_int_equal(g.err, 0);
	RUN(g, vault_read(vp, "vault-0", init.root, "auth/kubernetes/config", on_plain, &g));
	assert_non_null(strstr(g.json, "kubernetes.default.svc"));
	cJSON_Delete(cfg);
	cJSON *role = cJSON_Parse("{\"bound_service_account_names\":[\"journalist\"],\"policies\":[\"agents\"]}");
	RUN(g, vault_k8s_role_write(vp, "vault-0", init.root, "kubernetes", "agents", role, on_plain, &g));
	assert_int_equal(g.err, 0);
	cJSON_Delete(role);
	RUN(g, vault_policy_write(vp, "vault-0", init.root, "bad", "{", on_plain, &g));
	assert_int_equal(g.err, -EINVAL);
	assert_string_equal(g.message, "vault: HTTP 400: failed to parse policy; line 1: bad");
	RUN(g, vault_read(vp, "vault-0", "wrong-token", "sys/policies/acl/agents", on_plain, &g));
	assert_int_equal(g.err, -EPERM);
	assert_string_equal(g.message, "vault: HTTP 403: permission denied");
	RUN(g, vault_read(vp, "vault-0", init.root, "sys/policies/acl/none", on_plain, &g));
	assert_int_equal(g.err, -ENOENT);
	assert_int_equal(vault_read(vp, "vault-0", init.root, "../x", on_plain, &g), -EINVAL);
	assert_int_equal(vault_read(vp, "vault/0", init.root, "sys/mounts", on_plain, &g), -EINVAL);
}

static void
test_proxy_failures(void **state)
{
	(void)state;
	struct got g;
	RUN(g, vault_seal_status(vp, "vault-down", on_seal, &g));
	assert_true(g.transport);
	assert_int_equal(g.err, -EHOSTUNREACH);
	assert_false(g.have_seal);
	assert_string_equal(g.message, "pod proxy: HTTP 503: error trying to reach service: dial tcp 10.42.0.9:8200: connect: connection refused");
	RUN(g, vault_health(vp, "vault-noip", on_seal, &g));
	assert_true(g.transport);
	assert_int_equal(g.status, 400);
}

static void
test_direct(void **state)
{
	(void)state;
	char url[128];
	snprintf(url, sizeof url, "https://127.0.0.1:%d/direct/", ts.port);
	size_t cl = 0;
	char *ca = ts_slurp(ts.dir, "ca.pem", &cl);
	struct http_tls tls = { .ca = ca, .ca_len = cl };
	struct vault *vd;
	assert_int_equal(vault_new_direct(http, url, &tls, 5000, &vd), 0);
	free(ca);	/* the client keeps its own copy */
	struct got g;
	RUN(g, vault_seal_status(vd, NULL, on_seal, &g));
	assert_int_equal(g.err, 0);
	assert_false(g.s.initialized);
	assert_string_equal(g.s.type, "shamir");
	assert_int_equal(vault_new_direct(http, "ftp://x", NULL, 0, &vd), -EINVAL);
	vault_free(vd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_proxy_status_is_transport),
		cmocka_unit_test(test_init_unseal_configure),
		cmocka_unit_test(test_proxy_failures),
		cmocka_unit_test(test_direct),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
