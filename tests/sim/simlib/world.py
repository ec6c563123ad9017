"""The simulated world behind the API server: admission plugins, controllers, the kubelet,
Vault emulators and the Vault Agent Injector.  The core calls install(sim) once."""
from . import admission, controllers, injector, kubelet


def install(sim):
    rt = kubelet.Runtime()
    node = kubelet.Kubelet(rt)
    # Built-in mutating plugins run before mutating webhooks; validating ones after.
    sim.add_admission("LimitRanger", admission.limit_ranger, True)
    sim.add_admission("MutatingAdmissionWebhook", injector.webhook_admission, True)
    sim.add_admission("PodSecurity", admission.pod_security, False)
    sim.add_admission("ResourceQuota", admission.resource_quota, False)
    for name, fn in (("crd", controllers.crd_controller),
                     ("persistentvolume-binder", controllers.volume_controller),
                     ("deployment", controllers.deployment_controller),
                     ("replicaset", controllers.replicaset_controller),
                     ("statefulset", controllers.statefulset_controller),
                     ("job", controllers.job_controller),
                     ("cronjob", controllers.cronjob_controller),
                     ("kubelet", node),
                     ("endpoints", controllers.endpoints_controller),
                     ("resourcequota", admission.quota_controller),
                     ("vault-agent-injector", injector.ca_bundle_controller)):
        sim.add_controller(name, fn)
    sim.add_pod_proxy(node.pod_proxy)
    sim.add_log_source(node.log_source)
    sim.on_pod_restart(node.restart)
    sim.on_boot(lambda s: _reboot(s, node))


def _reboot(sim, node):
    """The node came back: every running pod's containers start again (Vault sealed)."""
    for pod in sim.list("v1", "Pod"):
        node.restart(sim, pod)
