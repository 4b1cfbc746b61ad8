/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * shfile.c - read-only blocks shared by a host's responders as files
 * under server.runtime_dir (shfile.h).
 */
#include "synthia/shfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synthia/config.h"
#include "synthia/error.h"
#include "synthia/log.h"

const char *
sy_shfile_dir(void)
{
    const char *d = sy_conf ? sy_conf->runtime_dir : NULL;
    return d && *d ? d : NULL;
}

void
sy_shfile_unshared(bool *logged, const char *event, const char *copy,
                   const char *dir, const char *what, int err)
{
    if (*logged)
        return;
    *logged = true;
    sy_log(SY_LOG_WARN, event,
           "server.runtime_dir %s: %s: %s; each responder loads its own "
           "copy of %s", dir, what, strerror(err), copy);
}

uint64_t
sy_shfile_hash(uint64_t h, const void *p, size_t len)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < len; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t
sy_shfile_sum(const void *p, size_t len)
{
    const unsigned char *c = p;
    uint64_t s1 = 1, s2 = 0, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, c + i, sizeof(w));
        s1 += w;
        s2 += s1;
    }
    for (; i < len; i++) {
        s1 += c[i];
        s2 += s1;
    }
    return s1 ^ (s2 << 1 | s2 >> 63);
}

static void
path_of(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

int
sy_shfile_map(const char *dir, const char *name, size_t min_bytes,
              sy_shfile *out)
{
    char path[4096];
    struct stat st;
    path_of(path, sizeof(path), dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return SY_ENOTFOUND;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
        (size_t)st.st_size < min_bytes) {
        close(fd);
        return SY_EINVAL;
    }
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return SY_EINVAL;
    *out = (sy_shfile){.base = base, .bytes = (size_t)st.st_size,
                       .dev = st.st_dev, .ino = st.st_ino};
    return 0;
}

int
sy_shfile_lock(const char *dir, const char *name)
{
    char path[4096];
    path_of(path, sizeof(path), dir, name);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
    return fd;
}

void
sy_shfile_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the lock */
}

int
sy_shfile_create(const char *dir, const char *prefix, char *tmp,
                 size_t tmplen)
{
    char path[4096];
    snprintf(tmp, tmplen, "%s%d.tmp", prefix, (int)getpid());
    path_of(path, sizeof(path), dir, tmp);
    return open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* The catalog version in a name "<prefix>v<digits>.bin", or -1 (a
 * temporary file, a name without a version). */
static long long
version_of(const char *name, size_t plen)
{
    long long v = 0;
    if (strlen(name) < plen + 2)
        return -1;
    const char *p = name + plen;
    if (*p++ != 'v' || *p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (LLONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return strcmp(p, ".bin") == 0 ? v : -1;
}

int
sy_shfile_publish(const char *dir, const char *tmp, const char *name,
                  const char *prefix)
{
    char from[4096], to[4096];
    path_of(from, sizeof(from), dir, tmp);
    path_of(to, sizeof(to), dir, name);
    if (rename(from, to) < 0) {
        int e = errno;
        unlink(from);
        errno = e;
        return -1;
    }
    size_t plen = strlen(prefix);
    long long v = version_of(name, plen);
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, prefix, plen) == 0 &&
            strcmp(e->d_name, name) != 0 &&
            (v < 0 || version_of(e->d_name, plen) < v))
            unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    return 0;
}

void
sy_shfile_discard(const char *dir, const char *tmp)
{
    char path[4096];
    path_of(path, sizeof(path), dir, tmp);
    unlink(path);
}

int
sy_shfile_write_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t w = write(fd, c, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        len -= (size_t)w;
    }
    return 0;
}
