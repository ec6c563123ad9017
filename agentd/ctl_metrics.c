/* ctl_metrics.c — `agentctl metrics`: the Prometheus text exposition as is. */
#include <stdio.h>

#include "ctl.h"

static int
show(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(payload, "text");

	(void)type;
	(void)data;
	if (c->json)
		ctl_print_json(c, payload);
	else if (cJSON_IsString(t))
		fputs(t->valuestring, stdout);
	fflush(stdout);
	return cJSON_IsString(t) ? 0 : CTL_EXIT_NOT_OK;
}

const struct ctl_cmd ctl_metrics_cmd = {
	.name = "metrics",
	.usage = "",
	.summary = "Prometheus text exposition of every check and state",
	.exec = ctl_exec_simple,
	.show = show,
};
