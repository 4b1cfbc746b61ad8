/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * text.h - what text from a client may contain, decided in one place.
 *
 * Strings reach PostgreSQL (which refuses invalid UTF-8 and NUL) and
 * Redis keys; a rule that lets one through gets a 5xx or, worse, two
 * different strings that compare equal in one store and not in the
 * other.  So every string field is checked here: strict UTF-8 (no
 * overlong forms, no surrogates, nothing above U+10FFFF), no NUL, and
 * for single-line fields (emails, names, skus, slugs, keys) no C0 or DEL
 * control characters; multi-line text (descriptions) may keep tab, LF
 * and CR.
 */
#ifndef SYNTHIA_TEXT_H
#define SYNTHIA_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "synthia/str.h"

/* Strict UTF-8 (RFC 3629): true when every byte sequence is a shortest
 * form of a scalar value (U+0000..U+D7FF, U+E000..U+10FFFF). */
bool sy_text_utf8(sy_str s);

/* White space (space, tab, CR, LF) trimmed from both ends. */
sy_str sy_text_trim(sy_str s);

/* Valid UTF-8 without NUL, C0 control characters or DEL. */
bool sy_text_line_ok(sy_str s);

/* Valid UTF-8 without NUL or control characters other than tab, LF and
 * CR. */
bool sy_text_multiline_ok(sy_str s);

/* A canonical lower- or upper-case UUID (8-4-4-4-12 hex), NUL-terminated
 * string; NULL is not one. */
bool sy_text_uuid(const char *s);

#endif
