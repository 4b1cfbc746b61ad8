/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * hello.c - the benchmark's floor: a bare libfcgi responder.
 *
 * It answers every request with {"status":"alive"} and does nothing else,
 * so what it measures is the cost every FastCGI application pays behind
 * the same web server (tests/bench/run.sh compares synthia's /health/live
 * with it).  Like synthia it preforks N processes that share one listening
 * socket.
 *
 *   hello [--listen unix:/path/to.sock | --listen host:port] [-n N]
 *
 * Without --listen it serves the socket on fd 0 (spawn-fcgi).  The parent
 * restarts a process that dies, and on SIGTERM or SIGINT stops them all,
 * removes the unix socket it created and exits.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcgiapp.h>

#define MAX_PROCS 64

static const char response[] = "Status: 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "\r\n"
                               "{\"status\":\"alive\"}";

static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static void
usage(void)
{
    fprintf(stderr, "usage: hello [--listen unix:PATH|HOST:PORT] [-n N]\n");
    exit(2);
}

static void
serve(int fd)
{
    FCGX_Request req;

    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (FCGX_InitRequest(&req, fd, 0) != 0) {
        fprintf(stderr, "hello: FCGX_InitRequest failed\n");
        _exit(1);
    }
    while (FCGX_Accept_r(&req) >= 0) {
        FCGX_PutStr(response, (int)sizeof(response) - 1, req.out);
        FCGX_Finish_r(&req);
    }
    _exit(0);
}

static pid_t
spawn(int fd)
{
    pid_t pid = fork();
    if (pid < 0) {
        perror("hello: fork");
        return -1;
    }
    if (pid == 0)
        serve(fd);
    return pid;
}

int
main(int argc, char **argv)
{
    const char *spec = NULL;
    const char *path = NULL;
    long n = 1;
    int fd = 0;
    pid_t pids[MAX_PROCS];
    struct sigaction sa;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            spec = argv[++i];
        } else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            n = strtol(argv[++i], &end, 10);
            if (errno || *end || n < 1 || n > MAX_PROCS)
                usage();
        } else {
            usage();
        }
    }

    if (FCGX_Init() != 0) {
        fprintf(stderr, "hello: FCGX_Init failed\n");
        return 1;
    }
    if (spec) {
        if (strncmp(spec, "unix:", 5) == 0) {
            path = spec + 5;
            unlink(path);
            fd = FCGX_OpenSocket(path, 1024);
            /* the web server's workers may run as another user */
            if (fd >= 0 && chmod(path, 0666) != 0)
                perror("hello: chmod");
        } else {
            fd = FCGX_OpenSocket(spec, 1024);
        }
        if (fd < 0) {
            fprintf(stderr, "hello: cannot listen on %s\n", spec);
            return 1;
        }
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    for (long i = 0; i < n; i++)
        pids[i] = spawn(fd);

    while (!stopping) {
        int status;
        pid_t dead = waitpid(-1, &status, 0);
        if (dead < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (long i = 0; i < n; i++) {
            if (pids[i] == dead && !stopping) {
                sleep(1); /* no tight loop if it keeps dying */
                pids[i] = spawn(fd);
            }
        }
    }

    for (long i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
        ;
    if (path)
        unlink(path);
    return 0;
}
