/* apiprobe — the supervisor's Kubernetes API probe: GET /readyz with the
 * kubeconfig's credentials, the reason in words for the `api` check.
 *
 * The kubeconfig is re-read at every probe, so a changed file (new port after a
 * cluster restart, rotated token) is picked up without a reload.  The client it
 * builds is shared with the rest of the daemon through apiprobe_kube(). */
#ifndef AGENTD_APIPROBE_H
#define AGENTD_APIPROBE_H

#include <ev.h>

#include "supervisor.h"

struct apiprobe;
struct kube;
struct http_client;

/* Registers itself as SV's probe.  HTTP is borrowed.  NULL on allocation failure. */
struct apiprobe *apiprobe_new(struct ev_loop *loop, struct http_client *http, struct supervisor *sv);

/* Unregisters, cancels a pending probe, frees; NULL is a no-op; returns NULL. */
struct apiprobe *apiprobe_free(struct apiprobe *p);

/* The Kubernetes client of the last good kubeconfig, or NULL before one loaded.
 * Borrowed; valid until apiprobe_free. */
struct kube *apiprobe_kube(const struct apiprobe *p);

/* The `api` check's words for a /readyz exchange (exposed for tests). */
void apiprobe_reason(int err, long status, const char *server, const char *message, const char *body,
		     char *buf, size_t size);

#endif
