/* vault — Vault's HTTP API through the pod proxy or a direct URL. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dlist.h"
#include "http.h"
#include "jpath.h"
#include "kube.h"
#include "wipe.h"
#include "vault.h"

#define MAX_PATH 1024

enum vkind { V_PLAIN, V_SEAL, V_HEALTH, V_INIT };

struct vault_req {
	struct vault *v;
	enum vkind kind;
	union {
		vault_fn plain;
		vault_seal_fn seal;
		vault_init_fn init;
	} cb;
	void *arg;
	struct kube_call *kcall;
	struct http_call *hcall;
	struct vault_req *prev, *next;
};

struct vault {
	struct kube *kube;		/* proxy mode */
	char *ns;
	unsigned port;
	struct http_client *http;	/* direct mode */
	char *url;
	struct http_tls tls;
	char *ca, *cert, *key;		/* copies for tls */
	long timeout_ms;
	struct vault_req *reqs;
};

static int
vault_errno(long status)
{
	switch (status) {
	case 400:
		return -EINVAL;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 429:
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

void
vault_reply_from_http(struct vault_reply *r, int terr, long status, const char *body, size_t len, const char *tmsg,
		      cJSON **json, char *msg, size_t msgsize)
{
	*json = NULL;
	memset(r, 0, sizeof *r);
	r->status = status;
	r->message = msg;
	msg[0] = '\0';
	if (terr) {
		r->err = terr;
		r->transport = true;
		snprintf(msg, msgsize, "%s", tmsg && *tmsg ? tmsg : strerror(-terr));
		return;
	}
	cJSON *j = len ? cJSON_ParseWithLengthOpts(body, len, NULL, false) : NULL;
	const char *kind = jpath_str(j, "kind");
	if (kind && strcmp(kind, "Status") == 0) {
		/* The API server's proxy answered (pod without IP, dial failure): Vault was never asked. */
		r->err = -EHOSTUNREACH;
		r->transport = true;
		snprintf(msg, msgsize, "pod proxy: HTTP %ld: %s", status, jpath_str(j, "message") ? jpath_str(j, "message") : "");
		cJSON_Delete(j);
		return;
	}
	if (status >= 400) {
		r->err = vault_errno(status);
		const cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors"), *e;
		size_t o = (size_t)snprintf(msg, msgsize, "vault: HTTP %ld", status);
		const char *sep = ": ";
		cJSON_ArrayForEach(e, errs) {
			if (cJSON_IsString(e) && o < msgsize) {
				o += (size_t)snprintf(msg + o, msgsize - o, "%s%s", sep, e->valuestring);
				sep = "; ";
			}
		}
	} else if (status < 200 || status >= 300) {
		r->err = -EIO;
		snprintf(msg, msgsize, "vault: unexpected HTTP %ld", status);
	} else if (len && !j) {
		r->err = -EBADMSG;
		snprintf(msg, msgsize, "vault: response is not JSON (HTTP %ld, %zu bytes)", status, len);
	}
	r->json = j;
	*json = j;
}

static void
req_free(struct vault_req *q)
{
	struct vault *v = q->v;
	DLIST_UNLINK(v->reqs, q);
	free(q);
}

static int
num(const cJSON *o, const char *k, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v))
		return -EBADMSG;
	*out = v->valueint;
	return 0;
}

int
vault_seal_parse(const cJSON *j, bool health, struct vault_seal *s)
{
	memset(s, 0, sizeof *s);
	const cJSON *sealed = cJSON_GetObjectItemCaseSensitive(j, "sealed");
	const cJSON *init = cJSON_GetObjectItemCaseSensitive(j, "initialized");
	if (!cJSON_IsBool(sealed))
		return -EBADMSG;
	s->sealed = cJSON_IsTrue(sealed);
	s->initialized = cJSON_IsTrue(init);
	if (health) {
		if (!cJSON_IsBool(init))
			return -EBADMSG;
		s->standby = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "standby"));
	} else if (num(j, "t", &s->t) < 0 || num(j, "n", &s->n) < 0 || num(j, "progress", &s->progress) < 0) {
		return -EBADMSG;
	}
	/* sys/unseal answers may omit "initialized"; having keys means it is. */
	if (!init && !health)
		s->initialized = true;
	snprintf(s->type, sizeof s->type, "%s", jpath_str(j, "type") ? jpath_str(j, "type") : "");
	snprintf(s->version, sizeof s->version, "%s", jpath_str(j, "version") ? jpath_str(j, "version") : "");
	return 0;
}

bool
vault_health_is_answer(long status)
{
	return status == 200 || status == 429 || status == 472 || status == 473 || status == 474 || status == 501 ||
	       status == 503 || status == 530;
}

static void
finish(struct vault_req *q, int terr, long status, const char *body, size_t len, const char *tmsg)
{
	struct vault_reply r;
	cJSON *json;
	char msg[1024];
	vault_reply_from_http(&r, terr, status, body, len, tmsg, &json, msg, sizeof msg);
	enum vkind kind = q->kind;
	typeof(q->cb) cb = q->cb;
	void *arg = q->arg;
	req_free(q);

	struct vault_seal s = { 0 };
	switch (kind) {
	case V_PLAIN:
		cb.plain(arg, &r);
		break;
	case V_HEALTH:
		if (!r.transport && vault_health_is_answer(status) && json) {
			r.err = 0;
			msg[0] = '\0';
		}
		/* fall through */
	case V_SEAL:
		if (r.err == 0 && vault_seal_parse(json, kind == V_HEALTH, &s) < 0) {
			r.err = -EBADMSG;
			snprintf(msg, sizeof msg, "vault: %s answer lacks sealed/initialized/t/n/progress",
				 kind == V_HEALTH ? "sys/health" : "seal status");
		}
		cb.seal(arg, &r, r.err ? NULL : &s);
		break;
	case V_INIT: {
		const cJSON *keys = cJSON_GetObjectItemCaseSensitive(json, "keys_base64"), *e;
		const char *root = jpath_str(json, "root_token");
		size_t n = (size_t)cJSON_GetArraySize(keys), i = 0;
		const char **list = NULL;
		if (r.err == 0 && (!cJSON_IsArray(keys) || n == 0 || !root || !(list = calloc(n, sizeof *list)))) {
			r.err = list || !cJSON_IsArray(keys) || n == 0 || !root ? -EBADMSG : -ENOMEM;
			snprintf(msg, sizeof msg, "vault: sys/init answer lacks keys_base64 or root_token");
		}
		if (r.err == 0) {
			cJSON_ArrayForEach(e, keys) {
				if (!cJSON_IsString(e)) {
					r.err = -EBADMSG;
					snprintf(msg, sizeof msg, "vault: sys/init keys_base64 holds a non-string");
					break;
				}
				list[i++] = e->valuestring;
			}
		}
		struct vault_init_keys k = { n, list, root };
		cb.init(arg, &r, r.err ? NULL : &k);
		free(list);
		break;
	}
	}
	wipe_json_free(json);
}

static void
on_kube(void *arg, const struct kube_result *kr)
{
	finish(arg, kr->status == 0 ? kr->err : 0, kr->status, kr->body, kr->body_len, kr->message);
}

static void
on_http(void *arg, int err, const struct http_result *hr, const char *msg)
{
	finish(arg, err, hr->status, hr->body, hr->body_len, msg);
}

static bool
valid_pod(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.')
			return false;
	return true;
}

static bool
valid_vpath(const char *p)
{
	if (!p || !*p || p[0] == '/' || strstr(p, ".."))
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_./?=&", *p))
			return false;
	return true;
}

/* Starts METHOD /v1/PATH.  TOKEN and BODY may hold secrets: the header buffer is
 * wiped here, the body by the caller; http.c wipes its own copies. */
static int
start(struct vault *v, const char *pod, const char *token, const char *method, const char *path, const char *body,
      size_t body_len, enum vkind kind, void *cb, void *arg)
{
	if (!valid_vpath(path) || (v->kube && !valid_pod(pod)))
		return -EINVAL;
	struct vault_req *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->v = v;
	q->kind = kind;
	q->arg = arg;
	switch (kind) {
	case V_PLAIN:
		q->cb.plain = (vault_fn)cb;
		break;
	case V_SEAL:
	case V_HEALTH:
		q->cb.seal = (vault_seal_fn)cb;
		break;
	case V_INIT:
		q->cb.init = (vault_init_fn)cb;
		break;
	}
	DLIST_LINK(v->reqs, q);

	char hdr[4096];
	const char *headers[3] = { NULL, NULL, NULL };
	size_t nh = 0;
	int r = 0;
	if (token) {
		if ((size_t)snprintf(hdr, sizeof hdr, "X-Vault-Token: %s", token) >= sizeof hdr)
			r = -E2BIG;
		headers[nh++] = hdr;
	}
	char url[MAX_PATH + 512];
	if (r == 0 && v->kube) {
		if ((size_t)snprintf(url, sizeof url, "/api/v1/namespaces/%s/pods/%s:%u/proxy/v1/%s", v->ns, pod, v->port,
				     path) >= sizeof url)
			r = -ENAMETOOLONG;
		else
			r = kube_request(v->kube, method, url, headers, body ? "application/json" : NULL, body, body_len,
					 false, on_kube, q, &q->kcall);
	} else if (r == 0) {
		if ((size_t)snprintf(url, sizeof url, "%s/v1/%s", v->url, path) >= sizeof url) {
			r = -ENAMETOOLONG;
		} else {
			headers[nh++] = body ? "Content-Type: application/json" : NULL;
			struct http_request req = { .method = method, .url = url, .headers = headers, .body = body,
						    .body_len = body_len, .tls = &v->tls, .timeout_ms = v->timeout_ms,
						    .on_done = on_http, .arg = q };
			r = http_start(v->http, &req, &q->hcall);
		}
	}
	explicit_bzero(hdr, sizeof hdr);
	if (r < 0)
		req_free(q);
	return r;
}

int
vault_new_proxy(struct kube *k, const char *ns, unsigned port, struct vault **out)
{
	if (!k || !valid_pod(ns) || port == 0 || port > 65535)
		return -EINVAL;
	struct vault *v = calloc(1, sizeof *v);
	if (!v || !(v->ns = strdup(ns))) {
		free(v);
		return -ENOMEM;
	}
	v->kube = k;
	v->port = port;
	*out = v;
	return 0;
}

static int
dup_mem(const char *src, size_t len, char **dst)
{
	if (!src)
		return 0;
	*dst = malloc(len ? len : 1);
	if (!*dst)
		return -ENOMEM;
	memcpy(*dst, src, len);
	return 0;
}

int
vault_new_for_config(const struct config *cfg, struct kube *k, struct http_client *http, struct vault **out)
{
	if (cfg->vault.address)
		return vault_new_direct(http, cfg->vault.address, NULL, (long)cfg->api.request_timeout, out);
	return vault_new_proxy(k, cfg->vault.namespace, cfg->vault.port, out);
}

int
vault_new_direct(struct http_client *http, const char *url, const struct http_tls *tls, long timeout_ms,
		 struct vault **out)
{
	if (!http || !url || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0))
		return -EINVAL;
	struct vault *v = calloc(1, sizeof *v);
	if (!v)
		return -ENOMEM;
	size_t ul = strlen(url);
	while (ul > 0 && url[ul - 1] == '/')
		ul--;
	v->http = http;
	v->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
	if (!(v->url = strndup(url, ul)) ||
	    (tls && (dup_mem(tls->ca, tls->ca_len, &v->ca) < 0 || dup_mem(tls->cert, tls->cert_len, &v->cert) < 0 ||
		     dup_mem(tls->key, tls->key_len, &v->key) < 0))) {
		vault_free(v);
		return -ENOMEM;
	}
	if (tls)
		v->tls = (struct http_tls){ v->ca, tls->ca_len, v->cert, tls->cert_len, v->key, tls->key_len,
					    tls->insecure };
	*out = v;
	return 0;
}

struct vault *
vault_free(struct vault *v)
{
	if (!v)
		return NULL;
	while (v->reqs) {
		struct vault_req *q = v->reqs;
		if (q->kcall)
			kube_cancel(q->kcall);
		if (q->hcall)
			http_call_cancel(q->hcall);
		req_free(q);
	}
	free(v->ns);
	free(v->url);
	free(v->ca);
	free(v->cert);
	wipe_free(v->key, v->tls.key_len);
	free(v);
	return NULL;
}

int
vault_seal_status(struct vault *v, const char *pod, vault_seal_fn cb, void *arg)
{
	return start(v, pod, NULL, "GET", "sys/seal-status", NULL, 0, V_SEAL, (void *)cb, arg);
}

int
vault_health(struct vault *v, const char *pod, vault_seal_fn cb, void *arg)
{
	return start(v, pod, NULL, "GET", "sys/health", NULL, 0, V_HEALTH, (void *)cb, arg);
}

int
vault_unseal(struct vault *v, const char *pod, const char *key, size_t len, vault_seal_fn cb, void *arg)
{
	if (!key || len == 0 || len > 1024)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)key[i]) && !strchr("+/=-_", key[i]))
			return -EINVAL;	/* neither hex nor base64; the key itself is never echoed */
	char body[1100];
	int n = snprintf(body, sizeof body, "{\"key\":\"%.*s\"}", (int)len, key);
	int r = start(v, pod, NULL, "POST", "sys/unseal", body, (size_t)n, V_SEAL, (void *)cb, arg);
	explicit_bzero(body, sizeof body);
	return r;
}

int
vault_unseal_reset(struct vault *v, const char *pod, vault_seal_fn cb, void *arg)
{
	static const char body[] = "{\"reset\":true}";
	return start(v, pod, NULL, "POST", "sys/unseal", body, sizeof body - 1, V_SEAL, (void *)cb, arg);
}

int
vault_init(struct vault *v, const char *pod, unsigned shares, unsigned threshold, const char *const *pgp_keys,
	   size_t npgp, vault_init_fn cb, void *arg)
{
	if (shares == 0 || threshold == 0 || threshold > shares || (npgp && npgp != shares))
		return -EINVAL;
	cJSON *b = cJSON_CreateObject();
	cJSON *pk = npgp ? cJSON_AddArrayToObject(b, "pgp_keys") : NULL;
	int r = -ENOMEM;
	if (!b || !cJSON_AddNumberToObject(b, "secret_shares", shares) ||
	    !cJSON_AddNumberToObject(b, "secret_threshold", threshold) || (npgp && !pk))
		goto out;
	for (size_t i = 0; i < npgp; i++) {
		cJSON *s = cJSON_CreateString(pgp_keys[i]);
		if (!s || !cJSON_AddItemToArray(pk, s)) {
			cJSON_Delete(s);
			goto out;
		}
	}
	char *text = cJSON_PrintUnformatted(b);
	if (!text)
		goto out;
	r = start(v, pod, NULL, "POST", "sys/init", text, strlen(text), V_INIT, (void *)cb, arg);
	free(text);
out:
	cJSON_Delete(b);
	return r;
}

int
vault_read(struct vault *v, const char *pod, const char *token, const char *path, vault_fn cb, void *arg)
{
	return start(v, pod, token, "GET", path, NULL, 0, V_PLAIN, (void *)cb, arg);
}

int
vault_write(struct vault *v, const char *pod, const char *token, const char *method, const char *path,
	    const cJSON *body, vault_fn cb, void *arg)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	if (body && !text)
		return -ENOMEM;
	int r = start(v, pod, token, method, path, text, text ? strlen(text) : 0, V_PLAIN, (void *)cb, arg);
	wipe_free_str(text);
	return r;
}

/* Writes {"type": TYPE, EXTRA_KEY: EXTRA} to PREFIX/NAME. */
static int
write_typed(struct vault *v, const char *pod, const char *token, const char *method, const char *prefix,
	    const char *name, const char *type, const char *extra_key, const cJSON *extra, vault_fn cb, void *arg)
{
	char path[MAX_PATH];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", prefix, name) >= sizeof path)
		return -ENAMETOOLONG;
	cJSON *b = cJSON_CreateObject();
	int r = -ENOMEM;
	if (b && (!type || cJSON_AddStringToObject(b, "type", type))) {
		cJSON *dup = extra ? cJSON_Duplicate(extra, true) : NULL;
		if (!extra || (dup && cJSON_AddItemToObject(b, extra_key, dup)))
			r = vault_write(v, pod, token, method, path, b, cb, arg);
		else
			cJSON_Delete(dup);
	}
	cJSON_Delete(b);
	return r;
}

int
vault_audit_enable(struct vault *v, const char *pod, const char *token, const char *name, const char *type,
		   const cJSON *options, vault_fn cb, void *arg)
{
	return write_typed(v, pod, token, "PUT", "sys/audit", name, type, "options", options, cb, arg);
}

int
vault_mount(struct vault *v, const char *pod, const char *token, const char *path, const char *type,
	    const cJSON *options, vault_fn cb, void *arg)
{
	return write_typed(v, pod, token, "POST", "sys/mounts", path, type, "options", options, cb, arg);
}

int
vault_auth_enable(struct vault *v, const char *pod, const char *token, const char *path, const char *type,
		  vault_fn cb, void *arg)
{
	return write_typed(v, pod, token, "POST", "sys/auth", path, type, NULL, NULL, cb, arg);
}

int
vault_policy_write(struct vault *v, const char *pod, const char *token, const char *name, const char *policy,
		   vault_fn cb, void *arg)
{
	cJSON *p = cJSON_CreateString(policy);
	if (!p)
		return -ENOMEM;
	int r = write_typed(v, pod, token, "PUT", "sys/policies/acl", name, NULL, "policy", p, cb, arg);
	cJSON_Delete(p);
	return r;
}

int
vault_k8s_auth_config(struct vault *v, const char *pod, const char *token, const char *mount, const cJSON *config,
		      vault_fn cb, void *arg)
{
	char path[MAX_PATH];
	if ((size_t)snprintf(path, sizeof path, "auth/%s/config", mount) >= sizeof path)
		return -ENAMETOOLONG;
	return vault_write(v, pod, token, "POST", path, config, cb, arg);
}

int
vault_k8s_role_write(struct vault *v, const char *pod, const char *token, const char *mount, const char *role,
		     const cJSON *body, vault_fn cb, void *arg)
{
	char path[MAX_PATH];
	if ((size_t)snprintf(path, sizeof path, "auth/%s/role/%s", mount, role) >= sizeof path)
		return -ENAMETOOLONG;
	return vault_write(v, pod, token, "POST", path, body, cb, arg);
}
