/* rfc3339 — timestamps as the Kubernetes API writes them. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "civil.h"
#include "rfc3339.h"

/* Exactly N digits at *S. */
static bool
digits(const char **s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return true;
}

static bool
expect(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

int
rfc3339_parse(const char *s, int64_t *t)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;

	if (!s || !digits(&s, 4, &y) || !expect(&s, '-') || !digits(&s, 2, &mo) || !expect(&s, '-') ||
	    !digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (!digits(&s, 2, &h) || !expect(&s, ':') || !digits(&s, 2, &mi) || !expect(&s, ':') ||
	    !digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -EINVAL;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if (!digits(&s, 2, &oh) || !expect(&s, ':') || !digits(&s, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
	} else
		return -EINVAL;
	if (*s)
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > civil_days_in(mo, y) || h > 23 ||
	    mi > 59 || sec > 59)
		return -EINVAL;
	*t = civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
	return 0;
}

char *
rfc3339_format(int64_t t, int32_t offset, char *buf, size_t len)
{
	int64_t local = t + offset, days = civil_floordiv(local, 86400), secs = local - days * 86400, y;
	int m, d, off = offset < 0 ? -offset : offset;

	civil_from_days(days, &y, &m, &d);
	if (offset == 0)
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)y, m, d, (int)(secs / 3600),
			 (int)(secs / 60 % 60), (int)(secs % 60));
	else
		snprintf(buf, len, "%04lld-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (long long)y, m, d,
			 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), offset < 0 ? '-' : '+',
			 off / 3600, off / 60 % 60);
	return buf;
}
