/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_status_page.h - the status handler's views that are pure decisions
 * and text: which view a request asks for, and the HTML page for people
 * (live charts of the recent history as inline SVG, no script).  No httpd.
 */
#ifndef WS_STATUS_PAGE_H
#define WS_STATUS_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_metrics.h"
#include "ws_series.h"

typedef enum {
    WS_VIEW_JSON,
    WS_VIEW_PROMETHEUS,
    WS_VIEW_HTML,
    WS_VIEW_READY
} ws_status_view;

/* ?json, ?prometheus, ?html, ?ready; otherwise by Accept: Prometheus' own
 * type, then text/html (a browser), else JSON.  Either may be NULL. */
ws_status_view ws_status_view_of(const char *args, const char *accept);

/* The page needs nothing from elsewhere: no script, no style sheet, no
 * image; it reloads itself every WS_PAGE_REFRESH seconds. */
#define WS_PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; " \
                    "form-action 'none'; frame-ancestors 'none'"
#define WS_PAGE_REFRESH 10

typedef struct {
    const uint64_t *sum;            /* the sums now (WS_METRIC_COUNT) */
    const ws_children *children;
    long generation;
    const ws_sample *samples;       /* the recent history, oldest first */
    int nsamples;
    int bus;                        /* 1 reachable, 0 not, -1 no bus here */
    const char *bus_why;            /* why not (bus == 0); any text, escaped */
    int64_t now;                    /* microseconds since the epoch */
} ws_page;

/* Renders the page into buf; the length (< n), or -1 if n is short. */
int ws_status_page(const ws_page *p, char *buf, size_t n);

#endif /* WS_STATUS_PAGE_H */
