/* ctl_reload.c — `agentctl reload`: ask agentd to re-read its configuration. */
#include "ctl.h"

const struct ctl_cmd ctl_reload_cmd = {
	.name = "reload",
	.usage = "",
	.summary = "re-read the configuration (root or control group)",
	.exec = ctl_exec_simple,
};
