/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_number.h - the one number parser of the module's and the bridge's
 * directives and of the environment values they fall back on.  Strict:
 * decimal digits, an optional K or M (times 1024) where a size is meant,
 * nothing after, within [min, max], no overflow.  A typo is refused, never
 * read as 0 or as a default.
 */
#ifndef WS_NUMBER_H
#define WS_NUMBER_H

#include <stdint.h>

typedef enum {
    WS_NUMBER_PLAIN,        /* "120" */
    WS_NUMBER_SIZE          /* "120", "64K", "16M" */
} ws_number_kind;

/* 1 and *out set if text is such a number within [min, max]; 0 (and *out
 * untouched) otherwise. */
int ws_parse_number(const char *text, ws_number_kind kind,
                    int64_t min, int64_t max, int64_t *out);

#endif
