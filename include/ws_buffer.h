/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_buffer.h - the one growable byte buffer of the gateway: the frame
 * reader's message, permessage-deflate's output, the connection's outbox,
 * the bridge's bus messages and client frames.
 *
 * One growth policy: the first allocation is WS_BUFFER_FIRST bytes, sized
 * for the common OpenSRF message rather than a large one since every idle
 * connection keeps its buffers; then the capacity doubles as needed, never
 * past WS_BUFFER_MAX; a size that would overflow or pass it is refused.
 * One trim policy: an owner reuses its buffer from message to message
 * (ws_buffer_reset, no allocation on the common path) and the storage of
 * one grown past WS_BUFFER_KEEP goes when it is reset, so an idle
 * connection does not keep the memory of its largest message; after a
 * message of WS_BUFFER_TRIM_AFTER bytes or more, ws_buffer_give_back
 * hands the freed heap back to the kernel.
 *
 * Ownership: the buffer owns data (malloc'd); the owner frees it with
 * ws_buffer_free.  A zeroed ws_buffer is an empty one.  Nothing here
 * locks: one thread uses a buffer at a time.
 */
#ifndef WS_BUFFER_H
#define WS_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#define WS_BUFFER_FIRST       1024
#define WS_BUFFER_KEEP        (64 * 1024)
/* The largest buffer, its terminating NUL included: a power of two, so
 * doubling from WS_BUFFER_FIRST reaches it exactly; it also keeps a
 * buffer's free room within zlib's 32-bit counts. */
#define WS_BUFFER_MAX         ((size_t)1 << 31)
/* glibc keeps freed memory for reuse (its mmap threshold grows with the
 * largest block freed), and a prefork child idles for hours after one
 * large result: past this size a message gives it back. */
#define WS_BUFFER_TRIM_AFTER  (256 * 1024)

typedef struct {
    char *data;     /* NULL until the first byte; then len bytes and a NUL */
    size_t len;
    size_t cap;     /* bytes allocated, the NUL's included */
    int err;        /* a growth was refused: every later one is too, until
                       reset, so a caller may check only its last append */
} ws_buffer;

/* Makes room for n more bytes (and the NUL after them): 0, or -1 when
 * len + n would pass WS_BUFFER_MAX or memory is short (then err is set and
 * the contents are as they were). */
int ws_buffer_reserve(ws_buffer *b, size_t n);

/* 1 if n more bytes could fit under WS_BUFFER_MAX (memory permitting):
 * for a caller telling "too big" from "out of memory". */
int ws_buffer_fits(const ws_buffer *b, uint64_t n);

/* Appends n bytes (0 or -1, as ws_buffer_reserve). */
int ws_buffer_append(ws_buffer *b, const void *p, size_t n);
int ws_buffer_puts(ws_buffer *b, const char *s);

/* For a producer that writes into the buffer itself (zlib): the bytes
 * free after data + len, and the new length once it has written there
 * (at most len + ws_buffer_room; it may also cut the buffer short). */
size_t ws_buffer_room(const ws_buffer *b);
void ws_buffer_set_len(ws_buffer *b, size_t len);

/* Empties b and clears err; the storage goes if it grew past
 * WS_BUFFER_KEEP, else it is kept for the next message. */
void ws_buffer_reset(ws_buffer *b);
void ws_buffer_free(ws_buffer *b);

/* Once a message of len bytes is done and its buffers reset: the free
 * heap goes back to the kernel if it was WS_BUFFER_TRIM_AFTER or more. */
void ws_buffer_give_back(size_t len);

#endif /* WS_BUFFER_H */
