/* libFuzzer: an API object (JSON) through kstatus_compute, and its timestamps
 * through rfc3339_parse: never crash, always a known status, NUL-terminated
 * reason/message/container, and a parsed time that formats and parses back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kstatus.h"
#include "rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	int64_t t, back;
	if (rfc3339_parse(text, &t) == 0) {
		char buf[RFC3339_MAX];
		if (rfc3339_parse(rfc3339_format(t, 0, buf, sizeof buf), &back) != 0 || back != t)
			abort();
	}

	cJSON *obj = cJSON_ParseWithLength(text, size);
	struct kstatus k;
	kstatus_compute(obj, 1700000000, &k);
	if (!kstatus_status_name(k.status) || !memchr(k.reason, '\0', sizeof k.reason) ||
	    !memchr(k.message, '\0', sizeof k.message) || !memchr(k.container, '\0', sizeof k.container))
		abort();
	cJSON_Delete(obj);
	free(text);
	return 0;
}
