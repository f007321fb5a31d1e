/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_status_page_test.c - the status page's pure parts: the history ring
 * (spacing, wrap-around, the oldest slot skipped, rates across a restart),
 * which view a request gets, and the HTML page (charts, values, escaping,
 * nothing fetched from elsewhere, a short buffer refused).
 */
#include <stdlib.h>
#include <string.h>

#include "ws_series.h"
#include "ws_status_page.h"
#include "tap.h"

#define SEC 1000000LL

static ws_series h;         /* zeroed, as in a new segment */

static void test_ring(void)
{
    static ws_sample out[WS_SERIES_LEN];
    uint64_t sum[WS_METRIC_COUNT] = { 0 };
    ws_metric req[] = { WS_M_REQUESTS };
    int i, n;

    is_int(ws_series_read(&h, out), 0, "an empty history reads as nothing");
    sum[WS_M_REQUESTS] = 100;
    is_int(ws_series_add(&h, 1000 * SEC, sum), 1, "the first sample is taken");
    is_int(ws_series_add(&h, 1000 * SEC + (WS_SERIES_MIN_GAP * SEC - 1), sum), 0,
           "one closer than the minimum gap is not");
    is_int(ws_series_add(&h, 999 * SEC, sum), 0, "nor one from before the newest (clock step)");
    sum[WS_M_REQUESTS] = 150;
    is_int(ws_series_add(&h, 1010 * SEC, sum), 1, "one the gap later is");
    n = ws_series_read(&h, out);
    is_int(n, 2, "two samples read back");
    ok(out[0].t == 1000 * SEC && out[1].t == 1010 * SEC, "oldest first");
    ok(ws_series_rate(&out[0], &out[1], req, 1) == 5.0, "50 requests in 10 s: 5 per second");
    ok(ws_series_rate(&out[1], &out[1], req, 1) == 0.0, "no time, no rate");
    out[1].v[WS_M_REQUESTS] = 20;
    ok(ws_series_rate(&out[0], &out[1], req, 1) == 2.0,
       "a sum that went down (the instance restarted) counts from 0");

    for (i = 0; i < 3 * WS_SERIES_LEN; i++) {
        sum[WS_M_REQUESTS] = (uint64_t)i;
        ws_series_add(&h, (1100 + 10 * i) * SEC, sum);
    }
    n = ws_series_read(&h, out);
    is_int(n, WS_SERIES_LEN - 1, "after wrapping: every slot but the one written next");
    is_int(out[n - 1].v[WS_M_REQUESTS], 3 * WS_SERIES_LEN - 1, "the newest last");
    is_int(out[0].v[WS_M_REQUESTS], 2 * WS_SERIES_LEN + 1, "the oldest kept first");
    for (i = 1; i < n && out[i].t > out[i - 1].t; i++)
        ;
    is_int(i, n, "in time order");
}

static void test_views(void)
{
    is_int(ws_status_view_of(NULL, NULL), WS_VIEW_JSON, "no args, no Accept: JSON");
    is_int(ws_status_view_of("json", "text/html"), WS_VIEW_JSON, "?json wins over Accept");
    is_int(ws_status_view_of("html", NULL), WS_VIEW_HTML, "?html");
    is_int(ws_status_view_of("ready", "text/html"), WS_VIEW_READY, "?ready");
    is_int(ws_status_view_of("prometheus", NULL), WS_VIEW_PROMETHEUS, "?prometheus");
    is_int(ws_status_view_of(NULL, "text/plain; version=0.0.4; q=0.9, */*; q=0.1"),
           WS_VIEW_PROMETHEUS, "Prometheus' Accept");
    is_int(ws_status_view_of(NULL, "text/html,application/xhtml+xml,application/xml;q=0.9,"
                                   "image/avif,*/*;q=0.8"), WS_VIEW_HTML, "a browser's Accept");
    is_int(ws_status_view_of(NULL, "*/*"), WS_VIEW_JSON, "curl's Accept: JSON");
    is_int(ws_status_view_of("other", "application/json"), WS_VIEW_JSON, "unknown args: by Accept");
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static void test_page(void)
{
    static ws_sample samples[WS_SERIES_LEN];
    static char buf[65536], tiny[512];
    uint64_t sum[WS_METRIC_COUNT] = { 0 };
    ws_children ch = { 7, 0, 3, 2, 1, 1 };
    ws_page p = { sum, &ch, 4, samples, 0, 1, NULL, 1800000000 * SEC };
    int i, len;

    sum[WS_M_CONNECTIONS_OPEN] = 2;
    sum[WS_M_CONNECTIONS] = 41;
    sum[WS_M_REQUESTS] = 9000;
    sum[WS_M_BUS_RECONNECTS] = 3;
    sum[WS_M_BUS_ERRORS] = 17;
    sum[WS_M_OSRF_STATUS_404] = 30;
    len = ws_status_page(&p, buf, sizeof(buf));
    ok(len > 0 && (size_t)len == strlen(buf), "a page without history renders");
    ok(strstr(buf, "id=\"chart-connections\" data-points=\"1\""), "open connections: the one point now");
    ok(!strstr(buf, "chart-requests") && strstr(buf, "Rates need two samples"),
       "no rate chart before two samples, and a note why");

    for (i = 0; i < 30; i++) {
        samples[i].t = p.now - (30 - i) * 10 * SEC;
        memset(samples[i].v, 0, sizeof(samples[i].v));
        samples[i].v[WS_M_CONNECTIONS_OPEN] = (uint64_t)(i % 5);
        samples[i].v[WS_M_REQUESTS] = (uint64_t)(300 * i);
        samples[i].v[WS_M_OSRF_STATUS_404] = (uint64_t)i;
    }
    samples[3].v[WS_M_CONNECTIONS_OPEN] = (uint64_t)-1;    /* a gauge read mid-update */
    p.nsamples = 30;
    len = ws_status_page(&p, buf, sizeof(buf));
    ok(len > 0, "a page with 30 samples renders (%d bytes)", len);
    ok(strstr(buf, "<!doctype html>") == buf, "an HTML document");
    ok(strstr(buf, "id=\"chart-connections\" data-points=\"31\""), "open connections: 30 samples and now");
    ok(strstr(buf, "id=\"chart-requests\" data-points=\"30\""), "requests per second: one per interval");
    ok(strstr(buf, "id=\"chart-errors\" data-points=\"30\""), "errors per minute: one per interval");
    is_int(count(buf, "<polyline"), 1 + 1 + 4, "a line per chart, four for the error kinds");
    ok(strstr(buf, "Requests per second <span class=\"key\"><i style=\"background:#2563eb\"></i>now "
                   "<b class=\"last\">30</b>"), "30 requests a second in the last interval");
    ok(strstr(buf, "OpenSRF STATUS <b class=\"last\">6</b>"), "one 404 per 10 s: 6 a minute");
    ok(strstr(buf, "<td id=\"connections-open\">2</td>"), "open connections now");
    ok(strstr(buf, "<td id=\"children-idle\">3</td>") && strstr(buf, "<td id=\"children-websocket\">2</td>")
       && strstr(buf, "<td id=\"children-total\">7</td>"), "children by state");
    ok(strstr(buf, "<td id=\"bus-state\" class=\"ok\">yes</td>"), "bus reachable");
    ok(strstr(buf, "<td id=\"bus-reconnects\">3</td>") && strstr(buf, "<td id=\"bus-errors\">17</td>"),
       "bus reconnects and errors");
    ok(strstr(buf, "5 min ago"), "the time axis spans the history");
    ok(!strstr(buf, "<script") && !strstr(buf, "src=") && !strstr(buf, "@import")
       && !strstr(buf, "url("), "nothing to fetch: no script, no source, no import");
    ok(!strstr(buf, "nan") && !strstr(buf, "inf"), "no NaN or infinity in the coordinates");

    p.bus = 0;
    p.bus_why = "cannot reach <redis> & \"co\"";
    ws_status_page(&p, buf, sizeof(buf));
    ok(strstr(buf, "class=\"down\">no: cannot reach &lt;redis&gt; &amp; &quot;co&quot;</td>"),
       "bus unreachable, the reason escaped");
    p.bus = -1;
    ws_status_page(&p, buf, sizeof(buf));
    ok(strstr(buf, "no bus (the OpenSRF bridge is not loaded)"), "no bridge: no bus");
    is_int(ws_status_page(&p, tiny, sizeof(tiny)), -1, "a short buffer is refused");
}

int main(void)
{
    test_ring();
    test_views();
    test_page();
    return done_testing();
}
