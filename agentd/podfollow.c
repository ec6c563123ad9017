/* podfollow — the pods a sealed Vault held, followed until they run again. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kinds.h"
#include "kube.h"
#include "log.h"
#include "msgid.h"
#include "podfollow.h"
#include "render.h"

#define AGENT_INIT     "vault-agent-init"
#define DEFAULT_NS     "ai-agents"
/* Bounded: a cluster may hold more, the journal names the first ones. */
#define MAX_PODS       256
#define MAX_NS         16

struct pf_pod {
	char ns[64];
	char name[254];
	char uid[64];
	bool running;        /* ran again while Vault still looked sealed to us */
	double running_at;   /* ev_now() then */
	bool stuck;          /* warned: past the deadline */
	char why[200];
};

struct pf_ns {
	struct podfollow *pf;
	char name[64];       /* "" with all: every namespace */
	struct kube_watch *watch;
	bool listed;
};

enum pf_phase {
	PF_IDLE,
	PF_SEALED,   /* noting the pods Vault holds */
	PF_FOLLOW,   /* Vault unsealed: following them */
};

struct podfollow {
	struct ev_loop *loop;
	struct config *const *cfgp;
	podfollow_changed_fn changed;
	void *data;

	struct kube *k;
	enum pf_phase phase;
	struct pf_ns ns[MAX_NS];
	size_t nns;
	struct pf_pod *pods[MAX_PODS];
	size_t npods;
	bool full_noted;      /* MAX_PODS reached: said once */

	double unsealed_at;
	size_t recovered, gone;
	double last_recovery; /* seconds after the unseal */
	bool summarised;      /* the summary went out at the deadline */
	ev_timer deadline;
	ev_timer kick;        /* starts the watches outside the caller's (libcurl's) callback */
};

static const cJSON *
get(const cJSON *o, const char *k)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

static const char *
str(const cJSON *o, const char *k)
{
	return cJSON_GetStringValue(get(o, k));
}

static const cJSON *
named(const cJSON *arr, const char *name)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const char *n = str(it, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return it;
	}
	return NULL;
}

/* The init container's state in a few words. */
static void
describe(const cJSON *cs, char *why, size_t size)
{
	const cJSON *state = get(cs, "state");
	const cJSON *w = get(state, "waiting"), *t = get(state, "terminated");
	const cJSON *rc = get(cs, "restartCount");
	int restarts = cJSON_IsNumber(rc) ? rc->valueint : 0;
	size_t o;

	if (cs == NULL)
		snprintf(why, size, AGENT_INIT " not started yet");
	else if (get(state, "running") != NULL)
		snprintf(why, size, AGENT_INIT " running (its Vault Agent retries the login)");
	else if (t != NULL && cJSON_IsNumber(get(t, "exitCode")) && get(t, "exitCode")->valueint == 0)
		snprintf(why, size, AGENT_INIT " completed, the pod's containers are starting");
	else if (t != NULL)
		snprintf(why, size, AGENT_INIT " exited with code %d (%s)",
			 cJSON_IsNumber(get(t, "exitCode")) ? get(t, "exitCode")->valueint : -1,
			 str(t, "reason") ? str(t, "reason") : "no reason given");
	else if (w != NULL && str(w, "reason") != NULL)
		snprintf(why, size, AGENT_INIT " waiting: %s", str(w, "reason"));
	else
		snprintf(why, size, AGENT_INIT " waiting to start");
	o = strlen(why);
	if (restarts > 0 && o < size)
		snprintf(why + o, size - o, ", %d restart%s", restarts, restarts == 1 ? "" : "s");
}

enum podfollow_hold
podfollow_classify(const cJSON *pod, char *why, size_t whysize)
{
	const cJSON *md = get(pod, "metadata"), *st = get(pod, "status");
	const char *phase = str(st, "phase") ? str(st, "phase") : "";
	const cJSON *cs, *t;

	if (named(get(get(pod, "spec"), "initContainers"), AGENT_INIT) == NULL || get(md, "deletionTimestamp") != NULL ||
	    strcmp(phase, "Failed") == 0)
		return PODFOLLOW_NONE;
	if (strcmp(phase, "Running") == 0 || strcmp(phase, "Succeeded") == 0)
		return PODFOLLOW_RUNNING;
	cs = named(get(st, "initContainerStatuses"), AGENT_INIT);
	describe(cs, why, whysize);
	t = get(get(cs, "state"), "terminated");
	if (t != NULL && cJSON_IsNumber(get(t, "exitCode")) && get(t, "exitCode")->valueint == 0)
		return PODFOLLOW_STARTING;
	return PODFOLLOW_HELD;
}

/* ------------------------------------------------------------ the pod list */

static struct pf_pod *
find_pod(const struct podfollow *pf, const char *ns, const char *name)
{
	for (size_t i = 0; i < pf->npods; i++)
		if (strcmp(pf->pods[i]->ns, ns) == 0 && strcmp(pf->pods[i]->name, name) == 0)
			return pf->pods[i];
	return NULL;
}

static void
drop_pod(struct podfollow *pf, struct pf_pod *p)
{
	for (size_t i = 0; i < pf->npods; i++) {
		if (pf->pods[i] == p) {
			memmove(&pf->pods[i], &pf->pods[i + 1], (pf->npods - i - 1) * sizeof(pf->pods[0]));
			pf->npods--;
			break;
		}
	}
	free(p);
}

static void
clear_pods(struct podfollow *pf)
{
	while (pf->npods > 0)
		free(pf->pods[--pf->npods]);
}

static void
pod_field(const struct pf_pod *p, char *buf, size_t size)
{
	snprintf(buf, size, "AGENTD_POD=%s/%s", p->ns, p->name);
}

/* P runs again after the unseal: say so, forget it. */
static void
recovered(struct podfollow *pf, struct pf_pod *p)
{
	double after = p->running_at - pf->unsealed_at;
	char f_pod[340];

	if (after < 0)
		after = 0;
	pod_field(p, f_pod, sizeof(f_pod));
	log_send(LOG_NOTICE, NULL, LOG_FIELDS(f_pod), "pod %s/%s recovered after unseal: running %.1f s after Vault was unsealed%s",
		 p->ns, p->name, after, p->stuck ? " (it had been reported stuck)" : "");
	pf->recovered++;
	if (after > pf->last_recovery)
		pf->last_recovery = after;
	drop_pod(pf, p);
}

/* P was deleted (or failed) before it ran again. */
static void
gone(struct podfollow *pf, struct pf_pod *p)
{
	if (pf->phase == PF_FOLLOW) {
		char f_pod[340];

		pod_field(p, f_pod, sizeof(f_pod));
		log_send(LOG_INFO, NULL, LOG_FIELDS(f_pod), "pod %s/%s went away before it ran again (deleted or failed)",
			 p->ns, p->name);
		pf->gone++;
	}
	drop_pod(pf, p);
}

static void
update(struct podfollow *pf, const struct pf_ns *from, const cJSON *obj)
{
	const cJSON *md = get(obj, "metadata");
	const char *ns = str(md, "namespace"), *name = str(md, "name"), *uid = str(md, "uid");
	char why[sizeof(((struct pf_pod *)0)->why)] = "";
	enum podfollow_hold h = podfollow_classify(obj, why, sizeof(why));
	struct pf_pod *p;

	if (ns == NULL || name == NULL)
		return;
	p = find_pod(pf, ns, name);
	if (p != NULL && uid != NULL && strcmp(p->uid, uid) != 0) {
		/* Same name, new pod (its controller replaced it): the old one is gone. */
		gone(pf, p);
		p = NULL;
	}
	if (p == NULL) {
		/* Noted while sealed; after the unseal only from a namespace's first list. */
		if (h != PODFOLLOW_HELD || (pf->phase != PF_SEALED && from->listed))
			return;
		if (pf->npods == MAX_PODS || (p = calloc(1, sizeof(*p))) == NULL) {
			if (!pf->full_noted)
				log_notice("pods: more than %d pods wait for Vault; following the first ones", MAX_PODS);
			pf->full_noted = true;
			return;
		}
		snprintf(p->ns, sizeof(p->ns), "%s", ns);
		snprintf(p->name, sizeof(p->name), "%s", name);
		snprintf(p->uid, sizeof(p->uid), "%s", uid ? uid : "");
		pf->pods[pf->npods++] = p;
	}
	switch (h) {
	case PODFOLLOW_HELD:
	case PODFOLLOW_STARTING:
		p->running = false;
		snprintf(p->why, sizeof(p->why), "%s", why);
		break;
	case PODFOLLOW_RUNNING:
		if (!p->running) {
			p->running = true;
			p->running_at = ev_now(pf->loop);
		}
		if (pf->phase == PF_FOLLOW)
			recovered(pf, p);
		break;
	case PODFOLLOW_NONE:
		gone(pf, p);
		break;
	}
}

/* ------------------------------------------------------------ watches */

static void
stop_watches(struct podfollow *pf)
{
	for (size_t i = 0; i < pf->nns; i++)
		if (pf->ns[i].watch != NULL)
			kube_watch_stop(pf->ns[i].watch);
	memset(pf->ns, 0, sizeof(pf->ns));
	pf->nns = 0;
}

static bool
all_listed(const struct podfollow *pf)
{
	for (size_t i = 0; i < pf->nns; i++)
		if (!pf->ns[i].listed)
			return false;
	return true;
}

static void
summary(struct podfollow *pf)
{
	char gone_words[64] = "", held[160] = "";
	size_t nheld = pf->npods;

	if (pf->gone > 0)
		snprintf(gone_words, sizeof(gone_words), "; %zu went away before running", pf->gone);
	if (nheld > 0)
		snprintf(held, sizeof(held), "; %zu still not running (see the warnings)", nheld);
	log_send(LOG_NOTICE, MSGID_PODS_RECOVERED, NULL, "%zu pod%s recovered after unseal in %.1f s%s%s", pf->recovered,
		 pf->recovered == 1 ? "" : "s", pf->last_recovery, gone_words, held);
}

/* Following ends when every pod noted ran again or went away. */
static void
settle(struct podfollow *pf)
{
	if (pf->phase != PF_FOLLOW || pf->npods > 0 || !all_listed(pf))
		return;
	if (!pf->summarised && pf->recovered + pf->gone > 0)
		summary(pf);
	ev_timer_stop(pf->loop, &pf->deadline);
	stop_watches(pf);
	pf->phase = PF_IDLE;
}

static void
on_list(void *arg, const cJSON *items)
{
	struct pf_ns *n = arg;
	struct podfollow *pf = n->pf;
	const cJSON *it;

	cJSON_ArrayForEach(it, items)
		update(pf, n, it);
	/* Noted pods of this namespace the list no longer has: deleted meanwhile. */
	for (size_t i = pf->npods; i-- > 0;) {
		struct pf_pod *p = pf->pods[i];
		bool seen = false;

		if (n->name[0] != '\0' && strcmp(p->ns, n->name) != 0)
			continue;
		cJSON_ArrayForEach(it, items) {
			const cJSON *md = get(it, "metadata");

			if (str(md, "namespace") && str(md, "name") && strcmp(str(md, "namespace"), p->ns) == 0 &&
			    strcmp(str(md, "name"), p->name) == 0) {
				seen = true;
				break;
			}
		}
		if (!seen)
			gone(pf, p);
	}
	n->listed = true;
	settle(pf);
	pf->changed(pf->data);
}

static void
on_event(void *arg, const char *type, const cJSON *obj)
{
	struct pf_ns *n = arg;
	struct podfollow *pf = n->pf;

	if (strcmp(type, "DELETED") == 0) {
		const cJSON *md = get(obj, "metadata");
		struct pf_pod *p = str(md, "namespace") && str(md, "name")
					   ? find_pod(pf, str(md, "namespace"), str(md, "name"))
					   : NULL;

		if (p != NULL)
			gone(pf, p);
	} else {
		update(pf, n, obj);
	}
	settle(pf);
	pf->changed(pf->data);
}

static void
add_ns(struct podfollow *pf, const char *name)
{
	for (size_t i = 0; i < pf->nns; i++)
		if (strcmp(pf->ns[i].name, name) == 0)
			return;
	if (pf->nns == MAX_NS || strlen(name) >= sizeof(pf->ns[0].name))
		return;
	pf->ns[pf->nns].pf = pf;
	snprintf(pf->ns[pf->nns].name, sizeof(pf->ns[0].name), "%s", name);
	pf->nns++;
}

/* The namespaces Vault's Kubernetes role serves (the values bootstrap.c
 * configures it from); "*" is every namespace. */
static void
pick_namespaces(struct podfollow *pf)
{
	const struct config *cfg = *pf->cfgp;
	cJSON *vals = NULL;
	char *err = NULL;
	const cJSON *it, *nss;

	if (render_values(cfg->values, cfg->values_override, &vals, &err) < 0) {
		log_notice("pods: cannot read the values (%s): following the pods of namespace " DEFAULT_NS,
			   err ? err : "out of memory");
		free(err);
	}
	nss = get(get(get(vals, "vault"), "auth"), "bound_namespaces");
	cJSON_ArrayForEach(it, nss) {
		const char *s = cJSON_GetStringValue(it);

		if (s == NULL)
			continue;
		if (strcmp(s, "*") == 0) {
			pf->nns = 0;
			add_ns(pf, "");
			break;
		}
		add_ns(pf, s);
	}
	if (pf->nns == 0 && !cJSON_IsArray(nss))
		add_ns(pf, DEFAULT_NS);
	cJSON_Delete(vals);
}

static void
start_watches(struct podfollow *pf)
{
	static const struct kube_watch_ops ops = { on_list, on_event, NULL };
	const struct kind_info *pod = kinds_find(kube_kinds(pf->k), "v1", "Pod");
	int r;

	if (pod == NULL)
		return;
	pick_namespaces(pf);
	for (size_t i = 0; i < pf->nns; i++) {
		struct pf_ns *n = &pf->ns[i];

		r = kube_watch_start(pf->k, pod, n->name[0] ? n->name : NULL, NULL, &ops, n, &n->watch);
		if (r < 0)
			log_warning("pods: cannot watch the pods of %s: %s", n->name[0] ? n->name : "every namespace",
				    strerror(-r));
	}
}

/* ------------------------------------------------------------ the deadline */

static void
on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct podfollow *pf = w->data;
	const struct config *cfg = *pf->cfgp;
	char after[32];

	(void)loop;
	(void)revents;
	if (pf->phase != PF_FOLLOW)
		return;
	config_format_duration(cfg->vault.pod_recovery_deadline, after, sizeof(after));
	for (size_t i = 0; i < pf->npods; i++) {
		struct pf_pod *p = pf->pods[i];
		char f_pod[340];

		if (p->stuck)
			continue;
		p->stuck = true;
		pod_field(p, f_pod, sizeof(f_pod));
		log_send(LOG_WARNING, MSGID_POD_STUCK, LOG_FIELDS(f_pod),
			 "pod %s/%s still not running %s after Vault was unsealed: %s. Look at why: kubectl -n %s logs %s -c "
			 AGENT_INIT "; if its agent is only waiting to retry, delete the pod so its controller recreates "
			 "it: kubectl -n %s delete pod %s",
			 p->ns, p->name, after, p->why, p->ns, p->name, p->ns, p->name);
	}
	if (pf->npods > 0 && !pf->summarised) {
		summary(pf);
		pf->summarised = true;
	}
	pf->changed(pf->data);
}

/* ------------------------------------------------------------ the interface */

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct podfollow *pf = w->data;

	(void)loop;
	(void)revents;
	if (pf->phase != PF_IDLE && pf->k != NULL && pf->nns == 0)
		start_watches(pf);
}

void
podfollow_sealed(struct podfollow *pf, struct kube *k)
{
	if (pf->k != NULL && pf->k != k)
		podfollow_stop(pf);
	pf->k = k;
	if (pf->phase == PF_SEALED)
		return;
	ev_timer_stop(pf->loop, &pf->deadline);
	pf->phase = PF_SEALED;
	for (size_t i = 0; i < pf->npods; i++)
		pf->pods[i]->stuck = false;
	if (pf->nns == 0 && !ev_is_active(&pf->kick))
		ev_timer_start(pf->loop, &pf->kick);
}

void
podfollow_unsealed(struct podfollow *pf)
{
	const struct config *cfg = *pf->cfgp;

	if (pf->phase != PF_SEALED)
		return;
	pf->phase = PF_FOLLOW;
	pf->unsealed_at = ev_now(pf->loop);
	pf->recovered = pf->gone = 0;
	pf->last_recovery = 0;
	pf->summarised = false;
	/* Those that ran before we saw the unseal recovered all the same. */
	for (size_t i = pf->npods; i-- > 0;)
		if (pf->pods[i]->running)
			recovered(pf, pf->pods[i]);
	ev_timer_set(&pf->deadline, (double)cfg->vault.pod_recovery_deadline / 1000.0, 0.);
	ev_timer_start(pf->loop, &pf->deadline);
	settle(pf);
	pf->changed(pf->data);
}

void
podfollow_stop(struct podfollow *pf)
{
	ev_timer_stop(pf->loop, &pf->deadline);
	ev_timer_stop(pf->loop, &pf->kick);
	stop_watches(pf);
	clear_pods(pf);
	pf->phase = PF_IDLE;
	pf->k = NULL;
	pf->full_noted = false;
}

size_t
podfollow_held(const struct podfollow *pf, char *buf, size_t size, size_t *stuck)
{
	size_t o = 0, nstuck = 0;

	if (size > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < pf->npods; i++) {
		const struct pf_pod *p = pf->pods[i];

		nstuck += p->stuck;
		if (o < size) {
			int n = snprintf(buf + o, size - o, "%s%s/%s", o ? ", " : "", p->ns, p->name);

			if (n > 0)
				o += (size_t)n;
		}
	}
	if (stuck != NULL)
		*stuck = nstuck;
	return pf->npods;
}

cJSON *
podfollow_json(const struct podfollow *pf)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < pf->npods; i++) {
		const struct pf_pod *p = pf->pods[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(a, o) || !cJSON_AddStringToObject(o, "namespace", p->ns) ||
		    !cJSON_AddStringToObject(o, "name", p->name) || !cJSON_AddStringToObject(o, "waiting", p->why) ||
		    !cJSON_AddBoolToObject(o, "stuck", p->stuck)) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

struct podfollow *
podfollow_new(struct ev_loop *loop, struct config *const *cfgp, podfollow_changed_fn changed, void *data)
{
	struct podfollow *pf = calloc(1, sizeof(*pf));

	if (pf == NULL)
		return NULL;
	pf->loop = loop;
	pf->cfgp = cfgp;
	pf->changed = changed;
	pf->data = data;
	ev_timer_init(&pf->deadline, on_deadline, 0., 0.);
	pf->deadline.data = pf;
	ev_timer_init(&pf->kick, on_kick, 0., 0.);
	pf->kick.data = pf;
	return pf;
}

struct podfollow *
podfollow_free(struct podfollow *pf)
{
	if (pf == NULL)
		return NULL;
	podfollow_stop(pf);
	free(pf);
	return NULL;
}
