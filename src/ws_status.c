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

#include "ws_status.h"

APLOG_USE_MODULE(osrf_websocket);

#define SHM_KEY     "osrf_websocket_metrics"
#define STATUS_MAX  (16 * 1024)     /* both renderings fit with room */
#define WS_SLOT_ALIGN 64

static ws_metrics_table *table;     /* inherited by every child */
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
    size = ws_metrics_size((unsigned)server_limit) + WS_SLOT_ALIGN;
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
    ws_metrics_init(table, (unsigned)server_limit);
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

/* Prometheus when asked by ?prometheus or by its Accept type; else JSON. */
static int wants_prometheus(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    if (r->args && strcmp(r->args, "json") == 0)
        return 0;
    if (r->args && strcmp(r->args, "prometheus") == 0)
        return 1;
    return accept && strstr(accept, "text/plain") && strstr(accept, "version=0.0.4");
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

int ws_status_handler(request_rec *r, const apr_array_header_t *allow)
{
    uint64_t sum[WS_METRIC_COUNT];
    uint64_t *live;
    ws_children ch;
    int generation = 0, prom, len;
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
    if (table == NULL)
        return HTTP_SERVICE_UNAVAILABLE;

    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    live = apr_pcalloc(r->pool, (size_t)server_limit * sizeof(*live));
    read_scoreboard(generation, live, &ch);
    ws_metrics_sum(table, live, sum);
    prom = wants_prometheus(r);
    body = apr_palloc(r->pool, STATUS_MAX);
    len = prom ? ws_metrics_prometheus(sum, &ch, generation, body, STATUS_MAX)
               : ws_metrics_json(sum, &ch, generation, body, STATUS_MAX);
    if (len < 0)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_set_content_type(r, prom ? "text/plain; version=0.0.4; charset=utf-8"
                                : "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_set_content_length(r, len);
    if (!r->header_only)
        ap_rwrite(body, len, r);
    return OK;
}
