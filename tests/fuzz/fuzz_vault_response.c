/* libFuzzer: a Vault answer (1 byte of kind, 2 bytes of status, then the body)
 * through vault_reply_from_http and vault_seal_parse: never crash, always a
 * message for an error, never an error-free reply for a 4xx/5xx, and a parsed
 * seal status always within its documented bounds (NUL-terminated strings). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	bool health = data[0] & 1;
	long status = 100 + (long)((data[1] << 8 | data[2]) % 500);
	size_t len = size - 3;
	char *body = malloc(len + 1);
	if (!body)
		return 0;
	memcpy(body, data + 3, len);
	body[len] = '\0';
	struct vault_reply r;
	cJSON *json = NULL;
	char msg[512];
	vault_reply_from_http(&r, 0, status, body, len, "", &json, msg, sizeof msg);
	if (r.err && (!r.message || !r.message[0]))
		abort();
	if (status >= 400 && r.err == 0)
		abort();
	if (json) {
		struct vault_seal s;
		memset(&s, 0x55, sizeof s);
		if (vault_seal_parse(json, health, &s) == 0 &&
		    (memchr(s.type, '\0', sizeof s.type) == NULL || memchr(s.version, '\0', sizeof s.version) == NULL))
			abort();
	}
	cJSON_Delete(json);
	free(body);
	return 0;
}
