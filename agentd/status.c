/* status.c — the check registry, logging once per transition. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "msgid.h"
#include "status.h"

struct status {
	struct status_check *v;
	size_t n, cap;
};

static const char *const severity_names[] = {
	[STATUS_INFO] = "info", [STATUS_WARNING] = "warning", [STATUS_CRITICAL] = "critical",
};

const char *
status_severity_name(enum status_severity s)
{
	if ((unsigned)s > STATUS_CRITICAL)
		return "unknown";
	return severity_names[s];
}

struct status *
status_new(void)
{
	return calloc(1, sizeof(struct status));
}

struct status *
status_free(struct status *st)
{
	if (st == NULL)
		return NULL;
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].name);
		free(st->v[i].message);
	}
	free(st->v);
	free(st);
	return NULL;
}

static struct status_check *
find(const struct status *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->v[i].name, name) == 0)
			return &st->v[i];
	return NULL;
}

static void
log_transition(const struct status_check *c)
{
	char check[128], sev[64];

	snprintf(check, sizeof(check), "AGENTD_CHECK=%s", c->name);
	snprintf(sev, sizeof(sev), "AGENTD_SEVERITY=%s", status_severity_name(c->severity));
	if (c->ok)
		log_send(LOG_INFO, MSGID_CHECK_OK, LOG_FIELDS(check, sev), "check %s ok: %s", c->name,
			 c->message);
	else
		log_send(c->severity == STATUS_CRITICAL ? LOG_ERR
			 : c->severity == STATUS_WARNING ? LOG_WARNING : LOG_NOTICE,
			 MSGID_CHECK_FAILED, LOG_FIELDS(check, sev), "check %s failed: %s", c->name,
			 c->message);
}

int
status_set(struct status *st, const char *name, bool ok, enum status_severity severity,
	   const char *fmt, ...)
{
	struct status_check *c;
	char *message;
	bool transition, reworded = false;
	va_list ap;

	if (name == NULL || name[0] == '\0')
		return -EINVAL;
	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	va_end(ap);
	if (message == NULL)
		return -ENOMEM;
	c = find(st, name);
	if (c == NULL) {
		if (st->n == st->cap) {
			size_t ncap = st->cap ? st->cap * 2 : 16;
			struct status_check *nv = realloc(st->v, ncap * sizeof(*nv));
			if (nv == NULL) {
				free(message);
				return -ENOMEM;
			}
			st->v = nv;
			st->cap = ncap;
		}
		c = &st->v[st->n];
		*c = (struct status_check){ .name = strdup(name) };
		if (c->name == NULL) {
			free(message);
			return -ENOMEM;
		}
		st->n++;
		transition = true;
	} else {
		transition = c->ok != ok || c->severity != severity;
		/* A failing check with a new reason is news; a passing one
		 * refreshing its words ("3/3 ready") is not. */
		reworded = !ok && strcmp(c->message, message) != 0;
	}
	if (transition && c->ok != ok)
		c->since = clock_now_usec();
	if (c->since == 0)
		c->since = clock_now_usec();
	free(c->message);
	c->message = message;
	c->ok = ok;
	c->severity = severity;
	if (!transition && !reworded)
		return 0;
	log_transition(c);
	return 1;
}

int
status_remove(struct status *st, const char *name)
{
	struct status_check *c = find(st, name);

	if (c == NULL)
		return -ENOENT;
	free(c->name);
	free(c->message);
	memmove(c, c + 1, (size_t)(st->v + st->n - (c + 1)) * sizeof(*c));
	st->n--;
	return 0;
}

const struct status_check *
status_get(const struct status *st, const char *name)
{
	return find(st, name);
}

size_t
status_count(const struct status *st)
{
	return st->n;
}

const struct status_check *
status_at(const struct status *st, size_t i)
{
	return i < st->n ? &st->v[i] : NULL;
}

bool
status_all_ok(const struct status *st)
{
	for (size_t i = 0; i < st->n; i++)
		if (!st->v[i].ok)
			return false;
	return st->n > 0;
}

void
status_failing(const struct status *st, bool with_messages, char *buf, size_t size)
{
	size_t o = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < st->n && o < size; i++) {
		const struct status_check *c = &st->v[i];
		if (c->ok)
			continue;
		if (with_messages)
			o += (size_t)snprintf(buf + o, size - o, "%s%s: %s", o ? "; " : "", c->name,
					      c->message ? c->message : "");
		else
			o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "", c->name);
	}
}

cJSON *
status_checks_json(const struct status *st)
{
	cJSON *arr = cJSON_CreateArray();
	char since[CLOCK_RFC3339_SIZE];

	if (arr == NULL)
		return NULL;
	for (size_t i = 0; i < st->n; i++) {
		const struct status_check *c = &st->v[i];
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
		    cJSON_AddStringToObject(o, "name", c->name) == NULL ||
		    cJSON_AddBoolToObject(o, "ok", c->ok) == NULL ||
		    cJSON_AddStringToObject(o, "severity", status_severity_name(c->severity)) == NULL ||
		    cJSON_AddStringToObject(o, "message", c->message) == NULL ||
		    cJSON_AddStringToObject(o, "since",
					    clock_format_rfc3339(c->since, since, sizeof(since))) == NULL) {
			cJSON_Delete(arr);
			return NULL;
		}
	}
	return arr;
}
