/* prompt — hidden input for agentctl's unseal keys, tokens and secret values. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prompt.h"

/* The terminal state to put back; global so that the signal handler can. */
static struct termios saved;
static int saved_fd = -1;

static void
restore_tty(void)
{
	if (saved_fd >= 0)
		(void)tcsetattr(saved_fd, TCSAFLUSH, &saved);
	saved_fd = -1;
}

/* An interrupted prompt must not leave the operator's terminal without echo. */
static void
on_signal(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

int
prompt_read_line(int fd, struct secret *s)
{
	char c = 0;
	bool any = false;
	int r = 0;

	for (;;) {
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		any = true;
		if (c == '\n')
			break;
		if (secret_append(s, &c, 1) < 0) {
			r = -EMSGSIZE;
			break;
		}
	}
	explicit_bzero(&c, sizeof(c));
	if (r < 0)
		return r;
	if (s->len > 0 && s->data[s->len - 1] == '\r')
		s->data[--s->len] = '\0';
	return any ? 1 : 0;
}

int
prompt_hidden(int in_fd, int out_fd, const char *question, struct secret *s)
{
	struct termios t;
	int r;

	if (tcgetattr(in_fd, &saved) < 0)
		return -errno;
	t = saved;
	t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	t.c_lflag |= ICANON;
	saved_fd = in_fd;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	dprintf(out_fd, "%s", question);
	r = tcsetattr(in_fd, TCSAFLUSH, &t) < 0 ? -errno : prompt_read_line(in_fd, s);
	restore_tty();
	dprintf(out_fd, "\n");
	return r;
}
