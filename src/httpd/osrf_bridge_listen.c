/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_listen.c - the bridge's listener thread: one blocking pop
 * over the addresses the policy names (osrf_flight.h), each reply handed
 * to the current connection, and the policy's time-driven actions
 * (STATUS 408, STATUS 503 on a lost bus, idle closes, DELs) carried out.
 * Threads and locks: the top of osrf_ws_bridge.c.
 */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http_core.h"
#include "ap_mpm.h"

#include "apr_atomic.h"

#include "osrf_ws_bridge.h"
#include "ws_codec.h"

#define LISTENER_STACK     (256 * 1024)
/* in_server's flag: the child is exiting (the rest counts calls) */
#define EXITING            0x80000000u
/* How long the child's exit waits for the listener's call into the
 * connection to return: under the 3 s after which the parent sends its
 * SIGTERM again (and logs it) */
#define EXIT_WAIT          apr_time_from_msec(2000)

/* Starts the closing handshake with a code, as mod_websocket's interface
 * has it: a close message whose payload is the code and reason.  Any
 * thread. */
void bridge_close_with(const WebSocketServer *server, unsigned code, const char *reason)
{
    unsigned char payload[WS_MAX_CONTROL_PAYLOAD];

    server->send(server, MESSAGE_TYPE_CLOSE, payload,
                 ws_close_payload(payload, code, reason));
}

/* 1001 tells opensrf.js to reconnect (to a new child). */
void bridge_close_going_away(const WebSocketServer *server)
{
    bridge_close_with(server, 1001, "server shutting down");
}

/* Whether a reply of len bytes may wait for the client.  The listener
 * never waits on a client that does not read: it must keep popping, or
 * the replies would pile up in Redis instead (where the gateway's account
 * cannot even measure them).  So the replies a connection holds are
 * bounded in the child, by WebSocketMaxQueuedBytes, and a client past
 * it is closed; its address ends as any other (drained, then deleted). */
static int reply_fits(osrf_ws_bridge *b, const WebSocketServer *server, size_t len,
                      server_rec *s)
{
    size_t room;

    if (b->room == NULL || len <= (room = b->room(server)))
        return 1;
    BLOG(b, s, OSRF_LOG_WARNING, NULL, "OSRFWS02032: client %s reads too slowly: a reply "
         "of %zu bytes finds room for %zu (WebSocketMaxQueuedBytes); closing with 1008",
         b->peer, len, room);
    bridge_close_with(server, 1008, "replies waiting past the bound");
    return 0;
}

/* The listener's way into the current connection (lock held): NULL when
 * there is none, or once the child is exiting, whose pools are about to
 * take the connection's memory.  Each other answer is matched by one
 * leave_server(), as soon as the call into the connection returns. */
static const WebSocketServer *enter_server(osrf_ws_bridge *b)
{
    if (b->server == NULL)
        return NULL;
    if (apr_atomic_inc32(&b->in_server) & EXITING) {
        apr_atomic_dec32(&b->in_server);
        return NULL;
    }
    return b->server;
}

static void leave_server(osrf_ws_bridge *b)
{
    apr_atomic_dec32(&b->in_server);
}

/* Sends a frame to the current connection if it is still generation gen.
 * Called with the lock held; releases it around send. */
static void deliver(osrf_ws_bridge *b, unsigned long gen, const ws_buffer *frame,
                    server_rec *s)
{
    const WebSocketServer *server;
    int fits;

    if (b->generation != gen || b->flight.overflowed || (server = enter_server(b)) == NULL)
        return;
    b->sending = 1;
    apr_thread_mutex_unlock(b->lock);
    if ((fits = reply_fits(b, server, frame->len, s)) != 0)
        server->send(server, MESSAGE_TYPE_TEXT, (const unsigned char *)frame->data,
                     frame->len);
    leave_server(b);    /* before the lock: the exit waits without it */
    apr_thread_mutex_lock(b->lock);
    b->flight.overflowed = !fits;
    b->sending = 0;
    apr_thread_cond_broadcast(b->wake);
}

/* Whether the child is stopping (graceful restart or stop).  The MPM
 * knows as soon as its signal is handled, whichever thread took it, so
 * the listener does not depend on the connection thread having seen it
 * (on_shutdown) before the last reply goes out. */
static int mpm_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
           && state == AP_MPMQ_STOPPING;
}

/* Carries out a close the policy decided on (lock held). */
static void close_connection(osrf_ws_bridge *b, int action)
{
    const WebSocketServer *server = enter_server(b);

    if (server == NULL)
        return;
    if (action == OSRF_FLIGHT_GO_AWAY)
        bridge_close_going_away(server);
    else if (action == OSRF_FLIGHT_CLOSE)
        server->close(server);
    leave_server(b);
}

/* A reply for the current connection, as the policy read it (lock held). */
static void reply_to_client(osrf_ws_bridge *b, const osrf_outbound *out, int acts,
                            const ws_buffer *frame, server_rec *s)
{
    if (acts & OSRF_FLIGHT_CACHE_FULL)
        BLOG(b, s, OSRF_LOG_INFO, NULL,
             "OSRFWS02005: session cache full, thread %s not cached", out->thread);
    if (out->error)
        ws_metric_add(b->metrics, ws_metric_osrf_status(out->error), 1);
    if (out->completed)
        BLOG(b, s, OSRF_LOG_DEBUG, out->xid, "OSRFWS02015: thread %s: %d request(s) ended, "
             "last error STATUS %d (0: none)", out->thread, out->completed, out->error);
    bridge_note_gauges(b);
    deliver(b, b->generation, frame, s);
    if (osrf_flight_may_go_away(&b->flight, mpm_stopping()))
        close_connection(b, OSRF_FLIGHT_GO_AWAY);
}

/* A message popped from key: a connection's WAKE_TOKEN, a reply for the
 * current connection, or one the policy counts off or drops (popping it
 * is what keeps a deleted key from lingering). */
static void handle_reply(osrf_ws_bridge *b, const osrf_bus_msg *m, ws_buffer *frame,
                         server_rec *s)
{
    osrf_outbound out;
    int acts;

    if (osrf_flight_is_token(m->data, m->len)) {
        apr_thread_mutex_lock(b->lock);
        osrf_flight_token(&b->flight, m->key);
        apr_thread_mutex_unlock(b->lock);
        return;
    }
    if (osrf_bus_to_client(m->data, m->len, &out, frame) != OSRF_OK) {
        BLOG(b, s, OSRF_LOG_INFO, NULL, "OSRFWS02004: dropping an unreadable bus message");
        return;
    }
    apr_thread_mutex_lock(b->lock);
    acts = osrf_flight_popped(&b->flight, m->key, &out, apr_time_now());
    if (acts & OSRF_FLIGHT_SEND)
        reply_to_client(b, &out, acts, frame, s);
    apr_thread_mutex_unlock(b->lock);
}

/* DELs the retired addresses whose replies are all in, or that waited
 * longer than the max request wait. */
static void forget_finished(osrf_ws_bridge *b, server_rec *s)
{
    osrf_retired done[OSRF_FLIGHT_MAX_RETIRED];
    int i, n;

    apr_thread_mutex_lock(b->lock);
    n = osrf_flight_finished(&b->flight, apr_time_now(), done);
    apr_thread_mutex_unlock(b->lock);
    for (i = 0; i < n; i++) {
        if (done[i].outstanding > 0 && !done[i].discarding)
            BLOG(b, s, OSRF_LOG_INFO, NULL,
                 "OSRFWS02012: %d replies to %s never came; deleting it",
                 done[i].outstanding, done[i].address);
        b->recv_ops.del(b->recv_ops.ctx, done[i].address);
    }
}

/* Answers n threads of b->answer with a gateway STATUS (lock held:
 * deliver drops it around each send, so they are a copy, not the
 * policy's). */
static void answer_threads(osrf_ws_bridge *b, int n, int code, const char *lognum,
                           const char *text, ws_buffer *frame, server_rec *s)
{
    unsigned long gen = b->generation;
    int i;

    if (n == 0)
        return;
    bridge_note_gauges(b);
    for (i = 0; i < n; i++) {
        const osrf_pending *t = &b->answer[i];

        BLOG(b, s, OSRF_LOG_INFO, t->xid, "%s: thread %s: STATUS %d, %s",
             lognum, t->thread, code, text);
        ws_metric_add(b->metrics, code == 408 ? WS_M_GW_STATUS_408
                                              : WS_M_GW_STATUS_503, 1);
        if (osrf_status_frame(frame, t->thread, t->trace, code, text) == 0)
            deliver(b, gen, frame, s);
    }
    ws_buffer_reset(frame);
}

/* The bus connection was lost: replies in flight may be lost with it, so
 * each thread waiting for one gets a STATUS error now rather than never. */
static void fail_pending(osrf_ws_bridge *b, ws_buffer *frame, server_rec *s)
{
    apr_thread_mutex_lock(b->lock);
    answer_threads(b, osrf_flight_lost(&b->flight, b->answer), 503, "OSRFWS02014",
                   "the OpenSRF bus connection was lost", frame, s);
    apr_thread_mutex_unlock(b->lock);
}

/* A thread whose requests went unanswered past the max request wait (its
 * service or the router died) gets a STATUS 408 instead of silence. */
static void expire_pending(osrf_ws_bridge *b, ws_buffer *frame, server_rec *s)
{
    apr_thread_mutex_lock(b->lock);
    answer_threads(b, osrf_flight_expire(&b->flight, apr_time_now(), b->answer), 408,
                   "OSRFWS02017", "no reply within the max request wait", frame, s);
    apr_thread_mutex_unlock(b->lock);
}

/* The keys the listener blocks on; waits while there is none worth
 * watching. */
static int watched_keys(osrf_ws_bridge *b, const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED],
                        char copy[][OSRF_MAX_ADDRESS + 1])
{
    int i, n;

    apr_thread_mutex_lock(b->lock);
    while (!osrf_flight_has_keys(&b->flight))
        apr_thread_cond_wait(b->wake, b->lock);
    n = osrf_flight_keys(&b->flight, keys);
    for (i = 0; i < n; i++)     /* the policy's may change meanwhile */
        keys[i] = strcpy(copy[i], keys[i]);
    apr_thread_mutex_unlock(b->lock);
    return n;
}

/* Back from a pop (or from not sending one): the keys it named are free
 * to go (bridge_disconnect waits for this). */
static void listener_back(osrf_ws_bridge *b)
{
    apr_thread_mutex_lock(b->lock);
    b->flight.watching = 0;
    apr_thread_cond_broadcast(b->wake);
    apr_thread_mutex_unlock(b->lock);
}

/* Nothing came for a whole pop: the idle and shutdown decisions, then the
 * free heap pages the last messages' JSON left go back to the kernel, so
 * an idle connection's child stays small. */
static void quiet_turn(osrf_ws_bridge *b)
{
    int action;

    apr_thread_mutex_lock(b->lock);
    action = osrf_flight_idle(&b->flight, apr_time_now(), mpm_stopping());
    if (action)
        close_connection(b, action);
    apr_thread_mutex_unlock(b->lock);
    malloc_trim(0);
}

/* Whether what came to key is garbage (osrf_flight_discarding). */
static int discarding(osrf_ws_bridge *b, const char *key)
{
    int yes;

    apr_thread_mutex_lock(b->lock);
    yes = osrf_flight_discarding(&b->flight, key);
    apr_thread_mutex_unlock(b->lock);
    return yes;
}

/* A message popped: garbage is not read, and whatever else waits at its
 * key is DELeted at once (the reply itself may have closed the
 * connection for replies past its bound). */
static void take_reply(osrf_ws_bridge *b, const osrf_bus_msg *m, ws_buffer *frame,
                       server_rec *s)
{
    if (!discarding(b, m->key))
        handle_reply(b, m, frame, s);
    if (discarding(b, m->key))
        b->recv_ops.del(b->recv_ops.ctx, m->key);
}

/* One pop and what follows it; *backoff grows while the bus is away. */
static void listen_turn(osrf_ws_bridge *b, ws_buffer *frame, int *backoff, server_rec *s)
{
    char copy[1 + OSRF_FLIGHT_MAX_RETIRED][OSRF_MAX_ADDRESS + 1];
    const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED];
    int n = watched_keys(b, keys, copy);
    osrf_bus_msg m;
    int got = b->recv_ops.pop(b->recv_ops.ctx, keys, n,
                              b->conf->set.idle_check_interval, &m);

    listener_back(b);
    if (got < 0) {
        fail_pending(b, frame, s);
        if (got == -2) {
            apr_sleep(apr_time_from_sec(*backoff));
            *backoff = *backoff < 8 ? *backoff * 2 : 8;
        }
        return;
    }
    *backoff = 1;
    if (got == 1) {
        size_t got_len = m.len;

        take_reply(b, &m, frame, s);
        ws_buffer_reset(frame);
        b->recv_ops.release(b->recv_ops.ctx, &m);
        ws_buffer_give_back(got_len);   /* the reply and its frame are freed */
    } else {
        quiet_turn(b);
    }
    expire_pending(b, frame, s);
    forget_finished(b, s);
}

static void *APR_THREAD_FUNC listen_bus(apr_thread_t *thread, void *data)
{
    osrf_ws_bridge *b = data;
    ws_buffer frame = { 0 };
    int backoff = 1;

    for (;;)
        listen_turn(b, &frame, &backoff, b->recv_bus.s);
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* Started on the first connection of a child, with signals blocked so
 * that SIGUSR1 and SIGTERM reach the connection thread. */
int bridge_start_listener(osrf_ws_bridge *b, server_rec *s)
{
    apr_threadattr_t *attr;
    sigset_t all, old;
    apr_status_t rv;

    if (b->listener)
        return 0;
    if (apr_pool_create(&b->pool, NULL) != APR_SUCCESS
        || apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT,
                                   b->pool) != APR_SUCCESS
        || apr_thread_cond_create(&b->wake, b->pool) != APR_SUCCESS
        || apr_threadattr_create(&attr, b->pool) != APR_SUCCESS)
        return -1;
    apr_threadattr_stacksize_set(attr, LISTENER_STACK);
    /* One malloc arena: glibc would give the listener its own, whose
     * first 132 KB heap costs an idle connection about 63 KB of PSS
     * (bench/run, memory per idle connection); two threads barely
     * contend for one. */
    mallopt(M_ARENA_MAX, 1);
    srandom((unsigned)getpid() ^ (unsigned)apr_time_now());
    osrf_flight_init(&b->flight);
    b->recv_bus.s = s;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rv = apr_thread_create(&b->listener, attr, listen_bus, b, b->pool);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rv == APR_SUCCESS ? 0 : -1;
}

/* The child is exiting (the order: the top of osrf_ws_bridge.c): from
 * now on the listener calls into no connection, and the call it may be
 * making returns before the pools go.  In prefork this runs in the SIGTERM
 * handler, on the connection thread, which may hold any lock: it takes
 * none.  b->server is read without the lock: only this thread writes
 * it. */
apr_status_t bridge_stop_listener_calls(void *data)
{
    osrf_ws_bridge *b = data;
    apr_time_t until = apr_time_now() + EXIT_WAIT;

    if (apr_atomic_add32(&b->in_server, EXITING) == 0)
        return APR_SUCCESS;
    if (b->server)
        apr_socket_shutdown(ap_get_conn_socket(b->server->request(b->server)->connection),
                            APR_SHUTDOWN_READWRITE);
    while (apr_atomic_read32(&b->in_server) != EXITING && apr_time_now() < until)
        apr_sleep(apr_time_from_msec(1));
    return APR_SUCCESS;
}
