/* cmd_unseal.c — `unseal`: one key (or a reset) for every sealed Vault pod.
 *
 * args: {"key": STR} or {"reset": true}.  The key is copied into a locked
 * secret buffer and the request's copy is wiped at once; it never appears in
 * a reply, an error or a log line.  Once Vault is unsealed the reply also
 * names the pods the seal held ("held_pods"), which agentd now follows. */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "vaultwatch.h"

#define KEY_MAX 1024

struct unseal_req {
	struct control_req *req;   /* NULL once the client went away */
	struct vaultwatch *vw;
};

static void
on_cancel(struct control_req *req, void *data)
{
	struct unseal_req *u = data;

	(void)req;
	u->req = NULL;
}

static cJSON *
pods_json(const struct unseal_result *res)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < res->n; i++) {
		const struct unseal_pod *p = &res->pods[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(a, o) || !cJSON_AddStringToObject(o, "name", p->name) ||
		    !cJSON_AddStringToObject(o, "result", unseal_outcome_name(p->outcome)) ||
		    !cJSON_AddNumberToObject(o, "progress", p->progress) ||
		    !cJSON_AddNumberToObject(o, "threshold", p->threshold) ||
		    (p->message[0] && !cJSON_AddStringToObject(o, "message", p->message))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static void
on_done(enum unseal_outcome verdict, const char *summary, const struct unseal_result *res, void *data)
{
	struct unseal_req *u = data;
	struct control_req *req = u->req;
	struct vaultwatch *vw = u->vw;
	cJSON *o, *pods, *held = NULL;

	free(u);
	if (req == NULL)
		return;
	switch (verdict) {
	case UNSEAL_WRONG_KEY:
	case UNSEAL_UNREACHABLE:
	case UNSEAL_FAILED:
	case UNSEAL_NOT_INITIALIZED:
		control_error(req, PROTO_E_FAILED, "%s", summary);
		return;
	default:
		break;
	}
	o = cJSON_CreateObject();
	pods = pods_json(res);
	if (verdict == UNSEAL_UNSEALED)
		held = vaultwatch_held_pods(vw);
	if (o == NULL || pods == NULL || !cJSON_AddStringToObject(o, "result", unseal_outcome_name(verdict)) ||
	    !cJSON_AddStringToObject(o, "message", summary) || !cJSON_AddItemToObject(o, "pods", pods) ||
	    (held != NULL && !cJSON_AddItemToObject(o, "held_pods", held))) {
		cJSON_Delete(o);
		cJSON_Delete(pods);
		cJSON_Delete(held);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	if (control_reply(req, PROTO_REPLY, o) < 0)
		control_error(req, PROTO_E_INTERNAL, "the unseal result does not fit in a frame");
	else
		control_end(req);
	cJSON_Delete(o);
}

static void
cmd_unseal(struct control_req *req, struct daemon *d)
{
	cJSON *key = cJSON_GetObjectItemCaseSensitive(req->args, "key");
	const cJSON *reset = cJSON_GetObjectItemCaseSensitive(req->args, "reset");
	struct secret *s = NULL;
	struct unseal_req *u;
	char why[256];
	size_t len = 0;
	int r;

	if (cJSON_IsString(key) && key->valuestring != NULL) {
		len = strlen(key->valuestring);
		s = len > 0 && len <= KEY_MAX ? secret_new(KEY_MAX) : NULL;
		if (s != NULL)
			secret_append(s, key->valuestring, len);
		explicit_bzero(key->valuestring, len);
	}
	if ((key != NULL) == cJSON_IsTrue(reset) || (key != NULL && (!cJSON_IsString(key) || len == 0 || len > KEY_MAX))) {
		secret_free(s);
		control_error(req, PROTO_E_USAGE, "unseal takes {\"key\": STRING (1..%d bytes)} or {\"reset\": true}",
			      KEY_MAX);
		return;
	}
	if (key != NULL && s == NULL) {
		control_error(req, PROTO_E_INTERNAL, "out of memory for the key buffer");
		return;
	}
	if (d->vaultwatch == NULL) {
		secret_free(s);
		control_error(req, PROTO_E_FAILED, "Vault unreachable: this agentd has no Kubernetes client");
		return;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		secret_free(s);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return;
	}
	u->req = req;
	u->vw = d->vaultwatch;
	control_req_on_cancel(req, on_cancel, u);
	r = vaultwatch_unseal(d->vaultwatch, s, "agentctl", on_done, u, why, sizeof(why));
	if (r < 0) {
		free(u);
		control_error(req, PROTO_E_FAILED, "%s", why);
	}
}

const struct cmd_entry cmd_unseal_entry = {
	.name = "unseal",
	.flags = CMD_MUTATING,
	.summary = "submit an unseal key (or reset the progress) to every sealed Vault pod",
	.exec = cmd_unseal,
};
