/* cmd_status.c — `status`: the DESIGN.md status object, read-only. */
#include "cmd.h"

static void
cmd_status(struct control_req *req, struct daemon *d)
{
	cJSON *o = supervisor_status_json(d->sv);

	if (o == NULL) {
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	control_answer(req, o, "status does not fit in a frame");
	cJSON_Delete(o);
}

const struct cmd_entry cmd_status_entry = {
	.name = "status",
	.summary = "state, every check with ok/message/since, vault pods",
	.exec = cmd_status,
};
