/* clock.c — time helpers shared by status, supervisor and the CLI. */
#include <stdio.h>
#include <time.h>

#include "clock.h"

static uint64_t
clock_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
clock_now_usec(void)
{
	return clock_usec(CLOCK_REALTIME);
}

uint64_t
clock_mono_usec(void)
{
	return clock_usec(CLOCK_MONOTONIC);
}

char *
clock_format_rfc3339(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / 1000000u);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "1970-01-01T00:00:00Z");
	return buf;
}
