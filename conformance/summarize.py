#!/usr/bin/env python3
"""Turn the output of the third-party conformance tools into Rollcall's summary lines.

    summarize.py scim2-tester LOGFILE EXITCODE
    summarize.py scim-sanity  JSONFILE EXITCODE

Prints one line per failed check, then exactly one summary line
(`scim2-tester: N passed, M failed` / `scim-sanity: N passed, M failed[, K skipped]`).
Exits 1 when anything failed or the tool could not run. Standard library only.

Counting (see conformance/README.md):
- scim2-tester: a check passes only with status SUCCESS; every other status (ERROR, CRITICAL,
  SKIPPED, and the advisory COMPLIANT/ACCEPTABLE/DEVIATION levels) is a failure. That is the
  rule `scim2 test` applies to its own exit code.
- scim-sanity (strict mode): `pass` passes; `fail`, `error` and `warn` fail (a warning in
  strict mode is a real deviation, e.g. count=0 not answering `Resources: []`); `skip` is
  reported as skipped (phases for resource types the server does not advertise, such as the
  agent extension).
"""

import json
import re
import sys

TESTER_STATUSES = ("SUCCESS", "COMPLIANT", "ACCEPTABLE", "DEVIATION", "ERROR", "CRITICAL", "SKIPPED")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def tester(path, rc):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = [ANSI.sub("", line.rstrip("\n")) for line in fh]
    except OSError as exc:
        print(f"  could not read {path}: {exc}")
        lines = []
    line_re = re.compile(r"^(%s) (.*)$" % "|".join(TESTER_STATUSES))
    results = []  # [status, title, [detail lines]]
    for line in lines:
        m = line_re.match(line)
        if m:
            results.append([m.group(1), m.group(2), []])
        elif line.startswith("  ") and results:
            results[-1][2].append(line.strip())
    passed = sum(1 for r in results if r[0] == "SUCCESS")
    failed = len(results) - passed
    for status, title, details in results:
        if status != "SUCCESS":
            detail = " | ".join(details)
            if len(detail) > 600:
                detail = detail[:597] + "..."
            print(f"  {status} {title}" + (f": {detail}" if detail else ""))
    broken = False
    if not results:
        broken = True
        print(f"  scim2-tester did not run (exit code {rc}); last lines of its output:")
        for line in lines[-15:]:
            print(f"    {line}")
    elif rc != 0 and failed == 0:
        broken = True
        print(f"  scim2 test exited {rc} although every parsed check succeeded; output:")
        for line in lines[-15:]:
            print(f"    {line}")
    if broken:
        failed += 1
    print(f"scim2-tester: {passed} passed, {failed} failed")
    return 1 if failed else 0


def sanity(path, rc):
    data = None
    raw = ""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
        start = raw.find("{")
        data = json.loads(raw[start:]) if start >= 0 else None
    except (OSError, ValueError) as exc:
        print(f"  could not parse scim-sanity JSON output: {exc}")
    if not isinstance(data, dict) or "results" not in data:
        print(f"  scim-sanity did not run (exit code {rc}); last lines of its output:")
        for line in raw.splitlines()[-15:]:
            print(f"    {line}")
        print("scim-sanity: 0 passed, 1 failed")
        return 1
    passed = failed = skipped = 0
    for r in data["results"]:
        status = r.get("status")
        if status == "pass":
            passed += 1
        elif status == "skip":
            skipped += 1
        else:
            failed += 1
            where = r.get("phase", "")
            msg = r.get("message", "")
            print(f"  {status.upper()} [{where}] {r.get('name')}" + (f": {msg}" if msg else ""))
    if rc != 0 and failed == 0:
        print(f"  scim-sanity probe exited {rc} although no check failed")
        failed += 1
    tail = f", {skipped} skipped" if skipped else ""
    print(f"scim-sanity: {passed} passed, {failed} failed{tail}")
    return 1 if failed else 0


def main(argv):
    if len(argv) != 4 or argv[1] not in ("scim2-tester", "scim-sanity"):
        print(__doc__, file=sys.stderr)
        return 2
    rc = int(argv[3])
    return tester(argv[2], rc) if argv[1] == "scim2-tester" else sanity(argv[2], rc)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
