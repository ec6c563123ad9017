/* ctl_verify.c — `agentctl verify`: every check run now; exit 0 only if all pass. */
#include <stdio.h>

#include "ctl.h"

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static int
show(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	const cJSON *it;
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "ok"));

	(void)type;
	(void)data;
	if (c->json) {
		ctl_print_json(c, payload);
	} else {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(payload, "checks"))
			printf("%-4s %-14s %-8s %s\n",
			       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ok")) ? "ok" : "FAIL",
			       str(it, "name"), str(it, "severity"), str(it, "message"));
		printf("state: %s: %s\n", str(payload, "state"), ok ? "every check passes" : "some check fails");
	}
	fflush(stdout);
	return ok ? 0 : CTL_EXIT_NOT_OK;
}

const struct ctl_cmd ctl_verify_cmd = {
	.name = "verify",
	.usage = "",
	.summary = "run every check now, exit 0 only if all pass",
	.exec = ctl_exec_simple,
	.show = show,
};
