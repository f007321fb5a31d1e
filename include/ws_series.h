/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_series.h - the instance's recent history for the status page: a ring
 * of samples of the summed counters (ws_metrics.h), kept in the same
 * shared memory as the counters.  No httpd, no locks.
 *
 * One writer: Apache's parent, from its monitor hook (prefork runs it about
 * every ten seconds), adds the sums as a sample when the last one is at
 * least WS_SERIES_MIN_GAP old.  It fills the slot after the newest, then
 * publishes it with a release store of count.  Readers (the status handler,
 * in any child) load count with acquire, then the samples with relaxed
 * loads; the slot the writer fills next is the oldest, which they skip, so
 * what they read is whole unless they take longer than a sampling period.
 */
#ifndef WS_SERIES_H
#define WS_SERIES_H

#include <stdint.h>

#include "ws_metrics.h"

#define WS_SERIES_LEN     64    /* slots; LEN - 1 readable: about ten minutes */
#define WS_SERIES_MIN_GAP 5     /* seconds between two samples, at least */

typedef struct {
    int64_t t;                  /* microseconds (apr_time_t) */
    uint64_t v[WS_METRIC_COUNT];
} ws_sample;

typedef struct {
    uint64_t count;             /* samples added since the start */
    ws_sample s[WS_SERIES_LEN];
} ws_series;

/* Adds sum taken at now (us) unless the newest sample is younger than
 * WS_SERIES_MIN_GAP (or newer than now); 1 if it was added. */
int ws_series_add(ws_series *h, int64_t now, const uint64_t sum[WS_METRIC_COUNT]);

/* Copies the readable samples, oldest first, into out (WS_SERIES_LEN - 1
 * of room); returns how many. */
int ws_series_read(const ws_series *h, ws_sample *out);

/* Per second between samples a and b (b later) of the counters in ids
 * (n of them) summed; 0 when time did not advance, and a sum that went
 * down (a restarted instance) counts from 0. */
double ws_series_rate(const ws_sample *a, const ws_sample *b, const ws_metric *ids, int n);

#endif /* WS_SERIES_H */
