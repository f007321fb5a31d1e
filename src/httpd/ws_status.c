/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_status.c - the counters' shared memory and the status handler.
 * See ws_status.h; the counters themselves are ws_metrics.c's.
 */
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "apr_network_io.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "ws_series.h"
#include "ws_status.h"
#include "ws_status_page.h"

APLOG_USE_MODULE(osrf_websocket);

#define SHM_KEY     "osrf_websocket_metrics"
#define STATUS_MAX  (64 * 1024)     /* every rendering fits with room */
#define WS_SLOT_ALIGN 64
/* what a health check waits for the bus: well within HAProxy's check */
#define READY_TIMEOUT apr_time_from_msec(1500)

static ws_metrics_table *table;     /* inherited by every child */
static ws_series *history;          /* after the table, in the same segment */
static int server_limit, thread_limit;

int ws_status_post_config(server_rec *s)
{
    apr_pool_t *keep = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    size_t size;

    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &server_limit);
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_THREADS, &thread_limit);
    if (server_limit <= 0 || thread_limit <= 0)
        return OK;
    /* room to align the slots on cache lines: APR's base is not */
    size = ws_metrics_size((unsigned)server_limit) + sizeof(ws_series) + WS_SLOT_ALIGN;
    /* the key is copied into the pool, so it outlives this module's
     * unloading on a restart; the table keeps its counts across it */
    apr_pool_userdata_get((void **)&shm, SHM_KEY, keep);
    if (shm == NULL || apr_shm_size_get(shm) < size) {
        rv = apr_shm_create(&shm, size, NULL, keep);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                         "OSRFWS01013: no shared memory for the status counters");
            table = NULL;
            return OK;      /* the gateway works without its counters */
        }
        apr_pool_userdata_set(shm, SHM_KEY, apr_pool_cleanup_null, keep);
    }
    table = (ws_metrics_table *)APR_ALIGN((apr_uintptr_t)apr_shm_baseaddr_get(shm),
                                          WS_SLOT_ALIGN);
    history = (ws_series *)((char *)table + ws_metrics_size((unsigned)server_limit));
    if (!ws_metrics_init(table, (unsigned)server_limit))
        memset(history, 0, sizeof(*history));
    return OK;
}

/* Found again on each call (once per connection), not kept in a static:
 * the child writing one would copy this module's data page for itself
 * (one child per connection: README.websockets, Benchmarks).  Claiming
 * is a no-op once the slot is this pid's. */
ws_metrics_slot *ws_status_slot(conn_rec *c)
{
    ws_metrics_slot *mine;
    worker_score *ws;
    int slot;

    if (table == NULL || c->sbh == NULL)
        return NULL;
    /* the scoreboard numbers a worker child * thread_limit + thread */
    ws = ap_get_scoreboard_worker(c->sbh);
    slot = ws ? ws->thread_num / thread_limit : -1;
    if (slot < 0 || slot >= (int)table->nslots)
        return NULL;
    mine = &table->slot[slot];
    ws_metrics_claim(mine, (uint64_t)getpid());
    return mine;
}

const char *ws_status_allow(apr_pool_t *p, apr_array_header_t **allow, const char *arg)
{
    char *ip = apr_pstrdup(p, arg), *mask = strchr(ip, '/');
    apr_ipsubnet_t *sub;

    if (mask)
        *mask++ = '\0';
    if (apr_ipsubnet_create(&sub, ip, mask, p) != APR_SUCCESS)
        return apr_psprintf(p, "WebSocketStatusAllow: %s is not an address or CIDR", arg);
    if (*allow == NULL)
        *allow = apr_array_make(p, 4, sizeof(apr_ipsubnet_t *));
    *(apr_ipsubnet_t **)apr_array_push(*allow) = sub;
    return NULL;
}

static int peer_allowed(request_rec *r, const apr_array_header_t *allow)
{
    static const char *const loopback[] = { "127.0.0.1", "::1" };
    apr_sockaddr_t *peer = r->connection->client_addr;  /* TCP peer, not XFF */
    size_t i;
    int n;

    if (allow == NULL) {
        for (i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
            apr_ipsubnet_t *sub;
            if (apr_ipsubnet_create(&sub, loopback[i], NULL, r->pool) == APR_SUCCESS
                && apr_ipsubnet_test(sub, peer))
                return 1;
        }
        return 0;
    }
    for (n = 0; n < allow->nelts; n++)
        if (apr_ipsubnet_test(APR_ARRAY_IDX(allow, n, apr_ipsubnet_t *), peer))
            return 1;
    return 0;
}

/* Children by state; live[i] gets the pid holding slot i (0: none). */
static void read_scoreboard(int generation, uint64_t *live, ws_children *ch)
{
    int i;

    memset(ch, 0, sizeof(*ch));
    for (i = 0; i < server_limit; i++) {
        process_score *ps = ap_get_scoreboard_process(i);
        worker_score *ws = ap_get_scoreboard_worker_from_indexes(i, 0);
        int status = ws ? ws->status : SERVER_DEAD;

        live[i] = 0;
        if (ps == NULL || ps->pid == 0 || status == SERVER_DEAD)
            continue;
        live[i] = (uint64_t)ps->pid;
        ch->total++;
        if (ps->generation != generation || ps->quiescing || status == SERVER_GRACEFUL
            || status == SERVER_IDLE_KILL || status == SERVER_CLOSING)
            ch->stopping++;
        else if (status == SERVER_STARTING)
            ch->starting++;
        else if (status == SERVER_READY)
            ch->idle++;
        else if (table && __atomic_load_n(&table->slot[i].pid, __ATOMIC_RELAXED) == live[i]
                 && (int64_t)__atomic_load_n(&table->slot[i].v[WS_M_CONNECTIONS_OPEN],
                                             __ATOMIC_RELAXED) > 0)
            ch->websocket++;
        else
            ch->other++;
    }
}

/* The instance's sums and children now. */
static void take_sums(apr_pool_t *p, uint64_t sum[WS_METRIC_COUNT], ws_children *ch,
                      int *generation)
{
    uint64_t *live = apr_pcalloc(p, (size_t)server_limit * sizeof(*live));

    ap_mpm_query(AP_MPMQ_GENERATION, generation);
    read_scoreboard(*generation, live, ch);
    ws_metrics_sum(table, live, sum);
}

/* The parent samples the sums for the page's charts: one writer, whoever
 * looks at the page (prefork runs this about every ten seconds). */
int ws_status_monitor(apr_pool_t *p, server_rec *s)
{
    uint64_t sum[WS_METRIC_COUNT];
    apr_pool_t *scratch;
    ws_children ch;
    int generation;

    (void)s;
    if (table == NULL || apr_pool_create(&scratch, p) != APR_SUCCESS)
        return DECLINED;
    take_sums(scratch, sum, &ch, &generation);
    ws_series_add(history, apr_time_now(), sum);
    apr_pool_destroy(scratch);
    return DECLINED;
}

/* 1 when this child reaches the bus (or there is none: -1); why when not. */
static int probe_bus(request_rec *r, const char **why)
{
    APR_OPTIONAL_FN_TYPE(osrf_ws_bus_ready) *probe = APR_RETRIEVE_OPTIONAL_FN(osrf_ws_bus_ready);

    *why = NULL;
    return probe ? probe(r, READY_TIMEOUT, why) : -1;
}

/* ?ready: 200 only when this child reaches the bus, for a proxy's checks. */
static int answer_ready(request_rec *r)
{
    const char *why;
    int bus = probe_bus(r, &why);

    ap_set_content_type(r, "text/plain; charset=utf-8");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (bus == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "OSRFWS01018: not ready: %s", why);
        r->status = HTTP_SERVICE_UNAVAILABLE;
        if (!r->header_only)
            ap_rprintf(r, "not ready: %s\n", why);
        return OK;
    }
    if (!r->header_only)
        ap_rputs(bus > 0 ? "ready\n" : "ready (no bus)\n", r);
    return OK;
}

static int render_page(request_rec *r, const uint64_t *sum, const ws_children *ch,
                       int generation, char *body)
{
    ws_sample *samples = apr_palloc(r->pool, (WS_SERIES_LEN - 1) * sizeof(*samples));
    ws_page page;

    page.sum = sum;
    page.children = ch;
    page.generation = generation;
    page.samples = samples;
    page.nsamples = ws_series_read(history, samples);
    page.bus = probe_bus(r, &page.bus_why);
    page.now = apr_time_now();
    return ws_status_page(&page, body, STATUS_MAX);
}

int ws_status_handler(request_rec *r, const apr_array_header_t *allow)
{
    static const char *const types[] = {
        [WS_VIEW_JSON] = "application/json",
        [WS_VIEW_PROMETHEUS] = "text/plain; version=0.0.4; charset=utf-8",
        [WS_VIEW_HTML] = "text/html; charset=utf-8",
    };
    uint64_t sum[WS_METRIC_COUNT];
    ws_status_view view;
    ws_children ch;
    int generation = 0, len;
    char *body;

    if (r->handler == NULL || strcmp(r->handler, WS_STATUS_HANDLER) != 0)
        return DECLINED;
    if (!peer_allowed(r, allow)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OSRFWS01014: status refused to %s", r->connection->client_ip);
        return HTTP_FORBIDDEN;
    }
    r->allowed |= AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    view = ws_status_view_of(r->args, apr_table_get(r->headers_in, "Accept"));
    if (view == WS_VIEW_READY)
        return answer_ready(r);
    if (table == NULL)
        return HTTP_SERVICE_UNAVAILABLE;

    take_sums(r->pool, sum, &ch, &generation);
    body = apr_palloc(r->pool, STATUS_MAX);
    len = view == WS_VIEW_PROMETHEUS ? ws_metrics_prometheus(sum, &ch, generation, body, STATUS_MAX)
          : view == WS_VIEW_HTML     ? render_page(r, sum, &ch, generation, body)
                                     : ws_metrics_json(sum, &ch, generation, body, STATUS_MAX);
    if (len < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_set_content_type(r, types[view]);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    /* Accept picks the view: a cache between must keep them apart */
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    if (view == WS_VIEW_HTML) {
        apr_table_setn(r->headers_out, "Content-Security-Policy", WS_PAGE_CSP);
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    }
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(body, len, r);
    return OK;
}
