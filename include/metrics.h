/* metrics — the Prometheus text exposition (format 0.0.4) of agentd's state
 * and every check, for `agentctl metrics` and node_exporter's textfile
 * collector (config metrics.textfile).
 *
 *   agentd_up 1
 *   agentd_state{state="healthy"} 1          one line per state, 0 or 1
 *   agentd_state_since_seconds 1.7e9        Unix time the state was entered
 *   agentd_check_ok{check="pods",severity="critical"} 1
 *   agentd_check_since_seconds{check="pods"} 1.7e9
 */
#ifndef AGENTD_METRICS_H
#define AGENTD_METRICS_H

#include <stdint.h>

#include "status.h"
#include "supervisor.h"

/* The exposition text (malloc'd, caller frees), or NULL on allocation
 * failure.  STATE_SINCE is CLOCK_REALTIME usec.  Pure. */
char *metrics_format(const struct status *st, enum sv_state state, uint64_t state_since);

/* Writes TEXT to PATH atomically (a temporary file in the same directory,
 * mode 0644, fsync, rename), so a collector never reads half a file.
 * 0, or a negative errno with a malloc'd message naming the path in *err. */
int metrics_write(const char *path, const char *text, char **err);

#endif
