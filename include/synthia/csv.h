/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * csv.h - CSV files as RFC 4180 writes them (app/core/csv.c), into a
 * table (table.h).
 *
 * - Fields separated by ',' ';' or tab: given, or detected from the
 *   header line (the one of the three that occurs most often outside
 *   quotes; ',' on a tie or when none does).
 * - Records end with CRLF, LF or a lone CR; a last record may end
 *   without one.  Lines with nothing on them are skipped.
 * - A field that starts with '"' is quoted: it runs to the next '"' not
 *   doubled, may hold delimiters, line breaks and "" (one quote), and
 *   must be followed by the delimiter or the end of its record.  A '"'
 *   inside an unquoted field is an ordinary character.
 * - UTF-8, with or without a byte-order mark; strictly (text.h): a byte
 *   sequence that is not UTF-8, a NUL or another control character than
 *   tab, CR and LF is refused with the row it is on.
 * - The first record names the columns (trimmed; an empty name becomes
 *   "column_N", a repeated one "name (2)"); every later record is a row.
 *   A row shorter than the header is padded with missing cells; a longer
 *   one is refused unless the extra fields are empty.
 * - Cells are trimmed of surrounding white space; an empty one is
 *   missing.
 *
 * Pure: no I/O, every allocation from the arena, two passes over the
 * input (the first checks and counts, the second fills), so a refused
 * file costs no table.  Cells are views into the input where no ""
 * needs undoing: the input must outlive the table.
 */
#ifndef SYNTHIA_CSV_H
#define SYNTHIA_CSV_H

#include <stdbool.h>
#include <stdint.h>

#include "synthia/arena.h"
#include "synthia/str.h"
#include "synthia/table.h"

#define SY_CSV_NAME_MAX 200 /* characters of a column name */

typedef struct sy_csv_opts {
    char delimiter;     /* ',', ';', '\t', or 0: detect */
    uint32_t max_rows;  /* data rows (the header not counted) */
    uint32_t max_cols;
    uint32_t max_cells; /* rows x columns */
    size_t max_cell;    /* bytes of one field as written in the file */
} sy_csv_opts;

typedef struct sy_csv_info {
    char delimiter; /* the one used */
    bool bom;       /* the input started with a UTF-8 byte-order mark */
} sy_csv_info;

/* Why a file was refused: a sentence (static), where. */
typedef struct sy_csv_error {
    const char *message;
    int64_t row;    /* data row, 0-based; -1: the header */
    int64_t line;   /* line of the file where that record starts, 1-based */
    int64_t column; /* field, 0-based; -1: the record as a whole */
} sy_csv_error;

/* Parse in into *out (every column typed 0, unmapped, no marks).  0;
 * SY_EVALIDATION with *err (the first problem found); SY_ENOMEM.  *out
 * and *info are written only on success. */
int sy_csv_parse(sy_arena *a, sy_str in, const sy_csv_opts *o,
                 sy_table *out, sy_csv_info *info, sy_csv_error *err);

#endif
