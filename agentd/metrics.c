/* metrics — Prometheus text exposition and its atomic textfile. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "strbuf.h"

/* A label value with \, " and newline escaped as the format requires. */
static void
label(struct strbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			strbuf_printf(b, "\\\\");
		else if (*s == '"')
			strbuf_printf(b, "\\\"");
		else if (*s == '\n')
			strbuf_printf(b, "\\n");
		else
			strbuf_printf(b, "%c", *s);
	}
}

static void
header(struct strbuf *b, const char *name, const char *help)
{
	strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

char *
metrics_format(const struct status *st, enum sv_state state, uint64_t state_since)
{
	struct strbuf b = { 0 };
	size_t i, n = status_count(st);

	header(&b, "agentd_up", "1 while agentd runs.");
	strbuf_printf(&b, "agentd_up 1\n");
	header(&b, "agentd_state", "1 for the daemon's current state, 0 for the others.");
	for (int s = SV_STARTING; s <= SV_DEGRADED; s++)
		strbuf_printf(&b, "agentd_state{state=\"%s\"} %d\n", supervisor_state_name((enum sv_state)s),
			      s == (int)state);
	header(&b, "agentd_state_since_seconds", "Unix time the current state was entered.");
	strbuf_printf(&b, "agentd_state_since_seconds %llu\n", (unsigned long long)(state_since / 1000000));
	header(&b, "agentd_check_ok", "1 when the check passes, 0 when it fails.");
	for (i = 0; i < n; i++) {
		const struct status_check *c = status_at(st, i);

		strbuf_printf(&b, "agentd_check_ok{check=\"");
		label(&b, c->name);
		strbuf_printf(&b, "\",severity=\"%s\"} %d\n", status_severity_name(c->severity), c->ok);
	}
	header(&b, "agentd_check_since_seconds", "Unix time the check last changed between ok and failing.");
	for (i = 0; i < n; i++) {
		const struct status_check *c = status_at(st, i);

		strbuf_printf(&b, "agentd_check_since_seconds{check=\"");
		label(&b, c->name);
		strbuf_printf(&b, "\"} %llu\n", (unsigned long long)(c->since / 1000000));
	}
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

int
metrics_write(const char *path, const char *text, char **err)
{
	char *tmp = NULL;
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			r = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
out:
	if (r < 0 && asprintf(err, "metrics textfile %s: %s", path, strerror(-r)) < 0)
		*err = NULL;
	free(tmp);
	return r;
}
