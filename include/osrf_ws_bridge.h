/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_ws_bridge.h - the bridge plugin's parts inside Apache (not a
 * public interface): its configuration, its bus connections, its state,
 * and the functions its files give each other.  The policy they carry
 * out is the core's (osrf_flight.h); who owns what, and the locks, are
 * at the top of osrf_ws_bridge.c.
 *
 *   osrf_ws_bridge.c               the plugin's and the module's entry points,
 *                                  opensrf_core.xml
 *   src/httpd/osrf_bridge_conf.c   the directives, per server, the
 *                                  environment and the start checks
 *   src/httpd/osrf_bridge_conn.c   the plugin callbacks (connection thread)
 *   src/httpd/osrf_bridge_listen.c the listener thread
 *   src/httpd/osrf_bridge_bus.c    the Redis connections (osrf_bus_ops)
 *   src/httpd/osrf_bridge_log.c    the log lines
 */
#ifndef OSRF_WS_BRIDGE_H
#define OSRF_WS_BRIDGE_H

#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "httpd.h"
#include "apr_optional.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include "osrf_bridge.h"
#include "osrf_bridge_conf.h"
#include "osrf_config.h"
#include "osrf_flight.h"
#include "osrf_log.h"
#include "websocket_plugin.h"
#include "ws_admit.h"
#include "ws_metrics.h"

/* What a configuration pass reads: set in the parent, inherited by the
 * children, read-only in them. */
typedef struct {
    int loaded;
    bridge_settings set;
    osrf_config cfg;
    char router_key[OSRF_MAX_ADDRESS + 1];
    osrf_log log;                   /* the log opensrf_core.xml names */
} bridge_config;

struct osrf_ws_bridge;

/* One logged-in Redis connection, and one thread's way to it. */
typedef struct {
    struct osrf_ws_bridge *b;
    redisContext *c;                /* NULL: log in on the next use */
    int logins;
    int listener;                   /* the listener's (else the connection
                                       thread's) */
    server_rec *s;                  /* where its lines are logged */
} bridge_bus;

/* One bridge per prefork child. */
typedef struct osrf_ws_bridge {
    bridge_config *conf;
    ws_metrics_slot *metrics;       /* NULL under mod_websocket */
    APR_OPTIONAL_FN_TYPE(ws_server_room) *room;     /* likewise */
    bridge_bus send_bus;            /* the connection thread's */
    bridge_bus recv_bus;            /* the listener's */
    osrf_bus_ops send_ops;
    osrf_bus_ops recv_ops;
    apr_pool_t *pool;
    apr_thread_t *listener;

    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    /* under lock */
    const WebSocketServer *server;
    unsigned long generation;
    int sending;
    volatile apr_uint32_t in_server;    /* atomic: not under the lock */
    char peer[WS_ADDR_MAX + 1];     /* the client's address (connection thread) */

    /* connection thread only */
    bridge_settings set;            /* the connection's server's (its limits
                                       go into flight, under lock) */
    ws_buffer bus_msg;
    ws_buffer activity;
    ws_buffer reply;

    osrf_flight flight;             /* under lock */
    /* The listener's alone: the threads it answers with a STATUS, a copy
     * (its sends drop the lock).  Not on its stack: 45 kB there would put
     * the frames of the calls below 11 pages deeper, one more page of
     * each child's memory on every turn of the loop. */
    osrf_pending answer[OSRF_FLIGHT_MAX_PENDING];
} osrf_ws_bridge;

/* osrf_bridge_log.c: every bridge line, to the log opensrf_core.xml names,
 * else to Apache's error log.  xid (may be NULL) ties a line to one
 * request. */
#define BLOG(b, s, level, xid, ...) \
    bridge_log((b)->conf, s, level, xid, __FILE__, __LINE__, __VA_ARGS__)
__attribute__((format(printf, 7, 8)))
void bridge_log(bridge_config *conf, server_rec *s, int level, const char *xid,
                const char *file, int line, const char *fmt, ...);

/* osrf_ws_bridge.c: reads the settings and opensrf_core.xml once per
 * configuration pass; NULL, or why not. */
const char *bridge_load_config(bridge_config *conf, server_rec *s, apr_pool_t *p);

/* osrf_bridge_bus.c */
void bridge_bus_init(osrf_ws_bridge *b);
redisContext *bridge_bus_login(bridge_bus *bus);
int bridge_bus_ready(osrf_ws_bridge *b, request_rec *r, apr_interval_time_t timeout,
                     const char **why);

/* osrf_bridge_conn.c: the plugin callbacks */
void *bridge_connect(osrf_ws_bridge *b, const WebSocketServer *server);
size_t bridge_message(osrf_ws_bridge *b, const WebSocketServer *server, int type,
                      const unsigned char *buffer, size_t size);
void bridge_disconnect(osrf_ws_bridge *b, const WebSocketServer *server);
/* The gauges this child reports: lock held. */
void bridge_note_gauges(osrf_ws_bridge *b);

/* osrf_bridge_listen.c: the listener thread and the calls it makes into
 * the connection */
int bridge_start_listener(osrf_ws_bridge *b, server_rec *s);
apr_status_t bridge_stop_listener_calls(void *b);
void bridge_close_with(const WebSocketServer *server, unsigned code, const char *reason);
void bridge_close_going_away(const WebSocketServer *server);

#endif /* OSRF_WS_BRIDGE_H */
