/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * colour.c - sRGB, CIELAB and CIEDE2000 (colour.h).
 *
 * sRGB to XYZ uses the matrix of IEC 61966-2-1 (the sRGB primaries, D65),
 * XYZ to Lab the CIE's cube-root function with its linear toe; the way
 * back inverts both.  CIEDE2000 follows Sharma et al. step by step (their
 * equation numbers in the comments), including the hue-mean and
 * hue-difference rules when a chroma is zero.
 */
#include "synthia/colour.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include "synthia/str.h"

static const double Xn = 0.95047, Yn = 1.0, Zn = 1.08883; /* D65 */

static double lin_table[256];
static bool lin_ready;

double
sy_colour_linear(unsigned char c8)
{
    if (!lin_ready) {
        for (int i = 0; i < 256; i++) {
            double c = i / 255.0;
            lin_table[i] = c <= 0.04045 ? c / 12.92
                                        : pow((c + 0.055) / 1.055, 2.4);
        }
        lin_ready = true;
    }
    return lin_table[c8];
}

static double
lab_f(double t)
{
    const double d = 6.0 / 29.0;
    return t > d * d * d ? cbrt(t) : t / (3 * d * d) + 4.0 / 29.0;
}

static double
lab_finv(double t)
{
    const double d = 6.0 / 29.0;
    return t > d ? t * t * t : 3 * d * d * (t - 4.0 / 29.0);
}

void
sy_colour_srgb_to_lab(unsigned char r8, unsigned char g8, unsigned char b8,
                      double lab[3])
{
    double r = sy_colour_linear(r8), g = sy_colour_linear(g8),
           b = sy_colour_linear(b8);
    double x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    double z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    double fx = lab_f(x / Xn), fy = lab_f(y / Yn), fz = lab_f(z / Zn);
    lab[0] = 116 * fy - 16;
    lab[1] = 500 * (fx - fy);
    lab[2] = 200 * (fy - fz);
}

static int
to8(double c)
{
    c = c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055;
    c = c < 0 ? 0 : c > 1 ? 1 : c;
    return (int)lround(c * 255);
}

void
sy_colour_lab_to_hex(const double lab[3], char hex[8])
{
    double fy = (lab[0] + 16) / 116;
    double x = Xn * lab_finv(fy + lab[1] / 500);
    double y = Yn * lab_finv(fy);
    double z = Zn * lab_finv(fy - lab[2] / 200);
    int r = to8(3.2404542 * x - 1.5371385 * y - 0.4985314 * z);
    int g = to8(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z);
    int b = to8(0.0556434 * x - 0.2040259 * y + 1.0572252 * z);
    snprintf(hex, 8, "#%02x%02x%02x", r, g, b);
}

int
sy_colour_hex_parse(const char *s, size_t n, unsigned char rgb[3])
{
    if (n == 7 && s[0] == '#')
        s++, n--;
    if (n != 6)
        return -1;
    for (int i = 0; i < 3; i++) {
        int hi = sy_hex_digit(s[2 * i]), lo = sy_hex_digit(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        rgb[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static double
deg(double rad)
{
    return rad * 180.0 / M_PI;
}

static double
rad(double d)
{
    return d * M_PI / 180.0;
}

double
sy_colour_ciede2000(const double lab1[3], const double lab2[3])
{
    double L1 = lab1[0], a1 = lab1[1], b1 = lab1[2];
    double L2 = lab2[0], a2 = lab2[1], b2 = lab2[2];
    /* (2)-(7): a' and C', h' */
    double C1 = hypot(a1, b1), C2 = hypot(a2, b2);
    double Cm = (C1 + C2) / 2, Cm7 = pow(Cm, 7);
    double G = 0.5 * (1 - sqrt(Cm7 / (Cm7 + pow(25.0, 7))));
    double a1p = (1 + G) * a1, a2p = (1 + G) * a2;
    double C1p = hypot(a1p, b1), C2p = hypot(a2p, b2);
    double h1p = (a1p == 0 && b1 == 0) ? 0 : deg(atan2(b1, a1p));
    double h2p = (a2p == 0 && b2 == 0) ? 0 : deg(atan2(b2, a2p));
    if (h1p < 0)
        h1p += 360;
    if (h2p < 0)
        h2p += 360;
    /* (8)-(10): the differences */
    double dLp = L2 - L1, dCp = C2p - C1p, dhp = 0;
    if (C1p * C2p != 0) {
        dhp = h2p - h1p;
        if (dhp > 180)
            dhp -= 360;
        else if (dhp < -180)
            dhp += 360;
    }
    double dHp = 2 * sqrt(C1p * C2p) * sin(rad(dhp / 2));
    /* (12)-(14): the means */
    double Lmp = (L1 + L2) / 2, Cmp = (C1p + C2p) / 2, hmp = h1p + h2p;
    if (C1p * C2p != 0) {
        if (fabs(h1p - h2p) <= 180)
            hmp = (h1p + h2p) / 2;
        else if (h1p + h2p < 360)
            hmp = (h1p + h2p + 360) / 2;
        else
            hmp = (h1p + h2p - 360) / 2;
    }
    /* (15)-(22): weights and rotation */
    double T = 1 - 0.17 * cos(rad(hmp - 30)) + 0.24 * cos(rad(2 * hmp)) +
               0.32 * cos(rad(3 * hmp + 6)) - 0.20 * cos(rad(4 * hmp - 63));
    double dtheta = 30 * exp(-pow((hmp - 275) / 25, 2));
    double Cmp7 = pow(Cmp, 7);
    double RC = 2 * sqrt(Cmp7 / (Cmp7 + pow(25.0, 7)));
    double Lm50 = (Lmp - 50) * (Lmp - 50);
    double SL = 1 + 0.015 * Lm50 / sqrt(20 + Lm50);
    double SC = 1 + 0.045 * Cmp, SH = 1 + 0.015 * Cmp * T;
    double RT = -sin(rad(2 * dtheta)) * RC;
    double tL = dLp / SL, tC = dCp / SC, tH = dHp / SH;
    return sqrt(tL * tL + tC * tC + tH * tH + RT * tC * tH);
}
