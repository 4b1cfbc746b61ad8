/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * listen.c - where the FastCGI socket comes from, and sd_notify.
 *
 * Sources in order (DESIGN.md): fd 0 when it is a listening socket
 * (spawn-fcgi, systemd StandardInput=socket), systemd's LISTEN_FDS, else a
 * socket we bind from server.listen / --listen.  A unix socket we bind
 * gets server.listen_mode, listen_owner and listen_group (as php-fpm's
 * listen.mode/owner/group) before it accepts anything, and is removed
 * again when the process that bound it exits.
 */
#include "synthia/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/str.h"

/* The unix socket this process bound, to unlink at exit: only that file
 * (same device and inode), and only from the process that bound it, not
 * from responders forked later (they leave with _exit anyway). */
static struct {
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev;
    ino_t ino;
    pid_t pid;
} bound;

static void
unlink_bound(void)
{
    struct stat st;
    if (bound.pid != getpid() || !bound.path[0])
        return;
    if (stat(bound.path, &st) == 0 && S_ISSOCK(st.st_mode) &&
        st.st_dev == bound.dev && st.st_ino == bound.ino)
        unlink(bound.path);
}

static void
remember_bound(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return;
    if (!bound.pid)
        atexit(unlink_bound);
    memcpy(bound.path, path, strlen(path) + 1);
    bound.dev = st.st_dev;
    bound.ino = st.st_ino;
    bound.pid = getpid();
}

/* server.listen_owner / listen_group on the socket file (-1: unchanged). */
static int
chown_socket(const char *path)
{
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;
    if (sy_conf && sy_conf->listen_uid >= 0)
        uid = (uid_t)sy_conf->listen_uid;
    if (sy_conf && sy_conf->listen_gid >= 0)
        gid = (gid_t)sy_conf->listen_gid;
    if (uid == (uid_t)-1 && gid == (gid_t)-1)
        return 0;
    if (chown(path, uid, gid) == 0)
        return 0;
    sy_log(SY_LOG_ERROR, "listen",
           "cannot give %s to server.listen_owner '%s' / listen_group '%s': "
           "%s (needs root, or a group that synthia's user is a member of)",
           path, sy_conf->listen_owner ? sy_conf->listen_owner : "",
           sy_conf->listen_group ? sy_conf->listen_group : "",
           strerror(errno));
    return SY_EIO;
}

static bool
is_listening_socket(int fd)
{
    int acc = 0;
    socklen_t len = sizeof(acc);
    return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 && acc;
}

/* systemd socket activation: LISTEN_PID must be us, first fd is 3. */
static int
systemd_socket(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int64_t p, n;
    if (!pid || !fds)
        return -1;
    if (sy_parse_i64(sy_str_c(pid), 1, INT32_MAX, &p) < 0 ||
        sy_parse_i64(sy_str_c(fds), 1, 64, &n) < 0 || p != getpid())
        return -1;
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (n > 1)
        sy_log(SY_LOG_WARN, "listen_fds",
               "systemd passed %lld sockets; using the first", (long long)n);
    if (!is_listening_socket(3)) {
        sy_log(SY_LOG_ERROR, "listen_fds", "fd 3 is not a listening socket");
        return SY_EIO;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    return 3;
}

static int
bind_unix(const char *path, int mode, int backlog)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path)) {
        sy_log(SY_LOG_ERROR, "listen", "socket path too long: %s", path);
        return SY_ECONFIG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return SY_EIO;
    /* a socket file nobody answers on is stale: replace it; one that
     * answers belongs to a running instance: refuse */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            close(fd);
            sy_log(SY_LOG_ERROR, "listen",
                   "%s is in use by another process", path);
            return SY_EIO;
        }
        unlink(path);
        close(fd);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return SY_EIO;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        sy_log(SY_LOG_ERROR, "listen", "cannot listen on %s: %s", path,
               strerror(errno));
        close(fd);
        return SY_EIO;
    }
    /* the file is ours from here: owner, group and mode are set before
     * listen(), so nobody connects through looser permissions */
    remember_bound(path);
    int rc = chown_socket(path);
    if (rc == 0 &&
        (chmod(path, (mode_t)mode) < 0 || listen(fd, backlog) < 0)) {
        sy_log(SY_LOG_ERROR, "listen", "cannot listen on %s: %s", path,
               strerror(errno));
        rc = SY_EIO;
    }
    if (rc < 0) {
        close(fd);
        unlink_bound();
        return rc;
    }
    return fd;
}

static int
bind_tcp(const char *spec, int backlog)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    size_t hl;
    if (!colon || colon == spec)
        return SY_ECONFIG;
    if (spec[0] == '[') { /* [v6]:port */
        if (colon[-1] != ']')
            return SY_ECONFIG;
        spec++;
        hl = (size_t)(colon - spec - 1);
    } else {
        hl = (size_t)(colon - spec);
    }
    if (hl >= sizeof(host))
        return SY_ECONFIG;
    memcpy(host, spec, hl);
    host[hl] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return SY_ECONFIG;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
        listen(fd, backlog) < 0) {
        sy_log(SY_LOG_ERROR, "listen", "cannot listen on %s: %s", spec,
               strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return SY_EIO;
    }
    freeaddrinfo(ai);
    return fd;
}

int
sy_listen_socket(const char *spec, int mode, int backlog)
{
    bool have_spec = spec && *spec;
    int fd = -1;
    if (is_listening_socket(0))
        fd = 0;
    else
        fd = systemd_socket();
    if (fd >= 0 || fd == SY_EIO) {
        if (fd >= 0 && have_spec)
            sy_log(SY_LOG_WARN, "listen",
                   "using the inherited socket; %s is ignored", spec);
        return fd;
    }
    if (!have_spec) {
        sy_log(SY_LOG_ERROR, "listen",
               "no socket: set server.listen or --listen, or start under "
               "spawn-fcgi or systemd socket activation");
        return SY_ECONFIG;
    }
    if (strncmp(spec, "unix:", 5) == 0)
        return bind_unix(spec + 5, mode, backlog);
    fd = bind_tcp(spec, backlog);
    if (fd == SY_ECONFIG)
        sy_log(SY_LOG_ERROR, "listen",
               "server.listen '%s' is not unix:/path or host:port", spec);
    return fd;
}

void
sy_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n;
    if (!path || (path[0] != '/' && path[0] != '@'))
        return;
    n = strlen(path);
    if (n >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, n);
    if (path[0] == '@')
        sa.sun_path[0] = 0; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
               (struct sockaddr *)&sa, len) < 0)
        sy_log(SY_LOG_WARN, "notify", "sd_notify failed: %s",
               strerror(errno));
    close(fd);
}
