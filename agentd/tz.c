/* tz — TZif parsing and zone arithmetic mirroring Go's time package
 * (zoneinfo_read.go, zoneinfo.go lookup/tzset, time.go Date), because
 * robfig/cron's DST behaviour is a consequence of those functions. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "civil.h"
#include "readfile.h"
#include "tz.h"

#define ALPHA INT64_MIN
#define OMEGA INT64_MAX
#define MAX_TZIF (1u << 20)	/* real files are < 10 KiB */

struct tz_type {
	int32_t offset;
	bool isdst;
};

struct tz_tx {
	int64_t when;
	uint8_t index;
};

enum rule_kind { RULE_JULIAN, RULE_DOY, RULE_MWD };

struct tz_rule {
	enum rule_kind kind;
	int day, week, mon;
	int time;
};

struct tz {
	char *name;
	struct tz_type *types;
	size_t ntypes;
	struct tz_tx *tx;
	size_t ntx;
	/* POSIX TZ footer, parsed */
	bool has_extend, extend_dst;
	int std_offset, dst_offset;	/* seconds east */
	struct tz_rule start_rule, end_rule;
};

/* ---- POSIX TZ strings (Go's tzsetName/Offset/Rule/Num) ---- */

static bool
tzset_num(const char **s, int min, int max, int *out)
{
	const char *p = *s;
	int num = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		num = num * 10 + (*p - '0');
		if (num > max)
			return false;
	}
	if (num < min)
		return false;
	*out = num;
	*s = p;
	return true;
}

static bool
tzset_name(const char **s)
{
	const char *p = *s;

	if (!*p)
		return false;
	if (*p == '<') {
		const char *gt = strchr(p, '>');

		if (!gt)
			return false;
		*s = gt + 1;
		return true;
	}
	for (; *p; p++)
		if ((*p >= '0' && *p <= '9') || *p == ',' || *p == '-' || *p == '+')
			break;
	if (p - *s < 3)
		return false;
	*s = p;
	return true;
}

static bool
tzset_offset(const char **s, int *out)
{
	const char *p = *s;
	bool neg = false;
	int h, m, sec, off;

	if (*p == '+')
		p++;
	else if (*p == '-') {
		p++;
		neg = true;
	}
	if (!tzset_num(&p, 0, 24 * 7, &h))
		return false;
	off = h * 3600;
	if (*p == ':') {
		p++;
		if (!tzset_num(&p, 0, 59, &m))
			return false;
		off += m * 60;
		if (*p == ':') {
			p++;
			if (!tzset_num(&p, 0, 59, &sec))
				return false;
			off += sec;
		}
	}
	*out = neg ? -off : off;
	*s = p;
	return true;
}

static bool
tzset_rule(const char **s, struct tz_rule *r)
{
	const char *p = *s;

	if (*p == 'J') {
		p++;
		if (!tzset_num(&p, 1, 365, &r->day))
			return false;
		r->kind = RULE_JULIAN;
	} else if (*p == 'M') {
		p++;
		if (!tzset_num(&p, 1, 12, &r->mon) || *p++ != '.' || !tzset_num(&p, 1, 5, &r->week) ||
		    *p++ != '.' || !tzset_num(&p, 0, 6, &r->day))
			return false;
		r->kind = RULE_MWD;
	} else {
		if (!tzset_num(&p, 0, 365, &r->day))
			return false;
		r->kind = RULE_DOY;
	}
	if (*p != '/')
		r->time = 2 * 3600;
	else {
		p++;
		if (!tzset_offset(&p, &r->time))
			return false;
	}
	*s = p;
	return true;
}

/* Parse the footer into Z; false if Go would ignore it. */
static bool
tzset_parse(struct tz *z, const char *s)
{
	int off;

	if (!tzset_name(&s) || !tzset_offset(&s, &off))
		return false;
	z->std_offset = -off;
	if (!*s || *s == ',') {
		z->extend_dst = false;
		return true;
	}
	if (!tzset_name(&s))
		return false;
	if (!*s || *s == ',')
		z->dst_offset = z->std_offset + 3600;
	else {
		if (!tzset_offset(&s, &off))
			return false;
		z->dst_offset = -off;
	}
	if (!*s)
		s = ",M3.2.0,M11.1.0";
	if (*s != ',' && *s != ';')
		return false;
	s++;
	if (!tzset_rule(&s, &z->start_rule) || *s++ != ',' || !tzset_rule(&s, &z->end_rule) || *s)
		return false;
	z->extend_dst = true;
	return true;
}

/* Seconds from the start of YEAR (UTC) at which rule R fires, given offset OFF. */
static int64_t
tzrule_time(int64_t year, const struct tz_rule *r, int off)
{
	int64_t s = 0;

	switch (r->kind) {
	case RULE_JULIAN:
		s = (int64_t)(r->day - 1) * 86400;
		if (civil_is_leap(year) && r->day >= 60)
			s += 86400;
		break;
	case RULE_DOY:
		s = (int64_t)r->day * 86400;
		break;
	case RULE_MWD: {
		/* weekday of the 1st of the month, then the week-th such day */
		int64_t first = civil_days(year, r->mon, 1);
		int dow = (int)civil_floormod(first + 4, 7);
		int d = r->day - dow, i;

		if (d < 0)
			d += 7;
		for (i = 1; i < r->week; i++) {
			if (d + 7 >= civil_days_in(r->mon, year))
				break;
			d += 7;
		}
		s = (first - civil_days(year, 1, 1) + d) * 86400;
		break;
	}
	}
	return s + r->time - off;
}

/* Go's tzset for an instant past the last transition. */
static int32_t
tzset_lookup(const struct tz *z, int64_t last_tx, int64_t sec, int64_t *start, int64_t *end)
{
	int64_t year, days, abs, ysec, startsec, endsec;
	int std_off = z->std_offset, dst_off = z->dst_offset, m, d;

	if (!z->extend_dst) {
		*start = last_tx;
		*end = OMEGA;
		return std_off;
	}
	days = civil_floordiv(sec, 86400);
	civil_from_days(days, &year, &m, &d);
	abs = civil_days(year, 1, 1) * 86400;
	ysec = sec - abs;
	startsec = tzrule_time(year, &z->start_rule, std_off);
	endsec = tzrule_time(year, &z->end_rule, dst_off);
	if (endsec < startsec) {	/* southern hemisphere: labels swap */
		int64_t t = startsec;
		int o = std_off;

		startsec = endsec;
		endsec = t;
		std_off = dst_off;
		dst_off = o;
	}
	if (ysec < startsec) {
		*start = abs;
		*end = startsec + abs;
		return std_off;
	}
	if (ysec >= endsec) {
		*start = endsec + abs;
		*end = abs + 365 * 86400;
		return std_off;
	}
	*start = startsec + abs;
	*end = endsec + abs;
	return dst_off;
}

/* Go's lookupFirstZone. */
static size_t
first_zone(const struct tz *z)
{
	size_t i;
	bool used = false;

	for (i = 0; i < z->ntx; i++)
		if (z->tx[i].index == 0)
			used = true;
	if (!used)
		return 0;
	if (z->ntx > 0 && z->types[z->tx[0].index].isdst)
		for (i = z->tx[0].index; i-- > 0;)
			if (!z->types[i].isdst)
				return i;
	for (i = 0; i < z->ntypes; i++)
		if (!z->types[i].isdst)
			return i;
	return 0;
}

int32_t
tz_lookup(const struct tz *z, int64_t t, int64_t *startp, int64_t *endp)
{
	int64_t start, end;
	int32_t off;
	size_t lo, hi, mid;

	if (!z || z->ntypes == 0) {
		start = ALPHA;
		end = OMEGA;
		off = 0;
		goto out;
	}
	if (z->ntx == 0 || t < z->tx[0].when) {
		off = z->types[first_zone(z)].offset;
		start = ALPHA;
		end = z->ntx ? z->tx[0].when : OMEGA;
		goto out;
	}
	end = OMEGA;
	lo = 0;
	hi = z->ntx;
	while (hi - lo > 1) {
		mid = (lo + hi) / 2;
		if (t < z->tx[mid].when) {
			end = z->tx[mid].when;
			hi = mid;
		} else {
			lo = mid;
		}
	}
	off = z->types[z->tx[lo].index].offset;
	start = z->tx[lo].when;
	if (lo == z->ntx - 1 && z->has_extend)
		off = tzset_lookup(z, start, t, &start, &end);
out:
	if (startp)
		*startp = start;
	if (endp)
		*endp = end;
	return off;
}

void
tz_civil(const struct tz *z, int64_t t, struct tz_civil *out)
{
	int32_t off = tz_lookup(z, t, NULL, NULL);
	int64_t local = t + off, days = civil_floordiv(local, 86400), secs = local - days * 86400;

	civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
	out->weekday = (int)civil_floormod(days + 4, 7);
	out->offset = off;
}

int64_t
tz_date(const struct tz *z, int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute,
	int64_t second)
{
	int64_t m0 = month - 1, wall, utc, start, end;
	int32_t off;

	year += civil_floordiv(m0, 12);
	m0 = civil_floormod(m0, 12);
	wall = (civil_days(year, m0 + 1, 1) + day - 1) * 86400 + hour * 3600 + minute * 60 + second;
	/* Guess the offset from the wall clock read as UTC, then correct it
	 * if the result falls outside that offset's period (Go's Date). */
	off = tz_lookup(z, wall, &start, &end);
	if (off != 0) {
		utc = wall - off;
		if (utc < start || utc >= end)
			off = tz_lookup(z, utc, NULL, NULL);
		wall -= off;
	}
	return wall;
}

/* ---- TZif ---- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int
fail(char **errmsg, const char *name, const char *what)
{
	if (errmsg && asprintf(errmsg, "time zone %s: %s", name, what) < 0)
		*errmsg = NULL;
	return -EINVAL;
}

struct hdr {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool
read_hdr(const unsigned char *p, size_t len, struct hdr *h, int *version)
{
	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	*version = p[4] == 0 ? 1 : p[4] - '0';
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	return h->isutcnt <= 256 && h->isstdcnt <= 256 && h->leapcnt <= 10000 && h->timecnt <= 100000 &&
	       h->typecnt <= 256 && h->charcnt <= 10000;
}

static size_t
block_len(const struct hdr *h, int tsize)
{
	return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

int
tz_parse(const char *name, const void *data, size_t len, struct tz **ret, char **errmsg)
{
	const unsigned char *p = data, *end = p + len, *q;
	struct hdr h;
	int version, tsize = 4;
	struct tz *z;
	size_t i, blen;

	if (!read_hdr(p, len, &h, &version) || version < 1 || version > 9)
		return fail(errmsg, name, "not a TZif file");
	p += 44;
	if (version >= 2) {
		blen = block_len(&h, 4);
		if ((size_t)(end - p) < blen)
			return fail(errmsg, name, "truncated TZif data");
		p += blen;
		if (!read_hdr(p, (size_t)(end - p), &h, &version))
			return fail(errmsg, name, "bad TZif version 2 header");
		p += 44;
		tsize = 8;
	}
	blen = block_len(&h, tsize);
	if ((size_t)(end - p) < blen)
		return fail(errmsg, name, "truncated TZif data");
	if (h.typecnt == 0)
		return fail(errmsg, name, "TZif data has no local time types");
	z = calloc(1, sizeof(*z));
	if (!z)
		return -ENOMEM;
	z->name = strdup(name);
	z->types = calloc(h.typecnt, sizeof(*z->types));
	z->tx = calloc(h.timecnt ? h.timecnt : 1, sizeof(*z->tx));
	if (!z->name || !z->types || !z->tx) {
		tz_free(z);
		return -ENOMEM;
	}
	z->ntypes = h.typecnt;
	z->ntx = h.timecnt;
	for (i = 0; i < h.timecnt; i++)
		z->tx[i].when = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
	q = p + (size_t)h.timecnt * tsize;
	for (i = 0; i < h.timecnt; i++) {
		if (q[i] >= h.typecnt) {
			tz_free(z);
			return fail(errmsg, name, "transition to an undefined local time type");
		}
		z->tx[i].index = q[i];
	}
	q += h.timecnt;
	for (i = 0; i < h.typecnt; i++, q += 6) {
		z->types[i].offset = (int32_t)be32(q);
		z->types[i].isdst = q[4] != 0;
	}
	for (i = 1; i < z->ntx; i++)
		if (z->tx[i].when <= z->tx[i - 1].when) {
			tz_free(z);
			return fail(errmsg, name, "transition times out of order");
		}
	if (z->ntx == 0) {
		/* Go builds one transition covering all time, so the footer applies. */
		z->tx[0].when = ALPHA;
		z->tx[0].index = 0;
		z->ntx = 1;
	}
	p += blen;
	if (version >= 2 && p < end && *p == '\n') {
		const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
		char footer[128];

		if (nl && (size_t)(nl - p - 1) < sizeof(footer) && nl - p - 1 > 0) {
			memcpy(footer, p + 1, (size_t)(nl - p - 1));
			footer[nl - p - 1] = '\0';
			z->has_extend = !memchr(footer, '\0', (size_t)(nl - p - 1)) && tzset_parse(z, footer);
		}
	}
	*ret = z;
	return 0;
}

struct tz *
tz_utc(void)
{
	struct tz *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->name = strdup("UTC");
	if (!z->name)
		return tz_free(z);
	return z;
}

static bool
bad_name(const char *name)
{
	return name[0] == '/' || name[0] == '\\' || strstr(name, "..") != NULL;
}

int
tz_load(const char *name, struct tz **ret, char **errmsg)
{
	const char *dir = getenv("TZDIR"), *path;
	char buf[4096], *data;
	size_t len;
	int r;

	if (!name || !*name || strcmp(name, "UTC") == 0) {
		*ret = tz_utc();
		return *ret ? 0 : -ENOMEM;
	}
	if (strcmp(name, "Local") == 0) {
		path = "/etc/localtime";
		if (access(path, F_OK) != 0) {
			*ret = tz_utc();
			return *ret ? 0 : -ENOMEM;
		}
	} else {
		if (bad_name(name)) {
			if (errmsg && asprintf(errmsg, "invalid time zone name \"%s\"", name) < 0)
				*errmsg = NULL;
			return -EINVAL;
		}
		if (snprintf(buf, sizeof(buf), "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name) >=
		    (int)sizeof(buf))
			return fail(errmsg, name, "name too long");
		path = buf;
	}
	r = readfile(path, MAX_TZIF, &data, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		if (errmsg && asprintf(errmsg, "unknown time zone %s", name) < 0)
			*errmsg = NULL;
		return -ENOENT;
	}
	r = tz_parse(name, data, len, ret, errmsg);
	free(data);
	return r;
}

const char *
tz_name(const struct tz *z)
{
	return z ? z->name : "UTC";
}

struct tz *
tz_free(struct tz *z)
{
	if (!z)
		return NULL;
	free(z->name);
	free(z->types);
	free(z->tx);
	free(z);
	return NULL;
}
