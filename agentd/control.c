/* control.c — the control socket: accept, peer credentials, framing, limits.
 *
 * Client lifetime: a client is freed only at the end of one of its own
 * callbacks (client_reap), never from inside a handler, so a handler that
 * answers synchronously cannot pull the client out from under the reader. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if WITH_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "control.h"
#include "dlist.h"
#include "log.h"
#include "msgid.h"
#include "wipe.h"

struct req;

struct client {
	struct control *ctl;
	struct client *prev, *next;
	int fd;
	ev_io rio, wio;
	ev_timer idle;
	struct control_peer peer;

	uint8_t *in;          /* PROTO_FRAME_MAX bytes */
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_cap;

	struct req *req;      /* the request in flight, or NULL */
	bool peer_eof;        /* the peer shut down its side */
	bool closing;         /* take no more input; close once the output is out */
	bool dead;            /* close now (write error, overflow) */
	int busy;             /* inside one of this client's callbacks */
};

struct req {
	struct control_req pub;   /* first: handlers get &pub */
	struct client *c;
	cJSON *root;
	control_cancel_fn cancel;
	void *cancel_data;
};

struct control {
	struct ev_loop *loop;
	int fd;
	char *unlink_path;
	ev_io accept_io;
	ev_timer accept_pause;
	struct control_limits limits;
	bool has_group;
	gid_t gid;
	control_dispatch_fn dispatch;
	void *data;
	struct client *clients;
	unsigned n_clients;
};

static void client_process(struct client *c);

static void
peer_fields(const struct control_peer *p, char uid[32], char pid[32])
{
	snprintf(uid, 32, "AGENTD_PEER_UID=%u", (unsigned)p->uid);
	snprintf(pid, 32, "AGENTD_PEER_PID=%d", (int)p->pid);
}

static int
queue_frame(struct client *c, enum proto_type type, const cJSON *obj)
{
	uint8_t *frame;
	size_t len;
	int r;

	if (c->dead)
		return -ECONNRESET;
	r = proto_encode_json(type, obj, &frame, &len);
	if (r < 0)
		return r;
	if (c->out_len + len > CONTROL_OUT_MAX) {
		/* The peer does not read: drop it rather than grow without bound. */
		free(frame);
		c->dead = true;
		ev_feed_event(c->ctl->loop, &c->wio, EV_WRITE);
		return -ENOBUFS;
	}
	if (c->out_len + len > c->out_cap) {
		size_t ncap = c->out_cap ? c->out_cap : 4096;
		uint8_t *n;
		while (ncap < c->out_len + len)
			ncap *= 2;
		n = realloc(c->out, ncap);
		if (n == NULL) {
			free(frame);
			return -ENOMEM;
		}
		c->out = n;
		c->out_cap = ncap;
	}
	memcpy(c->out + c->out_len, frame, len);
	c->out_len += len;
	free(frame);
	ev_io_start(c->ctl->loop, &c->wio);
	return 0;
}

static void
queue_error(struct client *c, enum proto_error code, const char *message)
{
	cJSON *e = proto_error_new(code, message);

	if (e != NULL)
		queue_frame(c, PROTO_ERROR, e);
	cJSON_Delete(e);
	queue_frame(c, PROTO_END, NULL);
}

/* No more requests from this client: what is queued goes out, then it closes. */
static void
client_stop_input(struct client *c)
{
	c->closing = true;
	ev_io_stop(c->ctl->loop, &c->rio);
	ev_timer_stop(c->ctl->loop, &c->idle);
}

/* A frame we cannot make sense of: say so, then hang up, since the stream
 * cannot be resynchronised. */
static void
protocol_error(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
protocol_error(struct client *c, const char *fmt, ...)
{
	char msg[256], uid[32], pid[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	peer_fields(&c->peer, uid, pid);
	log_send(LOG_WARNING, MSGID_CONTROL_PROTOCOL, LOG_FIELDS(uid, pid),
		 "control: protocol error from uid %u pid %d: %s", (unsigned)c->peer.uid,
		 (int)c->peer.pid, msg);
	queue_error(c, PROTO_E_PROTOCOL, msg);
	client_stop_input(c);
}

static void
req_free(struct req *r)
{
	/* Requests may carry key material (unseal, secret put). */
	wipe_json_free(r->root);
	free(r);
}

static void
client_free(struct client *c)
{
	struct control *ctl = c->ctl;

	if (c->req != NULL) {
		struct req *r = c->req;
		c->req = NULL;
		if (r->cancel != NULL)
			r->cancel(&r->pub, r->cancel_data);
		req_free(r);
	}
	ev_io_stop(ctl->loop, &c->rio);
	ev_io_stop(ctl->loop, &c->wio);
	ev_timer_stop(ctl->loop, &c->idle);
	close(c->fd);
	if (c->in != NULL)
		explicit_bzero(c->in, PROTO_FRAME_MAX);
	free(c->in);
	free(c->out);
	DLIST_UNLINK(ctl->clients, c);
	ctl->n_clients--;
	free(c);
}

/* The end of every client callback: free the client if it is finished. */
static void
client_reap(struct client *c)
{
	if (c->busy > 0)
		return;
	if (c->dead || (c->closing && c->out_len == 0 && c->req == NULL))
		client_free(c);
}

static void
idle_restart(struct client *c)
{
	ev_timer_stop(c->ctl->loop, &c->idle);
	ev_timer_set(&c->idle, c->ctl->limits.idle_timeout, 0.);
	ev_timer_start(c->ctl->loop, &c->idle);
}

static void
consume(struct client *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	/* Requests may carry key material (unseal): leave none behind. */
	explicit_bzero(c->in + c->in_len - n, n);
	c->in_len -= n;
}

static void
handle_frame(struct client *c, const struct proto_frame *f, size_t size)
{
	const char *command, *why;
	const cJSON *args;
	struct req *r;
	cJSON *root;

	if (f->type != PROTO_REQUEST) {
		protocol_error(c, "expected a REQUEST frame, got %s", proto_type_name(f->type));
		return;
	}
	if (proto_request_parse(f->payload, f->len, &root, &command, &args, &why) < 0) {
		protocol_error(c, "%s", why);
		return;
	}
	consume(c, size);
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		cJSON_Delete(root);
		queue_error(c, PROTO_E_INTERNAL, "out of memory");
		client_stop_input(c);
		return;
	}
	r->c = c;
	r->root = root;
	r->pub.command = command;
	r->pub.args = args;
	r->pub.peer = &c->peer;
	r->pub.data = c->ctl->data;
	c->req = r;
	/* One request at a time: the next waits in the buffer (backpressure). */
	ev_io_stop(c->ctl->loop, &c->rio);
	ev_timer_stop(c->ctl->loop, &c->idle);
	c->ctl->dispatch(&r->pub);
}

static void
client_process(struct client *c)
{
	struct proto_frame f;
	int r;

	while (c->req == NULL && !c->closing && !c->dead && c->in_len > 0) {
		r = proto_decode(c->in, c->in_len, &f);
		if (r == 0)
			break;
		if (r == -EPROTONOSUPPORT)
			protocol_error(c, "protocol version %u not supported: agentd speaks version %d",
				       f.version, PROTO_VERSION);
		else if (r == -EMSGSIZE)
			protocol_error(c, "frame larger than %d bytes", PROTO_FRAME_MAX);
		else if (r < 0)
			protocol_error(c, "not an agentd control frame (bad magic or type)");
		else
			handle_frame(c, &f, (size_t)r);
	}
	if (c->peer_eof && c->req == NULL)
		client_stop_input(c);
}

static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n;

	(void)revents;
	n = read(c->fd, c->in + c->in_len, PROTO_FRAME_MAX - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	c->busy++;
	if (n < 0) {
		c->dead = true;
	} else if (n == 0) {
		c->peer_eof = true;
		ev_io_stop(loop, &c->rio);
		if (c->req == NULL && c->in_len > 0 && proto_decode(c->in, c->in_len, &(struct proto_frame){ 0 }) == 0)
			protocol_error(c, "connection closed inside a frame");
		client_process(c);
	} else {
		/* The idle timer is not reset here: a whole request must arrive
		 * within idle_timeout, so a trickling peer cannot hold a slot. */
		c->in_len += (size_t)n;
		client_process(c);
	}
	c->busy--;
	client_reap(c);
}

static void
write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n;

	(void)revents;
	c->busy++;
	while (!c->dead && c->out_len > 0) {
		n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			c->dead = true;
			break;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (c->out_len == 0) {
		ev_io_stop(loop, &c->wio);
		/* Requests that arrived while the last one ran. */
		client_process(c);
	}
	c->busy--;
	client_reap(c);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client *c = w->data;
	char msg[96];

	(void)loop;
	(void)revents;
	if (c->req != NULL)
		return;
	c->busy++;
	snprintf(msg, sizeof(msg), "idle for %.1fs without a request; closing", c->ctl->limits.idle_timeout);
	log_debug("control: client uid %u pid %d %s", (unsigned)c->peer.uid, (int)c->peer.pid, msg);
	queue_error(c, PROTO_E_LIMIT, msg);
	client_stop_input(c);
	c->busy--;
	client_reap(c);
}

static int
peer_read(int fd, struct control_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	len = sizeof(p->groups);
	/* Supplementary groups as of connect(); an older kernel only gives the primary. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0)
		p->n_groups = len / sizeof(gid_t);
	else
		p->n_groups = 0;
	return 0;
}

/* Over the limit: say why in a frame, without a client slot, then close. */
static void
reject_client(struct control *ctl, int fd)
{
	struct control_peer peer = { 0 };
	char msg[96], uid[32], pid[32];
	uint8_t *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	cJSON *e;

	(void)peer_read(fd, &peer);
	snprintf(msg, sizeof(msg), "too many control clients (limit %u); try again later",
		 ctl->limits.max_clients);
	peer_fields(&peer, uid, pid);
	log_send(LOG_WARNING, MSGID_CONTROL_LIMIT, LOG_FIELDS(uid, pid), "control: %s", msg);
	e = proto_error_new(PROTO_E_LIMIT, msg);
	if (e != NULL && proto_encode_json(PROTO_ERROR, e, &a, &alen) == 0 &&
	    proto_encode_json(PROTO_END, NULL, &b, &blen) == 0) {
		if (send(fd, a, alen, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)alen)
			(void)send(fd, b, blen, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	cJSON_Delete(e);
	free(a);
	free(b);
	close(fd);
}

static void
client_new(struct control *ctl, int fd)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->in = malloc(PROTO_FRAME_MAX);
	if (c == NULL || c->in == NULL || peer_read(fd, &c->peer) < 0) {
		log_warning("control: dropping a connection: %s", c == NULL || c->in == NULL
				    ? "out of memory" : "no peer credentials");
		if (c != NULL)
			free(c->in);
		free(c);
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	ev_io_init(&c->rio, read_cb, fd, EV_READ);
	ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
	ev_timer_init(&c->idle, idle_cb, ctl->limits.idle_timeout, 0.);
	c->rio.data = c->wio.data = c->idle.data = c;
	DLIST_LINK(ctl->clients, c);
	ctl->n_clients++;
	ev_io_start(ctl->loop, &c->rio);
	ev_timer_start(ctl->loop, &c->idle);
	log_debug("control: client uid %u pid %d connected", (unsigned)c->peer.uid, (int)c->peer.pid);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct control *ctl = w->data;
	int fd;

	(void)revents;
	for (;;) {
		fd = accept4(ctl->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Out of descriptors: pause instead of spinning on a ready socket. */
				log_error("control: accept: %s; pausing for 1s", strerror(errno));
				ev_io_stop(loop, &ctl->accept_io);
				/* A one-shot timer that has fired keeps no usable "after":
				 * libev wants it set again before every start. */
				ev_timer_set(&ctl->accept_pause, 1., 0.);
				ev_timer_start(loop, &ctl->accept_pause);
			} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
				log_error("control: accept: %s", strerror(errno));
			}
			return;
		}
		if (ctl->n_clients >= ctl->limits.max_clients)
			reject_client(ctl, fd);
		else
			client_new(ctl, fd);
	}
}

static void
accept_resume_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct control *ctl = w->data;

	(void)revents;
	ev_io_start(loop, &ctl->accept_io);
}

struct control *
control_new(struct ev_loop *loop, int fd, const char *unlink_path,
	    const struct control_limits *limits, control_dispatch_fn dispatch, void *data)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (ctl == NULL)
		return NULL;
	if (unlink_path != NULL && (ctl->unlink_path = strdup(unlink_path)) == NULL) {
		free(ctl);
		return NULL;
	}
	ctl->loop = loop;
	ctl->fd = fd;
	ctl->limits = *limits;
	ctl->dispatch = dispatch;
	ctl->data = data;
	ev_io_init(&ctl->accept_io, accept_cb, fd, EV_READ);
	ev_timer_init(&ctl->accept_pause, accept_resume_cb, 1., 0.);
	ctl->accept_io.data = ctl->accept_pause.data = ctl;
	ev_io_start(loop, &ctl->accept_io);
	return ctl;
}

struct control *
control_free(struct control *ctl)
{
	if (ctl == NULL)
		return NULL;
	while (ctl->clients != NULL)
		client_free(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->accept_io);
	ev_timer_stop(ctl->loop, &ctl->accept_pause);
	close(ctl->fd);
	if (ctl->unlink_path != NULL)
		unlink(ctl->unlink_path);
	free(ctl->unlink_path);
	free(ctl);
	return NULL;
}

void
control_set_limits(struct control *ctl, const struct control_limits *limits)
{
	ctl->limits = *limits;
}

void
control_set_group(struct control *ctl, bool has_group, gid_t gid)
{
	ctl->has_group = has_group;
	ctl->gid = gid;
}

bool
control_peer_privileged(const struct control *ctl, const struct control_peer *peer)
{
	if (peer->uid == 0)
		return true;
	if (!ctl->has_group)
		return false;
	if (peer->gid == ctl->gid)
		return true;
	for (size_t i = 0; i < peer->n_groups; i++)
		if (peer->groups[i] == ctl->gid)
			return true;
	return false;
}

unsigned
control_clients(const struct control *ctl)
{
	return ctl->n_clients;
}

static struct req *
req_of(struct control_req *pub)
{
	return (struct req *)pub;
}

int
control_reply(struct control_req *pub, enum proto_type type, const cJSON *obj)
{
	if (type != PROTO_REPLY && type != PROTO_PROGRESS)
		return -EINVAL;
	return queue_frame(req_of(pub)->c, type, obj);
}

void
control_answer(struct control_req *req, const cJSON *obj, const char *too_big)
{
	if (control_reply(req, PROTO_REPLY, obj) < 0)
		control_error(req, PROTO_E_INTERNAL, "%s", too_big);
	else
		control_end(req);
}

void
control_end(struct control_req *pub)
{
	struct req *r = req_of(pub);
	struct client *c = r->c;

	queue_frame(c, PROTO_END, NULL);
	c->req = NULL;
	req_free(r);
	if (!c->closing && !c->peer_eof && !c->dead) {
		ev_io_start(c->ctl->loop, &c->rio);
		idle_restart(c);
	} else if (c->peer_eof) {
		client_stop_input(c);
	}
	/* Buffered requests and reaping happen in write_cb once END is out. */
	ev_io_start(c->ctl->loop, &c->wio);
}

void
control_error(struct control_req *pub, enum proto_error code, const char *fmt, ...)
{
	struct req *r = req_of(pub);
	char msg[1024];
	cJSON *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = proto_error_new(code, msg);
	if (e != NULL)
		queue_frame(r->c, PROTO_ERROR, e);
	cJSON_Delete(e);
	control_end(pub);
}

void
control_req_on_cancel(struct control_req *pub, control_cancel_fn fn, void *data)
{
	req_of(pub)->cancel = fn;
	req_of(pub)->cancel_data = data;
}

static int
listen_error(char **error, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
listen_error(char **error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return r;
}

int
control_listen(const char *path, bool has_group, gid_t gid, char **error)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	char *dir, *slash;
	int fd, probe, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return listen_error(error, -ENAMETOOLONG, "control socket %s: path longer than %zu bytes",
				    path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return listen_error(error, -EEXIST, "control socket %s: exists and is not a socket",
					    path);
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0)
			return listen_error(error, -errno, "socket: %s", strerror(errno));
		r = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		close(probe);
		if (r == 0)
			return listen_error(error, -EADDRINUSE,
					    "control socket %s: another agentd is listening there", path);
		if (errno != ECONNREFUSED)
			return listen_error(error, -errno, "control socket %s: %s", path, strerror(errno));
		unlink(path);  /* stale: nobody listens */
	}
	dir = strdup(path);
	if (dir == NULL)
		return listen_error(error, -ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			listen_error(error, r, "control socket directory %s: %s", dir, strerror(errno));
			free(dir);
			return r;
		}
	}
	free(dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return listen_error(error, -errno, "socket: %s", strerror(errno));
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = -errno;
		close(fd);
		return listen_error(error, r, "control socket %s: bind: %s", path, strerror(-r));
	}
	if ((has_group && chown(path, (uid_t)-1, gid) < 0) || chmod(path, 0660) < 0 ||
	    listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return listen_error(error, r, "control socket %s: %s", path, strerror(-r));
	}
	return fd;
}

int
control_listen_activated(void)
{
#if WITH_SYSTEMD
	int n = sd_listen_fds(1), fd = SD_LISTEN_FDS_START;

	if (n <= 0)
		return -ENOENT;
	if (n > 1 || sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
		return -EINVAL;
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return fd;
#else
	return -ENOENT;
#endif
}
