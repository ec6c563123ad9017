/* cmd_status.c — `status`: the DESIGN.md status object, read-only. */
#include "cmd.h"

static void
cmd_status(struct control_req *req, struct daemon *d)
{
	cJSON *o = supervisor_status_json(d->sv);
	int r;

	if (o == NULL) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	r = control_reply(req, PROTO_REPLY, o);
	cJSON_Delete(o);
	if (r < 0)
		control_error(req, PROTO_E_INTERNAL, "status does not fit in a frame");
	else
		control_end(req);
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "state, every check with ok/message/since, vault pods",
	.exec = cmd_status,
};
