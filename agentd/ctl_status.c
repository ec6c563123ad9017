/* ctl_status.c — `agentctl status [--watch]`: the daemon's state and checks,
 * as a table for people or the DESIGN.md JSON object with --json. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define WATCH_INTERVAL_USEC 1000000

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static void
print_table(const cJSON *s)
{
	const cJSON *api = cJSON_GetObjectItemCaseSensitive(s, "api");
	const cJSON *vault = cJSON_GetObjectItemCaseSensitive(s, "vault");
	const cJSON *pods = cJSON_GetObjectItemCaseSensitive(vault, "pods");
	const cJSON *checks = cJSON_GetObjectItemCaseSensitive(s, "checks");
	const cJSON *it;
	int width = 5;

	printf("state:  %s since %s\n", str(s, "state"), str(s, "since"));
	printf("api:    %s: %s\n",
	       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(api, "ok")) ? "ok" : "not ok",
	       str(api, "message"));
	if (cJSON_GetArraySize(pods) == 0)
		printf("vault:  no pods seen\n");
	cJSON_ArrayForEach(it, pods) {
		const cJSON *init = cJSON_GetObjectItemCaseSensitive(it, "initialized");
		const cJSON *sealed = cJSON_GetObjectItemCaseSensitive(it, "sealed");
		const cJSON *prog = cJSON_GetObjectItemCaseSensitive(it, "progress");
		const cJSON *thr = cJSON_GetObjectItemCaseSensitive(it, "threshold");
		printf("vault:  %s %s, %s (unseal progress %d/%d)\n", str(it, "name"),
		       cJSON_IsTrue(init) ? "initialized" : "not initialized",
		       cJSON_IsTrue(sealed) ? "sealed" : "unsealed",
		       cJSON_IsNumber(prog) ? prog->valueint : 0, cJSON_IsNumber(thr) ? thr->valueint : 0);
	}
	cJSON_ArrayForEach(it, checks) {
		int n = (int)strlen(str(it, "name"));
		if (n > width)
			width = n;
	}
	printf("\n%-*s  %-4s  %-8s  %-20s  %s\n", width, "CHECK", "OK", "SEVERITY", "SINCE", "MESSAGE");
	cJSON_ArrayForEach(it, checks) {
		printf("%-*s  %-4s  %-8s  %-20s  %s\n", width, str(it, "name"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "ok")) ? "ok" : "FAIL",
		       str(it, "severity"), str(it, "since"), str(it, "message"));
	}
}

struct watch {
	char *last;   /* the previous status, compact JSON */
	bool changed;
};

static int
show_status(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	struct watch *w = data;
	char *now;

	(void)type;
	if (w != NULL) {
		now = cJSON_PrintUnformatted(payload);
		w->changed = now == NULL || w->last == NULL || strcmp(now, w->last) != 0;
		free(w->last);
		w->last = now;
		if (!w->changed)
			return 0;
		if (c->tty && !c->json)
			printf("\033[H\033[2J");
	}
	if (c->json)
		ctl_print_json(c, payload);
	else
		print_table(payload);
	fflush(stdout);
	return 0;
}

static int
ctl_status(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct watch w = { 0 };
	int rc;

	if (argc == 1)
		return ctl_request(c, "status", NULL, show_status, NULL);
	if (argc != 2 || strcmp(argv[1], "--watch") != 0)
		return ctl_usage(cmd);
	/* Poll and print on change: one line of JSON per change with --json. */
	for (;;) {
		rc = ctl_request(c, "status", NULL, show_status, &w);
		if (rc != CTL_EXIT_OK)
			break;
		usleep(WATCH_INTERVAL_USEC);
	}
	free(w.last);
	return rc;
}

const struct ctl_cmd ctl_status_cmd = {
	.name = "status",
	.usage = "[--watch]",
	.summary = "state, every check with ok/message/since, vault pods",
	.exec = ctl_status,
};
