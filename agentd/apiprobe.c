/* apiprobe — GET /readyz for the supervisor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "apiprobe.h"
#include "http.h"
#include "kinds.h"
#include "kube.h"
#include "kubeconfig.h"
#include "log.h"

struct apiprobe {
	struct ev_loop *loop;
	struct http_client *http;
	struct supervisor *sv;
	struct kinds *kinds;
	struct kube *kube;
	struct kube_call *pending;
	bool warned_insecure;
	bool proven;	/* /api answered with these credentials since the last failure */
};

void
apiprobe_reason(int err, long status, const char *server, const char *message, const char *body, char *buf,
		size_t size)
{
	switch (err) {
	case 0:
		snprintf(buf, size, "API ready at %s", server);
		return;
	case -ECONNREFUSED:
		snprintf(buf, size, "cannot reach the API at %s: connection refused", server);
		return;
	case -ETIMEDOUT:
		snprintf(buf, size, "API at %s: timed out (%s)", server, message);
		return;
	case -EPROTO:
		snprintf(buf, size, "API at %s: TLS error: %s", server, message);
		return;
	case -EACCES:
		snprintf(buf, size, "API at %s: 401 Unauthorized: the kubeconfig's credentials were rejected", server);
		return;
	case -EPERM:
		snprintf(buf, size, "API at %s: 403 Forbidden: %s", server, message);
		return;
	default:
		break;
	}
	if (status >= 300) {
		/* /readyz explains itself in text ("[-]etcd failed: ..."): keep its first line. */
		char first[160];
		size_t n = strcspn(body, "\n");
		snprintf(first, sizeof first, "%.*s", (int)(n < sizeof first - 1 ? n : sizeof first - 1), body);
		snprintf(buf, size, "API at %s: HTTP %ld from /readyz%s%s", server, status, first[0] ? ": " : "",
			 first);
		return;
	}
	snprintf(buf, size, "API at %s: %s", server, message);
}

static void
report(struct apiprobe *p, int err, const struct kube_result *r)
{
	char reason[512];
	p->proven = err == 0;
	apiprobe_reason(err, r->status, kube_kubeconfig(p->kube)->server, r->message, r->body, reason, sizeof reason);
	supervisor_api_result(p->sv, err == 0, reason);
}

/* /readyz may be open to anonymous clients: /api proves our credentials work.
 * Once it has, the same credentials need no proof at every probe: a server
 * that stops accepting them answers /readyz with 401 (authentication runs
 * before the anonymous fallback), and every watch uses them too. */
static void
api_done(void *arg, const struct kube_result *r)
{
	struct apiprobe *p = arg;
	p->pending = NULL;
	report(p, r->err, r);
}

static void
readyz_done(void *arg, const struct kube_result *r)
{
	struct apiprobe *p = arg;
	p->pending = NULL;
	int err = r->err;
	if (err == 0 && (r->status != 200 || strncmp(r->body, "ok", 2) != 0))
		err = -EIO;
	if (err == 0 && !p->proven)
		err = kube_request(p->kube, "GET", "/api", NULL, NULL, NULL, 0, true, api_done, p, &p->pending);
	else if (err == 0)
		report(p, 0, r);
	if (err)
		report(p, err, r);
}

static bool
same_blob(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && ((!a && !b) || (a && b && memcmp(a, b, alen) == 0));
}

static bool
same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The same server, trust and credentials: what /api proved still holds. */
static bool
same_identity(const struct kubeconfig *a, const struct kubeconfig *b)
{
	return same_str(a->server, b->server) && a->insecure == b->insecure &&
	       same_blob(a->ca, a->ca_len, b->ca, b->ca_len) && same_blob(a->cert, a->cert_len, b->cert, b->cert_len) &&
	       same_blob(a->key, a->key_len, b->key, b->key_len) && same_str(a->token, b->token);
}

static void
probe(struct supervisor *sv, const struct config *cfg, void *data)
{
	struct apiprobe *p = data;
	struct kubeconfig *kc = NULL;
	char *err = NULL, reason[600];

	if (p->pending) {
		kube_cancel(p->pending);
		p->pending = NULL;
	}
	int r = kubeconfig_load(cfg->kubeconfig, NULL, &kc, &err);
	if (r < 0) {
		snprintf(reason, sizeof reason, "kubeconfig %s", err ? err : strerror(-r));
		free(err);
		supervisor_api_result(sv, false, reason);
		return;
	}
	if (kc->insecure && !p->warned_insecure)
		log_send(LOG_WARNING, NULL, LOG_FIELDS("AGENTD_CHECK=api"),
			 "kubeconfig %s sets insecure-skip-tls-verify: the API server's identity is NOT verified; "
			 "anyone on the path can impersonate it and read every secret agentd sends",
			 cfg->kubeconfig);
	p->warned_insecure = kc->insecure;
	if (!p->kube) {
		r = kube_new(p->loop, p->http, kc, p->kinds, (long)cfg->api.request_timeout, &p->kube);
		if (r < 0) {
			kubeconfig_free(kc);
			supervisor_api_result(sv, false, "out of memory");
			return;
		}
	} else {
		if (!same_identity(kube_kubeconfig(p->kube), kc))
			p->proven = false;
		kube_set_kubeconfig(p->kube, kc);
	}
	r = kube_request(p->kube, "GET", "/readyz", NULL, NULL, NULL, 0, false, readyz_done, p, &p->pending);
	if (r < 0) {
		snprintf(reason, sizeof reason, "API probe could not start: %s", strerror(-r));
		supervisor_api_result(sv, false, reason);
	}
}

struct apiprobe *
apiprobe_new(struct ev_loop *loop, struct http_client *http, struct supervisor *sv)
{
	struct apiprobe *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->loop = loop;
	p->http = http;
	p->sv = sv;
	if (kinds_new(&p->kinds) < 0) {
		free(p);
		return NULL;
	}
	supervisor_set_api_probe(sv, probe, p);
	return p;
}

struct apiprobe *
apiprobe_free(struct apiprobe *p)
{
	if (!p)
		return NULL;
	supervisor_set_api_probe(p->sv, NULL, NULL);
	if (p->pending)
		kube_cancel(p->pending);
	kube_free(p->kube);
	kinds_free(p->kinds);
	free(p);
	return NULL;
}

struct kube *
apiprobe_kube(const struct apiprobe *p)
{
	return p->kube;
}
