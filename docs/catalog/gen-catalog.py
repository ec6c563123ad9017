#!/usr/bin/env python3
"""Generate agentd's journald message catalog from include/msgid.h.

usage: gen-catalog.py [include/msgid.h] > docs/catalog/agentd.catalog

Each id in msgid.h is preceded by a comment whose first line is
"Subject: ..." and whose further lines explain the event; both go into the
catalog entry, so `journalctl -x` shows them. Exits non-zero, naming the
line, on an id without such a comment, a malformed or a duplicate id.
"""
import re
import sys

DEFINE = re.compile(r'^#define\s+(MSGID_[A-Z0-9_]+)\s+"([^"]*)"\s*$')
FOOTER = ("Run \"agentctl status\" for the current state and every check; "
          "the agentd(8) manual page and the operator's guide say what to do.")


def fail(path, lineno, what):
    sys.stderr.write(f"{path}:{lineno}: {what}\n")
    sys.exit(1)


def parse(path):
    entries, seen = [], {}
    comment, in_comment = None, False
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if in_comment:
            body = s[:-2] if s.endswith("*/") else s
            comment.append(body.lstrip("*").strip())
            in_comment = not s.endswith("*/")
            continue
        if s.startswith("/*"):
            body = s[2:]
            in_comment = not body.rstrip().endswith("*/")
            if not in_comment:
                body = body.rstrip()[:-2]
            comment = [body.strip()]
            continue
        m = DEFINE.match(s)
        if m:
            name, msgid = m.groups()
            if not re.fullmatch(r"[0-9a-f]{32}", msgid):
                fail(path, lineno, f"{name}: expected 32 lowercase hex digits, got \"{msgid}\"")
            if msgid in seen:
                fail(path, lineno, f"{name}: id {msgid} already used by {seen[msgid]}")
            text = [c for c in (comment or [])]
            if not text or not text[0].startswith("Subject:"):
                fail(path, lineno, f"{name}: expected a comment starting \"Subject:\" just above")
            subject = text[0][len("Subject:"):].strip()
            explanation = " ".join(t for t in text[1:] if t)
            entries.append((name, msgid, subject, explanation))
            seen[msgid] = name
            comment = None
        elif s and not s.startswith("#"):
            comment = None
    return entries


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "include/msgid.h"
    out = ["# agentd journald message catalog. Generated from include/msgid.h by",
           "# docs/catalog/gen-catalog.py; do not edit by hand.", ""]
    for name, msgid, subject, explanation in parse(path):
        out += [f"-- {msgid}",
                f"Subject: {subject}",
                "Defined-By: agentd",
                "Support: man:agentd(8)",
                "Documentation: man:agentd(8) man:agentctl(1)",
                "",
                f"{explanation}" if explanation else subject + ".",
                "",
                FOOTER,
                ""]
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
