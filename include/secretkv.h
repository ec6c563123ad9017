/* secretkv — the pure parts of `agentctl secret`: KEY=VALUE lines, agent and key
 * names, the KV v2 paths of an agent's entry, base64 of Kubernetes Secret data,
 * and the hash comparison that verifies a copy without showing the value.
 *
 * No I/O, no logging.  Values are secrets: functions that produce one write it to
 * a struct secret (secret.h); none of them copies a value into a message. */
#ifndef AGENTD_SECRETKV_H
#define AGENTD_SECRETKV_H

#include <stdbool.h>
#include <stddef.h>

#include "secret.h"

#define SECRETKV_HASH_LEN 32	/* SHA-256 */
#define SECRETKV_NAME_MAX 63
#define SECRETKV_KEY_MAX 128

/* An agent name: 1..63 of [a-z0-9-_.], starting with a letter or digit (a Kubernetes
 * name, so --as defaults to the Secret's own name). */
bool secretkv_valid_name(const char *name);

/* A key name: a shell variable name (the injector template writes `export KEY=...`). */
bool secretkv_valid_key(const char *key, size_t len);

/* Splits one line "KEY=VALUE" (a trailing "\n" or "\r\n" is not part of the value).
 * 0 with *klen and the value's offset/length, or: -ENODATA for an empty line or one
 * starting with '#' (skip it), -EINVAL no '=' or a bad key name.  The value is
 * never looked at beyond its bounds. */
int secretkv_split(const char *line, size_t len, size_t *klen, size_t *voff, size_t *vlen);

/* "MOUNT/data/PREFIXNAME" (KIND "data") or "MOUNT/metadata/PREFIXNAME" ("metadata");
 * NAME NULL gives the prefix itself (for a LIST).  -EINVAL for an invalid name, mount
 * or prefix, -ENAMETOOLONG. */
int secretkv_path(const char *mount, const char *prefix, const char *kind, const char *name, char *buf,
		  size_t size);

/* Decodes standard base64 (Kubernetes Secret `data`) into a new secret *out.
 * -EINVAL for bad characters or length, -ENOMEM. */
int secretkv_b64_decode(const char *in, size_t len, struct secret **out);

/* SHA-256 of LEN bytes.  0, or -EIO if the digest failed. */
int secretkv_hash(const void *buf, size_t len, unsigned char out[SECRETKV_HASH_LEN]);

/* Whether A and B (LEN bytes each) hash equal; constant-time on the digests. */
bool secretkv_same(const void *a, size_t alen, const void *b, size_t blen);

#endif
