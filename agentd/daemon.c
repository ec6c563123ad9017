/* daemon.c — the loop: signals, reload, sd_notify READY/STATUS/STOPPING/WATCHDOG. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "apiprobe.h"
#include "clock.h"
#include "cmd.h"
#include "daemon.h"
#include "discover.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "vaultwatch.h"
#include "verify.h"

void
daemon_notify(const char *fmt, ...)
{
#if WITH_SYSTEMD
	char *s;
	va_list ap;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return;
	(void)sd_notify(0, s);
	free(s);
#else
	(void)fmt;
#endif
}

/* The group is looked up by name on every (re)load so a renamed group is
 * noticed; a missing one is a configuration error, not "root only". */
static int
resolve_group(const struct config *cfg, bool *has, gid_t *gid, char **error)
{
	struct group *g;

	*has = false;
	if (cfg->control_group == NULL)
		return 0;
	errno = 0;
	g = getgrnam(cfg->control_group);
	if (g == NULL) {
		if (asprintf(error, "%s: control_group '%s': %s", cfg->path, cfg->control_group,
			     errno ? strerror(errno) : "no such group") < 0)
			*error = NULL;
		return -ENOENT;
	}
	*has = true;
	*gid = g->gr_gid;
	return 0;
}

static void
limits_of(const struct config *cfg, struct control_limits *l)
{
	l->max_clients = cfg->control.max_clients;
	l->idle_timeout = (double)cfg->control.idle_timeout / 1000.0;
}

static void
on_state(struct supervisor *sv, enum sv_state old, enum sv_state state, const char *reason,
	 void *data)
{
	struct daemon *d = data;

	(void)sv;
	daemon_notify("STATUS=%s: %s", supervisor_state_name(state), reason);
	if (d->vaultwatch != NULL)
		vaultwatch_on_state(d->vaultwatch, old, state);
}

static void
stack_gone(void *data)
{
	discover_recheck(data);
}

static struct kube *
kube_of(void *data)
{
	return apiprobe_kube(data);
}

/* A bootstrap borrows the config it started with (bootstrap.h): a replaced one it
 * still uses is kept until a later reload, or the exit, finds it unused. */
static void
retire(struct daemon *d, struct config *old)
{
	const struct config *busy = d->discover ? discover_bootstrap_config(d->discover) : NULL;

	if (d->retired != NULL && d->retired != busy) {
		config_free(d->retired);
		d->retired = NULL;
	}
	if (old == busy && d->retired == NULL)
		d->retired = old;
	else
		config_free(old);
}

int
daemon_reload(struct daemon *d, char **error)
{
	struct config_env env;
	struct config *cfg = NULL, *old;
	struct control_limits limits;
	char field[300];
	bool has_group;
	gid_t gid = 0;
	int r;

	daemon_notify("RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)clock_mono_usec());
	config_env_from_environ(&env);
	*error = NULL;
	r = config_load(d->config_path, &env, &cfg, error);
	if (r == 0)
		r = resolve_group(cfg, &has_group, &gid, error);
	snprintf(field, sizeof(field), "AGENTD_CONFIG=%s", d->config_path);
	if (r < 0) {
		log_send(LOG_ERR, MSGID_CONFIG_INVALID, LOG_FIELDS(field),
			 "reload: keeping the current configuration: %s", *error ? *error : strerror(-r));
		config_free(cfg);
		daemon_notify("READY=1");
		return r;
	}
	if (strcmp(cfg->socket, d->config->socket) != 0)
		log_warning("reload: socket %s -> %s takes effect at the next start", d->config->socket,
			    cfg->socket);
	old = d->config;
	d->config = cfg;
	log_set_level(cfg->log.level);
	limits_of(cfg, &limits);
	control_set_limits(d->control, &limits);
	control_set_group(d->control, has_group, gid);
	supervisor_set_config(d->sv, cfg);
	retire(d, old);
	/* New manifests or values may call for a bootstrap. */
	discover_recheck(d->discover);
	log_send(LOG_NOTICE, MSGID_CONFIG_RELOADED, LOG_FIELDS(field), "reloaded configuration %s",
		 d->config_path);
	daemon_notify("READY=1");
	return 0;
}

static void
stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_send(LOG_NOTICE, MSGID_STOPPING, NULL, "stopping on %s", strsignal(w->signum));
	daemon_notify("STOPPING=1\nSTATUS=stopping");
	ev_break(loop, EVBREAK_ALL);
}

static void
hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = w->data;
	char *error = NULL;

	(void)loop;
	(void)revents;
	(void)daemon_reload(d, &error);
	free(error);
}

#if WITH_SYSTEMD
static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	daemon_notify("WATCHDOG=1");
}
#endif

static int
open_socket(struct daemon *d, bool has_group, gid_t gid, const char **unlink_path)
{
	char *error = NULL;
	int fd;

	fd = control_listen_activated();
	if (fd >= 0) {
		*unlink_path = NULL;
		log_info("control: using the socket passed by systemd");
		return fd;
	}
	if (fd != -ENOENT) {
		log_error("control: the socket passed by systemd is not a listening Unix stream socket");
		return fd;
	}
	fd = control_listen(d->config->socket, has_group, gid, &error);
	if (fd < 0) {
		log_error("%s", error ? error : strerror(-fd));
		free(error);
		return fd;
	}
	*unlink_path = d->config->socket;
	return fd;
}

int
daemon_run(const char *config_path, struct config *cfg)
{
	struct daemon d = { .config_path = config_path, .config = cfg };
	struct control_limits limits;
	const char *unlink_path = NULL;
	char *error = NULL;
	uint64_t wd_usec = 0;
	bool has_group;
	gid_t gid = 0;
	int fd, rc = 1;

	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (d.loop == NULL) {
		log_error("cannot initialise the event loop");
		config_free(cfg);
		return 1;
	}
	d.started = clock_now_usec();
	srandom((unsigned)(d.started ^ (uint64_t)getpid()));
	signal(SIGPIPE, SIG_IGN);
	log_set_level(cfg->log.level);
	if (resolve_group(cfg, &has_group, &gid, &error) < 0) {
		log_error("%s", error ? error : "control_group lookup failed");
		free(error);
		goto out;
	}
	d.status = status_new();
	d.sv = d.status ? supervisor_new(d.loop, d.status, cfg) : NULL;
	if (d.sv == NULL) {
		log_error("out of memory");
		goto out;
	}
	supervisor_on_state(d.sv, on_state, &d);
	if (http_client_new(d.loop, &d.http) < 0 || !(d.apiprobe = apiprobe_new(d.loop, d.http, d.sv)) ||
	    !(d.discover = discover_new(d.loop, d.http, d.apiprobe, d.sv, d.status, &d.config)) ||
	    !(d.vaultwatch = vaultwatch_new(d.loop, d.http, d.sv, d.status, &d.config, kube_of, d.apiprobe)) ||
	    !(d.verify = verify_new(d.loop, d.apiprobe, d.sv, d.status, &d.config))) {
		log_error("cannot set up the Kubernetes client");
		goto out;
	}
	discover_set_vaultwatch(d.discover, d.vaultwatch);
	verify_on_gone(d.verify, stack_gone, d.discover);
	fd = open_socket(&d, has_group, gid, &unlink_path);
	if (fd < 0)
		goto out;
	limits_of(cfg, &limits);
	d.control = control_new(d.loop, fd, unlink_path, &limits, cmd_dispatch, &d);
	if (d.control == NULL) {
		log_error("out of memory");
		close(fd);
		goto out;
	}
	control_set_group(d.control, has_group, gid);

	ev_signal_init(&d.sig_term, stop_cb, SIGTERM);
	ev_signal_init(&d.sig_int, stop_cb, SIGINT);
	ev_signal_init(&d.sig_hup, hup_cb, SIGHUP);
	d.sig_hup.data = &d;
	ev_signal_start(d.loop, &d.sig_term);
	ev_signal_start(d.loop, &d.sig_int);
	ev_signal_start(d.loop, &d.sig_hup);
#if WITH_SYSTEMD
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		ev_timer_init(&d.watchdog, watchdog_cb, (double)wd_usec / 2e6, (double)wd_usec / 2e6);
		ev_timer_start(d.loop, &d.watchdog);
	}
#endif
	supervisor_start(d.sv);
	log_send(LOG_NOTICE, MSGID_STARTED, NULL, "agentd %s started (config %s, socket %s)",
		 AGENTD_VERSION, config_path, d.config->socket);
	daemon_notify("READY=1\nSTATUS=%s", supervisor_state_name(supervisor_state(d.sv)));
	ev_run(d.loop, 0);
	rc = 0;
out:
	if (wd_usec > 0)
		ev_timer_stop(d.loop, &d.watchdog);
	d.control = control_free(d.control);
	d.verify = verify_free(d.verify);
	d.discover = discover_free(d.discover);
	d.vaultwatch = vaultwatch_free(d.vaultwatch);
	d.apiprobe = apiprobe_free(d.apiprobe);
	d.http = http_client_free(d.http);
	d.sv = supervisor_free(d.sv);
	d.status = status_free(d.status);
	config_free(d.config);
	config_free(d.retired);
	ev_loop_destroy(d.loop);
	return rc;
}
