#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite.
#
# Source this file, then:
#   pg_start            # starts a cluster, exports ROLLCALL_TEST_DATABASE_URL (and PG_TMP, PG_PORT)
#   pg_createdb NAME    # creates a database in it, prints its URL
#   pg_stop             # stops the cluster and deletes its directory (safe to call twice)
#
# Or run it directly to check the machine:  bash tests/pg.sh selftest
#
# The cluster lives in a mktemp directory, listens on 127.0.0.1 only (trust auth) on a free
# port, keeps its unix socket inside that directory, runs with fsync=off and
# max_connections=200. initdb refuses to run as root, so as root everything runs as the
# `postgres` system user, in a directory chowned to it.

PG_TMP=""
PG_PORT=""
PG_RUNAS=()

pg__find_bindir() {
    if [[ -n "${PG_BINDIR:-}" ]]; then
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    local d
    for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            printf '%s\n' "$d"
            return
        fi
    done
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    return 1
}

pg__free_port() {
    python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

pg__run() {
    "${PG_RUNAS[@]}" "$@"
}

pg_start() {
    local bindir
    if ! bindir="$(pg__find_bindir)"; then
        echo "pg.sh: no PostgreSQL server binaries (initdb, pg_ctl) found" >&2
        return 1
    fi
    PG_BINDIR="$bindir"

    PG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-pg.XXXXXX")"
    PG_RUNAS=()
    if [[ "$(id -u)" == 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "pg.sh: running as root but there is no 'postgres' user for initdb" >&2
            return 1
        fi
        chown postgres: "$PG_TMP"
        chmod 700 "$PG_TMP"
        if command -v runuser >/dev/null 2>&1; then
            PG_RUNAS=(runuser -u postgres --)
        else
            PG_RUNAS=(su postgres -s /bin/sh -c '"$0" "$@"')
        fi
    fi

    if ! pg__run "$bindir/initdb" -D "$PG_TMP/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C >"$PG_TMP/initdb.log" 2>&1; then
        echo "pg.sh: initdb failed:" >&2
        cat "$PG_TMP/initdb.log" >&2
        return 1
    fi

    local attempt
    for attempt in 1 2 3; do
        PG_PORT="$(pg__free_port)"
        if pg__run "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
            -o "-h 127.0.0.1 -p $PG_PORT -k $PG_TMP -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >"$PG_TMP/pg_ctl.log" 2>&1; then
            export PG_TMP PG_PORT PG_BINDIR
            export ROLLCALL_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
            return 0
        fi
        echo "pg.sh: pg_ctl start failed on port $PG_PORT (attempt $attempt)" >&2
        tail -n 20 "$PG_TMP/server.log" >&2 2>/dev/null || true
    done
    return 1
}

pg_psql() {
    # Runs psql against the cluster as the postgres superuser; extra arguments are passed on.
    local psql
    psql="$(command -v psql || echo "$PG_BINDIR/psql")"
    "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

pg_createdb() {
    local name="$1"
    pg_psql -c "CREATE DATABASE \"$name\"" >/dev/null || return 1
    printf 'postgres://postgres@127.0.0.1:%s/%s\n' "$PG_PORT" "$name"
}

pg_stop() {
    if [[ -n "$PG_TMP" && -d "$PG_TMP" ]]; then
        if [[ -f "$PG_TMP/data/postmaster.pid" ]]; then
            pg__run "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate -w -t 30 stop \
                >/dev/null 2>&1 || true
        fi
        rm -rf "$PG_TMP"
    fi
    PG_TMP=""
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-selftest}" in
        selftest)
            trap pg_stop EXIT
            pg_start
            echo "cluster: $ROLLCALL_TEST_DATABASE_URL (dir $PG_TMP)"
            pg_psql -t -A -c 'select 1'
            url="$(pg_createdb "selftest_$RANDOM")"
            echo "created: $url"
            psql -X -t -A "$url" -c 'select current_database()'
            ;;
        *)
            echo "usage: bash tests/pg.sh [selftest]" >&2
            exit 2
            ;;
    esac
fi
