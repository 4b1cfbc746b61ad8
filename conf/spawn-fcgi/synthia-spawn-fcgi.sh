#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# synthia-spawn-fcgi.sh - start the synthia FastCGI pool with spawn-fcgi(1),
# for hosts without systemd (or web servers that are used to spawn-fcgi).
#
# spawn-fcgi creates the socket and hands it to synthia as fd 0; synthia
# sees a listening socket on fd 0 and serves on it (server.listen in
# synthia.conf is not used then).  Two styles:
#
#   pool  one synthia master with N responders (recommended).  The master
#         respawns a responder that dies, recycles responders after
#         server.max_requests, ends requests that run past
#         server.request_timeout, reloads on SIGHUP, drains on SIGTERM.
#           spawn-fcgi -s SOCKET -- synthia serve --workers N --config CONF
#
#   fork  N independent responders forked by spawn-fcgi itself, no master
#         (`--workers 0`).  Nothing replaces a responder that dies, and
#         there is no request timeout or graceful reload: use it only under
#         a supervisor that restarts the whole group.
#           spawn-fcgi -s SOCKET -F N -- synthia serve --workers 0 --config CONF
#
# Usage:
#   synthia-spawn-fcgi.sh start [pool|fork] [N]   (default: pool 4)
#   synthia-spawn-fcgi.sh stop                    SIGTERM, wait, SIGKILL
#   synthia-spawn-fcgi.sh reload                  SIGHUP (pool style only)
#
# Settings (environment; the defaults are the installed paths):
#   SYNTHIA_BIN     the synthia binary          (@sbindir@/synthia)
#   SYNTHIA_CONFIG  its configuration file      (@sysconfdir@/synthia/synthia.conf)
#   SOCKET          the FastCGI socket          (/run/synthia/fcgi.sock)
#   SOCKET_MODE     its mode                    (0660)
#   SOCKET_OWNER    owner:group of the socket   (synthia:www-data; only
#                                                as root, empty: leave it)
#   RUN_AS          user:group of the processes (synthia:synthia; only as
#                                                root, empty: stay root)
#   PIDFILE         pids of what was started    (/run/synthia/spawn-fcgi.pid)
#   LOG             where synthia's log lines go: syslog (through
#                   logger(1) to syslog/journald as "synthia"), a file
#                   (appended to; as root its directory is created for
#                   RUN_AS), or empty: nowhere.  Default: syslog when
#                   /dev/log exists and logger(1) is installed, else
#                   /var/log/synthia/synthia.log (containers and minimal
#                   hosts have no syslog daemon: lines sent there would be
#                   lost).  `start` says which.
#   STOP_TIMEOUT    seconds to wait on stop     (40: a little over the
#                                                drain timeout)
#
# spawn-fcgi points the children's stdout and stderr at /dev/null, and
# synthia logs JSON lines on stderr: that is why this script wraps synthia
# in a shell that redirects stderr (the shell execs synthia, so the pid
# file still holds synthia's pid).
#
# The web server's user (www-data on Debian) must be able to connect to
# SOCKET; the web-server examples next to this file point at
# /run/synthia/fcgi.sock.

set -eu

SYNTHIA_BIN=${SYNTHIA_BIN:-@sbindir@/synthia}
SYNTHIA_CONFIG=${SYNTHIA_CONFIG:-@sysconfdir@/synthia/synthia.conf}
SOCKET=${SOCKET:-/run/synthia/fcgi.sock}
SOCKET_MODE=${SOCKET_MODE:-0660}
SOCKET_OWNER=${SOCKET_OWNER-synthia:www-data}
RUN_AS=${RUN_AS-synthia:synthia}
PIDFILE=${PIDFILE:-/run/synthia/spawn-fcgi.pid}
if [ -z "${LOG+set}" ]; then
    if [ -S /dev/log ] && command -v logger >/dev/null 2>&1; then
        LOG=syslog
    else
        LOG=/var/log/synthia/synthia.log
    fi
fi
STOP_TIMEOUT=${STOP_TIMEOUT:-40}

die() { echo "synthia-spawn-fcgi: $*" >&2; exit 1; }

alive() { # any pid of the pid file still running?
    [ -s "$PIDFILE" ] || return 1
    for p in $(cat "$PIDFILE"); do
        kill -0 "$p" 2>/dev/null && return 0
    done
    return 1
}

start() {
    style=${1:-pool}
    n=${2:-4}
    [ -x "$SYNTHIA_BIN" ] || die "no executable $SYNTHIA_BIN (set SYNTHIA_BIN)"
    alive && die "already running (pids in $PIDFILE)"
    mkdir -p "$(dirname "$SOCKET")" "$(dirname "$PIDFILE")"
    rm -f "$SOCKET"
    # Privileges: spawn-fcgi binds as root, sets the socket's owner and
    # group, then runs synthia as an unprivileged user.
    priv=""
    if [ "$(id -u)" = 0 ]; then
        [ -n "$SOCKET_OWNER" ] &&
            priv="-U ${SOCKET_OWNER%%:*} -G ${SOCKET_OWNER#*:}"
        [ -n "$RUN_AS" ] &&
            priv="$priv -u ${RUN_AS%%:*} -g ${RUN_AS#*:}"
    fi
    case $style in
    pool) forks=1 workers=$n ;;
    fork) forks=$n workers=0 ;; # spawn-fcgi writes one pid per child
    *) die "unknown style '$style' (pool or fork)" ;;
    esac
    # spawn-fcgi execs its program without a PATH search: absolute paths.
    set -- "$SYNTHIA_BIN" serve --workers "$workers" --config "$SYNTHIA_CONFIG"
    case $LOG in
    syslog)
        echo "synthia-spawn-fcgi: logging to syslog (tag synthia)"
        set -- "$(command -v bash)" -c \
            'exec 2> >(exec logger -t synthia -p daemon.info); exec "$0" "$@"' \
            "$@"
        ;;
    "") echo "synthia-spawn-fcgi: LOG is empty: synthia's log lines are dropped" ;;
    *)
        logdir=$(dirname "$LOG")
        if [ ! -d "$logdir" ]; then
            mkdir -p "$logdir"
            chmod 0750 "$logdir"
            if [ "$(id -u)" = 0 ] && [ -n "$RUN_AS" ]; then
                chown "$RUN_AS" "$logdir"
            fi
        fi
        echo "synthia-spawn-fcgi: logging to $LOG"
        SYNTHIA_SPAWN_LOG=$LOG
        export SYNTHIA_SPAWN_LOG
        set -- "$(command -v sh)" -c 'exec "$0" "$@" 2>>"$SYNTHIA_SPAWN_LOG"' "$@"
        ;;
    esac
    # shellcheck disable=SC2086
    spawn-fcgi -s "$SOCKET" -M "$SOCKET_MODE" $priv -F "$forks" \
        -P "$PIDFILE" -- "$@"
}

stop() {
    [ -s "$PIDFILE" ] || { echo "synthia-spawn-fcgi: not running"; return 0; }
    pids=$(cat "$PIDFILE")
    # SIGTERM: a master drains its responders; a --workers 0 responder
    # finishes its request in flight.
    for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
    t=0
    while alive && [ "$t" -lt $((STOP_TIMEOUT * 5)) ]; do
        sleep 0.2
        t=$((t + 1))
    done
    if alive; then
        for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    fi
    rm -f "$PIDFILE" "$SOCKET"
}

case ${1:-} in
start) shift; start "$@" ;;
stop) stop ;;
reload)
    # Only a master reloads; in fork style restart the group instead.
    [ -s "$PIDFILE" ] || die "not running"
    for p in $(cat "$PIDFILE"); do kill -HUP "$p"; done
    ;;
*)
    sed -n '3,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
    ;;
esac
