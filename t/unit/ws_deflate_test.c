/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_deflate_test.c - permessage-deflate: each negotiation rule of RFC
 * 7692 section 7.1, and compression checked against zlib itself (what we
 * send must inflate with plain zlib, what zlib sends must inflate with
 * ours), the size limit against a deflate bomb, and corrupt input.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ws_deflate.h"
#include "tap.h"

static const ws_pmd_config defaults = { 6, 15, 0 };

/* --- negotiation ------------------------------------------------------------ */

static void accepts(const char *offers, const ws_pmd_config *cfg,
                    const char *want, int want_bits)
{
    ws_pmd_params p;
    char response[WS_PMD_RESPONSE_MAX] = "";

    if (ok(ws_pmd_negotiate(offers, cfg, &p, response), "accepted: %s", offers)) {
        is_str(response, want, "  answered with %s", want);
        is_int(p.server_window_bits, want_bits, "  compresses with a %d-bit window", want_bits);
    }
}

static void refuses(const char *offers)
{
    ws_pmd_params p;
    char response[WS_PMD_RESPONSE_MAX];

    ok(!ws_pmd_negotiate(offers, &defaults, &p, response), "refused: %s",
       offers ? offers : "(no header)");
}

#define NO_TAKEOVER "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

static void test_negotiation(void)
{
    ws_pmd_config takeover = { 6, 15, 1 }, small = { 6, 12, 1 };
    ws_pmd_params p;
    char response[WS_PMD_RESPONSE_MAX];

    accepts("permessage-deflate", &defaults, NO_TAKEOVER, 15);
    /* what Chromium and Firefox offer */
    accepts("permessage-deflate; client_max_window_bits", &defaults, NO_TAKEOVER, 15);
    accepts("permessage-deflate; client_max_window_bits=10", &defaults, NO_TAKEOVER, 15);
    accepts("permessage-deflate; server_max_window_bits=10", &defaults,
            NO_TAKEOVER "; server_max_window_bits=10", 10);
    accepts("permessage-deflate; server_max_window_bits=\"12\"", &defaults,
            NO_TAKEOVER "; server_max_window_bits=12", 12);
    accepts("permessage-deflate ;server_no_context_takeover ; client_no_context_takeover",
            &defaults, NO_TAKEOVER, 15);
    accepts("x-webkit-deflate-frame, permessage-deflate", &defaults, NO_TAKEOVER, 15);
    /* several offers: the first one we can honour */
    accepts("permessage-deflate; server_max_window_bits=8, "
            "permessage-deflate; server_max_window_bits=9", &defaults,
            NO_TAKEOVER "; server_max_window_bits=9", 9);
    accepts("permessage-deflate; foo=1, permessage-deflate", &defaults, NO_TAKEOVER, 15);
    accepts(", ,permessage-deflate", &defaults, NO_TAKEOVER, 15);

    /* context takeover allowed by the configuration */
    accepts("permessage-deflate", &takeover, "permessage-deflate", 15);
    accepts("permessage-deflate; server_no_context_takeover", &takeover,
            "permessage-deflate; server_no_context_takeover", 15);
    accepts("permessage-deflate", &small, "permessage-deflate; server_max_window_bits=12", 12);
    accepts("permessage-deflate; server_max_window_bits=14", &small,
            "permessage-deflate; server_max_window_bits=12", 12);
    ws_pmd_negotiate("permessage-deflate; client_no_context_takeover", &takeover, &p, response);
    ok(p.client_no_context_takeover && !p.server_no_context_takeover,
       "the client's client_no_context_takeover is remembered");

    refuses(NULL);
    refuses("");
    refuses("x-webkit-deflate-frame");
    refuses("permessage-deflate; server_max_window_bits=8");   /* zlib cannot */
    refuses("permessage-deflate; server_max_window_bits");
    refuses("permessage-deflate; server_max_window_bits=16");
    refuses("permessage-deflate; server_max_window_bits=08");
    refuses("permessage-deflate; server_max_window_bits=7");
    refuses("permessage-deflate; server_max_window_bits=1x");
    refuses("permessage-deflate; client_max_window_bits=7");
    refuses("permessage-deflate; client_max_window_bits=");
    refuses("permessage-deflate; server_no_context_takeover=1");
    refuses("permessage-deflate; client_no_context_takeover=\"\"");
    refuses("permessage-deflate; server_no_context_takeover; server_no_context_takeover");
    refuses("permessage-deflate; client_max_window_bits; client_max_window_bits=10");
    refuses("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10");
    refuses("permessage-deflate; mystery");
    refuses("permessage-deflate;");
    refuses("permessage-deflate; =15");
    refuses("permessage-deflate; client_max_window_bits=\"10");
    refuses("permessage-deflate client_max_window_bits");
    /* a syntax error ends the list: no guessing at what follows */
    refuses("permessage-deflate; x=\"a\"b, permessage-deflate");
}

/* --- compression ------------------------------------------------------------ */

/* A realistic OpenSRF-ish result, n bytes long. */
static unsigned char *sample(size_t n)
{
    static const char rec[] =
        "{\"__c\":\"acp\",\"__p\":[null,\"39000000123456\",4,\"Available\",false,"
        "\"Main Library\",\"2026-11-24T10:00:00-0500\",null,1,\"QA76.73 .C15\"]},";
    unsigned char *p = malloc(n + 1);
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)rec[i % (sizeof(rec) - 1)] ^ (unsigned char)((i / 997) & 1);
    return p;
}

/* Inflates a permessage-deflate payload with plain zlib. */
static int zlib_inflate(const ws_buffer *in, unsigned char *out, size_t cap, size_t *len)
{
    z_stream s;
    unsigned char *all = malloc(in->len + 4);
    int rc;

    memcpy(all, in->data, in->len);
    memcpy(all + in->len, "\x00\x00\xff\xff", 4);
    memset(&s, 0, sizeof(s));
    inflateInit2(&s, -15);
    s.next_in = all;
    s.avail_in = (uInt)in->len + 4;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    rc = inflate(&s, Z_SYNC_FLUSH);
    *len = cap - s.avail_out;
    inflateEnd(&s);
    free(all);
    return rc == Z_OK || rc == Z_BUF_ERROR ? 0 : -1;
}

/* Deflates with plain zlib as a client would (window bits given). */
static void zlib_deflate(const unsigned char *in, size_t n, int bits, ws_buffer *out)
{
    z_stream s;
    size_t room;

    memset(&s, 0, sizeof(s));
    deflateInit2(&s, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY);
    ws_buffer_reset(out);
    ws_buffer_reserve(out, deflateBound(&s, n) + 16);
    room = ws_buffer_room(out);
    s.next_in = (Bytef *)in;
    s.avail_in = (uInt)n;
    s.next_out = (Bytef *)out->data;
    s.avail_out = (uInt)room;
    deflate(&s, Z_SYNC_FLUSH);
    ws_buffer_set_len(out, room - s.avail_out - 4);
    deflateEnd(&s);
}

static void test_round_trips(void)
{
    static const size_t sizes[] = { 0, 1, 125, 4096, 100000, 1 << 22 };
    ws_pmd_params params = { 6, 15, 1, 1 };
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], got = 0;
        unsigned char *msg = sample(n), *back = malloc(n + 16);
        ws_buffer z = { 0 }, plain = { 0 };
        ws_pmd *pmd = ws_pmd_new(&params);

        is_int(ws_pmd_deflate(pmd, msg, n, &z), WS_OK, "%zu bytes deflate", n);
        ok(zlib_inflate(&z, back, n + 16, &got) == 0 && got == n
           && memcmp(back, msg, n) == 0, "  and zlib inflates them back");
        if (n >= 4096)
            ok(z.len * 4 < n, "  to less than a quarter (%zu bytes)", z.len);
        zlib_deflate(msg, n, 15, &z);
        is_int(ws_pmd_inflate(pmd, (const unsigned char *)z.data, z.len, 0, &plain), WS_OK,
               "  zlib's deflate of them inflates");
        ok(plain.len == n && memcmp(plain.data, msg, n) == 0, "  to the same bytes");
        ws_pmd_free(pmd);
        ws_buffer_free(&z);
        ws_buffer_free(&plain);
        free(msg);
        free(back);
    }
}

/* With context takeover each message refers back to the ones before. */
static void test_context_takeover(void)
{
    ws_pmd_params keep = { 6, 15, 0, 0 }, nokeep = { 6, 15, 1, 1 };
    ws_pmd *a = ws_pmd_new(&keep), *b = ws_pmd_new(&keep), *c = ws_pmd_new(&nokeep);
    unsigned char *msg = sample(2000);
    size_t first = 0, second = 0, fresh = 0;
    ws_buffer z = { 0 }, plain = { 0 };
    int i, same = 1;

    for (i = 0; i < 3; i++) {
        z.len = 0;
        ws_pmd_deflate(a, msg, 2000, &z);
        if (i == 0)
            first = z.len;
        second = z.len;
        plain.len = 0;
        same &= ws_pmd_inflate(b, (const unsigned char *)z.data, z.len, 0, &plain) == WS_OK
                && plain.len == 2000 && memcmp(plain.data, msg, 2000) == 0;
    }
    z.len = 0;
    ws_pmd_deflate(c, msg, 2000, &z);
    fresh = z.len;
    ok(same, "three messages with context takeover inflate in order");
    ok(second < first / 4, "a repeated message costs little with the context (%zu < %zu)",
       second, first);
    is_int(fresh, first, "without takeover every message costs the same");
    ws_pmd_free(a);
    ws_pmd_free(b);
    ws_pmd_free(c);
    ws_buffer_free(&z);
    ws_buffer_free(&plain);
    free(msg);
}

static void test_small_window(void)
{
    ws_pmd_params params = { 9, 9, 1, 1 };
    ws_pmd *pmd = ws_pmd_new(&params);
    unsigned char *msg = sample(50000), *back = malloc(50016);
    ws_buffer z = { 0 };
    size_t got = 0;
    z_stream s;
    int rc;

    ws_pmd_deflate(pmd, msg, 50000, &z);
    /* a client with a 512-byte window must be able to read it */
    memset(&s, 0, sizeof(s));
    inflateInit2(&s, -9);
    ws_buffer_append(&z, "\x00\x00\xff\xff", 4);
    s.next_in = (Bytef *)z.data;
    s.avail_in = (uInt)z.len;
    s.next_out = back;
    s.avail_out = 50016;
    rc = inflate(&s, Z_SYNC_FLUSH);
    got = 50016 - s.avail_out;
    inflateEnd(&s);
    ok((rc == Z_OK || rc == Z_BUF_ERROR) && got == 50000 && memcmp(back, msg, got) == 0,
       "server_max_window_bits=9: a 9-bit inflater reads what we send");
    ws_pmd_free(pmd);
    ws_buffer_free(&z);
    free(msg);
    free(back);
}

static void test_limits(void)
{
    ws_pmd_params params = { 6, 15, 1, 1 };
    ws_pmd *pmd = ws_pmd_new(&params);
    size_t big = 64 << 20;
    unsigned char *zeros = calloc(1, big);
    unsigned char junk[64];
    ws_buffer z = { 0 }, plain = { 0 };
    size_t i;

    zlib_deflate(zeros, big, 15, &z);
    ok(z.len < 100000, "64 MiB of zeros deflate to %zu bytes", z.len);
    is_int(ws_pmd_inflate(pmd, (const unsigned char *)z.data, z.len, 1 << 20, &plain),
           WS_ERR_TOO_BIG, "that bomb is stopped at a 1 MiB limit");
    ok(plain.len <= (1 << 20) + 1 && plain.cap <= (4 << 20),
       "  having inflated no more than the limit (%zu bytes, %zu held)",
       plain.len, plain.cap);

    zlib_deflate(zeros, 1 << 20, 15, &z);
    plain.len = 0;
    is_int(ws_pmd_inflate(pmd, (const unsigned char *)z.data, z.len, 1 << 20, &plain), WS_OK,
           "a message of exactly the limit passes");
    is_int(plain.len, 1 << 20, "  whole");

    for (i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)(0xff - i * 7);
    plain.len = 0;
    is_int(ws_pmd_inflate(pmd, junk, sizeof(junk), 0, &plain), WS_ERR_DATA,
           "data that is not deflate fails with WS_ERR_DATA");
    is_int(ws_status_close_code(WS_ERR_DATA), 1007, "  which closes with 1007");
    plain.len = 0;
    zlib_deflate((const unsigned char *)"hello", 5, 15, &z);
    is_int(ws_pmd_inflate(pmd, (const unsigned char *)z.data, z.len, 0, &plain), WS_OK,
           "the next message inflates after a failure");
    ok(plain.len == 5 && memcmp(plain.data, "hello", 5) == 0, "  correctly");

    ws_pmd_free(pmd);
    ws_buffer_free(&z);
    ws_buffer_free(&plain);
    free(zeros);
}

int main(void)
{
    test_negotiation();
    test_round_trips();
    test_context_takeover();
    test_small_window();
    test_limits();
    return done_testing();
}
