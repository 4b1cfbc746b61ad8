/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_config.c - the configuration file (sy_config_load: sections,
 * `key = value`, quotes and comments, every key's type and range, the
 * trusted networks, the origins, the cross-key checks) and the redis.url
 * of a configuration that loads (sy_redis_parse_url).
 *
 * Input: the file.  It is written to a memfd and loaded through its
 * /proc/self/fd path.  While it loads, the working directory is a fresh
 * directory that holds "jwt.key" (a good 32-byte secret), "short.key"
 * (too short) and "pw" (a password), so relative *_file values reach the
 * checks behind them; an input whose line naming a file contains a '/'
 * is skipped,
 * because the loader would open whatever it names (a FIFO or a terminal
 * would block the fuzzer).  SYNTHIA_* variables are cleared first: the
 * file alone decides.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/redis.h"

const char fz_target_name[] = "config";

static void
unset_env(const char *section, const char *key, const char *env,
          const char *def, const char *help, void *ud)
{
    (void)section, (void)key, (void)def, (void)help, (void)ud;
    unsetenv(env);
}

static int
write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(s, f);
    return fclose(f);
}

static char dir[] = "/tmp/synthia-fuzz-config.XXXXXX";
static const char *const files[] = {"jwt.key", "short.key", "pw"};
static int dirfd_ = -1;

static void
remove_dir(void)
{
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlinkat(dirfd_, files[i], 0);
    rmdir(dir);
}

int
fz_init(void)
{
    static const char *const content[] = {"0123456789abcdef0123456789abcdef\n",
                                          "too-short\n", "sesame\n"};
    char path[128];
    sy_config_each_key(unset_env, NULL);
    unsetenv("SYNTHIA_CONFIG");
    if (!mkdtemp(dir))
        return -1;
    dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd_ < 0)
        return -1;
    atexit(remove_dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        if (write_file(path, content[i]) < 0)
            return -1;
    }
    return 0;
}

/* Does a line that mentions a file name a path with a '/'? */
static bool
names_a_path(sy_str in)
{
    sy_str line, rest = in;
    while (rest.len) {
        fz_split(rest, '\n', &line, &rest);
        if (memmem(line.p, line.len, "file", 4) &&
            memchr(line.p, '/', line.len))
            return true;
    }
    return false;
}

static void
trace_conf(sy_buf *t, const sy_config *c)
{
    fz_putc(t, "listen", 0, c->listen);
    fz_puti(t, "workers", 0, c->workers);
    fz_puti(t, "request_timeout_ms", 0, c->request_timeout_ms);
    fz_puti(t, "max_body", 0, c->max_body);
    fz_puti(t, "ntrusted", 0, c->ntrusted);
    fz_putc(t, "db_url", 0, c->db_url);
    fz_putc(t, "redis_url", 0, c->redis_url);
    fz_putc(t, "issuer", 0, c->issuer);
    fz_puti(t, "jwt_secret_len", 0, (int64_t)c->jwt_secret_len);
    fz_putc(t, "cors_origins", 0, c->cors_origins);
    fz_puti(t, "log_level", 0, c->log_level);
    for (int i = 0; i < c->ntrusted; i++)
        fz_puti(t, "trusted.prefix", 0, c->trusted[i].prefix);
    /* a loaded configuration's redis.url goes through the URL parser */
    sy_redis_target rt;
    int rc = sy_redis_parse_url(c->redis_url, &rt);
    fz_putc(t, "redis.host", rc, rc == 0 ? rt.host : NULL);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    if (names_a_path((sy_str){(const char *)data, size}))
        return;
    int fd = memfd_create("synthia-fuzz.conf", MFD_CLOEXEC);
    if (fd < 0)
        fz_fail("memfd_create failed");
    for (size_t off = 0; off < size;) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0)
            fz_fail("cannot write the memfd");
        off += (size_t)w;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    sy_config *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    /* only for the load: libFuzzer and replay name their files relative
     * to the working directory they started in */
    int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (here < 0 || fchdir(dirfd_) < 0)
        fz_fail("cannot enter %s", dir);
    int rc = sy_config_load(c, path, err, sizeof(err));
    if (fchdir(here) < 0)
        fz_fail("cannot return to the working directory");
    close(here);
    close(fd);
    fz_putc(t, "load", rc, err);
    if (rc == 0) {
        trace_conf(t, c);
        sy_config_free(c);
    } else if (rc != SY_ECONFIG) {
        fz_fail("sy_config_load returned %d", rc);
    } else if (!err[0]) {
        fz_fail("sy_config_load failed without a message");
    }
    free(c);
}
