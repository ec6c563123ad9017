/* cmd_verify.c — `verify`: run every check now, answer with the status
 * object plus "ok" (true only when every check passes). */
#include <errno.h>

#include "cmd.h"
#include "verify.h"

struct run {
	struct control_req *req;
	struct daemon *d;
};

static void
answer(struct control_req *req, struct daemon *d, bool running)
{
	cJSON *o = supervisor_status_json(d->sv);

	if (o == NULL || !cJSON_AddBoolToObject(o, "ok", running && status_all_ok(d->status))) {
		cJSON_Delete(o);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	control_answer(req, o, "the results do not fit in a frame");
	cJSON_Delete(o);
}

static void
on_done(void *data)
{
	struct control_req *req = data;

	answer(req, req->data, true);
}

static void
on_cancel(struct control_req *req, void *data)
{
	struct daemon *d = data;

	verify_cancel(d->verify, req);
}

static void
cmd_verify(struct control_req *req, struct daemon *d)
{
	int r;

	if (req->args != NULL && cJSON_GetArraySize(req->args) > 0) {
		control_error(req, PROTO_E_USAGE, "verify takes no arguments");
		return;
	}
	control_req_on_cancel(req, on_cancel, d);
	r = verify_run(d->verify, on_done, req);
	if (r == -EAGAIN)
		answer(req, d, false);	/* nothing to verify: status says why */
	else if (r < 0)
		control_error(req, PROTO_E_FAILED, "too many verify runs waiting, try again");
}

const struct cmd_entry cmd_verify_entry = {
	.name = "verify",
	.flags = CMD_MUTATING,
	.summary = "run every check now",
	.exec = cmd_verify,
};
