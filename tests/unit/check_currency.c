/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * check_currency.c - ISO 4217 codes (currency.h): current currencies in
 * upper case only; funds, metals, test codes and withdrawn currencies
 * refused; the table sorted, so the binary search finds every entry.
 */
#include <string.h>

#include "sycheck.h"
#include "synthia/currency.h"

#define S(lit) ((sy_str){(lit), sizeof(lit) - 1})

START_TEST(test_current_currencies)
{
    static const char *const ok[] = {"EUR", "USD", "JPY", "GBP", "CHF",
                                     "AED", "ZWG", "XCG", "XOF", "VES"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        ck_assert_msg(sy_currency_iso4217(sy_str_c(ok[i])), "%s", ok[i]);
}
END_TEST

START_TEST(test_refuses_what_is_not_money_in_circulation)
{
    /* shapes */
    ck_assert(!sy_currency_iso4217(S("")));
    ck_assert(!sy_currency_iso4217(S("eur")));
    ck_assert(!sy_currency_iso4217(S("Eur")));
    ck_assert(!sy_currency_iso4217(S("EURO")));
    ck_assert(!sy_currency_iso4217(S("EU")));
    ck_assert(!sy_currency_iso4217(S("EU\0")));
    ck_assert(!sy_currency_iso4217(S("E\xc3\x9a")));
    /* three capitals that are no currency */
    ck_assert(!sy_currency_iso4217(S("ABC")));
    ck_assert(!sy_currency_iso4217(S("ZZZ")));
    ck_assert(!sy_currency_iso4217(S("AAA")));
    /* funds, metals, units of account, testing, "no currency" */
    static const char *const no[] = {"XAU", "XAG", "XPT", "XPD", "XDR",
                                     "XTS", "XXX", "BOV", "CHE", "USN",
                                     "XBA", "XSU", "XUA", "CLF"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!sy_currency_iso4217(sy_str_c(no[i])), "%s", no[i]);
    /* withdrawn */
    static const char *const gone[] = {"HRK", "SLL", "ZWL", "CUC", "ANG",
                                       "BGN", "VEF", "DEM", "FRF", "LTL"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        ck_assert_msg(!sy_currency_iso4217(sy_str_c(gone[i])), "%s",
                      gone[i]);
}
END_TEST

START_TEST(test_table_sorted_and_every_entry_found)
{
    size_t n = 0;
    for (const char *c; (c = sy_currency_at(n)); n++) {
        ck_assert_uint_eq(strlen(c), 3);
        for (int k = 0; k < 3; k++)
            ck_assert(c[k] >= 'A' && c[k] <= 'Z');
        if (n)
            ck_assert_msg(strcmp(sy_currency_at(n - 1), c) < 0,
                          "%s before %s", sy_currency_at(n - 1), c);
        ck_assert_msg(sy_currency_iso4217(sy_str_c(c)), "%s not found", c);
    }
    /* ISO 4217 lists about 180 codes, ~25 of them funds and the like */
    ck_assert_uint_ge(n, 150);
    ck_assert_uint_le(n, 165);
}
END_TEST

int
main(void)
{
    const TTest *const tests[] = {
        test_current_currencies, test_refuses_what_is_not_money_in_circulation,
        test_table_sorted_and_every_entry_found, NULL};
    return sy_check_suite("currency", NULL, NULL, tests);
}
