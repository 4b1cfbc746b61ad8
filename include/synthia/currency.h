/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * currency.h - ISO 4217 currency codes (API.md: money is integer minor
 * units plus an ISO 4217 currency).
 */
#ifndef SYNTHIA_CURRENCY_H
#define SYNTHIA_CURRENCY_H

#include <stdbool.h>
#include <stddef.h>

#include "synthia/str.h"

/* Is s the code of a current ISO 4217 currency ("EUR"; upper case, as
 * the standard writes them; funds, metals and test codes are not)? */
bool sy_currency_iso4217(sy_str s);

/* The i-th code of the table in its (sorted) order, NULL past the end:
 * for tests and documentation. */
const char *sy_currency_at(size_t i);

#endif
