/* libFuzzer: the control frame codec.  A byte stream is decoded frame by
 * frame the way control.c does; every decoded frame must re-encode to the
 * same bytes, REQUEST and ERROR payloads go through their parsers, and no
 * input may crash, leak or make the decoder claim more bytes than it has. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t again[PROTO_FRAME_MAX];
	size_t off = 0;

	while (off < size) {
		struct proto_frame f;
		int r = proto_decode(data + off, size - off, &f);

		if (r == 0)
			break;
		if (r < 0) {
			if (r != -EBADMSG && r != -EMSGSIZE && r != -EPROTONOSUPPORT)
				abort();
			break;
		}
		if ((size_t)r > size - off || (size_t)r != PROTO_HEADER_SIZE + f.len ||
		    f.version != PROTO_VERSION)
			abort();
		if (proto_encode(again, sizeof(again), f.type, f.payload, f.len) != r ||
		    memcmp(again, data + off, (size_t)r) != 0)
			abort();
		if (f.type == PROTO_REQUEST) {
			const char *cmd, *why = NULL;
			const cJSON *args;
			cJSON *root = NULL;
			if (proto_request_parse(f.payload, f.len, &root, &cmd, &args, &why) == 0) {
				if (cmd == NULL || cmd[0] == '\0' || (args != NULL && !cJSON_IsObject(args)))
					abort();
				cJSON_Delete(root);
			} else if (why == NULL) {
				abort();
			}
		} else if (f.type == PROTO_ERROR) {
			enum proto_error code;
			char *msg = NULL;
			if (proto_error_parse(f.payload, f.len, &code, &msg) == 0) {
				if (msg == NULL)
					abort();
				free(msg);
			}
		}
		off += (size_t)r;
	}
	return 0;
}
