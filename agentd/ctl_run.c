/* ctl_run.c — `agentctl run TASK [--timeout SECONDS]`: start a Job from CronJob
 * TASK now and wait for it; exit 0 when it completed and its secrets arrived. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char *
str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	return s ? s : "";
}

static int
on_frame(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	const cJSON *f, *k;
	(void)data;

	if (type == PROTO_PROGRESS) {
		if (!c->json)
			printf("%s\n", str(payload, "progress"));
		fflush(stdout);
		return 0;
	}
	bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(payload, "ok"));
	if (c->json) {
		ctl_print_json(c, payload);
		return ok ? 0 : CTL_EXIT_NOT_OK;
	}
	cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(payload, "files")) {
		printf("secret file %s: %s", str(f, "file"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "arrived")) ? "arrived, keys:" : "MISSING");
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(f, "keys"))
			printf(" %s", cJSON_GetStringValue(k) ? cJSON_GetStringValue(k) : "?");
		printf("\n");
	}
	const cJSON *secs = cJSON_GetObjectItemCaseSensitive(payload, "seconds");
	if (ok)
		printf("run %s: ok (job %s, %.1f s)\n", str(payload, "task"), str(payload, "job"),
		       cJSON_GetNumberValue(secs));
	else
		printf("run %s: FAILED: %s\n", str(payload, "task"), str(payload, "reason"));
	return ok ? 0 : CTL_EXIT_NOT_OK;
}

static int
ctl_run(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *task = NULL;
	double timeout = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			char *end;
			timeout = strtod(argv[++i], &end);
			if (*end || timeout <= 0) {
				fprintf(stderr, "agentctl run: --timeout %s: not a positive number of seconds\n", argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else if (argv[i][0] == '-' || task) {
			return ctl_usage(cmd);
		} else {
			task = argv[i];
		}
	}
	if (!task)
		return ctl_usage(cmd);
	cJSON *args = cJSON_CreateObject();
	if (!args || !cJSON_AddStringToObject(args, "task", task) ||
	    (timeout > 0 && !cJSON_AddNumberToObject(args, "timeout", timeout))) {
		cJSON_Delete(args);
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	return ctl_request(c, "run", args, on_frame, NULL);
}

const struct ctl_cmd ctl_run_cmd = {
	.name = "run",
	.usage = "TASK [--timeout SECONDS]",
	.summary = "start a Job from CronJob TASK now (like kubectl create job --from)",
	.exec = ctl_run,
};
