/* config.h — agentd's configuration: an immutable struct parsed from YAML.
 *
 * config_parse() is pure (no I/O, no logging): it parses a buffer, applies
 * defaults and the environment overrides it is given, and either returns a
 * complete struct or an error naming file:line:column and what was expected.
 * config_load() is the thin file loader around it.  Everything else only
 * ever sees `const struct config *`.
 *
 * Adding a key: a field here, one entry in the key tables in config.c (name,
 * kind, offset, default, bounds); parsing, defaults, errors and the
 * normalised output (`agentd -n`) follow from the table.
 */
#ifndef AGENTD_CONFIG_H
#define AGENTD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_DEFAULT_PATH "/etc/agentd/agentd.yaml"
#define CONFIG_MAX_SIZE     (1024 * 1024)

struct config_strlist {
	char **v;
	size_t n;
};

/* Which values came from the environment rather than the file. */
enum {
	CONFIG_ENV_KUBECONFIG = 1 << 0,  /* $KUBECONFIG */
	CONFIG_ENV_SOCKET = 1 << 1,      /* $AGENTD_SOCKET */
	CONFIG_ENV_RUNTIME_DIR = 1 << 2, /* $RUNTIME_DIRECTORY (socket directory) */
	CONFIG_ENV_STATE_DIR = 1 << 3,   /* $STATE_DIRECTORY */
	CONFIG_ENV_CREDENTIAL = 1 << 4,  /* $CREDENTIALS_DIRECTORY/kubeconfig */
};

/* Durations are milliseconds.  Strings are NUL-terminated; optional ones are
 * NULL when unset.  Paths are absolute (relative ones were resolved against
 * the config file's directory) and lexically normalised. */
struct config {
	char *path;             /* the file, as given to config_parse/config_load */
	unsigned env_overrides; /* CONFIG_ENV_* */

	char *kubeconfig;
	char *socket;
	char *state_dir;
	char *control_group;    /* optional: NULL means root only */
	char *manifests;        /* directory */
	char *values;           /* file */
	char *values_override;  /* optional file */

	struct {
		char *namespace;
		char *selector;
		unsigned port;
		char *address;  /* optional direct URL, bypasses the API server's pod proxy */
		uint64_t pod_recovery_deadline;  /* after an unseal, when a pod still held is stuck */
		struct {
			unsigned shares;
			unsigned threshold;
			struct config_strlist pgp_keys;  /* empty, or one per share */
		} init;
	} vault;

	struct {
		uint64_t backoff_initial;
		uint64_t backoff_max;
		uint64_t request_timeout;
	} api;

	struct {
		bool enabled;
		char *dir;
	} ask_password;

	struct {
		uint64_t interval;
		uint64_t grace;
	} verify;

	struct {
		char *textfile;  /* optional */
	} metrics;

	struct {
		int level;       /* syslog priority, LOG_ERR..LOG_DEBUG */
	} log;

	struct {
		unsigned max_clients;
		uint64_t idle_timeout;
	} control;
};

/* Environment overrides; any member may be NULL.  state_directory and
 * runtime_directory may be colon-separated lists (systemd): the first entry
 * is used.  The socket keeps its file name inside the runtime directory. */
struct config_env {
	const char *kubeconfig;         /* $KUBECONFIG */
	const char *socket;             /* $AGENTD_SOCKET, wins over runtime_directory */
	const char *state_directory;    /* $STATE_DIRECTORY */
	const char *runtime_directory;  /* $RUNTIME_DIRECTORY */
	/* $CREDENTIALS_DIRECTORY/kubeconfig when that file exists (systemd's
	 * LoadCredential=kubeconfig:...): the kubeconfig when the file sets none
	 * and $KUBECONFIG is unset. */
	const char *kubeconfig_credential;
};

/* Fills `env` from the process environment (pointers into environ, and
 * kubeconfig_credential into a static buffer: it checks the file exists). */
void config_env_from_environ(struct config_env *env);

/* Parses buf[0..len).  `path` names the file in messages; `base_dir` (absolute)
 * resolves relative paths.  `env` may be NULL.  Returns 0 and a new config in
 * *out, or a negative errno and a malloc'd message in *error
 * ("PATH:LINE:COL: what: expected ..., got ..."). */
int config_parse(const char *buf, size_t len, const char *path, const char *base_dir,
		 const struct config_env *env, struct config **out, char **error);

/* Reads `path` (at most CONFIG_MAX_SIZE) and parses it with the real
 * directory of the file as base.  Same contract as config_parse. */
int config_load(const char *path, const struct config_env *env, struct config **out,
		char **error);

/* The normalised configuration as YAML that config_parse accepts again;
 * malloc'd, or NULL on allocation failure. */
char *config_format(const struct config *c);

/* Frees everything; accepts NULL; returns NULL. */
struct config *config_free(struct config *c);

/* Formats milliseconds as the config syntax does ("500ms", "30s", "1h30m");
 * writes at most `size` bytes including the NUL. */
void config_format_duration(uint64_t ms, char *buf, size_t size);

#endif
