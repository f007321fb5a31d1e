/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_utf8.c - incremental UTF-8 validation (Unicode 3.9, table 3-7).
 *
 * The state says what the next byte may be.  It rejects at the first byte
 * that cannot continue a well-formed sequence, so overlongs (C0, C1,
 * E0 80..9F, F0 80..8F), surrogates (ED A0..BF) and code points above
 * U+10FFFF (F4 90.., F5..FF) fail as early as they can.
 */
#include <string.h>

#include "ws_codec.h"

enum {
    U_ACCEPT = 0,   /* at a character boundary */
    U_TAIL1,        /* one continuation byte (80..BF) to go */
    U_TAIL2,
    U_TAIL3,
    U_E0,           /* after E0: A0..BF, then one more */
    U_ED,           /* after ED: 80..9F, then one more */
    U_F0,           /* after F0: 90..BF, then two more */
    U_F4,           /* after F4: 80..8F, then two more */
    U_REJECT
};

static uint32_t utf8_lead(unsigned char b)
{
    if (b < 0x80) return U_ACCEPT;
    if (b < 0xC2) return U_REJECT;
    if (b < 0xE0) return U_TAIL1;
    if (b == 0xE0) return U_E0;
    if (b == 0xED) return U_ED;
    if (b < 0xF0) return U_TAIL2;
    if (b == 0xF0) return U_F0;
    if (b < 0xF4) return U_TAIL3;
    if (b == 0xF4) return U_F4;
    return U_REJECT;
}

static uint32_t utf8_step(uint32_t state, unsigned char b)
{
    int tail = (b & 0xC0) == 0x80;

    switch (state) {
    case U_ACCEPT: return utf8_lead(b);
    case U_TAIL1:  return tail ? U_ACCEPT : U_REJECT;
    case U_TAIL2:  return tail ? U_TAIL1 : U_REJECT;
    case U_TAIL3:  return tail ? U_TAIL2 : U_REJECT;
    case U_E0:     return (b >= 0xA0 && b <= 0xBF) ? U_TAIL1 : U_REJECT;
    case U_ED:     return (b >= 0x80 && b <= 0x9F) ? U_TAIL1 : U_REJECT;
    case U_F0:     return (b >= 0x90 && b <= 0xBF) ? U_TAIL2 : U_REJECT;
    case U_F4:     return (b >= 0x80 && b <= 0x8F) ? U_TAIL2 : U_REJECT;
    default:       return U_REJECT;
    }
}

void ws_utf8_init(ws_utf8 *v)
{
    v->state = U_ACCEPT;
}

int ws_utf8_feed(ws_utf8 *v, const unsigned char *p, size_t n)
{
    uint32_t s = v->state;
    size_t i = 0;

    while (i < n) {
        /* JSON is mostly ASCII: skip 8 bytes at a time between characters. */
        if (s == U_ACCEPT) {
            uint64_t w;
            while (i + 8 <= n) {
                memcpy(&w, p + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            if (i == n)
                break;
        }
        s = utf8_step(s, p[i++]);
        if (s == U_REJECT)
            break;
    }
    v->state = s;
    return s == U_REJECT ? -1 : 0;
}

int ws_utf8_complete(const ws_utf8 *v)
{
    return v->state == U_ACCEPT;
}

int ws_utf8_valid(const unsigned char *p, size_t n)
{
    ws_utf8 v;

    ws_utf8_init(&v);
    return ws_utf8_feed(&v, p, n) == 0 && ws_utf8_complete(&v);
}
