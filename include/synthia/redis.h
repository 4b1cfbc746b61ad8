/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * redis.h - this responder's Redis connection.
 *
 * Opened lazily with connect and command timeouts; after an error the
 * context is dropped and re-opened on a later call, at most every
 * redis.retry interval, so a dead Redis costs a request nothing but the
 * check.  Lua scripts are declared as sy_redis_script values, loaded on
 * connect, and called by SHA with a reload on NOSCRIPT.  Replies are owned
 * by the arena.
 */
#ifndef SYNTHIA_REDIS_H
#define SYNTHIA_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"

struct redisReply;

typedef struct sy_redis_script {
    const char *name;
    const char *lua;
    char sha[41];  /* filled when loaded */
} sy_redis_script;

/* A parsed redis.url. */
typedef struct sy_redis_target {
    bool unix_socket;
    char host[256];     /* host name or address; the path of a socket */
    int port;
    int db;
    char user[64];      /* ACL user (Redis 6+); "" for the default user */
    char password[256]; /* "" for none */
} sy_redis_target;

/* Parse redis://[[user]:password@]host[:port][/db] ([v6] hosts in
 * brackets, user and password percent-decoded) or unix:///path[?db=N].
 * Returns 0 or SY_EINVAL; out is written only on success. */
int sy_redis_parse_url(const char *url, sy_redis_target *out);

/* Run a command given as argv.  Returns 0 with the reply (which may be a
 * Redis error reply: check reply->type), or SY_EREDIS when Redis is
 * unreachable or timed out. */
int sy_redis_argv(sy_arena *a, int argc, const char **argv,
                  const size_t *lens, struct redisReply **out);

/* Send a command without waiting for its reply (a counter, say): it is
 * written at once, so Redis runs it before anything this process sends
 * later.  Its reply is never waited for on its own: it is dropped when it
 * has arrived, or read with the reply of the next command (after that
 * command is written: one wait for both).  An error reply is logged
 * (redis_unawaited).  0, or SY_EREDIS. */
int sy_redis_send(int argc, const char **argv, const size_t *lens);

/* EVALSHA script s with keys then args, sent as sy_redis_send sends (the
 * script loaded first when this process has not loaded it).  A NOSCRIPT
 * reply is not retried: it is logged and every script loads again on
 * its next use.  For writes whose outcome nobody reads (a cache store).
 * 0, or SY_EREDIS. */
int sy_redis_eval_send(sy_arena *a, sy_redis_script *s, int nkeys, int nargs,
                       const char **argv, const size_t *lens);

/* printf-style command (hiredis format: %s, %b, %d ...). */
int sy_redis_cmd(sy_arena *a, struct redisReply **out, const char *fmt, ...);

/* EVALSHA script with keys then args (loading it on NOSCRIPT). */
int sy_redis_eval(sy_arena *a, sy_redis_script *s, int nkeys, int nargs,
                  const char **argv, const size_t *lens,
                  struct redisReply **out);

/* One command of a pipeline. */
typedef struct sy_redis_cmdv {
    int argc;
    const char **argv;
    const size_t *lens; /* NULL: strlen of each */
} sy_redis_cmdv;

/* Send n commands in one round trip and read their n replies (owned by
 * the arena).  0, or SY_EREDIS when Redis is unreachable. */
int sy_redis_pipeline(sy_arena *a, int n, const sy_redis_cmdv *cmds,
                      struct redisReply **out);

/* Send n commands in one write without waiting for their replies, as
 * sy_redis_send does.  0, or SY_EREDIS. */
int sy_redis_send_many(int n, const sy_redis_cmdv *cmds);

/* The EVALSHA command for script s (loading it first if this process has
 * not), for use in a pipeline.  The command points at argv's strings:
 * they must live until the pipeline is sent (arena memory, say).  A NOSCRIPT error reply means: call
 * sy_redis_eval instead, which reloads the script. */
int sy_redis_evalsha_cmd(sy_arena *a, sy_redis_script *s, int nkeys,
                         int nargs, const char **argv, const size_t *lens,
                         sy_redis_cmdv *out);

/* Register a script to be loaded on every (re)connect. */
void sy_redis_register(sy_redis_script *s);

/* PING round trip in microseconds; err gets a short reason. */
int sy_redis_ping(int64_t *latency_us, char *err, size_t errlen);

/* True when the last attempt failed and the retry interval has not
 * passed (callers can degrade without waiting). */
bool sy_redis_down(void);

/* Counts this process's successful connects (0 before the first).  A
 * change means the data may differ from what was there before (Redis
 * restarted, failed over, or was unreachable for a while): session.c
 * re-pushes its deny-list then. */
uint64_t sy_redis_generation(void);

/* PING, then INFO: its latency and text (arena memory), or SY_EREDIS
 * with a short reason in err. */
int sy_redis_info(sy_arena *a, int64_t *latency_us, sy_str *info, char *err,
                  size_t errlen);

/* Members of the sorted set key (scored by expiry, epoch ms) still live
 * at now_ms: expired ones are removed first. */
int sy_redis_count_live(sy_arena *a, const char *key, int64_t now_ms,
                        int64_t *out);

void sy_redis_close(void);

/* Microseconds spent waiting on Redis since the last take. */
int64_t sy_redis_take_time(void);

#endif
