/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * curl.c - the AI providers' HTTP client (ai_curl.h).
 *
 * The easy handle is created in the process that uses it: a responder
 * creates its own after the fork (the master never calls a provider),
 * and a handle inherited across a fork is abandoned, not cleaned up,
 * since closing it would shut down TLS sessions that the parent still
 * uses.  curl_easy_reset before each call clears the options but keeps
 * the connection cache, the DNS cache and TLS sessions.  No signals
 * (CURLOPT_NOSIGNAL): the responder owns its signal handlers, and the
 * threaded resolver times out without them.
 */
#include "config.h"

#include "synthia/ai_curl.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "synthia/clock.h"
#include "synthia/error.h"
#include "synthia/provider.h"

#define DAY_MS (86400LL * 1000)

static CURL *handle;
static pid_t handle_pid;
static bool global_ready;

/* ------------------------------------------------------------- helpers */

char *
sy_ai_base64(sy_arena *a, const char *prefix, const void *p, size_t n)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (n > (SIZE_MAX - plen - 1) / 4 * 3 - 3)
        return NULL;
    size_t enc = 4 * ((n + 2) / 3);
    char *out = sy_arena_alloc(a, plen + enc + 1);
    if (!out)
        return NULL;
    memcpy(out, prefix, plen);
    /* EVP_EncodeBlock takes an int length: in blocks of 3 MiB */
    const unsigned char *in = p;
    size_t o = plen;
    for (size_t i = 0; i < n;) {
        size_t k = n - i > 3 * 1024 * 1024 ? 3 * 1024 * 1024 : n - i;
        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + i,
                                     (int)k);
        i += k;
    }
    out[o] = '\0';
    return out;
}

/* The 6-bit value of a base64 character (checked to be one). */
static unsigned
b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned)(c - 'a') + 26;
    if (c >= '0' && c <= '9')
        return (unsigned)(c - '0') + 52;
    return c == '+' ? 62 : 63;
}

int
sy_ai_unbase64(sy_arena *a, sy_str in, sy_str *out)
{
    size_t pad = 0;
    if (in.len % 4 != 0)
        return SY_EINVAL;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (c == '=' && i >= in.len - 2) {
            pad++;
            continue;
        }
        if (pad || !(isalnum(c) || c == '+' || c == '/'))
            return SY_EINVAL;
    }
    if (pad == 1 && in.p[in.len - 1] != '=')
        return SY_EINVAL;
    /* canonical only (RFC 4648, 3.5): the bits the padding leaves over
     * are zero, so a decoded value has one encoding */
    if (pad && (b64_value(in.p[in.len - pad - 1]) &
                (pad == 2 ? 0x0f : 0x03)) != 0)
        return SY_EINVAL;
    unsigned char *buf = sy_arena_alloc(a, in.len / 4 * 3 + 1);
    if (!buf)
        return SY_ENOMEM;
    size_t o = 0;
    for (size_t i = 0; i < in.len;) {
        size_t k = in.len - i > 4 * 1024 * 1024 ? 4 * 1024 * 1024
                                                : in.len - i;
        int n = EVP_DecodeBlock(buf + o, (const unsigned char *)in.p + i,
                                (int)k);
        if (n < 0)
            return SY_EINVAL;
        o += (size_t)n;
        i += k;
    }
    o -= pad; /* EVP_DecodeBlock counts padding as zero bytes */
    buf[o] = '\0';
    *out = (sy_str){(const char *)buf, o};
    return 0;
}

int64_t
sy_ai_retry_after_ms(sy_str v, int64_t now_s)
{
    char buf[64];
    int64_t n;
    while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t' ||
                     v.p[v.len - 1] == '\r' || v.p[v.len - 1] == '\n'))
        v.len--;
    if (v.len == 0 || v.len >= sizeof(buf))
        return -1;
    if (isdigit((unsigned char)v.p[0])) {
        /* delta-seconds: digits only; huge values mean "a long time" */
        for (size_t i = 0; i < v.len; i++)
            if (!isdigit((unsigned char)v.p[i]))
                return -1;
        if (v.len > 9)
            return DAY_MS;
        if (sy_parse_i64(v, 0, 999999999, &n) < 0)
            return -1;
        return n * 1000 > DAY_MS ? DAY_MS : n * 1000;
    }
    /* an HTTP date: it starts with a day name */
    if (!isalpha((unsigned char)v.p[0]))
        return -1;
    memcpy(buf, v.p, v.len);
    buf[v.len] = '\0';
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return -1;
    n = (int64_t)t - now_s;
    return n <= 0 ? 0 : n * 1000 > DAY_MS ? DAY_MS : n * 1000;
}

int
sy_ai_http_class(const sy_ai_http_res *res)
{
    if (res->err != SY_AI_OK)
        return res->err;
    if (res->status >= 200 && res->status < 300)
        return SY_AI_OK;
    if (res->status == 408)
        return SY_AI_ETIMEOUT;
    if (res->status == 429)
        return SY_AI_ERATE;
    if (res->status >= 400 && res->status < 500)
        return SY_AI_ECLIENT;
    return SY_AI_ESERVER;
}

/* ------------------------------------------------------------- handle */

static CURL *
get_handle(void)
{
    pid_t pid = getpid();
    if (handle && handle_pid != pid)
        handle = NULL; /* the parent's: abandoned, see atop */
    if (!global_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_ready = true;
    }
    if (!handle) {
        handle = curl_easy_init();
        handle_pid = pid;
    }
    return handle;
}

void
sy_ai_http_close(void)
{
    if (handle && handle_pid == getpid())
        curl_easy_cleanup(handle);
    handle = NULL;
}

/* ------------------------------------------------------------- a call */

typedef struct sink {
    sy_buf body;
    bool too_big;
    sy_arena *arena;
    sy_str retry_after; /* arena copies */
    sy_str content_type;
} sink;

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (sy_buf_append(&s->body, p, n) < 0) {
        s->too_big = true;
        return 0; /* CURLE_WRITE_ERROR */
    }
    return n;
}

/* Keep the value of header `name` (case-insensitive) when line is it. */
static void
header_value(sy_arena *a, const char *line, size_t n, const char *name,
             sy_str *out)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return;
    sy_str v = {line + k + 1, n - k - 1};
    while (v.len && (v.p[0] == ' ' || v.p[0] == '\t')) {
        v.p++;
        v.len--;
    }
    while (v.len && (v.p[v.len - 1] == '\r' || v.p[v.len - 1] == '\n' ||
                     v.p[v.len - 1] == ' '))
        v.len--;
    char *c = sy_arena_strndup(a, v.p, v.len > 256 ? 256 : v.len);
    if (c)
        *out = (sy_str){c, strlen(c)};
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    /* a new status line (after 100 Continue, say) starts over */
    if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        s->retry_after = SY_STR_NULL;
        s->content_type = SY_STR_NULL;
    }
    header_value(s->arena, p, n, "Retry-After", &s->retry_after);
    header_value(s->arena, p, n, "Content-Type", &s->content_type);
    return n;
}

static int
transport_class(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return SY_AI_ETIMEOUT;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
    case CURLE_BAD_CONTENT_ENCODING:
        return SY_AI_EMALFORMED;
    default:
        return SY_AI_ECONNECT;
    }
}

#define SETOPT(h, o, v)                                                     \
    do {                                                                    \
        if (curl_easy_setopt((h), (o), (v)) != CURLE_OK)                    \
            goto setup_failed;                                              \
    } while (0)

/* One transfer's state: what the callbacks fill, and the header list
 * that the handle points at until the transfer ends. */
typedef struct xfer {
    sink s;
    struct curl_slist *hdrs;
    sy_ai_http_res *res;
    int64_t t0;
} xfer;

/* Set h up for req; 0, SY_ENOMEM, or 1 when libcurl refused an option
 * (res says so).  x->hdrs is the caller's to free in every case. */
static int
setup(CURL *h, sy_arena *a, const sy_ai_http_req *req, sy_ai_http_res *res,
      xfer *x)
{
    struct curl_slist *l;
    char ctype[96];

    memset(x, 0, sizeof(*x));
    x->s.arena = a;
    x->res = res;
    memset(res, 0, sizeof(*res));
    res->retry_after_ms = -1;
    res->body = SY_STR("");
    res->content_type = SY_STR("");
    sy_buf_init(&x->s.body, a, req->max_response);
    curl_easy_reset(h);
    snprintf(ctype, sizeof(ctype), "Content-Type: %s",
             req->content_type ? req->content_type : "application/json");
    /* the key's header line first: nothing below prints this list */
    const char *lines[] = {req->auth_header, ctype,
                           "Accept: application/json, */*;q=0.5",
                           "Expect:"};
    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (!lines[i])
            continue;
        if (!(l = curl_slist_append(x->hdrs, lines[i])))
            return SY_ENOMEM;
        x->hdrs = l;
    }

    SETOPT(h, CURLOPT_URL, req->url);
    SETOPT(h, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
    SETOPT(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    SETOPT(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    SETOPT(h, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(h, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(h, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(h, CURLOPT_USERAGENT, "synthia/" PACKAGE_VERSION);
    SETOPT(h, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0
                                             ? req->timeout_ms : 1));
    SETOPT(h, CURLOPT_CONNECTTIMEOUT_MS,
           (long)(req->connect_timeout_ms > 0 ? req->connect_timeout_ms
                                              : 1));
    SETOPT(h, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(h, CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)req->max_response);
    SETOPT(h, CURLOPT_HTTPHEADER, x->hdrs);
    SETOPT(h, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(h, CURLOPT_WRITEDATA, &x->s);
    SETOPT(h, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(h, CURLOPT_HEADERDATA, &x->s);
    if (strcmp(req->method, "POST") == 0) {
        SETOPT(h, CURLOPT_POST, 1L);
        SETOPT(h, CURLOPT_POSTFIELDS, req->body.p ? req->body.p : "");
        SETOPT(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
    } else {
        SETOPT(h, CURLOPT_HTTPGET, 1L);
    }
    x->t0 = sy_mono_us();
    return 0;
setup_failed:
    res->err = SY_AI_ECONNECT;
    snprintf(res->detail, sizeof(res->detail), "libcurl refused an option");
    return 1;
}

/* The transfer on h ended with c: fill x->res.  0 or SY_ENOMEM. */
static int
finish(CURL *h, CURLcode c, xfer *x)
{
    sy_ai_http_res *res = x->res;
    res->duration_us = sy_mono_us() - x->t0;
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    /* the options point at this call's memory: forget them now */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    if (c != CURLE_OK) {
        res->err = x->s.too_big ? SY_AI_EMALFORMED : transport_class(c);
        snprintf(res->detail, sizeof(res->detail), "%s",
                 x->s.too_big ? "answer larger than ai.max_response"
                              : curl_easy_strerror(c));
        return 0;
    }
    if (x->s.body.failed) /* never: on_body stops at the first failure */
        return SY_ENOMEM;
    const char *body = sy_buf_cstr(&x->s.body);
    res->status = status;
    res->body = body ? sy_buf_str(&x->s.body) : SY_STR("");
    if (x->s.content_type.p)
        res->content_type = x->s.content_type;
    if (x->s.retry_after.p)
        res->retry_after_ms = sy_ai_retry_after_ms(x->s.retry_after,
                                                   sy_wall_ms() / 1000);
    if (status < 200 || status >= 300)
        snprintf(res->detail, sizeof(res->detail), "HTTP %ld", status);
    return 0;
}

int
sy_ai_http(sy_arena *a, const sy_ai_http_req *req, sy_ai_http_res *res)
{
    xfer x;
    CURL *h = get_handle();

    if (!h) {
        memset(res, 0, sizeof(*res));
        res->retry_after_ms = -1;
        res->body = SY_STR("");
        res->content_type = SY_STR("");
        res->err = SY_AI_ECONNECT;
        snprintf(res->detail, sizeof(res->detail), "libcurl unavailable");
        return 0;
    }
    int rc = setup(h, a, req, res, &x);
    if (rc == 0)
        rc = finish(h, curl_easy_perform(h), &x);
    else if (rc == 1)
        rc = 0;
    curl_slist_free_all(x.hdrs);
    return rc;
}

/* ------------------------------------------------------- many at once */

/* A transfer of a multi: its own easy handle (kept for the next one:
 * the multi's connection cache is shared by all of them). */
typedef struct mx {
    CURL *h;
    bool busy;
    void *tag;
    xfer x;
} mx;

struct sy_ai_multi {
    CURLM *m;
    pid_t pid;
    int n;       /* transfers allocated */
    int running; /* busy ones */
    mx *x;       /* n of them (heap) */
};

sy_ai_multi *
sy_ai_multi_new(int max)
{
    if (max < 1)
        return NULL;
    if (!global_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return NULL;
        global_ready = true;
    }
    sy_ai_multi *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->x = calloc((size_t)max, sizeof(*m->x));
    m->m = curl_multi_init();
    if (!m->x || !m->m) {
        if (m->m)
            curl_multi_cleanup(m->m);
        free(m->x);
        free(m);
        return NULL;
    }
    m->n = max;
    m->pid = getpid();
    return m;
}

void
sy_ai_multi_free(sy_ai_multi *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++) {
        if (m->x[i].busy) {
            curl_multi_remove_handle(m->m, m->x[i].h);
            curl_slist_free_all(m->x[i].x.hdrs);
        }
        if (m->x[i].h)
            curl_easy_cleanup(m->x[i].h);
    }
    curl_multi_cleanup(m->m);
    free(m->x);
    free(m);
}

int
sy_ai_multi_add(sy_ai_multi *m, sy_arena *a, const sy_ai_http_req *req,
                sy_ai_http_res *res, void *tag)
{
    mx *t = NULL;
    for (int i = 0; i < m->n && !t; i++)
        if (!m->x[i].busy)
            t = &m->x[i];
    if (!t)
        return SY_EINVAL;
    if (!t->h && !(t->h = curl_easy_init()))
        return SY_ENOMEM;
    int rc = setup(t->h, a, req, res, &t->x);
    if (rc == 0 && curl_easy_setopt(t->h, CURLOPT_PRIVATE, t) != CURLE_OK)
        rc = SY_ENOMEM;
    if (rc == 0 && curl_multi_add_handle(m->m, t->h) != CURLM_OK)
        rc = SY_ENOMEM;
    if (rc != 0) {
        curl_slist_free_all(t->x.hdrs);
        t->x.hdrs = NULL;
        return rc == 1 ? SY_EINVAL : rc;
    }
    t->busy = true;
    t->tag = tag;
    m->running++;
    return 0;
}

bool
sy_ai_multi_cancel(sy_ai_multi *m, void *tag)
{
    for (int i = 0; i < m->n; i++) {
        mx *t = &m->x[i];
        if (t->busy && t->tag == tag) {
            curl_multi_remove_handle(m->m, t->h);
            curl_easy_setopt(t->h, CURLOPT_HTTPHEADER, NULL);
            curl_slist_free_all(t->x.hdrs);
            t->x.hdrs = NULL;
            t->busy = false;
            t->tag = NULL;
            m->running--;
            return true;
        }
    }
    return false;
}

int
sy_ai_multi_running(const sy_ai_multi *m)
{
    return m->running;
}

int
sy_ai_multi_wait(sy_ai_multi *m, int timeout_ms, void **done, int max,
                 int *ndone)
{
    int still, left;
    *ndone = 0;
    if (timeout_ms > 0) {
        if (m->running > 0) {
            if (curl_multi_poll(m->m, NULL, 0, timeout_ms, NULL) !=
                CURLM_OK)
                return SY_EINTERNAL;
        } else {
            struct timespec ts = {timeout_ms / 1000,
                                  (long)(timeout_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (curl_multi_perform(m->m, &still) != CURLM_OK)
        return SY_EINTERNAL;
    CURLMsg *msg;
    while (*ndone < max && (msg = curl_multi_info_read(m->m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *pv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &pv);
        mx *t = (mx *)(void *)pv;
        if (!t || !t->busy)
            continue;
        CURLcode c = msg->data.result;
        curl_multi_remove_handle(m->m, t->h);
        int rc = finish(t->h, c, &t->x);
        curl_slist_free_all(t->x.hdrs);
        t->x.hdrs = NULL;
        t->busy = false;
        m->running--;
        if (rc < 0) { /* the answer's memory ran out: say so */
            t->x.res->err = SY_AI_EMALFORMED;
            snprintf(t->x.res->detail, sizeof(t->x.res->detail),
                     "out of memory for the answer");
        }
        done[(*ndone)++] = t->tag;
        t->tag = NULL;
    }
    return 0;
}
