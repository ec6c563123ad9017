/* libFuzzer harness: tz_parse on arbitrary TZif bytes, then lookups and
 * conversions across a wide range of instants. */
#include <stdint.h>
#include <stdlib.h>

#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tz *z = NULL;
	struct tz_civil c;
	char *err = NULL;
	int64_t t;

	if (tz_parse("fuzz", data, size, &z, &err) == 0) {
		for (t = -4000000000LL; t < 8000000000LL; t += 123456789)
			tz_civil(z, t, &c);
		(void)tz_date(z, 2024, 3, 10, 2, 30, 0);
		tz_free(z);
	}
	free(err);
	return 0;
}
