/* Unit tests for rtreport: the reset test's three metrics and its table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rtreport.h"

static const char *PHASES_OK =
	"[{\"name\":\"teardown\",\"ok\":true,\"seconds\":5.5,\"detail\":\"9 objects deleted\"},"
	"{\"name\":\"bootstrap\",\"ok\":true,\"seconds\":20,\"detail\":\"the stack is up\"},"
	"{\"name\":\"checks\",\"ok\":true,\"seconds\":3,\"detail\":\"all 13 checks pass\"},"
	"{\"name\":\"run-journalist\",\"ok\":true,\"seconds\":6,\"detail\":\"complete\"},"
	"{\"name\":\"run-publisher\",\"ok\":true,\"seconds\":6,\"detail\":\"complete\"}]";
static const char *CHECKS_OK =
	"[{\"name\":\"secrets\",\"ok\":true,\"message\":\"no agent pod consumes a Kubernetes Secret\"},"
	"{\"name\":\"pss-labels\",\"ok\":true,\"message\":\"labels as shipped\"},"
	"{\"name\":\"pss-pods\",\"ok\":true,\"message\":\"3 running pods pass\"}]";
static const char *RUNS_OK =
	"[{\"task\":\"journalist\",\"ok\":true,\"reason\":\"\",\"pod\":\"j-1\","
	"\"files\":[{\"file\":\"journalist.env\",\"arrived\":true,\"keys\":[\"RESET_TEST_PROBE\"]}]},"
	"{\"task\":\"publisher\",\"ok\":true,\"reason\":\"\",\"pod\":\"p-1\","
	"\"files\":[{\"file\":\"publisher.env\",\"arrived\":true,\"keys\":[\"GIT_TOKEN\"]}]}]";

static cJSON *
build(const char *phases, const char *checks, const char *runs)
{
	cJSON *p = cJSON_Parse(phases), *c = checks ? cJSON_Parse(checks) : NULL, *r = runs ? cJSON_Parse(runs) : NULL;
	cJSON *rep;

	assert_non_null(p);
	rep = rtreport_build(p, c, r, NULL);
	cJSON_Delete(p);
	cJSON_Delete(c);
	cJSON_Delete(r);
	assert_non_null(rep);
	return rep;
}

static const cJSON *
metric(const cJSON *rep, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(rep, "metrics"), i);
}

static bool
metric_ok(const cJSON *rep, int i)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(metric(rep, i), "ok"));
}

static const char *
metric_detail(const cJSON *rep, int i)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(metric(rep, i), "detail"));
}

static void
test_all_pass(void **state __attribute__((unused)))
{
	cJSON *rep = build(PHASES_OK, CHECKS_OK, RUNS_OK);
	char *table;

	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rep, "metrics")), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(metric(rep, 0), "name")), "reset-and-runs");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(metric(rep, 1), "name")), "no-plain-secrets");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(metric(rep, 2), "name")), "pss-restricted");
	for (int i = 0; i < 3; i++)
		assert_true(metric_ok(rep, i));
	assert_non_null(strstr(metric_detail(rep, 1), "2 secret files arrived"));
	assert_true(cJSON_GetNumberValue(cJSON_GetObjectItem(rep, "duration")) > 40.4);
	table = rtreport_table(rep);
	assert_non_null(table);
	assert_non_null(strstr(table, "reset test: PASS (40.5 s)"));
	assert_non_null(strstr(table, "  teardown         ok          5.5  9 objects deleted"));
	assert_non_null(strstr(table, "  2   zero plain Kubernetes Secrets for agent workloads"));
	free(table);
	cJSON_Delete(rep);
}

static void
test_failed_publisher_named(void **state __attribute__((unused)))
{
	const char *runs = "[{\"task\":\"journalist\",\"ok\":true,\"reason\":\"\",\"pod\":\"j\",\"files\":"
			   "[{\"file\":\"journalist.env\",\"arrived\":true}]},"
			   "{\"task\":\"publisher\",\"ok\":false,\"reason\":\"job ai-agents/p failed: "
			   "BackoffLimitExceeded\",\"pod\":\"p\",\"files\":[]}]";
	cJSON *rep = build(PHASES_OK, CHECKS_OK, runs);
	char *table = rtreport_table(rep);

	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok")));
	assert_false(metric_ok(rep, 0));
	assert_string_equal(metric_detail(rep, 0), "run publisher failed: job ai-agents/p failed: BackoffLimitExceeded");
	assert_true(metric_ok(rep, 1));
	assert_true(metric_ok(rep, 2));	/* its pod was admitted: it failed running */
	assert_non_null(strstr(table, "reset test: FAIL"));
	free(table);
	cJSON_Delete(rep);
}

/* Nothing passes by default: missing evidence fails each metric, saying so. */
static void
test_missing_evidence_fails(void **state __attribute__((unused)))
{
	const char *phases = "[{\"name\":\"teardown\",\"ok\":false,\"seconds\":6,\"detail\":\"Namespace/ai-agents stuck\"}]";
	cJSON *rep = build(phases, NULL, NULL);

	assert_false(cJSON_IsTrue(cJSON_GetObjectItem(rep, "ok")));
	for (int i = 0; i < 3; i++)
		assert_false(metric_ok(rep, i));
	assert_string_equal(metric_detail(rep, 0), "teardown failed: Namespace/ai-agents stuck");
	assert_string_equal(metric_detail(rep, 1), "the secrets check has not run");
	assert_string_equal(metric_detail(rep, 2), "the pss-labels check has not run");
	cJSON_Delete(rep);
}

static void
test_plain_secret_and_unadmitted_pod(void **state __attribute__((unused)))
{
	const char *checks = "[{\"name\":\"secrets\",\"ok\":false,\"message\":\"pod x reads Secret y\"},"
			     "{\"name\":\"pss-labels\",\"ok\":true,\"message\":\"\"},"
			     "{\"name\":\"pss-pods\",\"ok\":true,\"message\":\"\"}]";
	const char *runs = "[{\"task\":\"journalist\",\"ok\":false,\"reason\":\"job j completed, but it has no pod\","
			   "\"pod\":null,\"files\":[]},"
			   "{\"task\":\"publisher\",\"ok\":true,\"reason\":\"\",\"pod\":\"p\",\"files\":"
			   "[{\"file\":\"publisher.env\",\"arrived\":false}]}]";
	cJSON *rep = build(PHASES_OK, checks, runs);

	assert_false(metric_ok(rep, 1));
	assert_string_equal(metric_detail(rep, 1), "secrets check: pod x reads Secret y");
	assert_false(metric_ok(rep, 2));
	assert_string_equal(metric_detail(rep, 2), "run journalist: its Job got no pod (job j completed, but it has no pod)");
	cJSON_Delete(rep);
}

static void
test_file_not_arrived(void **state __attribute__((unused)))
{
	const char *runs = "[{\"task\":\"journalist\",\"ok\":true,\"pod\":\"j\",\"files\":"
			   "[{\"file\":\"journalist.env\",\"arrived\":false}]},"
			   "{\"task\":\"publisher\",\"ok\":true,\"pod\":\"p\",\"files\":[]}]";
	cJSON *rep = build(PHASES_OK, CHECKS_OK, runs);

	assert_false(metric_ok(rep, 1));
	assert_string_equal(metric_detail(rep, 1), "run journalist: secret file journalist.env did not arrive from Vault");
	cJSON_Delete(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass),
		cmocka_unit_test(test_failed_publisher_named),
		cmocka_unit_test(test_missing_evidence_fails),
		cmocka_unit_test(test_plain_secret_and_unadmitted_pod),
		cmocka_unit_test(test_file_not_arrived),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
