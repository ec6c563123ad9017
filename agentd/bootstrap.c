/* bootstrap — the first-run bring-up, step by step, each step idempotent. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bootstrap.h"
#include "jpath.h"
#include "kube.h"
#include "readfile.h"
#include "render.h"
#include "secret.h"
#include "vault.h"
#include "wipe.h"

#define MAX_KEYS 16
#define STEP_TIMEOUT_S 300.0
#define PHASE_TIMEOUT_MS 300000L
/* Room held for vault-init.json before Vault is asked to initialise: far more
 * than 16 PGP-encrypted keys and a root token take (cmd_bootstrap reads 64 KiB). */
#define INIT_RESERVE 65536

struct bootstrap {
	struct ev_loop *loop;
	struct kube *k;
	struct http_client *http;
	const struct config *cfg;
	struct bootstrap_ops ops;
	void *arg;
	struct manifest_stack *stack;
	size_t vault_phase, webhook_phase;	/* SIZE_MAX when absent */
	struct apply *apply;
	struct vault *vault;
	struct kube_call *call;
	ev_timer poll;
	void (*on_poll)(struct bootstrap *b);
	ev_tstamp poll_start;		/* when the wait of on_poll began (poll_later) */
	double poll_step;		/* its apply_poll_pause doubling */
	ev_tstamp deadline;
	char pod[254];
	char pod_selector[512];	/* the Vault StatefulSet's own matchLabels */
	struct secret *keys[MAX_KEYS];
	size_t nkeys, key_i;
	struct secret *root;
	struct cfgrun *cfgrun;	/* the Vault configuration under way */
	int apply_stage;	/* 1: up to Vault; 2: up to the webhook; 3: the rest */
	bool sealed_after_all_keys;
	int init_fd;	/* vault-init.json.new, reserved; -1 when none */
};

static void cfgrun_free(struct cfgrun *c);
static void step_seal(struct bootstrap *b);
static void step_configure(struct bootstrap *b);
static void step_apply(struct bootstrap *b, int stage);
static void write_record(struct bootstrap *b);

static void __attribute__((format(printf, 2, 3)))
say(struct bootstrap *b, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (b->ops.progress)
		b->ops.progress(b->arg, line);
}

static void
bootstrap_free(struct bootstrap *b)
{
	ev_timer_stop(b->loop, &b->poll);
	if (b->cfgrun)
		cfgrun_free(b->cfgrun);
	apply_cancel(b->apply);
	kube_cancel(b->call);
	vault_free(b->vault);
	manifest_stack_free(b->stack);
	for (size_t i = 0; i < b->nkeys; i++)
		secret_free(b->keys[i]);
	secret_free(b->root);
	if (b->init_fd >= 0) {	/* reserved, Vault never answered the init: nothing to keep */
		char tmp[1100];
		snprintf(tmp, sizeof tmp, "%s/vault-init.json.new", b->cfg->state_dir);
		close(b->init_fd);
		unlink(tmp);
	}
	free(b);
}

static void
finish(struct bootstrap *b, int err, const char *msg)
{
	void (*done)(void *, int, const char *) = b->ops.done;
	void *arg = b->arg;
	char copy[1200];
	snprintf(copy, sizeof copy, "%s", msg);
	bootstrap_free(b);
	done(arg, err, copy);
}

static void
on_poll_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct bootstrap *b = w->data;
	b->on_poll(b);
}

/* FN again after a pause (apply_poll_pause): a wait (QUICK) looks quickly at
 * first; a retry does not hurry.  Another FN than the last starts a new wait. */
static void
poll_later(struct bootstrap *b, void (*fn)(struct bootstrap *), double secs, bool quick)
{
	if (fn != b->on_poll) {
		b->on_poll = fn;
		b->poll_start = ev_now(b->loop);
		b->poll_step = 0;
	}
	ev_timer_stop(b->loop, &b->poll);
	ev_timer_init(&b->poll, on_poll_timer,
		      apply_poll_pause(quick ? ev_now(b->loop) - b->poll_start : INFINITY, &b->poll_step, secs), 0.0);
	b->poll.data = b;
	ev_timer_start(b->loop, &b->poll);
}

static bool
timed_out(struct bootstrap *b)
{
	return ev_now(b->loop) > b->deadline;
}

/* ---- vault-init.json ---- */

char *
bootstrap_saved_root_token(const char *state_dir)
{
	char path[4096], *text = NULL, *tok = NULL;
	size_t len;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/vault-init.json", state_dir);
	if (readfile(path, 65536, &text, &len) < 0)
		return NULL;
	j = cJSON_ParseWithLength(text, len);
	if (jpath_str(j, "root_token") && *jpath_str(j, "root_token"))
		tok = strdup(jpath_str(j, "root_token"));
	wipe_json_free(j);
	wipe_free(text, len);
	return tok;
}

static void
init_path(const struct bootstrap *b, char *buf, size_t size)
{
	snprintf(buf, size, "%s/vault-init.json", b->cfg->state_dir);
}

/* Vault's init answer is the only copy of its keys: before asking for it, the
 * file that will hold them is created and filled with blanks, so that a full
 * disk fails the bootstrap while Vault is still uninitialised.  Overwriting
 * those blocks later needs no new space (on a copy-on-write filesystem it
 * might: the write's error is still reported). */
static int
reserve_init_file(struct bootstrap *b, char *why, size_t whysize)
{
	char path[1024], tmp[1100], blanks[4096];
	init_path(b, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	if (mkdir(b->cfg->state_dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, whysize, "cannot create %.400s: %s", b->cfg->state_dir, strerror(errno));
		return -errno;
	}
	/* A leftover .new holds no keys: Vault never answered the init it was made for. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int r = fd < 0 ? -errno : 0;
	memset(blanks, ' ', sizeof blanks);
	for (size_t off = 0; r == 0 && off < INIT_RESERVE; off += sizeof blanks)
		if (write(fd, blanks, sizeof blanks) != (ssize_t)sizeof blanks)
			r = errno ? -errno : -EIO;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		snprintf(why, whysize, "cannot write %.250s (reserving %d KiB for the unseal keys in %.250s): %s", tmp,
			 INIT_RESERVE / 1024, path, strerror(-r));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return r;
	}
	b->init_fd = fd;
	return 0;
}

static int
write_init_file(struct bootstrap *b, const struct vault_init_keys *k, char *why, size_t whysize)
{
	char path[1024], tmp[1100], old[1100];
	init_path(b, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.new", path);
	cJSON *o = cJSON_CreateObject();
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "unseal_keys_b64") : NULL;
	int r = -ENOMEM;
	if (!arr)
		goto out;
	for (size_t i = 0; i < k->n; i++)
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(k->keys_b64[i])))
			goto out;
	cJSON_AddNumberToObject(o, "unseal_shares", (double)b->cfg->vault.init.shares);
	cJSON_AddNumberToObject(o, "unseal_threshold", (double)b->cfg->vault.init.threshold);
	if (!cJSON_AddStringToObject(o, "root_token", k->root_token))
		goto out;
	char *text = cJSON_Print(o);
	if (!text)
		goto out;
	size_t len = strlen(text);
	int fd = b->init_fd;
	b->init_fd = -1;
	r = 0;
	if (fd < 0 || pwrite(fd, text, len, 0) != (ssize_t)len || pwrite(fd, "\n", 1, (off_t)len) != 1 ||
	    ftruncate(fd, (off_t)len + 1) < 0 || fsync(fd) < 0)
		r = fd < 0 ? -EBADF : errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	wipe_free_str(text);
	if (r < 0) {
		snprintf(why, whysize, "cannot write %.400s: %s", tmp, strerror(-r));
		goto out;
	}
	/* Written once: an older file (a Vault since wiped) is kept aside, not overwritten. */
	if (access(path, F_OK) == 0) {
		snprintf(old, sizeof old, "%s.replaced-%lld", path, (long long)time(NULL));
		if (rename(path, old) < 0) {
			r = -errno;
			snprintf(why, whysize, "cannot move the old %.250s aside (the keys are in %.250s): %s", path,
				 tmp, strerror(-r));
			goto out;
		}
	}
	if (rename(tmp, path) < 0) {
		r = -errno;
		snprintf(why, whysize, "cannot rename %.250s to %.250s: %s", tmp, path, strerror(-r));
	}
out:
	wipe_json_free(o);
	if (r == -ENOMEM)
		snprintf(why, whysize, "out of memory");
	return r;
}

static struct secret *
secret_of(const char *s)
{
	size_t n = strlen(s);
	struct secret *x = secret_new(n);
	if (x && secret_append(x, s, n) < 0)
		x = secret_free(x);
	return x;
}

/* Keys and token from an earlier init (a bootstrap resumed after a restart). */
static bool
load_init_file(struct bootstrap *b)
{
	char path[1024], *text;
	size_t len;
	init_path(b, path, sizeof path);
	if (readfile(path, 1 << 20, &text, &len) < 0)
		return false;
	cJSON *j = cJSON_ParseWithLength(text, len);
	wipe_free(text, len + 1);
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "unseal_keys_b64"), *e;
	const cJSON *root = cJSON_GetObjectItemCaseSensitive(j, "root_token");
	cJSON_ArrayForEach(e, arr) {
		if (cJSON_IsString(e) && b->nkeys < MAX_KEYS && (b->keys[b->nkeys] = secret_of(e->valuestring)))
			b->nkeys++;
	}
	if (cJSON_IsString(root))
		b->root = secret_of(root->valuestring);
	wipe_json_free(j);
	return b->nkeys > 0 || b->root;
}

/* ---- phases ---- */

static void
on_apply_progress(void *arg, const struct apply_event *ev)
{
	struct bootstrap *b = arg;
	char what[300] = "";
	if (ev->obj)
		snprintf(what, sizeof what, "%s %s%s%s", ev->obj->kind, ev->obj->namespace ? ev->obj->namespace : "",
			 ev->obj->namespace ? "/" : "", ev->obj->name);
	switch (ev->step) {
	case APPLY_OBJECT:
		say(b, "phase %s: %s: %s (%.1fs)", ev->phase, what, ev->err ? ev->message : "applied", ev->elapsed);
		break;
	case APPLY_RETRY:
		say(b, "phase %s: retrying: %s", ev->phase, ev->message);
		break;
	case APPLY_WAITING:
		say(b, "phase %s: waiting for %s: %s", ev->phase, what, ev->message);
		break;
	case APPLY_READY:
		say(b, "phase %s: %s ready (%.1fs)", ev->phase, what, ev->elapsed);
		break;
	case APPLY_PHASE:
		say(b, "phase %s: done (%.1fs)", ev->phase, ev->elapsed);
		break;
	}
}

/* Vault's StatefulSet is NotReady while sealed: its pod is awaited separately. */
static bool
gate_wait(void *arg, const struct manifest_object *o)
{
	struct bootstrap *b = arg;
	return !(strcmp(o->kind, "StatefulSet") == 0 && o->namespace &&
		 strcmp(o->namespace, b->cfg->vault.namespace) == 0);
}

static void wait_pod(struct bootstrap *b);
static void wait_cabundle(struct bootstrap *b);

static void
on_apply_done(void *arg, int err, const char *msg)
{
	struct bootstrap *b = arg;
	b->apply = NULL;
	if (err) {
		finish(b, err, msg);
		return;
	}
	b->deadline = ev_now(b->loop) + STEP_TIMEOUT_S;
	if (b->apply_stage == 1 && b->vault_phase != SIZE_MAX)
		wait_pod(b);
	else if (b->apply_stage == 2 && b->webhook_phase != SIZE_MAX)
		wait_cabundle(b);
	else if (b->apply_stage < 3)
		step_apply(b, b->apply_stage + 1);
	else {
		write_record(b);
		finish(b, 0, "the stack is up");
	}
}

static void
step_apply(struct bootstrap *b, int stage)
{
	size_t n = b->stack->count, from, to;
	b->apply_stage = stage;
	size_t v = b->vault_phase, w = b->webhook_phase;
	if (stage == 1) {
		from = 0;
		to = v != SIZE_MAX ? v + 1 : 0;
	} else if (stage == 2) {
		from = v != SIZE_MAX ? v + 1 : 0;
		to = w != SIZE_MAX && w >= from ? w + 1 : from;
	} else {
		from = w != SIZE_MAX && w + 1 > (v != SIZE_MAX ? v + 1 : 0) ? w + 1 : (v != SIZE_MAX ? v + 1 : 0);
		to = n;
	}
	struct apply_ops ops = { on_apply_progress, on_apply_done, gate_wait };
	int r = apply_start(b->loop, b->k, b->stack, from, to, PHASE_TIMEOUT_MS, &ops, b, &b->apply);
	if (r < 0)
		finish(b, r, "cannot start applying the manifests");
}

/* ---- the Vault pod ---- */

static void
on_pods(void *arg, const struct kube_result *r)
{
	struct bootstrap *b = arg;
	b->call = NULL;
	const cJSON *item;
	char best[254] = "";
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r->json, "items")) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(item, "status");
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(md, "name"));
		const char *phase = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "phase"));
		const char *ip = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st, "podIP"));
		if (name && phase && strcmp(phase, "Running") == 0 && ip && *ip &&
		    (!best[0] || strcmp(name, best) < 0))
			snprintf(best, sizeof best, "%s", name);
	}
	if (best[0]) {
		snprintf(b->pod, sizeof b->pod, "%s", best);
		say(b, "vault: pod %s is running", b->pod);
		b->deadline = ev_now(b->loop) + STEP_TIMEOUT_S;
		step_seal(b);
		return;
	}
	if (timed_out(b)) {
		finish(b, -ETIMEDOUT, "no Vault server pod became Running with an IP in time");
		return;
	}
	poll_later(b, wait_pod, 1.0, true);
}

static void
wait_pod(struct bootstrap *b)
{
	const struct kind_info *pod = kinds_find(kube_kinds(b->k), "v1", "Pod");
	const char *sel = b->pod_selector[0] ? b->pod_selector : b->cfg->vault.selector;
	if (kube_list(b->k, pod, b->cfg->vault.namespace, sel, NULL, on_pods, b, &b->call) < 0)
		poll_later(b, wait_pod, 1.0, true);
}

/* ---- init and unseal ---- */

static void unseal_next(struct bootstrap *b);

static void
on_unsealed(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct bootstrap *b = arg;
	if (!s) {
		char msg[700];
		snprintf(msg, sizeof msg, "vault: unseal of %s failed: %s", b->pod, r->message);
		finish(b, r->err, msg);
		return;
	}
	if (!s->sealed) {
		say(b, "vault: %s unsealed", b->pod);
		step_configure(b);
		return;
	}
	b->key_i++;
	if (b->key_i >= b->nkeys) {
		finish(b, -EKEYREJECTED, "vault: still sealed after every key agentd holds: the keys do not match");
		return;
	}
	unseal_next(b);
}

static void
unseal_next(struct bootstrap *b)
{
	struct secret *k = b->keys[b->key_i];
	int r = vault_unseal(b->vault, b->pod, k->data, k->len, on_unsealed, b);
	if (r < 0)
		finish(b, r, "vault: cannot submit an unseal key");
}

static void
on_init(void *arg, const struct vault_reply *r, const struct vault_init_keys *k)
{
	struct bootstrap *b = arg;
	char why[600];
	if (!k) {
		snprintf(why, sizeof why, "vault: init of %s failed: %s", b->pod, r->message);
		finish(b, r->err, why);
		return;
	}
	int rc = write_init_file(b, k, why, sizeof why);
	if (rc < 0) {
		/* Without the file the keys would be lost for good: say so, loudly. */
		char msg[800];
		snprintf(msg, sizeof msg, "vault: initialised, but %s; the unseal keys exist only in this process now", why);
		finish(b, rc, msg);
		return;
	}
	for (size_t i = 0; i < k->n && b->nkeys < MAX_KEYS; i++)
		if ((b->keys[b->nkeys] = secret_of(k->keys_b64[i])))
			b->nkeys++;
	b->root = secret_of(k->root_token);
	say(b, "vault: %s initialised (%u shares, threshold %u); keys and root token written to %s/vault-init.json",
	    b->pod, b->cfg->vault.init.shares, b->cfg->vault.init.threshold, b->cfg->state_dir);
	if (b->cfg->vault.init.pgp_keys.n > 0) {
		finish(b, -EAGAIN, "vault: initialised with PGP-encrypted keys: decrypt one and give it with agentctl unseal");
		return;
	}
	b->key_i = 0;
	unseal_next(b);
}

static void
on_seal(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct bootstrap *b = arg;
	char msg[700];
	if (!s) {
		if (r->transport && !timed_out(b)) {	/* the server is still starting */
			poll_later(b, step_seal, 1.0, true);
			return;
		}
		snprintf(msg, sizeof msg, "vault: seal status of %s: %s", b->pod, r->message);
		finish(b, r->err, msg);
		return;
	}
	if (!s->initialized) {
		int rr = reserve_init_file(b, msg, sizeof msg);
		if (rr < 0) {
			char why[1100];
			snprintf(why, sizeof why, "vault: %.250s left uninitialised: the unseal keys could not be kept: %s",
				 b->pod, msg);
			finish(b, rr, why);
			return;
		}
		say(b, "vault: %s is not initialised: initialising", b->pod);
		const struct config_strlist *pk = &b->cfg->vault.init.pgp_keys;
		int rc = vault_init(b->vault, b->pod, b->cfg->vault.init.shares, b->cfg->vault.init.threshold,
				    (const char *const *)pk->v, pk->n, on_init, b);
		if (rc < 0)
			finish(b, rc, "vault: cannot start init (check vault.init in the config)");
		return;
	}
	load_init_file(b);
	if (s->sealed) {
		if (b->nkeys == 0) {
			snprintf(msg, sizeof msg, "vault: %s is sealed: give an unseal key with agentctl unseal", b->pod);
			finish(b, -EAGAIN, msg);
			return;
		}
		say(b, "vault: %s is sealed: unsealing with the keys of vault-init.json", b->pod);
		b->key_i = 0;
		unseal_next(b);
		return;
	}
	say(b, "vault: %s is initialised and unsealed", b->pod);
	step_configure(b);
}

static void
step_seal(struct bootstrap *b)
{
	if (!b->vault) {
		int r = vault_new_for_config(b->cfg, b->k, b->http, &b->vault);
		if (r < 0) {
			finish(b, r, "vault: cannot set up the client");
			return;
		}
	}
	if (vault_seal_status(b->vault, b->pod, on_seal, b) < 0)
		finish(b, -EINVAL, "vault: cannot ask for the seal status");
}

/* ---- configuration: read back, write what differs ---- */

struct vcfg {
	const char *what;
	char read[256], write[256];
	const char *method;
	cJSON *body;
	char present[128];		/* a listing (sys/audit...) holds PRESENT/: nothing to do */
	const char *compare[4];		/* else: these fields of the read equal the body's */
};

static const cJSON *
vdata(const cJSON *j)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
	return cJSON_IsObject(d) ? d : j;
}

static bool
same_field(const cJSON *have, const cJSON *want, const char *key)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(have, key), *w = cJSON_GetObjectItemCaseSensitive(want, key);
	if (!w)
		return true;
	if (!a)
		return false;
	if (cJSON_IsArray(w) && cJSON_IsArray(a) && cJSON_GetArraySize(w) == cJSON_GetArraySize(a)) {
		/* Vault may reorder lists: compare as sets. */
		const cJSON *x;
		cJSON_ArrayForEach(x, w) {
			bool found = false;
			const cJSON *y;
			cJSON_ArrayForEach(y, a) found = found || cJSON_Compare(x, y, true);
			if (!found)
				return false;
		}
		return true;
	}
	return cJSON_Compare(a, w, true);
}

static const cJSON *
value_at(const cJSON *values, const char *a, const char *b2, const char *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(values, a);
	if (b2)
		v = cJSON_GetObjectItemCaseSensitive(v, b2);
	if (c)
		v = cJSON_GetObjectItemCaseSensitive(v, c);
	return v;
}

static const char *
vstr(const cJSON *values, const char *b2, const char *c, const char *dflt)
{
	const cJSON *v = value_at(values, "vault", b2, c);
	return cJSON_IsString(v) ? v->valuestring : dflt;
}

/* The steps, from the values (vault.audit, vault.kv, vault.auth, vault.policy). */
static size_t
build_steps(const cJSON *values, struct vcfg *st)
{
	const char *audit = vstr(values, "audit", "path", "stdout"), *kv = vstr(values, "kv", "mount", "secret");
	const char *prefix = vstr(values, "kv", "prefix", "agents/"), *am = vstr(values, "auth", "mount", "kubernetes");
	const char *role = vstr(values, "auth", "role", "ai-agents"), *pol = vstr(values, "policy", "name", "ai-agents-read");
	size_t n = 0;

	st[n] = (struct vcfg){ .what = "audit device", .method = "PUT" };
	snprintf(st[n].read, sizeof st[n].read, "sys/audit");
	snprintf(st[n].write, sizeof st[n].write, "sys/audit/%s", audit);
	st[n].body = cJSON_CreateObject();
	cJSON_AddStringToObject(st[n].body, "type", vstr(values, "audit", "type", "file"));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(st[n].body, "options"), "file_path",
				vstr(values, "audit", "file_path", "stdout"));
	n++;

	st[n] = (struct vcfg){ .what = "KV v2 mount", .method = "POST" };
	snprintf(st[n].read, sizeof st[n].read, "sys/mounts");
	snprintf(st[n].write, sizeof st[n].write, "sys/mounts/%s", kv);
	st[n].body = cJSON_CreateObject();
	cJSON_AddStringToObject(st[n].body, "type", "kv");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(st[n].body, "options"), "version", "2");
	n++;

	st[n] = (struct vcfg){ .what = "Kubernetes auth method", .method = "POST" };
	snprintf(st[n].read, sizeof st[n].read, "sys/auth");
	snprintf(st[n].write, sizeof st[n].write, "sys/auth/%s", am);
	st[n].body = cJSON_CreateObject();
	cJSON_AddStringToObject(st[n].body, "type", "kubernetes");
	n++;

	st[n] = (struct vcfg){ .what = "Kubernetes auth config", .method = "POST", .compare = { "kubernetes_host" } };
	snprintf(st[n].read, sizeof st[n].read, "auth/%s/config", am);
	snprintf(st[n].write, sizeof st[n].write, "auth/%s/config", am);
	st[n].body = cJSON_CreateObject();
	cJSON_AddStringToObject(st[n].body, "kubernetes_host",
				vstr(values, "auth", "kubernetes_host", "https://kubernetes.default.svc"));
	n++;

	st[n] = (struct vcfg){ .what = "policy", .method = "PUT", .compare = { "policy" } };
	snprintf(st[n].read, sizeof st[n].read, "sys/policies/acl/%s", pol);
	snprintf(st[n].write, sizeof st[n].write, "sys/policies/acl/%s", pol);
	char text[1024];
	snprintf(text, sizeof text,
		 "# Written by agentd: the agents read their own secrets and nothing else.\n"
		 "path \"%s/data/%s*\" {\n  capabilities = [\"read\"]\n}\n"
		 "path \"%s/metadata/%s*\" {\n  capabilities = [\"read\", \"list\"]\n}\n",
		 kv, prefix, kv, prefix);
	st[n].body = cJSON_CreateObject();
	cJSON_AddStringToObject(st[n].body, "policy", text);
	n++;

	st[n] = (struct vcfg){ .what = "role", .method = "POST",
			       .compare = { "bound_service_account_names", "bound_service_account_namespaces",
					    "token_policies", "token_ttl" } };
	snprintf(st[n].read, sizeof st[n].read, "auth/%s/role/%s", am, role);
	snprintf(st[n].write, sizeof st[n].write, "auth/%s/role/%s", am, role);
	st[n].body = cJSON_CreateObject();
	const cJSON *sas = value_at(values, "vault", "auth", "bound_service_accounts");
	const cJSON *nss = value_at(values, "vault", "auth", "bound_namespaces");
	cJSON_AddItemToObject(st[n].body, "bound_service_account_names",
			      sas ? cJSON_Duplicate(sas, true) : cJSON_CreateStringArray((const char *[]){ "default" }, 1));
	cJSON_AddItemToObject(st[n].body, "bound_service_account_namespaces",
			      nss ? cJSON_Duplicate(nss, true) : cJSON_CreateStringArray((const char *[]){ "ai-agents" }, 1));
	cJSON_AddItemToObject(st[n].body, "token_policies", cJSON_CreateStringArray((const char *[]){ pol }, 1));
	const cJSON *ttl = value_at(values, "vault", "auth", "token_ttl");
	if (cJSON_IsNumber(ttl))
		cJSON_AddNumberToObject(st[n].body, "token_ttl", ttl->valuedouble);
	n++;
	snprintf(st[0].present, sizeof st[0].present, "%s", audit);
	snprintf(st[1].present, sizeof st[1].present, "%s", kv);
	snprintf(st[2].present, sizeof st[2].present, "%s", am);
	return n;
}

#define MAX_STEPS 40

/* Every KV path the stack's pods read through the injector (agent-inject-secret-*). */
static void
collect_secret_paths(const cJSON *n, char paths[][256], size_t *np, size_t max)
{
	static const char prefix[] = "vault.hashicorp.com/agent-inject-secret-";
	for (; n; n = n->next) {
		if (n->string && cJSON_IsString(n) && strncmp(n->string, prefix, sizeof prefix - 1) == 0) {
			bool dup = false;
			for (size_t i = 0; i < *np; i++)
				dup = dup || strcmp(paths[i], n->valuestring) == 0;
			if (!dup && *np < max && strlen(n->valuestring) < 256)
				snprintf(paths[(*np)++], 256, "%s", n->valuestring);
		}
		collect_secret_paths(n->child, paths, np, max);
	}
}

/* An agent's KV entry that does not exist yet is created empty (never overwritten):
 * its pods can start, and the operator adds keys with `agentctl secret put`. */
static size_t
add_secret_steps(const struct manifest_stack *s, struct vcfg *st, size_t n, size_t max)
{
	char paths[24][256];
	size_t np = 0;
	for (size_t p = 0; p < s->count; p++)
		for (size_t i = 0; i < s->phases[p].count; i++)
			collect_secret_paths(s->phases[p].objects[i].obj, paths, &np, 24);
	for (size_t i = 0; i < np && n < max; i++) {
		if (!strstr(paths[i], "/data/"))
			continue;	/* KV v2 paths only */
		st[n] = (struct vcfg){ .what = "agent secret entry", .method = "POST" };
		snprintf(st[n].read, sizeof st[n].read, "%s", paths[i]);
		snprintf(st[n].write, sizeof st[n].write, "%s", paths[i]);
		st[n].body = cJSON_CreateObject();
		cJSON_AddObjectToObject(st[n].body, "data");
		n++;
	}
	return n;
}

struct cfgrun {
	struct bootstrap *b;
	struct vcfg steps[MAX_STEPS];
	size_t n, i;
	cJSON *values;
	ev_tstamp retry_until;	/* the step's retries end then; 0: not retrying */
};

/* A step that meets an unavailable API server or a lost connection is tried
 * again (read first, so a write that went through is not repeated) for up to
 * this long; Vault's own answers (sealed, denied) stop the bootstrap at once. */
#define CFG_RETRY_S 30.0

static void cfg_next(struct cfgrun *c);

static void
cfgrun_free(struct cfgrun *c)
{
	for (size_t i = 0; i < c->n; i++)
		cJSON_Delete(c->steps[i].body);
	cJSON_Delete(c->values);
	if (c->b->cfgrun == c)
		c->b->cfgrun = NULL;
	free(c);
}

/* No answer from Vault, for a reason that passes: the connection failed, or
 * the API server (or its pod proxy, while the pod is unreachable) answered for
 * it with its own 429 or 5xx Status.  A 403 or 404 Status does not pass. */
static bool
cfg_transient(const struct vault_reply *r)
{
	return r->transport && (r->status == 0 || r->status == 429 || r->status >= 500);
}

static void
cfg_retry(struct bootstrap *b)
{
	cfg_next(b->cfgrun);
}

/* True when the step will be tried again. */
static bool
cfg_again(struct cfgrun *c, const struct vault_reply *r)
{
	struct bootstrap *b = c->b;
	ev_tstamp now = ev_now(b->loop);

	if (!cfg_transient(r))
		return false;
	if (c->retry_until == 0)
		c->retry_until = now + CFG_RETRY_S;
	if (now >= c->retry_until)
		return false;
	say(b, "vault: configuring the %s: %s; trying again", c->steps[c->i].what, r->message);
	poll_later(b, cfg_retry, 2.0, false);
	return true;
}

/* The step is done: the next starts with no retries behind it. */
static void
cfg_step_done(struct cfgrun *c)
{
	c->i++;
	c->retry_until = 0;
	c->b->on_poll = NULL;	/* the next step's retries start over */
	cfg_next(c);
}

static void
cfg_fail(struct cfgrun *c, int err, const char *what, const char *msg)
{
	struct bootstrap *b = c->b;
	char full[800];
	snprintf(full, sizeof full, "vault: configuring the %s failed: %s", what, msg);
	cfgrun_free(c);
	finish(b, err, full);
}

static void
on_written(void *arg, const struct vault_reply *r)
{
	struct cfgrun *c = arg;
	struct vcfg *s = &c->steps[c->i];
	if (r->err) {
		if (!cfg_again(c, r))
			cfg_fail(c, r->err, s->what, r->message);
		return;
	}
	say(c->b, "vault: %s written (%s)", s->what, s->write);
	cfg_step_done(c);
}

static bool
listing_has(const cJSON *j, const char *key)
{
	char k[300];
	snprintf(k, sizeof k, "%s/", key);
	return cJSON_GetObjectItemCaseSensitive(vdata(j), k) || cJSON_GetObjectItemCaseSensitive(j, k);
}

static void
on_read(void *arg, const struct vault_reply *r)
{
	struct cfgrun *c = arg;
	struct vcfg *s = &c->steps[c->i];
	bool same = false;
	if (r->err && r->err != -ENOENT) {
		if (!cfg_again(c, r))
			cfg_fail(c, r->err, s->what, r->message);
		return;
	}
	if (!r->err && s->present[0]) {
		same = listing_has(r->json, s->present);
	} else if (!r->err) {
		same = true;
		for (size_t k = 0; k < 4 && s->compare[k]; k++)
			same = same && same_field(vdata(r->json), s->body, s->compare[k]);
	}
	if (same) {
		say(c->b, "vault: %s already as wanted", s->what);
		cfg_step_done(c);
		return;
	}
	int rc = vault_write(c->b->vault, c->b->pod, c->b->root->data, s->method, s->write, s->body, on_written, c);
	if (rc < 0)
		cfg_fail(c, rc, s->what, "cannot send the request");
}

static void
cfg_next(struct cfgrun *c)
{
	if (c->i >= c->n) {
		struct bootstrap *b = c->b;
		cfgrun_free(c);
		say(b, "vault: configured");
		step_apply(b, 2);
		return;
	}
	struct vcfg *s = &c->steps[c->i];
	if (vault_read(c->b->vault, c->b->pod, c->b->root->data, s->read, on_read, c) < 0)
		cfg_fail(c, -EINVAL, s->what, "cannot send the request");
}

/* The values as the manifests saw them (for vault.* settings). */
static cJSON *
load_values(const struct config *cfg)
{
	struct manifest_file vf = { cfg->values, NULL, 0 }, of = { cfg->values_override, NULL, 0 };
	char *vt = NULL, *ot = NULL, *err = NULL;
	cJSON *v = NULL;
	if (readfile(cfg->values, 4 << 20, &vt, &vf.len) == 0) {
		vf.text = vt;
		if (cfg->values_override && readfile(cfg->values_override, 4 << 20, &ot, &of.len) == 0)
			of.text = ot;
		if (manifest_values(&vf, of.text ? &of : NULL, &v, &err) < 0)
			v = NULL;
	}
	free(vt);
	free(ot);
	free(err);
	return v ? v : cJSON_CreateObject();
}

static void
step_configure(struct bootstrap *b)
{
	if (!b->root) {
		say(b, "vault: no root token (no vault-init.json from agentd's init): configuration left as it is");
		step_apply(b, 2);
		return;
	}
	struct cfgrun *c = calloc(1, sizeof *c);
	if (!c) {
		finish(b, -ENOMEM, "out of memory");
		return;
	}
	c->b = b;
	b->cfgrun = c;
	c->values = load_values(b->cfg);
	c->n = build_steps(c->values, c->steps);
	c->n = add_secret_steps(b->stack, c->steps, c->n, MAX_STEPS);
	cfg_next(c);
}

/* ---- the webhook's caBundle ---- */

static void
on_webhook(void *arg, const struct kube_result *r)
{
	struct bootstrap *b = arg;
	b->call = NULL;
	bool filled = r->err == 0;
	const cJSON *w;
	cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(r->json, "webhooks")) {
		const cJSON *cc = cJSON_GetObjectItemCaseSensitive(w, "clientConfig");
		const char *ca = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cc, "caBundle"));
		filled = filled && ca && *ca;
	}
	if (filled) {
		say(b, "webhook: caBundle filled in by the injector");
		step_apply(b, 3);
		return;
	}
	if (timed_out(b)) {
		finish(b, -ETIMEDOUT, "webhook: the injector did not fill in the caBundle in time");
		return;
	}
	poll_later(b, wait_cabundle, 1.0, true);
}

static void
wait_cabundle(struct bootstrap *b)
{
	const struct manifest_phase *ph = &b->stack->phases[b->webhook_phase];
	for (size_t i = 0; i < ph->count; i++) {
		const struct manifest_object *o = &ph->objects[i];
		if (strcmp(o->kind, "MutatingWebhookConfiguration") == 0) {
			if (kube_get(b->k, o->info, NULL, o->name, on_webhook, b, &b->call) < 0)
				poll_later(b, wait_cabundle, 1.0, true);
			return;
		}
	}
	step_apply(b, 3);
}

/* ---- the stack record ---- */

static void
stack_hash(const struct manifest_stack *s, char out[17])
{
	char *text = manifest_format(s);
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */
	for (const char *p = text ? text : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	snprintf(out, 17, "%016llx", (unsigned long long)h);
	free(text);
}

static void
record_path(const struct config *cfg, char *buf, size_t size)
{
	snprintf(buf, size, "%s/stack.json", cfg->state_dir);
}

static void
write_record(struct bootstrap *b)
{
	char path[1024], tmp[1100], hash[17], text[128];
	stack_hash(b->stack, hash);
	record_path(b->cfg, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int n = snprintf(text, sizeof text, "{\"manifests_hash\": \"%s\", \"applied\": %lld}\n", hash,
			 (long long)time(NULL));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	bool ok = write(fd, text, (size_t)n) == n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

bool
bootstrap_needed(const struct config *cfg, struct kinds *kinds, char *why, size_t whysize)
{
	struct manifest_stack *s = NULL;
	char *err = NULL, path[1024], *text = NULL, hash[17];
	size_t len;
	if (render_load(cfg->manifests, cfg->values, cfg->values_override, kinds, &s, &err) < 0) {
		snprintf(why, whysize, "manifests: %s", err ? err : "cannot render");
		free(err);
		return false;	/* nothing to apply until they render */
	}
	stack_hash(s, hash);
	manifest_stack_free(s);
	record_path(cfg, path, sizeof path);
	if (readfile(path, 4096, &text, &len) < 0) {
		snprintf(why, whysize, "no record of a completed bootstrap");
		return true;
	}
	cJSON *j = cJSON_Parse(text);
	free(text);
	const char *have = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "manifests_hash"));
	bool differs = !have || strcmp(have, hash) != 0;
	cJSON_Delete(j);
	snprintf(why, whysize, differs ? "the manifests changed since the last bootstrap" : "the stack is as applied");
	return differs;
}

/* ---- start ---- */

/* "k=v,k2=v2" from spec.selector.matchLabels ("" when there is none). */
static void
selector_of(const cJSON *sts, char *buf, size_t size)
{
	const cJSON *ml = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sts, "spec"), "selector"), "matchLabels");
	const cJSON *l;
	size_t o = 0;
	buf[0] = '\0';
	cJSON_ArrayForEach(l, ml) {
		if (cJSON_IsString(l) && o < size)
			o += (size_t)snprintf(buf + o, size - o, "%s%s=%s", o ? "," : "", l->string, l->valuestring);
	}
	if (o >= size)
		buf[0] = '\0';	/* too long: fall back to the configured selector */
}

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct bootstrap *b = w->data;
	char *err = NULL;
	int r = render_load(b->cfg->manifests, b->cfg->values, b->cfg->values_override, kube_kinds(b->k), &b->stack,
			    &err);
	if (r < 0) {
		char msg[1100];
		snprintf(msg, sizeof msg, "manifests: %s", err ? err : strerror(-r));
		free(err);
		finish(b, r, msg);
		return;
	}
	b->vault_phase = b->webhook_phase = SIZE_MAX;
	for (size_t p = 0; p < b->stack->count; p++) {
		const struct manifest_phase *ph = &b->stack->phases[p];
		for (size_t i = 0; i < ph->count; i++) {
			const struct manifest_object *o = &ph->objects[i];
			if (b->vault_phase == SIZE_MAX && strcmp(o->kind, "StatefulSet") == 0 && o->namespace &&
			    strcmp(o->namespace, b->cfg->vault.namespace) == 0) {
				b->vault_phase = p;
				selector_of(o->obj, b->pod_selector, sizeof b->pod_selector);
			}
			if (b->webhook_phase == SIZE_MAX && strcmp(o->kind, "MutatingWebhookConfiguration") == 0)
				b->webhook_phase = p;
		}
	}
	if (b->webhook_phase != SIZE_MAX && b->vault_phase != SIZE_MAX && b->webhook_phase <= b->vault_phase)
		b->webhook_phase = SIZE_MAX;	/* a webhook before Vault: nothing to wait for in between */
	say(b, "bootstrap: %zu phases from %s", b->stack->count, b->cfg->manifests);
	step_apply(b, 1);
}

int
bootstrap_start(struct ev_loop *loop, struct kube *k, struct http_client *http, const struct config *cfg,
		const struct bootstrap_ops *ops, void *arg, struct bootstrap **out)
{
	if (!loop || !k || !cfg || !ops || !ops->done)
		return -EINVAL;
	struct bootstrap *b = calloc(1, sizeof *b);
	if (!b)
		return -ENOMEM;
	*b = (struct bootstrap){ .loop = loop, .k = k, .http = http, .cfg = cfg, .ops = *ops, .arg = arg, .init_fd = -1 };
	b->deadline = ev_now(loop) + STEP_TIMEOUT_S;
	ev_timer_init(&b->poll, on_kick, 0.0, 0.0);
	b->poll.data = b;
	ev_timer_start(loop, &b->poll);	/* later polls re-init it with on_poll_timer */
	if (out)
		*out = b;
	return 0;
}

void
bootstrap_cancel(struct bootstrap *b)
{
	if (b)
		bootstrap_free(b);
}
