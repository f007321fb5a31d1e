/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frame_fuzz.c - the frame reader over arbitrary client bytes.  The first
 * byte picks the reader's configuration, the second seeds the chunk
 * sizes; the rest is the stream.  Fed whole and fed in random chunks, the
 * reader must report the same events and the same verdict.
 */
#include <string.h>

#include "ws_codec.h"
#include "fuzz.h"

typedef struct {
    uint64_t digest;        /* FNV-1a over every event */
    unsigned events;
} trace;

static void mix(trace *t, const void *p, size_t n)
{
    const unsigned char *b = p;

    while (n--)
        t->digest = (t->digest ^ *b++) * 1099511628211ULL;
}

static int on_message(void *ud, unsigned opcode, unsigned flags,
                      unsigned char *data, size_t len)
{
    trace *t = ud;

    CHECK(opcode == WS_OP_TEXT || opcode == WS_OP_BINARY);
    CHECK(opcode != WS_OP_TEXT || (flags & WS_RSV1) || ws_utf8_valid(data, len));
    t->events++;
    mix(t, &opcode, sizeof(opcode));
    mix(t, &flags, sizeof(flags));
    mix(t, data, len);
    return 0;
}

static int on_control(trace *t, int kind, const unsigned char *data, size_t len)
{
    CHECK(len <= WS_MAX_CONTROL_PAYLOAD);
    t->events++;
    mix(t, &kind, sizeof(kind));
    mix(t, data, len);
    return 0;
}

static int on_ping(void *ud, const unsigned char *d, size_t n) { return on_control(ud, 9, d, n); }
static int on_pong(void *ud, const unsigned char *d, size_t n) { return on_control(ud, 10, d, n); }

static int on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    trace *t = ud;

    CHECK(code == WS_CLOSE_NO_STATUS || ws_close_code_valid(code));
    CHECK(ws_utf8_valid((const unsigned char *)reason, len));
    return on_control(t, (int)code, (const unsigned char *)reason, len);
}

static const ws_reader_callbacks callbacks = { on_message, on_ping, on_pong, on_close };

static ws_status run(const ws_reader_config *cfg, const uint8_t *p, size_t n,
                     unsigned seed, trace *t)
{
    ws_reader *r = ws_reader_new(cfg, &callbacks, t);
    ws_status st = WS_OK;

    CHECK(r != NULL);
    while (n > 0) {
        size_t chunk = n;

        if (seed) {
            seed = seed * 1103515245u + 12345u;
            chunk = 1 + (seed >> 16) % 64;
            chunk = chunk < n ? chunk : n;
        }
        st = ws_reader_feed(r, p, chunk);
        p += chunk;
        n -= chunk;
    }
    ws_reader_free(r);
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ws_reader_config cfg;
    trace whole = { 14695981039346656037ULL, 0 }, chunked = whole;
    ws_status a, b;

    if (size < 2)
        return 0;
    cfg.allowed_rsv = data[0] & 1 ? WS_RSV1 : 0;
    cfg.require_mask = (data[0] >> 1) & 1;
    cfg.max_message = (data[0] >> 2) ? (uint64_t)16 << ((data[0] >> 2) & 15) : 0;
    a = run(&cfg, data + 2, size - 2, 0, &whole);
    b = run(&cfg, data + 2, size - 2, data[1] | 0x100u, &chunked);
    CHECK(a == b);
    CHECK(whole.events == chunked.events);
    CHECK(whole.digest == chunked.digest);
    CHECK(a == WS_OK || ws_status_close_code(a) != 0);
    return 0;
}
