/* Unit tests of the pure checks (checks.h) and the metrics text (metrics.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "checks.h"
#include "metrics.h"
#include "rfc3339.h"

static const char NS_AGENTS[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ai-agents\",\"labels\":{"
	"\"pod-security.kubernetes.io/enforce\":\"restricted\",\"pod-security.kubernetes.io/enforce-version\":\"v1.32\","
	"\"pod-security.kubernetes.io/warn\":\"restricted\",\"pod-security.kubernetes.io/warn-version\":\"v1.32\","
	"\"pod-security.kubernetes.io/audit\":\"restricted\",\"pod-security.kubernetes.io/audit-version\":\"v1.32\"}}}";

static int64_t
t_of(const char *s)
{
	int64_t t = 0;

	assert_int_equal(rfc3339_parse(s, &t), 0);
	return t;
}

/* Parses JSON text into an array (a single object becomes a one-item array). */
static cJSON *
arr(const char *json)
{
	cJSON *j = cJSON_Parse(json);

	assert_non_null(j);
	if (!cJSON_IsArray(j)) {
		cJSON *a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, j);
		j = a;
	}
	return j;
}

static const struct check_result *
find(const struct check_results *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0)
			return &r->v[i];
	fail_msg("no result %s", name);
	return NULL;
}

static void
test_pss_labels(void **state)
{
	(void)state;
	cJSON *expected = arr(NS_AGENTS), *live = arr(NS_AGENTS);
	struct checks_input in = { .expected = expected, .namespaces = live };
	struct check_results r = { 0 };

	check_pss_labels(&in, &r);
	assert_true(find(&r, "pss-labels")->ok);
	check_results_clear(&r);
	cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(live, 0), "metadata"),
						       "labels"),
				   "pod-security.kubernetes.io/enforce");
	check_pss_labels(&in, &r);
	assert_false(find(&r, "pss-labels")->ok);
	assert_non_null(strstr(find(&r, "pss-labels")->message,
			       "namespace ai-agents lacks label pod-security.kubernetes.io/enforce=restricted"));
	check_results_clear(&r);
	in.namespaces = NULL;
	check_pss_labels(&in, &r);
	assert_non_null(strstr(r.v[0].message, "namespace ai-agents does not exist"));
	check_results_clear(&r);
	cJSON_Delete(expected);
	cJSON_Delete(live);
}

static const char POD_OK[] =
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"ai-agents\","
	"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"securityContext\":{\"runAsNonRoot\":true,"
	"\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"containers\":[{\"name\":\"c\",\"image\":"
	"\"busybox@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0\","
	"\"securityContext\":{\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]}}%s}]},"
	"\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
	"\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,\"restartCount\":0,\"state\":{%s}}]}}";

static cJSON *
pod(const char *extra, const char *state)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), POD_OK, extra, state);
	return arr(buf);
}

static void
test_secrets_and_images(void **state)
{
	(void)state;
	cJSON *expected = arr(NS_AGENTS);
	cJSON *good = pod("", "\"running\":{}");
	cJSON *bad = pod(",\"env\":[{\"name\":\"T\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"tok\",\"key\":\"k\"}}}]",
			 "\"running\":{}");
	cJSON *secret = arr("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"type\":\"Opaque\",\"metadata\":{\"name\":\"s\","
			    "\"namespace\":\"ai-agents\"}}");
	struct checks_input in = { .expected = expected, .pods = good, .vault_namespace = "vault" };
	struct check_results r = { 0 };

	check_secrets(&in, &r);
	check_images(&in, &r);
	check_pss_pods(&in, &r);
	assert_true(find(&r, "secrets")->ok);
	assert_true(find(&r, "images")->ok);
	assert_true(find(&r, "pss-pods")->ok);
	check_results_clear(&r);
	in.pods = bad;
	in.secrets = secret;
	check_secrets(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "plain Secret ai-agents/s"));
	assert_non_null(strstr(r.v[0].message, "env T reads Secret tok via secretKeyRef"));
	check_results_clear(&r);
	/* Vault's own namespace may hold Secrets */
	in.vault_namespace = "ai-agents";
	in.pods = good;
	check_secrets(&in, &r);
	assert_true(r.v[0].ok);
	check_results_clear(&r);
	cJSON_Delete(expected);
	cJSON_Delete(good);
	cJSON_Delete(bad);
	cJSON_Delete(secret);
}

static void
test_pods(void **state)
{
	(void)state;
	cJSON *crash = pod("", "\"waiting\":{\"reason\":\"CrashLoopBackOff\"}");
	cJSON *ok = pod("", "\"running\":{}");
	struct checks_input in = { .pods = ok, .now = t_of("2026-01-01T01:00:00Z") };
	struct check_results r = { 0 };

	/* kstatus reads readiness from the conditions; make the crash pod not ready */
	cJSON *conds = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(crash, 0), "status"), "conditions");
	cJSON_ReplaceItemInObject(cJSON_GetArrayItem(conds, 0), "status", cJSON_CreateString("False"));
	check_pods(&in, &r);
	assert_true(r.v[0].ok);
	check_results_clear(&r);
	in.pods = crash;
	check_pods(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "pod ai-agents/p: container c is crash-looping (CrashLoopBackOff)"));
	check_results_clear(&r);
	cJSON_Delete(crash);
	cJSON_Delete(ok);
}

static void
test_quota_netpol(void **state)
{
	(void)state;
	cJSON *expected = arr("[" "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"ai-agents\"}},"
			      "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":"
			      "\"default-deny\",\"namespace\":\"ai-agents\"},\"spec\":{\"podSelector\":{},\"policyTypes\":"
			      "[\"Ingress\",\"Egress\"]}}]");
	cJSON *quota = arr("{\"kind\":\"ResourceQuota\",\"metadata\":{\"name\":\"q\",\"namespace\":\"ai-agents\"},"
			   "\"spec\":{\"hard\":{\"pods\":\"8\",\"requests.cpu\":\"1\",\"limits.cpu\":\"2\","
			   "\"requests.memory\":\"1Gi\",\"limits.memory\":\"2Gi\"}},\"status\":{\"hard\":{\"pods\":\"8\","
			   "\"requests.memory\":\"1Gi\"},\"used\":{\"pods\":\"8\",\"requests.memory\":\"100Mi\"}}}");
	cJSON *allow = arr("{\"kind\":\"NetworkPolicy\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ai-agents\"},"
			   "\"spec\":{\"podSelector\":{},\"policyTypes\":[\"Egress\"],\"egress\":[{}]}}");
	struct checks_input in = { .expected = expected, .quota_threshold = 0.9, .netpols = allow };
	struct check_results r = { 0 };
	double q;

	check_quota(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "namespace ai-agents has no ResourceQuota"));
	check_netpol(&in, &r);
	assert_false(r.v[1].ok);
	assert_non_null(strstr(r.v[1].message, "namespace ai-agents has no default-deny NetworkPolicy"));
	check_results_clear(&r);
	in.quotas = quota;
	in.netpols = cJSON_GetArrayItem(expected, 1) ? expected : NULL;
	check_quota(&in, &r);
	check_netpol(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "pods uses 8 of 8 (100%"));
	assert_int_equal(r.v[0].severity, STATUS_WARNING);
	assert_true(r.v[1].ok);
	check_results_clear(&r);
	assert_int_equal(checks_quantity("100m", &q), 0);
	assert_true(q > 0.0999 && q < 0.1001);
	assert_int_equal(checks_quantity("1Gi", &q), 0);
	assert_true(q == 1073741824.0);
	assert_int_equal(checks_quantity("1Xi", &q), -EINVAL);
	assert_int_equal(checks_quantity("-1", &q), -EINVAL);
	cJSON_Delete(expected);
	cJSON_Delete(quota);
	cJSON_Delete(allow);
}

static const char CRONJOB[] =
	"{\"kind\":\"CronJob\",\"metadata\":{\"name\":\"journalist\",\"namespace\":\"ai-agents\","
	"\"creationTimestamp\":\"2026-01-01T00:00:00Z\"},\"spec\":{\"schedule\":\"*/10 * * * *\","
	"\"timeZone\":\"Etc/UTC\",\"suspend\":%s},\"status\":{%s}}";

static cJSON *
cronjob(const char *suspend, const char *status)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), CRONJOB, suspend, status);
	return arr(buf);
}

static void
test_cron(void **state)
{
	(void)state;
	cJSON *never = cronjob("false", "");
	cJSON *fired = cronjob("false", "\"lastScheduleTime\":\"2026-01-01T00:50:00Z\"");
	cJSON *suspended = cronjob("true", "");
	cJSON *failed = arr("{\"kind\":\"Job\",\"metadata\":{\"name\":\"journalist-1\",\"namespace\":\"ai-agents\","
			    "\"ownerReferences\":[{\"kind\":\"CronJob\",\"name\":\"journalist\"}]},\"status\":{"
			    "\"startTime\":\"2026-01-01T00:50:01Z\",\"conditions\":[{\"type\":\"Failed\",\"status\":\"True\","
			    "\"reason\":\"BackoffLimitExceeded\",\"lastTransitionTime\":\"2026-01-01T00:51:00Z\"}]}}");
	struct checks_span sealed = { t_of("2026-01-01T00:45:00Z"), 0 };
	struct checks_input in = { .cronjobs = never, .now = t_of("2026-01-01T00:05:00Z"), .grace = 120 };
	struct check_results r = { 0 };
	int64_t when;

	check_cron(&in, &r);
	assert_string_equal(r.v[0].name, "cron-journalist");
	assert_true(r.v[0].ok);	/* not due yet */
	assert_int_equal(checks_cron_deadline(&in, &when), 0);
	assert_int_equal(when, t_of("2026-01-01T00:12:00Z"));
	check_results_clear(&r);
	in.now = t_of("2026-01-01T00:12:01Z");
	check_cron(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "never fired: its first run was due at 2026-01-01T00:10:00Z"));
	check_results_clear(&r);
	in.cronjobs = fired;
	in.now = t_of("2026-01-01T00:51:30Z");
	check_cron(&in, &r);
	assert_true(r.v[0].ok);
	check_results_clear(&r);
	in.now = t_of("2026-01-01T01:02:01Z");
	check_cron(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "did not fire at 2026-01-01T01:00:00Z (last fired 2026-01-01T00:50:00Z"));
	check_results_clear(&r);
	in.now = t_of("2026-01-01T00:55:00Z");
	in.jobs = failed;
	check_cron(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "failed (BackoffLimitExceeded: "));
	assert_null(strstr(r.v[0].message, "sealed"));
	check_results_clear(&r);
	in.sealed = &sealed;
	in.n_sealed = 1;
	check_cron(&in, &r);
	assert_non_null(strstr(r.v[0].message, "while Vault was sealed"));
	assert_non_null(strstr(r.v[0].message, "agentctl unseal"));
	check_results_clear(&r);
	in.cronjobs = suspended;
	check_cron(&in, &r);
	assert_int_equal(r.n, 0);
	cJSON *bad = cronjob("false", "");
	cJSON_ReplaceItemInObject(cJSON_GetObjectItem(cJSON_GetArrayItem(bad, 0), "spec"), "schedule",
				  cJSON_CreateString("61 * * * *"));
	in.cronjobs = bad;
	check_cron(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "does not parse"));
	check_results_clear(&r);
	cJSON_Delete(bad);
	cJSON_Delete(never);
	cJSON_Delete(fired);
	cJSON_Delete(suspended);
	cJSON_Delete(failed);
}

static void
test_webhook(void **state)
{
	(void)state;
	static const char wh[] =
		"{\"kind\":\"MutatingWebhookConfiguration\",\"metadata\":{\"name\":\"cfg\"},\"webhooks\":[{\"name\":\"w\","
		"\"failurePolicy\":\"%s\",\"namespaceSelector\":{\"matchLabels\":{\"a\":\"b\"}},\"clientConfig\":{%s"
		"\"service\":{\"name\":\"svc\",\"namespace\":\"vault\"}}}]}";
	char buf[1024];
	snprintf(buf, sizeof(buf), wh, "Fail", "");
	cJSON *expected = arr(buf);
	snprintf(buf, sizeof(buf), wh, "Ignore", "\"caBundle\":\"Y2E=\",");
	cJSON *ignore = arr(buf);
	snprintf(buf, sizeof(buf), wh, "Fail", "\"caBundle\":\"Y2E=\",");
	cJSON *good = arr(buf);
	cJSON *ep = arr("{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"svc\",\"namespace\":\"vault\"},"
			"\"subsets\":[{\"addresses\":[{\"ip\":\"10.42.0.5\"}]}]}");
	struct checks_input in = { .expected = expected, .webhooks = ignore, .endpoints = ep };
	struct check_results r = { 0 };

	check_webhook(&in, &r);
	assert_false(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "failurePolicy Ignore, the stack ships Fail"));
	check_results_clear(&r);
	in.webhooks = good;
	check_webhook(&in, &r);
	assert_true(r.v[0].ok);
	check_results_clear(&r);
	in.endpoints = NULL;
	check_webhook(&in, &r);
	assert_non_null(strstr(r.v[0].message, "Service vault/svc has no ready endpoints"));
	check_results_clear(&r);
	in.webhooks = NULL;
	check_webhook(&in, &r);
	assert_non_null(strstr(r.v[0].message, "MutatingWebhookConfiguration cfg is missing"));
	check_results_clear(&r);
	cJSON_Delete(expected);
	cJSON_Delete(ignore);
	cJSON_Delete(good);
	cJSON_Delete(ep);
}

static void
test_vault_audit(void **state)
{
	(void)state;
	struct check_results r = { 0 };
	cJSON *audit = cJSON_Parse("{\"stdout/\":{\"type\":\"file\",\"options\":{\"file_path\":\"stdout\"}}}");
	cJSON *none = cJSON_Parse("{}");

	checks_vault_audit(audit, NULL, NULL, "vault-0", &r);
	assert_true(r.v[0].ok);
	assert_non_null(strstr(r.v[0].message, "stdout/ (file)"));
	checks_vault_audit(none, NULL, NULL, "vault-0", &r);
	assert_false(r.v[1].ok);
	checks_vault_audit(NULL, NULL, "==> Vault server started!\n{\"type\":\"request\",\"request\":{\"path\":\"sys/mounts\"}}\n",
			   "vault-0", &r);
	assert_true(r.v[2].ok);
	checks_vault_audit(NULL, NULL, "==> Vault server started!\n{\"type\":\"other\"}\n", "vault-0", &r);
	assert_false(r.v[3].ok);
	assert_int_equal(r.v[3].severity, STATUS_INFO);
	assert_non_null(strstr(r.v[3].message, "unknown: no Vault token"));
	check_results_clear(&r);
	cJSON_Delete(audit);
	cJSON_Delete(none);
}

static void
test_metrics(void **state)
{
	(void)state;
	struct status *st = status_new();
	char *text;

	status_set(st, "pods", true, STATUS_CRITICAL, "fine");
	status_set(st, "cron-a\"b", false, STATUS_WARNING, "late");
	text = metrics_format(st, SV_DEGRADED, 1700000000000000ULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "agentd_state{state=\"degraded\"} 1\n"));
	assert_non_null(strstr(text, "agentd_state{state=\"healthy\"} 0\n"));
	assert_non_null(strstr(text, "agentd_state_since_seconds 1700000000\n"));
	assert_non_null(strstr(text, "agentd_check_ok{check=\"pods\",severity=\"critical\"} 1\n"));
	assert_non_null(strstr(text, "agentd_check_ok{check=\"cron-a\\\"b\",severity=\"warning\"} 0\n"));
	assert_non_null(strstr(text, "# TYPE agentd_check_since_seconds gauge\n"));
	free(text);
	status_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pss_labels),
		cmocka_unit_test(test_secrets_and_images),
		cmocka_unit_test(test_pods),
		cmocka_unit_test(test_quota_netpol),
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_vault_audit),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
