/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * colour.h - colour maths shared by the colour analyser and the
 * recommendations: sRGB (IEC 61966-2-1) to linear light, to CIE XYZ and
 * CIELAB (CIE 15:2004, D65 white), back to the nearest sRGB hex, and the
 * CIEDE2000 colour difference (CIE 142:2001, as implemented and tested by
 * Sharma, Wu and Dalal, "The CIEDE2000 color-difference formula", Color
 * Research & Application 30(1), 2005).
 *
 * Pure functions of their arguments (a table of the 256 linear values is
 * filled on first use).
 */
#ifndef SYNTHIA_COLOUR_H
#define SYNTHIA_COLOUR_H

#include <stddef.h>

/* Linear light (0..1) of an 8-bit sRGB channel value. */
double sy_colour_linear(unsigned char c);

/* CIELAB (D65) of an sRGB colour: lab[0] L* (0..100), lab[1] a*,
 * lab[2] b*. */
void sy_colour_srgb_to_lab(unsigned char r, unsigned char g, unsigned char b,
                           double lab[3]);

/* The sRGB colour nearest lab (each channel clipped to 0..255), as
 * "#rrggbb" in lower case (hex gets 8 bytes with the NUL). */
void sy_colour_lab_to_hex(const double lab[3], char hex[8]);

/* "#rrggbb" or "rrggbb" (any case, n bytes) into rgb: 0, or -1 when it
 * is not one. */
int sy_colour_hex_parse(const char *s, size_t n, unsigned char rgb[3]);

/* CIEDE2000 difference of two CIELAB colours (kL = kC = kH = 1): about
 * 1 is a just noticeable difference. */
double sy_colour_ciede2000(const double lab1[3], const double lab2[3]);

#endif
