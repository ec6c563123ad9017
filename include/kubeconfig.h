/* kubeconfig — the credentials agentd uses to reach the Kubernetes API.
 *
 * Supported: current-context (or a named context), clusters/users/contexts,
 * certificate-authority(-data), client-certificate(-data), client-key(-data),
 * token, tokenFile, insecure-skip-tls-verify.  `exec` and `auth-provider` users
 * are refused with an "unsupported" error.  Certificates and keys stay in memory
 * (they go to curl as blobs); secrets are wiped when freed. */
#ifndef AGENTD_KUBECONFIG_H
#define AGENTD_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

struct kubeconfig {
	char *path;		/* the kubeconfig file (messages) */
	char *context;		/* the chosen context's name */
	char *cluster;		/* its cluster's name */
	char *user;		/* its user's name */
	char *namespace;	/* the context's namespace, NULL if none */
	char *server;		/* https://host:port, without a trailing slash */
	char *ca;		/* PEM trust anchors; NULL = system store */
	size_t ca_len;
	char *cert;		/* PEM client certificate; NULL = none */
	size_t cert_len;
	char *key;		/* PEM client key (secret); NULL = none */
	size_t key_len;
	char *token;		/* bearer token (secret); NULL = none */
	bool insecure;		/* insecure-skip-tls-verify: the caller must warn */
	/* Files named by the kubeconfig, absolute (relative ones resolved against the
	 * kubeconfig's directory); kubeconfig_load reads them into the fields above. */
	char *ca_file, *cert_file, *key_file, *token_file;
};

/* Pure: parses TEXT (LEN bytes) named PATH, picks CONTEXT (NULL = current-context).
 * Referenced files are recorded, not read.  0 and *out (free with kubeconfig_free),
 * or a negative errno with *err a malloc'd "PATH: what is wrong" (never a secret). */
int kubeconfig_parse(const char *text, size_t len, const char *path, const char *context,
		     struct kubeconfig **out, char **err);

/* Reads PATH and the files it names (certificate-authority, client-certificate,
 * client-key, tokenFile).  Same contract as kubeconfig_parse. */
int kubeconfig_load(const char *path, const char *context, struct kubeconfig **out, char **err);

/* Wipes the secrets and frees; NULL is a no-op.  Returns NULL. */
struct kubeconfig *kubeconfig_free(struct kubeconfig *kc);

#endif
