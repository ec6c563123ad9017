/* vault — an asynchronous Vault HTTP API client.
 *
 * Reached through the API server's pod proxy
 * (/api/v1/namespaces/NS/pods/POD:PORT/proxy/v1/...) or, when configured, a direct
 * URL.  The token travels as X-Vault-Token (the API server strips Authorization).
 * A `kind: Status` answer is the proxy speaking, not Vault: a transport error.
 * Vault's own {"errors": [...]} become the message.  Secrets (unseal keys, init
 * keys, tokens) are never put in a message and are wiped from every buffer this
 * module owns. */
#ifndef AGENTD_VAULT_H
#define AGENTD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

struct config;
struct http_client;
struct http_tls;
struct kube;
struct vault;

/* err: 0, or a negative errno.  transport says the request never reached Vault
 * (connection, TLS, or the pod proxy answering with a Status: -EHOSTUNREACH).
 * Vault errors: -EINVAL 400, -EPERM 403, -ENOENT 404, -EAGAIN 503 (sealed), -EIO;
 * -EBADMSG for a body that is not what the endpoint returns.  Valid during the
 * callback only. */
struct vault_reply {
	int err;
	bool transport;
	long status;
	const char *message;	/* "" when err is 0 */
	const cJSON *json;	/* Vault's JSON body (also an {"errors":..} one); NULL if none */
};

struct vault_seal {
	bool initialized, sealed, standby;
	int t, n, progress;
	char type[32], version[64];
};

/* Keys and root token from sys/init: secrets, wiped after the callback returns. */
struct vault_init_keys {
	size_t n;
	const char *const *keys_b64;
	const char *root_token;
};

typedef void (*vault_fn)(void *arg, const struct vault_reply *r);
typedef void (*vault_seal_fn)(void *arg, const struct vault_reply *r, const struct vault_seal *s);
typedef void (*vault_init_fn)(void *arg, const struct vault_reply *r, const struct vault_init_keys *k);

/* Through the pod proxy of K (borrowed) to pods in namespace NS on PORT. */
int vault_new_proxy(struct kube *k, const char *ns, unsigned port, struct vault **out);
/* Directly to URL ("https://vault.example:8200"); TLS may be NULL; borrowed HTTP. */
int vault_new_direct(struct http_client *http, const char *url, const struct http_tls *tls, long timeout_ms,
		     struct vault **out);
/* The client CFG asks for: direct to vault.address (HTTP, api.request_timeout)
 * when it is set, else through K's pod proxy to vault.namespace on vault.port.
 * Nothing of CFG is kept. */
int vault_new_for_config(const struct config *cfg, struct kube *k, struct http_client *http, struct vault **out);
/* Cancels pending calls without calling back. */
struct vault *vault_free(struct vault *v);

/* POD names the Vault pod (ignored for a direct URL).  Each call returns 0 when
 * started (the callback follows on the loop) or a negative errno. */
int vault_seal_status(struct vault *v, const char *pod, vault_seal_fn cb, void *arg);
/* sys/health: 200, 429, 472, 473, 501, 503 are all answers (s filled). */
int vault_health(struct vault *v, const char *pod, vault_seal_fn cb, void *arg);
/* KEY (hex or base64, LEN bytes) is copied and wiped; never logged. */
int vault_unseal(struct vault *v, const char *pod, const char *key, size_t len, vault_seal_fn cb, void *arg);
int vault_unseal_reset(struct vault *v, const char *pod, vault_seal_fn cb, void *arg);
/* PGP_KEYS: NULL or NPGP base64 public keys, one per share (NPGP == SHARES). */
int vault_init(struct vault *v, const char *pod, unsigned shares, unsigned threshold,
	       const char *const *pgp_keys, size_t npgp, vault_init_fn cb, void *arg);

/* Generic calls on /v1/PATH with TOKEN (secret, may be NULL).  BODY may be NULL. */
int vault_read(struct vault *v, const char *pod, const char *token, const char *path, vault_fn cb, void *arg);
int vault_write(struct vault *v, const char *pod, const char *token, const char *method, const char *path,
		const cJSON *body, vault_fn cb, void *arg);

/* The configuration calls, named (each a vault_write on the documented path). */
int vault_audit_enable(struct vault *v, const char *pod, const char *token, const char *name, const char *type,
		       const cJSON *options, vault_fn cb, void *arg);		/* PUT sys/audit/NAME */
int vault_mount(struct vault *v, const char *pod, const char *token, const char *path, const char *type,
		const cJSON *options, vault_fn cb, void *arg);			/* POST sys/mounts/PATH */
int vault_auth_enable(struct vault *v, const char *pod, const char *token, const char *path, const char *type,
		      vault_fn cb, void *arg);					/* POST sys/auth/PATH */
int vault_policy_write(struct vault *v, const char *pod, const char *token, const char *name, const char *policy,
		       vault_fn cb, void *arg);					/* PUT sys/policies/acl/NAME */
int vault_k8s_auth_config(struct vault *v, const char *pod, const char *token, const char *mount,
			  const cJSON *config, vault_fn cb, void *arg);		/* POST auth/MOUNT/config */
int vault_k8s_role_write(struct vault *v, const char *pod, const char *token, const char *mount, const char *role,
			 const cJSON *body, vault_fn cb, void *arg);		/* POST auth/MOUNT/role/ROLE */

/* Reads a seal-status / unseal answer (HEALTH false: needs sealed, t, n, progress)
 * or a sys/health answer (HEALTH true: needs sealed, initialized).  -EBADMSG. */
int vault_seal_parse(const cJSON *j, bool health, struct vault_seal *s);

/* Whether a sys/health status code is an answer about the node's state (200, 429,
 * 472, 473, 474, 501, 503, 530) rather than a failure. */
bool vault_health_is_answer(long status);

/* Interprets one exchange (exposed for tests): fills R and, for a Vault JSON body,
 * *json (caller frees).  MSG is a caller buffer. */
void vault_reply_from_http(struct vault_reply *r, int terr, long status, const char *body, size_t len,
			   const char *tmsg, cJSON **json, char *msg, size_t msgsize);

#endif
