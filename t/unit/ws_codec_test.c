/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_codec_test.c - the codec's rules, each tested on its own.  Every
 * reader case runs three ways (whole, one byte at a time, random chunks)
 * and must give the same events and verdict each time.
 */
#include <stdlib.h>
#include <string.h>

#include "ws_buffer.h"
#include "ws_codec.h"
#include "tap.h"

/* --- building client streams ------------------------------------------ */

typedef struct {
    unsigned char *data;
    size_t len;
} stream;

static const unsigned char test_mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

static void put(stream *s, const void *p, size_t n)
{
    s->data = realloc(s->data, s->len + n + 1);
    memcpy(s->data + s->len, p, n);
    s->len += n;
}

/* A frame: flags (WS_FIN, RSV bits), opcode, payload; masked unless
 * unmasked is set. */
static void frame(stream *s, unsigned flags, unsigned opcode,
                  const void *payload, size_t n, int unmasked)
{
    unsigned char head[WS_MAX_HEADER_SIZE];
    size_t at;

    put(s, head, ws_frame_header(head, flags, opcode, n,
                                 unmasked ? NULL : test_mask));
    at = s->len;
    put(s, payload, n);
    if (!unmasked)
        ws_mask(s->data + at, n, test_mask, 0);
}

static void text(stream *s, const char *t)
{
    frame(s, WS_FIN, WS_OP_TEXT, t, strlen(t), 0);
}

/* --- recording what the reader does ------------------------------------ */

typedef struct {
    char log[4096];
    size_t big_len;         /* length of the last message over 64 bytes */
    unsigned big_sum;
} record;

static void note(record *rec, const char *kind, const unsigned char *p,
                 size_t n)
{
    size_t at = strlen(rec->log);

    if (n > 64) {
        size_t i;
        rec->big_len = n;
        rec->big_sum = 0;
        for (i = 0; i < n; i++)
            rec->big_sum = rec->big_sum * 31 + p[i];
        snprintf(rec->log + at, sizeof(rec->log) - at, "%s[%zu]|", kind, n);
        return;
    }
    snprintf(rec->log + at, sizeof(rec->log) - at, "%s:%.*s|", kind, (int)n,
             (const char *)p);
}

static int on_message(void *ud, unsigned opcode, unsigned flags,
                      unsigned char *data, size_t len)
{
    (void)flags;
    note(ud, opcode == WS_OP_TEXT ? "TEXT" : "BIN", data, len);
    return 0;
}

static int on_ping(void *ud, const unsigned char *data, size_t len)
{
    note(ud, "PING", data, len);
    return 0;
}

static int on_pong(void *ud, const unsigned char *data, size_t len)
{
    note(ud, "PONG", data, len);
    return 0;
}

static int on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    char kind[16];

    snprintf(kind, sizeof(kind), "CLOSE %u", code);
    note(ud, kind, (const unsigned char *)reason, len);
    return 0;
}

static const ws_reader_callbacks callbacks = {
    on_message, on_ping, on_pong, on_close
};

static ws_reader_config server_config(uint64_t max)
{
    ws_reader_config cfg = { max, 0, 1 };
    return cfg;
}

/* Feeds s in chunks: 0 = whole, 1 = byte by byte, 2 = random sizes. */
static ws_status run(const ws_reader_config *cfg, const stream *s, int how,
                     record *rec, char *error, size_t error_size)
{
    ws_reader *r = ws_reader_new(cfg, &callbacks, rec);
    ws_status st = WS_OK;
    size_t at = 0;
    unsigned seed = 12345;

    memset(rec, 0, sizeof(*rec));
    while (at < s->len) {
        size_t n = s->len - at;
        if (how == 1)
            n = 1;
        else if (how == 2) {
            seed = seed * 1103515245 + 12345;
            n = 1 + (seed >> 16) % 97;
            if (n > s->len - at)
                n = s->len - at;
        }
        st = ws_reader_feed(r, s->data + at, n);
        at += n;
        if (st != WS_OK)
            break;
    }
    snprintf(error, error_size, "%s", ws_reader_error(r));
    ws_reader_free(r);
    return st;
}

/* The rule holds when all three feeds give want_status and want_log. */
static void check(const char *rule, const ws_reader_config *cfg, stream *s,
                  ws_status want_status, const char *want_log)
{
    static const char *how_name[] = { "whole", "bytewise", "chunked" };
    int how;

    for (how = 0; how < 3; how++) {
        record rec;
        char error[128];
        ws_status st = run(cfg, s, how, &rec, error, sizeof(error));
        int pass = st == want_status && strcmp(rec.log, want_log) == 0;

        if (!ok(pass, "%s (%s)", rule, how_name[how]))
            diag("status %d (want %d) error \"%s\" log \"%s\" (want \"%s\")",
                 st, want_status, error, rec.log, want_log);
    }
    free(s->data);
    s->data = NULL;
    s->len = 0;
}

/* --- the rules --------------------------------------------------------- */

static void test_lengths(void)
{
    static const size_t sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 300000 };
    ws_reader_config cfg = server_config(0);
    size_t i;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], j;
        unsigned char *p = malloc(n + 1);
        stream s = { 0 };
        record rec;
        char error[128], want[64];
        unsigned sum = 0;
        int how;

        for (j = 0; j < n; j++) {
            p[j] = (unsigned char)('a' + j % 26);
            sum = sum * 31 + p[j];
        }
        frame(&s, WS_FIN, WS_OP_BINARY, p, n, 0);
        if (n <= 64)
            snprintf(want, sizeof(want), "BIN:%.*s|", (int)n, (const char *)p);
        else
            snprintf(want, sizeof(want), "BIN[%zu]|", n);
        for (how = 0; how < 3; how++) {
            ws_status st = run(&cfg, &s, how, &rec, error, sizeof(error));
            ok(st == WS_OK && strcmp(rec.log, want) == 0
               && (n <= 64 || (rec.big_len == n && rec.big_sum == sum)),
               "payload length %zu arrives intact (feed %d)", n, how);
        }
        free(s.data);
        free(p);
    }
}

static void test_header_encoding(void)
{
    unsigned char h[WS_MAX_HEADER_SIZE];

    is_int(ws_frame_header(h, WS_FIN, WS_OP_TEXT, 125, NULL), 2,
           "7-bit length header is 2 bytes");
    ok(h[0] == 0x81 && h[1] == 125, "7-bit header bytes");
    is_int(ws_frame_header(h, WS_FIN, WS_OP_TEXT, 126, NULL), 4,
           "16-bit length header is 4 bytes");
    ok(h[1] == 126 && h[2] == 0 && h[3] == 126, "16-bit header bytes");
    is_int(ws_frame_header(h, WS_FIN, WS_OP_BINARY, 65536, NULL), 10,
           "64-bit length header is 10 bytes");
    ok(h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0, "64-bit header bytes");
    is_int(ws_frame_header(h, WS_FIN, WS_OP_PING, 0, test_mask), 6,
           "masked header carries the key");
    ok(h[1] == 0x80 && memcmp(h + 2, test_mask, 4) == 0, "mask bit and key");
}

static void test_mask_offsets(void)
{
    unsigned char a[100], b[100];
    size_t i, cut;
    int same = 1;

    for (i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (unsigned char)i;
    ws_mask(a, sizeof(a), test_mask, 0);
    for (cut = 0; cut < sizeof(b); cut += 7) {
        unsigned char c[100];
        memcpy(c, b, sizeof(c));
        ws_mask(c, cut, test_mask, 0);
        ws_mask(c + cut, sizeof(c) - cut, test_mask, cut);
        same &= memcmp(a, c, sizeof(c)) == 0;
    }
    ok(same, "masking split at any offset equals masking in one go");
}

static void test_framing_rules(void)
{
    ws_reader_config cfg = server_config(0);
    stream s = { 0 };
    unsigned char big[126];
    unsigned op;

    text(&s, "hello");
    text(&s, "");
    check("text messages are delivered", &cfg, &s, WS_OK, "TEXT:hello|TEXT:|");

    frame(&s, WS_FIN, WS_OP_TEXT, "bare", 4, 1);
    check("unmasked client frame is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    frame(&s, 0, WS_OP_TEXT, "Hel", 3, 0);
    frame(&s, WS_FIN, WS_OP_PING, "p", 1, 0);
    frame(&s, 0, WS_OP_CONT, "lo ", 3, 0);
    frame(&s, WS_FIN, WS_OP_PONG, "q", 1, 0);
    frame(&s, WS_FIN, WS_OP_CONT, "world", 5, 0);
    check("fragments reassemble with control frames interleaved", &cfg, &s,
          WS_OK, "PING:p|PONG:q|TEXT:Hello world|");

    frame(&s, 0, WS_OP_PING, "p", 1, 0);
    check("fragmented control frame is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    memset(big, 'x', sizeof(big));
    frame(&s, WS_FIN, WS_OP_PING, big, sizeof(big), 0);
    check("control frame over 125 bytes is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    frame(&s, WS_FIN, WS_OP_CONT, "x", 1, 0);
    check("continuation outside a message is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    frame(&s, 0, WS_OP_TEXT, "a", 1, 0);
    frame(&s, WS_FIN, WS_OP_TEXT, "b", 1, 0);
    check("new message inside a fragmented one is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    frame(&s, WS_FIN | WS_RSV1, WS_OP_TEXT, "a", 1, 0);
    check("RSV1 without an extension is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");
    frame(&s, WS_FIN | WS_RSV2, WS_OP_TEXT, "a", 1, 0);
    check("RSV2 is a protocol error", &cfg, &s, WS_ERR_PROTOCOL, "");
    frame(&s, WS_FIN | WS_RSV3, WS_OP_BINARY, "a", 1, 0);
    check("RSV3 is a protocol error", &cfg, &s, WS_ERR_PROTOCOL, "");

    cfg.allowed_rsv = WS_RSV1;
    frame(&s, 0 | WS_RSV1, WS_OP_BINARY, "a", 1, 0);
    frame(&s, WS_FIN | WS_RSV1, WS_OP_CONT, "b", 1, 0);
    check("RSV1 on a continuation frame is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");
    frame(&s, WS_FIN | WS_RSV1, WS_OP_PING, "a", 1, 0);
    check("RSV1 on a control frame is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");
    cfg.allowed_rsv = 0;

    for (op = 3; op <= 0xF; op++) {
        char rule[64];
        if (op >= 8 && op <= 0xA)
            continue;
        snprintf(rule, sizeof(rule), "reserved opcode %u is a protocol error", op);
        frame(&s, WS_FIN, op, "", 0, 0);
        check(rule, &cfg, &s, WS_ERR_PROTOCOL, "");
    }

    {
        unsigned char h[10] = { 0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1 };
        put(&s, h, sizeof(h));
        check("64-bit length with the high bit set is a protocol error", &cfg,
              &s, WS_ERR_PROTOCOL, "");
    }
    {
        /* a 5-byte payload announced with a 16-bit length */
        unsigned char h[4] = { 0x81, 0x80 | 126, 0, 5 }, p[5] = "hello";
        put(&s, h, sizeof(h));
        put(&s, test_mask, 4);
        ws_mask(p, 5, test_mask, 0);
        put(&s, p, 5);
        check("non-minimal length encoding is accepted", &cfg, &s, WS_OK,
              "TEXT:hello|");
    }
}

static void test_max_message(void)
{
    ws_reader_config cfg = server_config(10);
    stream s = { 0 };

    text(&s, "0123456789");
    check("a message at the maximum size passes", &cfg, &s, WS_OK,
          "TEXT:0123456789|");
    text(&s, "0123456789A");
    check("a message over the maximum size is too big", &cfg, &s,
          WS_ERR_TOO_BIG, "");
    frame(&s, 0, WS_OP_TEXT, "012345", 6, 0);
    frame(&s, WS_FIN, WS_OP_CONT, "6789A", 5, 0);
    check("the maximum counts over all fragments", &cfg, &s, WS_ERR_TOO_BIG, "");

    /* the verdict comes from the header, before any payload */
    {
        unsigned char h[WS_MAX_HEADER_SIZE];
        put(&s, h, ws_frame_header(h, WS_FIN, WS_OP_BINARY, 1u << 30, test_mask));
        check("an announced oversize frame fails before its payload", &cfg, &s,
              WS_ERR_TOO_BIG, "");
    }

    /* with no maximum set, the largest buffer (WS_BUFFER_MAX) is one:
     * a header announcing more is refused before anything is allocated */
    {
        ws_reader_config unlimited = server_config(0);
        unsigned char h[WS_MAX_HEADER_SIZE];

        put(&s, h, ws_frame_header(h, WS_FIN, WS_OP_BINARY, WS_BUFFER_MAX, test_mask));
        check("without a maximum, a frame past the largest buffer is too big", &unlimited,
              &s, WS_ERR_TOO_BIG, "");
    }
}

static void test_utf8_rules(void)
{
    static const struct {
        const char *name;
        const char *bytes;
        int valid;
    } cases[] = {
        { "ASCII", "hello", 1 },
        { "Greek kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", 1 },
        { "U+10FFFF", "\xf4\x8f\xbf\xbf", 1 },
        { "U+D7FF", "\xed\x9f\xbf", 1 },
        { "U+E000", "\xee\x80\x80", 1 },
        { "overlong C0 80", "\xc0\x80", 0 },
        { "overlong C1 BF", "\xc1\xbf", 0 },
        { "overlong E0 9F BF", "\xe0\x9f\xbf", 0 },
        { "overlong F0 8F BF BF", "\xf0\x8f\xbf\xbf", 0 },
        { "surrogate ED A0 80", "\xed\xa0\x80", 0 },
        { "above U+10FFFF F4 90", "\xf4\x90\x80\x80", 0 },
        { "F5 lead byte", "\xf5\x80\x80\x80", 0 },
        { "FF byte", "\xff", 0 },
        { "lone continuation", "\x80", 0 },
        { "truncated sequence", "\xe2\x82", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        ok(ws_utf8_valid((const unsigned char *)cases[i].bytes,
                         strlen(cases[i].bytes)) == cases[i].valid,
           "UTF-8 %s is %s", cases[i].name, cases[i].valid ? "valid" : "invalid");
}

/* Fails at the exact byte: the state is still a valid prefix one byte
 * before, and rejects on that byte. */
static void test_utf8_fail_fast(void)
{
    static const unsigned char kosme_bad[] = {
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
        0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64
    };
    ws_utf8 v;
    size_t i, failed_at = 0;

    ws_utf8_init(&v);
    for (i = 0; i < sizeof(kosme_bad); i++)
        if (ws_utf8_feed(&v, kosme_bad + i, 1) < 0) {
            failed_at = i;
            break;
        }
    is_int(failed_at, 12, "UTF-8 fails on the first byte that cannot continue");

    {
        ws_reader_config cfg = server_config(0);
        stream s = { 0 };

        frame(&s, 0, WS_OP_TEXT, "\xce\xba\xe1\xbd", 4, 0);
        frame(&s, 0, WS_OP_CONT, "\xb9\xcf\x83", 3, 0);
        frame(&s, WS_FIN, WS_OP_CONT, "\xce\xbc\xce\xb5", 4, 0);
        check("UTF-8 split across fragments is valid", &cfg, &s, WS_OK,
              "TEXT:\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5|");

        /* an invalid byte in a frame of an unfinished message fails at
         * once: no need for the rest of the message */
        frame(&s, 0, WS_OP_TEXT, "valid", 5, 0);
        frame(&s, 0, WS_OP_CONT, "\xc0", 1, 0);
        check("invalid UTF-8 fails before the message ends", &cfg, &s,
              WS_ERR_UTF8, "");

        {
            /* half a frame, the bad byte inside it: fails mid-frame */
            unsigned char h[WS_MAX_HEADER_SIZE], p[4] = { 'a', 0xff, 'b', 'c' };
            put(&s, h, ws_frame_header(h, WS_FIN, WS_OP_TEXT, 100, test_mask));
            ws_mask(p, 4, test_mask, 0);
            put(&s, p, 4);
            check("invalid UTF-8 fails before the frame ends", &cfg, &s,
                  WS_ERR_UTF8, "");
        }

        frame(&s, WS_FIN, WS_OP_TEXT, "\xe2\x82", 2, 0);
        check("text ending inside a character is invalid", &cfg, &s,
              WS_ERR_UTF8, "");

        frame(&s, WS_FIN, WS_OP_BINARY, "\xff\xfe", 2, 0);
        check("binary messages are not UTF-8 checked", &cfg, &s, WS_OK,
              "BIN:\xff\xfe|");
    }
}

static void test_close_rules(void)
{
    static const unsigned valid[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                      1010, 1011, 3000, 3999, 4000, 4999 };
    static const unsigned invalid[] = { 0, 999, 1004, 1005, 1006, 1015, 1016,
                                        1100, 2000, 2999, 5000, 65535 };
    ws_reader_config cfg = server_config(0);
    unsigned char p[WS_MAX_CONTROL_PAYLOAD];
    stream s = { 0 };
    size_t i, n;
    int all = 1;

    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        all &= ws_close_code_valid(valid[i]);
    ok(all, "valid close codes are accepted");
    all = 1;
    for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
        all &= !ws_close_code_valid(invalid[i]);
    ok(all, "invalid close codes are refused");

    frame(&s, WS_FIN, WS_OP_CLOSE, "", 0, 0);
    check("empty close reports no status", &cfg, &s, WS_OK, "CLOSE 1005:|");

    n = ws_close_payload(p, 1000, "bye");
    frame(&s, WS_FIN, WS_OP_CLOSE, p, n, 0);
    text(&s, "ignored");
    check("close with code and reason; nothing after it is read", &cfg, &s,
          WS_OK, "CLOSE 1000:bye|");

    frame(&s, WS_FIN, WS_OP_CLOSE, "\x03", 1, 0);
    check("close with a 1-byte payload is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    n = ws_close_payload(p, 1005, "");
    frame(&s, WS_FIN, WS_OP_CLOSE, p, n, 0);
    check("close with code 1005 is a protocol error", &cfg, &s,
          WS_ERR_PROTOCOL, "");

    n = ws_close_payload(p, 1000, "\xce\xba\xff");
    frame(&s, WS_FIN, WS_OP_CLOSE, p, n, 0);
    check("close reason that is not UTF-8 is invalid data", &cfg, &s,
          WS_ERR_UTF8, "");

    {
        char reason[200];
        memset(reason, 'r', sizeof(reason));
        memcpy(reason + 122, "\xce\xba", 2);   /* straddles the cut */
        reason[199] = '\0';
        n = ws_close_payload(p, 1001, reason);
        ok(n == 124 && ws_utf8_valid(p + 2, n - 2),
           "a long close reason is cut on a character boundary");
    }

    is_int(ws_status_close_code(WS_ERR_PROTOCOL), 1002, "protocol error closes 1002");
    is_int(ws_status_close_code(WS_ERR_UTF8), 1007, "bad UTF-8 closes 1007");
    is_int(ws_status_close_code(WS_ERR_TOO_BIG), 1009, "too big closes 1009");
}

static void test_buffer_shrinks(void)
{
    /* indirectly: a huge message then a small one both arrive; the reader
     * must not keep the large buffer (checked under valgrind/ASan for
     * correctness of the free-and-regrow path) */
    ws_reader_config cfg = server_config(0);
    size_t n = 1 << 20;
    unsigned char *p = calloc(1, n);
    stream s = { 0 };

    frame(&s, WS_FIN, WS_OP_BINARY, p, n, 0);
    text(&s, "after");
    free(p);
    check("a small message after a 1 MiB one arrives intact", &cfg, &s, WS_OK,
          "BIN[1048576]|TEXT:after|");
}

static void test_handshake(void)
{
    char accept[29];
    const char *why;
    ws_handshake_request req = { "GET", 1001, "websocket", "Upgrade",
                                 "dGhlIHNhbXBsZSBub25jZQ==", "13" };
    ws_handshake_request bad;
    const char *tok;
    size_t len;
    const char *cursor = " chat ,, superchat\t, ";
    int items = 0;

    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    is_str(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept key of RFC 6455 example");

    ok(ws_header_has_token("keep-alive, Upgrade", "upgrade"),
       "Connection token found inside a comma list");
    ok(ws_header_has_token("upgrade ,foo", "upgrade"), "token before a comma");
    ok(ws_header_has_token("foo,\tUPGRADE", "upgrade"), "token after a tab, any case");
    ok(!ws_header_has_token("notupgrade", "upgrade"), "token must match whole");
    ok(!ws_header_has_token("upgraded, x", "upgrade"), "prefix is not the token");
    ok(!ws_header_has_token(NULL, "upgrade"), "absent header has no token");
    while (ws_list_next(&cursor, &tok, &len))
        items++;
    is_int(items, 2, "list walk skips empty items");

    ok(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="), "16-byte key is valid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="), "short key is invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"), "key without padding is invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=!"), "bad padding is invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25j*Q=="), "bad character is invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25jZR=="), "non-zero padding bits are invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25jZWU="), "17-byte key is invalid");
    ok(!ws_key_valid("dGhlIHNhbXBsZSBub25j"), "15-byte key is invalid");

    is_int(ws_handshake_check(&req, &why), 0, "valid handshake passes");
    bad = req; bad.method = "POST";
    is_int(ws_handshake_check(&bad, &why), 400, "GET only");
    bad = req; bad.proto_num = 1000;
    is_int(ws_handshake_check(&bad, &why), 400, "HTTP/1.1 or later");
    bad = req; bad.upgrade = "h2c";
    is_int(ws_handshake_check(&bad, &why), 400, "Upgrade must name websocket");
    bad = req; bad.upgrade = "WebSocket";
    is_int(ws_handshake_check(&bad, &why), 0, "Upgrade compared case-insensitively");
    bad = req; bad.connection = "keep-alive";
    is_int(ws_handshake_check(&bad, &why), 400, "Connection must hold upgrade");
    bad = req; bad.key = NULL;
    is_int(ws_handshake_check(&bad, &why), 400, "key required");
    bad = req; bad.version = "8";
    is_int(ws_handshake_check(&bad, &why), 426, "version other than 13 is 426");
    bad = req; bad.version = NULL;
    is_int(ws_handshake_check(&bad, &why), 426, "missing version is 426");
}

int main(void)
{
    test_header_encoding();
    test_mask_offsets();
    test_lengths();
    test_framing_rules();
    test_max_message();
    test_utf8_rules();
    test_utf8_fail_fast();
    test_close_rules();
    test_buffer_shrinks();
    test_handshake();
    return done_testing();
}
