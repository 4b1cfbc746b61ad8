#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# autogen.sh - generate ./configure and Makefile.in from a git checkout.
# Release tarballs already contain them; packagers never need this.
set -eu
cd "$(dirname "$0")"
autoreconf -fi "$@"
echo "Now run ./configure (or build out of tree: mkdir _build && cd _build && ../configure)"
