/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target_redis_url.c - redis.url (sy_redis_parse_url): redis://[[user]:
 * password@]host[:port][/db] with [v6] hosts and percent-decoded user and
 * password, or unix:///path[?db=N].
 *
 * Input: the URL (a C string, cut at a NUL byte, as the config holds it).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "synthia/error.h"
#include "synthia/redis.h"

const char fz_target_name[] = "redis_url";

int
fz_init(void)
{
    return 0;
}

static void
check_terminated(const char *what, const char *s, size_t cap)
{
    if (!memchr(s, 0, cap))
        fz_fail("%s is not NUL-terminated", what);
}

void
fz_run(const uint8_t *data, size_t size, sy_buf *t)
{
    char *url = fz_cstr((sy_str){(const char *)data, size});
    sy_redis_target r;
    memset(&r, 0x55, sizeof(r));
    int rc = sy_redis_parse_url(url, &r);
    if (rc == 0) {
        check_terminated("host", r.host, sizeof(r.host));
        check_terminated("user", r.user, sizeof(r.user));
        check_terminated("password", r.password, sizeof(r.password));
        if (r.port < 0 || r.port > 65535 || r.db < 0)
            fz_fail("port %d, db %d accepted", r.port, r.db);
        fz_puti(t, "unix", rc, r.unix_socket);
        fz_putc(t, "host", rc, r.host);
        fz_puti(t, "port", rc, r.port);
        fz_puti(t, "db", rc, r.db);
        fz_putc(t, "user", rc, r.user);
        fz_putc(t, "password", rc, r.password);
    } else {
        if (rc != SY_EINVAL)
            fz_fail("sy_redis_parse_url returned %d", rc);
        unsigned char *p = (unsigned char *)&r;
        for (size_t i = 0; i < sizeof(r); i++)
            if (p[i] != 0x55)
                fz_fail("sy_redis_parse_url wrote its result and failed");
        fz_puti(t, "parse", rc, 0);
    }
    free(url);
}
