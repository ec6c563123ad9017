/* control.h — the control socket server (the daemon side of agentctl).
 *
 * control owns the listening socket, every client connection, their buffers
 * and timers.  It decodes frames (proto.h), enforces the limits (frame size,
 * client count, output queue, idle timeout), answers protocol errors itself
 * and hands each well-formed REQUEST to the dispatch function as a
 * `struct control_req`.
 *
 * A request is answered with any number of control_reply() frames and then
 * exactly one control_end() or control_error(); after either, the request is
 * freed and must not be touched.  A handler may answer later from the loop
 * (a bootstrap streaming progress): it keeps the pointer and registers a
 * cancel callback with control_req_on_cancel(); if the client goes away
 * first, control calls it and frees the request (the callback only drops
 * its pointer: it must not answer).
 */
#ifndef AGENTD_CONTROL_H
#define AGENTD_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "proto.h"

#define CONTROL_PEER_GROUPS_MAX 64
#define CONTROL_OUT_MAX (1024 * 1024)   /* queued reply bytes per client */

struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	size_t n_groups;                        /* supplementary groups (SO_PEERGROUPS) */
	gid_t groups[CONTROL_PEER_GROUPS_MAX];
};

struct control_req {
	const char *command;           /* borrowed from the request, valid until end */
	const cJSON *args;             /* the "args" object, or NULL */
	const struct control_peer *peer;
	void *data;                    /* the dispatch data given to control_new */
};

struct control;

typedef void (*control_dispatch_fn)(struct control_req *req);
typedef void (*control_cancel_fn)(struct control_req *req, void *data);

struct control_limits {
	unsigned max_clients;
	double idle_timeout;           /* seconds to send a whole request, from connect or
					* the previous END; none while a request runs */
};

/* Creates the server on an already listening socket (from control_listen or
 * socket activation); takes `fd`.  `unlink_path`, if not NULL, is removed
 * when the server is freed.  Returns NULL on allocation failure. */
struct control *control_new(struct ev_loop *loop, int fd, const char *unlink_path,
			    const struct control_limits *limits, control_dispatch_fn dispatch,
			    void *data);

/* Closes every client (cancelling requests), the socket, unlinks the path;
 * accepts NULL; returns NULL. */
struct control *control_free(struct control *ctl);

/* New limits apply to new connections and timers from now on. */
void control_set_limits(struct control *ctl, const struct control_limits *limits);

/* Who may run mutating commands besides root; has_group false: root only. */
void control_set_group(struct control *ctl, bool has_group, gid_t gid);

/* True when the peer is root or belongs to the control group. */
bool control_peer_privileged(const struct control *ctl, const struct control_peer *peer);

/* Creates, binds and listens on a Unix socket at `path`: non-blocking,
 * close-on-exec, mode 0660 (group `gid` when has_group).  Creates a missing
 * parent directory (0755).  Refuses to replace a live socket (it connects
 * first) or anything that is not a socket; removes a stale one.  Returns the
 * fd, or a negative errno with a malloc'd message in *error. */
int control_listen(const char *path, bool has_group, gid_t gid, char **error);

/* A listening AF_UNIX stream socket passed by systemd, or -ENOENT. */
int control_listen_activated(void);

/* Queues a REPLY or PROGRESS frame carrying `obj`. 0, or a negative errno
 * (-EMSGSIZE: the object does not fit in one frame; the request goes on). */
int control_reply(struct control_req *req, enum proto_type type, const cJSON *obj);

/* Ends the reply stream with END; frees the request. */
void control_end(struct control_req *req);

/* Sends ERROR {"error": code, "message": ...} then END; frees the request. */
void control_error(struct control_req *req, enum proto_error code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole answer: one REPLY frame carrying `obj` (still the caller's), then
 * END; or, when `obj` does not fit in a frame, an internal ERROR whose message
 * is `too_big`.  Frees the request either way. */
void control_answer(struct control_req *req, const cJSON *obj, const char *too_big);

void control_req_on_cancel(struct control_req *req, control_cancel_fn fn, void *data);

/* Number of connected clients (tests and metrics). */
unsigned control_clients(const struct control *ctl);

#endif
