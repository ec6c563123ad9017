/* http — asynchronous HTTP(S) on the libev loop: libcurl multi, one ev_io per
 * socket, one ev_timer.  Keep-alive and HTTP/2 multiplexing come from sharing one
 * multi handle; TLS material is passed to curl as in-memory blobs, never files. */
#ifndef AGENTD_HTTP_H
#define AGENTD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct ev_loop;
struct http_client;
struct http_call;

/* TLS material, PEM, borrowed for the duration of http_start (curl copies blobs). */
struct http_tls {
	const char *ca;		/* trust anchors; NULL = system store */
	size_t ca_len;
	const char *cert;	/* client certificate; NULL = none */
	size_t cert_len;
	const char *key;	/* client key (secret); NULL = none */
	size_t key_len;
	bool insecure;		/* skip peer verification: the caller warns loudly */
};

/* The finished exchange, valid only during the done callback. */
struct http_result {
	long status;		/* HTTP status, 0 when no response arrived */
	const char *body;	/* NUL-terminated (also when empty); never NULL */
	size_t body_len;
	const char *content_type; /* may be NULL */
};

/* err is 0 or a negative errno: -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS),
 * -EFBIG (body over max_body), -E2BIG (stream line over max_line), -ECANCELED
 * (the line callback asked to stop), -EIO (anything else).  msg says what
 * happened in words (never NULL; "" when err is 0).  With err != 0, res->status may
 * still carry a status that arrived before the failure.  The callback may start new
 * calls and cancel others, but must not free the client. */
typedef void (*http_done_fn)(void *arg, int err, const struct http_result *res, const char *msg);

/* Streaming: called once per complete line (without the newline, NUL-terminated)
 * of a 2xx response; a non-2xx body is buffered and handed to done instead.
 * Return true to stop the transfer (done then gets -ECANCELED). */
typedef bool (*http_line_fn)(void *arg, const char *line, size_t len);

struct http_request {
	const char *method;	/* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *url;
	const char *const *headers; /* "Name: value" strings, NULL-terminated; may be NULL */
	const char *body;	/* may be NULL */
	size_t body_len;
	const struct http_tls *tls; /* may be NULL */
	long timeout_ms;	/* whole transfer; 0 = none (watches) */
	long connect_timeout_ms; /* 0 = 10 s */
	size_t max_body;	/* 0 = 8 MiB; buffered bodies over it fail with -EFBIG */
	size_t max_line;	/* 0 = 4 MiB; a longer streamed line fails with -E2BIG */
	http_line_fn on_line;	/* NULL = buffer the whole body */
	http_done_fn on_done;	/* required */
	void *arg;
};

/* A client owns the curl multi handle and its watchers; free it with http_client_free
 * (which cancels every pending call without calling its callbacks). */
int http_client_new(struct ev_loop *loop, struct http_client **out);
struct http_client *http_client_free(struct http_client *c);

/* Starts a call.  Everything in req is copied; header strings (which may hold a
 * bearer token) are wiped when the call ends.  *out (optional) is a handle valid
 * until the done callback returns or http_call_cancel. */
int http_start(struct http_client *c, const struct http_request *req, struct http_call **out);

/* Cancels a pending call; its done callback is not called.  Not from inside a
 * line callback (return true there instead). */
void http_call_cancel(struct http_call *call);

/* Number of calls in flight (tests, status). */
size_t http_client_pending(const struct http_client *c);

#endif
