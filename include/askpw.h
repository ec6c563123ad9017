/* askpw — a systemd password request (docs/PASSWORD_AGENTS.md in systemd).
 *
 * While a request is open, agentd owns two entries in the ask directory
 * (config ask_password.dir, normally /run/systemd/ask-password): an INI file
 * `ask.XXXXXX` (written under a temporary name, then renamed, so agents never
 * see half a file) and the AF_UNIX SOCK_DGRAM socket `sck.XXXXXX` it names in
 * Socket=.  Agents (systemd-tty-ask-password-agent, the wall and console
 * agents, plymouth) answer with one datagram: "+PASSWORD" or "-" (cancelled).
 * The first answer wins: the request is withdrawn (both entries removed) before
 * the answer is handed on.
 *
 * The answer is read straight into a struct secret (mlock'd, wiped) and handed
 * to the callback, which takes ownership of it.  Only datagrams from root or
 * from agentd's own uid count (SO_PASSCRED), as systemd's requesters do.
 */
#ifndef AGENTD_ASKPW_H
#define AGENTD_ASKPW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "secret.h"

#define ASKPW_MAX_ANSWER 4096

/* What goes in the [Ask] section. */
struct askpw_request {
	pid_t pid;
	const char *socket;   /* absolute path */
	uint64_t not_after;   /* CLOCK_MONOTONIC usec, 0 = no deadline */
	const char *message;  /* one line */
	const char *icon;     /* may be NULL */
	const char *id;       /* "agentd:vault-unseal" */
};

/* Pure: the INI text of a request, malloc'd.  -EINVAL when a value holds a
 * newline (it would end the key), -ENOMEM. */
int askpw_format(const struct askpw_request *r, char **out);

/* Pure: reads back what askpw_format wrote (for tests and agents written in C):
 * fills *r with pointers into a copy owned by *storage (caller frees).
 * Unknown keys are ignored, as agents do.  -EBADMSG (no [Ask] section, no
 * Socket=, a malformed number) with *why a static string. */
int askpw_parse(const char *text, size_t len, struct askpw_request *r, char **storage, const char **why);

/* Pure: classifies one answer datagram.  Returns 1 for "+PASSWORD" (*start and
 * *len give the password within buf, without the '+'), 0 for "-" (cancelled),
 * -EBADMSG for anything else (empty, another first byte). */
int askpw_parse_answer(const char *buf, size_t len, size_t *start, size_t *len_out);

struct askpw;

/* KEY (owned by the callee) is the answer, or NULL when the agent cancelled. */
typedef void (*askpw_answer_fn)(struct secret *key, void *data);

struct askpw *askpw_new(struct ev_loop *loop, askpw_answer_fn fn, void *data);

/* Opens a request in DIR with MESSAGE (no deadline).  A request already open
 * is kept as it is (same message) or replaced (new message).  0, or a negative
 * errno with a malloc'd message naming the path in *error. */
int askpw_ask(struct askpw *a, const char *dir, const char *message, char **error);

/* Withdraws the open request (removes the file and the socket); a no-op when
 * none is open. */
void askpw_withdraw(struct askpw *a);

bool askpw_active(const struct askpw *a);

/* The ask file of the open request (borrowed), or NULL. */
const char *askpw_path(const struct askpw *a);

/* Withdraws, frees; NULL is a no-op; returns NULL. */
struct askpw *askpw_free(struct askpw *a);

#endif
