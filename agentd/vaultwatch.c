/* vaultwatch — Vault pods watched, seal state checked, the operator asked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "askpw.h"
#include "clock.h"
#include "daemon.h"
#include "kinds.h"
#include "kube.h"
#include "log.h"
#include "msgid.h"
#include "podfollow.h"
#include "vault.h"
#include "vaultwatch.h"

#define MAX_PODS        64
#define FAST_SECONDS    1.0
#define SEALED_STATUS   "Vault sealed \xe2\x80\x94 run: agentctl unseal"
/* After an agent cancelled the prompt, wait before asking again. */
#define CANCEL_BACKOFF_USEC (60ULL * 1000000ULL)

struct vw_pod {
	struct vaultwatch *vw;
	char name[254];
	char uid[64];
	bool runnable;       /* has an IP and is not terminating */
	bool probed;         /* every container has a readinessProbe: a seal shows as NotReady */
	bool checking, again;
	bool stale;          /* the call in flight was asked before the bootstrap's unseal ended */
	bool recheck;        /* its sealed reading predates that end: read again before reporting */
	bool wanted;         /* check at the next loop iteration */
	bool known;          /* a seal status arrived since it (re)started */
	bool answered;       /* a seal status or an error arrived since it (re)started */
	bool transport;      /* the last error was no answer from Vault at all */
	int restarts;        /* its containers' restartCount, summed */
	double first_seen;   /* ev_now() when this uid was first seen */
	struct vw_pod *next_orphan; /* removed while its call was in flight */
	struct vault_seal seal;
	char error[256];     /* why the status is unknown */
};

struct vaultwatch {
	struct ev_loop *loop;
	struct http_client *http;
	struct supervisor *sv;
	struct status *st;
	struct config *const *cfgp;
	vaultwatch_kube_fn kube_fn;
	void *kube_data;

	struct kube *kube;          /* the client the watch runs on */
	struct kube_watch *watch;
	struct vault *vault;
	bool listed;                /* the watch delivered its first list */
	struct vw_pod *pods[MAX_PODS];
	size_t npods;
	struct vw_pod *orphans;     /* removed pods whose seal-status call is pending */

	ev_timer tick;
	double tick_every;
	ev_timer soon;              /* runs wanted checks outside curl's callbacks */

	bool sealed_episode;        /* MSGID_VAULT_SEALED logged, not yet ended */
	enum sv_state interrupted;  /* the state vault-sealed replaced */
	bool have_interrupted;

	struct askpw *ask;
	uint64_t ask_cancelled;     /* CLOCK_MONOTONIC usec, 0 = not cancelled */

	double hold_until;          /* ev_now(): the bootstrap unseals until then */
	struct podfollow *follow;   /* the pods the sealed Vault held */

	vaultwatch_look_fn look_fn; /* discovery waits for a first verdict */
	void *look_data;
	bool looking;
	ev_timer look;

	struct unseal *op;
	vaultwatch_unseal_fn op_fn;
	void *op_data;
	char op_via[32];
	bool op_reset;
	struct unseal_limit limit;
};

static void publish(struct vaultwatch *vw);

static void
free_orphans(struct vaultwatch *vw)
{
	while (vw->orphans != NULL) {
		struct vw_pod *p = vw->orphans;

		vw->orphans = p->next_orphan;
		free(p);
	}
}

/* True (and freed) when P left the list while its call was in flight. */
static bool
reap_orphan(struct vaultwatch *vw, struct vw_pod *p)
{
	for (struct vw_pod **pp = &vw->orphans; *pp != NULL; pp = &(*pp)->next_orphan) {
		if (*pp == p) {
			*pp = p->next_orphan;
			free(p);
			return true;
		}
	}
	return false;
}

static void
on_seal(void *arg, const struct vault_reply *r, const struct vault_seal *s)
{
	struct vw_pod *p = arg;
	struct vaultwatch *vw = p->vw;

	p->checking = false;
	if (reap_orphan(vw, p))
		return;
	/* Made while the bootstrap was still submitting keys, this answer may
	 * describe Vault between two of them: ask again rather than report it. */
	if (p->stale) {
		p->stale = false;
		if (vault_seal_status(vw->vault, p->name, on_seal, p) == 0) {
			p->checking = true;
			return;
		}
	}
	p->recheck = false;
	p->answered = true;
	if (s != NULL) {
		p->seal = *s;
		p->known = true;
		p->transport = false;
		p->error[0] = '\0';
	} else {
		p->known = false;
		/* The pod proxy's own 503 (dial failure) is no answer from Vault. */
		p->transport = r->transport || (r->status == 503 && r->json == NULL);
		snprintf(p->error, sizeof(p->error), "%s", r->message);
	}
	if (p->again) {
		p->again = false;
		p->checking = vault_seal_status(vw->vault, p->name, on_seal, p) == 0;
	}
	publish(vw);
}

static void
check_pod(struct vw_pod *p)
{
	struct vaultwatch *vw = p->vw;
	int r;

	if (!p->runnable || vw->vault == NULL)
		return;
	if (p->checking) {
		p->again = true;
		return;
	}
	r = vault_seal_status(vw->vault, p->name, on_seal, p);
	if (r < 0) {
		p->known = false;
		p->answered = true;
		snprintf(p->error, sizeof(p->error), "cannot ask for the seal status: %s", strerror(-r));
		return;
	}
	p->checking = true;
}

/* Watch callbacks run inside libcurl's, where no new transfer may start:
 * the check waits for the next loop iteration. */
static void
check_soon(struct vw_pod *p)
{
	struct vaultwatch *vw = p->vw;

	p->wanted = true;
	if (!ev_is_active(&vw->soon)) {
		ev_timer_set(&vw->soon, 0., 0.);
		ev_timer_start(vw->loop, &vw->soon);
	}
}

static void
on_soon(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vaultwatch *vw = w->data;

	(void)loop;
	(void)revents;
	for (size_t i = 0; i < vw->npods; i++) {
		if (vw->pods[i]->wanted) {
			vw->pods[i]->wanted = false;
			check_pod(vw->pods[i]);
		}
	}
	publish(vw);
}

void
vaultwatch_refresh(struct vaultwatch *vw)
{
	for (size_t i = 0; i < vw->npods; i++)
		check_pod(vw->pods[i]);
}

static const char *
jstr(const cJSON *o, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);

	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x, b));
}

static struct vw_pod *
find_pod(struct vaultwatch *vw, const char *name)
{
	for (size_t i = 0; i < vw->npods; i++)
		if (strcmp(vw->pods[i]->name, name) == 0)
			return vw->pods[i];
	return NULL;
}

static void
remove_pod(struct vaultwatch *vw, struct vw_pod *p)
{
	for (size_t i = 0; i < vw->npods; i++) {
		if (vw->pods[i] == p) {
			memmove(&vw->pods[i], &vw->pods[i + 1], (vw->npods - i - 1) * sizeof(vw->pods[0]));
			vw->npods--;
			break;
		}
	}
	/* A seal-status call in flight still points at it: park it until the
	 * answer comes or the vault client goes. */
	if (p->checking) {
		p->next_orphan = vw->orphans;
		vw->orphans = p;
		return;
	}
	free(p);
}

static int
restarts_of(const cJSON *obj)
{
	const cJSON *cs, *st = cJSON_GetObjectItemCaseSensitive(obj, "status");
	int n = 0;

	cJSON_ArrayForEach(cs, cJSON_GetObjectItemCaseSensitive(st, "containerStatuses")) {
		const cJSON *rc = cJSON_GetObjectItemCaseSensitive(cs, "restartCount");

		if (cJSON_IsNumber(rc))
			n += rc->valueint;
	}
	return n;
}

/* Vault's readiness probe fails while it is sealed (vault-helm's `vault status`,
 * our manifest's sys/health): the kubelet turns the pod NotReady and the watch
 * delivers that change, so no timer needs to ask.  A container without a
 * probe is Ready once it runs, sealed or not. */
static bool
readiness_probed(const cJSON *obj)
{
	const cJSON *c, *cs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"),
								"containers");
	bool any = false;

	cJSON_ArrayForEach(c, cs) {
		if (!cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(c, "readinessProbe")))
			return false;
		any = true;
	}
	return any;
}

/* Updates (or adds) the pod from its object; true when it needs a check now. */
static bool
update_pod(struct vaultwatch *vw, const cJSON *obj)
{
	const char *name = jstr(obj, "metadata", "name"), *uid = jstr(obj, "metadata", "uid");
	const char *ip = jstr(obj, "status", "podIP");
	const cJSON *md = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
	struct vw_pod *p;

	if (name == NULL)
		return false;
	p = find_pod(vw, name);
	if (p == NULL) {
		if (vw->npods == MAX_PODS || (p = calloc(1, sizeof(*p))) == NULL)
			return false;
		p->vw = vw;
		snprintf(p->name, sizeof(p->name), "%s", name);
		vw->pods[vw->npods++] = p;
	}
	if (uid != NULL && strcmp(p->uid, uid) != 0) {
		snprintf(p->uid, sizeof(p->uid), "%s", uid);
		p->known = p->answered = false;
		p->first_seen = ev_now(vw->loop);
	}
	p->restarts = restarts_of(obj);
	p->probed = readiness_probed(obj);
	p->runnable = ip != NULL && ip[0] != '\0' && cJSON_GetObjectItemCaseSensitive(md, "deletionTimestamp") == NULL;
	return p->runnable;
}

static void
on_list(void *arg, const cJSON *items)
{
	struct vaultwatch *vw = arg;
	const cJSON *it;
	bool seen[MAX_PODS] = { false };

	cJSON_ArrayForEach(it, items) {
		struct vw_pod *p;
		const char *name = jstr(it, "metadata", "name");

		update_pod(vw, it);
		if (name != NULL && (p = find_pod(vw, name)) != NULL)
			for (size_t i = 0; i < vw->npods; i++)
				if (vw->pods[i] == p)
					seen[i] = true;
	}
	for (size_t i = vw->npods; i-- > 0;)
		if (!seen[i])
			remove_pod(vw, vw->pods[i]);
	vw->listed = true;
	for (size_t i = 0; i < vw->npods; i++)
		check_soon(vw->pods[i]);
	publish(vw);
}

static void
on_event(void *arg, const char *type, const cJSON *obj)
{
	struct vaultwatch *vw = arg;
	const char *name = jstr(obj, "metadata", "name");
	struct vw_pod *p;

	if (name == NULL)
		return;
	if (strcmp(type, "DELETED") == 0) {
		p = find_pod(vw, name);
		if (p != NULL)
			remove_pod(vw, p);
	} else if (update_pod(vw, obj)) {
		/* Any change (a restart, a container becoming ready) may mean a
		 * new Vault process, and every new process is sealed. */
		check_soon(find_pod(vw, name));
	}
	publish(vw);
}

static void stop_watch(struct vaultwatch *vw, const char *why);

static void
on_watch_error(void *arg, const struct kube_result *res)
{
	struct vaultwatch *vw = arg;
	char reason[600];

	if (res->status != 0)
		return;
	/* No answer at all: the API is gone; the supervisor's probe takes over. */
	snprintf(reason, sizeof(reason), "API lost while watching the Vault pods: %s", res->message);
	supervisor_api_result(vw->sv, false, reason);
}

static int
start_watch(struct vaultwatch *vw)
{
	static const struct kube_watch_ops ops = { on_list, on_event, on_watch_error };
	const struct config *cfg = *vw->cfgp;
	struct kube *k = vw->kube_fn(vw->kube_data);
	const struct kind_info *pod;
	int r;

	if (k == NULL)
		return -ENOTCONN;
	pod = kinds_find(kube_kinds(k), "v1", "Pod");
	if (pod == NULL)
		return -ENOENT;
	r = vault_new_for_config(cfg, k, vw->http, &vw->vault);
	if (r < 0)
		return r;
	vw->kube = k;
	r = kube_watch_start(k, pod, cfg->vault.namespace, cfg->vault.selector, &ops, vw, &vw->watch);
	if (r < 0) {
		vw->vault = vault_free(vw->vault);
		vw->kube = NULL;
		return r;
	}
	vw->listed = false;
	return 0;
}

static void
stop_watch(struct vaultwatch *vw, const char *why)
{
	struct vault *v = vw->vault;

	if (vw->watch != NULL)
		kube_watch_stop(vw->watch);
	vw->watch = NULL;
	vw->vault = NULL;
	if (vw->op != NULL) {
		struct unseal *op = vw->op;

		vw->op = NULL;
		unseal_cancel(op, why);
	}
	vault_free(v);
	free_orphans(vw);
	podfollow_stop(vw->follow);
	vw->kube = NULL;
	vw->listed = false;
	/* The calls in flight are gone with the client: the parked pods too. */
	for (size_t i = 0; i < vw->npods; i++) {
		vw->pods[i]->checking = vw->pods[i]->again = false;
		vw->pods[i]->known = vw->pods[i]->answered = false;
	}
}

static bool
api_state(enum sv_state s)
{
	return s != SV_STARTING && s != SV_WAIT_API;
}

/* Starts or stops the watch to match the supervisor, and follows a change of
 * client or of where Vault lives. */
static void
sync_watch(struct vaultwatch *vw)
{
	struct kube *k = vw->kube_fn(vw->kube_data);
	int r;

	if ((!api_state(supervisor_state(vw->sv)) && !vw->looking) || k == NULL) {
		if (vw->watch != NULL)
			stop_watch(vw, "the Kubernetes API is not available");
		return;
	}
	if (vw->watch != NULL && vw->kube == k)
		return;
	if (vw->watch != NULL)
		stop_watch(vw, "the Kubernetes client changed");
	r = start_watch(vw);
	if (r < 0)
		log_warning("vault: cannot watch the Vault pods: %s", strerror(-r));
}

static void
set_tick(struct vaultwatch *vw, double every)
{
	if (vw->tick_every == every && ev_is_active(&vw->tick))
		return;
	vw->tick_every = every;
	ev_timer_stop(vw->loop, &vw->tick);
	ev_timer_set(&vw->tick, every, every);
	ev_timer_start(vw->loop, &vw->tick);
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vaultwatch *vw = w->data;

	(void)loop;
	(void)revents;
	sync_watch(vw);
	vaultwatch_refresh(vw);
	publish(vw);
}

static cJSON *
pods_json(const struct vaultwatch *vw)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < vw->npods; i++) {
		const struct vw_pod *p = vw->pods[i];
		cJSON *o = cJSON_CreateObject();

		if (o == NULL || !cJSON_AddItemToArray(a, o) || !cJSON_AddStringToObject(o, "name", p->name) ||
		    !cJSON_AddBoolToObject(o, "initialized", p->known && p->seal.initialized) ||
		    !cJSON_AddBoolToObject(o, "sealed", !p->known || p->seal.sealed) ||
		    !cJSON_AddNumberToObject(o, "progress", p->known ? p->seal.progress : 0) ||
		    !cJSON_AddNumberToObject(o, "threshold", p->known ? p->seal.t : 0) ||
		    (!p->known &&
		     !cJSON_AddStringToObject(o, "error", !p->runnable ? "not running"
							  : p->error[0] ? p->error : "seal status not read yet"))) {
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

static void
append(char *buf, size_t size, const char *name)
{
	size_t o = strlen(buf);

	if (o < size)
		snprintf(buf + o, size - o, "%s%s", o ? ", " : "", name);
}

static void
on_answer(struct secret *key, void *data);

static void
ask(struct vaultwatch *vw, const char *names, const struct vw_pod *first)
{
	const struct config *cfg = *vw->cfgp;
	char msg[512], *error = NULL;

	if (!cfg->ask_password.enabled || unseal_limit_wait(&vw->limit, clock_mono_usec()) > 0 || vw->op != NULL)
		return;
	if (vw->ask_cancelled != 0 && clock_mono_usec() - vw->ask_cancelled < CANCEL_BACKOFF_USEC)
		return;
	vw->ask_cancelled = 0;
	if (first->seal.progress > 0)
		snprintf(msg, sizeof(msg), "Vault is sealed (%s): enter the next unseal key (%d/%d keys entered)", names,
			 first->seal.progress, first->seal.t);
	else
		snprintf(msg, sizeof(msg), "Vault is sealed (%s): enter an unseal key (%d needed)", names,
			 first->seal.t);
	if (askpw_ask(vw->ask, cfg->ask_password.dir, msg, &error) < 0) {
		log_warning("%s (agentctl unseal still works)", error ? error : "ask-password: out of memory");
		/* Once per failure, not per tick: try again after the back-off. */
		vw->ask_cancelled = clock_mono_usec();
	}
	free(error);
}

static void
leave_sealed(struct vaultwatch *vw)
{
	enum sv_state back;
	const char *why;

	if (vw->have_interrupted && vw->interrupted == SV_BOOTSTRAP) {
		back = SV_BOOTSTRAP;
		why = "Vault unsealed; the bootstrap continues";
	} else if (status_all_ok(vw->st)) {
		back = SV_HEALTHY;
		why = "Vault unsealed, every check passes";
	} else {
		back = SV_DEGRADED;
		why = "Vault unsealed, some check fails";
	}
	vw->have_interrupted = false;
	supervisor_set_state(vw->sv, back, why);
}

/* agentd's own bootstrap holds the init keys and is about to unseal. */
static bool
held(const struct vaultwatch *vw)
{
	return vw->hold_until > ev_now(vw->loop) && supervisor_state(vw->sv) == SV_BOOTSTRAP;
}

/* A new pod that does not answer yet, before its first start completed. */
static bool
starting(const struct vaultwatch *vw, const struct vw_pod *p)
{
	return !p->known && (!p->runnable || !p->answered || p->transport) && p->restarts == 0 &&
	       ev_now(vw->loop) - p->first_seen < VAULTWATCH_START_GRACE;
}

enum vw_class {
	VW_UNSEALED,
	VW_SEALED,
	VW_UNINIT,
	VW_UNKNOWN,
	VW_PENDING,  /* starting, or the bootstrap unseals it: nothing to report yet */
};

static enum vw_class
classify(const struct vaultwatch *vw, const struct vw_pod *p)
{
	if (!p->known)
		return starting(vw, p) ? VW_PENDING : VW_UNKNOWN;
	/* The bootstrap initialises an uninitialised Vault, whoever looks first. */
	if (!p->seal.initialized)
		return supervisor_state(vw->sv) == SV_BOOTSTRAP ? VW_PENDING : VW_UNINIT;
	if (p->seal.sealed)
		return held(vw) || p->recheck ? VW_PENDING : VW_SEALED;
	return VW_UNSEALED;
}

/* What the vault-sealed check says: its message in MSG; the number of pods
 * not (known to be) unsealed; *PENDING true when nothing of it is a failure
 * yet (a pod starting, the bootstrap unsealing, no pod while it creates one). */
static size_t
describe(const struct vaultwatch *vw, char *msg, size_t size, bool *pending)
{
	size_t o = 0, bad = 0, npending = 0;

	msg[0] = '\0';
	if (vw->npods == 0) {
		*pending = supervisor_state(vw->sv) == SV_BOOTSTRAP;
		snprintf(msg, size, *pending ? "no Vault server pod in namespace %s yet (the bootstrap creates it)"
					     : "no running Vault server pod in namespace %s",
			 (*vw->cfgp)->vault.namespace);
		return 1;
	}
	for (size_t i = 0; i < vw->npods && o < size; i++) {
		const struct vw_pod *p = vw->pods[i];
		const char *sep = o ? "; " : "";
		int n = 0;

		switch (classify(vw, p)) {
		case VW_UNSEALED:
			continue;
		case VW_PENDING:
			npending++;
			if (p->known)
				n = snprintf(msg + o, size - o, "%s%s is being initialised and unsealed by agentd's bootstrap",
					     sep, p->name);
			else
				n = snprintf(msg + o, size - o, "%s%s is starting (no answer from Vault yet)", sep, p->name);
			break;
		case VW_UNKNOWN:
			n = snprintf(msg + o, size - o, "%s%s: seal status unknown (%s)", sep, p->name,
				     !p->runnable ? "not running" : p->error[0] ? p->error : "not read yet");
			break;
		case VW_UNINIT:
			n = snprintf(msg + o, size - o, "%s%s is not initialised", sep, p->name);
			break;
		case VW_SEALED:
			n = snprintf(msg + o, size - o, "%s%s is sealed (unseal progress %d/%d)", sep, p->name,
				     p->seal.progress, p->seal.t);
			break;
		}
		bad++;
		if (n > 0)
			o += (size_t)n;
	}
	*pending = bad > 0 && npending == bad;
	return bad;
}

/* The one owner of the vault-sealed check. */
static void
set_check(struct vaultwatch *vw)
{
	char msg[1024], held_pods[512];
	size_t nheld, nstuck = 0;
	bool pending;

	if (describe(vw, msg, sizeof(msg), &pending) > 0) {
		/* Nothing failed yet: a check that does not exist stays so (a
		 * first bootstrap's journal shows no failure that is none). */
		if (!pending)
			status_set(vw->st, "vault-sealed", false, STATUS_CRITICAL, "%s", msg);
		else if (status_get(vw->st, "vault-sealed") != NULL)
			status_set(vw->st, "vault-sealed", false, STATUS_INFO, "%s", msg);
		return;
	}
	nheld = podfollow_held(vw->follow, held_pods, sizeof(held_pods), &nstuck);
	if (nheld == 0)
		status_set(vw->st, "vault-sealed", true, STATUS_CRITICAL, "every Vault pod is initialised and unsealed");
	else if (nstuck == 0)
		status_set(vw->st, "vault-sealed", true, STATUS_CRITICAL,
			   "every Vault pod is initialised and unsealed; %zu pod%s held by the seal not running yet: %s",
			   nheld, nheld == 1 ? "" : "s", held_pods);
	else
		status_set(vw->st, "vault-sealed", true, STATUS_CRITICAL,
			   "every Vault pod is initialised and unsealed; %zu pod%s held by the seal not running yet, "
			   "%zu stuck past vault.pod_recovery_deadline (see the journal; delete a stuck pod so its "
			   "controller recreates it): %s",
			   nheld, nheld == 1 ? "" : "s", nstuck, held_pods);
}

/* Every pod answered once since the watch listed: discovery may decide. */
static bool
look_ready(const struct vaultwatch *vw)
{
	if (!vw->listed)
		return false;
	for (size_t i = 0; i < vw->npods; i++)
		if (vw->pods[i]->runnable && !vw->pods[i]->answered && !starting(vw, vw->pods[i]))
			return false;
	return true;
}

/* Every pod's seal shows in its readiness: the watch is enough. */
static bool
all_probed(const struct vaultwatch *vw)
{
	for (size_t i = 0; i < vw->npods; i++)
		if (!vw->pods[i]->probed)
			return false;
	return vw->npods > 0;
}

static void
publish(struct vaultwatch *vw)
{
	const struct config *cfg = *vw->cfgp;
	char sealed[256] = "";
	const struct vw_pod *first_sealed = NULL;
	size_t nsealed = 0, nunknown = 0, nuninit = 0, npending = 0;
	enum sv_state state = supervisor_state(vw->sv);
	cJSON *pods;

	if (vw->watch == NULL)
		return;
	for (size_t i = 0; i < vw->npods; i++) {
		const struct vw_pod *p = vw->pods[i];

		switch (classify(vw, p)) {
		case VW_PENDING:
			npending++;
			break;
		case VW_UNKNOWN:
			nunknown++;
			break;
		case VW_UNINIT:
			nuninit++;
			break;
		case VW_SEALED:
			if (nsealed++ == 0)
				first_sealed = p;
			append(sealed, sizeof(sealed), p->name);
			break;
		case VW_UNSEALED:
			break;
		}
	}
	set_tick(vw, nsealed || nunknown || nuninit || npending || vw->npods == 0
			     ? FAST_SECONDS
			     : (double)cfg->verify.interval / 1000.0 * (all_probed(vw) ? VAULTWATCH_SAFETY_FACTOR : 1));
	if (!vw->listed)
		return;
	pods = pods_json(vw);
	if (pods != NULL)
		supervisor_set_vault_pods(vw->sv, pods);

	set_check(vw);
	if (vw->looking && look_ready(vw) && !ev_is_active(&vw->look))
		ev_timer_start(vw->loop, &vw->look);
	if (!api_state(state))
		return;	/* discovery's first look: it moves the state */

	if (nsealed > 0) {
		podfollow_sealed(vw->follow, vw->kube);
		if (state != SV_VAULT_SEALED) {
			vw->interrupted = state;
			vw->have_interrupted = true;
			supervisor_set_state(vw->sv, SV_VAULT_SEALED, SEALED_STATUS);
		}
		if (!vw->sealed_episode) {
			char f_pod[300];

			vw->sealed_episode = true;
			snprintf(f_pod, sizeof(f_pod), "AGENTD_VAULT_POD=%s", first_sealed->name);
			log_send(LOG_WARNING, MSGID_VAULT_SEALED, LOG_FIELDS(f_pod, "AGENTD_CHECK=vault-sealed"),
				 "Vault sealed (%s): run agentctl unseal", sealed);
			/* Whoever moved the state, the operator reads what to do. */
			daemon_notify("STATUS=" SEALED_STATUS);
		}
		ask(vw, sealed, first_sealed);
		return;
	}
	if (askpw_active(vw->ask))
		askpw_withdraw(vw->ask);
	vw->ask_cancelled = 0;
	if (nunknown > 0 || npending > 0)
		return;	/* not known to be unsealed: stay where we are */
	if (vw->sealed_episode) {
		vw->sealed_episode = false;
		log_send(LOG_NOTICE, MSGID_VAULT_UNSEALED, LOG_FIELDS("AGENTD_CHECK=vault-sealed"),
			 "Vault unsealed: every Vault server pod (%zu) answers unsealed", vw->npods);
		/* Now the pods it held: they follow by themselves, agentd watches. */
		podfollow_unsealed(vw->follow);
	}
	if (state == SV_VAULT_SEALED && nuninit == 0 && vw->npods > 0)
		leave_sealed(vw);
}

static void
log_result(const char *via, const struct unseal_result *res)
{
	char f_pod[300], f_prog[64], f_via[64];

	snprintf(f_via, sizeof(f_via), "AGENTD_UNSEAL_VIA=%s", via);
	for (size_t i = 0; i < res->n; i++) {
		const struct unseal_pod *p = &res->pods[i];

		snprintf(f_pod, sizeof(f_pod), "AGENTD_VAULT_POD=%s", p->name);
		snprintf(f_prog, sizeof(f_prog), "AGENTD_UNSEAL_PROGRESS=%d/%d", p->progress, p->threshold);
		switch (p->outcome) {
		case UNSEAL_PROGRESS:
			log_send(LOG_INFO, MSGID_UNSEAL_PROGRESS, LOG_FIELDS(f_pod, f_prog, f_via),
				 "unseal key accepted by %s (%s): %d/%d keys", p->name, via, p->progress, p->threshold);
			break;
		case UNSEAL_WRONG_KEY:
			log_send(LOG_WARNING, MSGID_UNSEAL_REJECTED, LOG_FIELDS(f_pod, f_via),
				 "unseal attempt on %s (%s) discarded: wrong key%s%s", p->name, via,
				 p->message[0] ? ": " : "", p->message);
			break;
		case UNSEAL_UNSEALED:
			log_notice("%s unsealed (key from %s)", p->name, via);
			break;
		case UNSEAL_RESET:
			log_notice("unseal progress on %s discarded (%s)", p->name, via);
			break;
		case UNSEAL_UNREACHABLE:
		case UNSEAL_FAILED:
			log_warning("unseal on %s (%s) failed: %s", p->name, via, p->message);
			break;
		default:
			break;
		}
	}
}

static void
op_done(const struct unseal_result *res, void *data)
{
	struct vaultwatch *vw = data;
	vaultwatch_unseal_fn fn = vw->op_fn;
	void *fn_data = vw->op_data;
	enum unseal_outcome verdict;
	char summary[640];

	vw->op = NULL;
	verdict = unseal_summarize(res, vw->op_reset, summary, sizeof(summary));
	unseal_limit_record(&vw->limit, clock_mono_usec(), verdict);
	log_result(vw->op_via, res);
	if (fn != NULL)
		fn(verdict, summary, res, fn_data);
	/* Look again now: the state and the prompt follow from what Vault says. */
	if (vw->vault != NULL)
		vaultwatch_refresh(vw);
}

int
vaultwatch_unseal(struct vaultwatch *vw, struct secret *key, const char *via, vaultwatch_unseal_fn fn, void *data,
		  char *why, size_t whysize)
{
	const char *names[MAX_PODS];
	size_t n = 0;
	uint64_t wait;
	int r;

	why[0] = '\0';
	if (vw->op != NULL) {
		snprintf(why, whysize, "another unseal is in progress; try again in a moment");
		secret_free(key);
		return -EBUSY;
	}
	wait = unseal_limit_wait(&vw->limit, clock_mono_usec());
	if (wait > 0) {
		snprintf(why, whysize, "too many wrong keys: the next attempt is allowed in %llu s",
			 (unsigned long long)((wait + 999999) / 1000000));
		secret_free(key);
		return -EAGAIN;
	}
	if (vw->vault == NULL || !vw->listed) {
		snprintf(why, whysize, "Vault unreachable: the Kubernetes API is not available (agentctl status says why)");
		secret_free(key);
		return -ENOTCONN;
	}
	for (size_t i = 0; i < vw->npods; i++)
		if (vw->pods[i]->runnable)
			names[n++] = vw->pods[i]->name;
	if (n == 0) {
		snprintf(why, whysize, "Vault unreachable: no running Vault server pod in namespace %s matches %s",
			 (*vw->cfgp)->vault.namespace, (*vw->cfgp)->vault.selector);
		secret_free(key);
		return -ENOTCONN;
	}
	vw->op_fn = fn;
	vw->op_data = data;
	vw->op_reset = key == NULL;
	snprintf(vw->op_via, sizeof(vw->op_via), "%s", via);
	/* A key from either path answers the prompt too. */
	if (askpw_active(vw->ask))
		askpw_withdraw(vw->ask);
	r = unseal_start(vw->vault, names, n, key, op_done, vw, &vw->op);
	if (r < 0)
		snprintf(why, whysize, "unseal could not start: %s", strerror(-r));
	return r;
}

static void
on_answer(struct secret *key, void *data)
{
	struct vaultwatch *vw = data;
	char why[256];

	if (key == NULL) {
		log_notice("ask-password: the prompt was cancelled; asking again in %llu s (agentctl unseal works meanwhile)",
			   CANCEL_BACKOFF_USEC / 1000000ULL);
		vw->ask_cancelled = clock_mono_usec();
		return;
	}
	if (vaultwatch_unseal(vw, key, "ask-password", NULL, NULL, why, sizeof(why)) < 0)
		log_warning("ask-password: answer not used: %s", why);
}

void
vaultwatch_on_state(struct vaultwatch *vw, enum sv_state old, enum sv_state state)
{
	(void)old;
	/* Someone else (discovery, the bootstrap) moved on: this episode's
	 * interrupted state no longer applies. */
	if (state != SV_VAULT_SEALED)
		vw->have_interrupted = false;
	sync_watch(vw);
}

static void
on_look(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vaultwatch *vw = w->data;
	vaultwatch_look_fn fn = vw->look_fn;
	enum vaultwatch_verdict verdict;
	char msg[1024];
	bool pending;

	(void)loop;
	(void)revents;
	if (!vw->looking || !look_ready(vw))
		return;
	vw->looking = false;
	vw->look_fn = NULL;
	if (describe(vw, msg, sizeof(msg), &pending) == 0)
		verdict = VAULTWATCH_UNSEALED;
	else if (pending)
		verdict = VAULTWATCH_PENDING;
	else if (vw->npods == 0)
		verdict = VAULTWATCH_NO_POD;
	else
		verdict = VAULTWATCH_NOT_UNSEALED;
	fn(verdict, msg, vw->look_data);
	/* The state may have moved on: what follows from it (the warning, the
	 * password request) needs no wait for the next tick. */
	publish(vw);
}

int
vaultwatch_first_look(struct vaultwatch *vw, vaultwatch_look_fn fn, void *data)
{
	vw->look_fn = fn;
	vw->look_data = data;
	vw->looking = true;
	/* A watch that has not listed may sit in its retry back-off: a look
	 * wants an answer now. */
	if (vw->watch != NULL && !vw->listed)
		stop_watch(vw, "the Vault pods are looked at again");
	sync_watch(vw);
	if (vw->watch == NULL) {
		vw->looking = false;
		vw->look_fn = NULL;
		return -ENOTCONN;
	}
	/* Already known: answer from the loop, never from inside the call. */
	if (look_ready(vw))
		ev_timer_start(vw->loop, &vw->look);
	return 0;
}

void
vaultwatch_first_look_cancel(struct vaultwatch *vw)
{
	vw->looking = false;
	vw->look_fn = NULL;
	ev_timer_stop(vw->loop, &vw->look);
}

void
vaultwatch_bootstrap_unsealing(struct vaultwatch *vw, bool on)
{
	/* What was read during the unseal may predate its last key: a call in
	 * flight is asked again, a sealed reading at hand is read again, and
	 * neither is reported before. */
	if (!on && vw->hold_until > 0)
		for (size_t i = 0; i < vw->npods; i++) {
			struct vw_pod *p = vw->pods[i];

			p->stale = p->checking;
			p->recheck = p->checking || (p->known && p->seal.sealed);
			if (p->recheck && !p->checking)
				check_soon(p);
		}
	vw->hold_until = on ? ev_now(vw->loop) + VAULTWATCH_HOLD_MAX : 0;
	if (!on && vw->listed)
		publish(vw);
}

cJSON *
vaultwatch_held_pods(const struct vaultwatch *vw)
{
	return podfollow_json(vw->follow);
}

static void
on_follow_changed(void *data)
{
	struct vaultwatch *vw = data;

	if (vw->listed)
		set_check(vw);
}

const char *
vaultwatch_ask_path(const struct vaultwatch *vw)
{
	return askpw_path(vw->ask);
}

struct vaultwatch *
vaultwatch_new(struct ev_loop *loop, struct http_client *http, struct supervisor *sv, struct status *st,
	       struct config *const *cfgp, vaultwatch_kube_fn kube_fn, void *kube_data)
{
	struct vaultwatch *vw = calloc(1, sizeof(*vw));

	if (vw == NULL)
		return NULL;
	vw->loop = loop;
	vw->http = http;
	vw->sv = sv;
	vw->st = st;
	vw->cfgp = cfgp;
	vw->kube_fn = kube_fn;
	vw->kube_data = kube_data;
	vw->ask = askpw_new(loop, on_answer, vw);
	vw->follow = podfollow_new(loop, cfgp, on_follow_changed, vw);
	if (vw->ask == NULL || vw->follow == NULL) {
		askpw_free(vw->ask);
		podfollow_free(vw->follow);
		free(vw);
		return NULL;
	}
	ev_timer_init(&vw->look, on_look, 0., 0.);
	vw->look.data = vw;
	ev_timer_init(&vw->soon, on_soon, 0., 0.);
	vw->soon.data = vw;
	ev_timer_init(&vw->tick, on_tick, FAST_SECONDS, FAST_SECONDS);
	vw->tick.data = vw;
	vw->tick_every = FAST_SECONDS;
	ev_timer_start(loop, &vw->tick);
	return vw;
}

struct vaultwatch *
vaultwatch_free(struct vaultwatch *vw)
{
	if (vw == NULL)
		return NULL;
	ev_timer_stop(vw->loop, &vw->tick);
	ev_timer_stop(vw->loop, &vw->soon);
	ev_timer_stop(vw->loop, &vw->look);
	vw->ask = askpw_free(vw->ask);
	stop_watch(vw, "agentd is stopping");
	vw->follow = podfollow_free(vw->follow);
	for (size_t i = 0; i < vw->npods; i++)
		free(vw->pods[i]);
	free(vw);
	return NULL;
}
