"""simlib.pss against every upstream Pod Security fixture, plus message shapes."""
import csv
import os
import unittest

import yaml

from simlib import pss

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "fixtures", "pss")


def _manifest():
    with open(os.path.join(FIXTURES, "MANIFEST.tsv"), newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


class FixtureTest(unittest.TestCase):
    def test_every_fixture(self):
        rows = _manifest()
        on_disk = set()
        for root, _, files in os.walk(FIXTURES):
            for name in files:
                if name.endswith(".yaml"):
                    on_disk.add(os.path.relpath(os.path.join(root, name), FIXTURES))
        self.assertEqual(on_disk, {r["path"] for r in rows}, "MANIFEST.tsv and the tree disagree")
        self.assertGreater(len(rows), 300)
        for row in rows:
            with self.subTest(path=row["path"]):
                with open(os.path.join(FIXTURES, row["path"])) as f:
                    pod = yaml.safe_load(f)
                version = pss.parse_version(row["version"])
                violations = pss.evaluate(row["level"], version, pod)
                if row["expect"] == "pass":
                    self.assertEqual(violations, [], pss.format_violations(violations))
                else:
                    ids = [v[0] for v in violations]
                    want = pss.reported_as(row["check_id"], row["level"], version)
                    self.assertIn(want, ids, pss.format_violations(violations))
                    text = pss.format_violations(violations)
                    self.assertIn(row["expected_reason_substring"], text)


def _pod(spec, annotations=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": annotations or {}},
            "spec": spec}


class MessageTest(unittest.TestCase):
    def test_restricted_latest_message_for_plain_container(self):
        pod = _pod({"containers": [{"name": "x", "image": "nginx"}]})
        msg = pss.message("restricted", "latest", pss.evaluate("restricted", pss.LATEST, pod))
        self.assertEqual(
            msg,
            'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false '
            '(container "x" must set securityContext.allowPrivilegeEscalation=false), '
            'unrestricted capabilities (container "x" must set securityContext.capabilities.drop=["ALL"]), '
            'runAsNonRoot != true (pod or container "x" must set securityContext.runAsNonRoot=true), '
            'seccompProfile (pod or container "x" must set securityContext.seccompProfile.type to '
            '"RuntimeDefault" or "Localhost")')

    def test_privileged_host_path_root_ordering(self):
        pod = _pod({"containers": [{"name": "app", "image": "x", "securityContext": {
            "privileged": True, "runAsUser": 0, "capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}}}],
            "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}]})
        text = pss.format_violations(pss.evaluate("restricted", pss.LATEST, pod))
        self.assertEqual(
            text,
            'privileged (container "app" must not set securityContext.privileged=true), '
            'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), '
            'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]; '
            'container "app" must not include "NET_ADMIN", "SYS_ADMIN" in securityContext.capabilities.add), '
            'restricted volume types (volume "host-root" uses restricted volume type "hostPath"), '
            'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), '
            'runAsUser=0 (container "app" must not set runAsUser=0), '
            'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to '
            '"RuntimeDefault" or "Localhost")')

    def test_baseline_reports_host_path_not_restricted_volumes(self):
        pod = _pod({"containers": [{"name": "c"}], "volumes": [{"name": "h", "hostPath": {"path": "/"}}]})
        self.assertEqual(pss.format_violations(pss.evaluate("baseline", pss.LATEST, pod)),
                         'hostPath volumes (volume "h")')

    def test_pod_level_seccomp_covers_injected_containers(self):
        sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True,
              "runAsUser": 100}
        pod = _pod({"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [{"name": "vault-agent-init", "securityContext": sc}],
                    "containers": [{"name": "app", "securityContext": sc}]})
        self.assertEqual(pss.evaluate("restricted", pss.LATEST, pod), [])
        del pod["spec"]["securityContext"]["seccompProfile"]
        text = pss.format_violations(pss.evaluate("restricted", pss.LATEST, pod))
        self.assertIn('pod or containers "vault-agent-init", "app" must set securityContext.seccompProfile.type', text)

    def test_version_gating(self):
        pod = _pod({"securityContext": {"runAsNonRoot": True}, "containers": [{"name": "c"}]})
        self.assertEqual(pss.evaluate("restricted", pss.parse_version("v1.7"), pod), [])
        self.assertEqual([v[0] for v in pss.evaluate("restricted", pss.parse_version("v1.8"), pod)],
                         ["allowPrivilegeEscalation"])
        self.assertEqual(pss.evaluate("restricted", pss.parse_version("v1.99"), pod),
                         pss.evaluate("restricted", pss.LATEST, pod))

    def test_labels(self):
        pol = pss.policy_from_labels({"pod-security.kubernetes.io/enforce": "baseline",
                                      "pod-security.kubernetes.io/enforce-version": "v1.30",
                                      "pod-security.kubernetes.io/warn": "bogus"})
        self.assertEqual(pol["enforce"], ("baseline", "v1.30", (1, 30)))
        self.assertEqual(pol["warn"][0], "restricted")
        self.assertEqual(pol["audit"][0], "privileged")
        for bad in ("1.30", "v1.030", "v2.0", "vlatest"):
            with self.assertRaises(ValueError):
                pss.parse_version(bad)


if __name__ == "__main__":
    unittest.main()
