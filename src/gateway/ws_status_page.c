/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_status_page.c - the status handler's view choice and its HTML page.
 * See ws_status_page.h.
 */
#include <string.h>
#include <time.h>

#include "ws_out.h"
#include "ws_status_page.h"

ws_status_view ws_status_view_of(const char *args, const char *accept)
{
    static const struct {
        const char *arg;
        ws_status_view view;
    } asked[] = {
        { "json", WS_VIEW_JSON }, { "prometheus", WS_VIEW_PROMETHEUS },
        { "html", WS_VIEW_HTML }, { "ready", WS_VIEW_READY },
    };
    size_t i;

    for (i = 0; args && i < sizeof(asked) / sizeof(asked[0]); i++)
        if (strcmp(args, asked[i].arg) == 0)
            return asked[i].view;
    if (accept && strstr(accept, "text/plain") && strstr(accept, "version=0.0.4"))
        return WS_VIEW_PROMETHEUS;
    if (accept && strstr(accept, "text/html"))
        return WS_VIEW_HTML;
    return WS_VIEW_JSON;
}

/* --- the charts ------------------------------------------------------------ */

#define CHART_W     360
#define CHART_H     110
#define PLOT_X      34          /* room for the scale on the left */
#define PLOT_TOP    8
#define PLOT_BOTTOM 18          /* room for the time axis */
#define MAX_LINES   4
#define MAX_POINTS  (WS_SERIES_LEN + 1)     /* the history, and now */

/* One chart: up to MAX_LINES lines over the same points in time. */
typedef struct {
    int nlines, npoints;
    const char *names[MAX_LINES];
    int64_t t[MAX_POINTS];
    double v[MAX_LINES][MAX_POINTS];
} chart;

/* What an error line sums: the figures of one kind. */
typedef struct {
    const char *name;
    const ws_metric *ids;
    int n;
} error_kind;

static const char *const colours[MAX_LINES] = { "#2563eb", "#dc2626", "#d97706", "#7c3aed" };

static const ws_metric requests_ids[] = { WS_M_REQUESTS };
static const ws_metric gateway_ids[] = { WS_M_GW_STATUS_400, WS_M_GW_STATUS_408,
                                         WS_M_GW_STATUS_503 };
static const ws_metric opensrf_ids[] = { WS_M_OSRF_STATUS_400, WS_M_OSRF_STATUS_404,
                                         WS_M_OSRF_STATUS_408, WS_M_OSRF_STATUS_500,
                                         WS_M_OSRF_STATUS_OTHER };
static const ws_metric bus_ids[] = { WS_M_BUS_ERRORS };
static const ws_metric protocol_ids[] = { WS_M_HANDSHAKES_REFUSED, WS_M_CLOSE_1002,
                                          WS_M_CLOSE_1003, WS_M_CLOSE_1007, WS_M_CLOSE_1008,
                                          WS_M_CLOSE_1009, WS_M_CLOSE_1011,
                                          WS_M_PING_TIMEOUTS };
#define KIND(name, ids) { name, ids, (int)(sizeof(ids) / sizeof(ids[0])) }
static const error_kind error_kinds[] = {
    KIND("gateway STATUS", gateway_ids), KIND("OpenSRF STATUS", opensrf_ids),
    KIND("bus", bus_ids), KIND("client protocol", protocol_ids),
};

/* The smallest 1, 2 or 5 times a power of ten at or above v. */
static double scale_top(double v)
{
    double p = 1;

    if (v <= 1)
        return 1;
    while (p * 10 < v)
        p *= 10;
    return v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

static void put_number(ws_out *o, double v)
{
    if (v == (double)(long long)v)
        ws_put(o, "%lld", (long long)v);
    else
        ws_put(o, "%.*f", v < 10 ? 2 : 1, v);
}

static void put_escaped(ws_out *o, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': ws_put(o, "&amp;"); break;
        case '<': ws_put(o, "&lt;"); break;
        case '>': ws_put(o, "&gt;"); break;
        case '"': ws_put(o, "&quot;"); break;
        case '\'': ws_put(o, "&#39;"); break;
        default: ws_put(o, "%c", *s);
        }
    }
}

/* A chart as inline SVG, after its title and the newest value of each line. */
static void put_chart(ws_out *o, const char *id, const char *title, const chart *c)
{
    double top = 0;
    int64_t t0 = c->t[0], span = c->t[c->npoints - 1] - c->t[0];
    int k, i;

    for (k = 0; k < c->nlines; k++)
        for (i = 0; i < c->npoints; i++)
            top = c->v[k][i] > top ? c->v[k][i] : top;
    top = scale_top(top);
    ws_put(o, "<figure id=\"%s\" data-points=\"%d\"><figcaption>%s", id, c->npoints, title);
    for (k = 0; k < c->nlines; k++) {
        ws_put(o, " <span class=\"key\"><i style=\"background:%s\"></i>%s ", colours[k],
               c->names[k] ? c->names[k] : "now");
        ws_put(o, "<b class=\"last\">");
        put_number(o, c->v[k][c->npoints - 1]);
        ws_put(o, "</b></span>");
    }
    ws_put(o, "</figcaption>\n<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\""
           " width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">", CHART_W, CHART_H,
           CHART_W, CHART_H, title);
    ws_put(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"axis\"/>"
           "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"grid\"/>"
           "<text x=\"%d\" y=\"%d\" class=\"scale\">", PLOT_X, CHART_H - PLOT_BOTTOM,
           CHART_W, CHART_H - PLOT_BOTTOM, PLOT_X, PLOT_TOP, CHART_W, PLOT_TOP, PLOT_X - 4,
           PLOT_TOP + 4);
    put_number(o, top);
    ws_put(o, "</text><text x=\"%d\" y=\"%d\" class=\"scale\">0</text>"
           "<text x=\"%d\" y=\"%d\" class=\"time\">", PLOT_X - 4,
           CHART_H - PLOT_BOTTOM + 4, PLOT_X, CHART_H - 4);
    if (span < 120 * 1000000LL)
        ws_put(o, "%lld s ago", (long long)(span / 1000000));
    else
        ws_put(o, "%lld min ago", (long long)(span / 60000000));
    ws_put(o, "</text><text x=\"%d\" y=\"%d\" class=\"time now\">now</text>", CHART_W,
           CHART_H - 4);
    for (k = 0; k < c->nlines; k++) {
        ws_put(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
               colours[k]);
        for (i = 0; i < c->npoints; i++) {
            double x = PLOT_X + (span > 0 ? (double)(c->t[i] - t0) / (double)span : 1)
                                * (CHART_W - PLOT_X);
            double y = PLOT_TOP + (1 - c->v[k][i] / top) * (CHART_H - PLOT_TOP - PLOT_BOTTOM);
            ws_put(o, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        ws_put(o, "\"/>");
    }
    ws_put(o, "</svg></figure>\n");
}

/* The history and the sums now as one list of points, oldest first. */
static int points(const ws_page *p, ws_sample *now, const ws_sample **at)
{
    int n = 0, i;

    for (i = 0; i < p->nsamples && n < MAX_POINTS - 1; i++)
        at[n++] = &p->samples[i];
    now->t = p->now;
    memcpy(now->v, p->sum, sizeof(now->v));
    if (n == 0 || at[n - 1]->t < p->now)
        at[n++] = now;
    return n;
}

static void put_charts(ws_out *o, const ws_page *p)
{
    ws_sample now;
    const ws_sample *at[MAX_POINTS];
    chart c;
    int n = points(p, &now, at), i, k;

    ws_put(o, "<section class=\"charts\">\n");
    memset(&c, 0, sizeof(c));
    c.nlines = 1;
    c.npoints = n;
    for (i = 0; i < n; i++) {
        c.t[i] = at[i]->t;
        c.v[0][i] = (double)(int64_t)at[i]->v[WS_M_CONNECTIONS_OPEN];
    }
    put_chart(o, "chart-connections", "Open connections", &c);
    if (n < 2) {
        ws_put(o, "<p class=\"note\">Rates need two samples: the next comes within %d s.</p>"
               "</section>\n", WS_PAGE_REFRESH);
        return;
    }
    /* a rate belongs to the end of its interval */
    c.npoints = n - 1;
    for (i = 1; i < n; i++) {
        c.t[i - 1] = at[i]->t;
        c.v[0][i - 1] = ws_series_rate(at[i - 1], at[i], requests_ids, 1);
    }
    put_chart(o, "chart-requests", "Requests per second", &c);
    c.nlines = (int)(sizeof(error_kinds) / sizeof(error_kinds[0]));
    for (k = 0; k < c.nlines; k++) {
        c.names[k] = error_kinds[k].name;
        for (i = 1; i < n; i++)
            c.v[k][i - 1] = 60 * ws_series_rate(at[i - 1], at[i], error_kinds[k].ids,
                                                error_kinds[k].n);
    }
    put_chart(o, "chart-errors", "Errors per minute, by kind", &c);
    ws_put(o, "</section>\n");
}

/* --- the page ---------------------------------------------------------------- */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#111;background:#fafafa}"
    "h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.2em 0 .4em}"
    ".meta{color:#555;margin:0}.charts{display:flex;flex-wrap:wrap;gap:1em}"
    "figure{margin:0;width:372px;background:#fff;border:1px solid #ddd;border-radius:4px;"
    "padding:.5em}"
    "figcaption{font-weight:600;margin-bottom:.3em}.key{font-weight:400;margin-left:.6em}"
    ".key i{display:inline-block;width:.8em;height:.8em;margin-right:.25em}"
    "svg .axis{stroke:#999}svg .grid{stroke:#eee}"
    "svg text{font:10px sans-serif;fill:#666}svg .scale{text-anchor:end}"
    "svg .now{text-anchor:end}table{border-collapse:collapse;background:#fff}"
    "td,th{border:1px solid #ddd;padding:.2em .6em;text-align:right}th{text-align:left}"
    ".ok{color:#15803d;font-weight:600}.down{color:#b91c1c;font-weight:600}"
    ".tables{display:flex;flex-wrap:wrap;gap:2em}.note{color:#555}";

static void put_row(ws_out *o, const char *id, const char *label, long long v)
{
    ws_put(o, "<tr><th>%s</th><td id=\"%s\">%lld</td></tr>", label, id, v);
}

static void put_bus(ws_out *o, const ws_page *p)
{
    ws_put(o, "<div><h2>Bus</h2><table><tr><th>This child reaches it</th><td id=\"bus-state\"");
    if (p->bus < 0)
        ws_put(o, ">no bus (the OpenSRF bridge is not loaded)");
    else if (p->bus)
        ws_put(o, " class=\"ok\">yes");
    else {
        ws_put(o, " class=\"down\">no: ");
        put_escaped(o, p->bus_why ? p->bus_why : "unknown");
    }
    ws_put(o, "</td></tr>");
    put_row(o, "bus-errors", "Errors (logins, commands)", (long long)p->sum[WS_M_BUS_ERRORS]);
    put_row(o, "bus-reconnects", "Reconnects", (long long)p->sum[WS_M_BUS_RECONNECTS]);
    ws_put(o, "</table></div>\n");
}

static void put_tables(ws_out *o, const ws_page *p)
{
    const char *name;
    char id[32];
    size_t k;
    int count;

    ws_put(o, "<section class=\"tables\"><div><h2>Now</h2><table>");
    put_row(o, "connections-open", "Open connections",
            (long long)(int64_t)p->sum[WS_M_CONNECTIONS_OPEN]);
    put_row(o, "requests-in-flight", "Requests in flight",
            (long long)(int64_t)p->sum[WS_M_IN_FLIGHT]);
    put_row(o, "sessions-cached", "Stateful sessions", (long long)(int64_t)p->sum[WS_M_SESSIONS]);
    put_row(o, "connections-total", "Connections since start",
            (long long)p->sum[WS_M_CONNECTIONS]);
    put_row(o, "requests-total", "Requests since start", (long long)p->sum[WS_M_REQUESTS]);
    ws_put(o, "</table></div>\n<div><h2>Children by state</h2><table>");
    for (k = 0; (name = ws_children_state(p->children, k, &count)) != NULL; k++) {
        snprintf(id, sizeof(id), "children-%s", name);
        put_row(o, id, name, count);
    }
    ws_put(o, "</table></div>\n");
    put_bus(o, p);
    ws_put(o, "</section>\n");
}

int ws_status_page(const ws_page *p, char *buf, size_t n)
{
    ws_out o = WS_OUT(buf, n);
    time_t secs = (time_t)(p->now / 1000000);
    struct tm tm;
    char when[32];

    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    ws_put(&o, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta http-equiv=\"refresh\" content=\"%d\">"
           "<meta name=\"viewport\" content=\"width=device-width\">"
           "<title>OpenSRF WebSocket gateway status</title><style>%s</style></head><body>\n"
           "<h1>OpenSRF WebSocket gateway</h1><p class=\"meta\">%s, generation %ld; "
           "this page reloads every %d s; also as <a href=\"?json\">JSON</a> and "
           "<a href=\"?prometheus\">Prometheus</a>.</p>\n",
           WS_PAGE_REFRESH, style, when, p->generation, WS_PAGE_REFRESH);
    put_charts(&o, p);
    put_tables(&o, p);
    ws_put(&o, "</body></html>\n");
    return ws_out_end(&o);
}
