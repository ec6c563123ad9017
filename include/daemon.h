/* daemon.h — the agentd process: one libev loop, signals, sd_notify, reload.
 *
 * struct daemon is what command handlers (cmd_*.c) get: they read the
 * current configuration and talk to the supervisor through it.  All members
 * are owned by the daemon; `config` is replaced on reload, so never keep a
 * pointer to it across loop iterations.
 */
#ifndef AGENTD_DAEMON_H
#define AGENTD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "config.h"
#include "control.h"
#include "status.h"
#include "supervisor.h"

struct daemon {
	struct ev_loop *loop;
	const char *config_path;   /* borrowed from argv */
	struct config *config;
	struct config *retired;    /* replaced by a reload, still borrowed by a bootstrap */
	struct status *status;
	struct supervisor *sv;
	struct control *control;
	struct http_client *http;      /* shared by every API and Vault client */
	struct apiprobe *apiprobe;     /* apiprobe_kube(): the Kubernetes client */
	struct discover *discover;
	struct vaultwatch *vaultwatch; /* Vault pods, seal state, unseal (NULL without a client) */
	struct verify *verify;         /* the check engine (verify.h) */
	uint64_t started;          /* CLOCK_REALTIME usec */

	ev_signal sig_term, sig_int, sig_hup;
	ev_timer watchdog;
};

/* Runs the daemon until SIGTERM/SIGINT; takes `cfg`.  Returns the process
 * exit status (0 after a clean stop, 1 when it could not start). */
int daemon_run(const char *config_path, struct config *cfg);

/* Re-reads the configuration file.  On success applies it and returns 0; on
 * failure keeps the current one, logs, and returns a negative errno with a
 * malloc'd message (file:line:column) in *error. */
int daemon_reload(struct daemon *d, char **error);

/* sd_notify(3) with a formatted state string; a no-op without systemd. */
void daemon_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
