/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * textidx.c - the in-memory full-text index of a tenant's active
 * products and its ranking (textidx.h).
 *
 * Load: a fingerprint of the active products (count and a sum of
 * per-row hashes of id and write time), then every active product's id
 * and search::text in storage order (ctid): the order in which the GIN
 * bitmap scan of sql_search_text meets its matches, so that the first
 * `candidates` matches taken here are the ones it takes.  Each tsvector
 * is parsed (tsquery.h), its entries sorted by lexeme then product and
 * laid out as a dictionary (lexemes in byte order) and posting lists
 * (product, positions).  An index that would be over
 * SY_TEXTIDX_MAX_BYTES, or a vector PostgreSQL stored without positions,
 * is not kept: that tenant's searches stay on SQL.
 *
 * Shared per host (shfile.h): the index is a file under
 * server.runtime_dir, txt-<tenant>-v<catalog version>.bin, the arrays
 * below one after the other; the first responder that needs a version
 * builds it under txt-<tenant>.lock (loaded from PostgreSQL, written,
 * renamed into place, older versions unlinked), the others map it
 * read-only.  A responder whose version moved maps the new version's
 * file without a query when it is there; else it reads the fingerprint
 * and loads only if that moved.  A file is checked before it is mapped
 * (sy_textidx_block_check: header, layout, checksum, and every offset and
 * product number in range); a broken one is rebuilt.  An index kept out
 * (over the bound) is a header alone, so the others need not load it to
 * find out.  Without runtime_dir (empty, not writable) each responder
 * keeps its own copy in its heap.
 *
 * Freshness: the index is labelled with the tenant's catalog version
 * (cache.h; pushed to responders, inval.h) and reloaded when it moved,
 * at the responder's next free moment (sy_textidx_idle; SQL until then,
 * at most 2 s, after which the search that finds it due loads it);
 * every RECHECK_US the fingerprint is read again, so that a lost bump
 * never leaves it stale for ever.  Without a catalog version (Redis
 * away) searches fall back to SQL: never behind a write.  A version
 * that moves again sooner than RELOAD_SHARE times the last load's time
 * after it (a catalog whose stock orders keep changing) is searched in
 * SQL until then: reloads never take more than a small share of a
 * responder's time (10,000 products load in ~0.15-0.7 s).
 *
 * Search: the query's distinct lexemes are looked up in the dictionary;
 * their posting lists are walked together in product order (every
 * product when the query matches without any of its lexemes, "!wool"),
 * each product's entries for the query's lexemes matched and ranked
 * (tsquery.h); then sorted by score descending, id ascending.  A query
 * with more than candidates matches goes to SQL: which of them
 * sql_search_text ranks depends on PostgreSQL's plan (storage order in
 * a bitmap scan, an index's order otherwise), so it cannot be equalled.
 */
#include "synthia/textidx.h"

#include <errno.h>
#include <libpq-fe.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synthia/clock.h"
#include "synthia/crypto.h"
#include "synthia/db.h"
#include "synthia/error.h"
#include "synthia/log.h"
#include "synthia/memcache.h"
#include "synthia/shfile.h"
#include "synthia/tsquery.h"

/* A lost bump (a write while Redis was away) is caught by reading the
 * fingerprint again every RECHECK_US plus up to half of it at random:
 * the read (15 ms for 10,000 products, more on a busy host) holds every
 * request queued at this responder, so it is rare, and the responders
 * started together do not all pay it in the same second. */
#define RECHECK_US (60 * 1000000LL)
#define RELOAD_SHARE 20 /* a reload waits 20 times its last load's time */
#define FP_LEN 64
#define CONFIG_LEN 64
#define MAX_POS 256 /* PostgreSQL keeps at most 256 positions a lexeme */

/* $1 tenant.  Columns: the fingerprint of the active products. */
static sy_db_stmt sql_fingerprint =
    SY_DB_STMT("textidx_fingerprint",
     "SELECT count(*)::text || ':' || coalesce(sum(hashtextextended("
     "p.id::text || extract(epoch FROM p.updated_at)::text, 0)), 0)::text "
     "FROM products p WHERE p.tenant_id = $1::uuid AND p.active",
     1);
/* $1 tenant.  Columns: search_config, id, search (text); one row with
 * NULL id for a tenant without active products; none for no tenant. */
static sy_db_stmt sql_load =
    SY_DB_STMT("textidx_load",
     "SELECT t.search_config::text, p.id, p.search::text FROM tenants t "
     "LEFT JOIN products p ON p.tenant_id = t.id AND p.active "
     "WHERE t.id = $1::uuid ORDER BY p.ctid",
     1);
/* $1 configuration, $2 normalised query: the lexemes of the query as
 * sql_search_text computes them. */
static sy_db_stmt sql_tsquery =
    SY_DB_STMT("textidx_tsquery",
     "SELECT websearch_to_tsquery($1::regconfig, sy_unaccent($2))::text",
     2);

/* websearch_to_tsquery's output per configuration and normalised query
 * (the stemming of a configuration does not change without a DBA). */
static sy_memcache tsq_cache = SY_MEMCACHE("tsquery", 4096, 1u << 20,
                                           10 * 60 * 1000);
SY_MEMCACHE_REGISTER(tsq_cache)

static sy_metric memory_metric = {
    .name = "synthia_textidx_searches_total",
    .help = "Full-text searches ranked from the in-memory index.",
    .type = SY_METRIC_COUNTER,
};
static sy_metric fallback_metric = {
    .name = "synthia_textidx_fallbacks_total",
    .help = "Full-text searches the in-memory index left to PostgreSQL "
            "(no catalog version, query form, memory bound).",
    .type = SY_METRIC_COUNTER,
};
SY_METRICS_REGISTER(&memory_metric, &fallback_metric)

typedef struct tenant_idx {
    char tenant[SY_UUID_LEN + 1];
    char config[CONFIG_LEN];
    char fp[FP_LEN];
    bool usable;  /* false: this tenant's searches go to SQL */
    bool has_version;
    int64_t version, checked_us;
    int64_t loaded_us, load_us; /* when the last load ended, its time */
    uint64_t used;
    size_t bytes;
    int n;                   /* products */
    char (*ids)[SY_UUID_LEN + 1];
    unsigned char *empty;    /* product has no lexeme */
    int nlex;
    char *lexbuf;
    uint32_t *lexoff;        /* nlex + 1 */
    uint32_t *post;          /* nlex + 1: postings of lexeme i */
    uint32_t *prod;          /* per posting: product */
    uint32_t *posoff;        /* per posting + 1: its positions */
    uint16_t *pos;
    uint32_t npost;          /* postings */
    uint32_t npos;           /* positions */
    uint32_t lexbytes;       /* of lexbuf */
    void *map;               /* a shared file the arrays point into, or */
    size_t map_bytes;        /* NULL: the arrays are the heap's */
    dev_t dev;
    ino_t ino;
} tenant_idx;

static tenant_idx slots[SY_TEXTIDX_TENANTS];
static uint64_t ticks;
static bool trim_pending; /* a load's scratch was freed: see sy_textidx_idle */
static bool in_idle;      /* in sy_textidx_idle: for the load's log line */

static void
slot_clear(tenant_idx *t)
{
    if (t->map) {
        munmap(t->map, t->map_bytes);
        memset(t, 0, sizeof(*t));
        return;
    }
    free(t->ids);
    free(t->empty);
    free(t->lexbuf);
    free(t->lexoff);
    free(t->post);
    free(t->prod);
    free(t->posoff);
    free(t->pos);
    memset(t, 0, sizeof(*t));
}

static tenant_idx *
slot_for(const char *tenant)
{
    tenant_idx *lru = &slots[0];
    for (int i = 0; i < SY_TEXTIDX_TENANTS; i++)
        if (strcmp(slots[i].tenant, tenant) == 0)
            return &slots[i];
    for (int i = 0; i < SY_TEXTIDX_TENANTS; i++) {
        if (!slots[i].tenant[0])
            return &slots[i];
        if (slots[i].used < lru->used)
            lru = &slots[i];
    }
    slot_clear(lru);
    return lru;
}

/* Drop other tenants, least recently used first, until keep fits. */
static void
make_room(const tenant_idx *keep)
{
    for (;;) {
        size_t total = 0;
        tenant_idx *lru = NULL;
        for (int i = 0; i < SY_TEXTIDX_TENANTS; i++) {
            total += slots[i].bytes;
            if (&slots[i] != keep && slots[i].tenant[0] &&
                (!lru || slots[i].used < lru->used))
                lru = &slots[i];
        }
        if (total <= SY_TEXTIDX_MAX_BYTES || !lru)
            return;
        slot_clear(lru);
    }
}

/* ------------------------------------------------------------ loading */

/* One tsvector entry while loading. */
typedef struct entry {
    const char *lex;
    uint32_t len, prod, posoff, npos;
} entry;

static int
by_entry(const void *x, const void *y)
{
    const entry *a = x, *b = y;
    size_t m = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->lex, b->lex, m);
    if (c)
        return c;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return a->prod < b->prod ? -1 : a->prod > b->prod;
}

typedef struct loading {
    entry *e;
    size_t ne, cap_e;
    uint16_t *pos;
    size_t npos, cap_pos;
    char *lex; /* the unquoted lexemes, one block */
    size_t nlexb;
} loading;

static void
loading_free(loading *l)
{
    free(l->e);
    free(l->pos);
    free(l->lex);
}

static bool
grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* Parse one product's tsvector text into l: 0, SY_EINVAL, SY_ENOMEM. */
static int
add_vector(loading *l, uint32_t prod, const char *text, size_t len,
           bool *empty)
{
    const char *p = text, *end = text + len;
    uint16_t pos[MAX_POS];
    int npos, rc;
    size_t llen;
    *empty = true;
    for (;;) {
        char *lex = l->lex + l->nlexb;
        rc = sy_tsvector_next(&p, end, lex, &llen, pos, MAX_POS, &npos);
        if (rc <= 0)
            return rc;
        if (!npos)
            return SY_EINVAL; /* stripped: ts_rank treats it otherwise */
        if (!grow((void **)&l->e, &l->cap_e, l->ne + 1, sizeof(entry)) ||
            !grow((void **)&l->pos, &l->cap_pos, l->npos + (size_t)npos,
                  sizeof(uint16_t)))
            return SY_ENOMEM;
        l->e[l->ne++] = (entry){lex, (uint32_t)llen, prod,
                                (uint32_t)l->npos, (uint32_t)npos};
        memcpy(l->pos + l->npos, pos, (size_t)npos * sizeof(*pos));
        l->npos += (size_t)npos;
        l->nlexb += llen + 1;
        *empty = false;
    }
}

/* Whether sorted entry i starts a lexeme. */
static bool
new_lexeme(const entry *e, size_t i)
{
    return !i || e[i].len != e[i - 1].len ||
           memcmp(e[i].lex, e[i - 1].lex, e[i].len) != 0;
}

/* Lay out the index of t from the parsed entries. */
static int
build(tenant_idx *t, loading *l)
{
    qsort(l->e, l->ne, sizeof(entry), by_entry);
    size_t nlex = 0, lexbytes = 0;
    for (size_t i = 0; i < l->ne; i++)
        if (new_lexeme(l->e, i)) {
            nlex++;
            lexbytes += l->e[i].len + 1;
        }
    t->lexbuf = malloc(lexbytes ? lexbytes : 1);
    t->lexoff = malloc((nlex + 1) * sizeof(uint32_t));
    t->post = malloc((nlex + 1) * sizeof(uint32_t));
    t->prod = malloc((l->ne ? l->ne : 1) * sizeof(uint32_t));
    t->posoff = malloc((l->ne + 1) * sizeof(uint32_t));
    t->pos = malloc((l->npos ? l->npos : 1) * sizeof(uint16_t));
    if (!t->lexbuf || !t->lexoff || !t->post || !t->prod || !t->posoff ||
        !t->pos)
        return SY_ENOMEM;
    size_t lb = 0, k = 0, po = 0;
    for (size_t i = 0; i < l->ne; i++) {
        const entry *e = &l->e[i];
        if (new_lexeme(l->e, i)) {
            t->lexoff[k] = (uint32_t)lb;
            t->post[k++] = (uint32_t)i;
            memcpy(t->lexbuf + lb, e->lex, e->len);
            t->lexbuf[lb + e->len] = '\0';
            lb += e->len + 1;
        }
        t->prod[i] = e->prod;
        t->posoff[i] = (uint32_t)po;
        memcpy(t->pos + po, l->pos + e->posoff, e->npos * sizeof(uint16_t));
        po += e->npos;
    }
    t->lexoff[k] = (uint32_t)lb;
    t->post[k] = (uint32_t)l->ne;
    t->posoff[l->ne] = (uint32_t)po;
    t->nlex = (int)nlex;
    t->npost = (uint32_t)l->ne;
    t->npos = (uint32_t)po;
    t->lexbytes = (uint32_t)lexbytes;
    t->bytes += lexbytes + (nlex + 1) * 8 + l->ne * 8 + 4 + po * 2;
    return 0;
}

static void
log_load(const tenant_idx *t, int64_t version, size_t postings,
         const char *why, int64_t t0)
{
    sy_logline *l =
        sy_log_begin(why ? SY_LOG_WARN : SY_LOG_INFO, "textidx_load");
    sy_log_cstr(l, "tenant", t->tenant);
    sy_log_int(l, "version", version);
    sy_log_int(l, "products", t->n);
    sy_log_int(l, "lexemes", t->nlex);
    sy_log_int(l, "postings", (int64_t)postings);
    sy_log_int(l, "bytes", (int64_t)t->bytes);
    if (why)
        sy_log_cstr(l, "kept_out", why);
    sy_log_cstr(l, "in", in_idle ? "idle" : "request");
    sy_log_int(l, "ms", (sy_mono_us() - t0) / 1000);
    sy_log_end(l);
}

/* Load the tenant's index into t (emptied first), labelled fp. */
static int
load(sy_arena *a, tenant_idx *t, const char *tenant, const char *fp,
     int64_t version)
{
    PGresult *r;
    int64_t t0 = sy_mono_us();
    const char *params[1] = {tenant};
    int rc = sy_db_exec(a, &sql_load, params, 1, &r);
    if (rc < 0)
        return rc;
    int rows = sy_db_rows(r);
    if (!rows)
        return SY_ENOTFOUND;
    slot_clear(t);
    memcpy(t->tenant, tenant, SY_UUID_LEN + 1);
    snprintf(t->fp, sizeof(t->fp), "%s", fp);
    const char *config = sy_db_cstr(r, 0, 0);
    int n = PQgetisnull(r, 0, 1) ? 0 : rows;
    size_t textbytes = 0;
    for (int i = 0; i < n; i++)
        textbytes += (size_t)PQgetlength(r, i, 2) + 1;
    loading l = {.lex = malloc(textbytes ? textbytes : 1)};
    t->ids = malloc((size_t)(n ? n : 1) * sizeof(*t->ids));
    t->empty = malloc((size_t)(n ? n : 1));
    if (!l.lex || !t->ids || !t->empty) {
        loading_free(&l);
        return SY_ENOMEM;
    }
    const char *why = NULL;
    if (!config || strlen(config) >= sizeof(t->config))
        why = "search_config";
    else
        memcpy(t->config, config, strlen(config) + 1);
    t->n = n;
    t->bytes = (size_t)n * (sizeof(*t->ids) + 1);
    for (int i = 0; !why && i < n; i++) {
        bool empty;
        snprintf(t->ids[i], sizeof(t->ids[i]), "%s", sy_db_cstr(r, i, 1));
        rc = add_vector(&l, (uint32_t)i, PQgetvalue(r, i, 2),
                        (size_t)PQgetlength(r, i, 2), &empty);
        if (rc == SY_ENOMEM) {
            loading_free(&l);
            return rc;
        }
        if (rc < 0)
            why = "tsvector";
        t->empty[i] = empty;
        /* a rough bound before building: entries and positions */
        if (l.ne * 10 + l.npos * 2 > SY_TEXTIDX_MAX_BYTES)
            why = "memory";
    }
    if (!why && (rc = build(t, &l)) < 0) {
        loading_free(&l);
        return rc;
    }
    if (!why && t->bytes > SY_TEXTIDX_MAX_BYTES)
        why = "memory";
    t->usable = !why;
    log_load(t, version, l.ne, why, t0);
    loading_free(&l);
    /* the load's scratch (and PostgreSQL's result, freed with the
     * request's arena) back to the system rather than kept in the heap */
    trim_pending = true;
    if (why) { /* keep the label only: its searches go to SQL */
        char keep[FP_LEN];
        memcpy(keep, t->fp, sizeof(keep));
        slot_clear(t);
        memcpy(t->tenant, tenant, SY_UUID_LEN + 1);
        memcpy(t->fp, keep, sizeof(keep));
    }
    return 0;
}

/* The tenant's slot if it has one (none is taken). */
static tenant_idx *
slot_find(const char *tenant)
{
    for (int i = 0; i < SY_TEXTIDX_TENANTS; i++)
        if (strcmp(slots[i].tenant, tenant) == 0)
            return &slots[i];
    return NULL;
}

/* ------------------------------------------------------ the shared files */

/* The index of a tenant at a catalog version as a file under
 * server.runtime_dir (shfile.h), txt-<tenant>-v<version>.bin: this
 * header, then the arrays of tenant_idx, each at a multiple of 8.  An
 * index kept out (over the bound, a stripped vector) is a header alone
 * with usable 0, so that the other responders need not load it to
 * find out. */
#define TXT_MAGIC "SYTXT01"
#define TXT_HDR_BYTES 512
typedef struct txt_hdr {
    char magic[8];
    uint64_t bytes;     /* the whole file */
    uint64_t sum;       /* checksum of what follows the header */
    uint64_t idx_bytes; /* tenant_idx.bytes: what the bound counts */
    uint32_t usable, n, nlex, npost, npos, lexbytes;
    char tenant[SY_UUID_LEN + 1];
    char config[CONFIG_LEN];
    char fp[FP_LEN];
} txt_hdr;
_Static_assert(sizeof(txt_hdr) <= TXT_HDR_BYTES, "textidx header too large");

enum { A_IDS, A_EMPTY, A_LEXBUF, A_LEXOFF, A_POST, A_PROD, A_POSOFF, A_POS,
       A_COUNT };
typedef struct txt_layout {
    uint64_t off[A_COUNT], len[A_COUNT], bytes;
} txt_layout;

static void
layout_of(const txt_hdr *h, txt_layout *l)
{
    uint64_t u = h->usable != 0;
    uint64_t len[A_COUNT] = {
        [A_IDS] = u * h->n * (uint64_t)(SY_UUID_LEN + 1),
        [A_EMPTY] = u * h->n,
        [A_LEXBUF] = u * h->lexbytes,
        [A_LEXOFF] = u * ((uint64_t)h->nlex + 1) * 4,
        [A_POST] = u * ((uint64_t)h->nlex + 1) * 4,
        [A_PROD] = u * h->npost * 4ull,
        [A_POSOFF] = u * ((uint64_t)h->npost + 1) * 4,
        [A_POS] = u * h->npos * 2ull,
    };
    uint64_t o = TXT_HDR_BYTES;
    for (int i = 0; i < A_COUNT; i++) {
        l->off[i] = o;
        l->len[i] = len[i];
        o = (o + len[i] + 7) & ~(uint64_t)7;
    }
    l->bytes = o;
}

static bool
nul_in(const char *s, size_t len)
{
    return memchr(s, '\0', len) != NULL;
}

/* Is every offset of the arrays in range, so that a search can trust
 * them: lexemes sorted strings, offsets rising to their array's end,
 * products below n? */
static bool
arrays_sane(const unsigned char *base, const txt_hdr *h, const txt_layout *l)
{
    const char(*ids)[SY_UUID_LEN + 1] = (const void *)(base + l->off[A_IDS]);
    const char *lexbuf = (const char *)(base + l->off[A_LEXBUF]);
    const uint32_t *lexoff = (const void *)(base + l->off[A_LEXOFF]);
    const uint32_t *post = (const void *)(base + l->off[A_POST]);
    const uint32_t *prod = (const void *)(base + l->off[A_PROD]);
    const uint32_t *posoff = (const void *)(base + l->off[A_POSOFF]);
    for (uint32_t i = 0; i < h->n; i++)
        if (ids[i][SY_UUID_LEN] != '\0')
            return false;
    if (lexoff[0] != 0 || lexoff[h->nlex] != h->lexbytes || post[0] != 0 ||
        post[h->nlex] != h->npost || posoff[0] != 0 ||
        posoff[h->npost] != h->npos)
        return false;
    for (uint32_t i = 0; i < h->nlex; i++) {
        /* a string of its own, and a posting or more, in order; an
         * offset is in range before anything is read at it */
        if (lexoff[i + 1] <= lexoff[i] || lexoff[i + 1] > h->lexbytes ||
            lexbuf[lexoff[i + 1] - 1] != '\0' || post[i + 1] <= post[i] ||
            post[i + 1] > h->npost ||
            (i && strcmp(lexbuf + lexoff[i - 1], lexbuf + lexoff[i]) >= 0))
            return false;
        for (uint32_t k = post[i]; k + 1 < post[i + 1]; k++)
            if (prod[k] >= prod[k + 1])
                return false;
    }
    for (uint32_t k = 0; k < h->npost; k++)
        if (prod[k] >= h->n || posoff[k + 1] < posoff[k] ||
            posoff[k + 1] - posoff[k] > MAX_POS)
            return false;
    return true;
}

bool
sy_textidx_block_check(const void *p, size_t size)
{
    const unsigned char *base = p;
    txt_hdr h;
    txt_layout l;
    if (size < TXT_HDR_BYTES || ((uintptr_t)p & 7) != 0)
        return false;
    memcpy(&h, base, sizeof(h));
    if (memcmp(h.magic, TXT_MAGIC, sizeof(h.magic)) != 0 ||
        h.bytes != size || h.usable > 1 || h.nlex > h.npost ||
        !nul_in(h.tenant, sizeof(h.tenant)) ||
        !nul_in(h.config, sizeof(h.config)) || !nul_in(h.fp, sizeof(h.fp)))
        return false;
    layout_of(&h, &l);
    if (l.bytes != size ||
        sy_shfile_sum(base + TXT_HDR_BYTES, size - TXT_HDR_BYTES) != h.sum)
        return false;
    return !h.usable || arrays_sane(base, &h, &l);
}

/* Write t's index (labelled fp) to fd, sized here. */
static int
write_block(int fd, const tenant_idx *t)
{
    txt_hdr h = {.usable = t->usable,
                 .idx_bytes = t->bytes,
                 .n = t->usable ? (uint32_t)t->n : 0,
                 .nlex = t->usable ? (uint32_t)t->nlex : 0,
                 .npost = t->usable ? t->npost : 0,
                 .npos = t->usable ? t->npos : 0,
                 .lexbytes = t->usable ? t->lexbytes : 0};
    txt_layout l;
    memcpy(h.magic, TXT_MAGIC, sizeof(h.magic));
    memcpy(h.tenant, t->tenant, sizeof(h.tenant));
    memcpy(h.config, t->config, sizeof(h.config));
    memcpy(h.fp, t->fp, sizeof(h.fp));
    layout_of(&h, &l);
    h.bytes = l.bytes;
    if (ftruncate(fd, (off_t)l.bytes) < 0)
        return SY_EIO;
    unsigned char *base =
        mmap(NULL, l.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return SY_EIO;
    if (h.usable) {
        const void *src[A_COUNT] = {t->ids, t->empty, t->lexbuf, t->lexoff,
                                    t->post, t->prod, t->posoff, t->pos};
        for (int i = 0; i < A_COUNT; i++)
            if (l.len[i])
                memcpy(base + l.off[i], src[i], l.len[i]);
    }
    h.sum = sy_shfile_sum(base + TXT_HDR_BYTES, l.bytes - TXT_HDR_BYTES);
    memcpy(base, &h, sizeof(h));
    munmap(base, l.bytes);
    return 0;
}

/* Point t's arrays into the checked block at base (header h). */
static void
attach(tenant_idx *t, void *base, const txt_hdr *h)
{
    unsigned char *b = base;
    txt_layout l;
    layout_of(h, &l);
    memcpy(t->tenant, h->tenant, sizeof(t->tenant));
    memcpy(t->config, h->config, sizeof(t->config));
    memcpy(t->fp, h->fp, sizeof(t->fp));
    t->usable = h->usable;
    t->bytes = h->usable ? (size_t)h->idx_bytes : 0;
    t->n = (int)h->n;
    t->nlex = (int)h->nlex;
    t->npost = h->npost;
    t->npos = h->npos;
    t->lexbytes = h->lexbytes;
    t->ids = (void *)(b + l.off[A_IDS]);
    t->empty = b + l.off[A_EMPTY];
    t->lexbuf = (char *)(b + l.off[A_LEXBUF]);
    t->lexoff = (uint32_t *)(b + l.off[A_LEXOFF]);
    t->post = (uint32_t *)(b + l.off[A_POST]);
    t->prod = (uint32_t *)(b + l.off[A_PROD]);
    t->posoff = (uint32_t *)(b + l.off[A_POSOFF]);
    t->pos = (uint16_t *)(b + l.off[A_POS]);
}

/* Make t the index in dir/name when that file holds a whole index of
 * tenant (and of fingerprint fp, unless NULL).  0; SY_ENOTFOUND when
 * there is none (or of another fingerprint); SY_EINVAL when it is
 * broken (logged: it will be rebuilt). */
static int
map_index(const char *dir, const char *name, const char *tenant,
          const char *fp, tenant_idx *t)
{
    sy_shfile f;
    txt_hdr h;
    int rc = sy_shfile_map(dir, name, TXT_HDR_BYTES, &f);
    if (rc == SY_ENOTFOUND)
        return rc;
    if (rc == 0) {
        memcpy(&h, f.base, sizeof(h));
        if (sy_textidx_block_check(f.base, f.bytes) &&
            strcmp(h.tenant, tenant) == 0) {
            if (fp && strcmp(h.fp, fp) != 0) {
                munmap(f.base, f.bytes); /* another state, not broken */
                return SY_ENOTFOUND;
            }
            if (t->map && t->dev == f.dev && t->ino == f.ino) {
                munmap(f.base, f.bytes); /* the very file held */
                return 0;
            }
            slot_clear(t);
            attach(t, f.base, &h);
            t->map = f.base;
            t->map_bytes = f.bytes;
            t->dev = f.dev;
            t->ino = f.ino;
            return 0;
        }
        munmap(f.base, f.bytes);
    }
    sy_log(SY_LOG_WARN, "textidx_file_rejected",
           "%s/%s is truncated or damaged; rebuilding it", dir, name);
    return SY_EINVAL;
}

static bool unshared_logged;

static void
log_unshared(const char *dir, const char *what, int err)
{
    sy_shfile_unshared(&unshared_logged, "textidx_unshared",
                       "the full-text index", dir, what, err);
}

/* Make dir/name hold the tenant's index of fingerprint fp, unless it
 * already does (built while we waited for the lock), and make t that
 * file's index.  The index is loaded from PostgreSQL into the heap
 * first; when the file cannot be written (SY_EIO: logged once) t keeps
 * that heap copy.  0, SY_EDB, SY_ENOMEM, SY_ENOTFOUND. */
static int
load_shared(sy_arena *a, const char *dir, const char *name,
            const char *tenant, const char *fp, int64_t version,
            tenant_idx *t)
{
    char lockname[64], prefix[64], tmp[96];
    tenant_idx built = {0};
    int rc, fd = -1;
    snprintf(lockname, sizeof(lockname), "txt-%s.lock", tenant);
    snprintf(prefix, sizeof(prefix), "txt-%s-", tenant);
    int lockfd = sy_shfile_lock(dir, lockname);
    if (lockfd < 0)
        log_unshared(dir, "cannot lock a file", errno);
    else if ((rc = map_index(dir, name, tenant, fp, t)) == 0)
        goto out;
    if ((rc = load(a, &built, tenant, fp, version)) < 0) {
        slot_clear(&built);
        goto out;
    }
    if (lockfd >= 0 && (fd = sy_shfile_create(dir, prefix, tmp,
                                              sizeof(tmp))) < 0)
        log_unshared(dir, "cannot create a file", errno);
    if (fd >= 0) {
        bool ok = write_block(fd, &built) == 0;
        if (!ok)
            log_unshared(dir, "cannot write a file", errno);
        close(fd);
        if (!ok)
            sy_shfile_discard(dir, tmp);
        else if (sy_shfile_publish(dir, tmp, name, prefix) < 0)
            log_unshared(dir, "cannot rename a file", errno);
        else if (map_index(dir, name, tenant, fp, t) == 0) {
            slot_clear(&built); /* the file's pages serve instead */
            rc = 0;
            goto out;
        }
    }
    slot_clear(t); /* the heap copy, as without runtime_dir */
    *t = built;
    rc = 0;
out:
    sy_shfile_unlock(lockfd);
    return rc;
}

/* Make the tenant's index current at version, labelled with it: the
 * version's file when another responder built it (no query); else the
 * fingerprint is read and the index loaded only if it moved (or there
 * is none), into the version's file when runtime_dir is set, else into
 * the heap.  Errors leave searches on SQL. */
static int
refresh(sy_arena *a, const char *tenant, int64_t version)
{
    tenant_idx *t = slot_for(tenant);
    int64_t t0 = sy_mono_us();
    const char *dir = sy_shfile_dir(), *fp;
    char name[96];
    int rc;
    snprintf(name, sizeof(name), "txt-%s-v%lld.bin", tenant,
             (long long)version);
    if (dir && !(t->tenant[0] && t->has_version && t->version == version) &&
        map_index(dir, name, tenant, NULL, t) == 0) {
        t->loaded_us = sy_mono_us();
        t->load_us = t->loaded_us - t0;
        make_room(t);
        goto label;
    }
    const char *params[1] = {tenant};
    rc = sy_db_one_text(a, &sql_fingerprint, params, 1, &fp);
    if (rc < 0 || !fp)
        return rc == SY_ENOMEM ? rc : 0;
    if (!t->tenant[0] || strcmp(t->fp, fp) != 0) {
        rc = dir ? load_shared(a, dir, name, tenant, fp, version, t)
                 : load(a, t, tenant, fp, version);
        if (rc < 0) {
            slot_clear(t);
            return rc == SY_ENOMEM ? rc : 0;
        }
        t->loaded_us = sy_mono_us();
        t->load_us = t->loaded_us - t0;
        make_room(t);
    }
label:
    t->has_version = true;
    t->version = version;
    /* the next check: RECHECK_US to 1.5 times that from now */
    t->checked_us = sy_mono_us() + (int64_t)sy_random_below(RECHECK_US / 2);
    t->used = ++ticks;
    return 0;
}

/* A load or recheck that a search finds due waits for the responder to
 * have nothing to serve (sy_textidx_idle), up to IDLE_WAIT_US; then the
 * search that finds it still due does it.  One tenant waits at a time
 * (the oldest; a wait past its bound gives the turn to the next). */
#define IDLE_WAIT_US 2000000
static char want[SY_UUID_LEN + 1];
static int64_t want_since_us;

/* Leave tenant's refresh to an idle moment? */
static bool
defer_refresh(const char *tenant, int64_t now)
{
    if (!want[0] ||
        (strcmp(want, tenant) != 0 && now - want_since_us >= IDLE_WAIT_US)) {
        memcpy(want, tenant, SY_UUID_LEN + 1);
        want_since_us = now;
    }
    if (strcmp(want, tenant) != 0)
        return true; /* another tenant's turn first */
    if (now - want_since_us < IDLE_WAIT_US)
        return true;
    want[0] = '\0'; /* done now, by the caller */
    return false;
}

/* RELOAD_SHARE's pacing: t was loaded too recently to load again. */
static bool
paced(const tenant_idx *t, int64_t now)
{
    return t->loaded_us && now - t->loaded_us < RELOAD_SHARE * t->load_us;
}

/* The tenant's index, current as described atop this file, or NULL
 * (*fallback) when searches must go to SQL. */
static int
current(sy_arena *a, const sy_catver *cv, const char *tenant,
        tenant_idx **out)
{
    int64_t version = 0;
    *out = NULL;
    if (!tenant || strlen(tenant) != SY_UUID_LEN ||
        sy_cache_catalog_version(a, cv, tenant, &version) < 0)
        return 0;
    tenant_idx *t = slot_find(tenant);
    bool known = t && t->has_version && t->version == version;
    int64_t now = sy_mono_us();
    /* A catalog that keeps changing (stock moved by orders: each write
     * moves the version and the fingerprint) would have every responder
     * reload at each search: its searches go to SQL until RELOAD_SHARE
     * times the last load's time has passed since it, so that reloads
     * take at most a 1/RELOAD_SHARE share of a responder's time. */
    if (!known && t && paced(t, now))
        return 0;
    if (!known || now - t->checked_us >= RECHECK_US) {
        /* Not in this request, if the responder has a free moment soon:
         * a load (0.15-0.7 s for 10,000 products) or even the fingerprint
         * (15 ms) would hold every request queued on this responder's
         * connections.  SQL meanwhile; a recheck only: the index serves,
         * at the version it is labelled with. */
        if (defer_refresh(tenant, now)) {
            if (!known)
                return 0;
        } else {
            int rc = refresh(a, tenant, version);
            if (rc < 0)
                return rc;
            t = slot_find(tenant);
            if (!t || !t->has_version || t->version != version)
                return 0;
        }
    }
    t->used = ++ticks;
    if (t->usable)
        *out = t;
    return 0;
}

bool
sy_textidx_idle_due(void)
{
    return want[0] || trim_pending;
}

void
sy_textidx_idle(sy_arena *a)
{
    if (want[0]) {
        char tenant[SY_UUID_LEN + 1];
        int64_t version;
        memcpy(tenant, want, sizeof(tenant));
        want[0] = '\0';
        tenant_idx *t = slot_find(tenant);
        /* searched again since the wait began and now current, or loaded
         * too recently (the next search asks again) */
        if (sy_cache_catalog_version(a, NULL, tenant, &version) == 0 &&
            !(t && t->has_version && t->version == version &&
              sy_mono_us() - t->checked_us < RECHECK_US) &&
            !(t && !(t->has_version && t->version == version) &&
              paced(t, sy_mono_us()))) {
            in_idle = true;
            refresh(a, tenant, version);
            in_idle = false;
        }
    }
    if (trim_pending) {
        /* the last load's scratch (and PostgreSQL's result, freed with
         * the arena) back to the system rather than kept in the heap */
        malloc_trim(0);
        trim_pending = false;
    }
}

/* ------------------------------------------------------------ search */

/* The query's text for q in t's configuration: from the memory cache,
 * else from PostgreSQL (then kept). */
static int
query_text(sy_arena *a, const tenant_idx *t, const char *q, sy_str *out)
{
    size_t cl = strlen(t->config), ql = strlen(q), vlen;
    char *key = sy_arena_alloc(a, cl + 1 + ql);
    if (!key)
        return SY_ENOMEM;
    memcpy(key, t->config, cl + 1);
    memcpy(key + cl + 1, q, ql);
    const char *v = sy_memcache_get(&tsq_cache, key, cl + 1 + ql, &vlen);
    if (v) {
        *out = (sy_str){v, vlen};
        return 0;
    }
    const char *params[2] = {t->config, q}, *text;
    int rc = sy_db_one_text(a, &sql_tsquery, params, 2, &text);
    if (rc < 0 || !text)
        return rc < 0 ? rc : SY_EDB;
    *out = (sy_str){text, strlen(text)};
    sy_memcache_put(&tsq_cache, key, cl + 1 + ql, text, out->len);
    return 0;
}

/* The posting range [*from, *to) of lexeme s in t (empty: not there). */
static void
postings_of(const tenant_idx *t, const char *s, uint32_t *from,
            uint32_t *to)
{
    int lo = 0, hi = t->nlex;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(t->lexbuf + t->lexoff[mid], s);
        if (c == 0) {
            *from = t->post[mid];
            *to = t->post[mid + 1];
            return;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *from = *to = 0;
}

typedef struct match {
    uint32_t prod;
    double score;
} match;

static const tenant_idx *sort_idx; /* for by_score */

static int
by_score(const void *x, const void *y)
{
    const match *a = x, *b = y;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return strcmp(sort_idx->ids[a->prod], sort_idx->ids[b->prod]);
}

static int
rank(sy_arena *a, const tenant_idx *t, const sy_tsquery *q, int limit,
     int candidates, sy_product_score **rows, int *n)
{
    int nl = q->nlex;
    uint32_t *cur = sy_arena_alloc(a, (size_t)(nl + 1) * sizeof(*cur));
    uint32_t *end = sy_arena_alloc(a, (size_t)(nl + 1) * sizeof(*end));
    const uint16_t **pos = sy_arena_alloc(a, (size_t)(nl + 1) * sizeof(*pos));
    int *npos = sy_arena_alloc(a, (size_t)(nl + 1) * sizeof(*npos));
    match *m = sy_arena_alloc(a, (size_t)(candidates > 0 ? candidates : 1) *
                                     sizeof(*m));
    if (!cur || !end || !pos || !npos || !m)
        return SY_ENOMEM;
    for (int i = 0; i < nl; i++)
        postings_of(t, q->lex[i], &cur[i], &end[i]);
    bool all = sy_tsquery_matches_empty(q);
    sy_tsdoc d = {pos, npos};
    int got = 0;
    uint32_t next = 0; /* with all: the next product */
    /* past candidates matches, which ones PostgreSQL ranks depends on
     * its plan (a bitmap scan's storage order, an index's order): one
     * more match found sends the query to SQL */
    bool over = false;
    while (!over && q->root >= 0) {
        /* the next product with one of the lexemes (or any, with all) */
        uint32_t p = UINT32_MAX;
        for (int i = 0; i < nl; i++)
            if (cur[i] < end[i] && t->prod[cur[i]] < p)
                p = t->prod[cur[i]];
        if (all)
            p = next < (uint32_t)t->n ? next++ : UINT32_MAX;
        if (p == UINT32_MAX)
            break;
        for (int i = 0; i < nl; i++) {
            npos[i] = 0;
            while (cur[i] < end[i] && t->prod[cur[i]] < p)
                cur[i]++; /* only with all: products before p */
            if (cur[i] < end[i] && t->prod[cur[i]] == p) {
                pos[i] = t->pos + t->posoff[cur[i]];
                npos[i] = (int)(t->posoff[cur[i] + 1] - t->posoff[cur[i]]);
                cur[i]++;
            }
        }
        if (!sy_tsquery_match(q, &d))
            continue;
        if (got == candidates) {
            over = true;
            break;
        }
        float r = sy_tsquery_rank(q, &d, t->empty[p]);
        m[got++] = (match){p, 0.5 + 0.5 * (double)r};
    }
    if (over)
        return SY_TEXTIDX_FALLBACK;
    sort_idx = t;
    qsort(m, (size_t)got, sizeof(*m), by_score);
    if (got > limit)
        got = limit;
    sy_product_score *out =
        sy_arena_alloc(a, (size_t)(got ? got : 1) * sizeof(*out));
    if (!out)
        return SY_ENOMEM;
    for (int i = 0; i < got; i++) {
        out[i].id = sy_arena_strndup(a, t->ids[m[i].prod], SY_UUID_LEN);
        out[i].score = m[i].score;
        if (!out[i].id)
            return SY_ENOMEM;
    }
    *rows = out;
    *n = got;
    return 0;
}

int
sy_textidx_search(sy_arena *a, const sy_catver *cv, const char *tenant,
                  const char *q, int limit, int candidates,
                  sy_product_score **rows, int *n)
{
    tenant_idx *t;
    sy_tsquery tq;
    sy_str text;
    int rc = current(a, cv, tenant, &t);
    if (rc == 0 && t && (rc = query_text(a, t, q, &text)) == 0)
        rc = sy_tsquery_parse(a, text, &tq);
    if (rc == 0 && t)
        rc = rank(a, t, &tq, limit, candidates, rows, n);
    if (rc == SY_ENOMEM)
        return rc;
    if (rc != 0 || !t) {
        sy_counter_inc(&fallback_metric);
        return SY_TEXTIDX_FALLBACK;
    }
    sy_counter_inc(&memory_metric);
    return 0;
}

int
sy_textidx_block_probe(sy_arena *a, const void *p, size_t size, int *hits)
{
    tenant_idx t = {0};
    txt_hdr h;
    sy_buf q;
    sy_tsquery tq;
    sy_product_score *rows;
    int n = 0, rc;
    *hits = 0;
    if (!sy_textidx_block_check(p, size))
        return SY_EINVAL;
    memcpy(&h, p, sizeof(h));
    if (!h.usable)
        return 0;
    attach(&t, (void *)(uintptr_t)p, &h);
    /* every lexeme is found where it is, with its postings */
    for (int i = 0; i < t.nlex; i++) {
        uint32_t from, to;
        postings_of(&t, t.lexbuf + t.lexoff[i], &from, &to);
        if (from != t.post[i] || to != t.post[i + 1])
            return SY_EINVAL;
    }
    /* a search for the first lexemes, or not the first one */
    sy_buf_init(&q, a, 4096);
    for (int i = 0; i < t.nlex && i < 3; i++) {
        if (i && sy_buf_puts(&q, " | ") < 0)
            return SY_ENOMEM;
        if (sy_buf_putc(&q, '\'') < 0)
            return SY_ENOMEM;
        for (const char *c = t.lexbuf + t.lexoff[i]; *c; c++) {
            bool twice = *c == '\'' || *c == '\\'; /* as PostgreSQL quotes */
            if ((twice && sy_buf_putc(&q, *c) < 0) ||
                sy_buf_putc(&q, *c) < 0)
                return SY_ENOMEM;
        }
        if (sy_buf_putc(&q, '\'') < 0)
            return SY_ENOMEM;
    }
    if (!q.len && sy_buf_puts(&q, "!'a'") < 0)
        return SY_ENOMEM;
    if ((rc = sy_tsquery_parse(a, sy_buf_str(&q), &tq)) < 0)
        return rc;
    rc = rank(a, &t, &tq, 10, 1000, &rows, &n);
    if (rc < 0)
        return rc;
    *hits = rc == SY_TEXTIDX_FALLBACK ? -1 : n;
    return 0;
}
