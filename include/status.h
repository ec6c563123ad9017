/* status.h — the check registry: what `agentctl status` lists under "checks".
 *
 * A check has a stable name (DESIGN.md: api, vault-sealed, pods, cron-NAME,
 * ...), ok, severity, a message in words and `since` (when ok last changed).
 * status_set() logs exactly one journal entry per transition (first report,
 * ok flipped, severity changed, or a failing check's reason changed) with
 * MESSAGE_ID MSGID_CHECK_FAILED or MSGID_CHECK_OK and the fields
 * AGENTD_CHECK and AGENTD_SEVERITY; while the check stays as it is, nothing
 * is logged again.  A passing check may reword its message silently.
 * `since` moves only when ok flips.
 */
#ifndef AGENTD_STATUS_H
#define AGENTD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum status_severity {
	STATUS_INFO,
	STATUS_WARNING,
	STATUS_CRITICAL,
};

struct status_check {
	char *name;
	bool ok;
	enum status_severity severity;
	char *message;
	uint64_t since;   /* CLOCK_REALTIME usec of the last transition */
};

struct status;

/* Returns a new empty registry, or NULL on allocation failure. */
struct status *status_new(void);

/* Frees the registry and its checks; accepts NULL; returns NULL. */
struct status *status_free(struct status *st);

/* Creates or updates check `name`.  Returns 1 when this was logged (see
 * above), 0 when unchanged, -ENOMEM or -EINVAL (empty name). */
int status_set(struct status *st, const char *name, bool ok, enum status_severity severity,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Removes check `name` (a cron job that no longer exists).  -ENOENT if absent. */
int status_remove(struct status *st, const char *name);

/* Borrowed pointer into the registry, valid until the next set/remove; NULL if absent. */
const struct status_check *status_get(const struct status *st, const char *name);

/* Number of checks and the i-th in registration order (borrowed). */
size_t status_count(const struct status *st);
const struct status_check *status_at(const struct status *st, size_t i);

/* True when every check is ok (and there is at least one). */
bool status_all_ok(const struct status *st);

/* The failing checks in words, into BUF (truncated to SIZE, "" when none):
 * "pods, quota" or, WITH_MESSAGES, "pods: 1/3 ready; quota: missing". */
void status_failing(const struct status *st, bool with_messages, char *buf, size_t size);

/* A new JSON array of {"name","ok","severity","message","since"}; NULL on OOM. */
cJSON *status_checks_json(const struct status *st);

const char *status_severity_name(enum status_severity s);

#endif
