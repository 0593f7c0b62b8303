#!/usr/bin/env bash
# Rollcall conformance harness: scim2-tester, scim-sanity (strict) and the IdP transcripts,
# against a freshly started server with a throwaway database.
#
#   bash conformance/run.sh                      # SQLite file in a temp dir
#   bash conformance/run.sh postgres://postgres@127.0.0.1:5432/conformance_x
#                                                # a fresh, empty PostgreSQL database
#
# Environment:
#   ROLLCALL_BIN   use this binary instead of building target/release/rollcall
#   PYTHON         interpreter for the venv (default python3)
#   CONFORMANCE_SUITES  space-separated subset of "tester sanity transcripts" (default: all)
#
# Prints one summary line per suite (`<suite>: N passed, M failed`); exits non-zero if any
# suite failed or could not run. See conformance/README.md.

set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DB_ARG="${1:-}"
PYTHON="${PYTHON:-python3}"
SUITES="${CONFORMANCE_SUITES:-tester sanity transcripts}"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-conformance.XXXXXX")"
SERVER_PID=""
FAILED=0
SUMMARY=()

say() { printf '[conformance] %s\n' "$*"; }

stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for i in $(seq 1 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            say "server did not stop within 10 s of SIGTERM; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}

cleanup() {
    local rc=$?
    stop_server
    if (( rc != 0 )); then
        if [[ -s "$WORK/server.log" ]]; then
            say "last 60 lines of the server log ($WORK/server.log):"
            tail -n 60 "$WORK/server.log" | sed 's/^/    /'
        fi
        say "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    say "ERROR: $*"
    exit 1
}

# --------------------------------------------------------------------------- binary
if [[ -n "${ROLLCALL_BIN:-}" ]]; then
    BIN="$ROLLCALL_BIN"
else
    say "building the release binary (cargo build --release --bin rollcall)"
    (cd "$ROOT" && cargo build --release --bin rollcall) || die "cargo build failed"
    target="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ "$target" = /* ]] || target="$ROOT/$target"
    BIN="$target/release/rollcall"
fi
[[ -x "$BIN" ]] || die "no executable at $BIN"
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

# --------------------------------------------------------------------------- venv
VENV="$HERE/.venv"
STAMP="$VENV/.rollcall-stamp"
want="$(cat "$HERE/requirements.txt" "$HERE/constraints.txt" | sha256sum | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
if [[ ! -x "$VENV/bin/python" || "$(cat "$STAMP" 2>/dev/null)" != "$want" ]]; then
    say "installing the conformance tools into $VENV"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create the venv (python3 -m venv)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        -r "$HERE/requirements.txt" -c "$HERE/constraints.txt" || die "pip install failed"
    printf '%s\n' "$want" >"$STAMP"
fi
VPY="$VENV/bin/python"

# --------------------------------------------------------------------------- database, tenants, tokens
if [[ -z "$DB_ARG" ]]; then
    DB_URL="sqlite://$WORK/rollcall.db?mode=rwc"
    DB_KIND="sqlite"
else
    DB_URL="$DB_ARG"
    DB_KIND="${DB_URL%%:*}"
fi
export ROLLCALL_DATABASE_URL="$DB_URL"
say "database: $DB_KIND ($([[ $DB_KIND == sqlite ]] && echo "$DB_URL" || echo "${DB_URL%%\?*}"))"

"$BIN" migrate >"$WORK/migrate.log" 2>&1 || { cat "$WORK/migrate.log"; die "rollcall migrate failed"; }

declare -A TOKEN
for t in conformance conformance-tester conformance-sanity conformance-transcripts; do
    "$BIN" tenant create "$t" >>"$WORK/cli.log" 2>&1 || { cat "$WORK/cli.log"; die "rollcall tenant create $t failed"; }
    tok="$("$BIN" token create --tenant "$t" --scim --name "$t" 2>>"$WORK/cli.log")" \
        || { cat "$WORK/cli.log"; die "rollcall token create --tenant $t failed"; }
    tok="$(printf '%s\n' "$tok" | sed '/^[[:space:]]*$/d' | tail -n 1 | tr -d '[:space:]')"
    [[ -n "$tok" ]] || die "rollcall token create --tenant $t printed no secret"
    TOKEN[$t]="$tok"
done

# --------------------------------------------------------------------------- server
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT/scim/v2"
say "starting rollcall serve on 127.0.0.1:$PORT"
"$BIN" serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

http_status() { # url [token]
    "$PYTHON" - "$@" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(sys.argv[1])
if len(sys.argv) > 2:
    req.add_header("Authorization", "Bearer " + sys.argv[2])
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)
PY
}

ready=0
deadline=$((SECONDS + 30))
while (( SECONDS < deadline )); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up"
    if command -v curl >/dev/null 2>&1; then
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/healthz" || true)"
    else
        code="$(http_status "http://127.0.0.1:$PORT/healthz")"
    fi
    if [[ "$code" == 200 ]]; then ready=1; break; fi
    sleep 0.2
done
(( ready )) || die "the server did not answer 200 on /healthz within 30 s"
say "server ready"

code="$(http_status "$BASE/Users?count=1" "${TOKEN[conformance]}")"
[[ "$code" == 200 ]] || die "authenticated GET $BASE/Users answered $code, expected 200 (is the token accepted?)"

# --------------------------------------------------------------------------- suites
record() { # suite rc summary-line
    SUMMARY+=("$3")
    (( $2 == 0 )) || FAILED=1
}

run_tester() {
    say "suite scim2-tester (scim2 test)"
    local log="$WORK/scim2-tester.log" rc out
    SCIM_CLI_HEADERS="Authorization: Bearer ${TOKEN[conformance-tester]}" \
        timeout 600 "$VENV/bin/scim2" --url "$BASE" test --verbose >"$log" 2>&1
    rc=$?
    out="$("$VPY" "$HERE/summarize.py" scim2-tester "$log" "$rc")"
    local src=$?
    printf '%s\n' "$out"
    record scim2-tester "$src" "$(printf '%s\n' "$out" | tail -n 1)"
}

run_sanity() {
    say "suite scim-sanity (probe --strict)"
    local out_json="$WORK/scim-sanity.json" rc out
    timeout 600 "$VENV/bin/scim-sanity" probe "$BASE" --token "${TOKEN[conformance-sanity]}" \
        --strict --json-output --i-accept-side-effects --timeout 30 >"$out_json" 2>"$WORK/scim-sanity.stderr"
    rc=$?
    out="$("$VPY" "$HERE/summarize.py" scim-sanity "$out_json" "$rc")"
    local src=$?
    printf '%s\n' "$out"
    if (( src != 0 )) && [[ -s "$WORK/scim-sanity.stderr" ]]; then
        tail -n 10 "$WORK/scim-sanity.stderr" | sed 's/^/    stderr: /'
    fi
    record scim-sanity "$src" "$(printf '%s\n' "$out" | tail -n 1)"
}

run_transcripts() {
    say "suite transcripts (conformance/transcripts/*.json)"
    local out src
    out="$(timeout 600 "$VPY" "$HERE/transcripts.py" --base "$BASE" --token "${TOKEN[conformance-transcripts]}" 2>&1)"
    src=$?
    printf '%s\n' "$out"
    local last
    last="$(printf '%s\n' "$out" | tail -n 1)"
    if [[ "$last" != transcripts:* ]]; then
        last="transcripts: 0 passed, 1 failed"
        echo "$last"
        src=1
    fi
    record transcripts "$src" "$last"
}

for suite in $SUITES; do
    case "$suite" in
        tester) run_tester ;;
        sanity) run_sanity ;;
        transcripts) run_transcripts ;;
        *) die "unknown suite '$suite' in CONFORMANCE_SUITES" ;;
    esac
    kill -0 "$SERVER_PID" 2>/dev/null || { FAILED=1; say "the server died during suite $suite"; break; }
done

stop_server

echo
say "summary ($DB_KIND):"
for line in "${SUMMARY[@]}"; do
    echo "  $line"
done
exit "$FAILED"
