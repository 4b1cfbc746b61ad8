/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * listen.h - the FastCGI listening socket and systemd notification.
 */
#ifndef SYNTHIA_LISTEN_H
#define SYNTHIA_LISTEN_H

/* Find the listening socket, in this order: fd 0 when it is a listening
 * socket (spawn-fcgi, systemd StandardInput=socket), systemd LISTEN_FDS,
 * else bind spec ("unix:/path", "host:port", "[::1]:port").  A unix socket
 * bound here gets `mode` and sy_conf's listen_uid/listen_gid before
 * listen(), and its file is removed when this process exits (exit(3), not
 * _exit or a signal: a stale file is replaced at the next start).
 * Returns the fd, or a negative SY_E code with a log line. */
int sy_listen_socket(const char *spec, int mode, int backlog);

/* sd_notify(3) without libsystemd: send state ("READY=1", ...) to
 * $NOTIFY_SOCKET when it is set; silently nothing otherwise. */
void sy_notify(const char *state);

#endif
