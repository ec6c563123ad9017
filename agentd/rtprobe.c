/* rtprobe.c — seed and clear the reset test's probe key in empty agent entries. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "bootstrap.h"
#include "jpath.h"
#include "kinds.h"
#include "kube.h"
#include "proof.h"
#include "rtprobe.h"
#include "vault.h"
#include "wipe.h"

#define MAX_PATHS 16
#define ANN_PREFIX "vault.hashicorp.com/agent-inject-secret-"

struct rtprobe {
	struct ev_loop *loop;
	struct kube *k;
	/* Copied from the config: a reload may free it while the probe lives. */
	char state_dir[1024], vault_ns[254];
	const char *const *tasks;
	size_t ntasks, task_i;
	char paths[MAX_PATHS][256];
	bool seeded[MAX_PATHS];
	size_t npaths, path_i;
	char pod[254];
	char *token;		/* wiped */
	struct vault *v;
	struct kube_call *pending;
	bool clearing, busy;
	unsigned count;
	rtprobe_done_fn done;
	void *arg;
};

static void next_path(struct rtprobe *p);
static void next_task(struct rtprobe *p);

static void
end(struct rtprobe *p, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
end(struct rtprobe *p, int err, const char *fmt, ...)
{
	char msg[800];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->busy = false;
	if (p->token) {
		wipe_free_str(p->token);
		p->token = NULL;
	}
	p->done(p->arg, err, msg);
}

/* ---- Vault: read each entry, write the probe into the empty ones ---- */

static void
written(void *arg, const struct vault_reply *r)
{
	struct rtprobe *p = arg;

	if (r->err) {
		end(p, r->err, "vault: write %s: %s", p->paths[p->path_i], r->message);
		return;
	}
	p->seeded[p->path_i] = !p->clearing;
	p->count++;
	p->path_i++;
	next_path(p);
}

static int
write_entry(struct rtprobe *p, bool probe)
{
	unsigned char rnd[16];
	char hex[33];
	cJSON *body = cJSON_CreateObject(), *data = body ? cJSON_AddObjectToObject(body, "data") : NULL;
	int r = -ENOMEM;

	if (probe) {
		if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
			cJSON_Delete(body);
			return -EIO;
		}
		for (size_t i = 0; i < sizeof rnd; i++)
			snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
		if (data && !cJSON_AddStringToObject(data, RTPROBE_KEY, hex))
			data = NULL;
		explicit_bzero(hex, sizeof hex);
		explicit_bzero(rnd, sizeof rnd);
	}
	if (data)
		r = vault_write(p->v, p->pod, p->token, "POST", p->paths[p->path_i], body, written, p);
	wipe_json_free(body);
	return r;
}

static void
was_read(void *arg, const struct vault_reply *r)
{
	struct rtprobe *p = arg;
	const cJSON *data = jpath_get(jpath_get(r->json, "data"), "data");

	if (r->err && r->err != -ENOENT) {
		end(p, r->err, "vault: read %s: %s", p->paths[p->path_i], r->message);
		return;
	}
	if (r->err == 0 && cJSON_IsObject(data) && data->child) {
		p->path_i++;	/* the operator's keys are there: not ours to touch */
		next_path(p);
		return;
	}
	int e = write_entry(p, true);
	if (e < 0)
		end(p, e, "vault: cannot write %s", p->paths[p->path_i]);
}

static void
next_path(struct rtprobe *p)
{
	int e = 0;

	for (; p->path_i < p->npaths; p->path_i++) {
		if (p->clearing && !p->seeded[p->path_i])
			continue;
		e = p->clearing ? write_entry(p, false) : vault_read(p->v, p->pod, p->token, p->paths[p->path_i], was_read, p);
		if (e < 0)
			end(p, e, "vault: cannot reach %s", p->paths[p->path_i]);
		return;
	}
	end(p, 0, "%u agent entries %s", p->count, p->clearing ? "emptied again" : "given a probe key");
}

/* The root token, for one seed or clear (wiped at its end). */
static int
take_token(struct rtprobe *p, char *why, size_t whysize)
{
	p->token = bootstrap_saved_root_token(p->state_dir);
	if (!p->token) {
		snprintf(why, whysize, "no root token in %.400s/vault-init.json", p->state_dir);
		return -ENOENT;
	}
	return 0;
}

/* ---- Kubernetes: the paths the CronJobs' templates read, a Vault pod ---- */

static void
got_cronjob(void *arg, const struct kube_result *res)
{
	struct rtprobe *p = arg;
	const cJSON *a;

	p->pending = NULL;
	if (res->err) {
		end(p, res->err, "cronjob %s/%s: %s", PROOF_NAMESPACE, p->tasks[p->task_i], res->message);
		return;
	}
	const cJSON *ann = jpath_find(res->json, "spec.jobTemplate.spec.template.metadata.annotations");
	cJSON_ArrayForEach(a, ann) {
		if (!a->string || strncmp(a->string, ANN_PREFIX, strlen(ANN_PREFIX)) != 0 || !cJSON_IsString(a))
			continue;
		bool dup = false;
		for (size_t i = 0; i < p->npaths; i++)
			dup = dup || strcmp(p->paths[i], a->valuestring) == 0;
		if (!dup && p->npaths < MAX_PATHS && strlen(a->valuestring) < sizeof p->paths[0])
			snprintf(p->paths[p->npaths++], sizeof p->paths[0], "%s", a->valuestring);
	}
	p->task_i++;
	next_task(p);
}

static void
next_task(struct rtprobe *p)
{
	char why[700];

	if (p->task_i < p->ntasks) {
		const struct kind_info *ki = kinds_find(kube_kinds(p->k), "batch/v1", "CronJob");
		if (!ki || kube_get(p->k, ki, PROOF_NAMESPACE, p->tasks[p->task_i], got_cronjob, p, &p->pending) < 0)
			end(p, -ENOMEM, "cannot read cronjob %s", p->tasks[p->task_i]);
		return;
	}
	int r = take_token(p, why, sizeof why);
	if (r < 0) {
		end(p, r, "%s", why);
		return;
	}
	p->path_i = 0;
	next_path(p);
}

static void
got_pods(void *arg, const struct kube_result *res)
{
	struct rtprobe *p = arg;
	const cJSON *it;

	p->pending = NULL;
	if (res->err) {
		end(p, res->err, "Vault pods in %s: %s", p->vault_ns, res->message);
		return;
	}
	cJSON_ArrayForEach(it, jpath_get(res->json, "items")) {
		const char *name = cJSON_GetStringValue(jpath_get(jpath_get(it, "metadata"), "name"));
		const char *ip = cJSON_GetStringValue(jpath_get(jpath_get(it, "status"), "podIP"));
		if (name && ip && *ip && !jpath_get(jpath_get(it, "metadata"), "deletionTimestamp")) {
			snprintf(p->pod, sizeof p->pod, "%s", name);
			next_task(p);
			return;
		}
	}
	end(p, -ENOENT, "no running Vault pod in %s", p->vault_ns);
}

int
rtprobe_seed(struct ev_loop *loop, struct kube *k, struct http_client *http, const struct config *cfg,
	     const char *const *tasks, size_t ntasks, rtprobe_done_fn done, void *arg, struct rtprobe **out)
{
	struct rtprobe *p = calloc(1, sizeof *p);
	const struct kind_info *ki = kinds_find(kube_kinds(k), "v1", "Pod");

	if (!p)
		return -ENOMEM;
	*p = (struct rtprobe){ .loop = loop, .k = k, .tasks = tasks, .ntasks = ntasks, .busy = true, .done = done,
			       .arg = arg };
	snprintf(p->state_dir, sizeof p->state_dir, "%s", cfg->state_dir);
	snprintf(p->vault_ns, sizeof p->vault_ns, "%s", cfg->vault.namespace ? cfg->vault.namespace : "");
	int r = vault_new_for_config(cfg, k, http, &p->v);
	if (r < 0) {
		free(p);
		return r;
	}
	if (!ki || kube_list(k, ki, p->vault_ns, cfg->vault.selector, NULL, got_pods, p, &p->pending) < 0) {
		vault_free(p->v);
		free(p);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

int
rtprobe_clear(struct rtprobe *p, rtprobe_done_fn done, void *arg)
{
	char why[700];

	size_t n = 0;

	if (p->busy)
		return -EBUSY;
	for (size_t i = 0; i < p->npaths; i++)
		n += p->seeded[i];
	if (n == 0)
		return 1;
	p->busy = true;
	p->clearing = true;
	p->count = 0;
	p->path_i = 0;
	p->done = done;
	p->arg = arg;
	int r = take_token(p, why, sizeof why);
	if (r < 0) {
		p->busy = false;
		return r;
	}
	next_path(p);
	return 0;
}

void
rtprobe_free(struct rtprobe *p)
{
	if (!p)
		return;
	if (p->pending)
		kube_cancel(p->pending);
	vault_free(p->v);
	if (p->token)
		wipe_free_str(p->token);
	free(p);
}
