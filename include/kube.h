/* kube — an asynchronous Kubernetes API client over http.c.
 *
 * Every call completes through a callback on the loop with a kube_result: 0 or a
 * negative errno, the HTTP status, and for API errors the Status object's reason
 * and message (not "HTTP 422").  A non-JSON or truncated body where JSON was
 * expected is an error of its own.  Watches list, then watch from the list's
 * resourceVersion with bookmarks, and re-list on 410 Gone (HTTP or ERROR event). */
#ifndef AGENTD_KUBE_H
#define AGENTD_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#include "kinds.h"
#include "kubeconfig.h"

struct ev_loop;
struct http_client;
struct kube;
struct kube_call;
struct kube_watch;

/* err: 0, or negative errno.  Transport: -ECONNREFUSED, -ETIMEDOUT, -EPROTO (TLS),
 * -ECONNRESET, -EHOSTUNREACH, -EIO.  API (status >= 400): -ENOENT 404, -EEXIST 409
 * AlreadyExists, -EBUSY 409 Conflict, -ESTALE 410, -EACCES 401, -EPERM 403,
 * -EINVAL 400/422, -EAGAIN 429/503, -EIO otherwise.  -EBADMSG: a 2xx body that is
 * not the JSON expected.  All pointers are valid during the callback only. */
struct kube_result {
	int err;
	long status;		/* 0 when no HTTP answer arrived */
	const char *reason;	/* Status.reason, or a transport class ("ConnectionRefused",
				 * "TLSError", "Timeout", "ConnectionReset", "TransportError",
				 * "BadResponse"); "" when err is 0 */
	const char *message;	/* one line for a human; "" when err is 0 */
	const cJSON *json;	/* the parsed body when it was JSON, else NULL */
	const char *body;	/* the raw body (NUL-terminated), "" if none */
	size_t body_len;
};

typedef void (*kube_done_fn)(void *arg, const struct kube_result *res);

/* Takes ownership of KC (freed by kube_free / kube_set_kubeconfig).  KINDS is
 * borrowed and must outlive the client.  HTTP is borrowed (shared with others).
 * timeout_ms bounds every non-watch request. */
int kube_new(struct ev_loop *loop, struct http_client *http, struct kubeconfig *kc, struct kinds *kinds,
	     long timeout_ms, struct kube **out);
/* Cancels pending calls and watches without calling back. */
struct kube *kube_free(struct kube *k);
/* Replaces the credentials (e.g. after the kubeconfig changed); takes ownership. */
void kube_set_kubeconfig(struct kube *k, struct kubeconfig *kc);
const struct kubeconfig *kube_kubeconfig(const struct kube *k);
struct kinds *kube_kinds(const struct kube *k);

/* "/api/v1/namespaces/NS/pods/NAME/status" and the like.  NS NULL for cluster-scoped
 * kinds or all namespaces; NAME NULL for the collection; SUB NULL for none.  Names
 * must be DNS-style (letters, digits, '-', '.', ':').  -EINVAL or -ENAMETOOLONG. */
int kube_path(const struct kind_info *ki, const char *ns, const char *name, const char *sub, char *buf,
	      size_t size);

/* Percent-encodes S for a query value into BUF; -ENAMETOOLONG if it does not fit. */
int kube_query_escape(const char *s, char *buf, size_t size);

/* A raw request: PATH (with query) relative to the server; BODY may be NULL;
 * HEADERS extra "Name: value" lines (NULL-terminated, may be NULL).  When EXPECT_JSON,
 * a 2xx body that does not parse is -EBADMSG.  *out (optional) can cancel. */
int kube_request(struct kube *k, const char *method, const char *path, const char *const *headers,
		 const char *content_type, const char *body, size_t body_len, bool expect_json,
		 kube_done_fn cb, void *arg, struct kube_call **out);
void kube_cancel(struct kube_call *c);

/* Each of these may return the call in *out (NULL: not wanted) for kube_cancel. */
int kube_get(struct kube *k, const struct kind_info *ki, const char *ns, const char *name, kube_done_fn cb,
	     void *arg, struct kube_call **out);
/* Selectors may be NULL. */
int kube_list(struct kube *k, const struct kind_info *ki, const char *ns, const char *label_selector,
	      const char *field_selector, kube_done_fn cb, void *arg, struct kube_call **out);
/* Server-side apply of OBJ (fieldManager=agentd; force takes over conflicting fields). */
int kube_apply(struct kube *k, const cJSON *obj, bool force, kube_done_fn cb, void *arg, struct kube_call **out);
/* propagation: "Foreground", "Background", "Orphan" or NULL. */
int kube_delete(struct kube *k, const struct kind_info *ki, const char *ns, const char *name,
		const char *propagation, kube_done_fn cb, void *arg, struct kube_call **out);
/* POST to the collection (e.g. a Job created from a CronJob's template). */
int kube_create(struct kube *k, const cJSON *obj, kube_done_fn cb, void *arg, struct kube_call **out);

/* Watches.  on_list gets the full set (the items array of a list, borrowed) after
 * every (re-)list; on_event gets "ADDED", "MODIFIED" or "DELETED" with the object;
 * on_error (may be NULL) is told when a list or the stream failed, before the
 * watch retries by itself (after retry_ms, doubling up to 30 s). */
struct kube_watch_ops {
	void (*on_list)(void *arg, const cJSON *items);
	void (*on_event)(void *arg, const char *type, const cJSON *obj);
	void (*on_error)(void *arg, const struct kube_result *res);
};
int kube_watch_start(struct kube *k, const struct kind_info *ki, const char *ns, const char *label_selector,
		     const struct kube_watch_ops *ops, void *arg, struct kube_watch **out);
/* Stops and frees the watch; allowed inside its own callbacks. */
void kube_watch_stop(struct kube_watch *w);
/* Counters for tests and status: lists done, events seen. */
unsigned kube_watch_lists(const struct kube_watch *w);
const char *kube_watch_resource_version(const struct kube_watch *w);

/* Fills a result from an HTTP exchange (for modules that speak HTTP to other
 * servers but want the same error shapes); exposed for the response fuzzer.
 * *json (caller frees) is the parsed body or NULL; MSG is a caller buffer. */
void kube_result_from_http(struct kube_result *r, int err, long status, const char *body, size_t len,
			   const char *transport_msg, bool expect_json, cJSON **json, char *msg, size_t msgsize);

#endif
