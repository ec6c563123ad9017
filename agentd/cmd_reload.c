/* cmd_reload.c — `reload`: re-read the configuration, like SIGHUP, but the
 * operator sees the error (file:line:column) when the new one is invalid. */
#include <stdlib.h>

#include "cmd.h"

static void
cmd_reload(struct control_req *req, struct daemon *d)
{
	char *error = NULL;
	cJSON *o;

	if (daemon_reload(d, &error) < 0) {
		control_error(req, PROTO_E_FAILED, "configuration not reloaded, the old one stays: %s",
			      error ? error : "out of memory");
		free(error);
		return;
	}
	o = cJSON_CreateObject();
	if (o != NULL && cJSON_AddStringToObject(o, "reloaded", d->config->path) != NULL)
		control_reply(req, PROTO_REPLY, o);
	cJSON_Delete(o);
	control_end(req);
}

const struct cmd_entry cmd_reload_entry = {
	.name = "reload",
	.flags = CMD_MUTATING,
	.summary = "re-read the configuration file (as SIGHUP does)",
	.exec = cmd_reload,
};
