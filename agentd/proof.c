/* proof.c — a Job from a CronJob now (kubectl create job --from), waited for, its
 * log checked for the secret files the injector should have rendered. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "jpath.h"
#include "kube.h"
#include "proof.h"

#define POLL_S 0.5
#define SECRET_PREFIX "vault.hashicorp.com/agent-inject-secret-"

static const char *
get_str(const cJSON *o, const char *path)
{
	return cJSON_GetStringValue(jpath_find(o, path));
}

int
proof_job_from_cronjob(const cJSON *cj, const char *job_name, cJSON **out, const char **why)
{
	const char *name = get_str(cj, "metadata.name"), *uid = get_str(cj, "metadata.uid");
	const char *ns = get_str(cj, "metadata.namespace");
	const cJSON *spec = jpath_find(cj, "spec.jobTemplate.spec");
	const cJSON *labels = jpath_find(cj, "spec.jobTemplate.metadata.labels");
	const cJSON *annots = jpath_find(cj, "spec.jobTemplate.metadata.annotations");
	const cJSON *it;

	if (!name || !uid || !cJSON_IsObject(spec)) {
		*why = !name ? "CronJob without metadata.name"
		       : !uid ? "CronJob without metadata.uid"
			      : "CronJob without spec.jobTemplate.spec";
		return -EINVAL;
	}
	cJSON *job = cJSON_CreateObject(), *meta = cJSON_CreateObject(), *an = cJSON_CreateObject();
	cJSON *refs = cJSON_CreateArray(), *ref = cJSON_CreateObject();
	if (!job || !meta || !an || !refs || !ref)
		goto oom;
	cJSON_AddStringToObject(job, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(job, "kind", "Job");
	cJSON_AddItemToObject(job, "metadata", meta);
	cJSON_AddStringToObject(meta, "name", job_name);
	if (ns)
		cJSON_AddStringToObject(meta, "namespace", ns);
	/* kubectl sets instantiate first and lets the template's annotations win. */
	cJSON_AddStringToObject(an, "cronjob.kubernetes.io/instantiate", "manual");
	cJSON_ArrayForEach(it, annots) {
		cJSON_DeleteItemFromObjectCaseSensitive(an, it->string);
		cJSON_AddItemToObject(an, it->string, cJSON_Duplicate(it, true));
	}
	cJSON_AddItemToObject(meta, "annotations", an);
	an = NULL;
	if (cJSON_IsObject(labels))
		cJSON_AddItemToObject(meta, "labels", cJSON_Duplicate(labels, true));
	/* Not a controller ref: no controller, no blockOwnerDeletion (kubectl's own
	 * choice; a manual run does not move lastScheduleTime). */
	cJSON_AddStringToObject(ref, "apiVersion", "batch/v1");
	cJSON_AddStringToObject(ref, "kind", "CronJob");
	cJSON_AddStringToObject(ref, "name", name);
	cJSON_AddStringToObject(ref, "uid", uid);
	cJSON_AddItemToArray(refs, ref);
	ref = NULL;
	cJSON_AddItemToObject(meta, "ownerReferences", refs);
	refs = NULL;
	cJSON_AddItemToObject(job, "spec", cJSON_Duplicate(spec, true));
	if (!cJSON_GetObjectItemCaseSensitive(job, "spec"))
		goto oom_job;
	*out = job;
	return 0;
oom:
	cJSON_Delete(meta);
oom_job:
	cJSON_Delete(job);
	cJSON_Delete(an);
	cJSON_Delete(refs);
	cJSON_Delete(ref);
	*why = "out of memory";
	return -ENOMEM;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

cJSON *
proof_expected_files(const cJSON *cj)
{
	const cJSON *annots = jpath_find(cj, "spec.jobTemplate.spec.template.metadata.annotations"), *it;
	const char *names[64];
	size_t n = 0;

	cJSON_ArrayForEach(it, annots) {
		if (n < sizeof names / sizeof *names && strncmp(it->string, SECRET_PREFIX, strlen(SECRET_PREFIX)) == 0 &&
		    it->string[strlen(SECRET_PREFIX)])
			names[n++] = it->string + strlen(SECRET_PREFIX);
	}
	qsort(names, n, sizeof *names, cmp_str);
	return cJSON_CreateStringArray(names, (int)n);
}

/* One log line "agent-task=T secret-file=F keys: K1 K2" → F and the keys. */
static void
scan_line(const char *line, size_t len, const char *task, cJSON *files, bool *result_ok)
{
	char head[160];
	int hn = snprintf(head, sizeof head, "agent-task=%s ", task);
	if (hn < 0 || (size_t)hn >= sizeof head || len < (size_t)hn || strncmp(line, head, (size_t)hn) != 0)
		return;
	const char *p = line + hn, *end = line + len;
	if ((size_t)(end - p) == strlen("result=ok") && strncmp(p, "result=ok", (size_t)(end - p)) == 0) {
		*result_ok = true;
		return;
	}
	if ((size_t)(end - p) < strlen("secret-file=") || strncmp(p, "secret-file=", strlen("secret-file=")) != 0)
		return;
	p += strlen("secret-file=");
	const char *sp = memchr(p, ' ', (size_t)(end - p));
	size_t fn = (size_t)((sp ? sp : end) - p);
	char file[256];
	if (fn == 0 || fn >= sizeof file)
		return;
	memcpy(file, p, fn);
	file[fn] = '\0';
	cJSON *keys = cJSON_CreateArray(), *f = cJSON_CreateObject();
	if (!keys || !f) {
		cJSON_Delete(keys);
		cJSON_Delete(f);
		return;
	}
	if (sp && (size_t)(end - sp) >= strlen(" keys:") && strncmp(sp, " keys:", strlen(" keys:")) == 0) {
		const char *k = sp + strlen(" keys:");
		while (k < end) {
			while (k < end && *k == ' ')
				k++;
			const char *ke = k;
			while (ke < end && *ke != ' ')
				ke++;
			if (ke > k) {
				char key[256];
				size_t kn = (size_t)(ke - k) < sizeof key ? (size_t)(ke - k) : sizeof key - 1;
				memcpy(key, k, kn);
				key[kn] = '\0';
				cJSON_AddItemToArray(keys, cJSON_CreateString(key));
			}
			k = ke;
		}
	}
	cJSON_AddStringToObject(f, "file", file);
	cJSON_AddBoolToObject(f, "arrived", true);
	cJSON_AddItemToObject(f, "keys", keys);
	cJSON_AddItemToArray(files, f);
}

static const cJSON *
find_file(const cJSON *files, const char *name)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, files) {
		const char *fn = get_str(f, "file");
		if (fn && strcmp(fn, name) == 0)
			return f;
	}
	return NULL;
}

cJSON *
proof_check_log(const char *task, const char *log, const cJSON *expected, const char **missing)
{
	cJSON *o = cJSON_CreateObject(), *seen = cJSON_CreateArray(), *files = cJSON_CreateArray();
	bool result_ok = false;
	const cJSON *e;

	*missing = NULL;
	if (!o || !seen || !files) {
		cJSON_Delete(o);
		cJSON_Delete(seen);
		cJSON_Delete(files);
		return NULL;
	}
	for (const char *p = log ? log : ""; *p;) {
		size_t n = strcspn(p, "\r\n");
		scan_line(p, n, task, seen, &result_ok);
		p += n;
		p += strspn(p, "\r\n");
	}
	cJSON_ArrayForEach(e, expected) {
		const char *name = cJSON_GetStringValue(e);
		const cJSON *f = name ? find_file(seen, name) : NULL;
		if (f) {
			cJSON_AddItemToArray(files, cJSON_Duplicate(f, true));
			if (!*missing && cJSON_GetArraySize(jpath_find(f, "keys")) == 0)
				*missing = name;
			continue;
		}
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "file", name ? name : "");
		cJSON_AddBoolToObject(m, "arrived", false);
		cJSON_AddItemToObject(m, "keys", cJSON_CreateArray());
		cJSON_AddItemToArray(files, m);
		if (!*missing)
			*missing = name;
	}
	cJSON_Delete(seen);
	cJSON_AddItemToObject(o, "files", files);
	cJSON_AddBoolToObject(o, "result_ok", result_ok);
	return o;
}

/* ---- the run ---- */

struct proof {
	struct ev_loop *loop;
	struct kube *k;
	const struct proof_ops *ops;
	void *arg;
	char task[64], job[96], container[64];
	cJSON *expected;
	struct kube_call *pending;
	ev_timer poll, deadline;
	double started, deadline_s;
	char failure[512];	/* the Job's Failed condition, when it failed */
	char pod_reason[256];
	char pod[254];		/* the Job's pod whose log was read ("" if none) */
};

static void
finish(struct proof *p, const char *reason, const cJSON *check)
{
	cJSON *r = cJSON_CreateObject();

	ev_timer_stop(p->loop, &p->poll);
	ev_timer_stop(p->loop, &p->deadline);
	if (p->pending)
		kube_cancel(p->pending);
	p->pending = NULL;
	if (r) {
		cJSON_AddStringToObject(r, "task", p->task);
		cJSON_AddStringToObject(r, "job", p->job);
		cJSON_AddBoolToObject(r, "ok", reason == NULL);
		cJSON_AddStringToObject(r, "reason", reason ? reason : "");
		if (p->pod[0])
			cJSON_AddStringToObject(r, "pod", p->pod);
		else
			cJSON_AddNullToObject(r, "pod");
		cJSON_AddNumberToObject(r, "seconds", (double)(long)((ev_now(p->loop) - p->started) * 10) / 10);
		const cJSON *files = check ? jpath_find(check, "files") : NULL;
		cJSON_AddItemToObject(r, "files", files ? cJSON_Duplicate(files, true) : cJSON_CreateArray());
	}
	const struct proof_ops *ops = p->ops;
	void *arg = p->arg;
	cJSON_Delete(p->expected);
	free(p);
	ops->done(arg, r);
	cJSON_Delete(r);
}

static void
progress(struct proof *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
progress(struct proof *p, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!p->ops->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	p->ops->progress(p->arg, line);
}

static void
fail_api(struct proof *p, const char *what, const struct kube_result *res)
{
	char why[1024];
	snprintf(why, sizeof why, "%s: %s", what, res->message && *res->message ? res->message : strerror(-res->err));
	finish(p, why, NULL);
}

static void
log_done(void *arg, const struct kube_result *res)
{
	struct proof *p = arg;
	const char *missing = NULL;
	char why[1024];

	p->pending = NULL;
	cJSON *check = res->err ? NULL : proof_check_log(p->task, res->body, p->expected, &missing);
	if (p->failure[0]) {
		snprintf(why, sizeof why, "job %s/%s failed: %s%s%s", PROOF_NAMESPACE, p->job, p->failure,
			 p->pod_reason[0] ? "; " : "", p->pod_reason);
		finish(p, why, check);
	} else if (res->err) {
		snprintf(why, sizeof why, "log of job %s/%s: %s", PROOF_NAMESPACE, p->job, res->message);
		finish(p, why, NULL);
	} else if (!check) {
		finish(p, "out of memory", NULL);
	} else if (missing) {
		snprintf(why, sizeof why, "job %s/%s: secret file %s did not arrive from Vault (or has no keys)",
			 PROOF_NAMESPACE, p->job, missing);
		finish(p, why, check);
	} else if (!cJSON_IsTrue(jpath_find(check, "result_ok"))) {
		snprintf(why, sizeof why, "job %s/%s completed but its log has no agent-task=%s result=ok",
			 PROOF_NAMESPACE, p->job, p->task);
		finish(p, why, check);
	} else {
		finish(p, NULL, check);
	}
	cJSON_Delete(check);
}

/* The newest pod of the Job: its log, and for a failure its container's reason. */
static void
pods_done(void *arg, const struct kube_result *res)
{
	struct proof *p = arg;
	const cJSON *pod = NULL, *it;
	char path[512];

	p->pending = NULL;
	if (res->err) {
		fail_api(p, "pods of the job", res);
		return;
	}
	cJSON_ArrayForEach(it, jpath_find(res->json, "items")) {
		const char *ts = get_str(it, "metadata.creationTimestamp");
		const char *best = pod ? get_str(pod, "metadata.creationTimestamp") : NULL;
		if (!pod || (ts && best && strcmp(ts, best) >= 0))
			pod = it;
	}
	if (!pod) {
		char why[1024];
		snprintf(why, sizeof why, "job %s/%s %s, but it has no pod to read a log from", PROOF_NAMESPACE,
			 p->job, p->failure[0] ? p->failure : "completed");
		finish(p, why, NULL);
		return;
	}
	cJSON_ArrayForEach(it, jpath_find(pod, "status.containerStatuses")) {
		const cJSON *term = jpath_find(it, "state.terminated");
		if (!term)
			term = jpath_find(it, "lastState.terminated");
		const char *cn = get_str(it, "name");
		if (term && cn && strcmp(cn, p->container) == 0) {
			const char *rs = get_str(term, "reason");
			snprintf(p->pod_reason, sizeof p->pod_reason, "container %s exited %d (%s)", cn,
				 (int)cJSON_GetNumberValue(jpath_find(term, "exitCode")), rs ? rs : "no reason");
		}
	}
	const char *pod_name = get_str(pod, "metadata.name");
	snprintf(p->pod, sizeof p->pod, "%s", pod_name ? pod_name : "");
	if (!pod_name ||
	    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/log?container=%s", PROOF_NAMESPACE, pod_name,
		     p->container) >= (int)sizeof path) {
		finish(p, "pod without a usable name", NULL);
		return;
	}
	int r = kube_request(p->k, "GET", path, NULL, NULL, NULL, 0, false, log_done, p, &p->pending);
	if (r < 0)
		finish(p, "could not request the pod log", NULL);
}

static void
job_done(void *arg, const struct kube_result *res)
{
	struct proof *p = arg;
	const cJSON *c;
	bool complete = false;

	p->pending = NULL;
	if (res->err) {
		if (res->err == -ENOENT) {
			char why[1024];
			snprintf(why, sizeof why, "job %s/%s disappeared before it finished", PROOF_NAMESPACE, p->job);
			finish(p, why, NULL);
			return;
		}
		/* A transient API error: poll again. */
		ev_timer_set(&p->poll, POLL_S, 0.0);
		ev_timer_start(p->loop, &p->poll);
		return;
	}
	cJSON_ArrayForEach(c, jpath_find(res->json, "status.conditions")) {
		const char *type = get_str(c, "type"), *st = get_str(c, "status");
		if (!type || !st || strcmp(st, "True") != 0)
			continue;
		if (strcmp(type, "Complete") == 0)
			complete = true;
		if (strcmp(type, "Failed") == 0) {
			const char *rs = get_str(c, "reason"), *msg = get_str(c, "message");
			snprintf(p->failure, sizeof p->failure, "%s%s%s", rs ? rs : "Failed", msg ? ": " : "",
				 msg ? msg : "");
		}
	}
	if (!complete && !p->failure[0]) {
		ev_timer_set(&p->poll, POLL_S, 0.0);
		ev_timer_start(p->loop, &p->poll);
		return;
	}
	progress(p, "job %s/%s %s", PROOF_NAMESPACE, p->job, complete ? "complete" : "failed");
	char sel[160];
	snprintf(sel, sizeof sel, "job-name=%s", p->job);
	const struct kind_info *ki = kinds_find(kube_kinds(p->k), "v1", "Pod");
	if (!ki || kube_list(p->k, ki, PROOF_NAMESPACE, sel, NULL, pods_done, p, &p->pending) < 0)
		finish(p, "could not list the job's pods", NULL);
}

static void
on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proof *p = w->data;
	(void)loop;
	(void)revents;
	const struct kind_info *ki = kinds_find(kube_kinds(p->k), "batch/v1", "Job");
	if (!ki || kube_get(p->k, ki, PROOF_NAMESPACE, p->job, job_done, p, &p->pending) < 0)
		finish(p, "could not read the job", NULL);
}

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proof *p = w->data;
	char why[1024];
	(void)loop;
	(void)revents;
	snprintf(why, sizeof why, "job %s/%s did not finish within %.0f s", PROOF_NAMESPACE,
		 p->job[0] ? p->job : p->task, p->deadline_s);
	finish(p, why, NULL);
}

static void
created(void *arg, const struct kube_result *res)
{
	struct proof *p = arg;

	p->pending = NULL;
	if (res->err) {
		char what[256];
		snprintf(what, sizeof what, "create job %s/%s", PROOF_NAMESPACE, p->job);
		fail_api(p, what, res);
		return;
	}
	progress(p, "job %s/%s created from cronjob/%s", PROOF_NAMESPACE, p->job, p->task);
	ev_timer_set(&p->poll, POLL_S, 0.0);
	ev_timer_start(p->loop, &p->poll);
}

static void
cronjob_done(void *arg, const struct kube_result *res)
{
	struct proof *p = arg;
	cJSON *job = NULL;
	const char *why = NULL;
	char msg[1024];

	p->pending = NULL;
	if (res->err) {
		snprintf(msg, sizeof msg, "cronjob %s/%s", PROOF_NAMESPACE, p->task);
		fail_api(p, msg, res);
		return;
	}
	/* Unique per run, like kubectl users do by hand: TASK-manual-<ms since epoch, hex>. */
	snprintf(p->job, sizeof p->job, "%s-manual-%llx", p->task, (unsigned long long)(ev_now(p->loop) * 1000));
	const char *cn = get_str(cJSON_GetArrayItem(jpath_find(res->json, "spec.jobTemplate.spec.template.spec.containers"), 0),
				 "name");
	snprintf(p->container, sizeof p->container, "%s", cn ? cn : p->task);
	p->expected = proof_expected_files(res->json);
	if (!p->expected || proof_job_from_cronjob(res->json, p->job, &job, &why) < 0) {
		snprintf(msg, sizeof msg, "cronjob %s/%s: %s", PROOF_NAMESPACE, p->task, why ? why : "out of memory");
		finish(p, msg, NULL);
		return;
	}
	int r = kube_create(p->k, job, created, p, &p->pending);
	cJSON_Delete(job);
	if (r < 0)
		finish(p, "could not send the job", NULL);
}

static bool
dns_label(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 40 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

int
proof_start(struct ev_loop *loop, struct kube *k, const char *task, double deadline_s, const struct proof_ops *ops,
	    void *arg, struct proof **out)
{
	if (!dns_label(task))
		return -EINVAL;
	struct proof *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->loop = loop;
	p->k = k;
	p->ops = ops;
	p->arg = arg;
	p->deadline_s = deadline_s;
	p->started = ev_now(loop);
	snprintf(p->task, sizeof p->task, "%s", task);
	ev_timer_init(&p->poll, on_poll, POLL_S, 0.0);
	p->poll.data = p;
	ev_timer_init(&p->deadline, on_deadline, deadline_s, 0.0);
	p->deadline.data = p;
	const struct kind_info *ki = kinds_find(kube_kinds(k), "batch/v1", "CronJob");
	int r = ki ? kube_get(k, ki, PROOF_NAMESPACE, task, cronjob_done, p, &p->pending) : -ENOSYS;
	if (r < 0) {
		free(p);
		return r;
	}
	ev_timer_start(loop, &p->deadline);
	if (out)
		*out = p;
	return 0;
}

void
proof_cancel(struct proof *p)
{
	if (!p)
		return;
	ev_timer_stop(p->loop, &p->poll);
	ev_timer_stop(p->loop, &p->deadline);
	if (p->pending)
		kube_cancel(p->pending);
	cJSON_Delete(p->expected);
	free(p);
}
