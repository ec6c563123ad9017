/* cmd_version.c — `version`: the daemon's version and protocol. */
#include "clock.h"
#include "cmd.h"

static void
cmd_version(struct control_req *req, struct daemon *d)
{
	char started[CLOCK_RFC3339_SIZE];
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "version", AGENTD_VERSION) == NULL ||
	    cJSON_AddNumberToObject(o, "protocol", PROTO_VERSION) == NULL ||
	    cJSON_AddStringToObject(o, "started",
				    clock_format_rfc3339(d->started, started, sizeof(started))) == NULL ||
	    control_reply(req, PROTO_REPLY, o) < 0) {
		cJSON_Delete(o);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	cJSON_Delete(o);
	control_end(req);
}

const struct cmd_entry cmd_version_entry = {
	.name = "version",
	.summary = "agentd's version and control protocol",
	.exec = cmd_version,
};
