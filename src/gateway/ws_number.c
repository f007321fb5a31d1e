/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_number.c - see ws_number.h.
 */
#include <stddef.h>

#include "ws_number.h"

int ws_parse_number(const char *text, ws_number_kind kind,
                    int64_t min, int64_t max, int64_t *out)
{
    int64_t v = 0, unit = 1;
    const char *p = text;

    if (text == NULL || *p < '0' || *p > '9')
        return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    if (kind == WS_NUMBER_SIZE && (*p == 'K' || *p == 'k'))
        unit = 1024, p++;
    else if (kind == WS_NUMBER_SIZE && (*p == 'M' || *p == 'm'))
        unit = 1024 * 1024, p++;
    if (*p != '\0' || v > INT64_MAX / unit)
        return 0;
    v *= unit;
    if (v < min || v > max)
        return 0;
    *out = v;
    return 1;
}
