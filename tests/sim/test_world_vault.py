"""simlib.vault: the Vault emulator's HTTP API, driven directly (no API server)."""
import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from simlib import vault

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures",
                        "vault-api")


def _now():
    return dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


class VaultTestCase(unittest.TestCase):
    def setUp(self):
        self.store = vault.new_storage()
        self.lines = []
        self.v = vault.Vault(self.store, _now, log=self.lines.append)

    def call(self, method, path, body=None, token=None, headers=None):
        h = dict(headers or {})
        if token:
            h["X-Vault-Token"] = token
        status, _, raw = self.v.handle(method, path, h, json.dumps(body).encode() if body is not None else b"")
        return status, (json.loads(raw) if raw else None)

    def init(self, shares=3, threshold=2):
        status, body = self.call("PUT", "/v1/sys/init", {"secret_shares": shares, "secret_threshold": threshold})
        self.assertEqual(status, 200, body)
        return body

    def unseal(self, keys):
        for k in keys:
            status, body = self.call("PUT", "/v1/sys/unseal", {"key": k})
        return status, body


class SealTest(VaultTestCase):
    def test_uninitialised_state(self):
        self.assertEqual(self.call("GET", "/v1/sys/init"), (200, {"initialized": False}))
        status, body = self.call("GET", "/v1/sys/seal-status")
        self.assertEqual(status, 200)
        self.assertEqual((body["initialized"], body["sealed"], body["t"], body["n"], body["type"]),
                         (False, True, 0, 0, "shamir"))
        self.assertEqual(self.call("GET", "/v1/sys/health")[0], 501)
        self.assertEqual(self.call("GET", "/v1/secret/data/x", token="x"), (503, {"errors": ["Vault is sealed"]}))

    def test_seal_status_shape_matches_documented_records(self):
        with open(os.path.join(FIXTURES, "sys-seal-status.json")) as f:
            documented = json.load(f)
        init = self.init()
        _, sealed = self.call("GET", "/v1/sys/seal-status")
        self.assertLessEqual(set(documented[0]["response"]), set(sealed))
        self.unseal(init["keys"][:2])
        _, unsealed = self.call("GET", "/v1/sys/seal-status")
        self.assertLessEqual(set(documented[1]["response"]), set(unsealed))
        self.assertNotIn("cluster_name", sealed)

    def test_init_two_of_three_and_unseal_progress(self):
        init = self.init()
        self.assertEqual(len(init["keys"]), 3)
        self.assertEqual(len(init["keys_base64"]), 3)
        self.assertTrue(init["root_token"].startswith("hvs."))
        self.assertEqual(base64.b64decode(init["keys_base64"][0]).hex(), init["keys"][0])
        status, body = self.call("PUT", "/v1/sys/unseal", {"key": init["keys"][0]})
        self.assertEqual((status, body["sealed"], body["progress"], body["t"], body["n"]), (200, True, 1, 2, 3))
        self.assertTrue(body["nonce"])
        # the same share twice does not count twice
        status, body = self.call("PUT", "/v1/sys/unseal", {"key": init["keys"][0]})
        self.assertEqual(body["progress"], 1)
        status, body = self.call("PUT", "/v1/sys/unseal", {"key": init["keys_base64"][2]})
        self.assertEqual((status, body["sealed"], body["progress"]), (200, False, 0))
        self.assertIn("cluster_name", body)
        self.assertEqual(self.call("GET", "/v1/sys/health")[0], 200)

    def test_wrong_key_resets_progress(self):
        init = self.init()
        self.call("PUT", "/v1/sys/unseal", {"key": init["keys"][0]})
        status, body = self.call("PUT", "/v1/sys/unseal", {"key": "00" * 33})
        self.assertEqual((status, body), (400, {"errors": ["Unseal failed, invalid key"]}))
        _, st = self.call("GET", "/v1/sys/seal-status")
        self.assertEqual((st["sealed"], st["progress"]), (True, 0))
        self.assertEqual(self.call("PUT", "/v1/sys/unseal", {"key": "not-a-key!"})[0], 400)

    def test_reset(self):
        init = self.init()
        self.call("PUT", "/v1/sys/unseal", {"key": init["keys"][0]})
        status, body = self.call("PUT", "/v1/sys/unseal", {"reset": True})
        self.assertEqual((status, body["progress"]), (200, 0))
        self.assertEqual(self.call("PUT", "/v1/sys/unseal", {})[0], 400)

    def test_init_validation_and_reinit(self):
        for bad in ({"secret_shares": 0, "secret_threshold": 0}, {"secret_shares": 3, "secret_threshold": 1},
                    {"secret_shares": 2, "secret_threshold": 3},
                    {"secret_shares": 2, "secret_threshold": 2, "pgp_keys": ["a"]}):
            status, body = self.call("PUT", "/v1/sys/init", bad)
            self.assertEqual(status, 400, bad)
            self.assertTrue(body["errors"][0].startswith("invalid seal configuration: "))
        self.init()
        self.assertEqual(self.call("PUT", "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1}),
                         (400, {"errors": ["Vault is already initialized"]}))

    @unittest.skipUnless(shutil.which("gpg"), "gpg not installed")
    def test_pgp_keys_encrypt_the_shares(self):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, GNUPGHOME=home)

            def gpg(*args, data=None):
                return subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""] +
                                      list(args), input=data, env=env, capture_output=True, check=True).stdout
            gpg("--quick-gen-key", "op <op@example.org>", "ed25519", "sign", "never")
            fpr = [x.split(b":")[9] for x in gpg("--with-colons", "--list-keys").splitlines()
                   if x.startswith(b"fpr:")][0].decode()
            gpg("--quick-add-key", fpr, "cv25519", "encr", "never")
            pub = base64.b64encode(gpg("--export", fpr)).decode()
            status, body = self.call("PUT", "/v1/sys/init", {"secret_shares": 2, "secret_threshold": 2,
                                                             "pgp_keys": [pub, pub], "root_token_pgp_key": pub})
            self.assertEqual(status, 200, body)
            shares = [gpg("-dq", data=base64.b64decode(k)).decode() for k in body["keys_base64"]]
            root = gpg("-dq", data=base64.b64decode(body["root_token"])).decode()
        self.assertTrue(all(len(s) == 66 for s in shares))
        self.assertTrue(root.startswith("hvs."))
        status, st = self.unseal(shares)
        self.assertEqual((status, st["sealed"]), (200, False))
        self.assertEqual(self.call("GET", "/v1/sys/mounts", token=root)[0], 200)
        self.assertEqual(self.call("PUT", "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1})[0], 400)

    def test_bad_pgp_key_rejected(self):
        status, body = self.call("PUT", "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1,
                                                         "pgp_keys": ["not base64!"]})
        self.assertEqual(status, 400)
        self.assertIn("PGP key", body["errors"][0])
        self.assertEqual(self.call("GET", "/v1/sys/init"), (200, {"initialized": False}))

    def test_restart_is_sealed_and_storage_keeps_no_raw_secrets(self):
        init = self.init(1, 1)
        self.unseal(init["keys"])
        dump = json.dumps(self.store)
        for secret in init["keys"] + init["keys_base64"] + [init["root_token"]]:
            self.assertNotIn(secret, dump)
        self.assertNotIn(init["root_token"], "\n".join(self.lines))
        again = vault.Vault(self.store, _now)
        self.assertTrue(again.seal_status()["sealed"])
        self.assertTrue(again.seal_status()["initialized"])
        st, _, _ = again.handle("PUT", "/v1/sys/unseal", {}, json.dumps({"key": init["keys"][0]}).encode())
        self.assertEqual(st, 200)
        self.assertFalse(again.seal_status()["sealed"])

    def test_health_codes_and_overrides(self):
        self.assertEqual(self.call("GET", "/v1/sys/health?uninitcode=299")[0], 299)
        init = self.init()
        self.assertEqual(self.call("GET", "/v1/sys/health")[0], 503)
        self.assertEqual(self.call("GET", "/v1/sys/health?sealedcode=200")[0], 200)
        self.assertEqual(self.call("GET", "/v1/sys/health?sealedcode=abc")[0], 400)
        status, _, raw = self.v.handle("HEAD", "/v1/sys/health", {}, b"")
        self.assertEqual((status, raw), (503, b""))
        self.unseal(init["keys"][:2])
        self.assertEqual(self.call("GET", "/v1/sys/health?activecode=204")[0], 204)
        self.assertEqual(self.call("GET", "/v1/sys/health?standbyok=true")[0], 200)


class ConfigureTest(VaultTestCase):
    def setUp(self):
        super().setUp()
        init = self.init()
        self.unseal(init["keys"][:2])
        self.root = init["root_token"]

    def test_token_lookup_self(self):
        st, body = self.call("GET", "/v1/auth/token/lookup-self", token=self.root)
        self.assertEqual(st, 200)
        self.assertEqual((body["data"]["policies"], body["data"]["id"], body["data"]["ttl"]), (["root"], self.root, 0))
        self.assertEqual(self.call("GET", "/v1/auth/token/lookup-self", token="hvs.nope")[0], 403)

    def test_token_required(self):
        self.assertEqual(self.call("GET", "/v1/sys/mounts"), (403, {"errors": ["permission denied"]}))
        self.assertEqual(self.call("GET", "/v1/sys/mounts", token="hvs.wrong"), (403, {"errors": ["permission denied"]}))
        self.assertEqual(self.call("GET", "/v1/sys/mounts", token=self.root)[0], 200)

    def test_kv2_mount_and_secrets(self):
        st, _ = self.call("POST", "/v1/sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, self.root)
        self.assertEqual(st, 204)
        st, body = self.call("POST", "/v1/sys/mounts/secret", {"type": "kv"}, self.root)
        self.assertEqual((st, body), (400, {"errors": ["path is already in use at secret/"]}))
        _, mounts = self.call("GET", "/v1/sys/mounts", token=self.root)
        self.assertEqual(mounts["secret/"]["options"], {"version": "2"})
        self.assertEqual(mounts["data"]["secret/"]["type"], "kv")
        st, body = self.call("POST", "/v1/secret/data/agents/journalist", {"data": {"API_KEY": "k1"}}, self.root)
        self.assertEqual((st, body["data"]["version"]), (200, 1))
        st, body = self.call("GET", "/v1/secret/data/agents/journalist", token=self.root)
        self.assertEqual(body["data"]["data"], {"API_KEY": "k1"})
        self.assertEqual(body["data"]["metadata"]["version"], 1)
        # check-and-set
        st, body = self.call("POST", "/v1/secret/data/agents/journalist",
                             {"data": {"API_KEY": "k2"}, "options": {"cas": 0}}, self.root)
        self.assertEqual((st, body), (400, {"errors": ["check-and-set parameter did not match the current version"]}))
        st, body = self.call("POST", "/v1/secret/data/agents/journalist",
                             {"data": {"API_KEY": "k2"}, "options": {"cas": 1}}, self.root)
        self.assertEqual(body["data"]["version"], 2)
        # patch needs merge-patch content type
        self.assertEqual(self.call("PATCH", "/v1/secret/data/agents/journalist", {"data": {"B": "x"}}, self.root)[0],
                         415)
        st, body = self.call("PATCH", "/v1/secret/data/agents/journalist", {"data": {"B": "x"}}, self.root,
                             {"Content-Type": "application/merge-patch+json"})
        self.assertEqual((st, body["data"]["version"]), (200, 3))
        self.assertEqual(self.v.kv_get("secret/data/agents/journalist"), {"API_KEY": "k2", "B": "x"})
        st, body = self.call("LIST", "/v1/secret/metadata/agents", token=self.root)
        self.assertEqual(body["data"]["keys"], ["journalist"])
        st, body = self.call("GET", "/v1/secret/metadata?list=true", token=self.root)
        self.assertEqual(body["data"]["keys"], ["agents/"])
        st, body = self.call("GET", "/v1/secret/metadata/agents/journalist", token=self.root)
        self.assertEqual((body["data"]["current_version"], sorted(body["data"]["versions"])), (3, ["1", "2", "3"]))
        self.assertEqual(self.call("DELETE", "/v1/secret/data/agents/journalist", token=self.root)[0], 204)
        st, body = self.call("GET", "/v1/secret/data/agents/journalist", token=self.root)
        self.assertEqual(st, 404)
        self.assertTrue(body["data"]["metadata"]["deletion_time"])
        self.assertEqual(self.call("GET", "/v1/secret/data/nope", token=self.root), (404, {"errors": []}))

    def test_kubernetes_auth_role_and_policy(self):
        self.assertEqual(self.call("POST", "/v1/sys/auth/kubernetes", {"type": "kubernetes"}, self.root)[0], 204)
        st, body = self.call("GET", "/v1/sys/auth", token=self.root)
        self.assertEqual(body["kubernetes/"]["type"], "kubernetes")
        self.assertEqual(self.call("POST", "/v1/auth/kubernetes/config",
                                   {"kubernetes_host": "https://kubernetes.default.svc"}, self.root)[0], 204)
        st, body = self.call("GET", "/v1/auth/kubernetes/config", token=self.root)
        self.assertEqual(body["data"]["kubernetes_host"], "https://kubernetes.default.svc")
        policy = 'path "secret/data/agents/*" {\n  capabilities = ["read"]\n}\n'
        self.assertEqual(self.call("PUT", "/v1/sys/policies/acl/agents", {"policy": policy}, self.root)[0], 204)
        st, body = self.call("GET", "/v1/sys/policies/acl/agents", token=self.root)
        self.assertEqual(body["data"]["policy"], policy)
        st, body = self.call("GET", "/v1/sys/policy/agents", token=self.root)
        self.assertEqual(body["rules"], policy)
        self.assertEqual(self.call("PUT", "/v1/sys/policies/acl/bad", {"policy": "nonsense {"}, self.root)[0], 400)
        role = {"bound_service_account_names": ["journalist"], "bound_service_account_namespaces": ["ai-agents"],
                "token_policies": ["agents"], "token_ttl": 3600}
        self.assertEqual(self.call("POST", "/v1/auth/kubernetes/role/journalist", role, self.root)[0], 204)
        st, body = self.call("GET", "/v1/auth/kubernetes/role/journalist", token=self.root)
        self.assertEqual(body["data"]["token_policies"], ["agents"])
        self.assertEqual(self.call("GET", "/v1/auth/kubernetes/role/none", token=self.root)[0], 404)
        # a login token gets only its policies
        self.call("POST", "/v1/sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, self.root)
        self.call("POST", "/v1/secret/data/agents/j", {"data": {"A": "1"}}, self.root)
        claims = {"kubernetes.io": {"namespace": "ai-agents", "serviceaccount": {"name": "journalist"}}}
        jwt = "e30." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + ".sig"
        st, body = self.call("POST", "/v1/auth/kubernetes/login", {"role": "journalist", "jwt": jwt})
        self.assertEqual(st, 200, body)
        tok = body["auth"]["client_token"]
        self.assertEqual(self.call("GET", "/v1/secret/data/agents/j", token=tok)[0], 200)
        self.assertEqual(self.call("GET", "/v1/sys/mounts", token=tok)[0], 403)

    def test_audit_stdout_lines_reach_the_log(self):
        before = len(self.lines)
        st, _ = self.call("PUT", "/v1/sys/audit/stdout", {"type": "file", "options": {"file_path": "stdout"}},
                          self.root)
        self.assertEqual(st, 204)
        st, body = self.call("GET", "/v1/sys/audit", token=self.root)
        self.assertEqual(body["stdout/"]["options"]["file_path"], "stdout")
        self.call("GET", "/v1/sys/mounts", token=self.root)
        audit = [json.loads(line) for line in self.lines[before:] if line.startswith("{")]
        self.assertTrue(any(a["type"] == "request" and a["request"]["path"] == "sys/mounts" for a in audit))
        self.assertTrue(all(a["auth"]["client_token"].startswith("hmac-sha256:") for a in audit))
        self.assertNotIn(self.root, "\n".join(self.lines))
        self.assertEqual(self.call("PUT", "/v1/sys/audit/f2", {"type": "file", "options": {}}, self.root),
                         (400, {"errors": ["file_path is required"]}))

    def test_unknown_route(self):
        st, body = self.call("GET", "/v1/nothing/here", token=self.root)
        self.assertEqual(st, 404)
        self.assertIn("no handler for route", body["errors"][0])


if __name__ == "__main__":
    unittest.main()
