/* ctl_cron_next.c — `agentctl cron-next`: the next fire times of a CronJob
 * schedule, as the Kubernetes controller computes them, in RFC 3339 in the
 * schedule's zone.  Exit 1 when the schedule is invalid or never fires. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "ctl.h"
#include "rfc3339.h"
#include "tz.h"

#define CRON_NEXT_MAX_COUNT 1000

static int
ctl_cron_next(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *spec = NULL, *zone = "Local", *from_s = NULL;
	struct cron_schedule *s = NULL;
	struct tz *z = NULL;
	char *err = NULL, *end, buf[RFC3339_MAX];
	long count = 5, k;
	int64_t t, next;
	cJSON *out = NULL;
	int i, r, rc = CTL_EXIT_OK;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "--tz") == 0 || strcmp(a, "--from") == 0 || strcmp(a, "--count") == 0) && i + 1 < argc) {
			const char *v = argv[++i];

			if (a[2] == 't')
				zone = v;
			else if (a[2] == 'f')
				from_s = v;
			else {
				errno = 0;
				count = strtol(v, &end, 10);
				if (errno || *end || count < 1 || count > CRON_NEXT_MAX_COUNT) {
					fprintf(stderr, "agentctl: cron-next: --count must be 1..%d, not '%s'\n",
						CRON_NEXT_MAX_COUNT, v);
					return CTL_EXIT_USAGE;
				}
			}
		} else if (a[0] == '-' && a[1] && !spec) {
			fprintf(stderr, "agentctl: cron-next: unknown option '%s'\n", a);
			return ctl_usage(cmd);
		} else if (!spec) {
			spec = a;
		} else {
			return ctl_usage(cmd);
		}
	}
	if (!spec)
		return ctl_usage(cmd);
	if (from_s) {
		if (rfc3339_parse(from_s, &t) < 0) {
			fprintf(stderr, "agentctl: cron-next: --from '%s' is not an RFC 3339 time (e.g. 2024-01-31T12:00:00Z)\n",
				from_s);
			return CTL_EXIT_USAGE;
		}
	} else {
		t = (int64_t)time(NULL);
	}
	r = cron_parse(spec, &s, &err);
	if (r == 0) {
		/* A TZ=/CRON_TZ= prefix wins over --tz, as in the CronJob controller. */
		if (cron_zone_name(s))
			zone = cron_zone_name(s);
		r = tz_load(zone, &z, &err);
	}
	if (r < 0) {
		fprintf(stderr, "agentctl: cron-next: invalid schedule '%s': %s\n", spec, err ? err : strerror(-r));
		free(err);
		cron_free(s);
		return CTL_EXIT_NOT_OK;
	}
	if (c->json)
		out = cJSON_CreateArray();
	for (k = 0; k < count; k++) {
		r = cron_next(s, z, t, &next);
		if (r < 0) {
			if (k == 0) {
				fprintf(stderr, "agentctl: cron-next: '%s' never fires (no time within five years of %s)\n",
					spec, rfc3339_format(t, tz_lookup(z, t, NULL, NULL), buf, sizeof(buf)));
				rc = CTL_EXIT_NOT_OK;
			}
			break;
		}
		rfc3339_format(next, tz_lookup(z, next, NULL, NULL), buf, sizeof(buf));
		if (out)
			cJSON_AddItemToArray(out, cJSON_CreateString(buf));
		else
			printf("%s\n", buf);
		t = next;
	}
	if (out) {
		ctl_print_json(c, out);
		cJSON_Delete(out);
	}
	cron_free(s);
	tz_free(z);
	return rc;
}

const struct ctl_cmd ctl_cron_next_cmd = {
	.name = "cron-next",
	.usage = "SPEC [--tz ZONE] [--from TIME] [--count N]",
	.summary = "offline: next fire times of a CronJob schedule (RFC 3339)",
	.flags = CTL_OFFLINE,
	.exec = ctl_cron_next,
};
