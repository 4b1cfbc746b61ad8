/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * multipart.h - a bounded multipart/form-data parser (RFC 7578 on the
 * syntax of RFC 2046 section 5.1.1), and the media type of a
 * Content-Type header value.
 *
 * Pure: it reads the Content-Type header value and the body bytes it is
 * given, does no I/O and keeps no state.  What it returns are views into
 * the body (the part's bytes, its Content-Type), except a quoted
 * parameter value that holds backslash escapes, which is unescaped into
 * the arena.
 *
 * What it accepts, strictly:
 *  - Content-Type `multipart/form-data` (any case) with exactly one
 *    `boundary` parameter, token or quoted-string (quoted-pairs allowed);
 *    the boundary is 1 to 70 characters of RFC 2046's bchars (letters,
 *    digits, ' ( ) + _ , - . / : = ? and space) and does not end in a
 *    space.
 *  - A body of: an optional preamble, then `--boundary` at the start of
 *    the body or of a line, transport padding (spaces, tabs), CRLF; parts
 *    separated by CRLF `--boundary` padding CRLF; the close delimiter
 *    CRLF `--boundary--`, then padding and, optionally, CRLF and an
 *    epilogue (ignored).  Lines end in CRLF; a bare LF is not a line end.
 *    The boundary must not occur in the parts (RFC 2046): any CRLF
 *    `--boundary` that is not followed by padding and CRLF, or by `--`,
 *    is malformed.
 *  - Part headers: at most SY_MULTIPART_MAX_HEADERS lines and
 *    SY_MULTIPART_MAX_HEADER_BYTES bytes per part, `name: value`, no
 *    folded lines.  Every part carries `Content-Disposition: form-data`
 *    with a `name`; parameters may be quoted.
 *  - At most SY_MULTIPART_MAX_PARTS parts.
 * The part named `field` is returned; other parts are skipped.  A second
 * part of that name is refused (which one was meant is unclear).
 */
#ifndef SYNTHIA_MULTIPART_H
#define SYNTHIA_MULTIPART_H

#include <stdbool.h>

#include "synthia/arena.h"
#include "synthia/str.h"

#define SY_MULTIPART_BOUNDARY_MAX 70
#define SY_MULTIPART_MAX_PARTS 16
#define SY_MULTIPART_MAX_HEADERS 8
#define SY_MULTIPART_MAX_HEADER_BYTES 2048

typedef struct sy_multipart_part {
    sy_str data;         /* the part's bytes (a view into the body) */
    sy_str content_type; /* its declared Content-Type (view), may be
                            empty; informative only */
    sy_str filename;     /* its declared filename, unescaped (view or
                            arena memory), may be empty */
    int parts;           /* parts in the body */
} sy_multipart_part;

/* The media type of a Content-Type value: `type/subtype` without
 * parameters and white space (a view; empty when there is none). */
sy_str sy_multipart_media_type(sy_str content_type);

/* Is content_type multipart/form-data (any parameters)? */
bool sy_multipart_is_form(sy_str content_type);

/* Find the part named field in body.  Returns 0 and *out; SY_EMEDIA when
 * content_type is not multipart/form-data; SY_EBADREQ when the boundary
 * or the body is malformed or over a bound; SY_ENOTFOUND when the body
 * is well-formed but has no part named field; SY_ENOMEM.  *why gets a
 * sentence for the client on every failure (a static string).  *out is
 * written only on success. */
int sy_multipart_find(sy_arena *a, sy_str content_type, sy_str body,
                      const char *field, sy_multipart_part *out,
                      const char **why);

#endif
