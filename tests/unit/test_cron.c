/* Unit tests for cron, tz and rfc3339: every row of both TSVs under
 * ../shared/fixtures/cron, plus targeted parser, DST and controller cases. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cron.h"
#include "fixtures.h"
#include "rfc3339.h"
#include "tz.h"

#define UNUSED __attribute__((unused))

static int64_t
ts(const char *s)
{
	int64_t t;

	if (rfc3339_parse(s, &t) != 0)
		fail_msg("bad timestamp %s", s);
	return t;
}

/* Split LINE in place on tabs into at most N fields; returns the count. */
static size_t
split_tabs(char *line, char **f, size_t n)
{
	size_t k = 0;
	char *p = line;

	while (k < n) {
		f[k++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p++ = '\0';
	}
	return k;
}

static char *
read_fixture(const char *rel)
{
	char dir[2048], path[4096];
	char *text;

	if (fixtures_dir(dir, sizeof(dir)) != 0)
		fail_msg("shared/fixtures not found (set AGENTD_FIXTURES)");
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	text = fixtures_read(path, NULL);
	if (!text)
		fail_msg("cannot read %s", path);
	return text;
}

/* Parse SPEC and load its effective zone (prefix wins over DEFAULT_ZONE). */
static int
schedule_load(const char *spec, const char *default_zone, struct cron_schedule **s, struct tz **z, char **err)
{
	int r = cron_parse(spec, s, err);

	if (r < 0)
		return r;
	r = tz_load(cron_zone_name(*s) ? cron_zone_name(*s) : default_zone, z, err);
	if (r < 0)
		*s = cron_free(*s);
	return r;
}

static void
test_vectors(void **state UNUSED)
{
	char *text = read_fixture("cron/vectors.tsv"), *line, *save = NULL;
	size_t rows = 0, bad = 0;
	bool header = true;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4];
		struct cron_schedule *s = NULL;
		struct tz *z = NULL;
		char *err = NULL, got[RFC3339_MAX] = "", want[RFC3339_MAX];
		int64_t next = 0;
		int r;
		bool ok;

		if (header) {
			header = false;
			continue;
		}
		if (split_tabs(line, f, 4) != 4)
			fail_msg("malformed vectors.tsv row: %s", line);
		rows++;
		r = schedule_load(f[0], f[1], &s, &z, &err);
		if (strcmp(f[3], "ERROR") == 0) {
			ok = r < 0 && err && *err;
		} else if (r < 0) {
			ok = false;
			snprintf(got, sizeof(got), "parse error");
		} else {
			r = cron_next(s, z, ts(f[2]), &next);
			if (strcmp(f[3], "NONE") == 0)
				ok = r == -ENOENT;
			else
				ok = r == 0 && next == ts(f[3]);
			if (r == 0)
				rfc3339_format(next, tz_lookup(z, next, NULL, NULL), got, sizeof(got));
		}
		if (!ok) {
			bad++;
			snprintf(want, sizeof(want), "%s", f[3]);
			print_message("MISMATCH '%s' tz=%s from=%s: want %s, got %s (r=%d%s%s)\n", f[0], f[1], f[2],
				      want, got, r, err ? ", " : "", err ? err : "");
		}
		free(err);
		cron_free(s);
		tz_free(z);
	}
	free(text);
	print_message("cron vectors: %zu rows, %zu mismatches\n", rows, bad);
	assert_true(rows >= 50);
	assert_int_equal(bad, 0);
}

static void
test_k8s_most_recent(void **state UNUSED)
{
	char *text = read_fixture("cron/k8s_most_recent.tsv"), *line, *save = NULL;
	size_t rows = 0, bad = 0;
	bool header = true;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		static const char *const missed_names[] = { "none", "few", "many" };
		char *f[10];
		struct cron_schedule *s = NULL;
		struct tz *z = NULL;
		struct cron_recent rec;
		char *err = NULL;
		int r;
		bool ok;

		if (header) {
			header = false;
			continue;
		}
		if (split_tabs(line, f, 10) != 10)
			fail_msg("malformed k8s_most_recent.tsv row: %s", line);
		rows++;
		if (schedule_load(f[0], f[1], &s, &z, &err) != 0)
			fail_msg("row %zu: schedule %s does not parse: %s", rows, f[0], err ? err : "?");
		r = cron_most_recent(s, z, ts(f[2]), strcmp(f[3], "-") != 0, strcmp(f[3], "-") ? ts(f[3]) : 0,
				     strcmp(f[4], "-") ? atoll(f[4]) : -1, strcmp(f[5], "yes") == 0, ts(f[6]), &rec);
		if (strcmp(f[8], "ERROR") == 0) {
			ok = r == -EDOM;
		} else {
			ok = r == 0 && rec.earliest == ts(f[7]) && strcmp(missed_names[rec.missed], f[9]) == 0;
			if (strcmp(f[8], "NONE") == 0)
				ok = ok && !rec.has_most_recent;
			else
				ok = ok && rec.has_most_recent && rec.most_recent == ts(f[8]);
		}
		if (!ok) {
			char e[RFC3339_MAX], m[RFC3339_MAX];

			bad++;
			print_message("MISMATCH row %zu '%s': r=%d earliest=%s most_recent=%s missed=%s; want %s %s %s\n",
				      rows, f[0], r, rfc3339_format(rec.earliest, 0, e, sizeof(e)),
				      rec.has_most_recent ? rfc3339_format(rec.most_recent, 0, m, sizeof(m)) : "NONE",
				      r == 0 ? missed_names[rec.missed] : "-", f[7], f[8], f[9]);
		}
		free(err);
		cron_free(s);
		tz_free(z);
	}
	free(text);
	print_message("k8s most-recent: %zu rows, %zu mismatches\n", rows, bad);
	assert_true(rows >= 5);
	assert_int_equal(bad, 0);
}

static void
expect_parse_error(const char *spec, const char *fragment)
{
	struct cron_schedule *s = NULL;
	char *err = NULL;

	assert_int_equal(cron_parse(spec, &s, &err), -EINVAL);
	assert_null(s);
	assert_non_null(err);
	if (!strstr(err, fragment))
		fail_msg("error for '%s' is '%s', lacks '%s'", spec, err, fragment);
	free(err);
}

static void
test_parse_errors(void **state UNUSED)
{
	expect_parse_error("", "empty spec string");
	expect_parse_error("* * * *", "expected exactly 5 fields, found 4");
	expect_parse_error("* * * * * *", "expected exactly 5 fields, found 6");
	expect_parse_error("0 0 * * 7", "end of range (7) above maximum (6)");
	expect_parse_error("60 * * * *", "above maximum (59)");
	expect_parse_error("* * 0 * *", "below minimum (1)");
	expect_parse_error("5-3 * * * *", "beyond end of range");
	expect_parse_error("*/0 * * * *", "step of range should be a positive number");
	expect_parse_error("1-2-3 * * * *", "too many hyphens");
	expect_parse_error("1/2/3 * * * *", "too many slashes");
	expect_parse_error("-1 * * * *", "failed to parse int from");
	expect_parse_error("@every", "unrecognized descriptor");
	expect_parse_error("@every 5x", "failed to parse duration");
	expect_parse_error("TZ=UTC", "missing schedule");
}

static void
test_descriptors_and_every(void **state UNUSED)
{
	struct cron_schedule *s;
	int64_t n;
	char *err = NULL;

	assert_int_equal(cron_parse("@monthly", &s, &err), 0);
	assert_int_equal(cron_next(s, NULL, ts("2024-01-31T12:00:00Z"), &n), 0);
	assert_true(n == ts("2024-02-01T00:00:00Z"));
	cron_free(s);

	assert_int_equal(cron_parse("@every 1h30m", &s, &err), 0);
	assert_true(cron_is_every(s));
	assert_int_equal(cron_next(s, NULL, ts("2024-01-01T00:00:00Z"), &n), 0);
	assert_true(n == ts("2024-01-01T01:30:00Z"));
	cron_free(s);

	/* Sub-second delays become one second, as robfig's Every does. */
	assert_int_equal(cron_parse("@every 10ms", &s, &err), 0);
	assert_int_equal(cron_next(s, NULL, 100, &n), 0);
	assert_true(n == 101);
	cron_free(s);

	/* Names are case-insensitive; Mon/2 = Mon,Wed,Fri. */
	assert_int_equal(cron_parse("0 9 * JAN mon/2", &s, &err), 0);
	assert_int_equal(cron_next(s, NULL, ts("2024-01-01T09:00:00Z"), &n), 0);
	assert_true(n == ts("2024-01-03T09:00:00Z"));
	cron_free(s);
	assert_null(cron_free(NULL));
}

static void
test_prev(void **state UNUSED)
{
	struct cron_schedule *s;
	struct tz *z;
	int64_t p;
	char *err = NULL;

	assert_int_equal(cron_parse("30 2 * * *", &s, &err), 0);
	assert_int_equal(cron_prev(s, NULL, ts("2024-05-10T02:30:00Z"), &p), 0);
	assert_true(p == ts("2024-05-10T02:30:00Z"));
	assert_int_equal(cron_prev(s, NULL, ts("2024-05-10T02:29:59Z"), &p), 0);
	assert_true(p == ts("2024-05-09T02:30:00Z"));
	cron_free(s);

	assert_int_equal(cron_parse("0 0 29 2 *", &s, &err), 0);
	assert_int_equal(cron_prev(s, NULL, ts("2027-01-01T00:00:00Z"), &p), 0);
	assert_true(p == ts("2024-02-29T00:00:00Z"));
	cron_free(s);

	/* Spring forward in New York: 02:30 does not exist on 2012-03-11. */
	assert_int_equal(tz_load("America/New_York", &z, &err), 0);
	assert_int_equal(cron_parse("30 2 * * *", &s, &err), 0);
	assert_int_equal(cron_prev(s, z, ts("2012-03-11T12:00:00-04:00"), &p), 0);
	assert_true(p == ts("2012-03-10T02:30:00-05:00"));
	cron_free(s);
	tz_free(z);
}

static void
test_tz(void **state UNUSED)
{
	struct tz *z;
	struct tz_civil c;
	char *err = NULL;

	assert_int_equal(tz_load("Nowhere/Atlantis", &z, &err), -ENOENT);
	assert_string_equal(err, "unknown time zone Nowhere/Atlantis");
	free(err);
	err = NULL;
	assert_int_equal(tz_load("../etc/passwd", &z, &err), -EINVAL);
	free(err);
	err = NULL;
	assert_int_equal(tz_parse("x", "TZif", 4, &z, &err), -EINVAL);
	assert_non_null(strstr(err, "not a TZif file"));
	free(err);
	err = NULL;

	/* Far future instants use the footer rule (EST5EDT,M3.2.0,M11.1.0). */
	assert_int_equal(tz_load("America/New_York", &z, &err), 0);
	assert_string_equal(tz_name(z), "America/New_York");
	tz_civil(z, ts("2100-07-01T12:00:00Z"), &c);
	assert_int_equal(c.offset, -4 * 3600);
	assert_int_equal(c.hour, 8);
	tz_civil(z, ts("2100-12-01T12:00:00Z"), &c);
	assert_int_equal(c.offset, -5 * 3600);
	/* Go's Date normalises: 2024-13-01 is 2025-01-01. */
	assert_true(tz_date(z, 2024, 13, 1, 0, 0, 0) == ts("2025-01-01T00:00:00-05:00"));
	tz_free(z);

	assert_int_equal(tz_load("UTC", &z, &err), 0);
	tz_civil(z, 0, &c);
	assert_int_equal(c.year, 1970);
	assert_int_equal(c.weekday, 4);
	tz_free(z);
	assert_null(tz_free(NULL));
}

static void
test_rfc3339(void **state UNUSED)
{
	char buf[RFC3339_MAX];
	int64_t t;

	assert_int_equal(rfc3339_parse("2012-03-11T03:00:00-04:00", &t), 0);
	assert_true(t == 1331449200);
	assert_string_equal(rfc3339_format(t, -4 * 3600, buf, sizeof(buf)), "2012-03-11T03:00:00-04:00");
	assert_string_equal(rfc3339_format(t, 0, buf, sizeof(buf)), "2012-03-11T07:00:00Z");
	assert_string_equal(rfc3339_format(t, 19800, buf, sizeof(buf)), "2012-03-11T12:30:00+05:30");
	assert_int_equal(rfc3339_parse("2016-05-19T10:00:00.999Z", &t), 0);
	assert_true(t == 1463652000);
	assert_int_equal(rfc3339_parse("2023-02-29T00:00:00Z", &t), -EINVAL);
	assert_int_equal(rfc3339_parse("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(rfc3339_parse("2024-01-01T00:00:00", &t), -EINVAL);
	assert_int_equal(rfc3339_parse("2024-01-01T24:00:00Z", &t), -EINVAL);
	assert_int_equal(rfc3339_parse("2024-01-01T00:00:00Zx", &t), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_k8s_most_recent),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_descriptors_and_every),
		cmocka_unit_test(test_prev),
		cmocka_unit_test(test_tz),
		cmocka_unit_test(test_rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
