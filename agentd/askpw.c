/* askpw — the requester side of systemd's password agent protocol. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "askpw.h"
#include "log.h"

struct askpw {
	struct ev_loop *loop;
	askpw_answer_fn fn;
	void *data;
	ev_io io;
	int fd;
	char *ask_path;
	char *sock_path;
	char *message;
};

static bool
one_line(const char *s)
{
	return s == NULL || strpbrk(s, "\r\n") == NULL;
}

int
askpw_format(const struct askpw_request *r, char **out)
{
	char *s;
	int n;

	if (r->socket == NULL || !one_line(r->socket) || !one_line(r->message) || !one_line(r->icon) ||
	    !one_line(r->id))
		return -EINVAL;
	n = asprintf(&s,
		     "[Ask]\nPID=%d\nSocket=%s\nAcceptCached=0\nEcho=0\nNotAfter=%" PRIu64
		     "\nMessage=%s\n%s%s%sId=%s\n",
		     (int)r->pid, r->socket, r->not_after, r->message ? r->message : "",
		     r->icon ? "Icon=" : "", r->icon ? r->icon : "", r->icon ? "\n" : "", r->id ? r->id : "");
	if (n < 0)
		return -ENOMEM;
	*out = s;
	return 0;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EBADMSG : 0;
}

int
askpw_parse(const char *text, size_t len, struct askpw_request *r, char **storage, const char **why)
{
	struct askpw_request q = { 0 };
	bool in_ask = false, seen_ask = false;
	char *copy = strndup(text, len), *line, *next;
	uint64_t v;

	if (copy == NULL)
		return -ENOMEM;
	for (line = copy; line != NULL; line = next) {
		char *eq;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			in_ask = strcmp(line, "[Ask]") == 0;
			seen_ask |= in_ask;
			continue;
		}
		if (!in_ask || (eq = strchr(line, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(line, "PID") == 0) {
			if (parse_u64(eq, &v) < 0 || v == 0 || v > INT32_MAX) {
				*why = "PID= is not a process id";
				goto bad;
			}
			q.pid = (pid_t)v;
		} else if (strcmp(line, "NotAfter") == 0) {
			if (parse_u64(eq, &q.not_after) < 0) {
				*why = "NotAfter= is not a number of microseconds";
				goto bad;
			}
		} else if (strcmp(line, "Socket") == 0) {
			q.socket = eq;
		} else if (strcmp(line, "Message") == 0) {
			q.message = eq;
		} else if (strcmp(line, "Icon") == 0) {
			q.icon = eq;
		} else if (strcmp(line, "Id") == 0) {
			q.id = eq;
		}
	}
	if (!seen_ask) {
		*why = "no [Ask] section";
		goto bad;
	}
	if (q.socket == NULL || q.socket[0] != '/') {
		*why = "no absolute Socket= path";
		goto bad;
	}
	*r = q;
	*storage = copy;
	return 0;
bad:
	free(copy);
	return -EBADMSG;
}

int
askpw_parse_answer(const char *buf, size_t len, size_t *start, size_t *len_out)
{
	if (len == 1 && buf[0] == '-')
		return 0;
	if (len >= 1 && buf[0] == '+') {
		*start = 1;
		*len_out = len - 1;
		return 1;
	}
	return -EBADMSG;
}

struct askpw *
askpw_new(struct ev_loop *loop, askpw_answer_fn fn, void *data)
{
	struct askpw *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->loop = loop;
	a->fn = fn;
	a->data = data;
	a->fd = -1;
	return a;
}

bool
askpw_active(const struct askpw *a)
{
	return a->fd >= 0;
}

const char *
askpw_path(const struct askpw *a)
{
	return a->ask_path;
}

void
askpw_withdraw(struct askpw *a)
{
	if (a->ask_path != NULL)
		(void)unlink(a->ask_path);
	if (a->sock_path != NULL)
		(void)unlink(a->sock_path);
	if (a->fd >= 0) {
		ev_io_stop(a->loop, &a->io);
		close(a->fd);
	}
	a->fd = -1;
	free(a->ask_path);
	free(a->sock_path);
	free(a->message);
	a->ask_path = a->sock_path = a->message = NULL;
}

struct askpw *
askpw_free(struct askpw *a)
{
	if (a == NULL)
		return NULL;
	askpw_withdraw(a);
	free(a);
	return NULL;
}

/* Only root (the agents) or ourselves may answer: anyone able to reach the
 * socket could otherwise feed Vault guesses under agentd's name. */
static bool
trusted(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			return uc.uid == 0 || uc.uid == geteuid();
		}
	}
	return false;
}

static void
on_datagram(struct ev_loop *loop, ev_io *w, int revents)
{
	struct askpw *a = w->data;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct secret *s = secret_new(ASKPW_MAX_ANSWER);
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
			     .msg_controllen = sizeof(control) };
	size_t start = 0, len = 0;
	ssize_t n;
	int r;

	(void)loop;
	(void)revents;
	if (s == NULL) {
		log_error("ask-password: out of memory for an answer");
		return;
	}
	iov.iov_base = s->data;
	iov.iov_len = s->cap;
	n = recvmsg(a->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	if (n < 0 || (size_t)n > s->cap) {
		if (n >= 0)
			log_warning("ask-password: ignoring an answer of %zd bytes (at most %d)", n,
				    ASKPW_MAX_ANSWER);
		secret_free(s);
		return;
	}
	if (!trusted(&mh)) {
		log_warning("ask-password: ignoring an answer from a process that is neither root nor agentd's user");
		secret_free(s);
		return;
	}
	r = askpw_parse_answer(s->data, (size_t)n, &start, &len);
	if (r < 0) {
		log_warning("ask-password: ignoring a datagram that is neither \"+PASSWORD\" nor \"-\"");
		secret_free(s);
		return;
	}
	/* The first answer wins: later ones find no socket. */
	askpw_withdraw(a);
	if (r == 0) {
		secret_free(s);
		a->fn(NULL, a->data);
		return;
	}
	memmove(s->data, s->data + start, len);
	explicit_bzero(s->data + len, s->cap + 1 - len);
	s->len = len;
	a->fn(s, a->data);
}

static int
random_suffix(char *buf, size_t size)
{
	uint8_t b[8];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return -errno;
	snprintf(buf, size, "%02x%02x%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
	return 0;
}

static int
fail(char **error, int r, const char *what, const char *path)
{
	if (asprintf(error, "ask-password: %s %s: %s", what, path, strerror(-r)) < 0)
		*error = NULL;
	return r;
}

static int
open_socket(const char *path, char **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, one = 1, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(error, -ENAMETOOLONG, "socket path too long:", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(error, -errno, "cannot create a socket for", path);
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return fail(error, r, "cannot bind", path);
	}
	(void)chmod(path, 0600);
	return fd;
}

static int
write_ask(const char *dir, const char *suffix, const char *text, char **final, char **error)
{
	char *tmp = NULL, *dst = NULL;
	size_t len = strlen(text);
	int fd, r = 0;

	if (asprintf(&tmp, "%s/.ask.%s", dir, suffix) < 0 || asprintf(&dst, "%s/ask.%s", dir, suffix) < 0) {
		free(tmp);
		return -ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = fail(error, -errno, "cannot create", tmp);
		goto out;
	}
	/* The umask (0077 under systemd) must not hide the request from agents. */
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len) {
		r = fail(error, errno ? -errno : -EIO, "cannot write", tmp);
		close(fd);
		(void)unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, dst) < 0) {
		r = fail(error, -errno, "cannot rename into place", dst);
		(void)unlink(tmp);
		goto out;
	}
	*final = dst;
	dst = NULL;
out:
	free(tmp);
	free(dst);
	return r;
}

int
askpw_ask(struct askpw *a, const char *dir, const char *message, char **error)
{
	struct askpw_request q = { .pid = getpid(), .message = message, .id = "agentd:vault-unseal",
				   .icon = "dialog-password" };
	char suffix[32], *text = NULL;
	int r;

	*error = NULL;
	if (a->fd >= 0 && a->message != NULL && strcmp(a->message, message) == 0)
		return 0;
	askpw_withdraw(a);
	r = random_suffix(suffix, sizeof(suffix));
	if (r < 0)
		return fail(error, r, "no randomness for a name in", dir);
	if (asprintf(&a->sock_path, "%s/sck.%s", dir, suffix) < 0 || (a->message = strdup(message)) == NULL) {
		askpw_withdraw(a);
		return -ENOMEM;
	}
	a->fd = open_socket(a->sock_path, error);
	if (a->fd < 0) {
		r = a->fd;
		a->fd = -1;
		free(a->sock_path);
		a->sock_path = NULL;
		askpw_withdraw(a);
		return r;
	}
	q.socket = a->sock_path;
	r = askpw_format(&q, &text);
	if (r == 0)
		r = write_ask(dir, suffix, text, &a->ask_path, error);
	free(text);
	if (r < 0) {
		askpw_withdraw(a);
		return r;
	}
	ev_io_init(&a->io, on_datagram, a->fd, EV_READ);
	a->io.data = a;
	ev_io_start(a->loop, &a->io);
	return 0;
}
