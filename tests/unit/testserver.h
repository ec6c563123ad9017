/* Helpers for the client tests: start tests/unit/http_testserver.py (or another
 * Python test server), read its READY line, load its PEM files, connect a kube
 * client to it, run the loop until a flag is set.  Header-only: each test binary
 * includes it once. */
#ifndef AGENTD_TESTSERVER_H
#define AGENTD_TESTSERVER_H

#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http.h"
#include "kube.h"
#include "readfile.h"

struct testserver {
	pid_t pid;
	int stdin_fd;		/* closing it stops the server */
	int port;
	char dir[64];
};

/* DIR/NAME (at most 1 MiB) read whole, NUL-terminated, malloc'd; NULL on error. */
static inline char *
ts_slurp(const char *dir, const char *name, size_t *len)
{
	char path[256], *buf;
	size_t n;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (readfile(path, 1 << 20, &buf, &n) < 0)
		return NULL;
	if (len)
		*len = n;
	return buf;
}

/* script: path relative to the repository root; extra: one more argv entry or NULL.
 * The server gets the temp dir as argv[1] and must print "READY port=N". */
static inline int
ts_start(struct testserver *ts, const char *script, const char *extra)
{
	memset(ts, 0, sizeof *ts);
	snprintf(ts->dir, sizeof ts->dir, "/tmp/agentd-test-XXXXXX");
	if (!mkdtemp(ts->dir))
		return -1;
	int in[2], out[2];
	if (pipe(in) < 0 || pipe(out) < 0)
		return -1;
	ts->pid = fork();
	if (ts->pid < 0)
		return -1;
	if (ts->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, ts->dir, extra, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	ts->stdin_fd = in[1];
	FILE *f = fdopen(out[0], "r");
	char line[256];
	int ok = -1;
	while (f && fgets(line, sizeof line, f)) {
		if (sscanf(line, "READY port=%d", &ts->port) == 1) {
			ok = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return ok;
}

/* Starts tests/sim/k3sim on a fresh state dir; ts->dir is the state dir, its
 * kubeconfig is ts->dir/kubeconfig. */
static inline int
ts_start_k3sim(struct testserver *ts)
{
	memset(ts, 0, sizeof *ts);
	snprintf(ts->dir, sizeof ts->dir, "/tmp/agentd-sim-XXXXXX");
	if (!mkdtemp(ts->dir))
		return -1;
	int out[2];
	if (pipe(out) < 0)
		return -1;
	ts->pid = fork();
	if (ts->pid < 0)
		return -1;
	if (ts->pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl("/usr/bin/python3", "python3", "tests/sim/k3sim", "--state", ts->dir, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	ts->stdin_fd = open("/dev/null", O_RDONLY);
	FILE *f = fdopen(out[0], "r");
	char line[512];
	int ok = -1;
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "READY ", 6) == 0) {
			ok = 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return ok;
}

static inline void
ts_stop(struct testserver *ts)
{
	if (ts->pid > 0) {
		close(ts->stdin_fd);
		kill(ts->pid, SIGTERM);
		waitpid(ts->pid, NULL, 0);
		ts->pid = 0;
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", ts->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", ts->dir);
}

/* A kube client on the kubeconfig the server TS wrote (TS->dir/kubeconfig): a
 * new loop, HTTP client, kind table and kube.  0, or -1 after saying why. */
static inline int
ts_kube_connect(const struct testserver *ts, struct ev_loop **loop, struct http_client **http,
		struct kinds **kinds, struct kube **kube)
{
	char kc_path[128];
	snprintf(kc_path, sizeof kc_path, "%s/kubeconfig", ts->dir);
	struct kubeconfig *kc;
	char *err = NULL;
	if (kubeconfig_load(kc_path, NULL, &kc, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return -1;
	}
	*loop = ev_loop_new(EVFLAG_AUTO);
	if (http_client_new(*loop, http) < 0 || kinds_new(kinds) < 0 || kube_new(*loop, *http, kc, *kinds, 5000, kube) < 0)
		return -1;
	return 0;
}

/* Frees what ts_kube_connect made. */
static inline void
ts_kube_close(struct ev_loop *loop, struct http_client **http, struct kinds **kinds, struct kube **kube)
{
	*kube = kube_free(*kube);
	*http = http_client_free(*http);
	*kinds = kinds_free(*kinds);
	ev_loop_destroy(loop);
}

static inline void
ts_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)revents;
	*(int *)w->data = 1;
	ev_break(loop, EVBREAK_ALL);
}

static inline void
ts_check_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	if (*(int *)w->data)
		ev_break(loop, EVBREAK_ALL);
}

/* Runs the loop until *flag != 0 or seconds pass; returns 0 if the flag was set. */
static inline int
ts_run_until(struct ev_loop *loop, int *flag, double seconds)
{
	int timed_out = 0;
	ev_timer t;
	ev_prepare p;
	ev_timer_init(&t, ts_timeout_cb, seconds, 0.0);
	t.data = &timed_out;
	ev_prepare_init(&p, ts_check_cb);
	p.data = flag;
	ev_timer_start(loop, &t);
	ev_prepare_start(loop, &p);
	while (!*flag && !timed_out)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	ev_prepare_stop(loop, &p);
	return *flag ? 0 : -1;
}

#endif
