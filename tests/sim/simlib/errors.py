"""Kubernetes API errors as real `Status` objects (k8s.io/apimachinery api/errors)."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason}
        if self.details:
            st["details"] = self.details
        st["code"] = self.code
        return st


def _details(resource, name, group=""):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    return d


def qualified(resource, group):
    return resource + "." + group if group else resource


def not_found(resource, name, group=""):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(resource, group), name),
                    _details(resource, name, group))


def already_exists(resource, name, group=""):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(resource, group), name),
                    _details(resource, name, group))


def conflict(resource, name, group, why):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (qualified(resource, group), name, why), _details(resource, name, group))


def modified(resource, name, group=""):
    return conflict(resource, name, group, "the object has been modified; please apply your "
                    "changes to the latest version and try again")


def invalid(kind, name, group, causes):
    """causes: list of (field, reason, detail) such as ("metadata.name", "FieldValueRequired",
    "Required value: name or generateName is required")."""
    msgs = ["%s: %s" % (f, d) for f, _, d in causes]
    text = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    d = {"name": name, "group": group, "kind": kind,
         "causes": [{"reason": r, "message": d, "field": f} for f, r, d in causes]}
    if not name:
        del d["name"]
    if not group:
        del d["group"]
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified(kind, group), name, text), d)


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def forbidden(resource, name, group, why, causes=None):
    d = _details(resource, name, group)
    if causes:
        d["causes"] = causes
    return ApiError(403, "Forbidden", '%s "%s" is forbidden: %s' % (qualified(resource, group), name, why), d)


def method_not_allowed(verb):
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                    None)


def expired(message):
    return ApiError(410, "Expired", message)


def gone(message):
    return ApiError(410, "Gone", message)


def unavailable(message="the server is currently unable to handle the request"):
    return ApiError(503, "ServiceUnavailable", message)


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: " + message)


def unsupported_media(ctype):
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                    "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml, application/strategic-merge-patch+json"
                    if ctype is None else "%s is unsupported" % ctype)


def not_acceptable():
    return ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json")
