/* libFuzzer: values (before the first NUL byte, if any) and one manifest file
 * (after it) through manifest_values + manifest_render + manifest_format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nul = memchr(text, '\0', size);
	struct manifest_file vf = { "values.yaml", "a: {b: 1, s: x, m: {k: v}, l: [1]}\n", 35 };
	struct manifest_file mf = { "00-fuzz.yaml", text, size };
	if (nul) {
		vf.text = text;
		vf.len = (size_t)(nul - text);
		mf.text = nul + 1;
		mf.len = size - vf.len - 1;
	}
	cJSON *values = NULL;
	char *err = NULL;
	if (manifest_values(&vf, NULL, &values, &err) < 0) {
		free(err);
		return 0;
	}
	struct kinds *k = NULL;
	struct manifest_stack *s = NULL;
	if (kinds_new(&k) == 0 && manifest_render(&mf, 1, values, k, &s, &err) == 0) {
		if (s->count != 1 || (s->phases[0].error && s->phases[0].count))
			abort();
		free(manifest_format(s));
		manifest_stack_free(s);
	} else {
		free(err);
	}
	kinds_free(k);
	cJSON_Delete(values);
	return 0;
}
