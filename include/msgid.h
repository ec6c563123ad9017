/* msgid.h — stable journald MESSAGE_IDs, one per event type.
 *
 * Format (a journald catalog is generated from this file, keep it regular):
 * one comment line "Subject: ..." and optional further comment lines with the
 * explanation, then one `#define MSGID_NAME "32 lowercase hex digits"`.
 * Never change or reuse an id once landed; add a new one instead.
 */
#ifndef AGENTD_MSGID_H
#define AGENTD_MSGID_H

/* Subject: agentd started
 * The daemon loaded its configuration and serves its control socket. */
#define MSGID_STARTED            "9588d7f252fe4df995ebdbe2a6ab56c9"

/* Subject: agentd stopping
 * The daemon received SIGTERM or SIGINT and is shutting down cleanly. */
#define MSGID_STOPPING           "78f3c5764c0c4440a58fa0f95dd8b1e0"

/* Subject: agentd state changed
 * The supervisor moved to the state named in AGENTD_STATE (previous state in
 * AGENTD_PREV_STATE); AGENTD_REASON says why. */
#define MSGID_STATE_CHANGED      "2d9f023582684d4580f75522dc30f1d6"

/* Subject: check failed
 * The check named in AGENTD_CHECK started failing; the message says why and
 * AGENTD_SEVERITY how much it matters. Logged once per transition. */
#define MSGID_CHECK_FAILED       "2683cd335937480d822a0c63dbcde1c5"

/* Subject: check passed
 * The check named in AGENTD_CHECK passes (again). Logged once per transition. */
#define MSGID_CHECK_OK           "6de9bd8ec6524126a7eaf6d97354affe"

/* Subject: configuration reloaded
 * SIGHUP or `agentctl reload` applied a new configuration from AGENTD_CONFIG. */
#define MSGID_CONFIG_RELOADED    "ef32c84da65546ae857822219e775d5f"

/* Subject: configuration reload failed
 * The new configuration in AGENTD_CONFIG is invalid; the message names the
 * file, line and column. The previous configuration stays in effect. */
#define MSGID_CONFIG_INVALID     "feabedcc6e3341ba8cc23f9c5ecf9c7a"

/* Subject: control request refused
 * A peer (AGENTD_PEER_UID, AGENTD_PEER_PID) without root or the control group
 * asked for the mutating command in AGENTD_COMMAND. */
#define MSGID_CONTROL_REFUSED    "dbd5f659052b4a0a81ada50618d7b6e7"

/* Subject: control protocol error
 * A peer sent a malformed, oversized or wrong-version frame; it got an error
 * frame and was disconnected. Other clients are not affected. */
#define MSGID_CONTROL_PROTOCOL   "b60c749997194ffca1f94d5dd2e84bc5"

/* Subject: control client limit reached
 * More clients than control.max_clients tried to connect; the extra ones
 * got an error frame and were disconnected. */
#define MSGID_CONTROL_LIMIT      "17e04959741a4a4b96321fce4c489e38"

/* Subject: Vault sealed
 * The Vault server pod named in AGENTD_VAULT_POD is initialised but sealed
 * (after a reboot or a pod restart every Shamir-sealed Vault is).  Agent pods
 * cannot get their secrets until it is unsealed.  Run "agentctl unseal" and
 * type one unseal key per run until the threshold is reached, or answer the
 * systemd password prompt (systemd-tty-ask-password-agent). Logged once per
 * seal, not per check. */
#define MSGID_VAULT_SEALED       "993d601d9d67443588b341a86e73901a"

/* Subject: Vault unsealed
 * Every Vault server pod is unsealed again; the password request (if any) was
 * withdrawn and the supervisor left the vault-sealed state. */
#define MSGID_VAULT_UNSEALED     "19c002c74e334565a803968a2ea714a7"

/* Subject: unseal key accepted
 * A key share was accepted by the pod in AGENTD_VAULT_POD; AGENTD_UNSEAL_PROGRESS
 * says how many of the threshold are in ("1/3").  More keys are needed before
 * Vault unseals. The key itself is never logged. */
#define MSGID_UNSEAL_PROGRESS    "4b19a223215148ed80d905766520e4dd"

/* Subject: unseal key rejected
 * Vault discarded the unseal attempt on AGENTD_VAULT_POD: the set of keys
 * submitted was wrong (progress went back to 0) or a key was malformed.
 * Start again with correct keys; repeated attempts are rate-limited. */
#define MSGID_UNSEAL_REJECTED    "50f90f1b90d14aa18491363b36693693"

/* Subject: pods recovered after unseal
 * The agent pods that waited for the sealed Vault in their Vault Agent init
 * container (vault-agent-init) run again; the message says how many and how
 * long after the unseal the last one started.  Each pod has its own line
 * before this one (field AGENTD_POD). */
#define MSGID_PODS_RECOVERED     "7c1f3b0e5a8d4e2f9b6a0d3c8e1f4a27"

/* Subject: pod still stuck after unseal
 * The pod in AGENTD_POD still waits in its Vault Agent init container
 * vault-agent-init, vault.pod_recovery_deadline after Vault was unsealed.
 * Its agent retries the login with a back-off of up to 5 minutes, so by now
 * it should have got its secrets.  Read its log
 * (kubectl -n NS logs POD -c vault-agent-init): a "permission denied" or an
 * "invalid role" needs the Vault role fixed; otherwise delete the pod so its
 * controller recreates it (kubectl -n NS delete pod POD).  agentd never
 * deletes pods itself. */
#define MSGID_POD_STUCK          "d24a9e6b13c74f0a8e5b72c9f06d3b18"

/* Subject: reset test passed
 * agentctl bootstrap --reset-test tore the managed stack down to a bare
 * cluster, bootstrapped it from scratch, saw every check pass and ran a
 * journalist and a publisher Job successfully; every success metric passed.
 * AGENTD_RESET_TEST_SECONDS says how long it took. */
#define MSGID_RESET_TEST_PASSED  "8f422d8b3a02489b89e4f577e28f9a63"

/* Subject: reset test failed
 * A reset test stopped at a failed phase or a failed success metric; the
 * message names the first failure (a namespace stuck on a finalizer, a run
 * whose Job failed and why).  The stack is left as the failure found it:
 * agentd rebuilds what is missing by itself; agentctl status shows what is
 * wrong, and a second reset test may be run once the cause is fixed. */
#define MSGID_RESET_TEST_FAILED  "2b9be29658a1498898c1841d72507be6"

#endif
