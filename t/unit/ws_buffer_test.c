/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_buffer_test.c - the one buffer's growth policy (doubling from
 * WS_BUFFER_FIRST, overflow and WS_BUFFER_MAX refused, a refusal sticky
 * until reset) and its trim policy (storage past WS_BUFFER_KEEP goes on
 * reset, smaller storage is reused).
 */
#include <stdint.h>
#include <stdlib.h>

#include "ws_buffer.h"
#include "tap.h"

static void test_growth(void)
{
    ws_buffer b = { 0 };
    char big[3000];
    int doubled = 1;
    size_t i, last;

    ok(ws_buffer_puts(&b, "hello") == 0 && b.len == 5 && strcmp(b.data, "hello") == 0,
       "an empty buffer takes its first bytes, NUL-terminated");
    is_int(b.cap, WS_BUFFER_FIRST, "the first allocation is WS_BUFFER_FIRST");
    memset(big, 'x', sizeof(big));
    ok(ws_buffer_append(&b, big, sizeof(big)) == 0 && b.len == 3005 && b.data[3005] == '\0',
       "it grows for a larger append");
    is_int(b.cap, 4096, "by doubling, to the first power of two that holds it and its NUL");
    ok(memcmp(b.data, "hellox", 6) == 0, "what it held is kept");
    for (i = 0, last = b.cap; i < 200; i++) {
        ws_buffer_append(&b, big, sizeof(big));
        if (b.cap != last && b.cap != 2 * last)
            doubled = 0;
        last = b.cap;
    }
    ok(doubled && b.len == 3005 + 200 * sizeof(big), "every growth doubles");
    ws_buffer_set_len(&b, 4);
    ok(b.len == 4 && strcmp(b.data, "hell") == 0, "set_len cuts it short, NUL-terminated");
    ws_buffer_free(&b);
    ok(b.data == NULL && b.len == 0 && b.cap == 0, "free leaves an empty buffer");
}

static void test_refused(void)
{
    ws_buffer b = { 0 };

    ok(ws_buffer_reserve(&b, WS_BUFFER_MAX) < 0 && b.data == NULL && b.err,
       "WS_BUFFER_MAX bytes (no room for the NUL) are refused without allocating");
    ws_buffer_reset(&b);
    ok(!b.err, "reset clears the refusal");
    ws_buffer_puts(&b, "abc");
    ok(ws_buffer_append(&b, "x", SIZE_MAX) < 0, "an append whose size overflows is refused");
    ok(ws_buffer_append(&b, "x", SIZE_MAX - 3) < 0, "len + n + 1 wrapping to 0 is refused");
    ok(b.len == 3 && strcmp(b.data, "abc") == 0 && b.cap == WS_BUFFER_FIRST,
       "a refused append leaves the contents as they were");
    ok(ws_buffer_puts(&b, "d") < 0 && b.len == 3,
       "after a refusal every append fails, so checking the last one is enough");
    ok(ws_buffer_fits(&b, WS_BUFFER_MAX - 4) && !ws_buffer_fits(&b, WS_BUFFER_MAX - 3),
       "fits: len + n + the NUL up to WS_BUFFER_MAX");
    ok(!ws_buffer_fits(&b, (uint64_t)1 << 63), "fits: a 64-bit frame length past it");
    ws_buffer_reset(&b);
    ok(ws_buffer_puts(&b, "d") == 0 && strcmp(b.data, "d") == 0, "after reset it appends again");
    ws_buffer_free(&b);
}

static void test_trim(void)
{
    ws_buffer b = { 0 };
    char *kept;
    static char chunk[WS_BUFFER_KEEP];

    ws_buffer_puts(&b, "a small message");
    kept = b.data;
    ws_buffer_reset(&b);
    ok(b.data == kept && b.len == 0 && b.cap == WS_BUFFER_FIRST && b.data[0] == '\0',
       "reset keeps small storage for the next message, emptied");
    ws_buffer_append(&b, chunk, WS_BUFFER_KEEP - 1);
    is_int(b.cap, WS_BUFFER_KEEP, "a message that fills WS_BUFFER_KEEP exactly");
    ws_buffer_reset(&b);
    ok(b.data != NULL && b.cap == WS_BUFFER_KEEP, "  keeps its storage on reset");
    ws_buffer_append(&b, chunk, WS_BUFFER_KEEP);
    ok(b.cap > WS_BUFFER_KEEP, "a message one byte larger grows past WS_BUFFER_KEEP");
    ws_buffer_reset(&b);
    ok(b.data == NULL && b.cap == 0 && b.len == 0, "  and gives its storage back on reset");
    ok(ws_buffer_room(&b) == 0, "an unallocated buffer has no room");
    ok(ws_buffer_reserve(&b, 100) == 0 && ws_buffer_room(&b) >= 100,
       "reserve makes room for a producer that writes itself");
    ws_buffer_free(&b);
}

int main(void)
{
    test_growth();
    test_refused();
    test_trim();
    return done_testing();
}
