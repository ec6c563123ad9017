/* kube — Kubernetes REST and watch over http.c. */
#include <ctype.h>
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "http.h"
#include "kube.h"
#include "wipe.h"

/* The server closes the stream then and we re-watch from the last version.
 * Each re-watch is a request; an hour (the API server honours any value; its
 * own default is 30-60 min) keeps 23 idle watches under 0.4 requests/min.  A
 * dead peer is found sooner by TCP keepalive, a cut stream at once. */
#define WATCH_TIMEOUT_S 3600
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000
#define MAX_PATH 2048

struct kube {
	struct ev_loop *loop;
	struct http_client *http;
	struct kubeconfig *kc;
	struct kinds *kinds;
	long timeout_ms;
	struct kube_call *calls;
	struct kube_watch *watches;
};

struct kube_call {
	struct kube *k;
	struct http_call *http;
	kube_done_fn cb;
	void *arg;
	bool expect_json;
	struct kube_call *prev, *next;
};

struct kube_watch {
	struct kube *k;
	const struct kind_info *ki;
	char *ns, *selector, *rv;
	struct kube_watch_ops ops;
	void *arg;
	struct kube_call *list;		/* pending list */
	struct http_call *stream;	/* pending watch stream */
	ev_timer retry;
	long retry_ms;
	unsigned lists;
	int busy;			/* inside one of our callbacks */
	bool stopped, gone, bad_event;
	char bad_msg[160];
	struct kube_watch *prev, *next;
};

static const char *
transport_reason(int err)
{
	switch (err) {
	case -ECONNREFUSED:
		return "ConnectionRefused";
	case -ETIMEDOUT:
		return "Timeout";
	case -EPROTO:
		return "TLSError";
	case -ECONNRESET:
		return "ConnectionReset";
	case -EHOSTUNREACH:
		return "HostUnreachable";
	default:
		return "TransportError";
	}
}

static const char *
status_reason(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return "Unknown";
	}
}

static int
status_errno(long status, const char *reason)
{
	if (status == 409)
		return reason && strcmp(reason, "AlreadyExists") == 0 ? -EEXIST : -EBUSY;
	switch (status) {
	case 400:
	case 422:
		return -EINVAL;
	case 401:
		return -EACCES;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 410:
		return -ESTALE;
	case 429:
	case 503:
		return -EAGAIN;
	case 504:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/* A printable, single-line excerpt of an unknown body. */
static void
excerpt(const char *body, size_t len, char *out, size_t size)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)body[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static const char *
json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* True when BODY looks like the start of a JSON value cut short: an object or
 * array still open (or a string unclosed) at the end. */
static bool
json_unterminated(const char *body, size_t len)
{
	int depth = 0;
	bool in_str = false, esc = false;
	if (len == 0 || (body[0] != '{' && body[0] != '['))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = body[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
	}
	return in_str || depth > 0;
}

void
kube_result_from_http(struct kube_result *r, int err, long status, const char *body, size_t len,
		      const char *transport_msg, bool expect_json, cJSON **json, char *msg, size_t msgsize)
{
	*json = NULL;
	memset(r, 0, sizeof *r);
	r->status = status;
	r->body = body ? body : "";
	r->body_len = body ? len : 0;
	r->reason = "";
	r->message = msg;
	msg[0] = '\0';
	if (err) {
		r->err = err;
		r->reason = transport_reason(err);
		snprintf(msg, msgsize, "%s", transport_msg && *transport_msg ? transport_msg : strerror(-err));
		return;
	}
	cJSON *j = NULL;
	if (len > 0)
		j = cJSON_ParseWithLengthOpts(body, len, NULL, false);
	if (status >= 400) {
		const char *sreason = NULL, *smsg = NULL;
		if (cJSON_IsObject(j) && json_str(j, "kind") && strcmp(json_str(j, "kind"), "Status") == 0) {
			sreason = json_str(j, "reason");
			smsg = json_str(j, "message");
		}
		r->err = status_errno(status, sreason);
		r->reason = sreason && *sreason ? sreason : status_reason(status);
		if (smsg && *smsg) {
			snprintf(msg, msgsize, "%s", smsg);
		} else {
			char ex[200];
			excerpt(r->body, r->body_len, ex, sizeof ex);
			snprintf(msg, msgsize, "HTTP %ld %s%s%s", status, status_reason(status), ex[0] ? ": " : "", ex);
		}
	} else if (expect_json && !j) {
		r->err = -EBADMSG;
		r->reason = "BadResponse";
		char ex[48];
		excerpt(r->body, r->body_len < 40 ? r->body_len : 40, ex, sizeof ex);
		if (len == 0)
			snprintf(msg, msgsize, "empty response body where JSON was expected (HTTP %ld)", status);
		else if (json_unterminated(body, len))
			snprintf(msg, msgsize, "truncated JSON response (%zu bytes, HTTP %ld)", len, status);
		else
			snprintf(msg, msgsize, "response is not JSON (HTTP %ld, %zu bytes: \"%s\")", status, len, ex);
	}
	r->json = j;
	*json = j;
}

int
kube_query_escape(const char *s, char *buf, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
		if (o + (plain ? 1 : 3) >= size)
			return -ENAMETOOLONG;
		if (plain) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (o >= size)
		return -ENAMETOOLONG;
	buf[o] = '\0';
	return 0;
}

static bool
valid_segment(const char *s)
{
	if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != ':' && *s != '_')
			return false;
	return true;
}

int
kube_path(const struct kind_info *ki, const char *ns, const char *name, const char *sub, char *buf, size_t size)
{
	if (!ki || (ns && !valid_segment(ns)) || (name && !valid_segment(name)) || (sub && !valid_segment(sub)) ||
	    (sub && !name) || (ki->namespaced && name && !ns))
		return -EINVAL;
	int n;
	if (ki->group[0])
		n = snprintf(buf, size, "/apis/%s/%s", ki->group, ki->version);
	else
		n = snprintf(buf, size, "/api/%s", ki->version);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	size_t o = (size_t)n;
	if (ns && ki->namespaced) {
		n = snprintf(buf + o, size - o, "/namespaces/%s", ns);
		if (n < 0 || (size_t)n >= size - o)
			return -ENAMETOOLONG;
		o += (size_t)n;
	}
	n = snprintf(buf + o, size - o, "/%s%s%s%s%s", ki->plural, name ? "/" : "", name ? name : "", sub ? "/" : "",
		     sub ? sub : "");
	if (n < 0 || (size_t)n >= size - o)
		return -ENAMETOOLONG;
	return 0;
}

static void
tls_of(const struct kubeconfig *kc, struct http_tls *t)
{
	*t = (struct http_tls){ .ca = kc->ca, .ca_len = kc->ca_len, .cert = kc->cert, .cert_len = kc->cert_len,
				.key = kc->key, .key_len = kc->key_len, .insecure = kc->insecure };
}

/* Starts an HTTP exchange with the cluster's credentials.  The bearer header is
 * built on the stack and wiped once http.c has copied it. */
static int
start_http(struct kube *k, const char *method, const char *path, const char *const *headers,
	   const char *content_type, const char *body, size_t body_len, long timeout_ms, http_line_fn on_line,
	   http_done_fn on_done, void *arg, struct http_call **out)
{
	char url[MAX_PATH + 512];
	if ((size_t)snprintf(url, sizeof url, "%s%s", k->kc->server, path) >= sizeof url)
		return -ENAMETOOLONG;
	const char *h[16];
	size_t nh = 0;
	char auth[8192], ct[128];
	h[nh++] = "Accept: application/json";
	if (k->kc->token) {
		if ((size_t)snprintf(auth, sizeof auth, "Authorization: Bearer %s", k->kc->token) >= sizeof auth)
			return -E2BIG;
		h[nh++] = auth;
	}
	if (content_type) {
		snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
		h[nh++] = ct;
	}
	for (const char *const *p = headers; p && *p && nh < 15; p++)
		h[nh++] = *p;
	h[nh] = NULL;
	struct http_tls tls;
	tls_of(k->kc, &tls);
	struct http_request req = {
		.method = method, .url = url, .headers = h, .body = body, .body_len = body_len, .tls = &tls,
		.timeout_ms = timeout_ms, .on_line = on_line, .on_done = on_done, .arg = arg,
	};
	int r = http_start(k->http, &req, out);
	explicit_bzero(auth, sizeof auth);
	return r;
}

static void
call_free(struct kube_call *c)
{
	DLIST_UNLINK(c->k->calls, c);
	free(c);
}

static void
call_done(void *arg, int err, const struct http_result *hr, const char *tmsg)
{
	struct kube_call *c = arg;
	struct kube_result r;
	cJSON *json;
	char msg[1024];
	kube_result_from_http(&r, err, hr->status, hr->body, hr->body_len, tmsg, c->expect_json, &json, msg,
			      sizeof msg);
	kube_done_fn cb = c->cb;
	void *cbarg = c->arg;
	call_free(c);	/* before the callback: it may free the client */
	cb(cbarg, &r);
	wipe_json_free(json);	/* answers may carry secrets (Vault init via the proxy) */
}

int
kube_request(struct kube *k, const char *method, const char *path, const char *const *headers,
	     const char *content_type, const char *body, size_t body_len, bool expect_json, kube_done_fn cb,
	     void *arg, struct kube_call **out)
{
	if (!k || !cb)
		return -EINVAL;
	struct kube_call *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->k = k;
	c->cb = cb;
	c->arg = arg;
	c->expect_json = expect_json;
	DLIST_LINK(k->calls, c);
	int r = start_http(k, method, path, headers, content_type, body, body_len, k->timeout_ms, NULL, call_done, c,
			   &c->http);
	if (r < 0) {
		call_free(c);
		return r;
	}
	if (out)
		*out = c;
	return 0;
}

void
kube_cancel(struct kube_call *c)
{
	if (!c)
		return;
	http_call_cancel(c->http);
	call_free(c);
}

int
kube_get(struct kube *k, const struct kind_info *ki, const char *ns, const char *name, kube_done_fn cb, void *arg,
	 struct kube_call **out)
{
	char path[MAX_PATH];
	int r = kube_path(ki, ns, name, NULL, path, sizeof path);
	return r < 0 ? r : kube_request(k, "GET", path, NULL, NULL, NULL, 0, true, cb, arg, out);
}

static int
add_query(char *path, size_t size, const char *key, const char *value)
{
	char esc[1024];
	if (!value)
		return 0;
	int r = kube_query_escape(value, esc, sizeof esc);
	if (r < 0)
		return r;
	size_t o = strlen(path);
	int n = snprintf(path + o, size - o, "%c%s=%s", strchr(path, '?') ? '&' : '?', key, esc);
	return n < 0 || (size_t)n >= size - o ? -ENAMETOOLONG : 0;
}

int
kube_list(struct kube *k, const struct kind_info *ki, const char *ns, const char *label_selector,
	  const char *field_selector, kube_done_fn cb, void *arg, struct kube_call **out)
{
	char path[MAX_PATH];
	int r = kube_path(ki, ns, NULL, NULL, path, sizeof path);
	if (r < 0 || (r = add_query(path, sizeof path, "labelSelector", label_selector)) < 0 ||
	    (r = add_query(path, sizeof path, "fieldSelector", field_selector)) < 0)
		return r;
	return kube_request(k, "GET", path, NULL, NULL, NULL, 0, true, cb, arg, out);
}

/* The path of OBJ's kind (collection when !named), from apiVersion/kind/metadata. */
static int
object_path(struct kube *k, const cJSON *obj, bool named, char *path, size_t size)
{
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	const struct kind_info *ki = kinds_find(k->kinds, json_str(obj, "apiVersion"), json_str(obj, "kind"));
	const char *name = json_str(md, "name"), *ns = json_str(md, "namespace");
	if (!ki || !name || (ki->namespaced && !ns))
		return -EINVAL;
	return kube_path(ki, ki->namespaced ? ns : NULL, named ? name : NULL, NULL, path, size);
}

static int
send_object(struct kube *k, const char *method, const char *path, const char *ct, const cJSON *obj,
	    kube_done_fn cb, void *arg, struct kube_call **out)
{
	char *body = cJSON_PrintUnformatted(obj);
	if (!body)
		return -ENOMEM;
	int r = kube_request(k, method, path, NULL, ct, body, strlen(body), true, cb, arg, out);
	free(body);
	return r;
}

int
kube_apply(struct kube *k, const cJSON *obj, bool force, kube_done_fn cb, void *arg, struct kube_call **out)
{
	char path[MAX_PATH];
	int r = object_path(k, obj, true, path, sizeof path);
	if (r < 0)
		return r;
	strncat(path, force ? "?fieldManager=agentd&force=true" : "?fieldManager=agentd",
		sizeof path - strlen(path) - 1);
	return send_object(k, "PATCH", path, "application/apply-patch+yaml", obj, cb, arg, out);
}

int
kube_create(struct kube *k, const cJSON *obj, kube_done_fn cb, void *arg, struct kube_call **out)
{
	char path[MAX_PATH];
	int r = object_path(k, obj, false, path, sizeof path);
	if (r < 0)
		return r;
	strncat(path, "?fieldManager=agentd", sizeof path - strlen(path) - 1);
	return send_object(k, "POST", path, "application/json", obj, cb, arg, out);
}

int
kube_delete(struct kube *k, const struct kind_info *ki, const char *ns, const char *name, const char *propagation,
	    kube_done_fn cb, void *arg, struct kube_call **out)
{
	char path[MAX_PATH];
	int r = kube_path(ki, ns, name, NULL, path, sizeof path);
	if (r < 0 || !name || (r = add_query(path, sizeof path, "propagationPolicy", propagation)) < 0)
		return r < 0 ? r : -EINVAL;
	return kube_request(k, "DELETE", path, NULL, NULL, NULL, 0, true, cb, arg, out);
}

/* ---- watches ---- */

static void watch_list(struct kube_watch *w);
static void watch_stream(struct kube_watch *w);

static void
watch_free(struct kube_watch *w)
{
	DLIST_UNLINK(w->k->watches, w);
	ev_timer_stop(w->k->loop, &w->retry);
	if (w->list)
		kube_cancel(w->list);
	if (w->stream)
		http_call_cancel(w->stream);
	free(w->ns);
	free(w->selector);
	free(w->rv);
	free(w);
}

/* After a callback: a watch stopped from inside it is freed now. */
static bool
watch_reap(struct kube_watch *w)
{
	if (w->busy == 0 && w->stopped) {
		watch_free(w);
		return true;
	}
	return false;
}

static void
watch_retry_later(struct kube_watch *w)
{
	ev_timer_stop(w->k->loop, &w->retry);
	ev_timer_set(&w->retry, (double)w->retry_ms / 1000.0, 0.0);
	ev_timer_start(w->k->loop, &w->retry);
	w->retry_ms = w->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : w->retry_ms * 2;
}

static void
watch_report(struct kube_watch *w, const struct kube_result *r)
{
	if (w->ops.on_error) {
		w->busy++;
		w->ops.on_error(w->arg, r);
		w->busy--;
	}
}

static void
on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	watch_list(t->data);
}

static int
set_rv(struct kube_watch *w, const char *rv)
{
	if (!rv || !*rv)
		return 0;
	char *s = strdup(rv);
	if (!s)
		return -ENOMEM;
	free(w->rv);
	w->rv = s;
	return 0;
}

static void
list_done(void *arg, const struct kube_result *r)
{
	struct kube_watch *w = arg;
	w->list = NULL;
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r->json, "items");
	if (r->err == 0 && !cJSON_IsArray(items) && !cJSON_IsNull(items)) {
		struct kube_result bad = *r;
		bad.err = -EBADMSG;
		bad.reason = "BadResponse";
		bad.message = "list response has no items array";
		watch_report(w, &bad);
		if (!watch_reap(w))
			watch_retry_later(w);
		return;
	}
	if (r->err) {
		watch_report(w, r);
		if (!watch_reap(w))
			watch_retry_later(w);
		return;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(r->json, "metadata");
	if (set_rv(w, json_str(md, "resourceVersion")) < 0) {
		watch_retry_later(w);
		return;
	}
	w->lists++;
	w->retry_ms = RETRY_MIN_MS;
	w->busy++;
	w->ops.on_list(w->arg, items);
	w->busy--;
	if (!watch_reap(w))
		watch_stream(w);
}

static void
watch_list(struct kube_watch *w)
{
	char path[MAX_PATH];
	int r = kube_path(w->ki, w->ns, NULL, NULL, path, sizeof path);
	if (r == 0)
		r = add_query(path, sizeof path, "labelSelector", w->selector);
	if (r == 0)
		r = kube_request(w->k, "GET", path, NULL, NULL, NULL, 0, true, list_done, w, &w->list);
	if (r < 0)
		watch_retry_later(w);
}

static bool
on_event_line(void *arg, const char *line, size_t len)
{
	struct kube_watch *w = arg;
	cJSON *ev = cJSON_ParseWithLength(line, len);
	const char *type = json_str(ev, "type");
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
	bool stop = false;
	if (!type || !cJSON_IsObject(obj)) {
		w->bad_event = true;
		snprintf(w->bad_msg, sizeof w->bad_msg, "%s watch event (%zu bytes)",
			 ev ? "malformed" : "truncated or non-JSON", len);
		stop = true;
	} else if (strcmp(type, "ERROR") == 0) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(obj, "code");
		if (cJSON_IsNumber(code) && code->valueint == 410) {
			w->gone = true;
		} else {
			w->bad_event = true;
			snprintf(w->bad_msg, sizeof w->bad_msg, "watch error: %.120s",
				 json_str(obj, "message") ? json_str(obj, "message") : "(no message)");
		}
		stop = true;
	} else {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
		set_rv(w, json_str(md, "resourceVersion"));
		if (strcmp(type, "BOOKMARK") != 0) {
			w->busy++;
			w->ops.on_event(w->arg, type, obj);
			w->busy--;
		}
		stop = w->stopped;
	}
	cJSON_Delete(ev);
	return stop;
}

static void
stream_done(void *arg, int err, const struct http_result *hr, const char *tmsg)
{
	struct kube_watch *w = arg;
	w->stream = NULL;
	if (w->stopped) {
		watch_reap(w);
		return;
	}
	if (w->gone || hr->status == 410) {
		w->gone = false;
		watch_list(w);	/* our resourceVersion is too old: start over */
		return;
	}
	if (w->bad_event) {
		w->bad_event = false;
		struct kube_result r = { .err = -EBADMSG, .status = hr->status, .reason = "BadResponse",
					 .message = w->bad_msg, .body = "" };
		watch_report(w, &r);
		if (!watch_reap(w))
			watch_retry_later(w);
		return;
	}
	if (err == 0 && hr->status >= 200 && hr->status < 300) {
		watch_stream(w);	/* the server ended the stream (timeoutSeconds) */
		return;
	}
	struct kube_result r;
	cJSON *json;
	char msg[1024];
	kube_result_from_http(&r, err, hr->status, hr->body, hr->body_len, tmsg, true, &json, msg, sizeof msg);
	if (r.err == 0) {	/* a 1xx/3xx answer: not a watch */
		r.err = -EIO;
		r.reason = "BadResponse";
		snprintf(msg, sizeof msg, "unexpected HTTP %ld for a watch", hr->status);
	}
	watch_report(w, &r);
	cJSON_Delete(json);
	if (!watch_reap(w))
		watch_retry_later(w);
}

static void
watch_stream(struct kube_watch *w)
{
	char path[MAX_PATH];
	int r = kube_path(w->ki, w->ns, NULL, NULL, path, sizeof path);
	if (r == 0)
		r = add_query(path, sizeof path, "labelSelector", w->selector);
	if (r == 0) {
		size_t o = strlen(path);
		int n = snprintf(path + o, sizeof path - o,
				 "%cwatch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=", o && strchr(path, '?') ? '&' : '?',
				 WATCH_TIMEOUT_S);
		if (n < 0 || (size_t)n >= sizeof path - o)
			r = -ENAMETOOLONG;
		else
			r = kube_query_escape(w->rv ? w->rv : "", path + o + (size_t)n, sizeof path - o - (size_t)n);
	}
	if (r == 0)
		r = start_http(w->k, "GET", path, NULL, NULL, NULL, 0, 0, on_event_line, stream_done, w, &w->stream);
	if (r < 0)
		watch_retry_later(w);
}

int
kube_watch_start(struct kube *k, const struct kind_info *ki, const char *ns, const char *label_selector,
		 const struct kube_watch_ops *ops, void *arg, struct kube_watch **out)
{
	if (!k || !ki || !ops || !ops->on_list || !ops->on_event)
		return -EINVAL;
	struct kube_watch *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->k = k;
	w->ki = ki;
	w->ops = *ops;
	w->arg = arg;
	w->retry_ms = RETRY_MIN_MS;
	ev_timer_init(&w->retry, on_retry, 0.0, 0.0);
	w->retry.data = w;
	DLIST_LINK(k->watches, w);
	if ((ns && !(w->ns = strdup(ns))) || (label_selector && !(w->selector = strdup(label_selector)))) {
		watch_free(w);
		return -ENOMEM;
	}
	watch_list(w);
	if (out)
		*out = w;
	return 0;
}

void
kube_watch_stop(struct kube_watch *w)
{
	if (!w)
		return;
	w->stopped = true;
	if (w->busy == 0)
		watch_free(w);
	/* else: inside one of its callbacks; freed when that returns */
}

unsigned
kube_watch_lists(const struct kube_watch *w)
{
	return w->lists;
}

const char *
kube_watch_resource_version(const struct kube_watch *w)
{
	return w->rv;
}

/* ---- client ---- */

int
kube_new(struct ev_loop *loop, struct http_client *http, struct kubeconfig *kc, struct kinds *kinds,
	 long timeout_ms, struct kube **out)
{
	if (!loop || !http || !kc || !kinds)
		return -EINVAL;
	struct kube *k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	k->loop = loop;
	k->http = http;
	k->kc = kc;
	k->kinds = kinds;
	k->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	*out = k;
	return 0;
}

struct kube *
kube_free(struct kube *k)
{
	if (!k)
		return NULL;
	while (k->watches)
		watch_free(k->watches);
	while (k->calls)
		kube_cancel(k->calls);
	kubeconfig_free(k->kc);
	free(k);
	return NULL;
}

void
kube_set_kubeconfig(struct kube *k, struct kubeconfig *kc)
{
	kubeconfig_free(k->kc);
	k->kc = kc;
}

const struct kubeconfig *
kube_kubeconfig(const struct kube *k)
{
	return k->kc;
}

struct kinds *
kube_kinds(const struct kube *k)
{
	return k->kinds;
}
