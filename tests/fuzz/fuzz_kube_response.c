/* libFuzzer: an API server's answer (2 bytes of status, then the body) through
 * kube_result_from_http: never crash, always a message for an error, and never
 * an error-free result for a 4xx/5xx. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	long status = 100 + (long)((data[0] << 8 | data[1]) % 500);
	char *body = malloc(size - 2 + 1);
	if (!body)
		return 0;
	memcpy(body, data + 2, size - 2);
	body[size - 2] = '\0';
	struct kube_result r;
	cJSON *json = NULL;
	char msg[512];
	kube_result_from_http(&r, 0, status, body, size - 2, "", true, &json, msg, sizeof msg);
	if ((status >= 400 && r.err == 0) || (r.err && (!r.message[0] || !r.reason[0])))
		abort();
	cJSON_Delete(json);
	free(body);
	return 0;
}
