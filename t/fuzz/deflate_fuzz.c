/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * deflate_fuzz.c - permessage-deflate: the offer parser over arbitrary
 * header values, and the inflate path over arbitrary compressed data
 * (with the size limit), whose output must deflate and inflate back to
 * itself.
 */
#include <string.h>

#include "ws_deflate.h"
#include "fuzz.h"

#define LIMIT (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ws_pmd_config cfg = { 6, 15, 0 };
    ws_pmd_params params = { 1, 15, 1, 1 };
    char *offer = malloc(size + 1), response[WS_PMD_RESPONSE_MAX];
    ws_buffer plain = { 0 }, packed = { 0 }, again = { 0 };
    ws_pmd *z;
    ws_status st;

    CHECK(offer != NULL);
    memcpy(offer, data, size);
    offer[size] = '\0';
    if (ws_pmd_negotiate(offer, &cfg, &params, response)) {
        CHECK(strncmp(response, "permessage-deflate", 18) == 0);
        CHECK(params.server_window_bits >= 9 && params.server_window_bits <= 15);
    }
    free(offer);

    /* the first byte says whether the context is kept between messages */
    params.level = 1;
    params.server_window_bits = 15;
    params.server_no_context_takeover = params.client_no_context_takeover =
        size > 0 && (data[0] & 1);
    z = ws_pmd_new(&params);
    CHECK(z != NULL);
    st = ws_pmd_inflate(z, data, size, LIMIT, &plain);
    CHECK(st == WS_OK || st == WS_ERR_DATA || st == WS_ERR_TOO_BIG);
    CHECK(plain.len <= LIMIT + 1);
    if (st == WS_OK) {
        ws_pmd *fresh = ws_pmd_new(&params);

        CHECK(ws_pmd_deflate(fresh, (const unsigned char *)plain.data, plain.len, &packed) == WS_OK);
        ws_pmd_free(fresh);
        fresh = ws_pmd_new(&params);
        CHECK(ws_pmd_inflate(fresh, (const unsigned char *)packed.data, packed.len, 0, &again) == WS_OK);
        CHECK(again.len == plain.len
              && (plain.len == 0 || memcmp(again.data, plain.data, plain.len) == 0));
        ws_pmd_free(fresh);
    }
    /* the same stream goes on after any message, good or bad */
    plain.len = 0;
    st = ws_pmd_inflate(z, (const unsigned char *)"\x01\x00\x00\xff\xff", 5, LIMIT, &plain);
    (void)st;
    ws_pmd_free(z);
    ws_buffer_free(&plain);
    ws_buffer_free(&packed);
    ws_buffer_free(&again);
    return 0;
}
