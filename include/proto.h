/* proto.h — the control protocol codec (pure: no I/O, no logging).
 *
 * Every message is one frame:
 *
 *   offset 0  2 bytes  magic "AD"
 *          2  1 byte   protocol version (PROTO_VERSION)
 *          3  1 byte   type (enum proto_type)
 *          4  4 bytes  payload length, big-endian
 *          8  ...      payload: a JSON object (UTF-8), empty for END
 *
 * A whole frame is at most PROTO_FRAME_MAX bytes.  A client sends one REQUEST
 * {"command": STR, "args": OBJ}; the daemon answers with REPLY and PROGRESS
 * frames, or one ERROR frame {"error": CODE, "message": STR}, and always ends
 * the reply stream with an END frame.  See docs/control-protocol.md.
 */
#ifndef AGENTD_PROTO_H
#define AGENTD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define PROTO_VERSION      1
#define PROTO_HEADER_SIZE  8
#define PROTO_FRAME_MAX    65536
#define PROTO_PAYLOAD_MAX  (PROTO_FRAME_MAX - PROTO_HEADER_SIZE)

enum proto_type {
	PROTO_REQUEST = 1,
	PROTO_REPLY = 2,
	PROTO_PROGRESS = 3,
	PROTO_ERROR = 4,
	PROTO_END = 5,
};

/* Error codes carried in ERROR frames; agentctl maps them to exit codes. */
enum proto_error {
	PROTO_E_PROTOCOL,   /* malformed frame, wrong version, bad request shape */
	PROTO_E_USAGE,      /* unknown command, bad arguments (exit 2) */
	PROTO_E_REFUSED,    /* peer lacks the rights for a mutating command (exit 4) */
	PROTO_E_FAILED,     /* the command ran and what it asked about is not ok (exit 1) */
	PROTO_E_LIMIT,      /* too many clients, idle timeout, queue full */
	PROTO_E_INTERNAL,   /* out of memory and the like */
};

struct proto_frame {
	unsigned version;
	enum proto_type type;
	const char *payload;   /* points into the decoded buffer, not NUL-terminated */
	size_t len;
};

/* Decodes the frame at the start of buf[0..len).
 * Returns the frame's total size (> 0) and fills *f;
 *   0                when buf holds only part of a frame (read more);
 *   -EBADMSG         not a frame: bad magic or unknown type;
 *   -EPROTONOSUPPORT other protocol version: only f->version is filled;
 *   -EMSGSIZE        the header announces more than PROTO_FRAME_MAX.
 * The header alone decides errors, so a reader never buffers an oversize frame. */
int proto_decode(const void *buf, size_t len, struct proto_frame *f);

/* Writes one frame into buf[0..cap).  Returns its size, -EMSGSIZE if the
 * payload exceeds PROTO_PAYLOAD_MAX or cap, -EINVAL for an unknown type. */
int proto_encode(void *buf, size_t cap, enum proto_type type, const void *payload, size_t len);

/* Encodes `obj` (may be NULL: empty payload) as a frame in a malloc'd buffer
 * the caller frees.  Returns 0, -ENOMEM or -EMSGSIZE. */
int proto_encode_json(enum proto_type type, const cJSON *obj, uint8_t **out, size_t *outlen);

/* Returns a malloc'd {"command": command, "args": args} (takes `args`, which
 * may be NULL for {}), or NULL on allocation failure. */
cJSON *proto_request_new(const char *command, cJSON *args);

/* Parses a REQUEST payload.  On success returns 0, *root owns the tree and
 * *command and *args point into it.  On failure returns -EBADMSG and *why says
 * what was wrong (a static string). */
int proto_request_parse(const char *payload, size_t len, cJSON **root,
			const char **command, const cJSON **args, const char **why);

/* Returns a new {"error": NAME, "message": message} or NULL. */
cJSON *proto_error_new(enum proto_error code, const char *message);

/* Parses an ERROR payload: 0 with *code and *message (malloc'd) set, or -EBADMSG. */
int proto_error_parse(const char *payload, size_t len, enum proto_error *code, char **message);

const char *proto_error_name(enum proto_error code);
const char *proto_type_name(enum proto_type type);

#endif
