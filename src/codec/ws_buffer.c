/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_buffer.c - the growable byte buffer (ws_buffer.h): its growth
 * policy, overflow-checked and bounded, and its trim policy.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "ws_buffer.h"

int ws_buffer_fits(const ws_buffer *b, uint64_t n)
{
    return n < WS_BUFFER_MAX - b->len;      /* len + n + the NUL <= MAX */
}

int ws_buffer_reserve(ws_buffer *b, size_t n)
{
    size_t need, cap;
    char *p;

    if (b->err || !ws_buffer_fits(b, n)) {
        b->err = 1;
        return -1;
    }
    need = b->len + n + 1;
    if (need <= b->cap)
        return 0;
    /* powers of two from FIRST up to MAX, itself one: no overflow */
    for (cap = b->cap ? b->cap : WS_BUFFER_FIRST; cap < need; cap *= 2)
        ;
    if ((p = realloc(b->data, cap)) == NULL) {
        b->err = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int ws_buffer_append(ws_buffer *b, const void *p, size_t n)
{
    if (ws_buffer_reserve(b, n) < 0)
        return -1;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int ws_buffer_puts(ws_buffer *b, const char *s)
{
    return ws_buffer_append(b, s, strlen(s));
}

size_t ws_buffer_room(const ws_buffer *b)
{
    return b->cap ? b->cap - b->len - 1 : 0;
}

void ws_buffer_set_len(ws_buffer *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

void ws_buffer_reset(ws_buffer *b)
{
    b->err = 0;
    if (b->cap > WS_BUFFER_KEEP)
        ws_buffer_free(b);
    else
        ws_buffer_set_len(b, 0);
}

void ws_buffer_free(ws_buffer *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->err = 0;
}

void ws_buffer_give_back(size_t len)
{
    if (len >= WS_BUFFER_TRIM_AFTER)
        malloc_trim(0);
}
