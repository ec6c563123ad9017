"""Controllers and kubelet in a running k3sim: Deployments, Services, StatefulSets with
PVCs, Jobs, CronJobs, CRDs, CrashLoopBackOff."""
import datetime as dt
import unittest

import world_fixtures as fx
from harness import K3sim


class WorkloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.k = K3sim(speed=1.0).start()

    @classmethod
    def tearDownClass(cls):
        cls.k.__exit__(None, None, None)

    def ns(self, name, labels=None):
        self.assertEqual(self.k.post("/api/v1/namespaces", fx.namespace(name, labels)).status, 201)

    def test_deployment_pods_service_endpoints(self):
        k = self.k
        self.ns("web")
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [fx.container("web", ports=[{"containerPort": 8080,
                                                                                        "name": "http"}])]}}}}
        self.assertEqual(k.post("/apis/apps/v1/namespaces/web/deployments", d).status, 201)
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}
        self.assertEqual(k.post("/api/v1/namespaces/web/services", svc).status, 201)

        def available():
            dep = k.get("/apis/apps/v1/namespaces/web/deployments/web").json
            st = dep.get("status") or {}
            return dep if st.get("availableReplicas") == 2 and st.get("readyReplicas") == 2 else None
        dep = k.wait_for(available, timeout=15, what="deployment available")
        self.assertEqual(fx.cond(dep, "Available")["status"], "True")
        self.assertEqual(dep["status"]["observedGeneration"], dep["metadata"]["generation"])
        pods = k.get("/api/v1/namespaces/web/pods").json["items"]
        self.assertEqual(len(pods), 2)
        for p in pods:
            self.assertEqual(p["status"]["phase"], "Running")
            self.assertTrue(p["status"]["podIP"].startswith("10.42."))
            self.assertEqual(p["spec"]["nodeName"], k.get("/api/v1/nodes").json["items"][0]["metadata"]["name"])
            self.assertEqual(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet")
            cs = p["status"]["containerStatuses"][0]
            self.assertTrue(cs["ready"] and "running" in cs["state"])
        ep = k.wait_for(lambda: (k.get("/api/v1/namespaces/web/endpoints/web").json.get("subsets") or [None])[0],
                        timeout=10, what="endpoints")
        self.assertEqual(len(ep["addresses"]), 2)
        self.assertEqual(ep["ports"], [{"port": 8080, "protocol": "TCP", "name": "http"}])
        slices = k.get("/apis/discovery.k8s.io/v1/namespaces/web/endpointslices",
                       labelSelector="kubernetes.io/service-name=web").json["items"]
        self.assertEqual(len(slices), 1)
        self.assertTrue(all(e["conditions"]["ready"] for e in slices[0]["endpoints"]))
        self.assertTrue(fx.events(k, "web", "ScalingReplicaSet", "Deployment"))
        self.assertTrue(fx.events(k, "web", "Scheduled", "Pod"))
        self.assertTrue(fx.events(k, "web", "Started", "Pod"))

    def test_crash_loop_backoff(self):
        k = self.k
        self.ns("crash")
        k.control("config", fail_images=["registry.example/crasher:1"])
        d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "c"},
             "spec": {"selector": {"matchLabels": {"app": "c"}},
                      "template": {"metadata": {"labels": {"app": "c"}},
                                   "spec": {"containers": [fx.container("c", "registry.example/crasher:1")]}}}}
        self.assertEqual(k.post("/apis/apps/v1/namespaces/crash/deployments", d).status, 201)

        def crashing():
            for p in k.get("/api/v1/namespaces/crash/pods").json["items"]:
                for cs in (p.get("status") or {}).get("containerStatuses") or []:
                    if (cs["state"].get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                        return cs
            return None
        cs = k.wait_for(crashing, timeout=15, what="CrashLoopBackOff")
        self.assertGreaterEqual(cs["restartCount"], 1)
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 1)
        self.assertIn("back-off 10s restarting failed container=c", cs["state"]["waiting"]["message"])
        self.assertTrue(fx.events(k, "crash", "BackOff", "Pod"))
        k.wait_for(lambda: fx.cond(k.get("/apis/apps/v1/namespaces/crash/deployments/c").json,
                                 "Available")["status"] == "False", timeout=10, what="deployment unavailable")
        k.control("advance", seconds=601)
        dep = fx.get_when(k, "/apis/apps/v1/namespaces/crash/deployments/c",
                          lambda d: fx.cond(d, "Progressing")["status"] == "False", what="progress deadline")
        self.assertEqual(fx.cond(dep, "Progressing")["reason"], "ProgressDeadlineExceeded")

    def test_statefulset_pvc_bound_and_unknown_class_pending(self):
        k = self.k
        self.ns("vault")
        r = k.post("/apis/apps/v1/namespaces/vault/statefulsets", fx.vault_statefulset())
        self.assertEqual(r.status, 201, r.body)
        pvc = fx.get_when(k, "/api/v1/namespaces/vault/persistentvolumeclaims/data-vault-0", fx.phase("Bound"))
        self.assertEqual(pvc["spec"]["storageClassName"], "local-path")
        pv = k.get("/api/v1/persistentvolumes/" + pvc["spec"]["volumeName"]).json
        self.assertEqual(pv["spec"]["claimRef"]["name"], "data-vault-0")
        pod = fx.get_when(k, "/api/v1/namespaces/vault/pods/vault-0", fx.phase("Running"))
        self.assertEqual(pod["spec"]["volumes"][-1]["persistentVolumeClaim"]["claimName"], "data-vault-0")
        # sealed and uninitialised Vault: running but not Ready
        self.assertEqual(fx.cond(pod, "Ready")["status"], "False")
        sts = k.get("/apis/apps/v1/namespaces/vault/statefulsets/vault").json
        self.assertEqual(sts["status"]["replicas"], 1)
        self.assertNotIn("readyReplicas", sts["status"])

        self.ns("nostorage")
        bad = fx.vault_statefulset(storage_class="fast-ssd")
        bad["metadata"]["namespace"] = "nostorage"
        self.assertEqual(k.post("/apis/apps/v1/namespaces/nostorage/statefulsets", bad).status, 201)
        ev = k.wait_for(lambda: fx.events(k, "nostorage", "ProvisioningFailed"), timeout=10, what="ProvisioningFailed")
        self.assertEqual(ev[0]["message"], 'storageclass.storage.k8s.io "fast-ssd" not found')
        k.wait_for(lambda: fx.events(k, "nostorage", "FailedScheduling"), timeout=10, what="FailedScheduling")
        pod = k.get("/api/v1/namespaces/nostorage/pods/vault-0").json
        self.assertEqual(pod["status"]["phase"], "Pending")
        self.assertEqual(fx.cond(pod, "PodScheduled")["reason"], "Unschedulable")
        pvc = k.get("/api/v1/namespaces/nostorage/persistentvolumeclaims/data-vault-0").json
        self.assertEqual(pvc["status"]["phase"], "Pending")

    def test_job_succeeds_and_fails(self):
        k = self.k
        self.ns("jobs")
        k.control("config", job_seconds=1, fail_images=["registry.example/bad:1"])

        def job(name, image, backoff=0):
            return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
                    "spec": {"backoffLimit": backoff, "template": {"spec": {
                        "restartPolicy": "Never", "securityContext": fx.POD_SC,
                        "containers": [fx.container("main", image)]}}}}
        self.assertEqual(k.post("/apis/batch/v1/namespaces/jobs/jobs", job("ok", "registry.example/agent:1")).status,
                         201)
        self.assertEqual(k.post("/apis/batch/v1/namespaces/jobs/jobs", job("bad", "registry.example/bad:1", 1)).status,
                         201)
        done = k.wait_for(lambda: (lambda j: j if fx.cond(j, "Complete") else None)(
            k.get("/apis/batch/v1/namespaces/jobs/jobs/ok").json), timeout=15, what="job complete")
        self.assertEqual(done["status"]["succeeded"], 1)
        self.assertTrue(done["status"]["completionTime"])
        self.assertEqual(fx.cond(done, "SuccessCriteriaMet")["status"], "True")
        failed = k.wait_for(lambda: (lambda j: j if fx.cond(j, "Failed") else None)(
            k.get("/apis/batch/v1/namespaces/jobs/jobs/bad").json), timeout=20, what="job failed")
        self.assertEqual(fx.cond(failed, "Failed")["reason"], "BackoffLimitExceeded")
        self.assertEqual(failed["status"]["failed"], 2)
        pods = k.get("/api/v1/namespaces/jobs/pods", labelSelector="job-name=ok").json["items"]
        self.assertEqual(pods[0]["status"]["phase"], "Succeeded")
        self.assertEqual(pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed")
        self.assertTrue(fx.events(k, "jobs", "Completed", "Job"))
        self.assertTrue(fx.events(k, "jobs", "BackoffLimitExceeded", "Job"))

    def test_job_deadline(self):
        k = self.k
        self.ns("deadline")
        k.control("config", job_seconds=30)
        j = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "slow"},
             "spec": {"activeDeadlineSeconds": 20, "template": {"spec": {
                 "restartPolicy": "Never", "securityContext": fx.POD_SC, "containers": [fx.container()]}}}}
        self.assertEqual(k.post("/apis/batch/v1/namespaces/deadline/jobs", j).status, 201)
        k.wait_for(lambda: [p for p in k.get("/api/v1/namespaces/deadline/pods").json["items"]
                            if fx.phase("Running")(p)], timeout=10, what="job pod running")
        k.control("advance", seconds=21)
        failed = k.wait_for(lambda: (lambda j: j if fx.cond(j, "Failed") else None)(
            k.get("/apis/batch/v1/namespaces/deadline/jobs/slow").json), timeout=15, what="deadline")
        self.assertEqual(fx.cond(failed, "Failed")["reason"], "DeadlineExceeded")
        self.assertTrue(any(e["message"] == "Stopping container app" for e in fx.events(k, "deadline", "Killing")))
        self.assertEqual(k.get("/api/v1/namespaces/deadline/pods").json["items"], [])
        k.control("config", job_seconds=1)

    def test_crd_established(self):
        k = self.k
        crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
               "metadata": {"name": "agenttasks.agents.example.org"},
               "spec": {"group": "agents.example.org", "scope": "Namespaced",
                        "names": {"plural": "agenttasks", "singular": "agenttask", "kind": "AgentTask"},
                        "versions": [{"name": "v1", "served": True, "storage": True,
                                      "schema": {"openAPIV3Schema": {"type": "object",
                                                                     "x-kubernetes-preserve-unknown-fields": True}}}]}}
        self.assertEqual(k.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd).status, 201)
        got = k.wait_for(lambda: (lambda c: c if (fx.cond(c, "Established") or {}).get("status") == "True" else None)(
            k.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/agenttasks.agents.example.org").json),
            timeout=10, what="Established")
        self.assertEqual(got["status"]["acceptedNames"]["kind"], "AgentTask")
        self.assertEqual(got["status"]["storedVersions"], ["v1"])
        k.wait_for(lambda: k.get("/apis/agents.example.org/v1").status == 200, timeout=10, what="discovery")


class CronJobTest(unittest.TestCase):
    def test_cronjob_fires_on_schedule_at_speed(self):
        with K3sim(speed=60.0) as k:
            k.post("/api/v1/namespaces", fx.namespace("cron"))
            k.control("config", job_seconds=5)
            cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick"},
                  "spec": {"schedule": "* * * * *", "timeZone": "Europe/Berlin", "successfulJobsHistoryLimit": 1,
                           "jobTemplate": {"metadata": {"labels": {"task": "tick"}},
                                           "spec": {"template": {"spec": {
                                               "restartPolicy": "Never", "securityContext": fx.POD_SC,
                                               "containers": [fx.container()]}}}}}}
            self.assertEqual(k.post("/apis/batch/v1/namespaces/cron/cronjobs", cj).status, 201)

            def succeeded_twice():
                c = k.get("/apis/batch/v1/namespaces/cron/cronjobs/tick").json
                names = {e["message"] for e in fx.events(k, "cron", "SawCompletedJob")}
                return c if len(names) >= 2 and (c.get("status") or {}).get("lastSuccessfulTime") else None
            c = k.wait_for(succeeded_twice, timeout=20, interval=0.2, what="two completed runs")
            last = dt.datetime.fromisoformat(c["status"]["lastScheduleTime"].replace("Z", "+00:00"))
            self.assertEqual(last.second, 0)
            created = fx.events(k, "cron", "SuccessfulCreate", "CronJob")
            self.assertTrue(created[0]["message"].startswith("Created job tick-"))
            jobs = k.get("/apis/batch/v1/namespaces/cron/jobs").json["items"]
            self.assertTrue(jobs)
            for j in jobs:
                ts = j["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
                self.assertRegex(ts, r"\+0[12]:00$")     # rendered in the CronJob's time zone
                self.assertEqual(j["metadata"]["name"], "tick-%d" % (
                    dt.datetime.fromisoformat(ts).timestamp() // 60))
                self.assertTrue(j["metadata"]["ownerReferences"][0]["controller"])
            # history limit: at most one successful job kept
            k.wait_for(lambda: len([j for j in k.get("/apis/batch/v1/namespaces/cron/jobs").json["items"]
                                    if fx.cond(j, "Complete")]) <= 1, timeout=10, what="history cleanup")

    def test_forbid_suspend_and_missed_deadline(self):
        with K3sim(speed=1.0) as k:
            k.post("/api/v1/namespaces", fx.namespace("cron2"))
            k.control("config", job_seconds=600)
            cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "slow"},
                  "spec": {"schedule": "*/5 * * * *", "concurrencyPolicy": "Forbid",
                           "jobTemplate": {"spec": {"template": {"spec": {
                               "restartPolicy": "Never", "securityContext": fx.POD_SC,
                               "containers": [fx.container()]}}}}}}
            self.assertEqual(k.post("/apis/batch/v1/namespaces/cron2/cronjobs", cj).status, 201)
            k.control("advance", seconds=301)
            c = k.wait_for(lambda: (lambda o: o if (o.get("status") or {}).get("active") else None)(
                k.get("/apis/batch/v1/namespaces/cron2/cronjobs/slow").json), timeout=10, what="first run")
            self.assertEqual(len(c["status"]["active"]), 1)
            k.control("advance", seconds=300)
            k.wait_for(lambda: fx.events(k, "cron2", "JobAlreadyActive"), timeout=10, what="JobAlreadyActive")
            self.assertEqual(len(k.get("/apis/batch/v1/namespaces/cron2/jobs").json["items"]), 1)
            # suspended: slots pass without jobs
            r = k.patch("/apis/batch/v1/namespaces/cron2/cronjobs/slow",
                        {"spec": {"suspend": True, "concurrencyPolicy": "Allow"}})
            self.assertEqual(r.status, 200, r.body)
            k.control("advance", seconds=600)
            k.wait_for(lambda: fx.events(k, "cron2", "JobAlreadyActive"), timeout=5)
            self.assertEqual(len(k.get("/apis/batch/v1/namespaces/cron2/jobs").json["items"]), 1)
            # a paused controller fires nothing; resumed, it runs the most recent missed slot once
            k.control("pause", controller="cronjob")
            k.patch("/apis/batch/v1/namespaces/cron2/cronjobs/slow", {"spec": {"suspend": False}})
            k.control("advance", seconds=300)
            self.assertEqual(len(k.get("/apis/batch/v1/namespaces/cron2/jobs").json["items"]), 1)
            k.control("resume", controller="cronjob")
            k.wait_for(lambda: len(k.get("/apis/batch/v1/namespaces/cron2/jobs").json["items"]) == 2, timeout=10,
                       what="missed slot run after resume")

    def test_bad_time_zone_and_schedule_events(self):
        """Objects the API server admitted (older versions validated less) get the controller's
        events; an API server that validates rejects them with 422 instead."""
        with K3sim(speed=1.0) as k:
            k.post("/api/v1/namespaces", fx.namespace("cron4"))
            cases = (("tz", {"schedule": "* * * * *", "timeZone": "Mars/Olympus"}, "UnknownTimeZone",
                      'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus'),
                     ("sched", {"schedule": "61 * * * *"}, "UnparseableSchedule",
                      'unparseable schedule: "61 * * * *" : end of range (61) above maximum (59): 61'))
            for name, extra, reason, message in cases:
                cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
                      "spec": dict(extra, jobTemplate={"spec": {"template": {"spec": {
                          "restartPolicy": "Never", "containers": [fx.container()]}}}})}
                r = k.post("/apis/batch/v1/namespaces/cron4/cronjobs", cj)
                with self.subTest(case=name):
                    if r.status == 422:
                        continue
                    self.assertEqual(r.status, 201, r.body)
                    evs = k.wait_for(lambda: fx.events(k, "cron4", reason) or None, timeout=5, what=reason)
                    self.assertEqual(evs[0]["message"], message)

    def test_too_many_missed_starts(self):
        with K3sim(speed=1.0) as k:
            k.post("/api/v1/namespaces", fx.namespace("cron3"))
            k.control("pause", controller="cronjob")
            cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "often"},
                  "spec": {"schedule": "* * * * *",
                           "jobTemplate": {"spec": {"template": {"spec": {
                               "restartPolicy": "Never", "securityContext": fx.POD_SC,
                               "containers": [fx.container()]}}}}}}
            self.assertEqual(k.post("/apis/batch/v1/namespaces/cron3/cronjobs", cj).status, 201)
            k.control("advance", seconds=3 * 3600)
            k.control("resume", controller="cronjob")
            ev = k.wait_for(lambda: fx.events(k, "cron3", "TooManyMissedTimes"), timeout=10, what="TooManyMissedTimes")
            self.assertEqual(ev[0]["type"], "Warning")
            k.wait_for(lambda: len(k.get("/apis/batch/v1/namespaces/cron3/jobs").json["items"]) == 1, timeout=10,
                       what="one job for the most recent slot")


if __name__ == "__main__":
    unittest.main()
