#!/usr/bin/env python3
"""Replay recorded identity-provider transcripts against a running Rollcall server.

Each file in conformance/transcripts/ is a JSON object ``{"description": ..., "steps": [...]}``
(a bare list of steps is accepted too). Steps run in order; every step is one HTTP request and
its expectations. See conformance/README.md for the step format.

Usage:
    python3 conformance/transcripts.py --base http://127.0.0.1:8080/scim/v2 --token SECRET
        [--dir conformance/transcripts] [--only SUBSTRING] [-v]

Prints one line per failed step (with what differed), then the summary line
``transcripts: N passed, M failed`` counting steps. Exit status 1 if any step failed.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
VAR_RE = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
MISSING = object()


class Unresolved(Exception):
    """A {{variable}} had no value (usually because an earlier capture failed)."""


# --------------------------------------------------------------------------- substitution


def substitute(value, env):
    """Replace {{name}} in every string of a JSON value. A string that is exactly one
    placeholder takes the variable's value with its JSON type (so captured numbers stay
    numbers)."""
    if isinstance(value, str):
        whole = VAR_RE.fullmatch(value)
        if whole:
            name = whole.group(1)
            if name not in env:
                raise Unresolved(name)
            return env[name]

        def repl(m):
            name = m.group(1)
            if name not in env:
                raise Unresolved(name)
            v = env[name]
            return v if isinstance(v, str) else json.dumps(v)

        return VAR_RE.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {substitute(k, env): substitute(v, env) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- paths


def split_path(path):
    """A path is a list of keys, or a dotted string. Dotted strings may contain keys with
    dots (URNs such as urn:...:enterprise:2.0:User); resolve() handles that by trying the
    longest key that exists."""
    if isinstance(path, list):
        return [str(p) for p in path]
    return path.split(".")


def _dict_get(d, key, ci):
    if key in d:
        return d[key]
    if ci:
        low = key.lower()
        for k, v in d.items():
            if k.lower() == low:
                return v
    return MISSING


def resolve(value, segments, ci=False, fan_out=True):
    """All values found at the path. Lists fan out (every element is followed) unless the
    segment is an integer index. ci=True matches keys case-insensitively."""
    if not segments:
        return [value]
    if isinstance(value, list):
        seg = segments[0]
        if re.fullmatch(r"\d+", seg):
            idx = int(seg)
            return resolve(value[idx], segments[1:], ci, fan_out) if idx < len(value) else []
        if not fan_out:
            return []
        out = []
        for item in value:
            out.extend(resolve(item, segments, ci, fan_out))
        return out
    if isinstance(value, dict):
        # Longest key first, so "urn:...:2.0:User.manager" finds the URN key.
        for n in range(len(segments), 0, -1):
            key = ".".join(segments[:n])
            got = _dict_get(value, key, ci)
            if got is not MISSING:
                return resolve(got, segments[n:], ci, fan_out)
        return []
    return []


# --------------------------------------------------------------------------- matching


def _type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    return "object"


MATCHERS = {
    "$any": lambda a: True,
    "$string": lambda a: isinstance(a, str),
    "$nonempty": lambda a: isinstance(a, (str, list, dict)) and len(a) > 0,
    "$int": lambda a: isinstance(a, int) and not isinstance(a, bool),
    "$bool": lambda a: isinstance(a, bool),
    "$list": lambda a: isinstance(a, list),
    "$object": lambda a: isinstance(a, dict),
}


def short(v, limit=160):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def match(expected, actual, where, exact_lists, out):
    """Recursive subset match. Appends a description of every difference to out."""
    label = where or "(body)"
    if isinstance(expected, str) and expected.startswith(("$contains:", "$endswith:", "$ci:")):
        kind, text = expected[1:].split(":", 1)
        ok = isinstance(actual, str) and (
            (kind == "contains" and text in actual)
            or (kind == "endswith" and actual.endswith(text))
            or (kind == "ci" and actual.lower() == text.lower())
        )
        if not ok:
            out.append(f"{label}: expected {expected}, got {short(actual)}")
        return
    if isinstance(expected, str) and expected.startswith("$") and not expected.startswith("$$"):
        check = MATCHERS.get(expected)
        if check is None:
            out.append(f"{label}: unknown matcher {expected}")
        elif not check(actual):
            out.append(f"{label}: expected {expected}, got {short(actual)}")
        return
    if isinstance(expected, str) and expected.startswith("$$"):
        expected = expected[1:]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            out.append(f"{label}: expected an object, got {short(actual)}")
            return
        for key, exp in expected.items():
            if key not in actual:
                out.append(f"{where + '.' if where else ''}{key}: missing (expected {short(exp)})")
                continue
            match(exp, actual[key], f"{where + '.' if where else ''}{key}", exact_lists, out)
        return
    if isinstance(expected, list):
        if not isinstance(actual, list):
            out.append(f"{label}: expected a list, got {short(actual)}")
            return
        if exact_lists and len(expected) != len(actual):
            out.append(
                f"{label}: expected exactly {len(expected)} element(s), got {len(actual)}: {short(actual)}"
            )
            return
        used = set()
        for i, exp in enumerate(expected):
            found = False
            for j, act in enumerate(actual):
                if exact_lists and j in used:
                    continue
                probe = []
                match(exp, act, f"{label}[{j}]", exact_lists, probe)
                if not probe:
                    used.add(j)
                    found = True
                    break
            if not found:
                out.append(f"{label}: no element matches {short(exp)}; got {short(actual)}")
        return
    # Scalars: equal value and equal JSON type (1 is not true, "1" is not 1).
    if _type_name(expected) != _type_name(actual) or expected != actual:
        out.append(f"{label}: expected {short(expected)}, got {short(actual)}")


# --------------------------------------------------------------------------- HTTP


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def build_url(base, path, query):
    if "?" in path:
        p, q = path.split("?", 1)
    else:
        p, q = path, ""
    # Percent-encode what a real client would (spaces, quotes, brackets); keep what is
    # already encoded and the separators.
    q = urllib.parse.quote(q, safe="=&%/:,")
    if query:
        extra = urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        q = f"{q}&{extra}" if q else extra
    url = base.rstrip("/") + p
    return f"{url}?{q}" if q else url


def send(base, token, req, timeout):
    method = req.get("method", "GET").upper()
    url = build_url(base, req.get("path", "/"), req.get("query"))
    headers = {"Accept": SCIM_JSON + ", application/json"}
    auth = req.get("auth", "default")
    if auth == "default":
        headers["Authorization"] = f"Bearer {token}"
    elif auth == "none":
        pass
    elif isinstance(auth, str) and auth.startswith("bearer:"):
        headers["Authorization"] = "Bearer " + auth[len("bearer:") :]
    elif isinstance(auth, str) and auth.startswith("header:"):
        headers["Authorization"] = auth[len("header:") :]
    else:
        raise ValueError(f"unknown auth {auth!r}")
    data = None
    if "body" in req:
        data = json.dumps(req["body"]).encode()
        headers["Content-Type"] = SCIM_JSON
    elif "raw_body" in req:
        data = req["raw_body"].encode()
        headers["Content-Type"] = SCIM_JSON
    for k, v in (req.get("headers") or {}).items():
        # Replace case-insensitively so a step can override Content-Type/Accept.
        for existing in [h for h in headers if h.lower() == k.lower()]:
            del headers[existing]
        headers[k] = v
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with OPENER.open(request, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read(), url
    except urllib.error.HTTPError as err:
        body = err.read() if err.fp is not None else b""
        return err.code, err.headers, body, url


# --------------------------------------------------------------------------- checks


def media_type(value):
    return (value or "").split(";", 1)[0].strip().lower()


def check_header(name, expected, actual, out):
    if expected is None:
        if actual is not None:
            out.append(f"header {name}: expected absent, got {actual!r}")
        return
    if actual is None:
        out.append(f"header {name}: missing (expected {expected!r})")
        return
    if isinstance(expected, str) and expected in MATCHERS:
        if not MATCHERS[expected](actual):
            out.append(f"header {name}: expected {expected}, got {actual!r}")
        return
    if name.lower() == "content-type":
        if media_type(actual) != media_type(expected):
            out.append(f"header {name}: expected {expected!r}, got {actual!r}")
        return
    # Other headers: the expected text must occur in the actual value (e.g. a Location
    # ending in /Users/<id>).
    if str(expected) not in actual:
        out.append(f"header {name}: expected to contain {expected!r}, got {actual!r}")


def global_checks(status, headers, raw, body, out):
    """Rules every response must follow, whatever the step expects."""
    if raw.strip():
        ct = headers.get("Content-Type")
        if media_type(ct) != SCIM_JSON:
            out.append(f"response Content-Type must be {SCIM_JSON}, got {ct!r}")
        if body is MISSING:
            out.append(f"response body is not JSON: {raw[:200]!r}")
    if status >= 400:
        if body is MISSING or not isinstance(body, dict):
            out.append(f"error response {status} must carry a SCIM error body")
        else:
            if ERROR_URN not in (body.get("schemas") or []):
                out.append(f"error body must list schema {ERROR_URN}: {short(body)}")
            if body.get("status") != str(status):
                out.append(
                    f"error body status must be the string {str(status)!r}, got {short(body.get('status'))}"
                )
    if isinstance(body, dict):
        # Passwords are writeOnly/returned never; emails carry no `display` (the Entra
        # validator fails on it). Applies to resources and to list responses.
        for res in [body] + [r for r in body.get("Resources", []) if isinstance(r, dict)]:
            if resolve(res, ["password"], ci=True):
                out.append("response must never return password")
            if resolve(res, ["emails", "display"], ci=True):
                out.append("emails in responses must not carry display")


def run_step(step, env, base, token, timeout):
    """Runs one step. Returns a list of failure descriptions (empty = passed) and a short
    description of what came back."""
    problems = []
    try:
        req = substitute(step["request"], env)
        expect = substitute(step.get("expect", {}), env)
    except Unresolved as exc:
        return [f"variable {{{{{exc.args[0]}}}}} is not set (an earlier step failed)"], ""
    try:
        status, headers, raw, url = send(base, token, req, timeout)
    except Exception as exc:  # connection refused, timeout, ...
        return [f"request failed: {exc}"], ""
    text = raw.decode("utf-8", "replace")
    body = MISSING
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = MISSING
    got = f"{req.get('method', 'GET')} {url} -> {status} {text[:400]}"

    exp_status = expect.get("status")
    if exp_status is not None:
        allowed = exp_status if isinstance(exp_status, list) else [exp_status]
        if status not in allowed:
            problems.append(f"status: expected {exp_status}, got {status}")
    if status >= 500 and (exp_status is None or status not in (exp_status if isinstance(exp_status, list) else [exp_status])):
        problems.append("server error (5xx)")

    global_checks(status, headers, text, body, problems)

    for name, exp in (expect.get("headers") or {}).items():
        check_header(name, exp, headers.get(name), problems)

    if expect.get("empty_body") and text.strip():
        problems.append(f"expected an empty body, got {text[:200]!r}")

    if "body" in expect:
        if body is MISSING:
            problems.append("expected a JSON body, got none")
        else:
            match(expect["body"], body, "", bool(expect.get("exact_list")), problems)

    if body is not MISSING:
        for path in expect.get("absent", []):
            found = resolve(body, split_path(path), ci=True)
            if found:
                shown = path if isinstance(path, str) else ".".join(path)
                problems.append(f"{shown}: must be absent, got {short(found)}")
        for path, exp in (expect.get("count") or {}).items():
            found = resolve(body, split_path(path), fan_out=False)
            n = len(found[0]) if found and isinstance(found[0], list) else 0
            if n != exp:
                problems.append(f"{path}: expected {exp} element(s), got {n}")

    for var, path in (step.get("capture") or {}).items():
        found = resolve(body, split_path(path), fan_out=False) if body is not MISSING else []
        if path.lower().startswith("header:"):
            h = headers.get(path.split(":", 1)[1])
            found = [h] if h is not None else []
        if found:
            env[var] = found[0]
        else:
            env.pop(var, None)
            problems.append(f"capture {var}: nothing at {path}")

    distinct = expect.get("distinct")
    if distinct:
        values = [env.get(v, MISSING) for v in distinct]
        if MISSING in values:
            problems.append(f"distinct: not all of {distinct} were captured")
        elif len({json.dumps(v, sort_keys=True) for v in values}) != len(values):
            problems.append(f"distinct: values repeat across pages: {short(values)}")

    return problems, got


def lint(steps):
    """Every write must be followed by a GET that shows the stored state."""
    problems = []
    for i, step in enumerate(steps):
        method = step.get("request", {}).get("method", "GET").upper()
        if method not in WRITE_METHODS or step.get("followup") is False:
            continue
        nxt = steps[i + 1] if i + 1 < len(steps) else None
        if nxt is None or nxt.get("request", {}).get("method", "GET").upper() != "GET":
            problems.append(f"step {i + 1} ({step.get('name')}): a write must be followed by a GET step")
    return problems


def load(path):
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if isinstance(data, list):
        return {"description": "", "steps": data}
    return data


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2")
    ap.add_argument("--token", required=True, help="bearer token of a SCIM credential")
    ap.add_argument(
        "--dir",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "transcripts"),
        help="directory of *.json transcripts",
    )
    ap.add_argument("--only", help="run only files whose name contains this")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("-v", "--verbose", action="store_true", help="print every step")
    args = ap.parse_args(argv)

    files = sorted(f for f in os.listdir(args.dir) if f.endswith(".json"))
    if args.only:
        files = [f for f in files if args.only in f]
    if not files:
        print(f"no transcripts in {args.dir}", file=sys.stderr)
        print("transcripts: 0 passed, 1 failed")
        return 1

    passed = failed = 0
    for fname in files:
        try:
            doc = load(os.path.join(args.dir, fname))
        except (OSError, ValueError) as exc:
            print(f"FAIL {fname}: cannot load: {exc}")
            failed += 1
            continue
        steps = doc.get("steps", [])
        for problem in lint(steps):
            print(f"FAIL {fname}: {problem}")
            failed += 1
        rnd = uuid.uuid4().hex[:10]
        env = {"random": rnd, "RANDOM": rnd.upper(), "guid": str(uuid.uuid4()), "guid2": str(uuid.uuid4())}
        for n, step in enumerate(steps, 1):
            name = step.get("name", f"step {n}")
            problems, got = run_step(step, env, args.base, args.token, args.timeout)
            if problems:
                failed += 1
                print(f"FAIL {fname} #{n} {name}: " + "; ".join(problems) + (f"  || {got}" if got else ""))
            else:
                passed += 1
                if args.verbose:
                    print(f"ok   {fname} #{n} {name}")
    print(f"transcripts: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
