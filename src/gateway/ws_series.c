/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_series.c - the status page's ring of samples.  See ws_series.h.
 */
#include "ws_series.h"

int ws_series_add(ws_series *h, int64_t now, const uint64_t sum[WS_METRIC_COUNT])
{
    uint64_t count = __atomic_load_n(&h->count, __ATOMIC_RELAXED);
    ws_sample *next = &h->s[count % WS_SERIES_LEN];
    int i;

    if (count > 0) {
        int64_t last = __atomic_load_n(&h->s[(count - 1) % WS_SERIES_LEN].t, __ATOMIC_RELAXED);
        if (now - last < (int64_t)WS_SERIES_MIN_GAP * 1000000)
            return 0;
    }
    __atomic_store_n(&next->t, now, __ATOMIC_RELAXED);
    for (i = 0; i < WS_METRIC_COUNT; i++)
        __atomic_store_n(&next->v[i], sum[i], __ATOMIC_RELAXED);
    __atomic_store_n(&h->count, count + 1, __ATOMIC_RELEASE);
    return 1;
}

int ws_series_read(const ws_series *h, ws_sample *out)
{
    uint64_t count = __atomic_load_n(&h->count, __ATOMIC_ACQUIRE);
    uint64_t first = count > WS_SERIES_LEN - 1 ? count - (WS_SERIES_LEN - 1) : 0;
    uint64_t k;
    int n = 0, i;

    for (k = first; k < count; k++, n++) {
        const ws_sample *s = &h->s[k % WS_SERIES_LEN];

        out[n].t = __atomic_load_n(&s->t, __ATOMIC_RELAXED);
        for (i = 0; i < WS_METRIC_COUNT; i++)
            out[n].v[i] = __atomic_load_n(&s->v[i], __ATOMIC_RELAXED);
    }
    return n;
}

double ws_series_rate(const ws_sample *a, const ws_sample *b, const ws_metric *ids, int n)
{
    uint64_t before = 0, after = 0;
    int i;

    if (b->t <= a->t)
        return 0;
    for (i = 0; i < n; i++) {
        before += a->v[ids[i]];
        after += b->v[ids[i]];
    }
    return (double)(after >= before ? after - before : after) * 1e6 / (double)(b->t - a->t);
}
