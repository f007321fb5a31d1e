/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_ws_bridge.c - the OpenSRF bridge: a plugin of mod_osrf_websocket
 * (and of mod_websocket) that relays each client frame onto the OpenSRF
 * Redis bus and pushes every bus reply back out as one text frame.
 *
 * This file is its entry points (the plugin's and the Apache module's)
 * and opensrf_core.xml (its directives: osrf_bridge_conf.h); the one
 * bridge of the child lives here and is handed to the rest by pointer.
 * The translation is the core's (osrf_bridge.h), what is in flight the
 * policy's (osrf_flight.h);
 * the callbacks, the listener thread and the bus are in src/httpd
 * (osrf_ws_bridge.h names them).
 *
 * Threads and locks, the gateway's: the module's (WebSocketState in
 * ws_conn.h, used in src/httpd/ws_conn*.c) and the bridge's.  This block
 * is the one place for them; the other files point here.
 *
 * Threads (one connection per prefork child)
 * ------------------------------------------
 * The connection thread (the request's own thread) is the only one that
 * reads the client connection; it owns the module's reader and timers and
 * runs every plugin callback (on_connect, on_message, on_disconnect,
 * on_shutdown).  For the bridge it owns the bus context it RPUSHes and
 * DELs with (send_bus) and the inbound buffers (bus_msg, activity, reply).
 *
 * The bridge's listener thread owns recv_bus, the context it BLPOPs with
 * (hiredis contexts are not thread-safe), its outbound frame and its
 * scratch list of threads to answer (answer).  Both bus contexts stay
 * logged in across the connections the child serves one after another.
 * The listener reaches the connection only through the server handle's
 * send and close.
 *
 * The locks, in the order they are taken (never the other way)
 * ------------------------------------------------------------
 *   1. WebSocketState.io (module) the client connection itself: its
 *                         filters, bucket allocator and brigades, mod_ssl's
 *                         state and the write buffer.  The module holds it
 *                         while it calls on_connect (the 101 goes out
 *                         after it), so a plugin's thread that sends at
 *                         once leaves its frames in the outbox.  Writers
 *                         other than the connection thread only trylock it.
 *   2. bridge.lock        (bridge) the shared bridge state below.  Held,
 *                         by on_connect, under io; held while the bridge
 *                         calls server->close or sends a close frame
 *                         (idle close, 1001 on shutdown, which take 4);
 *                         never held around server->send of a data frame
 *                         (deliver drops it: a send may wait on drained,
 *                         and may take 3 and 1).
 *   3. WebSocketState.deflate_lock (module) the deflate stream and its
 *                         output buffer; taken by the thread that sends.
 *   4. WebSocketState.lock (module) outbox, in_write, closing/close_code,
 *                         closed, broken; "drained" is its condition.
 * The module calls no plugin callback while it holds 3 or 4, so
 * bridge.lock is never wanted under them.
 *
 * The module's state under WebSocketState.lock: the writer swaps the outbox
 * with the write buffer under it and writes outside it; while the outbox
 * is over its bound, send from another thread waits on "drained"
 * (back-pressure).  A close asked for by another thread wakes the
 * connection thread through the pollset.  Whoever sends a frame also
 * writes it (io by trylock): a thread that finds io taken leaves its frame
 * in the outbox, and every holder looks at the outbox again once it has
 * let go.  While the connection thread waits for io to read ("reading",
 * atomic), other threads leave their frames to it.  Another thread writes
 * only a small outbox into a socket with room (direct_write_ok); anything
 * else it leaves to the connection thread, so only that thread ever waits
 * on a client that does not read.  Inflating client messages is the
 * connection thread's alone.
 *
 * The bridge's state under bridge.lock (osrf_ws_bridge.h):
 *   server, generation            the current connection (generation
 *                                 counts connections, so a frame meant for
 *                                 one never reaches the next);
 *   flight                        the policy's state (osrf_flight.h): the
 *                                 current and next addresses (between
 *                                 connections the listener watches the next
 *                                 one already, so a new connection's first
 *                                 reply wakes it even while it blocks on
 *                                 retired ones), the session cache, the
 *                                 threads in flight, the abandoned requests,
 *                                 the retired addresses, last activity and
 *                                 request, stopping, overflowed (the
 *                                 connection was closed for replies past
 *                                 its bound: later ones are DELeted, not
 *                                 sent, there and once it is retired),
 *                                 and watching (the
 *                                 listener's BLPOP, sent or about to be,
 *                                 names the current address);
 *   peer                          who the connection's client is;
 *   sending                       the listener is inside server->send:
 *                                 on_disconnect waits for it to finish.
 * bridge.wake signals the listener that a connection began, and
 * on_disconnect that a send has ended or the listener is back from a
 * BLPOP.  A connection that ends clears server; if the listener is
 * watching its address, it pushes the WAKE_TOKEN there so the listener
 * looks again, and deletes the address only once the listener is back
 * (deleted sooner, the token could go with it while the BLPOP is still on
 * its way to Redis, which would then block on the dead key for its whole
 * timeout while the next connection's first reply waits).  Once server is
 * clear the listener no longer touches the session cache, so on_disconnect
 * reads it without the lock to end the sessions.
 *
 * Not under a lock: log lines (osrf_log.h: one write per line, set up in
 * the parent) and the counters (the child's slot of ws_metrics.h, relaxed
 * atomics from whichever thread sees the event; the bridge's metrics
 * pointer is set on the first connection and stays for the child's life).
 *
 * The child's exit
 * ----------------
 * A child stopped by SIGTERM (a full stop, or a graceful stop's timeout)
 * does not end its connection: prefork destroys the child's pool from the
 * signal handler, on the connection thread, wherever that thread was
 * (holding bridge.lock or the module's locks, maybe), and the connection's
 * memory (the module's state, its locks) goes with it, without
 * on_disconnect.  A plugin whose own thread calls send must keep it out
 * first, without taking a lock.  The bridge's in_server (atomic) counts
 * the listener's calls into the connection (enter_server, leave_server)
 * and carries the EXITING bit.  So, in this order:
 *   1. the child pool's first act (a pre-cleanup, from child_init) sets
 *      EXITING: from then on the listener calls into no connection;
 *   2. if a call is under way, the client's socket is shut down, so the
 *      call cannot stay blocked writing to a client that does not read;
 *   3. it waits, a bounded time and without a lock, for that call to
 *      return (a listener held by a lock the interrupted thread kept gets
 *      no further: the process ends around it);
 *   4. only then do the pools go, the connections' first.
 * Nothing else of the listener's is freed before the process ends (its
 * pool is not the child's), so it may go on with the bus meanwhile.
 *
 * The host: the bridge is a plugin of version 0, so mod_websocket loads
 * it too.  What mod_osrf_websocket offers beyond that (the counters,
 * on_shutdown) it asks for with APR optional functions on each connect
 * (websocket_plugin.h); under mod_websocket there are none: it counts
 * nothing, and ends connections on a graceful restart from the listener.
 */
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"

#include "osrf_ws_bridge.h"
#include "ws_status.h"

module AP_MODULE_DECLARE_DATA osrf_ws_bridge_module;

/* Reads the settings (server s's: the instance's ones are every
 * server's) and opensrf_core.xml; NULL, or why not. */
const char *bridge_load_config(bridge_config *conf, server_rec *s, apr_pool_t *p)
{
    char err[512];

    if (conf->loaded)
        return NULL;
    if (osrf_bridge_settings(s, &conf->set, err, sizeof(err)) < 0)
        return apr_pstrdup(p, err);
    if (osrf_config_read(conf->set.config_file, conf->set.config_context,
                         &conf->cfg, err, sizeof(err)) < 0)
        return apr_pstrdup(p, err);
    snprintf(conf->router_key, sizeof(conf->router_key), "opensrf:router:%s:%s",
             conf->cfg.router_name, conf->cfg.domain);
    if (osrf_log_open(&conf->log, &conf->cfg, conf->set.config_context,
                      getenv("OSRF_WEBSOCKET_SYSLOG_SOCKET"), err, sizeof(err)) < 0) {
        osrf_config_free(&conf->cfg);
        return apr_psprintf(p, "%s: %s", conf->set.config_file, err);
    }
    conf->loaded = 1;
    return NULL;
}

/* --- the child's one bridge -------------------------------------------- */

/* The configuration pass's settings, and the log opensrf_core.xml names:
 * its descriptors start at -1 (OSRF_LOG_CLOSED). */
static bridge_config config = { .log = OSRF_LOG_CLOSED };

/* Not initialised here: an initialised bridge would put all of its
 * 110 kB in the module's data segment; untouched, its pages cost a child
 * nothing. */
static osrf_ws_bridge bridge;

/* The bridge, set up on first use: under mod_websocket, which loads the
 * plugin but runs none of the module's hooks, that is a connection. */
static osrf_ws_bridge *the_bridge(void)
{
    if (bridge.conf == NULL) {
        bridge.conf = &config;
        bridge_bus_init(&bridge);
    }
    return &bridge;
}

static void *CALLBACK bridge_on_connect(const WebSocketServer *server)
{
    return bridge_connect(the_bridge(), server);
}

static size_t CALLBACK bridge_on_message(void *priv, const WebSocketServer *server,
                                         const int type, unsigned char *buffer,
                                         const size_t size)
{
    return bridge_message(priv, server, type, buffer, size);
}

static void CALLBACK bridge_on_disconnect(void *priv, const WebSocketServer *server)
{
    bridge_disconnect(priv, server);
}

static WebSocketPlugin bridge_plugin = {
    sizeof(WebSocketPlugin),
    WEBSOCKET_PLUGIN_VERSION_0,
    NULL,
    bridge_on_connect,
    bridge_on_message,
    bridge_on_disconnect
};

extern EXPORT WebSocketPlugin *CALLBACK osrf_websocket_init(void);

/* Under mod_websocket alone no hook of the bridge's checks the start:
 * this does, and no plugin refuses it. */
EXPORT WebSocketPlugin *CALLBACK osrf_websocket_init(void)
{
    return osrf_bridge_plugin_check() ? &bridge_plugin : NULL;
}

/* osrf_ws_bus_ready (ws_status.h): whether the bus answers. */
static int osrf_ws_bus_ready(request_rec *r, apr_interval_time_t timeout, const char **why)
{
    return bridge_bus_ready(the_bridge(), r, timeout, why);
}

/* --- as an Apache module: the config is checked when Apache starts ------- */

/* Apache unloads the module between configuration passes and on restart:
 * the settings read into its static storage are freed, and the log
 * closed, with the pool they were read for, or every pass leaks them
 * (valgrind: definitely lost; two descriptors of the parent per graceful
 * restart).  The children keep their inherited copies of the log. */
static apr_status_t free_config(void *data)
{
    bridge_config *conf = data;

    osrf_config_free(&conf->cfg);
    osrf_log_close(&conf->log);
    conf->loaded = 0;
    return APR_SUCCESS;
}

/* Nothing is loaded yet: a new load of the module starts so, and the
 * cleanup above released the previous pass's settings and log. */
static int bridge_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *why;

    (void)plog;
    (void)ptemp;
    if ((why = bridge_load_config(&config, s, pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "OSRFWS02011: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, &config, free_config, apr_pool_cleanup_null);
    return OK;
}

/* Before anything of the child is destroyed: its pool's pre-cleanups
 * run before its sub-pools (the connections') go. */
static void bridge_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    apr_pool_pre_cleanup_register(pchild, the_bridge(), bridge_stop_listener_calls);
}

static void bridge_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_REGISTER_OPTIONAL_FN(osrf_ws_bus_ready);
    ap_hook_check_config(osrf_bridge_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(bridge_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(bridge_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(osrf_ws_bridge) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL,
    osrf_bridge_create_server_config, osrf_bridge_merge_server_config,
    osrf_bridge_commands,
    bridge_register_hooks,
    AP_MODULE_FLAG_NONE
};
