/* cron — CronJob schedules exactly as Kubernetes evaluates them (pure: no
 * I/O, no logging).
 *
 * Kubernetes parses .spec.schedule with robfig/cron v3 ParseStandard; this
 * module reproduces it: 5 fields (minute hour day-of-month month
 * day-of-week; names jan-dec/sun-sat, `?` = `*`, lists, ranges, steps,
 * `a/n` = `a-max/n`), descriptors @yearly @annually @monthly @weekly @daily
 * @midnight @hourly, `@every DURATION` (a constant delay — accepted by
 * ParseStandard and so by the API server, though not a calendar schedule),
 * and an optional `TZ=ZONE ` / `CRON_TZ=ZONE ` prefix.  Next-time search,
 * including DST gaps and overlaps, follows robfig's SpecSchedule.Next on top
 * of Go's time arithmetic (see tz.h).
 *
 * Time zones: cron_parse only records the prefix zone's name.  The caller
 * loads the effective zone — the prefix zone if cron_zone_name() is not
 * NULL, else the CronJob's .spec.timeZone, else the controller's local zone —
 * with tz_load (a load failure of the prefix zone is a parse error, as in
 * robfig) and passes it to the functions below.  A NULL zone means UTC.
 */
#ifndef AGENTD_CRON_H
#define AGENTD_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "tz.h"

struct cron_schedule;	/* opaque */

/* Parse SPEC.  0 and *ret (free with cron_free), or -EINVAL with *errmsg
 * (malloc'd, caller frees) naming what was wrong, robfig's wording, or
 * -ENOMEM. */
int cron_parse(const char *spec, struct cron_schedule **ret, char **errmsg);

/* Zone named by a TZ=/CRON_TZ= prefix (borrowed), or NULL. */
const char *cron_zone_name(const struct cron_schedule *s);

/* True for `@every` schedules (zone-independent constant delay). */
bool cron_is_every(const struct cron_schedule *s);

/* First fire time strictly after FROM (Unix seconds; robfig rounds FROM
 * down to the second, then searches from the next second) in ZONE.
 * 0 and *next, or -ENOENT when none exists within five years (robfig's
 * search limit: "never fires", e.g. Feb 30). */
int cron_next(const struct cron_schedule *s, const struct tz *zone, int64_t from, int64_t *next);

/* Latest fire time ≤ NOW, searching back at most ten years.  0 and *prev,
 * or -ENOENT. */
int cron_prev(const struct cron_schedule *s, const struct tz *zone, int64_t now, int64_t *prev);

enum cron_missed {
	CRON_MISSED_NONE,	/* no start missed */
	CRON_MISSED_FEW,	/* 1..100 */
	CRON_MISSED_MANY,	/* > 100: the controller emits TooManyMissedTimes */
};

struct cron_recent {
	int64_t earliest;	/* last schedule (or creation), raised by the deadline */
	bool has_most_recent;
	int64_t most_recent;	/* latest unmet fire time in (earliest, now] */
	int64_t missed_count;	/* the controller's estimate; 0 when none */
	enum cron_missed missed;
};

/* The CronJob controller's mostRecentScheduleTime (kubernetes
 * pkg/controller/cronjob/utils.go), quirks included: the missed count is
 * estimated from the gap between the first two fire times, so irregular
 * schedules can report no most recent time although one exists.
 * CREATION is metadata.creationTimestamp; LAST_SCHEDULE status.lastScheduleTime
 * (ignored unless HAS_LAST); DEADLINE spec.startingDeadlineSeconds (ignored
 * when < 0), applied only when APPLY_DEADLINE.
 * 0 and *out, or -EDOM when the schedule yields fire times less than a
 * second apart or none at all (the controller's "invalid schedule"). */
int cron_most_recent(const struct cron_schedule *s, const struct tz *zone, int64_t creation,
                     bool has_last, int64_t last_schedule, int64_t deadline, bool apply_deadline,
                     int64_t now, struct cron_recent *out);

/* Frees S; NULL is a no-op.  Returns NULL. */
struct cron_schedule *cron_free(struct cron_schedule *s);

#endif
