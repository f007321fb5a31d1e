/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * utf8_fuzz.c - the incremental UTF-8 validator against a plain reference
 * decoder written from the Unicode standard's table 3-7: the same verdict,
 * the same byte at which invalidity becomes certain (fed one byte at a
 * time), and the same answer whatever the split points.
 */
#include "ws_codec.h"
#include "fuzz.h"

/* The index of the first byte that makes p invalid, or -1; *complete
 * tells whether a valid p ends on a character boundary. */
static long reference(const uint8_t *p, size_t n, int *complete)
{
    size_t i = 0;

    *complete = 1;
    while (i < n) {
        uint8_t b = p[i], lo = 0x80, hi = 0xBF;
        size_t need, k;

        if (b <= 0x7F) {
            i++;
            continue;
        }
        if (b >= 0xC2 && b <= 0xDF)
            need = 1;
        else if (b == 0xE0)
            need = 2, lo = 0xA0;
        else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
            need = 2;
        else if (b == 0xED)
            need = 2, hi = 0x9F;            /* no surrogates */
        else if (b == 0xF0)
            need = 3, lo = 0x90;
        else if (b >= 0xF1 && b <= 0xF3)
            need = 3;
        else if (b == 0xF4)
            need = 3, hi = 0x8F;            /* nothing above U+10FFFF */
        else
            return (long)i;
        for (k = 1; k <= need; k++) {
            uint8_t c = 0;

            if (i + k >= n) {
                *complete = 0;
                return -1;
            }
            c = p[i + k];
            if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF))
                return (long)(i + k);
        }
        i += need + 1;
    }
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int complete;
    long bad = reference(data, size, &complete);
    long first = -1;
    size_t i, at;
    ws_utf8 v;

    CHECK(ws_utf8_valid(data, size) == (bad < 0 && complete));

    ws_utf8_init(&v);
    for (i = 0; i < size && first < 0; i++)
        if (ws_utf8_feed(&v, data + i, 1) < 0)
            first = (long)i;
    CHECK(first == bad);
    if (bad < 0)
        CHECK(ws_utf8_complete(&v) == complete);

    /* two pieces, split where the first byte says */
    at = size ? data[0] % (size + 1) : 0;
    ws_utf8_init(&v);
    if (ws_utf8_feed(&v, data, at) == 0 && ws_utf8_feed(&v, data + at, size - at) == 0)
        CHECK(bad < 0 && ws_utf8_complete(&v) == complete);
    else
        CHECK(bad >= 0);
    return 0;
}
