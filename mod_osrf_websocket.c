/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_osrf_websocket.c - WebSocket (RFC 6455) for Apache httpd 2.4, with
 * a plugin interface binary compatible with mod_websocket's.
 *
 * A request on a WebSocket location is upgraded and then driven for the
 * connection's whole life inside its (prefork) child.  This file is the
 * module record, its hooks, the handler and the handshake; the rest has a
 * file per concern, as mod_http2 does:
 *   ws_config.c      the directives, their merge, the effective settings;
 *   ws_conn.c        the connection: its outbox, locks, write paths, loop;
 *   ws_conn_read.c   what the connection thread reads, and the reader's
 *                    callbacks;
 *   ws_plugin_api.c  plugin loading, the server handle, the extensions;
 *   ws_session.c     the timers and the closing handshake, pure (codec);
 * the protocol itself is the codec's (ws_codec.h).  Threads and locks:
 * ws_conn.h, and the comment block at the top of osrf_ws_bridge.c.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "apr_strings.h"

#include "websocket_plugin.h"
#include "ws_codec.h"
#include "ws_config.h"
#include "ws_conn.h"
#include "ws_deflate.h"
#include "ws_metrics.h"
#include "ws_plugin_api.h"
#include "ws_prefork.h"
#include "ws_reserve.h"
#include "ws_status.h"

static WebSocketPlugin *find_plugin(request_rec *r, const ws_dir_conf *dconf)
{
    ws_server_conf *sconf = ap_get_module_config(r->server->module_config,
                                                 &osrf_websocket_module);
    int i;

    if (r->handler && strcmp(r->handler, WS_HANDLER_NAME) == 0 && dconf->plugin)
        return dconf->plugin;
    for (i = 0; i < sconf->locations->nelts; i++) {
        ws_location *loc = &APR_ARRAY_IDX(sconf->locations, i, ws_location);
        if (strcmp(loc->path, r->uri) == 0)
            return loc->plugin;
    }
    return NULL;
}

static int origin_allowed(request_rec *r, const ws_settings *set)
{
    const char *origin = apr_table_get(r->headers_in, "Origin");
    int i;

    if (set->origins == NULL)
        return 1;
    for (i = 0; origin && i < set->origins->nelts; i++)
        if (strcasecmp(APR_ARRAY_IDX(set->origins, i, const char *), origin) == 0)
            return 1;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "OSRFWS01009: refused Origin %s",
                  origin ? ap_escape_logitem(r->pool, origin) : "(none)");
    return 0;
}

static apr_array_header_t *offered_protocols(request_rec *r)
{
    apr_array_header_t *a = apr_array_make(r->pool, 2, sizeof(const char *));
    const char *value = apr_table_get(r->headers_in, "Sec-WebSocket-Protocol");
    const char *tok;
    size_t len;

    while (value && ws_list_next(&value, &tok, &len))
        *(const char **)apr_array_push(a) = apr_pstrmemdup(r->pool, tok, len);
    return a;
}

/* permessage-deflate, if the client offers it and it is on here. */
static void negotiate_compression(WebSocketState *st)
{
    const char *offers = apr_table_get(st->r->headers_in, "Sec-WebSocket-Extensions");
    char response[WS_PMD_RESPONSE_MAX];
    ws_pmd_params params;

    if (!st->set.compression || !ws_pmd_negotiate(offers, &st->set.pmd, &params, response))
        return;
    if ((st->pmd = ws_pmd_new(&params)) != NULL)
        st->extensions = apr_pstrdup(st->r->pool, response);
}

/* The connection's state as the handshake sets it; ws_conn_open makes
 * it ready.  NULL if that fails. */
static WebSocketState *new_state(request_rec *r, WebSocketPlugin *plugin,
                                 const ws_settings *set)
{
    WebSocketState *st = apr_pcalloc(r->pool, sizeof(*st));

    st->r = r;
    st->c = r->connection;
    st->plugin = plugin;
    st->set = *set;
    st->protocols = offered_protocols(r);
    st->protocol = st->protocols->nelts
                   ? APR_ARRAY_IDX(st->protocols, 0, const char *) : NULL;
    ws_plugin_api_init(&st->server, st);
    st->metrics = ws_status_slot(st->c);
    negotiate_compression(st);
    return ws_conn_open(st) == 0 ? st : NULL;
}

static void send_switching_protocols(WebSocketState *st)
{
    request_rec *r = st->r;
    char accept[29];

    ws_accept_key(apr_table_get(r->headers_in, "Sec-WebSocket-Key"), accept);
    apr_table_setn(r->headers_out, "Upgrade", "websocket");
    apr_table_setn(r->headers_out, "Connection", "Upgrade");
    apr_table_set(r->headers_out, "Sec-WebSocket-Accept", accept);
    if (st->protocol)
        apr_table_setn(r->headers_out, "Sec-WebSocket-Protocol", st->protocol);
    if (st->extensions)
        apr_table_setn(r->headers_out, "Sec-WebSocket-Extensions", st->extensions);
    r->status = HTTP_SWITCHING_PROTOCOLS;
    r->status_line = ap_get_status_line(r->status);
    ap_send_interim_response(r, 1);
}

/* Whether a new WebSocket may take this child: refused (503, Retry-After)
 * while the instance is down to its reserve of free children, so that
 * they stay free for the status handler, health checks and these quick
 * refusals, or when the client holds its limit.  A refusal is logged at
 * most once a second per child: a full instance refuses many. */
static int admitted(request_rec *r, const ws_settings *set)
{
    static int64_t last_logged;     /* written only by a refusing child */
    ws_server_conf *sconf = ap_get_module_config(r->server->module_config,
                                                 &osrf_websocket_module);
    const apr_array_header_t *a = sconf->trusted;
    ws_admit_counts counts = { 0, 0, set->reserve, 0, set->client_limit };
    char client[WS_ADDR_MAX + 1];
    ws_admit_status why;

    if (set->reserve == 0 && set->client_limit == 0)
        return 1;
    ws_forwarded_client(r->useragent_ip, apr_table_get(r->headers_in, "X-Forwarded-For"),
                        a ? (const char *const *)a->elts : NULL, a ? a->nelts : 0,
                        client);
    if (ws_reserve_count(r, client, &counts) < 0
        || (why = ws_admit(&counts)) == WS_ADMIT_OK) {
        ws_reserve_claim(r, client);
        return 1;
    }
    if (ws_admit_log_due(&last_logged, apr_time_now())) {
        if (why == WS_ADMIT_FULL)
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "OSRFWS01016: refusing new WebSockets (503): %d of %d "
                          "children busy, WebSocketReserve %d", counts.busy,
                          counts.limit, set->reserve);
        else
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "OSRFWS01017: refusing a WebSocket to %s (503): it holds %d, "
                          "WebSocketMaxConnectionsPerClient %d", client,
                          counts.client_conns, set->client_limit);
    }
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    ws_metric_add(ws_status_slot(r->connection), WS_M_HANDSHAKES_REFUSED, 1);
    return 0;
}

/* Whether r is a handshake this location takes: 0, or the HTTP status
 * that refuses it. */
static int check_handshake(request_rec *r, const ws_settings *set)
{
    ws_handshake_request hs;
    const char *why;
    int status;

    hs.method = r->method;
    hs.proto_num = r->proto_num;
    hs.upgrade = apr_table_get(r->headers_in, "Upgrade");
    hs.connection = apr_table_get(r->headers_in, "Connection");
    hs.key = apr_table_get(r->headers_in, "Sec-WebSocket-Key");
    hs.version = apr_table_get(r->headers_in, "Sec-WebSocket-Version");
    status = ws_handshake_check(&hs, &why);
    if (status != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "OSRFWS01010: not a WebSocket handshake: %s", why);
        ws_metric_add(ws_status_slot(r->connection), WS_M_HANDSHAKES_REFUSED, 1);
        if (status == HTTP_UPGRADE_REQUIRED)
            apr_table_setn(r->err_headers_out, "Sec-WebSocket-Version", "13");
        return status;
    }
    if (!origin_allowed(r, set)) {
        ws_metric_add(ws_status_slot(r->connection), WS_M_HANDSHAKES_REFUSED, 1);
        return HTTP_FORBIDDEN;
    }
    if (!admitted(r, set))
        return HTTP_SERVICE_UNAVAILABLE;
    return 0;
}

/* The plugin's on_connect, then the 101; 0, or -1 if the plugin refused.
 * Both under io: a plugin's thread may send as soon as on_connect starts
 * it, and its frames wait in the outbox until the 101 is out. */
static int upgrade(WebSocketState *st)
{
    WebSocketPlugin *plugin = st->plugin;

    apr_thread_mutex_lock(st->io);
    if (plugin->on_connect) {
        st->plugin_private = plugin->on_connect(&st->server);
        if (st->plugin_private == NULL) {
            apr_thread_mutex_unlock(st->io);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                          "OSRFWS01012: the plugin refused the connection");
            ws_metric_add(st->metrics, WS_M_HANDSHAKES_REFUSED, 1);
            return -1;
        }
    }
    send_switching_protocols(st);
    apr_thread_mutex_unlock(st->io);
    return 0;
}

static int ws_handler(request_rec *r)
{
    ws_dir_conf *dconf = ap_get_module_config(r->per_dir_config,
                                              &osrf_websocket_module);
    WebSocketPlugin *plugin = find_plugin(r, dconf);
    WebSocketState *st;
    ws_settings set;
    int status;

    if (plugin == NULL)
        return ws_status_handler(r, dconf->status_allow);
    ws_config_settings(dconf, &set);
    if ((status = check_handshake(r, &set)) != 0)
        return status;
    st = new_state(r, plugin, &set);
    if (st == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OSRFWS01011: cannot set up the connection");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (upgrade(st) < 0)
        return HTTP_SERVICE_UNAVAILABLE;
    ws_metric_add(st->metrics, WS_M_CONNECTIONS, 1);
    ws_metric_add(st->metrics, WS_M_CONNECTIONS_OPEN, 1);
    ws_conn_run(st);
    ws_conn_end(st);
    /* a child stopped by SIGTERM never gets here: its pool goes from the
     * signal handler, this state with it (see osrf_ws_bridge.c) */
    if (plugin->on_disconnect)
        plugin->on_disconnect(st->plugin_private, &st->server);
    ws_metric_add(st->metrics, WS_M_CONNECTIONS_OPEN, -1);
    /* the child may now wait hours for its next connection: what this
     * one held goes back now, not when the request pool goes */
    ws_conn_release(st);

    /* the connection is done: Apache must write nothing more on it */
    r->connection->keepalive = AP_CONN_CLOSE;
    r->connection->aborted = 1;
    return OK;
}

/* One WebSocket per child process is the design: the connection holds
 * its thread for its whole life, and the reserve, the per-client limit
 * and the counters count children, as the bridge's bus connections are
 * the child's.  Under a threaded MPM all of that would be wrong, so the
 * start stops here, saying why. */
static int refuse_threaded_mpm(server_rec *s)
{
    if (!ws_mpm_threaded())
        return OK;
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                 "OSRFWS01032: mod_osrf_websocket needs the prefork MPM (one "
                 "WebSocket per child process), and the %s MPM loaded is threaded: "
                 "load mpm_prefork_module in its place", ap_show_mpm());
    return DONE;
}

static int ws_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (refuse_threaded_mpm(s) != OK)
        return DONE;
    ws_prefork_warm_up(s);
    return ws_status_post_config(s);
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ws_plugin_api_register();
    ap_hook_post_config(ws_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(ws_status_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ws_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ws_config_register();
}

AP_DECLARE_MODULE(osrf_websocket) = {
    STANDARD20_MODULE_STUFF,
    ws_config_create_dir,
    ws_config_merge_dir,
    ws_config_create_server,
    ws_config_merge_server,
    ws_config_commands,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
