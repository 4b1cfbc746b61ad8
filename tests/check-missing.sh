#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# check-missing.sh - stands in for the unit tests in `make check` when
# configure did not find Check: says what is missing and how to get it,
# and exits 77 (automake: SKIP), so the summary shows it.
echo "SKIP: the unit tests (tests/unit/check_*) were not built: configure did"
echo "      not find Check (pkg-config check >= 0.10)."
echo "      On Debian/Ubuntu: apt-get install check libsubunit-dev, then"
echo "      run configure again."
exit 77
