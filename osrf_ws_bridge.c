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
 *                                 counts connections, so the listener
 *                                 notices one ending while it waited);
 *   sessions                      thread -> worker cache;
 *   pending                       threads with requests in flight, so a
 *                                 lost bus answers each with a STATUS;
 *   orphans                       requests still in flight when the last
 *                                 connection ended: their replies are
 *                                 drained before its address is deleted
 *                                 (an RPUSH would create the key again);
 *   in_flight, last_activity,
 *   last_request, stopping        what idle and shutdown decisions need;
 *   sending                       the listener is inside server->send:
 *                                 on_disconnect waits for it to finish.
 * bridge.wake signals the listener that a connection began, and
 * on_disconnect that a send has ended.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "apr_thread_proc.h"

#include "osrf_bridge.h"
#include "osrf_config.h"
#include "websocket_plugin.h"

module AP_MODULE_DECLARE_DATA osrf_ws_bridge_module;

#define MAX_SESSIONS       64
#define MAX_IN_FLIGHT      256
#define LISTENER_STACK     (256 * 1024)
#define WAKE_TOKEN         "osrf-ws-bridge-wake"

/* A thread with requests in flight. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];
    char trace[32];
    int requests;
} pending_thread;

/* Settings: an OSRFWebSocket* directive, else the environment variable
 * the original gateway read, else its default (PROTOCOL.md section 4). */
typedef struct {
    const char *config_file;
    const char *config_context;
    int idle_timeout;
    int idle_check_interval;
    int max_request_wait;
    int max_sessions;
    int max_in_flight;
    apr_array_header_t *trusted_proxies;    /* of const char *; may be NULL */
} bridge_settings;

/* What the directives set (UNSET: not given). */
#define UNSET -1
#define NO_DIRECTIVES { NULL, NULL, UNSET, UNSET, UNSET, UNSET, UNSET, NULL }
static bridge_settings directives = NO_DIRECTIVES;

typedef struct {
    int loaded;
    bridge_settings set;
    osrf_config cfg;
    char router_key[OSRF_MAX_ADDRESS + 1];

    redisContext *send_bus;
    redisContext *recv_bus;
    apr_pool_t *pool;
    apr_thread_t *listener;

    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    const WebSocketServer *server;
    char address[OSRF_MAX_ADDRESS + 1];
    unsigned long generation;
    osrf_session session_storage[MAX_SESSIONS];
    osrf_sessions sessions;
    pending_thread pending[MAX_IN_FLIGHT];
    int npending;
    int orphans;
    int in_flight;
    apr_time_t last_activity;
    apr_time_t last_request;
    int stopping;
    int sending;

    /* connection thread only */
    osrf_buf bus_msg;
    osrf_buf activity;
    osrf_buf reply;
} bridge_state;

static bridge_state bridge;

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
    bridge.loaded = 1;
    return NULL;
}

/* --- requests in flight (lock held) --------------------------------------- */

static void pending_add(const char *thread, const char *trace, int requests)
{
    int i;

    bridge.in_flight += requests;
    for (i = 0; i < bridge.npending; i++)
        if (strcmp(bridge.pending[i].thread, thread) == 0) {
            bridge.pending[i].requests += requests;
            return;
        }
    if (bridge.npending < MAX_IN_FLIGHT) {
        pending_thread *p = &bridge.pending[bridge.npending++];
        strcpy(p->thread, thread);
        snprintf(p->trace, sizeof(p->trace), "%s", trace);
        p->requests = requests;
    }
}

static void pending_done(const char *thread, int completed)
{
    int i;

    bridge.in_flight -= completed;
    if (bridge.in_flight < 0)
        bridge.in_flight = 0;
    for (i = 0; i < bridge.npending; i++)
        if (strcmp(bridge.pending[i].thread, thread) == 0) {
            bridge.pending[i].requests -= completed;
            if (bridge.pending[i].requests <= 0)
                bridge.pending[i] = bridge.pending[--bridge.npending];
            return;
        }
}

/* --- the bus ------------------------------------------------------------- */

static redisContext *bus_login(server_rec *s)
{
    struct timeval tv = { 5, 0 };
    redisContext *c = redisConnectWithTimeout(bridge.cfg.domain, bridge.cfg.port, tv);
    redisReply *r;

    if (c == NULL || c->err) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "OSRFWS02001: cannot reach the bus at %s:%d: %s",
                     bridge.cfg.domain, bridge.cfg.port, c ? c->errstr : "no memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);     /* the connect timeout does not cover reads */
    r = redisCommand(c, "AUTH %s %s", bridge.cfg.username, bridge.cfg.passwd);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "OSRFWS02002: bus login as %s refused: %s", bridge.cfg.username,
                     r ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/* The connection thread's context: a frozen bus must not hold the
 * connection thread, which answers the client with an error instead. */
static redisContext *sender_login(server_rec *s)
{
    redisContext *c = bus_login(s);
    struct timeval tv = { 3, 0 };

    if (c)
        redisSetTimeout(c, tv);
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
    return c;
}

/* RPUSH on the connection thread's context, logging in again once if the
 * bus went away. */
static int bus_push(server_rec *s, const char *key, const char *msg, size_t len)
{
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *r;

        if (bridge.send_bus == NULL && (bridge.send_bus = sender_login(s)) == NULL)
            return -1;
        r = redisCommand(bridge.send_bus, "RPUSH %s %b", key, msg, len);
        if (r != NULL && r->type != REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            return 0;
        }
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "OSRFWS02003: RPUSH to %s failed: %s", key,
                     r ? r->str : bridge.send_bus->errstr);
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
    if ((r = redisCommand(bridge.send_bus, "DEL %s", key)) != NULL)
        freeReplyObject(r);
}

/* --- the listener thread --------------------------------------------------- */

/* 1001 tells opensrf.js to reconnect (to a new child). */
static void close_going_away(const WebSocketServer *server)
{
    if (WS_SERVER_HAS(server, close_with))
        server->close_with(server, 1001, "server shutting down");
    else
        server->close(server);
}

/* Sends a frame to the current connection if it is still generation gen.
 * Called with the lock held; releases it around send (which may block). */
static void deliver(unsigned long gen, const char *data, size_t len)
{
    const WebSocketServer *server = bridge.server;

    if (server == NULL || bridge.generation != gen)
        return;
    bridge.sending = 1;
    apr_thread_mutex_unlock(bridge.lock);
    server->send(server, MESSAGE_TYPE_TEXT, (const unsigned char *)data, len);
    apr_thread_mutex_lock(bridge.lock);
    bridge.sending = 0;
    apr_thread_cond_broadcast(bridge.wake);
}

static void handle_reply(unsigned long gen, const char *raw, size_t len,
                         osrf_buf *frame, server_rec *s)
{
    osrf_outbound out;

    if (osrf_bus_to_client(raw, len, &out, frame) != OSRF_OK) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                     "OSRFWS02004: dropping an unreadable bus message");
        return;
    }
    apr_thread_mutex_lock(bridge.lock);
    if (bridge.generation == gen) {
        if (out.connected && strncmp(out.from, "opensrf:client:", 15) == 0
            && osrf_sessions_add(&bridge.sessions, out.thread, out.from) < 0)
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                         "OSRFWS02005: session cache full, thread %s not cached",
                         out.thread);
        if (out.timed_out)
            osrf_sessions_remove(&bridge.sessions, out.thread);
        pending_done(out.thread, out.completed);
        bridge.last_activity = apr_time_now();
        deliver(gen, frame->data, frame->len);
        if (bridge.stopping && bridge.in_flight == 0 && bridge.server
            && bridge.generation == gen)
            close_going_away(bridge.server);
    }
    apr_thread_mutex_unlock(bridge.lock);
}

/* Idle and shutdown decisions, on every BLPOP timeout.  Lock held. */
static void check_idle(unsigned long gen)
{
    apr_time_t now = apr_time_now();
    const WebSocketServer *server = bridge.server;
    int waited_out;

    if (server == NULL || bridge.generation != gen)
        return;
    waited_out = bridge.in_flight == 0
                 || now - bridge.last_request
                    > apr_time_from_sec(bridge.set.max_request_wait);
    if (bridge.stopping && waited_out) {
        close_going_away(server);
    } else if (waited_out
               && now - bridge.last_activity > apr_time_from_sec(bridge.set.idle_timeout)) {
        server->close(server);
    }
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

/* DELs the address a finished connection listened on; the address is
 * cleared once that is done, so a bus outage only delays it. */
static int forget_address(server_rec *s, char *listening)
{
    redisReply *r;

    if (bridge.recv_bus == NULL && (bridge.recv_bus = listener_login(s)) == NULL)
        return -1;
    r = redisCommand(bridge.recv_bus, "DEL %s", listening);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        listener_bus_failed(r);
        return -1;
    }
    freeReplyObject(r);
    listening[0] = '\0';
    return 0;
}

/* Reads and drops the replies still due to a finished connection, until
 * its requests end, the max request wait passes, or a new connection
 * starts (whose address the listener must watch instead). */
static void drain_orphans(server_rec *s, const char *address, osrf_buf *frame)
{
    apr_time_t deadline = apr_time_now()
                          + apr_time_from_sec(bridge.set.max_request_wait);

    for (;;) {
        osrf_outbound out;
        redisReply *r;
        int more;

        apr_thread_mutex_lock(bridge.lock);
        more = bridge.orphans > 0 && bridge.server == NULL;
        apr_thread_mutex_unlock(bridge.lock);
        if (!more || apr_time_now() > deadline)
            break;
        if (bridge.recv_bus == NULL && (bridge.recv_bus = listener_login(s)) == NULL)
            break;
        r = redisCommand(bridge.recv_bus, "BLPOP %s 1", address);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            listener_bus_failed(r);
            break;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2
            && osrf_bus_to_client(r->element[1]->str, r->element[1]->len,
                                  &out, frame) == OSRF_OK) {
            apr_thread_mutex_lock(bridge.lock);
            bridge.orphans -= out.completed;
            apr_thread_mutex_unlock(bridge.lock);
        }
        osrf_buf_reset(frame);
        freeReplyObject(r);
    }
    apr_thread_mutex_lock(bridge.lock);
    bridge.orphans = 0;
    apr_thread_mutex_unlock(bridge.lock);
}

/* The bus connection was lost: replies in flight may be lost with it, so
 * each thread waiting for one gets a STATUS error now rather than never. */
static void fail_pending(unsigned long gen, osrf_buf *frame)
{
    pending_thread lost[MAX_IN_FLIGHT];
    int i, n;

    apr_thread_mutex_lock(bridge.lock);
    n = bridge.generation == gen ? bridge.npending : 0;
    memcpy(lost, bridge.pending, (size_t)n * sizeof(lost[0]));
    if (bridge.generation == gen) {
        bridge.npending = 0;
        bridge.in_flight = 0;
    }
    for (i = 0; i < n; i++) {
        if (osrf_status_frame(frame, lost[i].thread, lost[i].trace, 503,
                              "the OpenSRF bus connection was lost") == 0)
            deliver(gen, frame->data, frame->len);
    }
    apr_thread_mutex_unlock(bridge.lock);
    osrf_buf_reset(frame);
}

static void *APR_THREAD_FUNC listen_bus(apr_thread_t *thread, void *data)
{
    server_rec *s = data;
    osrf_buf frame = { 0 };
    char listening[OSRF_MAX_ADDRESS + 1] = "";
    int backoff = 1;

    for (;;) {
        char address[OSRF_MAX_ADDRESS + 1];
        unsigned long gen;
        redisReply *r;

        apr_thread_mutex_lock(bridge.lock);
        while (bridge.server == NULL) {
            if (listening[0]) {          /* the last connection's address */
                apr_thread_mutex_unlock(bridge.lock);
                drain_orphans(s, listening, &frame);
                if (forget_address(s, listening) < 0)
                    apr_sleep(apr_time_from_sec(1));
                apr_thread_mutex_lock(bridge.lock);
                continue;
            }
            apr_thread_cond_wait(bridge.wake, bridge.lock);
        }
        gen = bridge.generation;
        strcpy(address, bridge.address);
        apr_thread_mutex_unlock(bridge.lock);
        if (listening[0] && strcmp(listening, address) != 0)
            forget_address(s, listening);

        if (bridge.recv_bus == NULL && (bridge.recv_bus = listener_login(s)) == NULL) {
            fail_pending(gen, &frame);
            apr_sleep(apr_time_from_sec(backoff));
            backoff = backoff < 8 ? backoff * 2 : 8;
            continue;
        }
        backoff = 1;
        strcpy(listening, address);
        r = redisCommand(bridge.recv_bus, "BLPOP %s %d", address,
                         bridge.set.idle_check_interval);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "OSRFWS02006: BLPOP failed: %s",
                         r ? r->str : bridge.recv_bus->errstr);
            listener_bus_failed(r);
            fail_pending(gen, &frame);
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            const char *raw = r->element[1]->str;
            size_t len = r->element[1]->len;

            if (len != sizeof(WAKE_TOKEN) - 1 || memcmp(raw, WAKE_TOKEN, len) != 0)
                handle_reply(gen, raw, len, &frame, s);
            osrf_buf_reset(&frame);
        } else {
            apr_thread_mutex_lock(bridge.lock);
            check_idle(gen);
            apr_thread_mutex_unlock(bridge.lock);
        }
        freeReplyObject(r);
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

static void *CALLBACK bridge_on_connect(const WebSocketServer *server)
{
    request_rec *r = server->request(server);
    const char *why = load_config(r->pool);
    char host[64];

    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "OSRFWS02007: %s", why);
        return NULL;
    }
    if (start_listener(r->server) < 0
        || (bridge.send_bus == NULL
            && (bridge.send_bus = sender_login(r->server)) == NULL))
        return NULL;

    gethostname(host, sizeof(host));
    host[sizeof(host) - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p == ':')
            *p = '_';
    apr_thread_mutex_lock(bridge.lock);
    snprintf(bridge.address, sizeof(bridge.address), "opensrf:client:%s:%s:%s:%ld:%08lx",
             bridge.cfg.username, bridge.cfg.domain, host, (long)getpid(),
             (unsigned long)random());
    bridge.server = server;
    bridge.generation++;
    bridge.sessions.count = 0;
    bridge.npending = 0;
    bridge.in_flight = 0;
    bridge.stopping = 0;
    bridge.last_activity = bridge.last_request = apr_time_now();
    apr_thread_cond_broadcast(bridge.wake);
    apr_thread_mutex_unlock(bridge.lock);
    return &bridge;
}

static void send_status(const WebSocketServer *server, const osrf_inbound *in,
                        int code, const char *text)
{
    if (osrf_status_frame(&bridge.reply, in->thread, in->trace, code, text) == 0)
        server->send(server, MESSAGE_TYPE_TEXT,
                     (const unsigned char *)bridge.reply.data, bridge.reply.len);
    osrf_buf_reset(&bridge.reply);
}

static int trusted_proxy(const char *ip)
{
    apr_array_header_t *a = bridge.set.trusted_proxies;
    int i;

    for (i = 0; a && i < a->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(a, i, const char *), ip) == 0)
            return 1;
    return 0;
}

/* The client's address: behind a trusted proxy, the last hop of
 * X-Forwarded-For that is not itself a trusted proxy. */
static const char *client_ip(request_rec *r)
{
    const char *ip = r->useragent_ip, *xff;
    char *list, *hop, *state;

    if (!trusted_proxy(ip)
        || (xff = apr_table_get(r->headers_in, "X-Forwarded-For")) == NULL)
        return ip;
    list = apr_pstrdup(r->pool, xff);
    for (hop = apr_strtok(list, ", ", &state); hop; hop = apr_strtok(NULL, ", ", &state))
        if (!trusted_proxy(hop) && strspn(hop, "0123456789abcdefABCDEF.:") == strlen(hop))
            ip = hop;
    return ip;
}

/* One activity-log line per REQUEST (the core ends each with \n). */
static void log_activity(request_rec *r)
{
    char *line = bridge.activity.data, *nl;

    while (line && (nl = strchr(line, '\n')) != NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "OSRFWS02010: %.*s",
                      (int)(nl - line), line);
        line = nl + 1;
    }
    osrf_buf_reset(&bridge.activity);
}

static size_t CALLBACK bridge_on_message(void *priv, const WebSocketServer *server,
                                         const int type, unsigned char *buffer,
                                         const size_t size)
{
    request_rec *r = server->request(server);
    osrf_identity id = { bridge.address, bridge.router_key,
                         (const char *const *)bridge.cfg.log_protect,
                         client_ip(r) };
    osrf_inbound in;
    osrf_status st;
    int busy, full;

    (void)priv;
    if (type != MESSAGE_TYPE_TEXT) {
        server->close_with(server, 1003, "OpenSRF messages are text");
        return 0;
    }
    apr_thread_mutex_lock(bridge.lock);
    st = osrf_client_to_bus(&id, &bridge.sessions, (const char *)buffer, size,
                            &in, &bridge.bus_msg, &bridge.activity);
    busy = bridge.in_flight + in.requests > bridge.set.max_in_flight;
    full = st == OSRF_OK && in.connect
           && osrf_sessions_find(&bridge.sessions, in.thread) == NULL
           && bridge.sessions.count >= bridge.sessions.max;
    apr_thread_mutex_unlock(bridge.lock);

    if (st == OSRF_ERR_JSON || (st != OSRF_OK && in.thread[0] == '\0')) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "OSRFWS02008: %s", in.error);
        server->close_with(server, st == OSRF_ERR_JSON ? 1007 : 1008, in.error);
        return 0;
    }
    if (st != OSRF_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "OSRFWS02009: thread %s: %s",
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
    log_activity(r);

    if (bus_push(r->server, in.recipient, bridge.bus_msg.data, bridge.bus_msg.len) < 0) {
        send_status(server, &in, 503, "the OpenSRF bus is unavailable");
        osrf_buf_reset(&bridge.bus_msg);
        return 0;
    }
    osrf_buf_reset(&bridge.bus_msg);

    apr_thread_mutex_lock(bridge.lock);
    if (in.requests)
        pending_add(in.thread, in.trace, in.requests);
    bridge.last_activity = apr_time_now();
    if (in.requests)
        bridge.last_request = bridge.last_activity;
    if (in.disconnect)
        osrf_sessions_remove(&bridge.sessions, in.thread);
    apr_thread_mutex_unlock(bridge.lock);
    return size;
}

static void CALLBACK bridge_on_disconnect(void *priv, const WebSocketServer *server)
{
    char address[OSRF_MAX_ADDRESS + 1];

    (void)priv;
    apr_thread_mutex_lock(bridge.lock);
    bridge.server = NULL;
    bridge.generation++;
    bridge.orphans = bridge.in_flight;
    while (bridge.sending)
        apr_thread_cond_wait(bridge.wake, bridge.lock);
    strcpy(address, bridge.address);
    apr_thread_mutex_unlock(bridge.lock);
    /* the listener wakes from its BLPOP, sees no connection, DELs the key */
    if (bus_push(server->request(server)->server, address, WAKE_TOKEN,
                 sizeof(WAKE_TOKEN) - 1) < 0)
        bus_del(server->request(server)->server, address);
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
    WEBSOCKET_PLUGIN_VERSION_OSRF,
    NULL,
    bridge_on_connect,
    bridge_on_message,
    bridge_on_disconnect,
    bridge_on_shutdown
};

extern EXPORT WebSocketPlugin *CALLBACK osrf_websocket_init(void);

EXPORT WebSocketPlugin *CALLBACK osrf_websocket_init(void)
{
    return &bridge_plugin;
}

/* --- as an Apache module: the config is checked when Apache starts ------- */

static int bridge_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    const char *why;

    (void)plog;
    (void)ptemp;
    bridge.loaded = 0;
    osrf_config_free(&bridge.cfg);
    if ((why = load_config(pconf)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "OSRFWS02011: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
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
    char *end;
    long v = strtol(arg, &end, 10);

    (void)dconf;
    if (*end != '\0' || v < 1 || v > limit)
        return apr_psprintf(cmd->pool, "%s: %s is not a number from 1 to %d",
                            cmd->cmd->name, arg, limit);
    *field = (int)v;
    return NULL;
}

static const char *add_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    (void)dconf;
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

static void bridge_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(bridge_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(bridge_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(osrf_ws_bridge) = {
    STANDARD20_MODULE_STUFF,
    NULL, NULL, NULL, NULL,
    bridge_commands,
    bridge_register_hooks,
    AP_MODULE_FLAG_NONE
};
