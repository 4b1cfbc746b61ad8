/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * impcodec.h - how an import session's table is stored in Redis
 * (app/store/impcodec.c): a compact column-major form, LZ4-compressed.
 *
 * Raw form (integers are LEB128 varints, "v"):
 *   "SYT1"  v rows  v cols
 *   per column: v len, name;  v len, field;  1 byte type
 *   per column, per row: v 0 for a missing cell, else v (len + 1), bytes
 *   v marks, then per mark: v column, v row
 * Stored form: "SYZ1", the raw length as 4 bytes little-endian, then the
 * raw form as one LZ4 block.  A column's cells are written one after
 * another, so the similar values of a column (prices, categories,
 * colours) sit together and compress well; 10,000 rows of 12 columns
 * take some 0.2 to 0.4 of their CSV size.
 *
 * Decoding checks everything: the magic, the lengths against what is
 * left, every count against the raw size, LZ4's own bounds; anything
 * that does not decode exactly is refused (SY_EINVAL), never guessed.
 * Decoded cells are views into one arena copy of the raw form.
 */
#ifndef SYNTHIA_IMPCODEC_H
#define SYNTHIA_IMPCODEC_H

#include "synthia/arena.h"
#include "synthia/str.h"
#include "synthia/table.h"

#define SY_IMPCODEC_RAW_MAX (1u << 30) /* largest raw form, bytes */

/* t in its stored form (arena memory).  0, SY_ENOMEM, SY_ETOOBIG when
 * the raw form would pass SY_IMPCODEC_RAW_MAX. */
int sy_impcodec_encode(sy_arena *a, const sy_table *t, sy_str *out);

/* A stored form back into *out.  0, SY_EINVAL (not one we wrote),
 * SY_ENOMEM.  *out is written only on success. */
int sy_impcodec_decode(sy_arena *a, sy_str stored, sy_table *out);

#endif
