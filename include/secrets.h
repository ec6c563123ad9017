/* secrets — the daemon side of `agentctl secret`: put, list and import-k8s.
 *
 * Each runs as one asynchronous request on the loop with the operator's Vault
 * token from the request's args (never a standing token: it is copied into a
 * struct secret for the request and wiped when the request ends, as are every
 * value and every Vault or Kubernetes body that held one).  Writes keep the
 * entry's other keys: read, merge, write with check-and-set on the version read
 * (retried when another writer came between).  Errors name the Vault path and
 * Vault's own message, never a value.
 *
 * args (validated here; a bad one is a `usage` error):
 *   put:        {"token", "name", "data": {KEY: VALUE...}, "restart": bool}
 *   list:       {"token", "name"?}
 *   import-k8s: {"token", "namespace", "secret", "as"?, "delete": bool, "restart": bool}
 */
#ifndef AGENTD_SECRETS_H
#define AGENTD_SECRETS_H

#include "control.h"
#include "daemon.h"

void secrets_put(struct control_req *req, struct daemon *d);
void secrets_list(struct control_req *req, struct daemon *d);
void secrets_import(struct control_req *req, struct daemon *d);

#endif
