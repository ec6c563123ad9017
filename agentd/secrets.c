/* secrets — put, list and import-k8s against the agents' KV v2 entries. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiprobe.h"
#include "jpath.h"
#include "kinds.h"
#include "kube.h"
#include "render.h"
#include "secret.h"
#include "secretkv.h"
#include "secrets.h"
#include "vault.h"
#include "wipe.h"

#define PATH_LEN 512
#define CAS_TRIES 3
#define TOKEN_MAX 4096
#define INJECT_SECRET "vault.hashicorp.com/agent-inject-secret-"

enum op_kind { OP_PUT, OP_LIST, OP_IMPORT };

struct op {
	struct control_req *req;
	struct daemon *d;
	enum op_kind kind;
	struct secret *token;
	struct kube *k;
	struct vault *vault;
	struct kube_call *call;		/* the one Kubernetes call in flight, if any */
	char pod[254];
	char mount[128], prefix[128];
	char name[SECRETKV_NAME_MAX + 1];
	char data_path[PATH_LEN], meta_path[PATH_LEN];
	char ns[254], secret_name[254];
	char kept_msg[600];		/* import: "; secret NS/NAME left in place", else "" */
	cJSON *values;			/* KEY -> VALUE to write: secrets */
	int tries;
	bool restart, del;
	cJSON *reply;
	cJSON *todo;			/* list: names still to describe; restart: objects to patch */
	cJSON *entry;			/* list: the entry being described */
	void (*after_pod)(struct op *);
};

static void
op_free(struct op *o)
{
	if (o->call)
		kube_cancel(o->call);
	vault_free(o->vault);
	secret_free(o->token);
	wipe_json_free(o->values);
	cJSON_Delete(o->reply);
	cJSON_Delete(o->todo);
	cJSON_Delete(o->entry);
	free(o);
}

static void
on_cancel(struct control_req *req, void *data)
{
	(void)req;
	op_free(data);
}

static void __attribute__((format(printf, 3, 4)))
op_fail(struct op *o, enum proto_error code, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	control_error(o->req, code, "%s", msg);
	op_free(o);
}

static void
op_done(struct op *o)
{
	control_answer(o->req, o->reply, "the answer does not fit in one frame");
	op_free(o);
}

/* The KV mount and prefix the manifests and the agent policy use (values.yaml). */
static void
kv_location(const struct config *cfg, char *mount, size_t msize, char *prefix, size_t psize)
{
	cJSON *v = NULL;
	char *err = NULL;
	snprintf(mount, msize, "secret");
	snprintf(prefix, psize, "agents/");
	if (render_values(cfg->values, cfg->values_override, &v, &err) == 0) {
		const cJSON *kv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "vault"), "kv");
		if (jpath_str(kv, "mount"))
			snprintf(mount, msize, "%s", jpath_str(kv, "mount"));
		if (jpath_str(kv, "prefix"))
			snprintf(prefix, psize, "%s", jpath_str(kv, "prefix"));
	}
	free(err);
	cJSON_Delete(v);
}

static bool
printable(const char *s)
{
	for (; *s; s++)
		if (!isgraph((unsigned char)*s))
			return false;
	return true;
}

/* Takes the token from the request; NULL after answering the request. */
static struct op *
op_new(struct control_req *req, struct daemon *d, enum op_kind kind)
{
	const char *tok = jpath_str(req->args, "token");
	if (!tok || !*tok) {
		control_error(req, PROTO_E_USAGE, "no Vault token in the request (agentctl prompts for it or reads VAULT_TOKEN)");
		return NULL;
	}
	if (strlen(tok) > TOKEN_MAX || !printable(tok)) {
		control_error(req, PROTO_E_USAGE, "the Vault token is not a token (too long, or blanks or control characters)");
		return NULL;
	}
	struct kube *k = apiprobe_kube(d->apiprobe);
	if (!k) {
		control_error(req, PROTO_E_FAILED, "the Kubernetes API has not answered yet: Vault is reached through it");
		return NULL;
	}
	struct op *o = calloc(1, sizeof *o);
	if (!o || !(o->token = secret_new(strlen(tok))) || !(o->reply = cJSON_CreateObject())) {
		if (o)
			op_free(o);
		control_error(req, PROTO_E_INTERNAL, "out of memory");
		return NULL;
	}
	secret_append(o->token, tok, strlen(tok));
	o->req = req;
	o->d = d;
	o->k = k;
	o->kind = kind;
	kv_location(d->config, o->mount, sizeof o->mount, o->prefix, sizeof o->prefix);
	control_req_on_cancel(req, on_cancel, o);
	return o;
}

/* Fills the paths of NAME; answers the request on a bad name. */
static bool
op_set_name(struct op *o, const char *name)
{
	if (!secretkv_valid_name(name)) {
		op_fail(o, PROTO_E_USAGE, "invalid secret name \"%.80s\": 1-63 of a-z 0-9 - _ . (the agent's name)",
			name ? name : "");
		return false;
	}
	snprintf(o->name, sizeof o->name, "%s", name);
	if (secretkv_path(o->mount, o->prefix, "data", name, o->data_path, sizeof o->data_path) < 0 ||
	    secretkv_path(o->mount, o->prefix, "metadata", name, o->meta_path, sizeof o->meta_path) < 0) {
		op_fail(o, PROTO_E_FAILED, "values: vault.kv.mount \"%s\" / prefix \"%s\" do not make a KV path", o->mount,
			o->prefix);
		return false;
	}
	return true;
}

/* ---- which Vault pod ---- */

static void
on_vault_pods(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	const struct config *cfg = o->d->config;
	o->call = NULL;
	if (r->err) {
		op_fail(o, PROTO_E_FAILED, "cannot list Vault pods in %s: %s%s", cfg->vault.namespace, r->message,
			o->kept_msg);
		return;
	}
	const char *best = NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "items")) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const char *name = jpath_str(md, "name");
		const char *ip = jpath_str(cJSON_GetObjectItemCaseSensitive(it, "status"), "podIP");
		if (name && ip && *ip && !cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp") &&
		    (!best || strcmp(name, best) < 0))
			best = name;
	}
	if (!best) {
		op_fail(o, PROTO_E_FAILED, "no running Vault pod in %s (selector %s)%s", cfg->vault.namespace,
			cfg->vault.selector, o->kept_msg);
		return;
	}
	snprintf(o->pod, sizeof o->pod, "%s", best);
	o->after_pod(o);
}

static void
with_vault(struct op *o, void (*next)(struct op *))
{
	const struct config *cfg = o->d->config;
	int r = vault_new_for_config(cfg, o->k, o->d->http, &o->vault);
	if (r < 0) {
		op_fail(o, PROTO_E_FAILED, "cannot set up the Vault client: %s", strerror(-r));
		return;
	}
	o->after_pod = next;
	if (cfg->vault.address) {
		next(o);
		return;
	}
	r = kube_list(o->k, kinds_find(kube_kinds(o->k), "v1", "Pod"), cfg->vault.namespace, cfg->vault.selector, NULL,
		      on_vault_pods, o, &o->call);
	if (r < 0)
		op_fail(o, PROTO_E_FAILED, "cannot list Vault pods: %s", strerror(-r));
}

static bool
vault_started(struct op *o, int r, const char *what, const char *path)
{
	if (r < 0)
		op_fail(o, PROTO_E_FAILED, "vault: %s %s: cannot send the request: %s%s", what, path, strerror(-r),
			o->kept_msg);
	return r >= 0;
}

/* ---- restart of the consumers (--restart) ---- */

static void restart_next(struct op *o);

static bool
consumes(const cJSON *tmpl_md, const char *path)
{
	const cJSON *a;
	cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(tmpl_md, "annotations")) {
		if (a->string && strncmp(a->string, INJECT_SECRET, sizeof INJECT_SECRET - 1) == 0 &&
		    cJSON_IsString(a) && strcmp(a->valuestring, path) == 0)
			return true;
	}
	return false;
}

static void
on_patched(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	o->call = NULL;
	cJSON *obj = cJSON_DetachItemFromArray(o->todo, 0);
	const char *ns = jpath_str(obj, "namespace"), *name = jpath_str(obj, "name");
	char what[600];
	snprintf(what, sizeof what, "deployment %s/%s", ns, name);
	if (r->err) {
		cJSON_Delete(obj);
		op_fail(o, PROTO_E_FAILED, "%s written to Vault, but the restart of %s failed: %s", o->data_path, what,
			r->message);
		return;
	}
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o->reply, "restarted"), cJSON_CreateString(what));
	cJSON_Delete(obj);
	restart_next(o);
}

/* Rollout-restart style: a new pod-template annotation makes the Deployment roll. */
static void
restart_next(struct op *o)
{
	const cJSON *obj = cJSON_GetArrayItem(o->todo, 0);
	if (!obj) {
		op_done(o);
		return;
	}
	char path[PATH_LEN], body[200], now[32];
	time_t t = time(NULL);
	struct tm tm;
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
	snprintf(body, sizeof body,
		 "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"%s\"}}}}}",
		 now);
	const struct kind_info *ki = kinds_find(kube_kinds(o->k), "apps/v1", "Deployment");
	int r = kube_path(ki, jpath_str(obj, "namespace"), jpath_str(obj, "name"), NULL, path, sizeof path);
	if (r == 0)
		r = kube_request(o->k, "PATCH", path, NULL, "application/merge-patch+json", body, strlen(body), true,
				 on_patched, o, &o->call);
	if (r < 0)
		op_fail(o, PROTO_E_FAILED, "cannot restart deployment %s/%s: %s", jpath_str(obj, "namespace"),
			jpath_str(obj, "name"), strerror(-r));
}

static void
on_cronjobs(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	o->call = NULL;
	if (r->err) {
		op_fail(o, PROTO_E_FAILED, "%s written, but listing CronJobs failed: %s", o->data_path, r->message);
		return;
	}
	cJSON *next = cJSON_AddArrayToObject(o->reply, "next_run");
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "items")) {
		const cJSON *jt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "spec"), "jobTemplate");
		const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(jt, "spec"), "template");
		if (consumes(cJSON_GetObjectItemCaseSensitive(pt, "metadata"), o->data_path)) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
			char what[600];
			snprintf(what, sizeof what, "cronjob %s/%s", jpath_str(md, "namespace"), jpath_str(md, "name"));
			cJSON_AddItemToArray(next, cJSON_CreateString(what));
		}
	}
	restart_next(o);
}

static void
on_deployments(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	o->call = NULL;
	if (r->err) {
		op_fail(o, PROTO_E_FAILED, "%s written, but listing Deployments failed: %s", o->data_path, r->message);
		return;
	}
	cJSON_AddArrayToObject(o->reply, "restarted");
	o->todo = cJSON_CreateArray();
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(r->json, "items")) {
		const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(it, "spec"), "template");
		if (consumes(cJSON_GetObjectItemCaseSensitive(pt, "metadata"), o->data_path)) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "namespace", jpath_str(md, "namespace"));
			cJSON_AddStringToObject(e, "name", jpath_str(md, "name"));
			cJSON_AddItemToArray(o->todo, e);
		}
	}
	int rc = kube_list(o->k, kinds_find(kube_kinds(o->k), "batch/v1", "CronJob"), NULL, NULL, NULL, on_cronjobs, o,
			   &o->call);
	if (rc < 0)
		op_fail(o, PROTO_E_FAILED, "cannot list CronJobs: %s", strerror(-rc));
}

/* The last step of put and import: restart consumers when asked, then answer. */
static void
finish_write(struct op *o)
{
	if (!o->restart) {
		op_done(o);
		return;
	}
	int r = kube_list(o->k, kinds_find(kube_kinds(o->k), "apps/v1", "Deployment"), NULL, NULL, NULL,
			  on_deployments, o, &o->call);
	if (r < 0)
		op_fail(o, PROTO_E_FAILED, "cannot list Deployments: %s", strerror(-r));
}

/* ---- import: read back, verify, delete ---- */

static void
on_secret_deleted(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	o->call = NULL;
	if (r->err && r->err != -ENOENT) {
		op_fail(o, PROTO_E_FAILED, "copied and verified into %s, but deleting secret %s/%s failed: %s",
			o->data_path, o->ns, o->secret_name, r->message);
		return;
	}
	cJSON_AddTrueToObject(o->reply, "deleted");
	finish_write(o);
}

static void
on_read_back(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	if (vr->err) {
		op_fail(o, PROTO_E_FAILED, "vault: read-back of %s failed: %s%s", o->data_path, vr->message, o->kept_msg);
		return;
	}
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vr->json, "data"), "data");
	cJSON *verified = cJSON_AddArrayToObject(o->reply, "verified");
	const cJSON *want;
	cJSON_ArrayForEach(want, o->values) {
		const char *got = jpath_str(data, want->string);
		if (!got || !secretkv_same(got, strlen(got), want->valuestring, strlen(want->valuestring))) {
			op_fail(o, PROTO_E_FAILED, "vault: read-back of %s: key %s %s%s", o->data_path, want->string,
				got ? "differs from the Secret's value (hash mismatch)" : "is missing", o->kept_msg);
			return;
		}
		cJSON_AddItemToArray(verified, cJSON_CreateString(want->string));
	}
	if (!o->del) {
		finish_write(o);
		return;
	}
	int r = kube_delete(o->k, kinds_find(kube_kinds(o->k), "v1", "Secret"), o->ns, o->secret_name, NULL,
			    on_secret_deleted, o, &o->call);
	if (r < 0)
		op_fail(o, PROTO_E_FAILED, "cannot delete secret %s/%s: %s", o->ns, o->secret_name, strerror(-r));
}

/* ---- put: read, merge, write with check-and-set ---- */

static void read_current(struct op *o);

static void
on_written(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	if (vr->err == -EINVAL && strstr(vr->message, "check-and-set") && ++o->tries < CAS_TRIES) {
		read_current(o);	/* another writer came between the read and the write */
		return;
	}
	if (vr->err) {
		op_fail(o, PROTO_E_FAILED, "vault: write %s failed: %s%s", o->data_path, vr->message, o->kept_msg);
		return;
	}
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vr->json, "data"), "version");
	cJSON_AddNumberToObject(o->reply, "version", cJSON_IsNumber(ver) ? ver->valuedouble : 0);
	if (o->kind != OP_IMPORT) {
		finish_write(o);
		return;
	}
	if (!vault_started(o, vault_read(o->vault, o->pod, o->token->data, o->data_path, on_read_back, o), "read",
			   o->data_path))
		return;
}

static void
on_current(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	if (vr->err && vr->err != -ENOENT) {
		op_fail(o, PROTO_E_FAILED, "vault: read %s failed: %s%s", o->data_path, vr->message, o->kept_msg);
		return;
	}
	/* A 404 with metadata is a deleted version: written over as a new one. */
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(vr->json, "data");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "metadata"), "version");
	const cJSON *cur = vr->err ? NULL : cJSON_GetObjectItemCaseSensitive(d, "data");
	cJSON *body = cJSON_CreateObject();
	cJSON *opts = cJSON_AddObjectToObject(body, "options");
	cJSON *merged = cJSON_IsObject(cur) ? cJSON_Duplicate(cur, true) : cJSON_CreateObject();
	cJSON_AddNumberToObject(opts, "cas", cJSON_IsNumber(ver) ? ver->valuedouble : 0);
	cJSON_AddItemToObject(body, "data", merged);
	cJSON *kept = cJSON_CreateArray(), *keys = cJSON_CreateArray();
	const cJSON *e;
	cJSON_ArrayForEach(e, merged) {
		if (!cJSON_GetObjectItemCaseSensitive(o->values, e->string))
			cJSON_AddItemToArray(kept, cJSON_CreateString(e->string));
	}
	cJSON_ArrayForEach(e, o->values) {
		cJSON_DeleteItemFromObjectCaseSensitive(merged, e->string);
		cJSON_AddItemToObject(merged, e->string, cJSON_CreateString(e->valuestring));
		cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
	}
	cJSON_ReplaceItemInObjectCaseSensitive(o->reply, "keys", keys);
	cJSON_ReplaceItemInObjectCaseSensitive(o->reply, "kept", kept);
	int r = vault_write(o->vault, o->pod, o->token->data, "POST", o->data_path, body, on_written, o);
	wipe_json_free(body);
	vault_started(o, r, "write", o->data_path);
}

static void
read_current(struct op *o)
{
	vault_started(o, vault_read(o->vault, o->pod, o->token->data, o->data_path, on_current, o), "read",
		      o->data_path);
}

static void
reply_base(struct op *o)
{
	cJSON_AddStringToObject(o->reply, "name", o->name);
	cJSON_AddStringToObject(o->reply, "path", o->data_path);
	cJSON_AddArrayToObject(o->reply, "keys");
	cJSON_AddArrayToObject(o->reply, "kept");
}

void
secrets_put(struct control_req *req, struct daemon *d)
{
	struct op *o = op_new(req, d, OP_PUT);
	if (!o || !op_set_name(o, jpath_str(req->args, "name")))
		return;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(req->args, "data"), *e;
	if (!cJSON_IsObject(data) || !data->child) {
		op_fail(o, PROTO_E_USAGE, "no KEY=VALUE given for %s", o->data_path);
		return;
	}
	cJSON_ArrayForEach(e, data) {
		if (!e->string || !secretkv_valid_key(e->string, strlen(e->string)) || !cJSON_IsString(e)) {
			op_fail(o, PROTO_E_USAGE, "key \"%.128s\": a key is a shell name (letters, digits, _) with a string value",
				e->string ? e->string : "");
			return;
		}
	}
	o->values = cJSON_Duplicate(data, true);
	o->restart = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->args, "restart"));
	reply_base(o);
	with_vault(o, read_current);
}

/* ---- import-k8s ---- */

static void
on_k8s_secret(void *arg, const struct kube_result *r)
{
	struct op *o = arg;
	o->call = NULL;
	if (r->err) {
		op_fail(o, PROTO_E_FAILED, "cannot read secret %s/%s: %s", o->ns, o->secret_name, r->message);
		return;
	}
	const char *type = jpath_str(r->json, "type");
	if (type && strcmp(type, "Opaque") != 0) {
		op_fail(o, PROTO_E_FAILED, "secret %s/%s has type %s: only plain (Opaque) Secrets are imported", o->ns,
			o->secret_name, type);
		return;
	}
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(r->json, "data"), *e;
	if (!cJSON_IsObject(data) || !data->child) {
		op_fail(o, PROTO_E_FAILED, "secret %s/%s has no data", o->ns, o->secret_name);
		return;
	}
	o->values = cJSON_CreateObject();
	cJSON_ArrayForEach(e, data) {
		struct secret *v = NULL;
		if (!secretkv_valid_key(e->string, strlen(e->string))) {
			op_fail(o, PROTO_E_FAILED, "secret %s/%s: key \"%.128s\" is not a shell name (letters, digits, _): "
				"the agents' file exports each key", o->ns, o->secret_name, e->string);
			return;
		}
		if (!cJSON_IsString(e) || secretkv_b64_decode(e->valuestring, strlen(e->valuestring), &v) < 0) {
			op_fail(o, PROTO_E_FAILED, "secret %s/%s: key %s is not base64", o->ns, o->secret_name, e->string);
			return;
		}
		bool text = strlen(v->data) == v->len;
		cJSON *s = text ? cJSON_CreateString(v->data) : NULL;
		secret_free(v);
		if (!s) {
			op_fail(o, PROTO_E_FAILED, "secret %s/%s: key %s holds a NUL byte: not text a Vault KV value can carry",
				o->ns, o->secret_name, e->string);
			return;
		}
		cJSON_AddItemToObject(o->values, e->string, s);
	}
	with_vault(o, read_current);
}

void
secrets_import(struct control_req *req, struct daemon *d)
{
	struct op *o = op_new(req, d, OP_IMPORT);
	if (!o)
		return;
	const char *ns = jpath_str(req->args, "namespace"), *sec = jpath_str(req->args, "secret");
	const char *as = jpath_str(req->args, "as");
	if (!ns || !sec || !*ns || !*sec || strlen(ns) >= sizeof o->ns || strlen(sec) >= sizeof o->secret_name) {
		op_fail(o, PROTO_E_USAGE, "import-k8s needs NAMESPACE/SECRET");
		return;
	}
	snprintf(o->ns, sizeof o->ns, "%s", ns);
	snprintf(o->secret_name, sizeof o->secret_name, "%s", sec);
	snprintf(o->kept_msg, sizeof o->kept_msg, "; secret %s/%s left in place", ns, sec);
	if (!op_set_name(o, as ? as : sec))
		return;
	o->del = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->args, "delete"));
	char src[520];
	snprintf(src, sizeof src, "%s/%s", ns, sec);
	cJSON_AddStringToObject(o->reply, "source", src);
	o->restart = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req->args, "restart"));
	reply_base(o);
	int r = kube_get(o->k, kinds_find(kube_kinds(o->k), "v1", "Secret"), o->ns, o->secret_name, on_k8s_secret, o,
			 &o->call);
	if (r < 0)
		op_fail(o, PROTO_E_USAGE, "secret %s/%s: not a valid Kubernetes name (%s)", o->ns, o->secret_name,
			strerror(-r));
}

/* ---- list: names, key names and versions ---- */

static void list_next(struct op *o);

static void
on_list_data(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vr->json, "data"), "data");
	if (vr->err && vr->err != -ENOENT) {
		op_fail(o, PROTO_E_FAILED, "vault: read %s failed: %s", o->data_path, vr->message);
		return;
	}
	cJSON *keys = cJSON_AddArrayToObject(o->entry, "keys");
	const cJSON *e;
	cJSON_ArrayForEach(e, data)
		cJSON_AddItemToArray(keys, cJSON_CreateString(e->string));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(o->reply, "secrets"), o->entry);
	o->entry = NULL;
	list_next(o);
}

static void
on_list_meta(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	if (vr->err) {
		op_fail(o, PROTO_E_FAILED, "vault: read %s failed: %s", o->meta_path, vr->message);
		return;
	}
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(vr->json, "data");
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(md, "current_version");
	o->entry = cJSON_CreateObject();
	cJSON_AddStringToObject(o->entry, "name", o->name);
	cJSON_AddStringToObject(o->entry, "path", o->data_path);
	cJSON_AddNumberToObject(o->entry, "version", cJSON_IsNumber(ver) ? ver->valuedouble : 0);
	cJSON_AddStringToObject(o->entry, "updated", jpath_str(md, "updated_time") ? jpath_str(md, "updated_time") : "");
	vault_started(o, vault_read(o->vault, o->pod, o->token->data, o->data_path, on_list_data, o), "read",
		      o->data_path);
}

static void
list_next(struct op *o)
{
	cJSON *n = cJSON_DetachItemFromArray(o->todo, 0);
	if (!n) {
		op_done(o);
		return;
	}
	bool ok = op_set_name(o, n->valuestring);
	cJSON_Delete(n);
	if (ok)
		vault_started(o, vault_read(o->vault, o->pod, o->token->data, o->meta_path, on_list_meta, o), "read",
			      o->meta_path);
}

static void
on_list_names(void *arg, const struct vault_reply *vr)
{
	struct op *o = arg;
	char prefix[PATH_LEN];
	secretkv_path(o->mount, o->prefix, "metadata", NULL, prefix, sizeof prefix);
	if (vr->err && vr->err != -ENOENT) {
		op_fail(o, PROTO_E_FAILED, "vault: list %s failed: %s", prefix, vr->message);
		return;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vr->json, "data"), "keys")) {
		/* Names ending in '/' are folders below the prefix, not agents' entries. */
		if (cJSON_IsString(e) && secretkv_valid_name(e->valuestring))
			cJSON_AddItemToArray(o->todo, cJSON_CreateString(e->valuestring));
	}
	list_next(o);
}

static void
list_start(struct op *o)
{
	if (cJSON_GetArraySize(o->todo) > 0) {
		list_next(o);
		return;
	}
	char path[PATH_LEN + 16];
	secretkv_path(o->mount, o->prefix, "metadata", NULL, path, sizeof path - 16);
	strcat(path, "?list=true");
	vault_started(o, vault_read(o->vault, o->pod, o->token->data, path, on_list_names, o), "list", path);
}

void
secrets_list(struct control_req *req, struct daemon *d)
{
	struct op *o = op_new(req, d, OP_LIST);
	if (!o)
		return;
	const char *name = jpath_str(req->args, "name");
	o->todo = cJSON_CreateArray();
	cJSON_AddArrayToObject(o->reply, "secrets");
	if (name) {
		if (!op_set_name(o, name))
			return;
		cJSON_AddItemToArray(o->todo, cJSON_CreateString(name));
	}
	with_vault(o, list_start);
}
