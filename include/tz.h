/* tz — IANA time zones from TZif files (RFC 8536), with Go's time-package
 * semantics, so that cron computes exactly what robfig/cron (and so the
 * Kubernetes CronJob controller) computes.
 *
 * tz_parse is pure; tz_load is the one I/O entry point (it reads
 * $TZDIR/NAME, default /usr/share/zoneinfo/NAME).  No logging.
 */
#ifndef AGENTD_TZ_H
#define AGENTD_TZ_H

#include <stddef.h>
#include <stdint.h>

struct tz;	/* opaque, immutable once built */

/* Zone NAME from DATA (LEN bytes of a TZif file, version 1 to 4; for
 * version 2+ the 64-bit data and the POSIX TZ footer are used, the footer
 * extends the rules past the last transition).  0 and *ret (free with
 * tz_free), -EINVAL with *errmsg (malloc'd, caller frees) for bad data,
 * -ENOMEM. */
int tz_parse(const char *name, const void *data, size_t len, struct tz **ret, char **errmsg);

/* Load zone NAME: "UTC" (and "") is built in; "Local" reads /etc/localtime
 * (UTC if absent); anything else is an IANA name read from $TZDIR or
 * /usr/share/zoneinfo.  Names with "..", a leading '/' or '\\' are refused
 * (as Go's time.LoadLocation).  0 and *ret; -ENOENT (unknown zone) or
 * -EINVAL (bad name or data) with *errmsg "unknown time zone NAME" or
 * similar; -ENOMEM. */
int tz_load(const char *name, struct tz **ret, char **errmsg);

/* A new UTC zone (free with tz_free); NULL on ENOMEM. */
struct tz *tz_utc(void);

/* The name the zone was loaded under (borrowed). */
const char *tz_name(const struct tz *z);

/* Go's Location.lookup: the UTC offset (seconds east) in force at instant T
 * (Unix seconds), and the instants [*start, *end) of that period as Go
 * reports them (start/end may be NULL).  Z NULL means UTC. */
int32_t tz_lookup(const struct tz *z, int64_t t, int64_t *start, int64_t *end);

/* Broken-down local time of T in Z (NULL = UTC). */
struct tz_civil {
	int64_t year;
	int month;	/* 1-12 */
	int day;	/* 1-31 */
	int hour, minute, second;
	int weekday;	/* 0 = Sunday */
	int32_t offset;	/* seconds east of UTC */
};
void tz_civil(const struct tz *z, int64_t t, struct tz_civil *out);

/* Go's time.Date(year, month, day, hour, min, sec, 0, Z): out-of-range
 * fields are normalised (month 13 = January next year, day 0 = last day of
 * the previous month ...); a wall time that does not exist or exists twice
 * around a transition resolves as Go resolves it.  Returns Unix seconds. */
int64_t tz_date(const struct tz *z, int64_t year, int64_t month, int64_t day,
                int64_t hour, int64_t minute, int64_t second);

/* Frees Z; NULL is a no-op.  Returns NULL. */
struct tz *tz_free(struct tz *z);

#endif
