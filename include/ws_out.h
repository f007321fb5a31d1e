/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_out.h - a bounded appender for the status renderings (ws_metrics.c,
 * ws_status_page.c): printf into a caller's buffer; after an overflow
 * every put fails and the end says -1.  No httpd.
 */
#ifndef WS_OUT_H
#define WS_OUT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    char *buf;
    size_t n, len;
    int over;
} ws_out;

#define WS_OUT(buf, n) { (buf), (n), 0, 0 }

__attribute__((format(printf, 2, 3)))
static inline void ws_put(ws_out *o, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (o->over)
        return;
    va_start(ap, fmt);
    k = vsnprintf(o->buf + o->len, o->n - o->len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= o->n - o->len)
        o->over = 1;
    else
        o->len += (size_t)k;
}

/* The length written (the buffer is NUL-terminated), or -1 if it was short. */
static inline int ws_out_end(const ws_out *o)
{
    return o->over ? -1 : (int)o->len;
}

#endif /* WS_OUT_H */
