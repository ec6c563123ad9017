/* ctl_version.c — `agentctl version`: this client's version, then agentd's. */
#include <stdio.h>

#include "ctl.h"

static int
print_version(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, "version");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(payload, "protocol");

	(void)type;
	(void)data;
	if (c->json) {
		ctl_print_json(c, payload);
		return 0;
	}
	printf("agentd %s (protocol %d)\n", cJSON_IsString(v) ? v->valuestring : "?",
	       cJSON_IsNumber(p) ? p->valueint : 0);
	return 0;
}

static int
ctl_version(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage(cmd);
	if (!c->json)
		printf("agentctl %s (protocol %d)\n", AGENTD_VERSION, PROTO_VERSION);
	fflush(stdout);
	return ctl_request(c, "version", NULL, print_version, NULL);
}

const struct ctl_cmd ctl_version_cmd = {
	.name = "version",
	.usage = "",
	.summary = "agentctl's and agentd's versions",
	.exec = ctl_version,
};
