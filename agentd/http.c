/* http — libcurl multi driven by libev.
 *
 * The shape of curl's docs/examples/evhiperfifo.c: curl tells us which sockets to
 * watch (on_socket) and when to time out (on_timer_set); libev tells curl when a
 * socket is ready (on_io) or the timer fired (on_timer); after every action the
 * finished transfers are drained (drain).  Unlike the example: the timeout is
 * converted in floating point, allocations are checked, a watcher is stopped
 * before it is re-armed, errors go back to the caller instead of exit(), and a
 * 0 ms timeout is run from the loop, never from inside curl's callback. */
#include <curl/curl.h>
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "http.h"
#include "wipe.h"

#define DEFAULT_MAX_BODY ((size_t)8 << 20)
#define DEFAULT_MAX_LINE ((size_t)4 << 20)
#define DEFAULT_CONNECT_MS 10000L

struct http_sock {
	ev_io io;
	curl_socket_t fd;
	struct http_client *client;
	struct http_sock *prev, *next;
};

struct http_client {
	struct ev_loop *loop;
	CURLM *multi;
	ev_timer timer;
	struct http_call *calls;
	struct http_sock *socks;
	size_t ncalls;
};

struct http_call {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	char *body;		/* request body copy */
	size_t body_len;
	char *buf;		/* response body, or the partial stream line */
	size_t len, cap;
	size_t max_body, max_line;
	http_line_fn on_line;
	http_done_fn on_done;
	void *arg;
	int fail;		/* our own reason to abort the transfer */
	bool mode_known, line_mode, finishing;
	char errbuf[CURL_ERROR_SIZE];
	struct http_call *prev, *next;
};

static void
headers_wipe_free(struct curl_slist *h)
{
	for (struct curl_slist *i = h; i; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(h);
}

static int
buf_reserve(struct http_call *call, size_t need)
{
	if (need + 1 <= call->cap)
		return 0;
	size_t cap = call->cap ? call->cap : 4096;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	char *p = realloc(call->buf, cap);
	if (!p)
		return -ENOMEM;
	call->buf = p;
	call->cap = cap;
	return 0;
}

static int
buf_append(struct http_call *call, const char *p, size_t n)
{
	int r = buf_reserve(call, call->len + n);
	if (r < 0)
		return r;
	memcpy(call->buf + call->len, p, n);
	call->len += n;
	call->buf[call->len] = '\0';
	return 0;
}

/* Emits each complete line; keeps a partial one buffered for the next chunk. */
static int
feed_lines(struct http_call *call, const char *p, size_t n)
{
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		if (call->len + seg > call->max_line)
			return -E2BIG;
		int r = buf_append(call, p, seg);
		if (r < 0)
			return r;
		if (!nl)
			return 0;
		p += seg + 1;
		n -= seg + 1;
		size_t ll = call->len;
		if (ll > 0 && call->buf[ll - 1] == '\r')
			call->buf[--ll] = '\0';
		call->len = 0;
		if (ll > 0 && call->on_line(call->arg, call->buf, ll))
			return -ECANCELED;
	}
	return 0;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *ud)
{
	struct http_call *call = ud;
	size_t n = size * nmemb;

	if (!call->mode_known) {
		long status = 0;
		curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
		call->line_mode = call->on_line && status >= 200 && status < 300;
		call->mode_known = true;
	}
	int r;
	if (call->line_mode)
		r = feed_lines(call, p, n);
	else if (call->len + n > call->max_body)
		r = -EFBIG;
	else
		r = buf_append(call, p, n);
	if (r < 0) {
		call->fail = r;
		return 0;	/* makes curl abort with CURLE_WRITE_ERROR */
	}
	return n;
}

static void
call_unlink_free(struct http_call *call)
{
	struct http_client *c = call->client;
	if (call->easy) {
		curl_multi_remove_handle(c->multi, call->easy);
		curl_easy_cleanup(call->easy);
	}
	DLIST_UNLINK(c->calls, call);
	c->ncalls--;
	headers_wipe_free(call->headers);
	wipe_free(call->body, call->body_len);
	wipe_free(call->buf, call->cap);
	free(call);
}

static int
curl_to_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CLIENTCERT:
		return -EPROTO;
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return -ECONNRESET;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static void
call_finish(struct http_call *call, CURLcode rc)
{
	int err = call->fail ? call->fail : curl_to_errno(rc);
	char msg[CURL_ERROR_SIZE + 64];
	struct http_result res = { 0 };

	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &res.status);
	char *ct = NULL;
	curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ct);
	res.content_type = ct;

	switch (call->fail) {
	case 0:
		if (rc == CURLE_OK)
			msg[0] = '\0';
		else
			snprintf(msg, sizeof msg, "%s", call->errbuf[0] ? call->errbuf : curl_easy_strerror(rc));
		break;
	case -EFBIG:
		snprintf(msg, sizeof msg, "response body exceeds %zu bytes", call->max_body);
		break;
	case -E2BIG:
		snprintf(msg, sizeof msg, "streamed line exceeds %zu bytes", call->max_line);
		break;
	case -ECANCELED:
		snprintf(msg, sizeof msg, "stream stopped by its reader");
		break;
	default:
		snprintf(msg, sizeof msg, "%s", strerror(-call->fail));
		break;
	}

	/* A stream that ended on an unterminated line: hand it over so the reader can
	 * judge it (a truncated JSON event is the reader's error to report). */
	if (err == 0 && call->line_mode && call->len > 0) {
		size_t ll = call->len;
		call->len = 0;
		if (call->on_line(call->arg, call->buf, ll)) {
			err = -ECANCELED;
			snprintf(msg, sizeof msg, "stream stopped by its reader");
		}
	}
	if (call->line_mode || !call->buf) {
		res.body = "";
		res.body_len = 0;
	} else {
		res.body = call->buf;
		res.body_len = call->len;
	}
	call->finishing = true;
	call->on_done(call->arg, err, &res, msg);
	call_unlink_free(call);
}

static void
drain(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_call *call = NULL;
		CURLcode rc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		if (call)
			call_finish(call, rc);
	}
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	struct http_sock *hs = w->data;
	struct http_client *c = hs->client;
	curl_socket_t fd = hs->fd;	/* hs may be freed by the action */
	int action = ((revents & EV_READ) ? CURL_CSELECT_IN : 0) |
		     ((revents & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	int running;
	curl_multi_socket_action(c->multi, fd, action, &running);
	drain(c);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct http_client *c = w->data;
	int running;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(c);
}

static void
sock_free(struct http_client *c, struct http_sock *hs)
{
	ev_io_stop(c->loop, &hs->io);
	DLIST_UNLINK(c->socks, hs);
	free(hs);
}

static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	(void)easy;
	struct http_client *c = userp;
	struct http_sock *hs = sockp;

	if (what == CURL_POLL_REMOVE) {
		if (hs) {
			curl_multi_assign(c->multi, fd, NULL);
			sock_free(c, hs);
		}
		return 0;
	}
	int events = ((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (!hs) {
		hs = calloc(1, sizeof *hs);
		if (!hs)
			return -1;	/* curl aborts the transfers on this socket */
		hs->client = c;
		hs->fd = fd;
		DLIST_LINK(c->socks, hs);
		curl_multi_assign(c->multi, fd, hs);
	} else {
		ev_io_stop(c->loop, &hs->io);
	}
	ev_io_init(&hs->io, on_io, fd, events);
	hs->io.data = hs;
	ev_io_start(c->loop, &hs->io);
	return 0;
}

static int
on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	(void)multi;
	struct http_client *c = userp;
	ev_timer_stop(c->loop, &c->timer);
	if (timeout_ms >= 0) {
		/* 0 ms still goes through the loop: curl forbids re-entering it here. */
		ev_timer_set(&c->timer, (double)timeout_ms / 1000.0, 0.0);
		ev_timer_start(c->loop, &c->timer);
	}
	return 0;
}

int
http_client_new(struct ev_loop *loop, struct http_client **out)
{
	static bool global_done;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -EIO;
		global_done = true;
	}
	struct http_client *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi) {
		free(c);
		return -ENOMEM;
	}
	ev_timer_init(&c->timer, on_timer, 0.0, 0.0);
	c->timer.data = c;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	*out = c;
	return 0;
}

struct http_client *
http_client_free(struct http_client *c)
{
	if (!c)
		return NULL;
	while (c->calls)
		call_unlink_free(c->calls);
	ev_timer_stop(c->loop, &c->timer);
	curl_multi_cleanup(c->multi);
	while (c->socks)
		sock_free(c, c->socks);
	free(c);
	return NULL;
}

size_t
http_client_pending(const struct http_client *c)
{
	return c ? c->ncalls : 0;
}

static int
set_method(struct http_call *call, const char *method)
{
	CURL *e = call->easy;
	if (strcmp(method, "GET") == 0 && !call->body) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		return 0;
	}
	if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
	    strcmp(method, "PATCH") && strcmp(method, "DELETE") && strcmp(method, "HEAD"))
		return -EINVAL;
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
		return 0;
	}
	if (call->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	    strcmp(method, "PATCH") == 0) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body ? call->body : "");
	}
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	return 0;
}

static int
set_tls(CURL *e, const struct http_tls *tls)
{
	if (!tls)
		return 0;
	if (tls->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	struct curl_blob b = { .flags = CURL_BLOB_COPY };
	if (tls->ca) {
		b.data = (void *)(uintptr_t)tls->ca;
		b.len = tls->ca_len;
		if (curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b) != CURLE_OK)
			return -ENOTSUP;
	}
	if (tls->cert) {
		b.data = (void *)(uintptr_t)tls->cert;
		b.len = tls->cert_len;
		if (curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b) != CURLE_OK)
			return -ENOTSUP;
	}
	if (tls->key) {
		b.data = (void *)(uintptr_t)tls->key;
		b.len = tls->key_len;
		if (curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b) != CURLE_OK)
			return -ENOTSUP;
	}
	return 0;
}

int
http_start(struct http_client *c, const struct http_request *req, struct http_call **out)
{
	if (!c || !req || !req->url || !req->method || !req->on_done)
		return -EINVAL;
	struct http_call *call = calloc(1, sizeof *call);
	if (!call)
		return -ENOMEM;
	call->client = c;
	call->on_line = req->on_line;
	call->on_done = req->on_done;
	call->arg = req->arg;
	call->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	call->max_line = req->max_line ? req->max_line : DEFAULT_MAX_LINE;
	DLIST_LINK(c->calls, call);
	c->ncalls++;

	int r = -ENOMEM;
	if (req->body) {
		call->body = malloc(req->body_len + 1);
		if (!call->body)
			goto fail;
		memcpy(call->body, req->body, req->body_len);
		call->body[req->body_len] = '\0';
		call->body_len = req->body_len;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	if (!h)
		goto fail;
	call->headers = h;
	for (const char *const *p = req->headers; p && *p; p++) {
		h = curl_slist_append(call->headers, *p);
		if (!h)
			goto fail;
		call->headers = h;
	}
	call->easy = curl_easy_init();
	if (!call->easy)
		goto fail;
	CURL *e = call->easy;
	curl_easy_setopt(e, CURLOPT_URL, req->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 0L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_MS);
	if ((r = set_method(call, req->method)) < 0)
		goto fail;
	if ((r = set_tls(e, req->tls)) < 0)
		goto fail;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		r = -EIO;
		goto fail;
	}
	if (out)
		*out = call;
	return 0;
fail:
	call_unlink_free(call);
	return r;
}

void
http_call_cancel(struct http_call *call)
{
	if (!call || call->finishing)
		return;
	call_unlink_free(call);
}
