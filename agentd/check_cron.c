/* check_cron — cron-NAME: every non-suspended CronJob fires on time and its
 * last finished run succeeded (pure; see checks.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "cron.h"
#include "jpath.h"
#include "rfc3339.h"

static bool
time_of(const char *s, int64_t *t)
{
	return s && rfc3339_parse(s, t) == 0;
}

static const char *
fmt(int64_t t, char *buf)
{
	return rfc3339_format(t, 0, buf, RFC3339_MAX);
}

static bool
while_sealed(const struct checks_input *in, int64_t t)
{
	for (size_t i = 0; i < in->n_sealed; i++)
		if (in->sealed[i].from <= t && (in->sealed[i].to == 0 || t <= in->sealed[i].to))
			return true;
	return false;
}

/* The schedule and zone of CJ; on failure ERR says why.  *zone NULL = UTC. */
static int
schedule_of(const struct checks_input *in, const cJSON *cj, struct cron_schedule **s, const struct tz **zone,
	    char *err, size_t errsize)
{
	const cJSON *spec = jpath_get(cj, "spec");
	const char *spec_s = jpath_str(spec, "schedule"), *zn;
	char *msg = NULL;
	int r;

	if (!spec_s) {
		snprintf(err, errsize, "has no spec.schedule");
		return -EINVAL;
	}
	r = cron_parse(spec_s, s, &msg);
	if (r < 0) {
		snprintf(err, errsize, "schedule \"%s\" does not parse: %s", spec_s, msg ? msg : strerror(-r));
		free(msg);
		return r;
	}
	zn = cron_zone_name(*s) ? cron_zone_name(*s) : jpath_str(spec, "timeZone");
	*zone = NULL;
	if (!zn || !*zn || strcmp(zn, "UTC") == 0 || strcmp(zn, "Etc/UTC") == 0)
		return 0;
	if (!in->load_zone) {
		snprintf(err, errsize, "time zone %s cannot be loaded here", zn);
		r = -ENOENT;
	} else {
		r = in->load_zone(in->zone_data, zn, zone, err, errsize);
	}
	if (r < 0)
		*s = cron_free(*s);
	return r;
}

static bool
owned_by(const cJSON *job, const char *cj)
{
	const cJSON *ref;

	cJSON_ArrayForEach(ref, jpath_get(jpath_get(job, "metadata"), "ownerReferences"))
		if (jpath_str(ref, "kind") && strcmp(jpath_str(ref, "kind"), "CronJob") == 0 && jpath_str(ref, "name") &&
		    strcmp(jpath_str(ref, "name"), cj) == 0)
			return true;
	return false;
}

/* A finished Job: when, and whether it failed (with its condition). */
static bool
finished(const cJSON *job, int64_t *when, const cJSON **failed)
{
	const cJSON *c;

	*failed = NULL;
	cJSON_ArrayForEach(c, jpath_get(jpath_get(job, "status"), "conditions")) {
		const char *t = jpath_str(c, "type"), *s = jpath_str(c, "status");

		if (!t || !s || strcmp(s, "True") != 0 || (strcmp(t, "Complete") != 0 && strcmp(t, "Failed") != 0))
			continue;
		if (strcmp(t, "Failed") == 0)
			*failed = c;
		if (!time_of(jpath_str(jpath_get(job, "status"), "completionTime"), when) && !time_of(jpath_str(c, "lastTransitionTime"), when))
			*when = 0;
		return true;
	}
	return false;
}

static bool
too_many_missed_event(const struct checks_input *in, const char *ns, const char *name, int64_t since)
{
	const cJSON *ev;
	int64_t t;

	cJSON_ArrayForEach(ev, in->events) {
		const cJSON *io = jpath_get(ev, "involvedObject");

		if (jpath_str(ev, "reason") && strcmp(jpath_str(ev, "reason"), "TooManyMissedTimes") == 0 && jpath_str(io, "kind") &&
		    strcmp(jpath_str(io, "kind"), "CronJob") == 0 && jpath_str(io, "name") && strcmp(jpath_str(io, "name"), name) == 0 &&
		    jpath_str(jpath_get(ev, "metadata"), "namespace") && strcmp(jpath_str(jpath_get(ev, "metadata"), "namespace"), ns) == 0 &&
		    time_of(jpath_str(ev, "lastTimestamp"), &t) && t >= since)
			return true;
	}
	return false;
}

static void
last_run(const struct checks_input *in, const char *check, const char *ns, const char *name, bool has_last,
	 int64_t last, int64_t next, bool has_next, struct check_results *out)
{
	const cJSON *job, *newest = NULL, *newest_failed = NULL;
	int64_t newest_t = 0;
	char b1[RFC3339_MAX], b2[RFC3339_MAX], nextw[64] = "";

	cJSON_ArrayForEach(job, in->jobs) {
		const cJSON *failed;
		const char *jns = jpath_str(jpath_get(job, "metadata"), "namespace");
		int64_t t;

		if (!jns || strcmp(jns, ns) != 0 || !owned_by(job, name) || !finished(job, &t, &failed))
			continue;
		if (!newest || t >= newest_t) {
			newest = job;
			newest_t = t;
			newest_failed = failed;
		}
	}
	if (has_next)
		snprintf(nextw, sizeof(nextw), "; next at %s", fmt(next, b2));
	if (newest_failed) {
		const char *jname = jpath_str(jpath_get(newest, "metadata"), "name");
		int64_t started;

		if (!time_of(jpath_str(jpath_get(newest, "status"), "startTime"), &started) &&
		    !time_of(jpath_str(jpath_get(newest, "metadata"), "creationTimestamp"), &started))
			started = newest_t;
		if (while_sealed(in, started) || while_sealed(in, newest_t))
			check_results_add(out, check, false, STATUS_WARNING,
					  "CronJob %s/%s: its last run, Job %s, failed (%s) while Vault was sealed: the agent got no secrets (fix: agentctl unseal; the next run retries%s)",
					  ns, name, jname ? jname : "?", jpath_str(newest_failed, "reason") ? jpath_str(newest_failed, "reason") : "Failed",
					  nextw);
		else
			check_results_add(out, check, false, STATUS_WARNING,
					  "CronJob %s/%s: its last run, Job %s, failed (%s: %s) (fix: read kubectl logs -n %s job/%s%s)",
					  ns, name, jname ? jname : "?",
					  jpath_str(newest_failed, "reason") ? jpath_str(newest_failed, "reason") : "Failed",
					  jpath_str(newest_failed, "message") ? jpath_str(newest_failed, "message") : "no message", ns,
					  jname ? jname : "?", nextw);
		return;
	}
	if (!has_last && !newest)
		check_results_add(out, check, true, STATUS_CRITICAL, "CronJob %s/%s has not been due yet%s", ns, name,
				  nextw);
	else if (newest)
		check_results_add(out, check, true, STATUS_CRITICAL, "CronJob %s/%s fired on time%s%s, last run %s succeeded%s",
				  ns, name, has_last ? " (last at " : "", has_last ? fmt(last, b1) : "",
				  jpath_str(jpath_get(newest, "metadata"), "name") ? jpath_str(jpath_get(newest, "metadata"), "name") : "?", nextw);
	else
		check_results_add(out, check, true, STATUS_CRITICAL, "CronJob %s/%s fired on time (last at %s)%s", ns,
				  name, fmt(last, b1), nextw);
}

static void
one(const struct checks_input *in, const cJSON *cj, struct check_results *out)
{
	const cJSON *md = jpath_get(cj, "metadata"), *spec = jpath_get(cj, "spec"), *dl;
	const char *name = jpath_str(md, "name"), *ns = jpath_str(md, "namespace");
	struct cron_schedule *s = NULL;
	const struct tz *zone;
	struct cron_recent rec;
	int64_t creation = 0, last = 0, expected, next = 0;
	bool has_last, has_next, due;
	char check[300], err[256], b1[RFC3339_MAX], b2[RFC3339_MAX];

	if (!name || !ns || cJSON_IsTrue(jpath_get(spec, "suspend")))
		return;
	snprintf(check, sizeof(check), "cron-%s", name);
	if (schedule_of(in, cj, &s, &zone, err, sizeof(err)) < 0) {
		check_results_add(out, check, false, STATUS_CRITICAL,
				  "CronJob %s/%s %s: it never fires (fix: correct its schedule or timeZone in the values override)",
				  ns, name, err);
		return;
	}
	time_of(jpath_str(md, "creationTimestamp"), &creation);
	has_last = time_of(jpath_str(jpath_get(cj, "status"), "lastScheduleTime"), &last);
	has_next = cron_next(s, zone, in->now, &next) == 0;
	due = cron_prev(s, zone, in->now - in->grace, &expected) == 0 && expected > creation;
	dl = jpath_get(spec, "startingDeadlineSeconds");
	if (cron_most_recent(s, zone, creation, has_last, last, cJSON_IsNumber(dl) ? (int64_t)dl->valuedouble : -1,
			     cJSON_IsNumber(dl), in->now, &rec) == 0 &&
	    rec.missed == CRON_MISSED_MANY) {
		check_results_add(out, check, false, STATUS_CRITICAL,
				  "CronJob %s/%s missed more than 100 start times since %s (TooManyMissedTimes): was the CronJob controller stopped? (fix: check the controller manager; set startingDeadlineSeconds)",
				  ns, name, fmt(rec.earliest, b1));
	} else if (due && (!has_last || last < expected)) {
		bool sealed = while_sealed(in, expected);

		if (!has_last)
			check_results_add(out, check, false, STATUS_CRITICAL,
					  "CronJob %s/%s never fired: its first run was due at %s%s (fix: %s)", ns, name,
					  fmt(expected, b1), sealed ? ", while Vault was sealed" : "",
					  sealed ? "agentctl unseal" : "check that the CronJob controller runs (kube-controller-manager)");
		else
			check_results_add(out, check, false, STATUS_CRITICAL,
					  "CronJob %s/%s did not fire at %s (last fired %s, grace %llds)%s (fix: %s)", ns,
					  name, fmt(expected, b1), fmt(last, b2), (long long)in->grace,
					  sealed ? ", while Vault was sealed" : "",
					  sealed ? "agentctl unseal" : "check that the CronJob controller runs (kube-controller-manager)");
	} else if (too_many_missed_event(in, ns, name, has_last ? last : creation)) {
		check_results_add(out, check, false, STATUS_CRITICAL,
				  "CronJob %s/%s: the controller reports TooManyMissedTimes (fix: check the controller manager; set startingDeadlineSeconds)",
				  ns, name);
	} else {
		last_run(in, check, ns, name, has_last, last, next, has_next, out);
	}
	cron_free(s);
}

void
check_cron(const struct checks_input *in, struct check_results *out)
{
	const cJSON *cj;

	cJSON_ArrayForEach(cj, in->cronjobs)
		one(in, cj, out);
}

int
checks_cron_deadline(const struct checks_input *in, int64_t *when)
{
	const cJSON *cj;
	bool any = false;
	int64_t best = 0;

	cJSON_ArrayForEach(cj, in->cronjobs) {
		struct cron_schedule *s = NULL;
		const struct tz *zone;
		char err[256];
		int64_t f;

		if (cJSON_IsTrue(jpath_get(jpath_get(cj, "spec"), "suspend")) || schedule_of(in, cj, &s, &zone, err, sizeof(err)) < 0)
			continue;
		if (cron_next(s, zone, in->now - in->grace, &f) == 0 && (!any || f + in->grace < best)) {
			best = f + in->grace;
			any = true;
		}
		cron_free(s);
	}
	if (!any)
		return -ENOENT;
	*when = best;
	return 0;
}
