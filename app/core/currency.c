/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * currency.c - the ISO 4217 currencies a price may be in (currency.h).
 *
 * ISO 4217 list one: Debian's iso-codes 4.15 (/usr/share/iso-codes/
 * json/iso_4217.json) with the later amendments (ZWG added in 2024, XCG
 * in 2025; HRK, SLL, ZWL, CUC, ANG and, with Bulgaria's euro of
 * 2026-01-01, BGN withdrawn), without the codes no shop prices in: fund
 * codes (BOV CHE CHW CLF COU MXV USN UYI UYW), precious metals (XAG XAU
 * XPD XPT), units of account and special codes (XBA XBB XBC XBD XDR XSU
 * XUA, XTS for testing, XXX for "no currency").  Rows already stored keep
 * their currency; only writes are checked.  Update the table with each
 * ISO 4217 amendment that adds or withdraws a currency; it is sorted (the
 * lookup is a binary search, and the unit test checks the order).
 */
#include "synthia/currency.h"

#include <string.h>

static const char codes[][4] = {
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
    "BBD", "BDT", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN",
    "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB",
    "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
    "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
    "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD",
    "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK",
    "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR",
    "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE",
    "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
    "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF",
    "XPF", "YER", "ZAR", "ZMW", "ZWG",
};

const char *
sy_currency_at(size_t i)
{
    return i < sizeof(codes) / sizeof(codes[0]) ? codes[i] : NULL;
}

bool
sy_currency_iso4217(sy_str s)
{
    if (s.len != 3)
        return false;
    size_t lo = 0, hi = sizeof(codes) / sizeof(codes[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s.p, codes[mid], 3);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}
