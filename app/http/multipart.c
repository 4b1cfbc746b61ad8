/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * multipart.c - multipart/form-data (multipart.h): the boundary from the
 * Content-Type, the delimiter lines, each part's headers and its
 * Content-Disposition, bounded in parts, header lines and header bytes.
 *
 * Grammar (RFC 2046 section 5.1.1, RFC 7578; parameters as RFC 9110
 * section 5.6.6 with quoted-strings of section 5.6.4):
 *
 *   body        = [preamble CRLF] dash-boundary padding CRLF part
 *                 *(CRLF dash-boundary padding CRLF part)
 *                 CRLF dash-boundary "--" padding [CRLF epilogue]
 *   part        = *(header CRLF) CRLF *OCTET
 *   padding     = *(SP / HTAB)
 *
 * The parser walks the body once: memmem finds each "\r\n--boundary",
 * so the cost is linear in the body whatever its content.
 */
#include "synthia/multipart.h"

#include <string.h>

#include "synthia/error.h"

#define BAD(msg) (*why = (msg), SY_EBADREQ)

/* ------------------------------------------------------------ lexing */

static bool
is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* bchars of RFC 2046 (bcharsnospace plus space) */
static bool
is_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("'()+_,-./:=? ", c) != NULL;
}

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static sy_str
trim_ows(sy_str s)
{
    while (s.len && is_ows(s.p[0]))
        s.p++, s.len--;
    while (s.len && is_ows(s.p[s.len - 1]))
        s.len--;
    return s;
}

/* A token at the start of *s (advanced past it); empty when none. */
static sy_str
take_token(sy_str *s)
{
    size_t n = 0;
    while (n < s->len && is_tchar((unsigned char)s->p[n]))
        n++;
    sy_str t = {s->p, n};
    s->p += n;
    s->len -= n;
    return t;
}

/* A quoted-string at the start of *s (which starts with '"'): its value
 * with the quoted-pairs undone (a view when there are none, else arena
 * memory).  0, SY_EBADREQ, or SY_ENOMEM. */
static int
take_quoted(sy_arena *a, sy_str *s, sy_str *out)
{
    size_t i = 1, escapes = 0;
    for (;; i++) {
        if (i >= s->len)
            return SY_EBADREQ; /* unterminated */
        unsigned char c = (unsigned char)s->p[i];
        if (c == '"')
            break;
        if (c == '\\') {
            if (++i >= s->len)
                return SY_EBADREQ;
            c = (unsigned char)s->p[i];
            if (c != '\t' && (c < 0x20 || c == 0x7f))
                return SY_EBADREQ;
            escapes++;
        } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
            return SY_EBADREQ;
        }
    }
    sy_str inner = {s->p + 1, i - 1};
    s->p += i + 1;
    s->len -= i + 1;
    if (!escapes) {
        *out = inner;
        return 0;
    }
    char *p = sy_arena_alloc(a, inner.len - escapes + 1);
    if (!p)
        return SY_ENOMEM;
    size_t n = 0;
    for (size_t j = 0; j < inner.len; j++) {
        if (inner.p[j] == '\\')
            j++;
        p[n++] = inner.p[j];
    }
    p[n] = '\0';
    *out = (sy_str){p, n};
    return 0;
}

/* The parameters after a media type or disposition type:
 * *(OWS ";" OWS name "=" (token / quoted-string)) OWS.  The values of
 * names[0..n-1] (matched in any case) go to values[]; others are
 * skipped; a name given twice is refused.  0, SY_EBADREQ (*why set), or
 * SY_ENOMEM. */
static int
parse_params(sy_arena *a, sy_str s, const char *const *names, sy_str *values,
             int n, const char **why)
{
    bool seen[4] = {false, false, false, false};
    for (;;) {
        s = trim_ows(s);
        if (s.len == 0)
            return 0;
        if (s.p[0] != ';')
            return BAD("A header parameter list is malformed.");
        s.p++, s.len--;
        s = trim_ows(s);
        if (s.len == 0)
            return 0; /* a trailing ";" (seen in the wild) */
        sy_str name = take_token(&s), value;
        if (name.len == 0 || s.len == 0 || s.p[0] != '=')
            return BAD("A header parameter is malformed.");
        s.p++, s.len--;
        if (s.len && s.p[0] == '"') {
            int rc = take_quoted(a, &s, &value);
            if (rc == SY_ENOMEM)
                return rc;
            if (rc < 0)
                return BAD("A quoted header parameter is malformed.");
        } else {
            value = take_token(&s);
            if (value.len == 0)
                return BAD("A header parameter has no value.");
        }
        for (int i = 0; i < n && i < 4; i++) {
            if (!sy_str_ieqc(name, names[i]))
                continue;
            if (seen[i])
                return BAD("A header parameter is given twice.");
            seen[i] = true;
            values[i] = value;
        }
    }
}

/* ------------------------------------------------------- media types */

/* The type/subtype and what follows it (the parameters). */
static sy_str
media_type(sy_str ct, sy_str *params)
{
    ct = trim_ows(ct);
    const char *semi = ct.len ? memchr(ct.p, ';', ct.len) : NULL;
    sy_str mt = {ct.p, semi ? (size_t)(semi - ct.p) : ct.len};
    if (params)
        *params = (sy_str){mt.p + mt.len, ct.len - mt.len};
    return trim_ows(mt);
}

sy_str
sy_multipart_media_type(sy_str content_type)
{
    return media_type(content_type, NULL);
}

bool
sy_multipart_is_form(sy_str content_type)
{
    return sy_str_ieqc(media_type(content_type, NULL),
                       "multipart/form-data");
}

/* The boundary parameter of a multipart/form-data Content-Type. */
static int
boundary_of(sy_arena *a, sy_str ct, sy_str *out, const char **why)
{
    sy_str params;
    if (!sy_str_ieqc(media_type(ct, &params), "multipart/form-data")) {
        *why = "The body must be multipart/form-data or an image.";
        return SY_EMEDIA;
    }
    static const char *const names[] = {"boundary"};
    sy_str b = SY_STR_NULL;
    int rc = parse_params(a, params, names, &b, 1, why);
    if (rc < 0)
        return rc;
    if (!b.p)
        return BAD("The multipart Content-Type has no boundary.");
    if (b.len < 1 || b.len > SY_MULTIPART_BOUNDARY_MAX ||
        b.p[b.len - 1] == ' ')
        return BAD("The multipart boundary must be 1 to 70 characters and "
                   "must not end in a space.");
    for (size_t i = 0; i < b.len; i++)
        if (!is_bchar((unsigned char)b.p[i]))
            return BAD("The multipart boundary has a character RFC 2046 "
                       "does not allow.");
    *out = b;
    return 0;
}

/* ------------------------------------------------------------ the body */

typedef struct cursor {
    const char *p;   /* next unread byte */
    const char *end;
    char delim[4 + SY_MULTIPART_BOUNDARY_MAX]; /* "\r\n--" boundary */
    size_t dlen;
} cursor;

/* After a delimiter: padding, then CRLF (another part follows: 1) or
 * "--" (the close delimiter: 0; what follows must be padding, then CRLF
 * or the end).  SY_EBADREQ otherwise. */
static int
after_delimiter(cursor *c, const char **why)
{
    if (c->end - c->p >= 2 && c->p[0] == '-' && c->p[1] == '-') {
        c->p += 2;
        while (c->p < c->end && is_ows(*c->p))
            c->p++;
        if (c->p == c->end ||
            (c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n'))
            return 0; /* the epilogue, if any, is ignored */
        return BAD("The multipart close delimiter is followed by "
                   "something other than a line end.");
    }
    while (c->p < c->end && is_ows(*c->p))
        c->p++;
    if (c->end - c->p >= 2 && c->p[0] == '\r' && c->p[1] == '\n') {
        c->p += 2;
        return 1;
    }
    return BAD("A multipart delimiter line is malformed (or the boundary "
               "occurs inside a part).");
}

/* The first delimiter: "--boundary" at the start of the body or after a
 * CRLF of the preamble. */
static int
first_delimiter(cursor *c, const char **why)
{
    const char *dash = c->delim + 2; /* "--boundary" */
    size_t n = c->dlen - 2;
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, dash, n) == 0) {
        c->p += n;
    } else {
        const char *at = memmem(c->p, (size_t)(c->end - c->p), c->delim,
                                c->dlen);
        if (!at)
            return BAD("The multipart body has no boundary delimiter.");
        c->p = at + c->dlen;
    }
    return after_delimiter(c, why);
}

typedef struct part_head {
    sy_str name, filename, content_type;
} part_head;

/* One header line "name: value" (without its CRLF) into h. */
static int
part_header(sy_arena *a, sy_str line, part_head *h, bool *have_cd,
            const char **why)
{
    if (line.len && is_ows(line.p[0]))
        return BAD("A multipart part header is folded.");
    const char *colon = memchr(line.p, ':', line.len);
    if (!colon)
        return BAD("A multipart part header has no colon.");
    sy_str name = {line.p, (size_t)(colon - line.p)};
    sy_str rest = name;
    if (take_token(&rest).len != name.len || name.len == 0)
        return BAD("A multipart part header name is malformed.");
    sy_str value = trim_ows((sy_str){colon + 1, line.len - name.len - 1});
    for (size_t i = 0; i < value.len; i++) {
        unsigned char ch = (unsigned char)value.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return BAD("A multipart part header has a control character.");
    }
    if (sy_str_ieqc(name, "Content-Type")) {
        h->content_type = value;
        return 0;
    }
    if (!sy_str_ieqc(name, "Content-Disposition"))
        return 0; /* Content-Transfer-Encoding and the rest: ignored */
    if (*have_cd)
        return BAD("A multipart part has two Content-Disposition headers.");
    *have_cd = true;
    sy_str params = value;
    sy_str type = take_token(&params);
    if (!sy_str_ieqc(type, "form-data"))
        return BAD("A multipart part is not Content-Disposition: "
                   "form-data.");
    static const char *const names[] = {"name", "filename"};
    sy_str v[2] = {SY_STR_NULL, SY_STR_NULL};
    int rc = parse_params(a, params, names, v, 2, why);
    if (rc < 0)
        return rc;
    h->name = v[0];
    h->filename = v[1];
    return 0;
}

/* The headers of a part, up to and including the empty line. */
static int
part_headers(sy_arena *a, cursor *c, part_head *h, const char **why)
{
    bool have_cd = false;
    const char *start = c->p;
    memset(h, 0, sizeof(*h));
    for (int lines = 0;; lines++) {
        size_t left = (size_t)(c->end - c->p);
        size_t window = SY_MULTIPART_MAX_HEADER_BYTES -
                        (size_t)(c->p - start);
        const char *crlf = memmem(c->p, left < window ? left : window,
                                  "\r\n", 2);
        if (!crlf)
            return BAD(left < window
                           ? "A multipart part's headers are cut short."
                           : "A multipart part's headers are too long.");
        sy_str line = {c->p, (size_t)(crlf - c->p)};
        c->p = crlf + 2;
        if (line.len == 0)
            break;
        if (lines == SY_MULTIPART_MAX_HEADERS)
            return BAD("A multipart part has too many headers.");
        int rc = part_header(a, line, h, &have_cd, why);
        if (rc < 0)
            return rc;
    }
    if (!have_cd || !h->name.p)
        return BAD("A multipart part has no Content-Disposition name.");
    return 0;
}

int
sy_multipart_find(sy_arena *a, sy_str content_type, sy_str body,
                  const char *field, sy_multipart_part *out, const char **why)
{
    static const char *const enomem = "Out of memory.";
    sy_str boundary;
    int rc = boundary_of(a, content_type, &boundary, why);
    if (rc < 0)
        return rc == SY_ENOMEM ? (*why = enomem, rc) : rc;
    cursor c = {.p = body.p ? body.p : "", .dlen = 4 + boundary.len};
    c.end = c.p + body.len;
    memcpy(c.delim, "\r\n--", 4);
    memcpy(c.delim + 4, boundary.p, boundary.len);

    sy_multipart_part found = {0};
    bool have = false;
    int parts = 0;
    int more = first_delimiter(&c, why);
    while (more > 0) {
        if (++parts > SY_MULTIPART_MAX_PARTS)
            return BAD("The multipart body has too many parts.");
        part_head h;
        rc = part_headers(a, &c, &h, why);
        if (rc < 0)
            return rc == SY_ENOMEM ? (*why = enomem, rc) : rc;
        const char *at = memmem(c.p, (size_t)(c.end - c.p), c.delim, c.dlen);
        if (!at)
            return BAD("The multipart body ends before its close "
                       "delimiter.");
        if (sy_str_eqc(h.name, field)) {
            if (have)
                return BAD("The multipart body has more than one part of "
                           "that name.");
            have = true;
            found.data = (sy_str){c.p, (size_t)(at - c.p)};
            found.content_type = h.content_type;
            found.filename = h.filename;
        }
        c.p = at + c.dlen;
        more = after_delimiter(&c, why);
    }
    if (more < 0)
        return more;
    if (!have) {
        *why = "The multipart body has no part of that name.";
        return SY_ENOTFOUND;
    }
    found.parts = parts;
    *out = found;
    return 0;
}
