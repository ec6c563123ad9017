/* libFuzzer harness: cron_parse on arbitrary specs, then next/prev/most-recent
 * in UTC and in a DST zone; nothing may crash, hang or leak, and a next fire
 * time must be strictly after its start. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz *ny;
	static int loaded;
	struct cron_schedule *s = NULL;
	struct cron_recent rec;
	char *spec, *err = NULL;
	int64_t from = 1341846000, n, p;	/* 2012-07-09T15:00:00Z */

	if (!loaded) {
		loaded = 1;
		if (tz_load("America/New_York", &ny, NULL) < 0)
			ny = NULL;
	}
	if (size > 256)
		return 0;
	spec = malloc(size + 1);
	if (!spec)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	if (cron_parse(spec, &s, &err) == 0) {
		if (cron_next(s, NULL, from, &n) == 0 && n <= from)
			abort();
		if (cron_next(s, ny, from, &n) == 0 && n <= from)
			abort();
		if (cron_prev(s, ny, from, &p) == 0 && p > from)
			abort();
		(void)cron_most_recent(s, NULL, from - 86400, 0, 0, 60, 1, from, &rec);
		cron_free(s);
	} else if (!err) {
		abort();
	}
	free(err);
	free(spec);
	return 0;
}
