/* log.c — journald structured entries or plain stderr lines. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#if WITH_SYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "log.h"

#define LOG_FIELDS_MAX 16

static const char *log_ident = "agentd";
static bool log_to_journal;
static int log_level = LOG_INFO;
static log_sink_fn log_sink;
static void *log_sink_data;

static const char *const level_names[] = {
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected to our
 * stdout/stderr; only when it matches stderr is stderr really the journal. */
static bool
stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (e == NULL || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino;
}

void
log_init(const char *ident, bool foreground)
{
	log_ident = ident;
	log_to_journal = WITH_SYSTEMD && !foreground && stderr_is_journal();
}

void
log_set_level(int prio)
{
	log_level = prio;
}

int
log_get_level(void)
{
	return log_level;
}

int
log_level_from_string(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i] != NULL && strcmp(level_names[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

const char *
log_level_to_string(int prio)
{
	if (prio < 0 || (size_t)prio >= sizeof(level_names) / sizeof(level_names[0]) ||
	    level_names[prio] == NULL)
		return "unknown";
	return level_names[prio];
}

void
log_set_sink(log_sink_fn fn, void *data)
{
	log_sink = fn;
	log_sink_data = data;
}

#if WITH_SYSTEMD
static void
log_journal(int prio, const char *msgid, const char *const *fields, const char *message)
{
	char prio_field[16], *msg_field = NULL, *ident_field = NULL, *id_field = NULL;
	struct iovec iov[LOG_FIELDS_MAX + 4];
	int n = 0;

	snprintf(prio_field, sizeof(prio_field), "PRIORITY=%d", prio);
	if (asprintf(&msg_field, "MESSAGE=%s", message) < 0)
		msg_field = NULL;
	if (asprintf(&ident_field, "SYSLOG_IDENTIFIER=%s", log_ident) < 0)
		ident_field = NULL;
	if (msgid != NULL && asprintf(&id_field, "MESSAGE_ID=%s", msgid) < 0)
		id_field = NULL;
	if (msg_field == NULL || ident_field == NULL) {
		/* Out of memory: still say something. */
		fprintf(stderr, "<%d>%s\n", prio, message);
		goto out;
	}
	iov[n++] = (struct iovec){ prio_field, strlen(prio_field) };
	iov[n++] = (struct iovec){ msg_field, strlen(msg_field) };
	iov[n++] = (struct iovec){ ident_field, strlen(ident_field) };
	if (id_field != NULL)
		iov[n++] = (struct iovec){ id_field, strlen(id_field) };
	for (int i = 0; fields != NULL && fields[i] != NULL && i < LOG_FIELDS_MAX; i++)
		iov[n++] = (struct iovec){ (void *)(uintptr_t)fields[i], strlen(fields[i]) };
	if (sd_journal_sendv(iov, n) < 0)
		fprintf(stderr, "<%d>%s\n", prio, message);
out:
	free(msg_field);
	free(ident_field);
	free(id_field);
}
#endif

static void
log_stderr(int prio, const char *const *fields, const char *message)
{
	/* One write per line so concurrent writers do not interleave. */
	char line[4096];
	size_t off = 0;
	int r;

	r = snprintf(line, sizeof(line), "%s[%d]: %s: %s", log_ident, (int)getpid(),
		     log_level_to_string(prio), message);
	off = r < 0 ? 0 : (size_t)r < sizeof(line) ? (size_t)r : sizeof(line) - 1;
	for (int i = 0; fields != NULL && fields[i] != NULL && off < sizeof(line) - 1; i++) {
		r = snprintf(line + off, sizeof(line) - off, "%s%s", i == 0 ? " [" : " ", fields[i]);
		off = r < 0 ? off : off + (size_t)r < sizeof(line) ? off + (size_t)r : sizeof(line) - 1;
	}
	if (fields != NULL && fields[0] != NULL && off < sizeof(line) - 1)
		line[off++] = ']';
	if (off >= sizeof(line) - 1)
		off = sizeof(line) - 2;
	line[off++] = '\n';
	if (write(STDERR_FILENO, line, off) < 0)
		return;
}

void
log_send(int prio, const char *msgid, const char *const *fields, const char *fmt, ...)
{
	char *message;
	va_list ap;

	if (prio > log_level)
		return;
	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) < 0)
		message = NULL;
	va_end(ap);
	if (message == NULL)
		return;
	if (log_sink != NULL)
		log_sink(prio, msgid, fields, message, log_sink_data);
#if WITH_SYSTEMD
	else if (log_to_journal)
		log_journal(prio, msgid, fields, message);
#endif
	else
		log_stderr(prio, fields, message);
	free(message);
}
