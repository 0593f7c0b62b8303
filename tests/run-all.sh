#!/usr/bin/env bash
# The project's test command: bash tests/run-all.sh
#
# Stages, in order (every stage runs even when an earlier one failed, unless it depends on it):
#   fmt                    cargo fmt --all -- --check
#   clippy                 cargo clippy --workspace --all-targets -- -D warnings
#   tests (sqlite)         cargo nextest run --workspace   (cargo test if nextest is absent)
#   postgres               a throwaway PostgreSQL cluster (tests/pg.sh), unless
#                          ROLLCALL_TEST_DATABASE_URL is already set
#   tests (postgres)       the same tests with ROLLCALL_TEST_DATABASE_URL set
#   release build          cargo build --release --bin rollcall
#   conformance (sqlite)   conformance/run.sh
#   conformance (postgres) conformance/run.sh postgres://.../conformance_<random>
# Before the stages it makes sure Debian's chromium and chromium-driver are installed (the
# console's browser tests drive them; apt-get when run as root).
# Ends with a summary block and, as the very last line, `N passed, M failed` (stages).
#
# Environment: FUZZ_CASES (default 20000 here), ROLLCALL_TEST_DATABASE_URL (use an existing
# server instead of starting one), SKIP_STAGES (space-separated stage keys to skip:
# fmt clippy test-sqlite test-postgres conformance-sqlite conformance-postgres).

set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

# shellcheck source=tests/pg.sh
source "$ROOT/tests/pg.sh"

export FUZZ_CASES="${FUZZ_CASES:-20000}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
SKIP_STAGES=" ${SKIP_STAGES:-} "

EXTERNAL_PG_URL="${ROLLCALL_TEST_DATABASE_URL:-}"
unset ROLLCALL_TEST_DATABASE_URL
STARTED_PG=0
CONFORMANCE_DB=""

STAGE_NAMES=()
STAGE_RESULTS=()
STAGE_TIMES=()

cleanup() {
    local rc=$?
    if [[ -n "$CONFORMANCE_DB" && -n "$EXTERNAL_PG_URL" ]]; then
        psql -X -q "$EXTERNAL_PG_URL" -c "DROP DATABASE IF EXISTS \"$CONFORMANCE_DB\"" >/dev/null 2>&1 || true
    fi
    if (( STARTED_PG )); then
        pg_stop
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

banner() {
    printf '\n==================== %s ====================\n' "$*"
}

# stage KEY "Display name" command...
stage() {
    local key="$1" name="$2"
    shift 2
    if [[ "$SKIP_STAGES" == *" $key "* ]]; then
        banner "$name: skipped (SKIP_STAGES)"
        return 0
    fi
    banner "$name"
    local start=$SECONDS rc
    "$@"
    rc=$?
    STAGE_NAMES+=("$name")
    STAGE_TIMES+=("$((SECONDS - start))s")
    if (( rc == 0 )); then
        STAGE_RESULTS+=("PASS")
    else
        STAGE_RESULTS+=("FAIL (exit $rc)")
    fi
    return "$rc"
}

# A stage that could not run because something it needs failed.
stage_blocked() {
    local name="$1" why="$2"
    banner "$name: not run ($why)"
    STAGE_NAMES+=("$name")
    STAGE_TIMES+=("-")
    STAGE_RESULTS+=("FAIL (not run: $why)")
}

# The console's browser tests drive Debian's Chromium through chromedriver.
ensure_chromium() {
    if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
        return 0
    fi
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
        echo "chromium or chromedriver not found; installing chromium and chromium-driver"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
            || echo "warning: could not install chromium; the browser tests will fail"
    else
        echo "warning: chromium and chromium-driver are missing; the browser tests will fail"
    fi
}

run_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --no-fail-fast
    else
        echo "cargo-nextest not found; using cargo test"
        cargo test --workspace --no-fail-fast
    fi
}

run_tests_pg() {
    ROLLCALL_TEST_DATABASE_URL="$PG_URL" run_tests
}

start_pg() {
    if [[ -n "$EXTERNAL_PG_URL" ]]; then
        PG_URL="$EXTERNAL_PG_URL"
        echo "using ROLLCALL_TEST_DATABASE_URL from the environment"
        psql -X -q -t -A "$PG_URL" -c 'select version()'
        return
    fi
    if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
            echo "PostgreSQL server binaries not found; installing postgresql-15"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null \
                || return 1
        fi
    fi
    pg_start || return 1
    STARTED_PG=1
    PG_URL="$ROLLCALL_TEST_DATABASE_URL"
    unset ROLLCALL_TEST_DATABASE_URL
    echo "cluster at $PG_URL (data in $PG_TMP)"
    pg_psql -t -A -c 'select version()'
}

build_release() {
    cargo build --release --bin rollcall
}

conformance_sqlite() {
    ROLLCALL_BIN="$RELEASE_BIN" bash "$ROOT/conformance/run.sh"
}

conformance_pg() {
    CONFORMANCE_DB="conformance_$(date +%s)_$RANDOM"
    local url
    if (( STARTED_PG )); then
        url="$(pg_createdb "$CONFORMANCE_DB")" || return 1
    else
        psql -X -q -v ON_ERROR_STOP=1 "$PG_URL" -c "CREATE DATABASE \"$CONFORMANCE_DB\"" || return 1
        # Same server and credentials, other database: replace the path of the URL.
        url="$(python3 - "$PG_URL" "$CONFORMANCE_DB" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
PY
)"
    fi
    ROLLCALL_BIN="$RELEASE_BIN" bash "$ROOT/conformance/run.sh" "$url"
}

# --------------------------------------------------------------------------- stages
ensure_chromium
stage fmt "cargo fmt --check" cargo fmt --all -- --check
stage clippy "cargo clippy -D warnings" cargo clippy --workspace --all-targets -- -D warnings
stage test-sqlite "tests (sqlite)" run_tests

PG_OK=0
if [[ "$SKIP_STAGES" == *" test-postgres "* && "$SKIP_STAGES" == *" conformance-postgres "* ]]; then
    :
elif stage postgres "start PostgreSQL" start_pg; then
    PG_OK=1
fi
if (( PG_OK )); then
    stage test-postgres "tests (postgres)" run_tests_pg
elif [[ "$SKIP_STAGES" != *" test-postgres "* ]]; then
    stage_blocked "tests (postgres)" "PostgreSQL did not start"
fi

RELEASE_OK=0
if [[ "$SKIP_STAGES" == *" conformance-sqlite "* && "$SKIP_STAGES" == *" conformance-postgres "* ]]; then
    :
elif stage release "release build" build_release; then
    RELEASE_OK=1
    RELEASE_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall"
    [[ "$RELEASE_BIN" = /* ]] || RELEASE_BIN="$ROOT/$RELEASE_BIN"
fi
if (( RELEASE_OK )); then
    stage conformance-sqlite "conformance (sqlite)" conformance_sqlite
    if (( PG_OK )); then
        stage conformance-postgres "conformance (postgres)" conformance_pg
    elif [[ "$SKIP_STAGES" != *" conformance-postgres "* ]]; then
        stage_blocked "conformance (postgres)" "PostgreSQL did not start"
    fi
else
    [[ "$SKIP_STAGES" == *" conformance-sqlite "* ]] || stage_blocked "conformance (sqlite)" "release build failed"
    [[ "$SKIP_STAGES" == *" conformance-postgres "* ]] || stage_blocked "conformance (postgres)" "release build failed"
fi

# --------------------------------------------------------------------------- summary
passed=0
failed=0
banner "summary"
for i in "${!STAGE_NAMES[@]}"; do
    printf '  %-26s %-8s %s\n' "${STAGE_NAMES[$i]}" "${STAGE_TIMES[$i]}" "${STAGE_RESULTS[$i]}"
    if [[ "${STAGE_RESULTS[$i]}" == PASS ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
(( failed == 0 ))
