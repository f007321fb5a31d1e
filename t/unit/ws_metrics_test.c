/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_metrics_test.c - the counter table: slots sum, a dead child's gauges
 * drop out, a re-init keeps the counts, both renderings are whole.
 */
#include <stdlib.h>
#include <string.h>

#include "ws_metrics.h"
#include "tap.h"

#define NSLOTS 4

int main(void)
{
    size_t size = (ws_metrics_size(NSLOTS) + 63) / 64 * 64;
    ws_metrics_table *t = aligned_alloc(64, size);
    uint64_t live[NSLOTS] = { 11, 12, 0, 0 }, sum[WS_METRIC_COUNT];
    ws_children ch = { 3, 0, 1, 1, 0, 1 };
    char buf[16384], tiny[64];
    int n;

    memset(t, 0, size);
    is_int(ws_metrics_init(t, NSLOTS), 0, "a new table is initialised");
    ws_metrics_claim(&t->slot[0], 11);
    ws_metrics_claim(&t->slot[1], 12);
    ws_metrics_claim(&t->slot[2], 13);      /* a child that has died since */
    ws_metric_add(&t->slot[0], WS_M_REQUESTS, 3);
    ws_metric_add(&t->slot[1], WS_M_REQUESTS, 4);
    ws_metric_add(&t->slot[2], WS_M_REQUESTS, 5);
    ws_metric_add(&t->slot[0], WS_M_CONNECTIONS_OPEN, 1);
    ws_metric_add(&t->slot[2], WS_M_CONNECTIONS_OPEN, 1);
    ws_metric_add(&t->slot[1], WS_M_CONNECTIONS_OPEN, 1);
    ws_metric_add(&t->slot[1], WS_M_CONNECTIONS_OPEN, -1);
    ws_metric_set(&t->slot[1], WS_M_IN_FLIGHT, 2);
    ws_metric_add(NULL, WS_M_REQUESTS, 1);  /* no slot: nothing happens */
    ws_metric_add(&t->slot[0], ws_metric_close(1002), 1);
    ws_metric_add(&t->slot[0], ws_metric_close(4000), 1);
    ws_metric_add(&t->slot[1], ws_metric_osrf_status(404), 1);

    ws_metrics_sum(t, live, sum);
    is_int(sum[WS_M_REQUESTS], 12, "counters of every slot add up, a dead child's too");
    is_int(sum[WS_M_CONNECTIONS_OPEN], 1, "gauges count only live owners; -1 undoes +1");
    is_int(sum[WS_M_IN_FLIGHT], 2, "a gauge set");
    is_int(sum[WS_M_CLOSE_1002], 1, "close 1002 counted under its code");
    is_int(sum[WS_M_CLOSE_OTHER], 1, "an unlisted close code under other");
    is_int(sum[WS_M_OSRF_STATUS_404], 1, "STATUS 404 under its code");

    ws_metrics_claim(&t->slot[2], 14);      /* a new child takes the slot */
    is_int((long long)t->slot[2].v[WS_M_CONNECTIONS_OPEN], 0, "its gauges start at 0");
    is_int((long long)t->slot[2].v[WS_M_REQUESTS], 5, "its counters go on");
    is_int(ws_metrics_init(t, NSLOTS), 1, "init on a restart keeps the table");
    ws_metrics_sum(t, live, sum);
    is_int(sum[WS_M_REQUESTS], 12, "and its counts");

    n = ws_metrics_json(sum, &ch, 2, buf, sizeof(buf));
    ok(n > 0 && buf[n - 1] == '\n', "JSON rendered");
    ok(strstr(buf, "\"requests_total\":12") != NULL, "JSON: a plain figure");
    ok(strstr(buf, "\"closes_total\":{\"1000\":0,\"1001\":0,\"1002\":1,") != NULL,
       "JSON: a family by code is an object");
    ok(strstr(buf, "\"children\":{\"total\":3,\"starting\":0,\"idle\":1,\"websocket\":1,"
                   "\"other\":0,\"stopping\":1}}") != NULL, "JSON: children by state");
    n = ws_metrics_prometheus(sum, &ch, 2, buf, sizeof(buf));
    ok(n > 0, "Prometheus rendered");
    ok(strstr(buf, "# TYPE osrf_ws_closes_total counter\nosrf_ws_closes_total{code=\"1000\"} 0\n")
       != NULL, "Prometheus: TYPE once, then the labelled samples");
    ok(strstr(buf, "osrf_ws_requests_in_flight 2\n") != NULL, "Prometheus: a gauge");
    ok(strstr(buf, "osrf_ws_children{state=\"websocket\"} 1\n") != NULL,
       "Prometheus: children by state");
    is_int(ws_metrics_json(sum, &ch, 2, tiny, sizeof(tiny)), -1, "a short buffer is refused");
    free(t);
    return done_testing();
}
