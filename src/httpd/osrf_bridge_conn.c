/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_conn.c - the bridge's plugin callbacks, on the connection
 * thread: a connection begins (its address, the listener woken), each
 * client frame is translated and pushed onto the bus, and the connection
 * ends (its sessions ended, its address retired or deleted).  What is in
 * flight is the policy's (osrf_flight.h); threads and locks: the top of
 * osrf_ws_bridge.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr_optional.h"

#include "osrf_ws_bridge.h"

void bridge_note_gauges(osrf_ws_bridge *b)
{
    ws_metric_set(b->metrics, WS_M_IN_FLIGHT, (uint64_t)b->flight.in_flight);
    ws_metric_set(b->metrics, WS_M_SESSIONS, (uint64_t)b->flight.sessions.count);
}

/* A fresh client address: opensrf:client:USER:DOMAIN:HOST:PID:RANDOM. */
static void new_address(const osrf_config *cfg, char *address)
{
    char host[64];

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '_';
    snprintf(address, OSRF_MAX_ADDRESS + 1, "opensrf:client:%s:%s:%s:%ld:%08lx",
             cfg->username, cfg->domain, host, (long)getpid(), (unsigned long)random());
}

static void CALLBACK bridge_on_shutdown(void *priv, const WebSocketServer *server)
{
    osrf_ws_bridge *b = priv;

    apr_thread_mutex_lock(b->lock);
    if (osrf_flight_shutdown(&b->flight))
        bridge_close_going_away(server);
    apr_thread_mutex_unlock(b->lock);
}

/* What the host offers beyond mod_websocket's interface, if anything. */
static void use_host_extensions(osrf_ws_bridge *b, const WebSocketServer *server)
{
    APR_OPTIONAL_FN_TYPE(ws_server_metrics) *metrics
        = APR_RETRIEVE_OPTIONAL_FN(ws_server_metrics);
    APR_OPTIONAL_FN_TYPE(ws_server_on_shutdown) *on_shutdown
        = APR_RETRIEVE_OPTIONAL_FN(ws_server_on_shutdown);

    if (b->metrics == NULL && metrics)
        b->metrics = metrics(server, WS_METRICS_VERSION);
    if (on_shutdown)
        on_shutdown(server, bridge_on_shutdown);
    b->room = APR_RETRIEVE_OPTIONAL_FN(ws_server_room);
}

/* The client's address: behind a trusted proxy, the last X-Forwarded-For
 * hop that is not itself one (hops checked as addresses, ws_admit.h). */
static const char *client_ip(const osrf_ws_bridge *b, request_rec *r,
                             char out[WS_ADDR_MAX + 1])
{
    apr_array_header_t *a = b->set.trusted_proxies;

    return ws_forwarded_client(r->useragent_ip,
                               apr_table_get(r->headers_in, "X-Forwarded-For"),
                               a ? (const char *const *)a->elts : NULL,
                               a ? a->nelts : 0, out);
}

void *bridge_connect(osrf_ws_bridge *b, const WebSocketServer *server)
{
    request_rec *r = server->request(server);
    const char *why = bridge_load_config(b->conf, r->server, r->pool);
    bridge_settings set;
    osrf_flight_limits lim;
    char err[512];

    if (why == NULL && osrf_bridge_settings(r->server, &set, err, sizeof(err)) < 0)
        why = err;
    if (why) {
        BLOG(b, r->server, OSRF_LOG_ERROR, NULL, "OSRFWS02007: %s", why);
        return NULL;
    }
    use_host_extensions(b, server);
    b->send_bus.s = r->server;
    if (bridge_start_listener(b, r->server) < 0
        || (b->send_bus.c == NULL && bridge_bus_login(&b->send_bus) == NULL))
        return NULL;

    osrf_bridge_limits(&set, &lim);
    apr_thread_mutex_lock(b->lock);
    b->set = set;       /* its server's: a virtual host's own directives */
    if (b->flight.next_address[0] == '\0')
        new_address(&b->conf->cfg, b->flight.next_address);
    osrf_flight_begin(&b->flight, &lim, set.max_sessions, apr_time_now());
    new_address(&b->conf->cfg, b->flight.next_address);
    b->server = server;
    b->generation++;
    client_ip(b, r, b->peer);
    bridge_note_gauges(b);
    apr_thread_cond_broadcast(b->wake);
    apr_thread_mutex_unlock(b->lock);
    return b;
}

/* The activity-log lines of the frame just read, one per REQUEST (the
 * core ends each with \n): relayed (refused 0), or refused with a STATUS,
 * so each request is logged once, under its own client and xid. */
static void log_activity(osrf_ws_bridge *b, request_rec *r, const char *xid, int refused)
{
    char *line = b->activity.data, *nl, head[48] = "OSRFWS02010: ";

    if (refused)
        snprintf(head, sizeof(head), "OSRFWS02018: refused, STATUS %d: ", refused);
    while (line && (nl = strchr(line, '\n')) != NULL) {
        BLOG(b, r->server, OSRF_LOG_ACTIVITY, xid, "%s%.*s", head, (int)(nl - line), line);
        line = nl + 1;
    }
    ws_buffer_reset(&b->activity);
}

/* Refuses the frame just read: its requests are logged as refused. */
static void send_status(osrf_ws_bridge *b, const WebSocketServer *server,
                        const osrf_inbound *in, int code, const char *text)
{
    log_activity(b, server->request(server), in->xid, code);
    if (code != 400)    /* a 400's reason is logged by OSRFWS02009 */
        BLOG(b, server->request(server)->server, OSRF_LOG_INFO, in->xid,
             "OSRFWS02016: thread %s: STATUS %d, %s", in->thread, code, text);
    ws_metric_add(b->metrics, code == 400 ? WS_M_GW_STATUS_400 : WS_M_GW_STATUS_503, 1);
    if (osrf_status_frame(&b->reply, in->thread, in->trace, code, text) == 0)
        server->send(server, MESSAGE_TYPE_TEXT,
                     (const unsigned char *)b->reply.data, b->reply.len);
    ws_buffer_reset(&b->reply);
}

/* Reads a client frame under the lock (it reads the session cache):
 * OSRF_OK, or the frame was answered (closed, or a STATUS). */
static osrf_status read_frame(osrf_ws_bridge *b, const WebSocketServer *server,
                              const unsigned char *buffer, size_t size, osrf_inbound *in)
{
    request_rec *r = server->request(server);
    osrf_identity id = { b->flight.address, b->conf->router_key,
                         (const char *const *)b->conf->cfg.log_protect, b->peer,
                         b->set.ingress };
    osrf_status st;
    int busy, full;

    apr_thread_mutex_lock(b->lock);
    st = osrf_client_to_bus(&id, &b->flight.sessions, (const char *)buffer, size,
                            in, &b->bus_msg, &b->activity);
    busy = osrf_flight_busy(&b->flight, in);
    full = st == OSRF_OK && osrf_flight_sessions_full(&b->flight, in);
    apr_thread_mutex_unlock(b->lock);

    if (st == OSRF_ERR_JSON || (st != OSRF_OK && in->thread[0] == '\0')) {
        BLOG(b, r->server, OSRF_LOG_INFO, in->xid, "OSRFWS02008: %s", in->error);
        bridge_close_with(server, st == OSRF_ERR_JSON ? 1007
                                  : st == OSRF_ERR_TOO_BIG ? 1009 : 1008, in->error);
    } else if (st != OSRF_OK) {
        BLOG(b, r->server, OSRF_LOG_INFO, in->xid, "OSRFWS02009: thread %s: %s",
             in->thread, in->error);
        send_status(b, server, in, 400, in->error);
    } else if (busy) {
        send_status(b, server, in, 503, "too many requests in flight on this connection");
    } else if (full) {
        send_status(b, server, in, 503, "too many stateful sessions on this connection");
    }
    return st == OSRF_OK && (busy || full) ? OSRF_ERR_LIMIT : st;
}

size_t bridge_message(osrf_ws_bridge *b, const WebSocketServer *server, int type,
                      const unsigned char *buffer, size_t size)
{
    request_rec *r = server->request(server);
    osrf_inbound in;
    int pushed, answer = 0;

    if (type != MESSAGE_TYPE_TEXT) {
        bridge_close_with(server, 1003, "OpenSRF messages are text");
        return 0;
    }
    if (read_frame(b, server, buffer, size, &in) != OSRF_OK)
        return 0;
    /* in flight (and counted) before the push: the reply may be popped,
     * counted off and even read by the client before RPUSH returns here */
    ws_metric_add(b->metrics, WS_M_REQUESTS, in.requests);
    apr_thread_mutex_lock(b->lock);
    osrf_flight_sent(&b->flight, &in, apr_time_now());
    apr_thread_mutex_unlock(b->lock);
    pushed = b->send_ops.push(b->send_ops.ctx, in.recipient, b->bus_msg.data,
                              b->bus_msg.len, in.xid) == 0;
    ws_buffer_reset(&b->bus_msg);
    apr_thread_mutex_lock(b->lock);
    if (pushed)
        osrf_flight_relayed(&b->flight, &in, apr_time_now());
    else
        answer = osrf_flight_unsent(&b->flight, &in);
    bridge_note_gauges(b);
    apr_thread_mutex_unlock(b->lock);
    if (!pushed) {
        if (answer)     /* else the listener's OSRFWS02014 answered it */
            send_status(b, server, &in, 503, "the OpenSRF bus is unavailable");
        return 0;
    }
    log_activity(b, r, in.xid, 0);
    return size;
}

/* The connection's stateful sessions end with it, as a well-behaved
 * client ends them: a DISCONNECT to each worker, which then serves others
 * at once rather than at its keepalive's end (and sends no STATUS 408).
 * Once the connection is not open the listener no longer touches the
 * session cache, so it is read here without the lock. */
static void end_sessions(osrf_ws_bridge *b, server_rec *s)
{
    const osrf_identity id = { b->flight.address, NULL, NULL, NULL, b->set.ingress };
    const osrf_sessions *cache = &b->flight.sessions;
    int i;

    for (i = 0; i < cache->count; i++) {
        const osrf_session *e = &cache->entries[i];

        if (osrf_disconnect_message(&b->bus_msg, &id, e) == 0
            && b->send_ops.push(b->send_ops.ctx, e->worker, b->bus_msg.data,
                                b->bus_msg.len, NULL) == 0)
            BLOG(b, s, OSRF_LOG_DEBUG, NULL, "OSRFWS02031: thread %s: its session ends "
                 "with the connection; DISCONNECT sent to %s", e->thread, e->worker);
    }
    ws_buffer_reset(&b->bus_msg);
    apr_thread_mutex_lock(b->lock);
    osrf_flight_sessions_ended(&b->flight);
    bridge_note_gauges(b);
    apr_thread_mutex_unlock(b->lock);
}

/* The listener's pop names this address: the WAKE_TOKEN brings it back,
 * and the address may go only once it is back (why: the top of
 * osrf_ws_bridge.c). */
static void wake_listener(osrf_ws_bridge *b)
{
    b->send_ops.push(b->send_ops.ctx, b->flight.address, OSRF_FLIGHT_WAKE_TOKEN,
                     sizeof(OSRF_FLIGHT_WAKE_TOKEN) - 1, NULL);
    apr_thread_mutex_lock(b->lock);
    while (b->flight.watching)
        apr_thread_cond_wait(b->wake, b->lock);
    apr_thread_mutex_unlock(b->lock);
}

/* The connection is let go (server cleared) first, so a listener woken
 * from here watches the next connection's address, not this one.  An
 * address with replies still due, or whose sessions were just ended (a
 * worker's 408 may cross its DISCONNECT), is retired to the listener, a
 * WAKE_TOKEN pushed there counted among its replies, so the listener
 * cannot DEL the key before the token lands (the token would create it
 * again); any other is deleted here, before the child may exit. */
void bridge_disconnect(osrf_ws_bridge *b, const WebSocketServer *server)
{
    server_rec *s = server->request(server)->server;
    int outstanding, sessions, watched;
    osrf_end end;

    apr_thread_mutex_lock(b->lock);
    b->server = NULL;
    osrf_flight_let_go(&b->flight);
    while (b->sending)
        apr_thread_cond_wait(b->wake, b->lock);
    watched = b->flight.watching;
    sessions = b->flight.sessions.count;
    end = osrf_flight_end(&b->flight, watched, apr_time_now(), &outstanding);
    apr_thread_mutex_unlock(b->lock);
    if (watched)
        wake_listener(b);
    end_sessions(b, s);
    if (end == OSRF_END_NO_ROOM)
        BLOG(b, s, OSRF_LOG_INFO, NULL,
             "OSRFWS02013: no room to watch %s for its %d replies still due "
             "(%d sessions ended)", b->flight.address, outstanding, sessions);
    if (end != OSRF_END_RETIRED)
        b->send_ops.del(b->send_ops.ctx, b->flight.address);
}
