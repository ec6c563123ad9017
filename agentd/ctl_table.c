/* ctl_table.c — every agentctl command.  One extern and one table line per
 * command; the command itself lives in ctl_NAME.c. */
#include <stddef.h>

#include "ctl.h"

extern const struct ctl_cmd ctl_status_cmd;
extern const struct ctl_cmd ctl_version_cmd;
extern const struct ctl_cmd ctl_reload_cmd;
extern const struct ctl_cmd ctl_secret_cmd;
extern const struct ctl_cmd ctl_run_cmd;
extern const struct ctl_cmd ctl_unseal_cmd;
extern const struct ctl_cmd ctl_bootstrap_cmd;
extern const struct ctl_cmd ctl_lint_cmd;
extern const struct ctl_cmd ctl_cron_next_cmd;
extern const struct ctl_cmd ctl_verify_cmd;
extern const struct ctl_cmd ctl_metrics_cmd;

const struct ctl_cmd *const ctl_table[] = {
	&ctl_status_cmd,
	&ctl_version_cmd,
	&ctl_reload_cmd,
	&ctl_secret_cmd,
	&ctl_run_cmd,
	&ctl_unseal_cmd,
	&ctl_bootstrap_cmd,
	&ctl_lint_cmd,
	&ctl_cron_next_cmd,
	&ctl_verify_cmd,
	&ctl_metrics_cmd,
	NULL,
};
