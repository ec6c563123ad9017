/* Unit tests for the check registry (status.c): one journal entry per
 * transition, none while a check stays as it is. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "msgid.h"
#include "secret.h"
#include "status.h"

struct captured {
	int n;
	int prio;
	char msgid[40];
	char fields[4][128];
	char message[256];
};

static void
sink(int prio, const char *msgid, const char *const *fields, const char *message, void *data)
{
	struct captured *c = data;

	c->n++;
	c->prio = prio;
	snprintf(c->msgid, sizeof(c->msgid), "%s", msgid ? msgid : "");
	memset(c->fields, 0, sizeof(c->fields));
	for (int i = 0; fields != NULL && fields[i] != NULL && i < 4; i++)
		snprintf(c->fields[i], sizeof(c->fields[i]), "%s", fields[i]);
	snprintf(c->message, sizeof(c->message), "%s", message);
}

static int
setup(void **state)
{
	static struct captured cap;

	memset(&cap, 0, sizeof(cap));
	log_set_level(LOG_DEBUG);
	log_set_sink(sink, &cap);
	*state = &cap;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	log_set_sink(NULL, NULL);
	return 0;
}

static void
test_logs_once_per_transition(void **state)
{
	struct captured *cap = *state;
	struct status *st = status_new();
	const struct status_check *c;
	uint64_t since;

	assert_int_equal(status_set(st, "api", false, STATUS_CRITICAL, "connection refused"), 1);
	assert_int_equal(cap->n, 1);
	assert_string_equal(cap->msgid, MSGID_CHECK_FAILED);
	assert_int_equal(cap->prio, LOG_ERR);
	assert_string_equal(cap->fields[0], "AGENTD_CHECK=api");
	assert_string_equal(cap->fields[1], "AGENTD_SEVERITY=critical");
	assert_string_equal(cap->message, "check api failed: connection refused");
	c = status_get(st, "api");
	since = c->since;
	assert_true(since > 0);

	/* Unchanged: nothing logged, however often it is reported. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(status_set(st, "api", false, STATUS_CRITICAL, "connection refused"), 0);
	assert_int_equal(cap->n, 1);

	/* A failing check's new reason is logged once; since does not move. */
	assert_int_equal(status_set(st, "api", false, STATUS_CRITICAL, "timeout"), 1);
	assert_int_equal(status_set(st, "api", false, STATUS_CRITICAL, "timeout"), 0);
	assert_int_equal(cap->n, 2);
	assert_int_equal(status_get(st, "api")->since, since);

	/* Recovery: logged with the OK id. */
	assert_int_equal(status_set(st, "api", true, STATUS_CRITICAL, "ready"), 1);
	assert_int_equal(cap->n, 3);
	assert_string_equal(cap->msgid, MSGID_CHECK_OK);
	assert_int_equal(cap->prio, LOG_INFO);
	assert_true(status_get(st, "api")->since >= since);

	/* A passing check may reword itself silently. */
	assert_int_equal(status_set(st, "api", true, STATUS_CRITICAL, "ready (v1.31)"), 0);
	assert_int_equal(cap->n, 3);
	assert_string_equal(status_get(st, "api")->message, "ready (v1.31)");

	/* Severity change is a transition. */
	assert_int_equal(status_set(st, "api", true, STATUS_WARNING, "ready (v1.31)"), 1);
	assert_int_equal(cap->n, 4);
	status_free(st);
}

static void
test_registry(void **state)
{
	struct status *st = status_new();
	cJSON *arr;
	char *text;

	(void)state;
	assert_false(status_all_ok(st));
	assert_int_equal(status_set(st, "", true, STATUS_INFO, "x"), -EINVAL);
	status_set(st, "pods", true, STATUS_WARNING, "3/3 ready");
	status_set(st, "cron-journalist", true, STATUS_WARNING, "fired at 10:00");
	assert_true(status_all_ok(st));
	status_set(st, "quota", false, STATUS_WARNING, "ResourceQuota ai-agents missing");
	assert_false(status_all_ok(st));
	char failing[64];
	status_failing(st, false, failing, sizeof failing);
	assert_string_equal(failing, "quota");
	status_set(st, "pods", false, STATUS_WARNING, "1/3 ready");
	status_failing(st, true, failing, sizeof failing);
	assert_string_equal(failing, "pods: 1/3 ready; quota: ResourceQuota ai-agents missing");
	status_failing(st, false, failing, sizeof failing);
	assert_string_equal(failing, "pods, quota");
	status_set(st, "pods", true, STATUS_WARNING, "3/3 ready");
	assert_int_equal(status_count(st), 3);
	assert_string_equal(status_at(st, 1)->name, "cron-journalist");
	assert_null(status_at(st, 3));
	assert_int_equal(status_remove(st, "cron-journalist"), 0);
	assert_int_equal(status_remove(st, "cron-journalist"), -ENOENT);
	assert_int_equal(status_count(st), 2);
	assert_string_equal(status_at(st, 1)->name, "quota");
	assert_null(status_get(st, "cron-journalist"));

	arr = status_checks_json(st);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	text = cJSON_PrintUnformatted(cJSON_GetArrayItem(arr, 1));
	assert_non_null(strstr(text, "\"name\":\"quota\",\"ok\":false,\"severity\":\"warning\","
				     "\"message\":\"ResourceQuota ai-agents missing\",\"since\":\""));
	free(text);
	cJSON_Delete(arr);
	assert_null(status_free(st));
	assert_null(status_free(NULL));
}

static void
test_many_checks(void **state)
{
	struct status *st = status_new();
	char name[32];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "cron-%d", i);
		assert_int_equal(status_set(st, name, i % 2 == 0, STATUS_WARNING, "n=%d", i), 1);
	}
	assert_int_equal(status_count(st), 100);
	assert_string_equal(status_get(st, "cron-77")->message, "n=77");
	status_free(st);
}

static void
test_secret(void **state)
{
	struct secret *s = secret_new(16);

	(void)state;
	assert_non_null(s);
	assert_int_equal(secret_append(s, "0123456789", 10), 0);
	assert_int_equal(secret_append(s, "abcdef", 6), 0);
	assert_int_equal(s->len, 16);
	assert_string_equal(s->data, "0123456789abcdef");
	assert_int_equal(secret_append(s, "x", 1), -ENOSPC);
	assert_int_equal(s->len, 16);
	secret_clear(s);
	assert_int_equal(s->len, 0);
	for (size_t i = 0; i <= s->cap; i++)
		assert_int_equal(s->data[i], 0);
	assert_null(secret_free(s));
	assert_null(secret_free(NULL));
	assert_null(secret_new(2 * 1024 * 1024));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_logs_once_per_transition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_checks, setup, teardown),
		cmocka_unit_test(test_secret),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
