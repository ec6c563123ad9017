"""A Vault server emulator, one per Vault server pod (reached through the pod proxy).

Persistent state (init material hashes, mounts, auth, policies, audit devices, KV data)
lives in a JSON-able dict owned by the caller (sim.world_state); the seal and the
in-progress unseal are process state, so every (re)start comes back sealed, as a
Shamir-sealed Vault does.  Unseal key shares and tokens are stored only as SHA-256
hashes; they never reach a log line.
"""
import base64
import binascii
import copy
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import tempfile
import urllib.parse
import uuid

DEFAULT_VERSION = "1.17.2"
BUILD_DATE = "2024-07-05T15:19:12Z"


def _h(secret_text):
    return hashlib.sha256(secret_text.encode() if isinstance(secret_text, str) else secret_text).hexdigest()


def _now_iso(now):
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _token():
    alphabet = string.ascii_letters + string.digits
    return "hvs." + "".join(secrets.choice(alphabet) for _ in range(24))


def _accessor(prefix):
    return "%s_%s" % (prefix, secrets.token_hex(4))


class VaultError(Exception):
    def __init__(self, status, *messages):
        super().__init__(status, messages)
        self.status = status
        self.messages = list(messages)


def _bool(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.lower() in ("true", "1", "t"):
        return True
    if isinstance(v, str) and v.lower() in ("false", "0", "f", ""):
        return False
    if isinstance(v, int):
        return v != 0
    raise VaultError(400, "cannot parse %r as bool" % (v,))


def _int(v, name):
    if isinstance(v, bool):
        raise VaultError(400, "%s: expected an integer" % name)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        try:
            return int(v)
        except ValueError:
            pass
    raise VaultError(400, "%s: expected an integer, got %r" % (name, v))


def new_storage():
    """Fresh (uninitialised) persistent state for one Vault server."""
    return {"initialized": False}


def _default_mounts(now):
    ts = _now_iso(now)
    return {
        "cubbyhole/": {"type": "cubbyhole", "description": "per-token private secret storage",
                       "accessor": _accessor("cubbyhole"), "local": True, "seal_wrap": False,
                       "options": None, "config": {"default_lease_ttl": 0, "max_lease_ttl": 0},
                       "created": ts},
        "identity/": {"type": "identity", "description": "identity store", "accessor": _accessor("identity"),
                      "local": False, "seal_wrap": False, "options": None,
                      "config": {"default_lease_ttl": 0, "max_lease_ttl": 0}, "created": ts},
        "sys/": {"type": "system", "description": "system endpoints used for control, policy and debugging",
                 "accessor": _accessor("system"), "local": False, "seal_wrap": True, "options": None,
                 "config": {"default_lease_ttl": 0, "max_lease_ttl": 0}, "created": ts},
    }


_DEFAULT_POLICY = '''
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}
'''


class Vault:
    """One Vault server process.  `store` is its persistent dict (see new_storage);
    `log` is called with each line the process writes to stdout."""

    def __init__(self, store, now_fn, log=None, version=DEFAULT_VERSION, storage_type="file"):
        self.store = store
        self.now = now_fn
        self.log = log or (lambda line: None)
        self.version = version
        self.storage_type = storage_type
        self.sealed = True
        self.parts = []
        self.nonce = ""
        self.tokens = {}          # hash -> {"policies": [...], "meta": {...}} (process-local login tokens)
        self._hmac_key = secrets.token_bytes(32)
        for line in self._startup_banner():
            self.log(line)

    # ---------------------------------------------------------------- state helpers
    @property
    def initialized(self):
        return bool(self.store.get("initialized"))

    def _startup_banner(self):
        return [
            "==> Vault server configuration:",
            "",
            "             Api Address: http://0.0.0.0:8200",
            "                     Cgo: disabled",
            "         Cluster Address: https://0.0.0.0:8201",
            "              Go Version: go1.22.5",
            "              Listener 1: tcp (addr: \"[::]:8200\", cluster address: \"[::]:8201\", tls: \"disabled\")",
            "               Log Level: ",
            "                   Mlock: supported: true, enabled: false",
            "           Recovery Mode: false",
            "                 Storage: %s" % self.storage_type,
            "                 Version: Vault v%s, built %s" % (self.version, BUILD_DATE),
            "",
            "==> Vault server started! Log data will stream in below:",
            "",
        ]

    def _server_log(self, level, msg):
        self.log("%s [%s]  %s" % (self.now().astimezone().isoformat(timespec="milliseconds"), level, msg))

    def seal_status(self):
        s = self.store
        out = {"type": "shamir", "initialized": self.initialized, "sealed": self.sealed,
               "t": s.get("t", 0), "n": s.get("n", 0), "progress": len(self.parts), "nonce": self.nonce,
               "version": self.version, "build_date": BUILD_DATE, "migration": False,
               "recovery_seal": False, "storage_type": self.storage_type}
        if not self.sealed:
            out["cluster_name"] = s["cluster_name"]
            out["cluster_id"] = s["cluster_id"]
        return out

    def kv_get(self, path):
        """The current data of a KV v2 secret at API path MOUNT/data/REST (used by the
        injector's template rendering), or None.  Works only while unsealed."""
        if self.sealed:
            return None
        mount, rest = self._find_mount(path)
        if mount is None or not self._is_kv2(mount) or not rest.startswith("data/"):
            return None
        entry = self._kv(mount).get(rest[len("data/"):])
        if not entry:
            return None
        ver = entry["versions"].get(str(entry["current_version"]))
        if not ver or ver["deletion_time"] or ver["destroyed"]:
            return None
        return copy.deepcopy(ver["data"])

    def secret_data(self, path):
        """What a read of API path PATH returns as `.Data` (KV v2: {"data","metadata"};
        KV v1: the map), or None (sealed, missing, deleted)."""
        if self.sealed:
            return None
        mount, rest = self._find_mount(path)
        if mount is None or self.store["mounts"][mount]["type"] != "kv":
            return None
        if not self._is_kv2(mount):
            entry = self._kv(mount).get(rest.strip("/"))
            return copy.deepcopy(entry["data"]) if entry else None
        data = self.kv_get(path)
        if data is None:
            return None
        entry = self._kv(mount)[rest[len("data/"):]]
        ver = entry["current_version"]
        return {"data": data, "metadata": _version_meta(entry["versions"][str(ver)], ver, entry)}

    def allowed(self, policies, path, capability):
        """Whether a token with POLICIES may use CAPABILITY on PATH."""
        try:
            self._check_policy({"policies": list(policies)}, path, capability)
        except VaultError:
            return False
        return True

    # ---------------------------------------------------------------- HTTP entry
    def handle(self, method, path_qs, headers, body):
        """-> (status, headers dict, body bytes)."""
        parsed = urllib.parse.urlsplit(path_qs)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        method = method.upper()
        if method == "GET" and _bool_q(query.get("list")):
            method = "LIST"
        resp_headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
        if not path.startswith("/v1/"):
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 page not found\n"
        rel = path[len("/v1/"):].strip("/")
        try:
            data = self._body(body, headers, method)
            status, payload = self._route(method, rel, query, headers, data)
        except VaultError as e:
            status, payload = e.status, {"errors": e.messages}
        if payload is None or method == "HEAD":
            out = b""
            if payload is None and status == 200:
                status = 204
        else:
            out = (json.dumps(payload) + "\n").encode()
        return status, resp_headers, out

    @staticmethod
    def _body(body, headers, method):
        if not body:
            return {}
        try:
            data = json.loads(body)
        except ValueError:
            raise VaultError(400, "error parsing JSON") from None
        if not isinstance(data, dict):
            raise VaultError(400, "error parsing JSON")
        return data

    def _route(self, method, rel, query, headers, data):
        if rel == "sys/init":
            return self._init(method, data)
        if rel == "sys/seal-status":
            self._methods(method, "GET")
            return 200, self.seal_status()
        if rel == "sys/unseal":
            self._methods(method, "PUT", "POST")
            return self._unseal(data)
        if rel == "sys/health":
            self._methods(method, "GET", "HEAD")
            return self._health(query)
        if self.sealed:
            raise VaultError(503, "Vault is sealed")
        if rel == "auth/kubernetes/login" or (rel.startswith("auth/") and rel.endswith("/login")):
            return self._k8s_login(rel[len("auth/"):-len("login")], method, data)
        auth = self._authenticate(headers)
        status, payload = self._route_authed(method, rel, query, headers, data, auth)
        self._audit(method, rel, auth, status)
        return status, payload

    @staticmethod
    def _methods(method, *allowed):
        if method not in allowed:
            raise VaultError(405, "1 error occurred:\n\t* unsupported operation\n\n")

    # ---------------------------------------------------------------- seal lifecycle
    def _init(self, method, data):
        if method == "GET":
            return 200, {"initialized": self.initialized}
        self._methods(method, "PUT", "POST")
        if self.initialized:
            raise VaultError(400, "Vault is already initialized")
        shares = _int(data.get("secret_shares", 0), "secret_shares")
        threshold = _int(data.get("secret_threshold", 0), "secret_threshold")
        pgp = data.get("pgp_keys") or []
        for msg, bad in (("shares must be at least one", shares < 1),
                         ("threshold must be at least one", threshold < 1),
                         ("threshold must be greater than one for multiple shares", shares > 1 and threshold == 1),
                         ("shares must be less than 256", shares > 255),
                         ("threshold must be less than 256", threshold > 255),
                         ("threshold cannot be larger than shares", threshold > shares),
                         ("count mismatch between number of provided PGP keys and number of shares",
                          bool(pgp) and len(pgp) != shares)):
            if bad:
                raise VaultError(400, "invalid seal configuration: " + msg)
        keys = [secrets.token_bytes(33) for _ in range(shares)]
        root = _token()
        # Vault encrypts the hex form of each share (and the root token) to the given keys.
        out_keys = [_pgp_encrypt(pgp[i], k.hex().encode()) for i, k in enumerate(keys)] if pgp else keys
        root_pgp = data.get("root_token_pgp_key")
        out_root = base64.b64encode(_pgp_encrypt(root_pgp, root.encode())).decode() if root_pgp else root
        now = self.now()
        self.store.clear()
        self.store.update({
            "initialized": True, "n": shares, "t": threshold,
            "share_hashes": [_h(k) for k in keys],
            "root_token_hashes": [_h(root)],
            "cluster_name": "vault-cluster-" + secrets.token_hex(4),
            "cluster_id": str(uuid.uuid4()),
            "mounts": _default_mounts(now),
            "auth": {"token/": {"type": "token", "description": "token based credentials",
                                "accessor": _accessor("auth_token"), "local": False, "seal_wrap": False,
                                "options": None, "config": {"default_lease_ttl": 0, "max_lease_ttl": 0,
                                                            "token_type": "default-service"}}},
            "auth_config": {}, "auth_roles": {},
            "policies": {"default": _DEFAULT_POLICY.strip() + "\n"},
            "audit": {}, "kv": {},
        })
        self.sealed, self.parts, self.nonce = True, [], ""
        self._server_log("INFO", "core: security barrier initialized: stored=1 shares=%d threshold=%d"
                         % (shares, threshold))
        return 200, {"keys": [k.hex() for k in out_keys],
                     "keys_base64": [base64.b64encode(k).decode() for k in out_keys],
                     "root_token": out_root}

    def _unseal(self, data):
        if not self.initialized:
            raise VaultError(400, "Vault is not initialized")
        if data.get("reset") is not None and _bool(data.get("reset")):
            if not self.sealed:
                raise VaultError(400, "vault is unsealed")
            self.parts, self.nonce = [], ""
            return 200, self.seal_status()
        key = data.get("key")
        if not key:
            raise VaultError(400, "'key' must be specified in request body as JSON, or 'reset' set to true")
        if not self.sealed:
            return 200, self.seal_status()
        raw = _decode_key(key)
        if not self.parts:
            self.nonce = str(uuid.uuid4())
        digest = _h(raw)
        if digest not in self.parts:
            self.parts.append(digest)
        if len(self.parts) < self.store["t"]:
            return 200, self.seal_status()
        valid = set(self.store["share_hashes"])
        ok = all(p in valid for p in self.parts)
        self.parts, self.nonce = [], ""
        if not ok:
            # Combining a wrong share set yields a bad root key: the attempt is discarded.
            raise VaultError(400, "Unseal failed, invalid key")
        self.sealed = False
        self._server_log("INFO", "core: vault is unsealed")
        return 200, self.seal_status()

    def seal(self):
        self.sealed, self.parts, self.nonce = True, [], ""
        self.tokens.clear()

    def _health(self, query):
        codes = {"activecode": 200, "standbycode": 429, "drsecondarycode": 472,
                 "performancestandbycode": 473, "uninitcode": 501, "sealedcode": 503,
                 "removedcode": 530, "haunhealthycode": 474}
        for name in list(codes):
            if name in query:
                try:
                    codes[name] = int(query[name])
                except ValueError:
                    raise VaultError(400, "bad code value for %s: %r" % (name, query[name])) from None
        for flag in ("standbyok", "perfstandbyok"):
            if flag in query and query[flag] != "":
                try:
                    _bool(query[flag])
                except VaultError:
                    raise VaultError(400, "bad value for %s parameter: %r" % (flag, query[flag])) from None
        body = {"initialized": self.initialized, "sealed": self.sealed, "standby": False,
                "performance_standby": False, "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled", "server_time_utc": int(self.now().timestamp()),
                "version": self.version, "enterprise": False, "echo_duration_ms": 0, "clock_skew_ms": 0}
        if not self.sealed:
            body["cluster_name"] = self.store["cluster_name"]
            body["cluster_id"] = self.store["cluster_id"]
        if not self.initialized:
            return codes["uninitcode"], body
        if self.sealed:
            return codes["sealedcode"], body
        return codes["activecode"], body

    # ---------------------------------------------------------------- tokens and audit
    def _authenticate(self, headers):
        token = headers.get("x-vault-token", "")
        if not token:
            auth = headers.get("authorization", "")
            if auth.startswith("Bearer "):
                token = auth[len("Bearer "):]
        if not token:
            raise VaultError(403, "permission denied")
        digest = _h(token)
        if digest in self.store.get("root_token_hashes", []):
            return {"policies": ["root"], "token_hmac": self._hmac(token), "display_name": "root"}
        info = self.tokens.get(digest)
        if info is None:
            raise VaultError(403, "permission denied")
        return dict(info, token_hmac=self._hmac(token))

    def _lookup_self(self, headers, auth):
        root = "root" in auth["policies"]
        return {"accessor": _stable_uuid(auth["token_hmac"])[:24], "creation_ttl": 0, "display_name":
                auth.get("display_name", ""), "entity_id": "", "expire_time": None, "explicit_max_ttl": 0,
                "id": headers.get("x-vault-token", ""), "meta": None, "num_uses": 0, "orphan": True,
                "path": "auth/token/root" if root else "auth/kubernetes/login", "policies": auth["policies"],
                "renewable": not root, "ttl": 0 if root else 2764800, "type": "service"}

    def _hmac(self, value):
        return "hmac-sha256:" + hmac.new(self._hmac_key, value.encode(), hashlib.sha256).hexdigest()

    def _audit(self, method, rel, auth, status):
        devices = self.store.get("audit") or {}
        if not any(d["type"] == "file" and d["options"].get("file_path") == "stdout" for d in devices.values()):
            return
        op = {"GET": "read", "LIST": "list", "DELETE": "delete", "PATCH": "patch"}.get(method, "update")
        ts = _now_iso(self.now())
        req = {"id": str(uuid.uuid4()), "operation": op, "mount_type": self._mount_type(rel),
               "client_token": auth["token_hmac"], "namespace": {"id": "root"}, "path": rel,
               "remote_address": "10.42.0.1"}
        a = {"client_token": auth["token_hmac"], "display_name": auth.get("display_name", ""),
             "policies": auth["policies"], "token_policies": auth["policies"], "token_type": "service"}
        self.log(json.dumps({"time": ts, "type": "request", "auth": a, "request": req}, sort_keys=True))
        resp = {"mount_type": req["mount_type"]}
        if status >= 400:
            resp["status"] = status
        self.log(json.dumps({"time": ts, "type": "response", "auth": a, "request": req, "response": resp},
                            sort_keys=True))

    def _mount_type(self, rel):
        mount, _ = self._find_mount(rel)
        if mount is None:
            return ""
        return (self.store.get("mounts") or {}).get(mount, {}).get("type", "")

    def _check_policy(self, auth, rel, capability):
        """A minimal ACL: root passes; login tokens need a path rule in one of their
        policies whose capabilities include the requested one."""
        if "root" in auth["policies"]:
            return
        for name in auth["policies"]:
            for pattern, caps in _parse_policy(self.store["policies"].get(name, "")):
                if _path_matches(pattern, rel):
                    if "deny" in caps:
                        raise VaultError(403, "permission denied")
                    if capability in caps:
                        return
        raise VaultError(403, "permission denied")

    # ---------------------------------------------------------------- routing (authenticated)
    def _route_authed(self, method, rel, query, headers, data, auth):
        cap = {"GET": "read", "LIST": "list", "DELETE": "delete", "PATCH": "patch",
               "POST": "update", "PUT": "update"}.get(method, "read")
        self._check_policy(auth, rel, cap)
        if rel == "auth/token/lookup-self":
            self._methods(method, "GET")
            return 200, self._wrap(self._lookup_self(headers, auth), "token")
        if rel == "sys/seal":
            self._methods(method, "PUT", "POST")
            self.seal()
            return 204, None
        if rel == "sys/mounts":
            self._methods(method, "GET")
            return 200, self._listing(self.store["mounts"])
        if rel.startswith("sys/mounts/"):
            return self._mount_op(method, rel[len("sys/mounts/"):], data, "mounts")
        if rel == "sys/auth":
            self._methods(method, "GET")
            return 200, self._listing(self.store["auth"])
        if rel.startswith("sys/auth/"):
            return self._mount_op(method, rel[len("sys/auth/"):], data, "auth")
        if rel in ("sys/policies/acl", "sys/policy"):
            self._methods(method, "GET", "LIST")
            names = sorted(self.store["policies"]) + ["root"]
            if rel == "sys/policy":
                return 200, self._wrap({"keys": sorted(names), "policies": sorted(names)},
                                       extra={"keys": sorted(names), "policies": sorted(names)})
            return 200, self._wrap({"keys": sorted(names)})
        for prefix in ("sys/policies/acl/", "sys/policy/"):
            if rel.startswith(prefix):
                return self._policy_op(method, rel[len(prefix):], data, legacy=prefix == "sys/policy/")
        if rel == "sys/audit":
            self._methods(method, "GET")
            return 200, self._listing(self.store["audit"])
        if rel.startswith("sys/audit/"):
            return self._audit_op(method, rel[len("sys/audit/"):], data)
        if rel.startswith("auth/"):
            return self._auth_backend(method, rel[len("auth/"):], data)
        mount, rest = self._find_mount(rel)
        if mount is not None and self.store["mounts"][mount]["type"] == "kv":
            if self._is_kv2(mount):
                return self._kv2(method, mount, rest, query, headers, data)
            return self._kv1(method, mount, rest, data)
        raise VaultError(404, 'no handler for route "%s". route entry not found.' % rel)

    def _wrap(self, data, mount_type="", extra=None):
        out = {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
               "data": data, "wrap_info": None, "warnings": None, "auth": None, "mount_type": mount_type}
        if extra:
            out.update(extra)
        return out

    def _listing(self, table):
        entries = {}
        for path, entry in sorted(table.items()):
            e = {k: v for k, v in entry.items() if k != "created"}
            e.setdefault("external_entropy_access", False)
            e.setdefault("plugin_version", "")
            e.setdefault("running_plugin_version", "")
            e.setdefault("running_sha256", "")
            e.setdefault("uuid", _stable_uuid(e.get("accessor", path)))
            entries[path] = e
        return self._wrap(copy.deepcopy(entries), "system", extra=copy.deepcopy(entries))

    def _mount_op(self, method, path, data, table_name):
        table = self.store[table_name]
        key = path.strip("/") + "/"
        if key.endswith("/tune/"):
            return self._tune(method, table, key[:-len("tune/")], data)
        if method == "GET":
            if key not in table:
                raise VaultError(400, "No secret engine mount at %s" % key)
            return 200, self._wrap(copy.deepcopy(table[key]), "system")
        if method == "DELETE":
            table.pop(key, None)
            if table_name == "mounts":
                self.store["kv"].pop(key, None)
            else:
                self.store["auth_config"].pop(key, None)
                self.store["auth_roles"].pop(key, None)
            return 204, None
        self._methods(method, "PUT", "POST")
        kind = data.get("type")
        if not kind:
            raise VaultError(400, "plugin name is required" if table_name == "auth" else "type is required")
        if key in table or any(key.startswith(k) or k.startswith(key) for k in table):
            raise VaultError(400, "path is already in use at %s" % key)
        known = {"mounts": {"kv", "kv-v2", "transit", "pki", "cubbyhole", "database"},
                 "auth": {"kubernetes", "approle", "userpass", "jwt", "oidc", "token"}}[table_name]
        if kind not in known:
            raise VaultError(400, 'plugin not found in the catalog: %s' % kind)
        options = data.get("options") or None
        if kind == "kv-v2":
            kind, options = "kv", dict(options or {}, version="2")
        if kind == "kv" and options is None:
            options = {"version": "1"}
        entry = {"type": kind, "description": data.get("description", ""),
                 "accessor": _accessor(("auth_" if table_name == "auth" else "") + kind),
                 "local": bool(data.get("local", False)), "seal_wrap": bool(data.get("seal_wrap", False)),
                 "options": options, "config": dict({"default_lease_ttl": 0, "max_lease_ttl": 0},
                                                     **(data.get("config") or {}))}
        table[key] = entry
        if table_name == "mounts" and kind == "kv":
            self.store["kv"][key] = {"config": {"max_versions": 0, "cas_required": False,
                                                "delete_version_after": "0s"}, "secrets": {}}
        self._server_log("INFO", "core: successful mount: namespace=\"\" path=%s type=%s" % (key, kind)
                         if table_name == "mounts" else
                         "core: enabled credential backend: path=%s type=%s" % (key, kind))
        return 204, None

    def _tune(self, method, table, key, data):
        if key not in table:
            raise VaultError(400, "no mount entry found for %s" % key)
        if method == "GET":
            c = table[key]["config"]
            return 200, self._wrap(dict(c, description=table[key]["description"], options=table[key]["options"]))
        self._methods(method, "PUT", "POST")
        if data.get("options"):
            table[key]["options"] = dict(table[key]["options"] or {}, **data["options"])
        for k in ("default_lease_ttl", "max_lease_ttl"):
            if k in data:
                table[key]["config"][k] = data[k]
        return 204, None

    def _policy_op(self, method, name, data, legacy):
        name = name.strip("/").lower()
        if not name:
            raise VaultError(400, "policy name required")
        pols = self.store["policies"]
        if method == "GET":
            if name == "root":
                text = ""
            elif name not in pols:
                raise VaultError(404)
            else:
                text = pols[name]
            if legacy:
                d = {"name": name, "rules": text}
                return 200, self._wrap(d, extra=d)
            return 200, self._wrap({"name": name, "policy": text})
        if method == "DELETE":
            if name in ("root", "default"):
                raise VaultError(400, 'cannot delete "%s" policy' % name)
            pols.pop(name, None)
            return 204, None
        self._methods(method, "PUT", "POST")
        if name == "root":
            raise VaultError(400, "cannot update root policy")
        text = data.get("rules" if legacy else "policy", data.get("policy", data.get("rules")))
        if not isinstance(text, str) or not text.strip():
            raise VaultError(400, "'policy' parameter not supplied or empty")
        try:
            _parse_policy(text, strict=True)
        except ValueError as e:
            raise VaultError(400, "failed to parse policy: %s" % e) from None
        pols[name] = text
        return 204, None

    def _audit_op(self, method, path, data):
        key = path.strip("/") + "/"
        devices = self.store["audit"]
        if method == "DELETE":
            devices.pop(key, None)
            return 204, None
        self._methods(method, "PUT", "POST")
        kind = data.get("type")
        if not kind:
            raise VaultError(400, "type is required")
        if key in devices:
            raise VaultError(400, "path already in use")
        options = {str(k): str(v) for k, v in (data.get("options") or {}).items()}
        if kind == "file":
            fp = options.get("file_path", options.get("path"))
            if not fp:
                raise VaultError(400, "file_path is required")
            if fp not in ("stdout", "discard") and not fp.startswith("/"):
                raise VaultError(400, "file_path must be an absolute path, \"stdout\" or \"discard\"")
            options["file_path"] = fp
        elif kind not in ("syslog", "socket"):
            raise VaultError(400, 'unknown backend type: "%s"' % kind)
        devices[key] = {"type": kind, "description": data.get("description", ""), "options": options,
                        "local": bool(data.get("local", False)), "path": key}
        self._server_log("INFO", "core: enabled audit backend: path=%s type=%s" % (key, kind))
        return 204, None

    # ---------------------------------------------------------------- auth backends
    def _auth_backend(self, method, rest, data):
        mount = next((m for m in sorted(self.store["auth"], key=len, reverse=True) if (rest + "/").startswith(m)),
                     None)
        if mount is None or self.store["auth"][mount]["type"] != "kubernetes":
            raise VaultError(404, 'no handler for route "auth/%s". route entry not found.' % rest)
        sub = rest[len(mount):].strip("/")
        cfgs = self.store["auth_config"]
        roles = self.store["auth_roles"].setdefault(mount, {})
        if sub == "config":
            if method == "GET":
                if mount not in cfgs:
                    return 204, None
                c = dict(cfgs[mount])
                c.pop("token_reviewer_jwt", None)
                c["token_reviewer_jwt_set"] = "token_reviewer_jwt" in cfgs[mount]
                return 200, self._wrap(c)
            self._methods(method, "PUT", "POST")
            host = data.get("kubernetes_host", "")
            if not host:
                raise VaultError(400, "no host provided")
            cfg = {"kubernetes_host": host, "kubernetes_ca_cert": data.get("kubernetes_ca_cert", ""),
                   "pem_keys": data.get("pem_keys", []), "issuer": data.get("issuer", ""),
                   "disable_iss_validation": bool(data.get("disable_iss_validation", True)),
                   "disable_local_ca_jwt": bool(data.get("disable_local_ca_jwt", False)),
                   "use_annotations_as_alias_metadata": bool(data.get("use_annotations_as_alias_metadata", False))}
            if data.get("token_reviewer_jwt"):
                cfg["token_reviewer_jwt"] = _h(data["token_reviewer_jwt"])
            cfgs[mount] = cfg
            return 204, None
        if sub == "role":
            self._methods(method, "LIST", "GET")
            if not roles:
                raise VaultError(404)
            return 200, self._wrap({"keys": sorted(roles)})
        if sub.startswith("role/"):
            name = sub[len("role/"):]
            if method == "GET":
                if name not in roles:
                    raise VaultError(404)
                return 200, self._wrap(copy.deepcopy(roles[name]))
            if method == "DELETE":
                roles.pop(name, None)
                return 204, None
            self._methods(method, "PUT", "POST")
            sa_names = _list_param(data.get("bound_service_account_names"))
            sa_ns = _list_param(data.get("bound_service_account_namespaces"))
            if not sa_names:
                raise VaultError(400, '"bound_service_account_names" can not be empty')
            if not sa_ns and not data.get("bound_service_account_namespace_selector"):
                raise VaultError(400, '"bound_service_account_namespaces" can not be empty')
            policies = _list_param(data.get("token_policies", data.get("policies")))
            roles[name] = {"bound_service_account_names": sa_names, "bound_service_account_namespaces": sa_ns,
                           "audience": data.get("audience", ""), "alias_name_source": "serviceaccount_uid",
                           "token_policies": policies, "policies": policies,
                           "token_ttl": _int(data.get("token_ttl", data.get("ttl", 0)), "token_ttl"),
                           "ttl": _int(data.get("token_ttl", data.get("ttl", 0)), "ttl"),
                           "token_max_ttl": _int(data.get("token_max_ttl", 0), "token_max_ttl"),
                           "token_type": "default"}
            return 204, None
        raise VaultError(404, 'no handler for route "auth/%s". route entry not found.' % rest)

    def _k8s_login(self, mount, method, data):
        self._methods(method, "PUT", "POST")
        mount = mount.strip("/") + "/"
        if mount not in self.store.get("auth", {}):
            raise VaultError(403, "permission denied")
        role_name = data.get("role")
        if not role_name:
            raise VaultError(400, "missing role")
        role = self.store["auth_roles"].get(mount, {}).get(role_name)
        if role is None:
            raise VaultError(400, 'invalid role name "%s"' % role_name)
        claims = _jwt_claims(data.get("jwt", ""))
        sa = claims.get("kubernetes.io", {}).get("serviceaccount", {}).get("name") or \
            claims.get("kubernetes.io/serviceaccount/service-account.name")
        ns = claims.get("kubernetes.io", {}).get("namespace") or claims.get("kubernetes.io/serviceaccount/namespace")
        if sa is None or ns is None:
            raise VaultError(403, "permission denied")
        if "*" not in role["bound_service_account_names"] and sa not in role["bound_service_account_names"]:
            raise VaultError(403, "service account name not authorized")
        if "*" not in role["bound_service_account_namespaces"] and ns not in role["bound_service_account_namespaces"]:
            raise VaultError(403, "namespace not authorized")
        token = _token()
        policies = sorted(set(["default"] + role["token_policies"]))
        self.tokens[_h(token)] = {"policies": policies, "display_name": "kubernetes-%s-%s" % (ns, sa)}
        return 200, self._wrap(None, extra={"auth": {
            "client_token": token, "accessor": secrets.token_urlsafe(18), "policies": policies,
            "token_policies": policies, "metadata": {"role": role_name, "service_account_name": sa,
                                                     "service_account_namespace": ns},
            "lease_duration": role["token_ttl"] or 2764800, "renewable": True, "entity_id": str(uuid.uuid4()),
            "token_type": "service", "orphan": True}})

    # ---------------------------------------------------------------- KV
    def _find_mount(self, rel):
        mounts = self.store.get("mounts") or {}
        for m in sorted(mounts, key=len, reverse=True):
            if (rel + "/").startswith(m):
                return m, rel[len(m):]
        return None, rel

    def _is_kv2(self, mount):
        m = self.store["mounts"][mount]
        return m["type"] == "kv" and str((m.get("options") or {}).get("version")) == "2"

    def _kv(self, mount):
        return self.store["kv"].setdefault(mount, {"config": {"max_versions": 0, "cas_required": False,
                                                              "delete_version_after": "0s"},
                                                   "secrets": {}})["secrets"]

    def _kv1(self, method, mount, rest, data):
        secrets_ = self._kv(mount)
        key = rest.strip("/")
        if method == "LIST":
            keys = _list_keys(secrets_, key)
            if not keys:
                raise VaultError(404)
            return 200, self._wrap({"keys": keys}, "kv")
        if method == "GET":
            if key not in secrets_:
                raise VaultError(404)
            return 200, self._wrap(copy.deepcopy(secrets_[key]["data"]), "kv",
                                   extra={"lease_duration": 2764800})
        if method == "DELETE":
            secrets_.pop(key, None)
            return 204, None
        self._methods(method, "PUT", "POST")
        secrets_[key] = {"data": data}
        return 204, None

    def _kv2(self, method, mount, rest, query, headers, data):
        secrets_ = self._kv(mount)
        cfg = self.store["kv"][mount]["config"]
        now = _now_iso(self.now())
        op, _, key = rest.partition("/")
        key = key.strip("/")
        if op == "config":
            if method == "GET":
                return 200, self._wrap(dict(cfg), "kv")
            self._methods(method, "PUT", "POST")
            for k in ("max_versions", "cas_required", "delete_version_after"):
                if k in data:
                    cfg[k] = data[k]
            return 204, None
        if op == "data":
            if not key:
                raise VaultError(404)
            entry = secrets_.get(key)
            if method == "GET":
                if not entry:
                    raise VaultError(404)
                ver = _int(query.get("version", entry["current_version"]) or entry["current_version"], "version")
                v = entry["versions"].get(str(ver))
                if v is None:
                    raise VaultError(404)
                md = _version_meta(v, ver, entry)
                if v["deletion_time"] or v["destroyed"]:
                    return 404, self._wrap({"data": None, "metadata": md}, "kv")
                return 200, self._wrap({"data": copy.deepcopy(v["data"]), "metadata": md}, "kv")
            if method == "DELETE":
                if entry:
                    v = entry["versions"].get(str(entry["current_version"]))
                    if v and not v["deletion_time"]:
                        v["deletion_time"] = now
                return 204, None
            if method == "PATCH":
                ctype = headers.get("content-type", "")
                if "application/merge-patch+json" not in ctype:
                    raise VaultError(415, "Unsupported Media Type")
                if not entry:
                    raise VaultError(404)
                cur = entry["versions"].get(str(entry["current_version"]))
                if cur is None or cur["deletion_time"] or cur["destroyed"]:
                    raise VaultError(404)
                if not isinstance(data.get("data"), dict):
                    raise VaultError(400, "no data provided")
                self._check_cas(entry, cfg, data)
                merged = _merge_patch(copy.deepcopy(cur["data"]), data["data"])
                return 200, self._wrap(self._kv_write(secrets_, key, merged, now, cfg), "kv")
            self._methods(method, "PUT", "POST")
            if not isinstance(data.get("data"), dict):
                raise VaultError(400, "no data provided")
            self._check_cas(entry, cfg, data)
            return 200, self._wrap(self._kv_write(secrets_, key, data["data"], now, cfg), "kv")
        if op == "metadata":
            if method == "LIST":
                keys = _list_keys(secrets_, key)
                if not keys:
                    raise VaultError(404)
                return 200, self._wrap({"keys": keys}, "kv")
            entry = secrets_.get(key)
            if method == "GET":
                if not entry:
                    raise VaultError(404)
                versions = {k: {"created_time": v["created_time"], "deletion_time": v["deletion_time"],
                                "destroyed": v["destroyed"]} for k, v in entry["versions"].items()}
                return 200, self._wrap({
                    "cas_required": entry["cas_required"], "created_time": entry["created_time"],
                    "current_version": entry["current_version"], "custom_metadata": entry["custom_metadata"],
                    "delete_version_after": "0s", "max_versions": entry["max_versions"],
                    "oldest_version": entry["oldest_version"], "updated_time": entry["updated_time"],
                    "versions": versions}, "kv")
            if method == "DELETE":
                secrets_.pop(key, None)
                return 204, None
            self._methods(method, "PUT", "POST", "PATCH")
            if not entry:
                entry = secrets_[key] = _new_entry(now)
            for k in ("max_versions", "cas_required", "custom_metadata"):
                if k in data:
                    entry[k] = data[k]
            return 204, None
        if op in ("delete", "undelete", "destroy"):
            self._methods(method, "PUT", "POST")
            entry = secrets_.get(key)
            vers = [str(_int(v, "versions")) for v in data.get("versions") or []]
            if not vers:
                raise VaultError(400, "no version number provided")
            for v in vers:
                rec = (entry or {}).get("versions", {}).get(v)
                if rec is None:
                    continue
                if op == "delete":
                    rec["deletion_time"] = rec["deletion_time"] or now
                elif op == "undelete":
                    if not rec["destroyed"]:
                        rec["deletion_time"] = ""
                else:
                    rec["destroyed"], rec["data"] = True, None
            return 204, None
        raise VaultError(404, 'no handler for route "%s%s". route entry not found.' % (mount, rest))

    @staticmethod
    def _check_cas(entry, cfg, data):
        cas = (data.get("options") or {}).get("cas")
        required = cfg.get("cas_required") or (entry or {}).get("cas_required")
        if cas is None:
            if required:
                raise VaultError(400, "check-and-set parameter required for this call")
            return
        current = entry["current_version"] if entry else 0
        if _int(cas, "cas") != current:
            raise VaultError(400, "check-and-set parameter did not match the current version")

    @staticmethod
    def _kv_write(secrets_, key, values, now, cfg):
        entry = secrets_.get(key)
        if entry is None:
            entry = secrets_[key] = _new_entry(now)
        ver = entry["current_version"] + 1
        entry["versions"][str(ver)] = {"data": copy.deepcopy(values), "created_time": now,
                                       "deletion_time": "", "destroyed": False}
        entry["current_version"] = ver
        entry["updated_time"] = now
        limit = entry["max_versions"] or cfg.get("max_versions") or 10
        while len(entry["versions"]) > limit:
            oldest = min(int(k) for k in entry["versions"])
            del entry["versions"][str(oldest)]
            entry["oldest_version"] = oldest + 1
        return {"created_time": now, "custom_metadata": entry["custom_metadata"], "deletion_time": "",
                "destroyed": False, "version": ver}


def _new_entry(now):
    return {"versions": {}, "current_version": 0, "oldest_version": 0, "created_time": now,
            "updated_time": now, "max_versions": 0, "cas_required": False, "custom_metadata": None}


def _version_meta(v, ver, entry):
    return {"created_time": v["created_time"], "custom_metadata": entry["custom_metadata"],
            "deletion_time": v["deletion_time"], "destroyed": v["destroyed"], "version": ver}


def _merge_patch(target, patch):
    for k, v in patch.items():
        if v is None:
            target.pop(k, None)
        elif isinstance(v, dict) and isinstance(target.get(k), dict):
            target[k] = _merge_patch(target[k], v)
        else:
            target[k] = v
    return target


def _list_keys(secrets_, prefix):
    prefix = prefix + "/" if prefix else ""
    keys = set()
    for k in secrets_:
        if k.startswith(prefix):
            rest = k[len(prefix):]
            head, sep, _ = rest.partition("/")
            keys.add(head + sep)
    return sorted(keys)


def _list_param(v):
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [str(x) for x in v]


def _bool_q(v):
    return v is not None and v.lower() in ("true", "1", "t")


def _stable_uuid(seed):
    return str(uuid.UUID(hashlib.md5(seed.encode()).hexdigest()))


def _decode_key(key):
    try:
        return binascii.unhexlify(key)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(400, "'key' must be a valid hex or base64 string") from None


def _pgp_encrypt(pubkey_b64, plaintext):
    """Encrypt PLAINTEXT to a base64 binary OpenPGP public key with gpg (a throw-away
    keyring); the plaintext goes through a pipe, never argv."""
    try:
        key = base64.b64decode(pubkey_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise VaultError(400, "error decoding given PGP key: illegal base64 data") from None
    gpg = shutil.which("gpg")
    if gpg is None:
        raise VaultError(400, "pgp_keys need gpg, which this Vault emulator's host lacks")
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, GNUPGHOME=home)
        imp = subprocess.run([gpg, "--batch", "--quiet", "--import"], input=key, env=env, capture_output=True)
        listed = subprocess.run([gpg, "--batch", "--with-colons", "--list-keys"], env=env, capture_output=True,
                                text=True)
        fprs = [line.split(":")[9] for line in listed.stdout.splitlines() if line.startswith("fpr:")]
        if imp.returncode != 0 or not fprs:
            raise VaultError(400, "error parsing given PGP key: %s" % imp.stderr.decode(errors="replace").strip())
        enc = subprocess.run([gpg, "--batch", "--quiet", "--trust-model", "always", "--encrypt", "--recipient",
                              fprs[0]], input=plaintext, env=env, capture_output=True)
        if enc.returncode != 0:
            raise VaultError(400, "error encrypting to given PGP key: %s"
                             % enc.stderr.decode(errors="replace").strip())
        return enc.stdout


def _jwt_claims(jwt):
    parts = jwt.split(".")
    if len(parts) != 3:
        raise VaultError(403, "permission denied")
    try:
        pad = "=" * (-len(parts[1]) % 4)
        return json.loads(base64.urlsafe_b64decode(parts[1] + pad))
    except (ValueError, binascii.Error):
        raise VaultError(403, "permission denied") from None


def _parse_policy(text, strict=False):
    """HCL policy text -> [(path pattern, set(capabilities))].  Accepts the forms Vault's
    docs use: path "x" { capabilities = ["read", ...] }."""
    rules = []
    for m in re.finditer(r'path\s+"([^"]*)"\s*\{([^}]*)\}', text):
        caps = re.search(r'capabilities\s*=\s*\[([^\]]*)\]', m.group(2))
        names = set(re.findall(r'"([^"]+)"', caps.group(1))) if caps else set()
        rules.append((m.group(1), names))
    if strict:
        stripped = re.sub(r'path\s+"([^"]*)"\s*\{([^}]*)\}', "", text)
        stripped = re.sub(r"#[^\n]*", "", stripped).strip()
        if stripped:
            raise ValueError("unexpected text %r" % stripped[:40])
    return rules


def _path_matches(pattern, path):
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    if "+" in pattern:
        a, b = pattern.split("/"), path.split("/")
        return len(a) == len(b) and all(x == "+" or x == y for x, y in zip(a, b))
    return pattern == path
