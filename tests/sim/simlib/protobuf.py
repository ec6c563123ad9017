"""Decoding of Kubernetes protobuf request bodies (application/vnd.kubernetes.protobuf) into
the JSON form, for the kinds clients send that way: kubectl's typed clients (create job
--from=cronjob/X, create namespace/configmap/secret/serviceaccount) encode built-in kinds
as protobuf. Field numbers follow k8s.io/api's generated.proto; a field this table does not
know is refused with 415 rather than dropped silently.

Field notation: "name:type" with prefixes "*" pointer in Go (a zero value is kept),
"[]" repeated, "^" embedded (its fields are inlined in JSON). Types: string int bool bytes
time quantity intstr, map<string>, map<bytes>, map<quantity>, or a message name. Go writes
every non-pointer field, so zero values of non-pointer fields are dropped as JSON's
omitempty would."""
import base64
import datetime

from . import errors

MAGIC = b"k8s\x00"

M = {
    "Unknown": {1: "typeMeta:TypeMeta", 2: "raw:bytes", 3: "contentEncoding:string", 4: "contentType:string"},
    "TypeMeta": {1: "apiVersion:string", 2: "kind:string"},
    # meta/v1
    "ObjectMeta": {1: "name:string", 2: "generateName:string", 3: "namespace:string", 4: "selfLink:string",
                   5: "uid:string", 6: "resourceVersion:string", 7: "generation:int", 8: "creationTimestamp:time",
                   9: "*deletionTimestamp:time", 10: "*deletionGracePeriodSeconds:int", 11: "labels:map<string>",
                   12: "annotations:map<string>", 13: "[]ownerReferences:OwnerReference",
                   14: "[]finalizers:string", 17: "[]managedFields:Skip"},
    "OwnerReference": {1: "kind:string", 3: "name:string", 4: "uid:string", 5: "apiVersion:string",
                       6: "*controller:bool", 7: "*blockOwnerDeletion:bool"},
    "LabelSelector": {1: "matchLabels:map<string>", 2: "[]matchExpressions:LabelSelectorRequirement"},
    "LabelSelectorRequirement": {1: "key:string", 2: "operator:string", 3: "[]values:string"},
    "Skip": {},
    # batch/v1
    "Job": {1: "metadata:ObjectMeta", 2: "spec:JobSpec", 3: "status:Skip"},
    "JobSpec": {1: "*parallelism:int", 2: "*completions:int", 3: "*activeDeadlineSeconds:int",
                4: "*selector:LabelSelector", 5: "*manualSelector:bool", 6: "template:PodTemplateSpec",
                7: "*backoffLimit:int", 8: "*ttlSecondsAfterFinished:int", 9: "*completionMode:string",
                10: "*suspend:bool", 11: "*podFailurePolicy:PodFailurePolicy", 12: "*backoffLimitPerIndex:int",
                13: "*maxFailedIndexes:int", 14: "*podReplacementPolicy:string", 15: "*managedBy:string",
                16: "*successPolicy:SuccessPolicy"},
    "PodFailurePolicy": {1: "[]rules:PodFailurePolicyRule"},
    "PodFailurePolicyRule": {1: "action:string", 2: "*onExitCodes:PodFailurePolicyOnExitCodesRequirement",
                             3: "[]onPodConditions:PodFailurePolicyOnPodConditionsPattern"},
    "PodFailurePolicyOnExitCodesRequirement": {1: "*containerName:string", 2: "operator:string",
                                               3: "[]values:int"},
    "PodFailurePolicyOnPodConditionsPattern": {1: "type:string", 2: "status:string"},
    "SuccessPolicy": {1: "[]rules:SuccessPolicyRule"},
    "SuccessPolicyRule": {1: "*succeededIndexes:string", 2: "*succeededCount:int"},
    "CronJob": {1: "metadata:ObjectMeta", 2: "spec:CronJobSpec", 3: "status:Skip"},
    "CronJobSpec": {1: "schedule:string", 2: "*startingDeadlineSeconds:int", 3: "concurrencyPolicy:string",
                    4: "*suspend:bool", 5: "jobTemplate:JobTemplateSpec", 6: "*successfulJobsHistoryLimit:int",
                    7: "*failedJobsHistoryLimit:int", 8: "*timeZone:string"},
    "JobTemplateSpec": {1: "metadata:ObjectMeta", 2: "spec:JobSpec"},
    # apps/v1
    "Deployment": {1: "metadata:ObjectMeta", 2: "spec:DeploymentSpec", 3: "status:Skip"},
    "DeploymentSpec": {1: "*replicas:int", 2: "*selector:LabelSelector", 3: "template:PodTemplateSpec",
                       4: "strategy:DeploymentStrategy", 5: "minReadySeconds:int", 6: "*revisionHistoryLimit:int",
                       7: "paused:bool", 9: "*progressDeadlineSeconds:int"},
    "DeploymentStrategy": {1: "type:string", 2: "*rollingUpdate:RollingUpdateDeployment"},
    "RollingUpdateDeployment": {1: "*maxUnavailable:intstr", 2: "*maxSurge:intstr"},
    # core/v1
    "Namespace": {1: "metadata:ObjectMeta", 2: "spec:NamespaceSpec", 3: "status:Skip"},
    "NamespaceSpec": {1: "[]finalizers:string"},
    "ConfigMap": {1: "metadata:ObjectMeta", 2: "data:map<string>", 3: "binaryData:map<bytes>",
                  4: "*immutable:bool"},
    "Secret": {1: "metadata:ObjectMeta", 2: "data:map<bytes>", 3: "type:string", 4: "stringData:map<string>",
               5: "*immutable:bool"},
    "ServiceAccount": {1: "metadata:ObjectMeta", 2: "[]secrets:ObjectReference",
                       3: "[]imagePullSecrets:LocalObjectReference", 4: "*automountServiceAccountToken:bool"},
    "ObjectReference": {1: "kind:string", 2: "namespace:string", 3: "name:string", 4: "uid:string",
                        5: "apiVersion:string", 6: "resourceVersion:string", 7: "fieldPath:string"},
    "PodTemplateSpec": {1: "metadata:ObjectMeta", 2: "spec:PodSpec"},
    "PodSpec": {1: "[]volumes:Volume", 2: "[]containers:Container", 3: "restartPolicy:string",
                4: "*terminationGracePeriodSeconds:int", 5: "*activeDeadlineSeconds:int", 6: "dnsPolicy:string",
                7: "nodeSelector:map<string>", 8: "serviceAccountName:string", 9: "serviceAccount:string",
                10: "nodeName:string", 11: "hostNetwork:bool", 12: "hostPID:bool", 13: "hostIPC:bool",
                14: "*securityContext:PodSecurityContext", 15: "[]imagePullSecrets:LocalObjectReference",
                16: "hostname:string", 17: "subdomain:string", 18: "*affinity:Affinity",
                19: "schedulerName:string", 20: "[]initContainers:Container",
                21: "*automountServiceAccountToken:bool", 22: "[]tolerations:Toleration",
                23: "[]hostAliases:HostAlias", 24: "priorityClassName:string", 25: "*priority:int",
                26: "*dnsConfig:PodDNSConfig", 27: "*shareProcessNamespace:bool",
                28: "[]readinessGates:PodReadinessGate", 29: "*runtimeClassName:string",
                30: "*enableServiceLinks:bool", 31: "*preemptionPolicy:string", 32: "overhead:map<quantity>",
                33: "[]topologySpreadConstraints:TopologySpreadConstraint", 35: "*setHostnameAsFQDN:bool",
                36: "*os:PodOS", 37: "*hostUsers:bool", 38: "[]schedulingGates:PodSchedulingGate"},
    "PodOS": {1: "name:string"},
    "PodSchedulingGate": {1: "name:string"},
    "PodReadinessGate": {1: "conditionType:string"},
    "HostAlias": {1: "ip:string", 2: "[]hostnames:string"},
    "PodDNSConfig": {1: "[]nameservers:string", 2: "[]searches:string", 3: "[]options:PodDNSConfigOption"},
    "PodDNSConfigOption": {1: "name:string", 2: "*value:string"},
    "TopologySpreadConstraint": {1: "maxSkew:int", 2: "topologyKey:string", 3: "whenUnsatisfiable:string",
                                 4: "*labelSelector:LabelSelector", 5: "*minDomains:int",
                                 6: "*nodeAffinityPolicy:string", 7: "*nodeTaintsPolicy:string",
                                 8: "[]matchLabelKeys:string"},
    "Toleration": {1: "key:string", 2: "operator:string", 3: "value:string", 4: "effect:string",
                   5: "*tolerationSeconds:int"},
    "Affinity": {1: "*nodeAffinity:NodeAffinity", 2: "*podAffinity:PodAffinity",
                 3: "*podAntiAffinity:PodAffinity"},
    "NodeAffinity": {1: "*requiredDuringSchedulingIgnoredDuringExecution:NodeSelector",
                     2: "[]preferredDuringSchedulingIgnoredDuringExecution:PreferredSchedulingTerm"},
    "NodeSelector": {1: "[]nodeSelectorTerms:NodeSelectorTerm"},
    "NodeSelectorTerm": {1: "[]matchExpressions:NodeSelectorRequirement",
                         2: "[]matchFields:NodeSelectorRequirement"},
    "NodeSelectorRequirement": {1: "key:string", 2: "operator:string", 3: "[]values:string"},
    "PreferredSchedulingTerm": {1: "weight:int", 2: "preference:NodeSelectorTerm"},
    "PodAffinity": {1: "[]requiredDuringSchedulingIgnoredDuringExecution:PodAffinityTerm",
                    2: "[]preferredDuringSchedulingIgnoredDuringExecution:WeightedPodAffinityTerm"},
    "PodAffinityTerm": {1: "*labelSelector:LabelSelector", 2: "[]namespaces:string", 3: "topologyKey:string",
                        4: "*namespaceSelector:LabelSelector", 5: "[]matchLabelKeys:string",
                        6: "[]mismatchLabelKeys:string"},
    "WeightedPodAffinityTerm": {1: "weight:int", 2: "podAffinityTerm:PodAffinityTerm"},
    "PodSecurityContext": {1: "*seLinuxOptions:SELinuxOptions", 2: "*runAsUser:int", 3: "*runAsNonRoot:bool",
                           4: "[]supplementalGroups:int", 5: "*fsGroup:int", 6: "*runAsGroup:int",
                           7: "[]sysctls:Sysctl", 8: "*windowsOptions:WindowsSecurityContextOptions",
                           9: "*fsGroupChangePolicy:string", 10: "*seccompProfile:SeccompProfile",
                           11: "*appArmorProfile:AppArmorProfile", 12: "*supplementalGroupsPolicy:string",
                           13: "*seLinuxChangePolicy:string"},
    "Sysctl": {1: "name:string", 2: "value:string"},
    "SELinuxOptions": {1: "user:string", 2: "role:string", 3: "type:string", 4: "level:string"},
    "WindowsSecurityContextOptions": {1: "*gmsaCredentialSpecName:string", 2: "*gmsaCredentialSpec:string",
                                      3: "*runAsUserName:string", 4: "*hostProcess:bool"},
    "SeccompProfile": {1: "type:string", 2: "*localhostProfile:string"},
    "AppArmorProfile": {1: "type:string", 2: "*localhostProfile:string"},
    "Container": {1: "name:string", 2: "image:string", 3: "[]command:string", 4: "[]args:string",
                  5: "workingDir:string", 6: "[]ports:ContainerPort", 7: "[]env:EnvVar",
                  8: "resources:ResourceRequirements", 9: "[]volumeMounts:VolumeMount", 10: "*livenessProbe:Probe",
                  11: "*readinessProbe:Probe", 12: "*lifecycle:Lifecycle", 13: "terminationMessagePath:string",
                  14: "imagePullPolicy:string", 15: "*securityContext:SecurityContext", 16: "stdin:bool",
                  17: "stdinOnce:bool", 18: "tty:bool", 19: "[]envFrom:EnvFromSource",
                  20: "terminationMessagePolicy:string", 21: "[]volumeDevices:VolumeDevice",
                  22: "*startupProbe:Probe", 23: "[]resizePolicy:ContainerResizePolicy",
                  24: "*restartPolicy:string"},
    "ContainerResizePolicy": {1: "resourceName:string", 2: "restartPolicy:string"},
    "ContainerPort": {1: "name:string", 2: "hostPort:int", 3: "containerPort:int", 4: "protocol:string",
                      5: "hostIP:string"},
    "EnvVar": {1: "name:string", 2: "value:string", 3: "*valueFrom:EnvVarSource"},
    "EnvVarSource": {1: "*fieldRef:ObjectFieldSelector", 2: "*resourceFieldRef:ResourceFieldSelector",
                     3: "*configMapKeyRef:ConfigMapKeySelector", 4: "*secretKeyRef:SecretKeySelector"},
    "ObjectFieldSelector": {1: "apiVersion:string", 2: "fieldPath:string"},
    "ResourceFieldSelector": {1: "containerName:string", 2: "resource:string", 3: "divisor:quantity"},
    "ConfigMapKeySelector": {1: "^:LocalObjectReference", 2: "key:string", 3: "*optional:bool"},
    "SecretKeySelector": {1: "^:LocalObjectReference", 2: "key:string", 3: "*optional:bool"},
    "EnvFromSource": {1: "prefix:string", 2: "*configMapRef:ConfigMapEnvSource", 3: "*secretRef:SecretEnvSource"},
    "ConfigMapEnvSource": {1: "^:LocalObjectReference", 2: "*optional:bool"},
    "SecretEnvSource": {1: "^:LocalObjectReference", 2: "*optional:bool"},
    "LocalObjectReference": {1: "name:string"},
    "ResourceRequirements": {1: "limits:map<quantity>", 2: "requests:map<quantity>", 3: "[]claims:ResourceClaim"},
    "ResourceClaim": {1: "name:string", 2: "request:string"},
    "VolumeMount": {1: "name:string", 2: "readOnly:bool", 3: "mountPath:string", 4: "subPath:string",
                    5: "*mountPropagation:string", 6: "subPathExpr:string", 7: "*recursiveReadOnly:string"},
    "VolumeDevice": {1: "name:string", 2: "devicePath:string"},
    "SecurityContext": {1: "*capabilities:Capabilities", 2: "*privileged:bool", 3: "*seLinuxOptions:SELinuxOptions",
                        4: "*runAsUser:int", 5: "*runAsNonRoot:bool", 6: "*readOnlyRootFilesystem:bool",
                        7: "*allowPrivilegeEscalation:bool", 8: "*runAsGroup:int", 9: "*procMount:string",
                        10: "*windowsOptions:WindowsSecurityContextOptions", 11: "*seccompProfile:SeccompProfile",
                        12: "*appArmorProfile:AppArmorProfile"},
    "Capabilities": {1: "[]add:string", 2: "[]drop:string"},
    "Probe": {1: "^:ProbeHandler", 2: "initialDelaySeconds:int", 3: "timeoutSeconds:int", 4: "periodSeconds:int",
              5: "successThreshold:int", 6: "failureThreshold:int", 7: "*terminationGracePeriodSeconds:int"},
    "ProbeHandler": {1: "*exec:ExecAction", 2: "*httpGet:HTTPGetAction", 3: "*tcpSocket:TCPSocketAction",
                     4: "*grpc:GRPCAction"},
    "Lifecycle": {1: "*postStart:LifecycleHandler", 2: "*preStop:LifecycleHandler", 3: "*stopSignal:string"},
    "LifecycleHandler": {1: "*exec:ExecAction", 2: "*httpGet:HTTPGetAction", 3: "*tcpSocket:TCPSocketAction",
                         4: "*sleep:SleepAction"},
    "SleepAction": {1: "seconds:int"},
    "ExecAction": {1: "[]command:string"},
    "HTTPGetAction": {1: "path:string", 2: "port:intstr", 3: "host:string", 4: "scheme:string",
                      5: "[]httpHeaders:HTTPHeader"},
    "HTTPHeader": {1: "name:string", 2: "value:string"},
    "TCPSocketAction": {1: "port:intstr", 2: "host:string"},
    "GRPCAction": {1: "port:int", 2: "*service:string"},
    "Volume": {1: "name:string", 2: "^:VolumeSource"},
    "VolumeSource": {1: "*hostPath:HostPathVolumeSource", 2: "*emptyDir:EmptyDirVolumeSource",
                     6: "*secret:SecretVolumeSource", 10: "*persistentVolumeClaim:PersistentVolumeClaimVolumeSource",
                     16: "*downwardAPI:DownwardAPIVolumeSource", 19: "*configMap:ConfigMapVolumeSource",
                     26: "*projected:ProjectedVolumeSource", 28: "*csi:CSIVolumeSource",
                     29: "*ephemeral:EphemeralVolumeSource"},
    "HostPathVolumeSource": {1: "path:string", 2: "*type:string"},
    "EmptyDirVolumeSource": {1: "medium:string", 2: "*sizeLimit:quantity"},
    "SecretVolumeSource": {1: "secretName:string", 2: "[]items:KeyToPath", 3: "*defaultMode:int",
                           4: "*optional:bool"},
    "ConfigMapVolumeSource": {1: "^:LocalObjectReference", 2: "[]items:KeyToPath", 3: "*defaultMode:int",
                              4: "*optional:bool"},
    "KeyToPath": {1: "key:string", 2: "path:string", 3: "*mode:int"},
    "PersistentVolumeClaimVolumeSource": {1: "claimName:string", 2: "readOnly:bool"},
    "DownwardAPIVolumeSource": {1: "[]items:DownwardAPIVolumeFile", 2: "*defaultMode:int"},
    "DownwardAPIVolumeFile": {1: "path:string", 2: "*fieldRef:ObjectFieldSelector",
                              3: "*resourceFieldRef:ResourceFieldSelector", 4: "*mode:int"},
    "ProjectedVolumeSource": {1: "[]sources:VolumeProjection", 2: "*defaultMode:int"},
    "VolumeProjection": {1: "*secret:SecretProjection", 2: "*downwardAPI:DownwardAPIProjection",
                         3: "*configMap:ConfigMapProjection", 4: "*serviceAccountToken:ServiceAccountTokenProjection"},
    "SecretProjection": {1: "^:LocalObjectReference", 2: "[]items:KeyToPath", 4: "*optional:bool"},
    "ConfigMapProjection": {1: "^:LocalObjectReference", 2: "[]items:KeyToPath", 4: "*optional:bool"},
    "DownwardAPIProjection": {1: "[]items:DownwardAPIVolumeFile"},
    "ServiceAccountTokenProjection": {1: "audience:string", 2: "*expirationSeconds:int", 3: "path:string"},
    "CSIVolumeSource": {1: "driver:string", 2: "*readOnly:bool", 3: "*fsType:string",
                        4: "volumeAttributes:map<string>", 5: "*nodePublishSecretRef:LocalObjectReference"},
    "EphemeralVolumeSource": {1: "*volumeClaimTemplate:PersistentVolumeClaimTemplate"},
    "PersistentVolumeClaimTemplate": {1: "metadata:ObjectMeta", 2: "spec:PersistentVolumeClaimSpec"},
    "PersistentVolumeClaimSpec": {1: "[]accessModes:string", 2: "resources:VolumeResourceRequirements",
                                  3: "volumeName:string", 4: "*selector:LabelSelector",
                                  5: "*storageClassName:string", 6: "*volumeMode:string"},
    "VolumeResourceRequirements": {1: "limits:map<quantity>", 2: "requests:map<quantity>"},
}

# kind -> top-level message, for the kinds kubectl's typed clients send as protobuf
# (kubectl create job|cronjob|deployment|namespace|configmap|secret|serviceaccount)
TOP = {"Job": "Job", "CronJob": "CronJob", "Deployment": "Deployment", "Namespace": "Namespace",
       "ConfigMap": "ConfigMap", "Secret": "Secret", "ServiceAccount": "ServiceAccount"}


class _Field:
    def __init__(self, spec):
        self.ptr = spec.startswith("*")
        spec = spec.lstrip("*")
        self.repeated = spec.startswith("[]")
        spec = spec[2:] if self.repeated else spec
        self.inline = spec.startswith("^")
        name, _, self.type = spec.lstrip("^").partition(":")
        self.name = name


_FIELDS = {m: {n: _Field(s) for n, s in fs.items()} for m, fs in M.items()}


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    """Yield (number, wiretype, value) of one message."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v = bytes(buf[i:i + n])
            if len(v) != n:
                raise ValueError("truncated field %d" % num)
            i += n
        elif wt == 1:
            v = int.from_bytes(buf[i:i + 8], "little")
            i += 8
        elif wt == 5:
            v = int.from_bytes(buf[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wt)
        yield num, wt, v


def _signed(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def _scalar(ftype, wt, v, path):
    if ftype == "string":
        return v.decode("utf-8")
    if ftype == "bytes":
        return base64.b64encode(v).decode()
    if ftype == "int":
        return _signed(v)
    if ftype == "bool":
        return bool(v)
    if ftype == "quantity":
        return decode_message("Quantity", v, path).get("string", "")
    if ftype == "time":
        t = {n: _signed(x) for n, _, x in _fields(v)}
        if not t.get(1):
            return None
        return datetime.datetime.fromtimestamp(t[1], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if ftype == "intstr":
        t = {}
        for n, _, x in _fields(v):
            t[n] = x
        return t.get(3, b"").decode() if t.get(1) == 1 else _signed(t.get(2, 0))
    raise ValueError("unknown scalar type " + ftype)


M["Quantity"] = {1: "string:string"}
_FIELDS["Quantity"] = {1: _Field("string:string")}


def _zero(v):
    return v is None or v == {} or (not isinstance(v, dict) and v in ("", 0, False))


def decode_message(name, buf, path=""):
    fields = _FIELDS[name]
    out = {}
    for num, wt, v in _fields(buf):
        f = fields.get(num)
        if f is None:
            if name == "Skip":
                continue
            raise errors.ApiError(415, "UnsupportedMediaType",
                                  "k3sim cannot decode protobuf field %d of %s (at %s); send this object as "
                                  "application/json" % (num, name, path or "/"))
        where = path + "/" + (f.name or name)
        if f.type == "Skip":
            continue
        if f.type.startswith("map<"):
            kv = {n: x for n, _, x in _fields(v)}
            out.setdefault(f.name, {})[kv.get(1, b"").decode()] = _scalar(f.type[4:-1], 2, kv.get(2, b""), where)
            continue
        if f.type in M and f.type != "Quantity":
            val = decode_message(f.type, v, where)
        elif f.type in ("int", "bool") and wt == 2:       # packed repeated scalars
            vals = []
            i = 0
            while i < len(v):
                x, i = _varint(v, i)
                vals.append(_signed(x) if f.type == "int" else bool(x))
            out.setdefault(f.name, []).extend(vals)
            continue
        else:
            val = _scalar(f.type, wt, v, where)
        if f.inline:
            out.update(val)
        elif f.repeated:
            out.setdefault(f.name, []).append(val)
        elif f.ptr or not _zero(val):
            out[f.name] = val
    return out


def decode(body, api_version, kind):
    """A protobuf request body -> the object as JSON would carry it."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("protobuf body without the k8s\\x00 prefix")
    try:
        env = decode_message("Unknown", body[len(MAGIC):])
        tm = env.get("typeMeta") or {}
        top = TOP.get(tm.get("kind") or kind)
        if top is None:
            raise errors.ApiError(415, "UnsupportedMediaType", "k3sim cannot decode protobuf %s; send it as "
                                  "application/json" % (tm.get("kind") or kind))
        raw = base64.b64decode(env.get("raw", ""))
        obj = decode_message(top, raw)
    except (ValueError, UnicodeDecodeError, KeyError) as e:
        raise errors.bad_request("invalid protobuf body: %s" % e)
    obj = {"apiVersion": tm.get("apiVersion") or api_version, "kind": tm.get("kind") or kind, **obj}
    return obj
