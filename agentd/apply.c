/* apply — phases in order, objects of a phase in parallel, kstatus gates. */
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apply.h"
#include "kstatus.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 5000
#define POLL_S 1.0
#define POLL_FIRST_S 0.1
#define POLL_QUICK_S 2.0

enum item_state { IT_APPLYING, IT_APPLIED, IT_READY };

struct item {
	struct apply *a;
	const struct manifest_object *obj;
	enum item_state state;
	bool waits;
	struct kube_call *call;
	ev_timer retry;
	long delay_ms;
	char last[1024];	/* the last gate message, to report changes only */
};

struct apply {
	struct ev_loop *loop;
	struct kube *k;
	const struct manifest_stack *s;
	size_t cur, to;
	long timeout_ms;
	struct apply_ops ops;
	void *arg;
	ev_tstamp t0, deadline;
	struct item *items;
	size_t n, to_apply, to_gate;
	ev_timer poll;
	double poll_step;	/* apply_poll_pause's doubling */
	ev_tstamp gate_start;
	ev_timer kick;		/* starts the first phase from the loop */
};

double
apply_poll_pause(double waited, double *step, double max)
{
	if (waited < POLL_QUICK_S)
		return POLL_FIRST_S;
	*step = *step > 0 ? *step * 2 : 2 * POLL_FIRST_S;
	if (*step > max)
		*step = max;
	return *step;
}

bool
apply_transient(const struct kube_result *r)
{
	return r->status == 0 || r->status == 429 || r->status >= 500 || r->err == -EBADMSG;
}

static double
elapsed(const struct apply *a)
{
	return ev_now(a->loop) - a->t0;
}

static void
emit(struct apply *a, enum apply_step step, const struct manifest_object *obj, int err, const char *msg)
{
	if (!a->ops.progress)
		return;
	struct apply_event ev = { step, a->s->phases[a->cur].name, obj, err, msg ? msg : "", elapsed(a) };
	a->ops.progress(a->arg, &ev);
}

static void
items_clear(struct apply *a)
{
	for (size_t i = 0; i < a->n; i++) {
		ev_timer_stop(a->loop, &a->items[i].retry);
		kube_cancel(a->items[i].call);
	}
	free(a->items);
	a->items = NULL;
	a->n = 0;
	ev_timer_stop(a->loop, &a->poll);
}

static void
apply_free(struct apply *a)
{
	items_clear(a);
	ev_timer_stop(a->loop, &a->kick);
	free(a);
}

/* Ends the run: callbacks already queued are cancelled with the items. */
static void
finish(struct apply *a, int err, const char *msg)
{
	items_clear(a);
	void (*done)(void *, int, const char *) = a->ops.done;
	void *arg = a->arg;
	char copy[1024];
	snprintf(copy, sizeof copy, "%s", msg ? msg : "");
	apply_free(a);
	done(arg, err, copy);
}

static void
describe(const struct manifest_object *o, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s%s%s", o->kind, o->namespace ? o->namespace : "", o->namespace ? "/" : "", o->name);
}

static void start_phase(struct apply *a);
static int send_apply(struct item *it);

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	(void)send_apply(w->data);
}

static void
gate_poll(struct apply *a);

static void
phase_gated(struct apply *a)
{
	emit(a, APPLY_PHASE, NULL, 0, "applied and ready");
	items_clear(a);
	a->cur++;
	start_phase(a);
}

/* An object re-applied while gated (see on_status): it stays in the gate. */
static void
on_reapplied(void *arg, const struct kube_result *r)
{
	struct item *it = arg;
	struct apply *a = it->a;
	char what[300], msg[1100];
	it->call = NULL;
	if (r->err == 0 || apply_transient(r))
		return;	/* applied; or the next poll finds it missing and tries again */
	describe(it->obj, what, sizeof what);
	snprintf(msg, sizeof msg, "phase %s: %s (%s): %s: %s", a->s->phases[a->cur].name, what, it->obj->where,
		 r->reason, r->message);
	finish(a, r->err, msg);
}

static void
on_status(void *arg, const struct kube_result *r)
{
	struct item *it = arg;
	struct apply *a = it->a;
	char what[300], msg[1000];
	it->call = NULL;
	if (r->err == -ENOENT) {
		/* Applied, then gone: it was being deleted when the apply reached it (a
		 * namespace still terminating after a teardown).  Apply it again. */
		if (strcmp(it->last, "NotFound") != 0) {
			snprintf(it->last, sizeof it->last, "NotFound");
			emit(a, APPLY_WAITING, it->obj, 0, "NotFound: gone since it was applied (it was being deleted): "
							   "applying it again");
		}
		if (kube_apply(a->k, it->obj->obj, true, on_reapplied, it, &it->call) < 0)
			it->call = NULL;	/* the next poll tries again */
		return;
	}
	if (r->err)
		return;	/* no answer this round; the next poll asks again */
	struct kstatus ks;
	kstatus_compute(r->json, (int64_t)time(NULL), &ks);
	describe(it->obj, what, sizeof what);
	if (ks.status == KSTATUS_CURRENT) {
		it->state = IT_READY;
		emit(a, APPLY_READY, it->obj, 0, "Current");
		if (--a->to_gate == 0)
			phase_gated(a);
		return;
	}
	snprintf(msg, sizeof msg, "%s: %s%s%s", kstatus_status_name(ks.status), ks.message,
		 ks.cause != KSTATUS_CAUSE_NONE ? " — " : "",
		 ks.cause != KSTATUS_CAUSE_NONE ? kstatus_cause_name(ks.cause) : "");
	if (strcmp(msg, it->last) != 0) {
		snprintf(it->last, sizeof it->last, "%s", msg);
		emit(a, APPLY_WAITING, it->obj, 0, msg);
	}
}

static void
on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	gate_poll(w->data);
}

static void
gate_poll(struct apply *a)
{
	if (ev_now(a->loop) > a->deadline) {
		char what[300], msg[1500];
		for (size_t i = 0; i < a->n; i++) {
			struct item *it = &a->items[i];
			if (it->waits && it->state != IT_READY) {
				describe(it->obj, what, sizeof what);
				snprintf(msg, sizeof msg, "phase %s: %s (%s) not ready in time: %s", a->s->phases[a->cur].name,
					 what, it->obj->where, it->last[0] ? it->last : "no status yet");
				finish(a, -ETIMEDOUT, msg);
				return;
			}
		}
	}
	for (size_t i = 0; i < a->n; i++) {
		struct item *it = &a->items[i];
		if (!it->waits || it->state == IT_READY || it->call)
			continue;
		kube_get(a->k, it->obj->info, it->obj->namespace, it->obj->name, on_status, it, &it->call);
	}
	ev_timer_stop(a->loop, &a->poll);
	ev_timer_set(&a->poll, apply_poll_pause(ev_now(a->loop) - a->gate_start, &a->poll_step, POLL_S), 0.0);
	ev_timer_start(a->loop, &a->poll);
}

static void
start_gate(struct apply *a)
{
	a->to_gate = 0;
	a->poll_step = 0;
	a->gate_start = ev_now(a->loop);
	for (size_t i = 0; i < a->n; i++) {
		struct item *it = &a->items[i];
		it->waits = !a->ops.wait || a->ops.wait(a->arg, it->obj);
		if (it->waits)
			a->to_gate++;
		else
			it->state = IT_READY;
	}
	if (a->to_gate == 0) {
		phase_gated(a);
		return;
	}
	gate_poll(a);
}

static void
on_applied(void *arg, const struct kube_result *r)
{
	struct item *it = arg;
	struct apply *a = it->a;
	char what[300], msg[1024];
	it->call = NULL;
	describe(it->obj, what, sizeof what);
	if (r->err == 0) {
		it->state = IT_APPLIED;
		emit(a, APPLY_OBJECT, it->obj, 0, "applied");
		if (--a->to_apply == 0)
			start_gate(a);
		return;
	}
	snprintf(msg, sizeof msg, "%s (%s): %s: %s", what, it->obj->where, r->reason, r->message);
	if (apply_transient(r) && ev_now(a->loop) + (double)it->delay_ms / 1000.0 < a->deadline) {
		emit(a, APPLY_RETRY, it->obj, r->err, msg);
		ev_timer_set(&it->retry, (double)it->delay_ms / 1000.0, 0.0);
		ev_timer_start(a->loop, &it->retry);
		it->delay_ms = it->delay_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : it->delay_ms * 2;
		return;
	}
	emit(a, APPLY_OBJECT, it->obj, r->err, msg);
	char full[1100];
	snprintf(full, sizeof full, "phase %s: %s", a->s->phases[a->cur].name, msg);
	finish(a, r->err, full);
}

/* Returns < 0 when the run ended (A is freed). */
static int
send_apply(struct item *it)
{
	struct apply *a = it->a;
	int r = kube_apply(a->k, it->obj->obj, true, on_applied, it, &it->call);
	if (r < 0) {
		char what[300], msg[600];
		describe(it->obj, what, sizeof what);
		snprintf(msg, sizeof msg, "phase %s: %s (%s): cannot send: %s", a->s->phases[a->cur].name, what,
			 it->obj->where, strerror(-r));
		finish(a, r, msg);
	}
	return r;
}

static void
start_phase(struct apply *a)
{
	if (a->cur >= a->to) {
		finish(a, 0, "");
		return;
	}
	const struct manifest_phase *ph = &a->s->phases[a->cur];
	if (ph->error) {
		char msg[1100];
		snprintf(msg, sizeof msg, "phase %s rejected, nothing of it applied: %s", ph->name, ph->error);
		finish(a, -EINVAL, msg);
		return;
	}
	/* Custom resources of later objects need their kinds known to the client. */
	for (size_t i = 0; i < ph->count; i++)
		if (strcmp(ph->objects[i].kind, "CustomResourceDefinition") == 0)
			kinds_add_crd(kube_kinds(a->k), ph->objects[i].obj);
	a->deadline = ev_now(a->loop) + (double)a->timeout_ms / 1000.0;
	a->n = ph->count;
	a->to_apply = ph->count;
	a->items = calloc(ph->count ? ph->count : 1, sizeof *a->items);
	if (!a->items) {
		finish(a, -ENOMEM, "out of memory");
		return;
	}
	if (ph->count == 0) {
		phase_gated(a);
		return;
	}
	for (size_t i = 0; i < ph->count; i++) {
		struct item *it = &a->items[i];
		it->a = a;
		it->obj = &ph->objects[i];
		it->delay_ms = RETRY_MIN_MS;
		ev_timer_init(&it->retry, on_retry, 0.0, 0.0);
		it->retry.data = it;
	}
	for (size_t i = 0; i < ph->count; i++)
		if (send_apply(&a->items[i]) < 0)
			return;
}

static void
on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	start_phase(w->data);
}

int
apply_start(struct ev_loop *loop, struct kube *k, const struct manifest_stack *s, size_t from, size_t to,
	    long phase_timeout_ms, const struct apply_ops *ops, void *arg, struct apply **out)
{
	if (!loop || !k || !s || !ops || !ops->done || from > to || to > s->count)
		return -EINVAL;
	struct apply *a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	*a = (struct apply){ .loop = loop, .k = k, .s = s, .cur = from, .to = to,
			     .timeout_ms = phase_timeout_ms > 0 ? phase_timeout_ms : 300000, .ops = *ops, .arg = arg };
	a->t0 = ev_now(loop);
	ev_timer_init(&a->poll, on_poll, 0.0, 0.0);
	a->poll.data = a;
	ev_timer_init(&a->kick, on_kick, 0.0, 0.0);
	a->kick.data = a;
	ev_timer_start(loop, &a->kick);	/* progress and done always come from the loop */
	if (out)
		*out = a;
	return 0;
}

void
apply_cancel(struct apply *a)
{
	if (a)
		apply_free(a);
}
