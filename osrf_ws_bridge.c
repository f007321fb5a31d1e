/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_ws_bridge.c - the OpenSRF bridge: a plugin of mod_osrf_websocket
 * (and of mod_websocket) that relays each client frame onto the OpenSRF
 * Redis bus and pushes every bus reply back out as one text frame.
 *
 * The translation lives in the core (osrf_bridge.h); this file holds the
 * bus connections, the listener thread and the connection's life.
 *
 * Threads and what they own (one bridge per prefork child)
 * --------------------------------------------------------
 * The connection thread (on_connect, on_message, on_disconnect,
 * on_shutdown) owns send_bus, the hiredis context it RPUSHes and DELs
 * with, and the inbound buffers.  The listener thread owns recv_bus, the
 * context it BLPOPs with (hiredis contexts are not thread-safe), and the
 * outbound buffers.  Both stay logged in across the connections the child
 * serves one after another.
 *
 * Shared, under bridge.lock:
 *   server, address, generation   the current connection (generation
 *                                 counts connections, so a frame meant
 *                                 for one never reaches the next);
 *   next_address                  the address the next connection will
 *                                 take: between connections the
 *                                 listener watches it already, so a new
 *                                 connection's first reply wakes it
 *                                 even while it blocks on retired ones;
 *   sessions                      thread -> worker cache;
 *   pending, in_flight            threads with requests (and CONNECTs:
 *                                 whatever the bus answers) in flight, so a
 *                                 lost bus answers each with a STATUS,
 *                                 and one unanswered past the max
 *                                 request wait gets a STATUS 408;
 *   abandoned                     requests failed that way, whose replies
 *                                 may still come once the bus is back;
 *   retired                       finished connections' addresses with
 *                                 replies still due: the listener keeps
 *                                 popping them until those requests end
 *                                 (or the max request wait passes) and
 *                                 only then DELs them, since a late RPUSH
 *                                 would create the key again;
 *   last_activity, last_request,
 *   stopping                      what idle and shutdown decisions need;
 *   overflowed, peer              the connection was closed for replies
 *                                 past its bound (later ones are dropped),
 *                                 and who it was;
 *   sending                       the listener is inside server->send:
 *                                 on_disconnect waits for it to finish;
 *   watching                      the listener's BLPOP (sent, or about
 *                                 to be) names the current address.
 * bridge.wake signals the listener that a connection began, and
 * on_disconnect that a send has ended or the listener is back from a
 * BLPOP.  The listener blocks in one BLPOP over the current, the next and
 * the retired addresses.  A connection that ends clears server; if the
 * listener is watching its address, it pushes WAKE_TOKEN there so the
 * listener looks again, and deletes the address only once the listener
 * is back (deleted sooner, the token could go with it while the BLPOP is
 * still on its way to Redis, which would then block on the dead key for
 * its whole timeout while the next connection's first reply waits).
 *
 * The child's exit, not under the lock: in_server (atomic) counts the
 * listener's calls into the connection (enter_server, leave_server) and
 * carries the EXITING bit.  A child stopped by SIGTERM does not end its
 * connection: prefork destroys the child's pool from the signal handler,
 * on the connection thread, wherever that thread was (holding bridge.lock
 * or the module's locks, maybe), and the connection's memory goes with
 * it.  So, in this order:
 *   1. the child pool's first act (a pre-cleanup, from child_init) sets
 *      EXITING: from then on the listener calls into no connection;
 *   2. if a call is under way, the client's socket is shut down, so the
 *      call cannot stay blocked writing to a client that does not read;
 *   3. it waits, a bounded time and without a lock, for that call to
 *      return (a listener held by a lock the interrupted thread kept
 *      gets no further: the process ends around it);
 *   4. only then do the pools go, the connections' first.
 * Nothing else of the listener's is freed before the process ends (its
 * pool is not the child's), so it may go on with the bus meanwhile.
 *
 * Not under the lock: log lines (osrf_log.h: one write per line, set up
 * in the parent) and the counters (the child's slot of ws_metrics.h,
 * relaxed atomics; bridge.metrics is set on the first connection and
 * stays for the child's life).
 *
 * The host: the bridge is a plugin of version 0, so mod_websocket loads
 * it too.  What mod_osrf_websocket offers beyond that (the counters,
 * on_shutdown) it asks for with APR optional functions on each connect
 * (websocket_plugin.h); under mod_websocket there are none: it counts
 * nothing, and ends connections on a graceful restart from the listener.
 */
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include "osrf_bridge.h"
#include "osrf_bus.h"
#include "osrf_config.h"
#include "osrf_log.h"
#include "websocket_plugin.h"
#include "ws_codec.h"
#include "ws_admit.h"
#include "ws_metrics.h"
#include "ws_number.h"
#include "ws_reserve.h"
#include "ws_status.h"

module AP_MODULE_DECLARE_DATA osrf_ws_bridge_module;

#define MAX_SESSIONS       64
#define MAX_IN_FLIGHT      256
#define MAX_RETIRED        8
/* How long an address stays watched after its connection sent DISCONNECT
 * to its stateful sessions' workers: a worker whose keepalive ran out as
 * the DISCONNECT was on its way still sends its STATUS 408, and a late
 * RPUSH would create the deleted key again, for good. */
#define SESSION_LINGER     apr_time_from_sec(10)
#define LISTENER_STACK     (256 * 1024)
#define WAKE_TOKEN         "osrf-ws-bridge-wake"
/* how long the connection thread waits for the bus */
#define SENDER_TIMEOUT     ((struct timeval){ 3, 0 })
#define MAX_INGRESS        64
/* in_server's flag: the child is exiting (the rest counts calls) */
#define EXITING            0x80000000u
/* How long the child's exit waits for the listener's call into the
 * connection to return: under the 3 s after which the parent sends its
 * SIGTERM again (and logs it) */
#define EXIT_WAIT          apr_time_from_msec(2000)

/* A thread with requests in flight. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];
    char trace[32];
    char xid[OSRF_MAX_XID + 1];
    int requests;
    apr_time_t since;           /* its latest request */
} pending_thread;

/* A finished connection's address, watched until its replies are in
 * and its ended sessions can no longer answer. */
typedef struct {
    char address[OSRF_MAX_ADDRESS + 1];
    int outstanding;
    int discarding;             /* its replies are DELeted, not counted */
    apr_time_t deadline;
    apr_time_t linger_until;
} retired_address;

/* Settings: an OSRFWebSocket* directive, else the environment variable
 * the original gateway read, else its default (docs/PROTOCOL.md section 7). */
typedef struct {
    const char *config_file;
    const char *config_context;
    int idle_timeout;
    int idle_check_interval;
    int max_request_wait;
    int max_sessions;
    int max_in_flight;
    apr_array_header_t *trusted_proxies;    /* of const char *; may be NULL */
    const char *ingress;
} bridge_settings;

/* What the directives set (UNSET: not given). */
#define UNSET -1
#define NO_DIRECTIVES { NULL, NULL, UNSET, UNSET, UNSET, UNSET, UNSET, NULL, NULL }
static bridge_settings directives = NO_DIRECTIVES;

typedef struct {
    int loaded;
    bridge_settings set;
    osrf_config cfg;
    char router_key[OSRF_MAX_ADDRESS + 1];
    ws_metrics_slot *metrics;       /* NULL under mod_websocket */
    APR_OPTIONAL_FN_TYPE(ws_server_room) *room;     /* likewise */
    int sender_logins;              /* connection thread only */
    int listener_logins;            /* listener only */

    redisContext *send_bus;
    redisContext *recv_bus;
    apr_pool_t *pool;
    apr_thread_t *listener;

    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    const WebSocketServer *server;
    char address[OSRF_MAX_ADDRESS + 1];
    char next_address[OSRF_MAX_ADDRESS + 1];
    unsigned long generation;
    osrf_sessions sessions;
    int npending;
    int in_flight;
    int abandoned;
    retired_address retired[MAX_RETIRED];
    int nretired;
    apr_time_t last_activity;
    apr_time_t last_request;
    int stopping;
    int sending;
    volatile apr_uint32_t in_server;    /* atomic: not under the lock */
    int overflowed;                 /* closed for replies past the bound */
    char peer[WS_ADDR_MAX + 1];     /* the client's address (connection thread) */
    int watching;

    /* connection thread only */
    ws_buffer bus_msg;
    ws_buffer activity;
    ws_buffer reply;

    /* Last, after every field touched on each request: a page of this
     * struct is a page of each child's own memory once written, and these
     * 65 kB are written only as far as they are used. */
    pending_thread pending[MAX_IN_FLIGHT];          /* under lock */
    osrf_session session_storage[MAX_SESSIONS];     /* under lock */
} bridge_state;

static bridge_state bridge;

/* The log opensrf_core.xml names.  Not in bridge: its descriptors start
 * at -1 (OSRF_LOG_CLOSED), and an initialised bridge would put all of its
 * 70 kB in the module's data segment. */
static osrf_log osrf_logger = OSRF_LOG_CLOSED;

static int apache_level(int level)
{
    switch (level) {
    case OSRF_LOG_ERROR:    return APLOG_ERR;
    case OSRF_LOG_WARNING:  return APLOG_WARNING;
    case OSRF_LOG_DEBUG:    return APLOG_DEBUG;
    case OSRF_LOG_INTERNAL: return APLOG_TRACE1;
    default:                return APLOG_INFO;
    }
}

/* A bridge line to Apache's error log (no log in opensrf_core.xml).  Its
 * own function: its buffer is on the stack only on this path. */
static void __attribute__((noinline))
apache_log(server_rec *s, int level, const char *xid, int line, const char *msg)
{
    char safe[OSRF_LOG_LINE_MAX], safe_xid[2 * OSRF_MAX_XID];

    osrf_log_escape(msg, safe, sizeof(safe));
    osrf_log_escape(xid, safe_xid, sizeof(safe_xid));   /* a bus reply's, too */
    if (*safe_xid)
        ap_log_error_(__FILE__, line, APLOG_MODULE_INDEX, apache_level(level), 0, s,
                      "%s [log_xid %s]", safe, safe_xid);
    else
        ap_log_error_(__FILE__, line, APLOG_MODULE_INDEX, apache_level(level), 0, s,
                      "%s", safe);
}

/* Every bridge line: to the log opensrf_core.xml names, else to Apache's
 * error log.  xid (may be NULL) ties a line to one request. */
#define BLOG(s, level, xid, ...) bridge_log(s, level, xid, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 5, 6)))
static void bridge_log(server_rec *s, int level, const char *xid, int line,
                       const char *fmt, ...)
{
    char msg[OSRF_LOG_LINE_MAX];
    va_list ap;

    if (osrf_logger.on ? !osrf_log_wants(&osrf_logger, level)
                       : !APLOG_IS_LEVEL(s, apache_level(level)))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (osrf_logger.on)
        osrf_log_write(&osrf_logger, level, "osrf_ws_bridge.c", line, xid, msg);
    else
        apache_log(s, level, xid, line, msg);
}

/* The gauges this child reports: lock held. */
static void note_gauges(void)
{
    ws_metric_set(bridge.metrics, WS_M_IN_FLIGHT, (uint64_t)bridge.in_flight);
    ws_metric_set(bridge.metrics, WS_M_SESSIONS, (uint64_t)bridge.sessions.count);
}

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;

    return n > 0 ? n : fallback;
}

static const char *env_str(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && *v ? v : fallback;
}

#define PICK(field, env) (directives.field != UNSET ? directives.field : (env))

static void read_settings(bridge_settings *set)
{
    set->config_file = directives.config_file ? directives.config_file
        : env_str("OSRF_WEBSOCKET_CONFIG_FILE", "/openils/conf/opensrf_core.xml");
    set->config_context = directives.config_context ? directives.config_context
        : env_str("OSRF_WEBSOCKET_CONFIG_CTXT", "gateway");
    set->idle_timeout = PICK(idle_timeout, env_int("OSRF_WEBSOCKET_IDLE_TIMEOUT", 120));
    set->idle_check_interval = PICK(idle_check_interval,
                                    env_int("OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL", 5));
    set->max_request_wait = PICK(max_request_wait,
                                 env_int("OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME", 600));
    set->max_sessions = PICK(max_sessions, MAX_SESSIONS);
    set->max_in_flight = PICK(max_in_flight, MAX_IN_FLIGHT);
    set->trusted_proxies = directives.trusted_proxies;
    set->ingress = directives.ingress ? directives.ingress : OSRF_INGRESS;
}

/* Reads the settings and opensrf_core.xml; NULL, or why not. */
static const char *load_config(apr_pool_t *p)
{
    char err[512];

    if (bridge.loaded)
        return NULL;
    read_settings(&bridge.set);
    if (osrf_config_read(bridge.set.config_file, bridge.set.config_context,
                         &bridge.cfg, err, sizeof(err)) < 0)
        return apr_pstrdup(p, err);
    snprintf(bridge.router_key, sizeof(bridge.router_key), "opensrf:router:%s:%s",
             bridge.cfg.router_name, bridge.cfg.domain);
    if (osrf_log_open(&osrf_logger, &bridge.cfg, bridge.set.config_context,
                      getenv("OSRF_WEBSOCKET_SYSLOG_SOCKET"), err, sizeof(err)) < 0) {
        osrf_config_free(&bridge.cfg);
        return apr_psprintf(p, "%s: %s", bridge.set.config_file, err);
    }
    bridge.loaded = 1;
    return NULL;
}

/* --- requests in flight (lock held) --------------------------------------- */

static void pending_add(const char *thread, const char *trace, const char *xid,
                        int requests)
{
    int i;

    bridge.in_flight += requests;
    for (i = 0; i < bridge.npending; i++)
        if (strcmp(bridge.pending[i].thread, thread) == 0) {
            bridge.pending[i].requests += requests;
            bridge.pending[i].since = apr_time_now();
            return;
        }
    if (bridge.npending < MAX_IN_FLIGHT) {
        pending_thread *p = &bridge.pending[bridge.npending++];
        strcpy(p->thread, thread);
        snprintf(p->trace, sizeof(p->trace), "%s", trace);
        strcpy(p->xid, xid);
        p->requests = requests;
        p->since = apr_time_now();
    }
}

/* Requests of thread ended; one failed by a lost bus counts off the
 * abandoned ones. */
static void pending_done(const char *thread, int completed)
{
    int i;

    if (completed == 0)
        return;
    for (i = 0; i < bridge.npending; i++)
        if (strcmp(bridge.pending[i].thread, thread) == 0) {
            pending_thread *p = &bridge.pending[i];
            int n = completed < p->requests ? completed : p->requests;

            bridge.in_flight -= n;
            if ((p->requests -= n) == 0)
                *p = bridge.pending[--bridge.npending];
            return;
        }
    bridge.abandoned -= completed;
    if (bridge.abandoned < 0)
        bridge.abandoned = 0;
}

/* Keeps a finished connection's address watched, for SESSION_LINGER at
 * least if it had stateful sessions, and with its replies DELeted as they
 * come if it was closed for them (discarding); 0 when there is no room. */
static int retire(const char *address, int outstanding, int had_sessions, int discarding)
{
    apr_time_t now = apr_time_now();
    retired_address *d;

    if (bridge.nretired == MAX_RETIRED)
        return 0;
    d = &bridge.retired[bridge.nretired++];
    strcpy(d->address, address);
    d->outstanding = outstanding;
    d->discarding = discarding;
    d->deadline = now + apr_time_from_sec(bridge.set.max_request_wait);
    d->linger_until = had_sessions ? now + SESSION_LINGER : 0;
    return 1;
}

static retired_address *retired_find(const char *address)
{
    int i;

    for (i = 0; i < bridge.nretired; i++)
        if (strcmp(bridge.retired[i].address, address) == 0)
            return &bridge.retired[i];
    return NULL;
}

/* --- the bus ------------------------------------------------------------- */

/* Connects and logs in within tv (connect, then each read); NULL and the
 * reason in why[n] (with the number of the log line it belongs to). */
static redisContext *bus_connect(struct timeval tv, char *why, size_t n)
{
    redisContext *c = redisConnectWithTimeout(bridge.cfg.domain, bridge.cfg.port, tv);
    redisReply *r;

    if (c == NULL || c->err) {
        snprintf(why, n, "OSRFWS02001: cannot reach the bus at %s:%d: %s",
                 bridge.cfg.domain, bridge.cfg.port, c ? c->errstr : "no memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);     /* the connect timeout does not cover reads */
    r = osrf_bus_command(c, "AUTH %s %s", bridge.cfg.username, bridge.cfg.passwd);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, n, "OSRFWS02002: bus login as %s refused: %s", bridge.cfg.username,
                 r ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

static redisContext *bus_login(server_rec *s)
{
    struct timeval tv = { 5, 0 };
    char why[256];
    redisContext *c = bus_connect(tv, why, sizeof(why));

    if (c == NULL) {
        BLOG(s, OSRF_LOG_ERROR, NULL, "%s", why);
        ws_metric_add(bridge.metrics, WS_M_BUS_ERRORS, 1);
    }
    return c;
}

/* The connection thread's context: a frozen bus must not hold the
 * connection thread, which answers the client with an error instead. */
static redisContext *sender_login(server_rec *s)
{
    redisContext *c = bus_login(s);

    if (c)
        redisSetTimeout(c, SENDER_TIMEOUT);
    if (c && bridge.sender_logins++)
        ws_metric_add(bridge.metrics, WS_M_BUS_RECONNECTS, 1);
    return c;
}

/* The listener's context: a read may block for one BLPOP, plus margin, so a
 * frozen or vanished bus is noticed in bounded time. */
static redisContext *listener_login(server_rec *s)
{
    redisContext *c = bus_login(s);
    struct timeval tv = { bridge.set.idle_check_interval + 5, 0 };

    if (c)
        redisSetTimeout(c, tv);
    if (c && bridge.listener_logins++)
        ws_metric_add(bridge.metrics, WS_M_BUS_RECONNECTS, 1);
    return c;
}

/* RPUSH on the connection thread's context, logging in again once if the
 * bus went away. */
static int bus_push(server_rec *s, const char *key, const char *msg, size_t len,
                    const char *xid)
{
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *r;

        if (bridge.send_bus == NULL && (bridge.send_bus = sender_login(s)) == NULL)
            return -1;
        r = osrf_bus_command(bridge.send_bus, "RPUSH %s %b", key, msg, len);
        if (r != NULL && r->type != REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            return 0;
        }
        BLOG(s, OSRF_LOG_ERROR, xid, "OSRFWS02003: RPUSH to %s failed: %s", key,
             r ? r->str : bridge.send_bus->errstr);
        ws_metric_add(bridge.metrics, WS_M_BUS_ERRORS, 1);
        if (r)
            freeReplyObject(r);
        redisFree(bridge.send_bus);
        bridge.send_bus = NULL;
    }
    return -1;
}

static void bus_del(server_rec *s, const char *key)
{
    redisReply *r;

    if (bridge.send_bus == NULL && (bridge.send_bus = sender_login(s)) == NULL)
        return;
    if ((r = osrf_bus_command(bridge.send_bus, "DEL %s", key)) != NULL)
        freeReplyObject(r);
}

/* --- readiness (the status handler's ?ready) ------------------------------ */

/* A PING answered within tv.  The gateway's ACL may refuse PING itself
 * (NOPERM): that refusal is Redis answering too. */
static int bus_ping(redisContext *c, struct timeval tv, char *why, size_t n)
{
    redisReply *r;
    int ok;

    redisSetTimeout(c, tv);
    r = osrf_bus_command(c, "PING");
    ok = r != NULL && (r->type == REDIS_REPLY_STATUS
                       || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0));
    if (!ok)
        snprintf(why, n, "the bus at %s:%d does not answer a PING: %s", bridge.cfg.domain,
                 bridge.cfg.port, r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return ok;
}

/* osrf_ws_bus_ready (ws_status.h).  A prefork child answers this request
 * between its WebSocket connections, so this thread is the connection
 * thread and may use send_bus.  A child that has it pings on it (and drops
 * it when it is broken: the next RPUSH would log in again anyway); one
 * without it, or whose context was broken, pings on a connection of its
 * own, closed again.  Nothing is logged or counted here: a health check
 * runs every few seconds, and the status handler logs the verdict. */
static int osrf_ws_bus_ready(request_rec *r, apr_interval_time_t timeout, const char **why)
{
    struct timeval tv = { (time_t)apr_time_sec(timeout), (suseconds_t)apr_time_usec(timeout) };
    const char *err = load_config(r->pool);
    char reason[256];
    redisContext *c;
    int ok;

    if (err) {
        *why = err;
        return 0;
    }
    if (bridge.send_bus) {
        ok = bus_ping(bridge.send_bus, tv, reason, sizeof(reason));
        redisSetTimeout(bridge.send_bus, SENDER_TIMEOUT);
        if (ok)
            return 1;
        redisFree(bridge.send_bus);
        bridge.send_bus = NULL;
    }
    c = bus_connect(tv, reason, sizeof(reason));
    ok = c != NULL && bus_ping(c, tv, reason, sizeof(reason));
    if (c)
        redisFree(c);
    if (!ok)
        *why = apr_pstrdup(r->pool, reason);
    return ok;
}

/* --- the listener thread --------------------------------------------------- */

/* Starts the closing handshake with a code, as mod_websocket's interface
 * has it: a close message whose payload is the code and reason.  Any
 * thread. */
static void close_with(const WebSocketServer *server, unsigned code, const char *reason)
{
    unsigned char payload[WS_MAX_CONTROL_PAYLOAD];

    server->send(server, MESSAGE_TYPE_CLOSE, payload,
                 ws_close_payload(payload, code, reason));
}

/* 1001 tells opensrf.js to reconnect (to a new child). */
static void close_going_away(const WebSocketServer *server)
{
    close_with(server, 1001, "server shutting down");
}

/* Whether a reply of len bytes may wait for the client.  The listener
 * never waits on a client that does not read: it must keep popping, or
 * the replies would pile up in Redis instead (where the gateway's account
 * cannot even measure them).  So the replies a connection holds are
 * bounded in the child, by WebSocketMaxQueuedBytes, and a client past
 * it is closed; its address ends as any other (drained, then deleted). */
static int reply_fits(const WebSocketServer *server, size_t len, server_rec *s)
{
    size_t room;

    if (bridge.room == NULL || len <= (room = bridge.room(server)))
        return 1;
    BLOG(s, OSRF_LOG_WARNING, NULL, "OSRFWS02032: client %s reads too slowly: a reply "
         "of %zu bytes finds room for %zu (WebSocketMaxQueuedBytes); closing with 1008",
         bridge.peer, len, room);
    close_with(server, 1008, "replies waiting past the bound");
    return 0;
}

/* The listener's way into the current connection (lock held): NULL when
 * there is none, or once the child is exiting, whose pools are about to
 * take the connection's memory.  Each other answer is matched by one
 * leave_server(), as soon as the call into the connection returns. */
static const WebSocketServer *enter_server(void)
{
    if (bridge.server == NULL)
        return NULL;
    if (apr_atomic_inc32(&bridge.in_server) & EXITING) {
        apr_atomic_dec32(&bridge.in_server);
        return NULL;
    }
    return bridge.server;
}

static void leave_server(void)
{
    apr_atomic_dec32(&bridge.in_server);
}

/* Sends a frame to the current connection if it is still generation gen.
 * Called with the lock held; releases it around send. */
static void deliver(unsigned long gen, const char *data, size_t len, server_rec *s)
{
    const WebSocketServer *server;
    int fits;

    if (bridge.generation != gen || bridge.overflowed
        || (server = enter_server()) == NULL)
        return;
    bridge.sending = 1;
    apr_thread_mutex_unlock(bridge.lock);
    if ((fits = reply_fits(server, len, s)) != 0)
        server->send(server, MESSAGE_TYPE_TEXT, (const unsigned char *)data, len);
    leave_server();     /* before the lock: the exit waits without it */
    apr_thread_mutex_lock(bridge.lock);
    bridge.overflowed = !fits;
    bridge.sending = 0;
    apr_thread_cond_broadcast(bridge.wake);
}

/* Whether the child is stopping (graceful restart or stop).  The MPM
 * knows as soon as its signal is handled, whichever thread took it, so
 * the listener does not depend on the connection thread having seen it
 * (on_shutdown) before the last reply goes out.  Lock held. */
static int child_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    if (!bridge.stopping && ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
        && state == AP_MPMQ_STOPPING)
        bridge.stopping = 1;
    return bridge.stopping;
}

/* A reply for the current connection: cache sessions, count the
 * requests it ends, send it on.  Lock held. */
static void reply_to_client(const osrf_outbound *out, ws_buffer *frame, server_rec *s)
{
    const WebSocketServer *server;

    if (out->connected && strncmp(out->from, "opensrf:client:", 15) == 0
        && osrf_sessions_add(&bridge.sessions, out->thread, out->from) < 0)
        BLOG(s, OSRF_LOG_INFO, NULL,
             "OSRFWS02005: session cache full, thread %s not cached",
             out->thread);
    if (out->timed_out)
        osrf_sessions_remove(&bridge.sessions, out->thread);
    if (out->error)
        ws_metric_add(bridge.metrics, ws_metric_osrf_status(out->error), 1);
    if (out->completed)
        BLOG(s, OSRF_LOG_DEBUG, out->xid, "OSRFWS02015: thread %s: %d request(s) ended, "
             "last error STATUS %d (0: none)", out->thread, out->completed, out->error);
    pending_done(out->thread, out->completed);
    note_gauges();
    bridge.last_activity = apr_time_now();
    deliver(bridge.generation, frame->data, frame->len, s);
    if (bridge.in_flight == 0 && bridge.server && child_stopping()
        && (server = enter_server()) != NULL) {
        close_going_away(server);
        leave_server();
    }
}

/* The WAKE_TOKEN of a connection that ended: on a retired address it is
 * one of the things still due there (bridge_on_disconnect counts it). */
static void wake_token_popped(const char *key)
{
    retired_address *d;

    apr_thread_mutex_lock(bridge.lock);
    if ((d = retired_find(key)) != NULL)
        d->outstanding--;
    apr_thread_mutex_unlock(bridge.lock);
}

/* A message popped from key: for the current connection, or counted off
 * a retired address; anything else is a late reply to a deleted address,
 * dropped (popping it is what keeps that key from lingering). */
static void handle_reply(const char *key, const char *raw, size_t len,
                         ws_buffer *frame, server_rec *s)
{
    osrf_outbound out;
    retired_address *d;

    if (len == sizeof(WAKE_TOKEN) - 1 && memcmp(raw, WAKE_TOKEN, len) == 0) {
        wake_token_popped(key);
        return;
    }
    if (osrf_bus_to_client(raw, len, &out, frame) != OSRF_OK) {
        BLOG(s, OSRF_LOG_INFO, NULL,
             "OSRFWS02004: dropping an unreadable bus message");
        return;
    }
    apr_thread_mutex_lock(bridge.lock);
    if (bridge.server && strcmp(key, bridge.address) == 0)
        reply_to_client(&out, frame, s);
    else if ((d = retired_find(key)) != NULL)
        d->outstanding -= out.completed;
    apr_thread_mutex_unlock(bridge.lock);
}

/* Idle and shutdown decisions, on every BLPOP timeout.  Lock held. */
static void check_idle(void)
{
    apr_time_t now = apr_time_now();
    const WebSocketServer *server = enter_server();
    int waited_out;

    if (server == NULL)
        return;
    waited_out = bridge.in_flight == 0
                 || now - bridge.last_request
                    > apr_time_from_sec(bridge.set.max_request_wait);
    if (waited_out && child_stopping()) {
        close_going_away(server);
    } else if (waited_out
               && now - bridge.last_activity > apr_time_from_sec(bridge.set.idle_timeout)) {
        server->close(server);
    }
    leave_server();
}

/* The listener's bus command failed: drop the connection; the next use
 * logs in again. */
static void listener_bus_failed(redisReply *r)
{
    if (r)
        freeReplyObject(r);
    redisFree(bridge.recv_bus);
    bridge.recv_bus = NULL;
}

static void listener_del(const char *key)
{
    redisReply *r;

    if (bridge.recv_bus == NULL)
        return;
    r = osrf_bus_command(bridge.recv_bus, "DEL %s", key);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        listener_bus_failed(r);
    else
        freeReplyObject(r);
}

/* Whether key is the address of a connection closed for replies past its
 * bound, open still or retired: whatever comes there is garbage. */
static int discarding(const char *key)
{
    retired_address *d;
    int yes;

    apr_thread_mutex_lock(bridge.lock);
    yes = (bridge.server && bridge.overflowed && strcmp(key, bridge.address) == 0)
          || ((d = retired_find(key)) != NULL && d->discarding);
    apr_thread_mutex_unlock(bridge.lock);
    return yes;
}

/* A message popped from key.  Garbage is not read, and whatever else
 * waits there is DELeted at once, one command however much it holds:
 * popped one large reply at a time, it would sit in Redis (with the
 * services adding more) for as long as the drain takes. */
static void take_reply(const char *key, const char *raw, size_t len,
                       ws_buffer *frame, server_rec *s)
{
    if (!discarding(key))
        handle_reply(key, raw, len, frame, s);
    if (discarding(key))
        listener_del(key);
}

/* DELs the retired addresses whose replies are all in, or that waited
 * longer than the max request wait. */
static void forget_finished(server_rec *s)
{
    char done[MAX_RETIRED][OSRF_MAX_ADDRESS + 1];
    apr_time_t now = apr_time_now();
    int i, n = 0;

    apr_thread_mutex_lock(bridge.lock);
    for (i = 0; i < bridge.nretired;) {
        retired_address *d = &bridge.retired[i];

        /* a discarding address's replies went uncounted: it waits them out */
        if (!osrf_address_done(d->discarding ? 1 : d->outstanding, now, d->deadline,
                               d->linger_until)) {
            i++;
            continue;
        }
        if (d->outstanding > 0 && !d->discarding)
            BLOG(s, OSRF_LOG_INFO, NULL,
                 "OSRFWS02012: %d replies to %s never came; deleting it",
                 d->outstanding, d->address);
        strcpy(done[n++], d->address);
        *d = bridge.retired[--bridge.nretired];
    }
    apr_thread_mutex_unlock(bridge.lock);
    for (i = 0; i < n; i++)
        listener_del(done[i]);
}

/* Answers each of the threads with a gateway STATUS (lock held: deliver
 * drops it around each send, so they are a copy, not bridge.pending). */
static void answer_threads(const pending_thread *threads, int n, int code,
                           const char *lognum, const char *text,
                           ws_buffer *frame, server_rec *s)
{
    unsigned long gen = bridge.generation;
    int i;

    for (i = 0; i < n; i++) {
        BLOG(s, OSRF_LOG_INFO, threads[i].xid, "%s: thread %s: STATUS %d, %s",
             lognum, threads[i].thread, code, text);
        ws_metric_add(bridge.metrics, code == 408 ? WS_M_GW_STATUS_408
                                                  : WS_M_GW_STATUS_503, 1);
        if (osrf_status_frame(frame, threads[i].thread, threads[i].trace, code, text) == 0)
            deliver(gen, frame->data, frame->len, s);
    }
    ws_buffer_reset(frame);
}

/* The bus connection was lost: replies in flight may be lost with it, so
 * each thread waiting for one gets a STATUS error now rather than never. */
static void fail_pending(ws_buffer *frame, server_rec *s)
{
    /* static, as in expire_pending */
    static pending_thread lost[MAX_IN_FLIGHT];
    int n;

    apr_thread_mutex_lock(bridge.lock);
    n = bridge.npending;
    memcpy(lost, bridge.pending, (size_t)n * sizeof(lost[0]));
    bridge.npending = 0;
    bridge.abandoned += bridge.in_flight;
    bridge.in_flight = 0;
    note_gauges();
    answer_threads(lost, n, 503, "OSRFWS02014", "the OpenSRF bus connection was lost",
                   frame, s);
    apr_thread_mutex_unlock(bridge.lock);
}

/* A thread whose requests went unanswered past the max request wait (its
 * service or the router died) gets a STATUS 408 instead of silence; its
 * cached worker is forgotten, and a reply that still comes is counted off
 * the abandoned requests. */
static void expire_pending(ws_buffer *frame, server_rec *s)
{
    /* The listener's alone.  Static, not on its stack: 45 kB there would
     * put the frames of the calls below 11 pages deeper, one more page
     * of each child's memory on every turn of the loop. */
    static pending_thread late[MAX_IN_FLIGHT];
    apr_time_t cutoff = apr_time_now() - apr_time_from_sec(bridge.set.max_request_wait);
    int i, n = 0;

    apr_thread_mutex_lock(bridge.lock);
    for (i = 0; bridge.server && i < bridge.npending;) {
        pending_thread *p = &bridge.pending[i];

        if (p->since > cutoff) {
            i++;
            continue;
        }
        late[n++] = *p;
        bridge.in_flight -= p->requests;
        bridge.abandoned += p->requests;
        osrf_sessions_remove(&bridge.sessions, p->thread);
        *p = bridge.pending[--bridge.npending];
    }
    if (n) {
        note_gauges();
        answer_threads(late, n, 408, "OSRFWS02017", "no reply within the max request wait",
                       frame, s);
    }
    apr_thread_mutex_unlock(bridge.lock);
}

/* The keys the listener blocks on: the current address (or, between
 * connections, the next one) and the retired ones; one key less per
 * BLPOP while a connection is open is Redis's work on every reply.
 * Waits while there is none worth watching. */
static int watched_keys(char keys[][OSRF_MAX_ADDRESS + 1])
{
    int i, n = 0;

    apr_thread_mutex_lock(bridge.lock);
    while (bridge.server == NULL && bridge.nretired == 0)
        apr_thread_cond_wait(bridge.wake, bridge.lock);
    bridge.watching = bridge.server != NULL;
    strcpy(keys[n++], bridge.server ? bridge.address : bridge.next_address);
    for (i = 0; i < bridge.nretired; i++)
        strcpy(keys[n++], bridge.retired[i].address);
    apr_thread_mutex_unlock(bridge.lock);
    return n;
}

/* Back from a BLPOP (or from not sending one): the keys it named are
 * free to go (bridge_on_disconnect waits for this). */
static void listener_back(void)
{
    apr_thread_mutex_lock(bridge.lock);
    bridge.watching = 0;
    apr_thread_cond_broadcast(bridge.wake);
    apr_thread_mutex_unlock(bridge.lock);
}

static void *APR_THREAD_FUNC listen_bus(apr_thread_t *thread, void *data)
{
    server_rec *s = data;
    ws_buffer frame = { 0 };
    char keys[1 + MAX_RETIRED][OSRF_MAX_ADDRESS + 1];
    const char *argv[1 + (1 + MAX_RETIRED) + 1];     /* BLPOP, keys, timeout */
    char timeout[16];
    int backoff = 1;

    argv[0] = "BLPOP";
    snprintf(timeout, sizeof(timeout), "%d", bridge.set.idle_check_interval);
    for (;;) {
        int i, nkeys = watched_keys(keys);
        size_t got = 0;
        redisReply *r;

        if (bridge.recv_bus == NULL && (bridge.recv_bus = listener_login(s)) == NULL) {
            listener_back();
            fail_pending(&frame, s);
            apr_sleep(apr_time_from_sec(backoff));
            backoff = backoff < 8 ? backoff * 2 : 8;
            continue;
        }
        backoff = 1;
        for (i = 0; i < nkeys; i++)
            argv[1 + i] = keys[i];
        argv[1 + nkeys] = timeout;
        r = osrf_bus_command_argv(bridge.recv_bus, nkeys + 2, argv, NULL);
        listener_back();
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            BLOG(s, OSRF_LOG_ERROR, NULL,
                 "OSRFWS02006: BLPOP failed: %s",
                 r ? r->str : bridge.recv_bus->errstr);
            listener_bus_failed(r);
            ws_metric_add(bridge.metrics, WS_M_BUS_ERRORS, 1);
            fail_pending(&frame, s);
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            got = r->element[1]->len;
            take_reply(r->element[0]->str, r->element[1]->str,
                       r->element[1]->len, &frame, s);
            ws_buffer_reset(&frame);
        } else {
            apr_thread_mutex_lock(bridge.lock);
            check_idle();
            apr_thread_mutex_unlock(bridge.lock);
            /* Quiet for a whole BLPOP: hand the free heap pages that
             * the last messages' JSON left back to the kernel, so an
             * idle connection's child stays small. */
            malloc_trim(0);
        }
        freeReplyObject(r);
        ws_buffer_give_back(got);  /* the reply and its frame are freed */
        expire_pending(&frame, s);
        forget_finished(s);
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Started on the first connection of a child, with signals blocked so
 * that SIGUSR1 and SIGTERM reach the connection thread. */
static int start_listener(server_rec *s)
{
    apr_threadattr_t *attr;
    sigset_t all, old;
    apr_status_t rv;

    if (bridge.listener)
        return 0;
    if (apr_pool_create(&bridge.pool, NULL) != APR_SUCCESS
        || apr_thread_mutex_create(&bridge.lock, APR_THREAD_MUTEX_DEFAULT,
                                   bridge.pool) != APR_SUCCESS
        || apr_thread_cond_create(&bridge.wake, bridge.pool) != APR_SUCCESS
        || apr_threadattr_create(&attr, bridge.pool) != APR_SUCCESS)
        return -1;
    apr_threadattr_stacksize_set(attr, LISTENER_STACK);
    /* One malloc arena: glibc would give the listener its own, whose
     * first 132 KB heap costs an idle connection about 63 KB of PSS
     * (bench/run, memory per idle connection); two threads barely
     * contend for one. */
    mallopt(M_ARENA_MAX, 1);
    srandom((unsigned)getpid() ^ (unsigned)apr_time_now());
    osrf_sessions_init(&bridge.sessions, bridge.session_storage,
                       bridge.set.max_sessions);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&bridge.listener, attr, listen_bus, s, bridge.pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rv == APR_SUCCESS ? 0 : -1;
}

/* --- plugin callbacks (connection thread) ---------------------------------- */

/* A fresh client address: opensrf:client:USER:DOMAIN:HOST:PID:RANDOM. */
static void new_address(char *address)
{
    char host[64];

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '_';
    snprintf(address, OSRF_MAX_ADDRESS + 1, "opensrf:client:%s:%s:%s:%ld:%08lx",
             bridge.cfg.username, bridge.cfg.domain, host, (long)getpid(),
             (unsigned long)random());
}

static void CALLBACK bridge_on_shutdown(void *priv, const WebSocketServer *server);

/* What the host offers beyond mod_websocket's interface, if anything. */
static void use_host_extensions(const WebSocketServer *server)
{
    APR_OPTIONAL_FN_TYPE(ws_server_metrics) *metrics
        = APR_RETRIEVE_OPTIONAL_FN(ws_server_metrics);
    APR_OPTIONAL_FN_TYPE(ws_server_on_shutdown) *on_shutdown
        = APR_RETRIEVE_OPTIONAL_FN(ws_server_on_shutdown);

    if (bridge.metrics == NULL && metrics)
        bridge.metrics = metrics(server, WS_METRICS_VERSION);
    if (on_shutdown)
        on_shutdown(server, bridge_on_shutdown);
    bridge.room = APR_RETRIEVE_OPTIONAL_FN(ws_server_room);
}

static const char *client_ip(request_rec *r, char out[WS_ADDR_MAX + 1]);

static void *CALLBACK bridge_on_connect(const WebSocketServer *server)
{
    request_rec *r = server->request(server);
    const char *why = load_config(r->pool);

    if (why) {
        BLOG(r->server, OSRF_LOG_ERROR, NULL, "OSRFWS02007: %s", why);
        return NULL;
    }
    use_host_extensions(server);
    if (start_listener(r->server) < 0
        || (bridge.send_bus == NULL
            && (bridge.send_bus = sender_login(r->server)) == NULL))
        return NULL;

    apr_thread_mutex_lock(bridge.lock);
    if (bridge.next_address[0] == '\0')
        new_address(bridge.next_address);
    strcpy(bridge.address, bridge.next_address);
    new_address(bridge.next_address);
    bridge.server = server;
    bridge.generation++;
    bridge.sessions.count = 0;
    bridge.npending = 0;
    bridge.in_flight = 0;
    bridge.abandoned = 0;
    bridge.stopping = 0;
    bridge.overflowed = 0;
    client_ip(r, bridge.peer);
    bridge.last_activity = bridge.last_request = apr_time_now();
    note_gauges();
    apr_thread_cond_broadcast(bridge.wake);
    apr_thread_mutex_unlock(bridge.lock);
    return &bridge;
}

/* The activity-log lines of the frame just read, one per REQUEST (the
 * core ends each with \n): relayed (refused 0), or refused with a STATUS,
 * so each request is logged once, under its own client and xid. */
static void log_activity(request_rec *r, const char *xid, int refused)
{
    char *line = bridge.activity.data, *nl, head[48] = "OSRFWS02010: ";

    if (refused)
        snprintf(head, sizeof(head), "OSRFWS02018: refused, STATUS %d: ", refused);
    while (line && (nl = strchr(line, '\n')) != NULL) {
        BLOG(r->server, OSRF_LOG_ACTIVITY, xid, "%s%.*s", head, (int)(nl - line), line);
        line = nl + 1;
    }
    ws_buffer_reset(&bridge.activity);
}

/* Refuses the frame just read: its requests are logged as refused. */
static void send_status(const WebSocketServer *server, const osrf_inbound *in,
                        int code, const char *text)
{
    log_activity(server->request(server), in->xid, code);
    if (code != 400)    /* a 400's reason is logged by OSRFWS02009 */
        BLOG(server->request(server)->server, OSRF_LOG_INFO, in->xid,
             "OSRFWS02016: thread %s: STATUS %d, %s", in->thread, code, text);
    ws_metric_add(bridge.metrics, code == 400 ? WS_M_GW_STATUS_400 : WS_M_GW_STATUS_503, 1);
    if (osrf_status_frame(&bridge.reply, in->thread, in->trace, code, text) == 0)
        server->send(server, MESSAGE_TYPE_TEXT,
                     (const unsigned char *)bridge.reply.data, bridge.reply.len);
    ws_buffer_reset(&bridge.reply);
}

/* The client's address: behind a trusted proxy, the last X-Forwarded-For
 * hop that is not itself one (hops checked as addresses, ws_admit.h). */
static const char *client_ip(request_rec *r, char out[WS_ADDR_MAX + 1])
{
    apr_array_header_t *a = bridge.set.trusted_proxies;

    return ws_forwarded_client(r->useragent_ip,
                               apr_table_get(r->headers_in, "X-Forwarded-For"),
                               a ? (const char *const *)a->elts : NULL,
                               a ? a->nelts : 0, out);
}

static size_t CALLBACK bridge_on_message(void *priv, const WebSocketServer *server,
                                         const int type, unsigned char *buffer,
                                         const size_t size)
{
    request_rec *r = server->request(server);
    osrf_identity id = { bridge.address, bridge.router_key,
                         (const char *const *)bridge.cfg.log_protect, bridge.peer,
                         bridge.set.ingress };
    osrf_inbound in;
    osrf_status st;
    int busy, full;

    (void)priv;
    if (type != MESSAGE_TYPE_TEXT) {
        close_with(server, 1003, "OpenSRF messages are text");
        return 0;
    }
    apr_thread_mutex_lock(bridge.lock);
    st = osrf_client_to_bus(&id, &bridge.sessions, (const char *)buffer, size,
                            &in, &bridge.bus_msg, &bridge.activity);
    busy = osrf_over_cap(bridge.in_flight, in.replies, bridge.set.max_in_flight);
    full = st == OSRF_OK && in.connect
           && osrf_sessions_find(&bridge.sessions, in.thread) == NULL
           && bridge.sessions.count >= bridge.sessions.max;
    apr_thread_mutex_unlock(bridge.lock);

    if (st == OSRF_ERR_JSON || (st != OSRF_OK && in.thread[0] == '\0')) {
        BLOG(r->server, OSRF_LOG_INFO, in.xid, "OSRFWS02008: %s", in.error);
        close_with(server, st == OSRF_ERR_JSON ? 1007
                           : st == OSRF_ERR_TOO_BIG ? 1009 : 1008, in.error);
        return 0;
    }
    if (st != OSRF_OK) {
        BLOG(r->server, OSRF_LOG_INFO, in.xid, "OSRFWS02009: thread %s: %s",
             in.thread, in.error);
        send_status(server, &in, 400, in.error);
        return 0;
    }
    if (busy) {
        send_status(server, &in, 503, "too many requests in flight on this connection");
        return 0;
    }
    if (full) {
        send_status(server, &in, 503, "too many stateful sessions on this connection");
        return 0;
    }
    /* in flight (and counted) before the push: the reply may be popped,
     * counted off and even read by the client before RPUSH returns here */
    ws_metric_add(bridge.metrics, WS_M_REQUESTS, in.requests);
    apr_thread_mutex_lock(bridge.lock);
    if (in.replies)
        pending_add(in.thread, in.trace, in.xid, in.replies);
    apr_thread_mutex_unlock(bridge.lock);
    if (bus_push(r->server, in.recipient, bridge.bus_msg.data, bridge.bus_msg.len,
                 in.xid) < 0) {
        apr_thread_mutex_lock(bridge.lock);
        pending_done(in.thread, in.replies);
        note_gauges();
        apr_thread_mutex_unlock(bridge.lock);
        send_status(server, &in, 503, "the OpenSRF bus is unavailable");
        ws_buffer_reset(&bridge.bus_msg);
        return 0;
    }
    ws_buffer_reset(&bridge.bus_msg);
    log_activity(r, in.xid, 0);

    apr_thread_mutex_lock(bridge.lock);
    bridge.last_activity = apr_time_now();
    if (in.replies)
        bridge.last_request = bridge.last_activity;
    if (in.disconnect)
        osrf_sessions_remove(&bridge.sessions, in.thread);
    note_gauges();
    apr_thread_mutex_unlock(bridge.lock);
    return size;
}

/* The connection's stateful sessions end with it, as a well-behaved
 * client ends them: a DISCONNECT to each worker, which then serves others
 * at once rather than at its keepalive's end (and sends no STATUS 408).
 * Once bridge.server is NULL the listener no longer touches the session
 * cache, so it is read here without the lock. */
static void end_sessions(server_rec *s)
{
    const osrf_identity id = { bridge.address, NULL, NULL, NULL, bridge.set.ingress };
    int i;

    for (i = 0; i < bridge.sessions.count; i++) {
        const osrf_session *e = &bridge.sessions.entries[i];

        if (osrf_disconnect_message(&bridge.bus_msg, &id, e) == 0
            && bus_push(s, e->worker, bridge.bus_msg.data, bridge.bus_msg.len, NULL) == 0)
            BLOG(s, OSRF_LOG_DEBUG, NULL, "OSRFWS02031: thread %s: its session ends "
                 "with the connection; DISCONNECT sent to %s", e->thread, e->worker);
    }
    ws_buffer_reset(&bridge.bus_msg);
    apr_thread_mutex_lock(bridge.lock);
    bridge.sessions.count = 0;
    note_gauges();
    apr_thread_mutex_unlock(bridge.lock);
}

/* The listener's BLPOP names this address: the WAKE_TOKEN brings it
 * back, and the address may go only once it is back (see the top). */
static void wake_listener(server_rec *s)
{
    bus_push(s, bridge.address, WAKE_TOKEN, sizeof(WAKE_TOKEN) - 1, NULL);
    apr_thread_mutex_lock(bridge.lock);
    while (bridge.watching)
        apr_thread_cond_wait(bridge.wake, bridge.lock);
    apr_thread_mutex_unlock(bridge.lock);
}

/* The connection is let go (server cleared) first, so a listener woken
 * from here watches the next connection's address, not this one.  An
 * address with replies still due, or whose sessions were just ended (a
 * worker's 408 may cross its DISCONNECT), is retired to the listener, a
 * WAKE_TOKEN pushed there counted among its replies, so the listener
 * cannot DEL the key before the token lands (the token would create it
 * again); any other is
 * deleted here, before the child may exit. */
static void CALLBACK bridge_on_disconnect(void *priv, const WebSocketServer *server)
{
    server_rec *s = server->request(server)->server;
    int outstanding, sessions, retired, watched;

    (void)priv;
    apr_thread_mutex_lock(bridge.lock);
    bridge.server = NULL;
    while (bridge.sending)
        apr_thread_cond_wait(bridge.wake, bridge.lock);
    watched = bridge.watching;
    outstanding = bridge.in_flight + bridge.abandoned;
    sessions = bridge.sessions.count;
    retired = (outstanding > 0 || sessions > 0)
              && retire(bridge.address, outstanding + watched, sessions > 0,
                        bridge.overflowed);
    apr_thread_mutex_unlock(bridge.lock);
    if (watched)
        wake_listener(s);
    end_sessions(s);
    if ((outstanding > 0 || sessions > 0) && !retired)
        BLOG(s, OSRF_LOG_INFO, NULL,
             "OSRFWS02013: no room to watch %s for its %d replies still due "
             "(%d sessions ended)", bridge.address, outstanding, sessions);
    if (!retired)
        bus_del(s, bridge.address);
}

static void CALLBACK bridge_on_shutdown(void *priv, const WebSocketServer *server)
{
    (void)priv;
    apr_thread_mutex_lock(bridge.lock);
    bridge.stopping = 1;
    if (bridge.in_flight == 0)
        close_going_away(server);
    apr_thread_mutex_unlock(bridge.lock);
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

EXPORT WebSocketPlugin *CALLBACK osrf_websocket_init(void)
{
    return &bridge_plugin;
}

/* The child is exiting (the order is in the thread comment at the top):
 * from now on the listener calls into no connection, and the call it may
 * be making returns before the pools go.  In prefork this runs in the
 * SIGTERM handler, on the connection thread, which may hold any lock: it
 * takes none.  bridge.server is read without the lock: only this thread
 * writes it. */
static apr_status_t stop_listener_calls(void *unused)
{
    apr_time_t until = apr_time_now() + EXIT_WAIT;

    (void)unused;
    if (apr_atomic_add32(&bridge.in_server, EXITING) == 0)
        return APR_SUCCESS;
    if (bridge.server)
        apr_socket_shutdown(ap_get_conn_socket(bridge.server->request(bridge.server)
                                               ->connection),
                            APR_SHUTDOWN_READWRITE);
    while (apr_atomic_read32(&bridge.in_server) != EXITING && apr_time_now() < until)
        apr_sleep(apr_time_from_msec(1));
    return APR_SUCCESS;
}

/* --- as an Apache module: the config is checked when Apache starts ------- */

/* Apache unloads the module between configuration passes and on restart:
 * the settings read into its static storage are freed, and the log
 * closed, with the pool they were read for, or every pass leaks them
 * (valgrind: definitely lost; two descriptors of the parent per graceful
 * restart).  The children keep their inherited copies of the log. */
static apr_status_t free_config(void *unused)
{
    (void)unused;
    osrf_config_free(&bridge.cfg);
    osrf_log_close(&osrf_logger);
    bridge.loaded = 0;
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
    if ((why = load_config(pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "OSRFWS02011: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, NULL, free_config, apr_pool_cleanup_null);
    return OK;
}

static const char *set_string(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char **field = (const char **)((char *)&directives
                                         + (size_t)cmd->info);
    (void)dconf;
    *field = arg;
    return NULL;
}

static const char *set_number(cmd_parms *cmd, void *dconf, const char *arg)
{
    int *field = (int *)((char *)&directives + (size_t)cmd->info);
    int limit = cmd->info == (void *)APR_OFFSETOF(bridge_settings, max_sessions)
                ? MAX_SESSIONS
                : cmd->info == (void *)APR_OFFSETOF(bridge_settings, max_in_flight)
                ? MAX_IN_FLIGHT : 1000000;
    int64_t v;

    (void)dconf;
    if (!ws_parse_number(arg, WS_NUMBER_PLAIN, 1, limit, &v))
        return apr_psprintf(cmd->pool, "%s: %s is not a number from 1 to %d",
                            cmd->cmd->name, arg, limit);
    *field = (int)v;
    return NULL;
}

/* The ingress goes into the bus message's JSON as it is: a name, as
 * OpenSRF's are, so it needs no escaping. */
static const char *set_ingress(cmd_parms *cmd, void *dconf, const char *arg)
{
    size_t n = strlen(arg);

    (void)dconf;
    if (n == 0 || n > MAX_INGRESS
        || strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789-_.:/") != n)
        return apr_psprintf(cmd->pool, "%s: %s is not 1 to %d letters, digits or -_.:/",
                            cmd->cmd->name, arg, MAX_INGRESS);
    directives.ingress = arg;
    return NULL;
}

static const char *add_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    APR_OPTIONAL_FN_TYPE(osrf_ws_trust_proxy) *module_trusts
        = APR_RETRIEVE_OPTIONAL_FN(osrf_ws_trust_proxy);

    (void)dconf;
    if (module_trusts)      /* the module's per-client limit reads the same */
        module_trusts(cmd, arg);
    if (directives.trusted_proxies == NULL)
        directives.trusted_proxies = apr_array_make(cmd->pool, 4, sizeof(const char *));
    *(const char **)apr_array_push(directives.trusted_proxies) = arg;
    return NULL;
}

#define FIELD(f) (void *)APR_OFFSETOF(bridge_settings, f)

static const command_rec bridge_commands[] = {
    AP_INIT_TAKE1("OSRFWebSocketConfigFile", set_string, FIELD(config_file), RSRC_CONF,
                  "opensrf_core.xml (OSRF_WEBSOCKET_CONFIG_FILE)"),
    AP_INIT_TAKE1("OSRFWebSocketConfigContext", set_string, FIELD(config_context),
                  RSRC_CONF, "its section for the gateway (OSRF_WEBSOCKET_CONFIG_CTXT)"),
    AP_INIT_TAKE1("OSRFWebSocketIdleTimeout", set_number, FIELD(idle_timeout), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_IDLE_TIMEOUT)"),
    AP_INIT_TAKE1("OSRFWebSocketIdleCheckInterval", set_number,
                  FIELD(idle_check_interval), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL)"),
    AP_INIT_TAKE1("OSRFWebSocketMaxRequestWaitTime", set_number,
                  FIELD(max_request_wait), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME)"),
    AP_INIT_TAKE1("OSRFWebSocketMaxSessions", set_number, FIELD(max_sessions), RSRC_CONF,
                  "stateful sessions cached per connection"),
    AP_INIT_TAKE1("OSRFWebSocketMaxInFlight", set_number, FIELD(max_in_flight), RSRC_CONF,
                  "requests in flight per connection"),
    AP_INIT_ITERATE("OSRFWebSocketTrustedProxies", add_proxy, NULL, RSRC_CONF,
                    "proxies whose X-Forwarded-For names the client"),
    AP_INIT_TAKE1("OSRFWebSocketIngress", set_ingress, NULL, RSRC_CONF,
                  "the ingress stamped on every message (" OSRF_INGRESS ")"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

/* Configuration is read again on every restart: start from nothing. */
static int bridge_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    static const bridge_settings unset = NO_DIRECTIVES;

    (void)pconf;
    (void)plog;
    (void)ptemp;
    directives = unset;
    return OK;
}

/* Before anything of the child is destroyed: its pool's pre-cleanups
 * run before its sub-pools (the connections') go. */
static void bridge_child_init(apr_pool_t *pchild, server_rec *s)
{
    (void)s;
    apr_pool_pre_cleanup_register(pchild, NULL, stop_listener_calls);
}

static void bridge_register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_REGISTER_OPTIONAL_FN(osrf_ws_bus_ready);
    ap_hook_pre_config(bridge_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(bridge_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(bridge_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(osrf_ws_bridge) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL,
    bridge_commands,
    bridge_register_hooks,
    AP_MODULE_FLAG_NONE
};
