/* cmd_metrics.c — `metrics`: the Prometheus text exposition, read-only. */
#include <stdlib.h>

#include "cmd.h"
#include "metrics.h"

static void
cmd_metrics(struct control_req *req, struct daemon *d)
{
	char *text = metrics_format(d->status, supervisor_state(d->sv), supervisor_since(d->sv));
	cJSON *o = text ? cJSON_CreateObject() : NULL;

	if (o == NULL || !cJSON_AddStringToObject(o, "text", text))
		control_error(req, PROTO_E_INTERNAL, "out of memory");
	else
		control_answer(req, o, "metrics do not fit in a frame");
	cJSON_Delete(o);
	free(text);
}

const struct cmd_entry cmd_metrics_entry = {
	.name = "metrics",
	.summary = "Prometheus text exposition of every check and state",
	.exec = cmd_metrics,
};
