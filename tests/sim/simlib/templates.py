"""The consul-template subset Vault Agent templates in this stack use:
{{ with secret "PATH" }} ... {{ end }}, {{ range $k, $v := .Data.data }} ... {{ end }},
{{ $k }}, {{ $v }}, {{ $v | replaceAll "OLD" "NEW" }}, {{ .Data.data.KEY }}, {{ .Data.KEY }},
and {{- / -}} trimming.  Pure."""
import json
import re

_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)


class TemplateError(ValueError):
    pass


def _tokens(text):
    out, pos = [], 0
    for m in _ACTION.finditer(text):
        out.append(("text", text[pos:m.start()]))
        out.append(("action", m.group(2), bool(m.group(1)), bool(m.group(3))))
        pos = m.end()
    out.append(("text", text[pos:]))
    # apply trim markers to the neighbouring text
    for i, tok in enumerate(out):
        if tok[0] != "action":
            continue
        if tok[2] and i > 0:
            out[i - 1] = ("text", out[i - 1][1].rstrip())
        if tok[3] and i + 1 < len(out):
            out[i + 1] = ("text", out[i + 1][1].lstrip())
    return out


def _parse(tokens, i, closers):
    nodes = []
    while i < len(tokens):
        tok = tokens[i]
        if tok[0] == "text":
            if tok[1]:
                nodes.append(("text", tok[1]))
            i += 1
            continue
        act = tok[1]
        if act in closers:
            return nodes, i
        m = re.fullmatch(r'with\s+secret\s+"([^"]+)"', act)
        if m:
            body, i = _parse(tokens, i + 1, ("end",))
            nodes.append(("with", m.group(1), body))
            i += 1
            continue
        m = re.fullmatch(r"range\s+\$(\w+)\s*,\s*\$(\w+)\s*:=\s*(\.[\w.]*)", act)
        if m:
            body, i = _parse(tokens, i + 1, ("end",))
            nodes.append(("range", m.group(1), m.group(2), m.group(3), body))
            i += 1
            continue
        # consul-template's replaceAll (the stack quotes values for the shell with it)
        m = re.fullmatch(r'\$(\w+)\s*\|\s*replaceAll\s+("(?:[^"\\]|\\.)*")\s+("(?:[^"\\]|\\.)*")', act)
        if m:
            nodes.append(("replace", m.group(1), json.loads(m.group(2)), json.loads(m.group(3))))
            i += 1
            continue
        m = re.fullmatch(r"\$(\w+)|(\.[\w.]*)", act)
        if m:
            nodes.append(("var", m.group(1)) if m.group(1) else ("field", m.group(2)))
            i += 1
            continue
        raise TemplateError('template: function or action "%s" not supported' % act)
    if closers:
        raise TemplateError("template: unexpected EOF")
    return nodes, i


def _field(dot, path):
    cur = dot
    for part in [p for p in path.split(".") if p]:
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _fmt(v):
    if isinstance(v, dict):
        return "map[" + " ".join("%s:%s" % (k, _fmt(v[k])) for k in sorted(v)) + "]"
    if v is None:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def render(text, read_secret):
    """read_secret(path) -> the secret's .Data (dict) or None; raises TemplateError on
    unsupported syntax and KeyError(path) for a secret that cannot be read."""
    nodes, _ = _parse(_tokens(text), 0, ())
    return _run(nodes, None, {}, read_secret)


def _run(nodes, dot, env, read_secret):
    out = []
    for n in nodes:
        if n[0] == "text":
            out.append(n[1])
        elif n[0] == "with":
            data = read_secret(n[1])
            if data is None:
                raise KeyError(n[1])
            out.append(_run(n[2], {"Data": data}, env, read_secret))
        elif n[0] == "range":
            coll = _field(dot, n[3]) or {}
            for k in sorted(coll):
                out.append(_run(n[4], dot, dict(env, **{n[1]: k, n[2]: coll[k]}), read_secret))
        elif n[0] in ("var", "replace"):
            if n[1] not in env:
                raise TemplateError("template: undefined variable: $%s" % n[1])
            text = _fmt(env[n[1]])
            out.append(text.replace(n[2], n[3]) if n[0] == "replace" else text)
        else:
            out.append(_fmt(_field(dot, n[1])))
    return "".join(out)


def export_keys(text):
    """Names in `export KEY=...` lines, sorted (what the demo agent reports)."""
    return sorted(set(re.findall(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=", text, re.M)))
