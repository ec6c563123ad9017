/* log.h — the daemon's one way to say something: structured journald entries
 * (sd_journal_send) when stderr is the journal, plain stderr lines otherwise.
 *
 * Every entry carries PRIORITY, MESSAGE, SYSLOG_IDENTIFIER, optionally a
 * MESSAGE_ID (see msgid.h) and extra "KEY=value" fields such as AGENTD_STATE,
 * AGENTD_CHECK.  On stderr the fields follow the message in brackets.
 * Pure modules never call these; their callers log once, with context.
 */
#ifndef AGENTD_LOG_H
#define AGENTD_LOG_H

#include <stdbool.h>
#include <syslog.h>

/* Picks the target: journald when built WITH_SYSTEMD, not `foreground` and
 * $JOURNAL_STREAM names our stderr; stderr otherwise. `ident` must outlive
 * every log call (a string literal). */
void log_init(const char *ident, bool foreground);

/* Drops entries less important than `prio` (LOG_DEBUG..LOG_ERR). */
void log_set_level(int prio);
int log_get_level(void);

/* Parses "debug", "info", "notice", "warning", "error"; -EINVAL otherwise. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int prio);

/* Tests capture entries (at or above the level) through a sink instead of a
 * target; NULL restores.
 * `fields` is the NULL-terminated list given to log_send (may be NULL). */
typedef void (*log_sink_fn)(int prio, const char *msgid, const char *const *fields,
			    const char *message, void *data);
void log_set_sink(log_sink_fn fn, void *data);

/* `msgid` may be NULL; `fields` is NULL or a NULL-terminated array of
 * "KEY=value" strings (KEY in upper case, journald rules). */
void log_send(int prio, const char *msgid, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define LOG_FIELDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

#define log_debug(...)   log_send(LOG_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...)    log_send(LOG_INFO, NULL, NULL, __VA_ARGS__)
#define log_notice(...)  log_send(LOG_NOTICE, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_send(LOG_WARNING, NULL, NULL, __VA_ARGS__)
#define log_error(...)   log_send(LOG_ERR, NULL, NULL, __VA_ARGS__)

#endif
