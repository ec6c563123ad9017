"""k3sim core: protobuf request bodies (what kubectl's typed clients send for built-in kinds)."""
import unittest

from harness import K3sim
from simlib import protobuf
from simlib.errors import ApiError

PB = "application/vnd.kubernetes.protobuf"


def varint(n):
    if n < 0:
        n += 1 << 64
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, value):
    """Encode one field: int/bool as varint, str/bytes as length-delimited, list as repeated."""
    if isinstance(value, list):
        return b"".join(field(num, v) for v in value)
    if isinstance(value, bool) or isinstance(value, int):
        return varint(num << 3) + varint(int(value))
    data = value.encode() if isinstance(value, str) else value
    return varint(num << 3 | 2) + varint(len(data)) + data


def msg(*fields):
    return b"".join(field(n, v) for n, v in fields)


def entry(k, v):
    return msg((1, k), (2, v))


def envelope(api_version, kind, raw):
    return protobuf.MAGIC + msg((1, msg((1, api_version), (2, kind))), (2, raw))


class ProtobufTest(unittest.TestCase):
    def test_decode_job_keeps_pointer_zeros_and_drops_go_zero_values(self):
        container = msg((1, "c"), (2, "busybox:1"), (5, ""), (16, False),
                        (15, msg((6, True), (7, False), (1, msg((2, ["ALL"]))))))
        pod_spec = msg((2, container), (3, "Never"), (11, False), (21, False),
                       (1, msg((1, "tmp"), (2, msg((2, msg((1, ""))))))))
        job = msg((1, msg((1, "j"), (12, entry("cronjob.kubernetes.io/instantiate", "manual")),
                         (13, msg((1, "CronJob"), (3, "cj"), (4, "uid-1"), (5, "batch/v1"), (7, True))))),
                  (2, msg((7, 0), (6, msg((1, msg()), (2, pod_spec))))))
        obj = protobuf.decode(envelope("batch/v1", "Job", job), "batch/v1", "Job")
        self.assertEqual(obj["apiVersion"], "batch/v1")
        self.assertEqual(obj["metadata"]["annotations"], {"cronjob.kubernetes.io/instantiate": "manual"})
        self.assertEqual(obj["metadata"]["ownerReferences"], [{"kind": "CronJob", "name": "cj", "uid": "uid-1",
                                                               "apiVersion": "batch/v1",
                                                               "blockOwnerDeletion": True}])
        self.assertEqual(obj["spec"]["backoffLimit"], 0)
        spec = obj["spec"]["template"]["spec"]
        self.assertEqual(spec["automountServiceAccountToken"], False)
        self.assertNotIn("hostNetwork", spec)
        self.assertEqual(spec["volumes"], [{"name": "tmp", "emptyDir": {}}])
        self.assertEqual(spec["containers"], [{"name": "c", "image": "busybox:1", "securityContext": {
            "readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}])

    def test_unknown_field_is_refused_not_dropped(self):
        raw = msg((1, msg((1, "x"))), (99, "surprise"))
        with self.assertRaises(ApiError) as cm:
            protobuf.decode(envelope("v1", "ConfigMap", raw), "v1", "ConfigMap")
        self.assertEqual(cm.exception.code, 415)
        self.assertIn("field 99 of ConfigMap", cm.exception.message)
        with self.assertRaises(ApiError) as cm:
            protobuf.decode(b"not protobuf", "v1", "ConfigMap")
        self.assertEqual(cm.exception.code, 400)

    def test_post_protobuf_over_http(self):
        with K3sim() as k:
            raw = msg((1, msg((1, "pb"), (11, entry("a", "b")))), (2, entry("k", "v")))
            r = k.request("POST", "/api/v1/namespaces/default/configmaps", envelope("v1", "ConfigMap", raw), PB)
            self.assertEqual(r.status, 201, r.body)
            self.assertEqual(r.json["data"], {"k": "v"})
            self.assertEqual(r.json["metadata"]["labels"], {"a": "b"})
            r = k.request("POST", "/apis/apps/v1/namespaces/default/statefulsets",
                          envelope("apps/v1", "StatefulSet", msg((1, msg((1, "s"))))), PB)
            self.assertEqual(r.status, 415)


if __name__ == "__main__":
    unittest.main()
