/* Unit tests for podfollow_classify: where a pod stands with its Vault Agent
 * init container, as the kubelet reports it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "podfollow.h"
#include "yamljson.h"

#define UNUSED __attribute__((unused))

#define SPEC "kind: Pod\nmetadata: {name: p, namespace: ai-agents}\n" \
	     "spec:\n  initContainers: [{name: vault-agent-init}]\n  containers: [{name: app}]\n"
#define INIT(state) "  initContainerStatuses:\n  - name: vault-agent-init\n" state

struct expect {
	const char *name;
	const char *yaml;
	enum podfollow_hold hold;
	const char *why;	/* exact, for HELD and STARTING */
};

static void
run(const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct yamljson *y = NULL;
		char *err = NULL, why[200] = "";
		enum podfollow_hold h;

		if (yamljson_parse(e[i].yaml, strlen(e[i].yaml), e[i].name, &y, &err) != 0)
			fail_msg("%s: %s", e[i].name, err);
		h = podfollow_classify(yamljson_doc(y, 0), why, sizeof(why));
		if (h != e[i].hold || (e[i].why != NULL && strcmp(why, e[i].why) != 0))
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", e[i].name, h, why, e[i].hold,
				 e[i].why ? e[i].why : "");
		yamljson_free(y);
	}
}

static void
test_classify(void **state UNUSED)
{
	static const struct expect e[] = {
		{ "no-agent-init",
		  "kind: Pod\nmetadata: {name: p}\nspec:\n  initContainers: [{name: setup}]\n  containers: [{name: app}]\n"
		  "status: {phase: Pending}\n",
		  PODFOLLOW_NONE, NULL },
		{ "no-init-containers", "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: app}]}\n"
					"status: {phase: Pending}\n",
		  PODFOLLOW_NONE, NULL },
		{ "sealed-running-init", SPEC "status:\n  phase: Pending\n" INIT("    state: {running: {startedAt: x}}\n"),
		  PODFOLLOW_HELD, "vault-agent-init running (its Vault Agent retries the login)" },
		{ "not-started", SPEC "status: {phase: Pending}\n", PODFOLLOW_HELD, "vault-agent-init not started yet" },
		{ "crash-loop",
		  SPEC "status:\n  phase: Pending\n"
		  INIT("    restartCount: 3\n    state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s}}\n"),
		  PODFOLLOW_HELD, "vault-agent-init waiting: CrashLoopBackOff, 3 restarts" },
		{ "after-reboot", SPEC "status:\n  phase: Pending\n" INIT("    restartCount: 1\n    state: {waiting: {}}\n"),
		  PODFOLLOW_HELD, "vault-agent-init waiting to start, 1 restart" },
		{ "exited-error",
		  SPEC "status:\n  phase: Pending\n" INIT("    state: {terminated: {exitCode: 1, reason: Error}}\n"),
		  PODFOLLOW_HELD, "vault-agent-init exited with code 1 (Error)" },
		{ "init-done-starting",
		  SPEC "status:\n  phase: Pending\n" INIT("    state: {terminated: {exitCode: 0, reason: Completed}}\n"),
		  PODFOLLOW_STARTING, "vault-agent-init completed, the pod's containers are starting" },
		{ "running", SPEC "status:\n  phase: Running\n" INIT("    state: {terminated: {exitCode: 0}}\n"),
		  PODFOLLOW_RUNNING, NULL },
		{ "job-succeeded", SPEC "status: {phase: Succeeded}\n", PODFOLLOW_RUNNING, NULL },
		{ "failed", SPEC "status: {phase: Failed}\n", PODFOLLOW_NONE, NULL },
		{ "terminating",
		  "kind: Pod\nmetadata: {name: p, deletionTimestamp: '2026-11-22T07:00:00Z'}\n"
		  "spec:\n  initContainers: [{name: vault-agent-init}]\n  containers: [{name: app}]\nstatus: {phase: Pending}\n",
		  PODFOLLOW_NONE, NULL },
	};

	run(e, sizeof(e) / sizeof(e[0]));
}

static void
test_junk(void **state UNUSED)
{
	char why[8];

	/* Wrong shapes are no pod held, and a small buffer is truncated, not overrun. */
	assert_int_equal(podfollow_classify(NULL, why, sizeof(why)), PODFOLLOW_NONE);
	run((const struct expect[]){ { "spec-not-a-map", "kind: Pod\nspec: 3\nstatus: {phase: Pending}\n",
				       PODFOLLOW_NONE, NULL } },
	    1);
	{
		struct yamljson *y = NULL;
		char *err = NULL;
		static const char yaml[] = SPEC "status: {phase: Pending}\n";

		assert_int_equal(yamljson_parse(yaml, strlen(yaml), "small", &y, &err), 0);
		assert_int_equal(podfollow_classify(yamljson_doc(y, 0), why, sizeof(why)), PODFOLLOW_HELD);
		assert_string_equal(why, "vault-a");
		yamljson_free(y);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_junk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
