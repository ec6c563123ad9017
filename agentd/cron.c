/* cron — robfig/cron v3.0.1 ParseStandard + SpecSchedule.Next, and the
 * Kubernetes CronJob controller's mostRecentScheduleTime, in C. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

#define STAR_BIT (UINT64_C(1) << 63)
#define ALL_BITS(lo, hi) ((~UINT64_C(0) >> (63 - (hi))) & (~UINT64_C(0) << (lo)))
/* Instants outside years 1..9999 are refused rather than overflowed. */
#define TIME_MIN INT64_C(-62135596800)
#define TIME_MAX INT64_C(253402300799)

struct cron_schedule {
	char *zone;		/* prefix zone name or NULL */
	bool every;
	int64_t delay;		/* @every, whole seconds ≥ 1 */
	uint64_t second, minute, hour, dom, month, dow;
};

struct bounds {
	unsigned min, max;
	const char *const *names;	/* names[i] has value i + names_base */
	unsigned names_base;
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };
static const struct bounds b_minutes = { 0, 59, NULL, 0 };
static const struct bounds b_hours = { 0, 23, NULL, 0 };
static const struct bounds b_dom = { 1, 31, NULL, 0 };
static const struct bounds b_months = { 1, 12, month_names, 1 };
static const struct bounds b_dow = { 0, 6, dow_names, 0 };

__attribute__((format(printf, 2, 3))) static int
perr(char **errmsg, const char *fmt, ...)
{
	va_list ap;

	if (errmsg) {
		va_start(ap, fmt);
		if (vasprintf(errmsg, fmt, ap) < 0)
			*errmsg = NULL;
		va_end(ap);
	}
	return -EINVAL;
}

/* strconv.Atoi, then robfig's "negative number" rule. */
static int
must_parse_int(const char *s, size_t len, uint64_t *out, char **errmsg)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == len)
		return perr(errmsg, "failed to parse int from %.*s: strconv.Atoi: parsing \"%.*s\": invalid syntax",
			    (int)len, s, (int)len, s);
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return perr(errmsg, "failed to parse int from %.*s: strconv.Atoi: parsing \"%.*s\": invalid syntax",
				    (int)len, s, (int)len, s);
		if (v > (UINT64_C(1) << 62) / 5)	/* past int64 range */
			return perr(errmsg, "failed to parse int from %.*s: strconv.Atoi: parsing \"%.*s\": value out of range",
				    (int)len, s, (int)len, s);
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg && v)
		return perr(errmsg, "negative number (-%llu) not allowed: %.*s", (unsigned long long)v, (int)len, s);
	*out = v;
	return 0;
}

static int
parse_int_or_name(const char *s, size_t len, const struct bounds *b, uint64_t *out, char **errmsg)
{
	size_t i;

	if (b->names)
		for (i = 0; b->names[i]; i++)
			if (strlen(b->names[i]) == len && strncasecmp(s, b->names[i], len) == 0) {
				*out = i + b->names_base;
				return 0;
			}
	return must_parse_int(s, len, out, errmsg);
}

static int
get_range(const char *expr, size_t len, const struct bounds *b, uint64_t *bits, char **errmsg)
{
	const char *slash = memchr(expr, '/', len), *dash;
	size_t rlen = slash ? (size_t)(slash - expr) : len, lowlen, ndash = 0, i;
	uint64_t start, end, step = 1, extra = 0, v;
	int r;

	for (i = 0; i < rlen; i++)
		ndash += expr[i] == '-';
	dash = memchr(expr, '-', rlen);
	lowlen = dash ? (size_t)(dash - expr) : rlen;
	if (lowlen == 1 && (expr[0] == '*' || expr[0] == '?')) {
		start = b->min;
		end = b->max;
		extra = STAR_BIT;
	} else {
		if ((r = parse_int_or_name(expr, lowlen, b, &start, errmsg)) < 0)
			return r;
		if (ndash == 0)
			end = start;
		else if (ndash == 1) {
			if ((r = parse_int_or_name(dash + 1, rlen - lowlen - 1, b, &end, errmsg)) < 0)
				return r;
		} else {
			return perr(errmsg, "too many hyphens: %.*s", (int)len, expr);
		}
	}
	if (slash) {
		if (memchr(slash + 1, '/', len - rlen - 1))
			return perr(errmsg, "too many slashes: %.*s", (int)len, expr);
		if ((r = must_parse_int(slash + 1, len - rlen - 1, &step, errmsg)) < 0)
			return r;
		if (ndash == 0)	/* "N/step" means "N-max/step" */
			end = b->max;
		if (step > 1)
			extra = 0;
	}
	if (start < b->min)
		return perr(errmsg, "beginning of range (%llu) below minimum (%u): %.*s", (unsigned long long)start,
			    b->min, (int)len, expr);
	if (end > b->max)
		return perr(errmsg, "end of range (%llu) above maximum (%u): %.*s", (unsigned long long)end, b->max,
			    (int)len, expr);
	if (start > end)
		return perr(errmsg, "beginning of range (%llu) beyond end of range (%llu): %.*s",
			    (unsigned long long)start, (unsigned long long)end, (int)len, expr);
	if (step == 0)
		return perr(errmsg, "step of range should be a positive number: %.*s", (int)len, expr);
	if (step == 1) {
		*bits = ALL_BITS(start, end) | extra;
		return 0;
	}
	*bits = extra;
	for (v = start; v <= end; v += step)
		*bits |= UINT64_C(1) << v;
	return 0;
}

/* Comma-separated ranges; empty items are skipped (strings.FieldsFunc). */
static int
get_field(const char *f, size_t len, const struct bounds *b, uint64_t *bits, char **errmsg)
{
	size_t i = 0, j;
	uint64_t one = 0;
	int r;

	*bits = 0;
	while (i < len) {
		for (j = i; j < len && f[j] != ','; j++)
			;
		if (j > i) {
			if ((r = get_range(f + i, j - i, b, &one, errmsg)) < 0)
				return r;
			*bits |= one;
		}
		i = j + 1;
	}
	return 0;
}

/* time.ParseDuration, in nanoseconds. */
static int
parse_duration(const char *orig, int64_t *out)
{
	static const struct {
		const char *u;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "\xc2\xb5s", 1000 }, { "\xce\xbcs", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ULL }, { "m", 60000000000ULL }, { "h", 3600000000000ULL },
	};
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;
	size_t k;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return -EINVAL;
	while (*s) {
		uint64_t v = 0, f = 0, unit = 0;
		double scale = 1;
		bool pre = false, post = false, overflow = false;
		size_t ulen;

		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -EINVAL;
		for (; *s >= '0' && *s <= '9'; s++) {
			pre = true;
			if (v > (UINT64_C(1) << 63) / 10)
				return -EINVAL;
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > UINT64_C(1) << 63)
				return -EINVAL;
		}
		if (*s == '.') {
			s++;
			for (; *s >= '0' && *s <= '9'; s++) {
				post = true;
				if (overflow)
					continue;
				if (f > (UINT64_C(1) << 63) / 10) {
					overflow = true;
					continue;
				}
				f = f * 10 + (uint64_t)(*s - '0');
				scale *= 10;
			}
		}
		if (!pre && !post)
			return -EINVAL;
		for (ulen = 0; s[ulen] && s[ulen] != '.' && !(s[ulen] >= '0' && s[ulen] <= '9'); ulen++)
			;
		if (ulen == 0)
			return -EINVAL;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (strlen(units[k].u) == ulen && strncmp(s, units[k].u, ulen) == 0)
				unit = units[k].ns;
		if (!unit)
			return -EINVAL;
		s += ulen;
		if (v > (UINT64_C(1) << 63) / unit)
			return -EINVAL;
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > UINT64_C(1) << 63)
				return -EINVAL;
		}
		d += v;
		if (d > UINT64_C(1) << 63)
			return -EINVAL;
	}
	if (neg) {
		*out = d == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > (uint64_t)INT64_MAX)
		return -EINVAL;
	*out = (int64_t)d;
	return 0;
}

static int
parse_descriptor(const char *spec, struct cron_schedule *s, char **errmsg)
{
	static const char every[] = "@every ";
	uint64_t all_dom = ALL_BITS(1, 31) | STAR_BIT, all_month = ALL_BITS(1, 12) | STAR_BIT;
	uint64_t all_dow = ALL_BITS(0, 6) | STAR_BIT, all_hour = ALL_BITS(0, 23) | STAR_BIT;

	s->second = 1;
	s->minute = 1;
	s->hour = 1;
	s->dom = all_dom;
	s->month = all_month;
	s->dow = all_dow;
	if (strcmp(spec, "@yearly") == 0 || strcmp(spec, "@annually") == 0) {
		s->dom = UINT64_C(1) << 1;
		s->month = UINT64_C(1) << 1;
	} else if (strcmp(spec, "@monthly") == 0) {
		s->dom = UINT64_C(1) << 1;
	} else if (strcmp(spec, "@weekly") == 0) {
		s->dow = 1;
	} else if (strcmp(spec, "@daily") == 0 || strcmp(spec, "@midnight") == 0) {
		/* all days */
	} else if (strcmp(spec, "@hourly") == 0) {
		s->hour = all_hour;
	} else if (strncmp(spec, every, sizeof(every) - 1) == 0) {
		int64_t ns;

		if (parse_duration(spec + sizeof(every) - 1, &ns) < 0)
			return perr(errmsg, "failed to parse duration %s: time: invalid duration \"%s\"", spec,
				    spec + sizeof(every) - 1);
		s->every = true;
		s->delay = ns < 1000000000 ? 1 : ns / 1000000000;
	} else {
		return perr(errmsg, "unrecognized descriptor: %s", spec);
	}
	return 0;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int
parse_fields(const char *spec, struct cron_schedule *s, char **errmsg)
{
	const struct bounds *b[5] = { &b_minutes, &b_hours, &b_dom, &b_months, &b_dow };
	uint64_t *dst[5] = { &s->minute, &s->hour, &s->dom, &s->month, &s->dow };
	const char *f[6];
	size_t flen[6], n = 0, i;
	const char *p = spec;
	int r;

	while (*p) {
		while (is_space(*p))
			p++;
		if (!*p)
			break;
		if (n < 6)
			f[n] = p;
		while (*p && !is_space(*p))
			p++;
		if (n < 6)
			flen[n] = (size_t)(p - f[n]);
		n++;
	}
	if (n != 5)
		return perr(errmsg, "expected exactly 5 fields, found %zu: %s", n, spec);
	s->second = 1;
	for (i = 0; i < 5; i++)
		if ((r = get_field(f[i], flen[i], b[i], dst[i], errmsg)) < 0)
			return r;
	return 0;
}

int
cron_parse(const char *spec, struct cron_schedule **ret, char **errmsg)
{
	struct cron_schedule *s;
	const char *body = spec;
	char *trimmed = NULL;
	int r;

	if (!spec || !*spec)
		return perr(errmsg, "empty spec string");
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (strncmp(spec, "TZ=", 3) == 0 || strncmp(spec, "CRON_TZ=", 8) == 0) {
		const char *sp = strchr(spec, ' '), *eq = strchr(spec, '=');
		const char *a, *e;

		if (!sp) {
			cron_free(s);
			return perr(errmsg, "missing schedule after time zone: %s", spec);
		}
		s->zone = strndup(eq + 1, (size_t)(sp - eq - 1));
		for (a = sp; is_space(*a); a++)
			;
		for (e = a + strlen(a); e > a && is_space(e[-1]); e--)
			;
		trimmed = strndup(a, (size_t)(e - a));
		if (!s->zone || !trimmed) {
			free(trimmed);
			cron_free(s);
			return -ENOMEM;
		}
		if (!*s->zone) {
			/* Go's LoadLocation("") is UTC. */
			free(s->zone);
			s->zone = strdup("UTC");
			if (!s->zone) {
				free(trimmed);
				cron_free(s);
				return -ENOMEM;
			}
		}
		body = trimmed;
	}
	if (body[0] == '@')
		r = parse_descriptor(body, s, errmsg);
	else
		r = parse_fields(body, s, errmsg);
	free(trimmed);
	if (r < 0) {
		cron_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

const char *
cron_zone_name(const struct cron_schedule *s)
{
	return s->zone;
}

bool
cron_is_every(const struct cron_schedule *s)
{
	return s->every;
}

static bool
day_matches(const struct cron_schedule *s, const struct tz_civil *c)
{
	bool dom = (s->dom >> c->day) & 1, dow = (s->dow >> c->weekday) & 1;

	if ((s->dom & STAR_BIT) || (s->dow & STAR_BIT))
		return dom && dow;
	return dom || dow;
}

int
cron_next(const struct cron_schedule *s, const struct tz *z, int64_t from, int64_t *next)
{
	struct tz_civil c;
	int64_t t, year_limit;
	bool added = false;

	if (from < TIME_MIN || from > TIME_MAX)
		return -ERANGE;
	if (s->every) {
		*next = from + s->delay;
		return 0;
	}
	t = from + 1;
	tz_civil(z, t, &c);
	year_limit = c.year + 5;
wrap:
	tz_civil(z, t, &c);
	if (c.year > year_limit)
		return -ENOENT;
	while (!((s->month >> c.month) & 1)) {
		if (!added) {
			added = true;
			t = tz_date(z, c.year, c.month, 1, 0, 0, 0);
			tz_civil(z, t, &c);
		}
		t = tz_date(z, c.year, c.month + 1, c.day, c.hour, c.minute, c.second);
		tz_civil(z, t, &c);
		if (c.month == 1)
			goto wrap;
	}
	while (!day_matches(s, &c)) {
		if (!added) {
			added = true;
			t = tz_date(z, c.year, c.month, c.day, 0, 0, 0);
			tz_civil(z, t, &c);
		}
		t = tz_date(z, c.year, c.month, c.day + 1, c.hour, c.minute, c.second);
		tz_civil(z, t, &c);
		/* Back to midnight if DST moved the wall clock (robfig). */
		if (c.hour != 0) {
			t += c.hour > 12 ? (int64_t)(24 - c.hour) * 3600 : -(int64_t)c.hour * 3600;
			tz_civil(z, t, &c);
		}
		if (c.day == 1)
			goto wrap;
	}
	while (!((s->hour >> c.hour) & 1)) {
		if (!added) {
			added = true;
			t = tz_date(z, c.year, c.month, c.day, c.hour, 0, 0);
			tz_civil(z, t, &c);
		}
		t += 3600;
		tz_civil(z, t, &c);
		if (c.hour == 0)
			goto wrap;
	}
	while (!((s->minute >> c.minute) & 1)) {
		if (!added) {
			added = true;
			t -= ((t % 60) + 60) % 60;
			tz_civil(z, t, &c);
		}
		t += 60;
		tz_civil(z, t, &c);
		if (c.minute == 0)
			goto wrap;
	}
	while (!((s->second >> c.second) & 1)) {
		added = true;
		t += 1;
		tz_civil(z, t, &c);
		if (c.second == 0)
			goto wrap;
	}
	*next = t;
	return 0;
}

int
cron_prev(const struct cron_schedule *s, const struct tz *z, int64_t now, int64_t *prev)
{
	static const int64_t windows[] = { 3600, 86400, 32 * 86400, 367 * 86400, 3653 * 86400 };
	int64_t t, n;
	size_t i;
	bool found;
	int r;

	if (now < TIME_MIN + windows[4] || now > TIME_MAX)
		return -ERANGE;
	/* Widen the window until it holds a fire time; walk forward inside it. */
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		t = now - windows[i];
		found = false;
		while ((r = cron_next(s, z, t, &n)) == 0 && n <= now) {
			t = n;
			found = true;
		}
		if (r < 0 && r != -ENOENT)
			return r;
		if (found) {
			*prev = t;
			return 0;
		}
	}
	return -ENOENT;
}

int
cron_most_recent(const struct cron_schedule *s, const struct tz *z, int64_t creation, bool has_last,
		 int64_t last_schedule, int64_t deadline, bool apply_deadline, int64_t now,
		 struct cron_recent *out)
{
	struct cron_recent r = { 0 };
	int64_t t1, t2, gap, elapsed, n, t, potential;

	r.earliest = has_last ? last_schedule : creation;
	if (apply_deadline && deadline >= 0 && now - deadline > r.earliest)
		r.earliest = now - deadline;
	if (cron_next(s, z, r.earliest, &t1) < 0)
		return -EDOM;
	if (now < t1) {
		*out = r;
		return 0;
	}
	if (cron_next(s, z, t1, &t2) < 0)
		return -EDOM;
	if (now < t2) {
		r.has_most_recent = true;
		r.most_recent = t1;
		*out = r;
		return 0;
	}
	gap = t2 - t1;
	if (gap < 1)
		return -EDOM;
	/* The controller estimates the count from the first gap and walks only
	 * the tail from there (kubernetes pkg/controller/cronjob/utils.go). */
	elapsed = now - t1;
	n = elapsed / gap + 1;
	potential = t1 + (n - 2) * gap;
	for (t = potential; cron_next(s, z, t, &t) == 0 && t <= now;) {
		r.has_most_recent = true;
		r.most_recent = t;
	}
	r.missed_count = n;
	r.missed = n > 100 ? CRON_MISSED_MANY : n > 0 ? CRON_MISSED_FEW : CRON_MISSED_NONE;
	*out = r;
	return 0;
}

struct cron_schedule *
cron_free(struct cron_schedule *s)
{
	if (!s)
		return NULL;
	free(s->zone);
	free(s);
	return NULL;
}
