/* cmd_table.c — every control command the daemon serves.  One extern and
 * one table line per command; the command itself lives in cmd_NAME.c. */
#include <stddef.h>

#include "cmd.h"

extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_version_entry;
extern const struct cmd_entry cmd_reload_entry;
extern const struct cmd_entry cmd_secret_put_entry;
extern const struct cmd_entry cmd_secret_list_entry;
extern const struct cmd_entry cmd_secret_import_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_unseal_entry;
extern const struct cmd_entry cmd_bootstrap_entry;
extern const struct cmd_entry cmd_resettest_entry;
extern const struct cmd_entry cmd_verify_entry;
extern const struct cmd_entry cmd_metrics_entry;

const struct cmd_entry *const cmd_table[] = {
	&cmd_status_entry,
	&cmd_version_entry,
	&cmd_reload_entry,
	&cmd_secret_put_entry,
	&cmd_secret_list_entry,
	&cmd_secret_import_entry,
	&cmd_run_entry,
	&cmd_unseal_entry,
	&cmd_bootstrap_entry,
	&cmd_resettest_entry,
	&cmd_verify_entry,
	&cmd_metrics_entry,
	NULL,
};
