/* proto.c — the control protocol codec.  Pure: no I/O, no logging. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const char *const error_names[] = {
	[PROTO_E_PROTOCOL] = "protocol", [PROTO_E_USAGE] = "usage",
	[PROTO_E_REFUSED] = "refused",   [PROTO_E_FAILED] = "failed",
	[PROTO_E_LIMIT] = "limit",       [PROTO_E_INTERNAL] = "internal",
};

static const char *const type_names[] = {
	[PROTO_REQUEST] = "REQUEST", [PROTO_REPLY] = "REPLY", [PROTO_PROGRESS] = "PROGRESS",
	[PROTO_ERROR] = "ERROR",     [PROTO_END] = "END",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

const char *
proto_error_name(enum proto_error code)
{
	if ((unsigned)code >= N_ELEMS(error_names))
		return "internal";
	return error_names[code];
}

const char *
proto_type_name(enum proto_type type)
{
	if ((unsigned)type >= N_ELEMS(type_names) || type_names[type] == NULL)
		return "UNKNOWN";
	return type_names[type];
}

static bool
type_valid(unsigned t)
{
	return t >= PROTO_REQUEST && t <= PROTO_END;
}

int
proto_decode(const void *buf, size_t len, struct proto_frame *f)
{
	const uint8_t *p = buf;
	uint32_t plen;

	/* Judge as early as possible: garbage is rejected on its first bytes. */
	if ((len >= 1 && p[0] != 'A') || (len >= 2 && p[1] != 'D'))
		return -EBADMSG;
	if (len >= 3 && p[2] != PROTO_VERSION) {
		f->version = p[2];
		return -EPROTONOSUPPORT;
	}
	if (len < PROTO_HEADER_SIZE)
		return 0;
	if (!type_valid(p[3]))
		return -EBADMSG;
	plen = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	if (plen > PROTO_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (len < PROTO_HEADER_SIZE + (size_t)plen)
		return 0;
	f->version = p[2];
	f->type = p[3];
	f->payload = (const char *)p + PROTO_HEADER_SIZE;
	f->len = plen;
	return PROTO_HEADER_SIZE + (int)plen;
}

int
proto_encode(void *buf, size_t cap, enum proto_type type, const void *payload, size_t len)
{
	uint8_t *p = buf;

	if (!type_valid(type))
		return -EINVAL;
	if (len > PROTO_PAYLOAD_MAX || cap < PROTO_HEADER_SIZE + len)
		return -EMSGSIZE;
	p[0] = 'A';
	p[1] = 'D';
	p[2] = PROTO_VERSION;
	p[3] = (uint8_t)type;
	p[4] = (uint8_t)(len >> 24);
	p[5] = (uint8_t)(len >> 16);
	p[6] = (uint8_t)(len >> 8);
	p[7] = (uint8_t)len;
	if (len > 0)
		memcpy(p + PROTO_HEADER_SIZE, payload, len);
	return PROTO_HEADER_SIZE + (int)len;
}

int
proto_encode_json(enum proto_type type, const cJSON *obj, uint8_t **out, size_t *outlen)
{
	char *text = NULL;
	size_t len = 0;
	uint8_t *buf;
	int r;

	if (obj != NULL) {
		text = cJSON_PrintUnformatted(obj);
		if (text == NULL)
			return -ENOMEM;
		len = strlen(text);
	}
	if (len > PROTO_PAYLOAD_MAX) {
		explicit_bzero(text, len);
		free(text);
		return -EMSGSIZE;
	}
	buf = malloc(PROTO_HEADER_SIZE + len);
	if (buf == NULL) {
		if (text != NULL)
			explicit_bzero(text, len);
		free(text);
		return -ENOMEM;
	}
	r = proto_encode(buf, PROTO_HEADER_SIZE + len, type, text, len);
	/* The text may be a request carrying key material: no copy left behind. */
	if (text != NULL)
		explicit_bzero(text, len);
	free(text);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*outlen = (size_t)r;
	return 0;
}

cJSON *
proto_request_new(const char *command, cJSON *args)
{
	cJSON *o = cJSON_CreateObject();

	if (args == NULL)
		args = cJSON_CreateObject();
	if (o == NULL || args == NULL || cJSON_AddStringToObject(o, "command", command) == NULL ||
	    !cJSON_AddItemToObject(o, "args", args)) {
		cJSON_Delete(o);
		cJSON_Delete(args);
		return NULL;
	}
	return o;
}

int
proto_request_parse(const char *payload, size_t len, cJSON **root, const char **command,
		    const cJSON **args, const char **why)
{
	const cJSON *cmd, *a;
	cJSON *o;

	o = cJSON_ParseWithLength(payload, len);
	if (o == NULL) {
		*why = "request payload is not valid JSON";
		return -EBADMSG;
	}
	if (!cJSON_IsObject(o)) {
		*why = "request payload must be a JSON object";
		goto fail;
	}
	cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
	if (!cJSON_IsString(cmd) || cmd->valuestring[0] == '\0') {
		*why = "request needs a non-empty string \"command\"";
		goto fail;
	}
	a = cJSON_GetObjectItemCaseSensitive(o, "args");
	if (a != NULL && !cJSON_IsObject(a)) {
		*why = "request \"args\" must be a JSON object";
		goto fail;
	}
	*root = o;
	*command = cmd->valuestring;
	*args = a;
	return 0;
fail:
	cJSON_Delete(o);
	return -EBADMSG;
}

cJSON *
proto_error_new(enum proto_error code, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || cJSON_AddStringToObject(o, "error", proto_error_name(code)) == NULL ||
	    cJSON_AddStringToObject(o, "message", message) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
proto_error_parse(const char *payload, size_t len, enum proto_error *code, char **message)
{
	const cJSON *e, *m;
	cJSON *o;
	int r = -EBADMSG;

	o = cJSON_ParseWithLength(payload, len);
	if (o == NULL)
		return -EBADMSG;
	e = cJSON_GetObjectItemCaseSensitive(o, "error");
	m = cJSON_GetObjectItemCaseSensitive(o, "message");
	if (cJSON_IsString(e) && cJSON_IsString(m)) {
		for (size_t i = 0; i < N_ELEMS(error_names); i++) {
			if (strcmp(error_names[i], e->valuestring) != 0)
				continue;
			*message = strdup(m->valuestring);
			if (*message == NULL) {
				r = -ENOMEM;
				break;
			}
			*code = (enum proto_error)i;
			r = 0;
			break;
		}
	}
	cJSON_Delete(o);
	return r;
}
