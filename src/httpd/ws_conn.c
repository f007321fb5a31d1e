/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_conn.c - a connection's outbox, its locks and write paths, and the
 * connection thread's loop (see ws_conn.h; what the loop reads is
 * handled in ws_conn_read.c, its timers decided in ws_session.c).
 *
 * Whoever sends a frame also writes it, so a bus reply goes from the
 * plugin's thread straight to the socket without waking the connection
 * thread; but only a small outbox into a socket with room
 * (direct_write_ok), so that only the connection thread ever waits on a
 * client that does not read, up to the send timeout.
 */
#include <malloc.h>

#include "httpd.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"
#include "http_ssl.h"
#include "ap_mpm.h"

#include "apr_atomic.h"
#include "apr_strings.h"

#include "ws_conn.h"

#define WS_STATE_CHECK    apr_time_from_sec(1)
/* The most another thread writes itself, into a socket with room: a
 * common OpenSRF reply is about 1 kB; larger ones go to the connection
 * thread, so that a client that stops reading holds up that thread alone. */
#define WS_DIRECT_WRITE   16384

static apr_status_t free_state_buffers(void *data)
{
    WebSocketState *st = data;

    ws_buffer_free(&st->outbox);
    ws_buffer_free(&st->writing);
    ws_buffer_free(&st->deflated);
    ws_buffer_free(&st->inflated);
    ws_pmd_free(st->pmd);
    ws_reader_free(st->reader);
    return APR_SUCCESS;
}

int ws_conn_open(WebSocketState *st)
{
    apr_pool_t *p = st->r->pool;
    ws_session_config scfg;

    scfg.ping_interval = st->set.ping_interval;
    scfg.close_timeout = st->set.close_timeout;
    scfg.frame_timeout = st->set.frame_timeout;
    ws_session_init(&st->session, &scfg, apr_time_now());
    st->owner = apr_os_thread_current();
    st->tls = ap_ssl_conn_is_ssl(st->c);
    apr_pool_cleanup_register(p, st, free_state_buffers, apr_pool_cleanup_null);
    st->reader = ws_conn_reader_new(st);
    if (st->reader == NULL
        || apr_thread_mutex_create(&st->io, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS
        || apr_thread_mutex_create(&st->deflate_lock, APR_THREAD_MUTEX_DEFAULT,
                                   p) != APR_SUCCESS
        || apr_thread_cond_create(&st->drained, p) != APR_SUCCESS
        || apr_pollset_create(&st->pollset, 1, p, APR_POLLSET_WAKEABLE) != APR_SUCCESS)
        return -1;
    st->bb_in = apr_brigade_create(p, st->c->bucket_alloc);
    st->bb_out = apr_brigade_create(p, st->c->bucket_alloc);
    return 0;
}

int ws_conn_is_closing(WebSocketState *st)
{
    int closing;

    apr_thread_mutex_lock(st->lock);
    closing = st->closing;
    apr_thread_mutex_unlock(st->lock);
    return closing;
}

static int on_connection_thread(const WebSocketState *st)
{
    return apr_os_thread_equal(apr_os_thread_current(), st->owner);
}

/* Appends one frame to the outbox; the caller holds the lock.  rsv is
 * WS_RSV1 for a compressed message. */
static int queue_frame(WebSocketState *st, unsigned opcode, unsigned rsv,
                       const unsigned char *p, apr_size_t n)
{
    unsigned char head[WS_MAX_HEADER_SIZE];
    apr_size_t hn = ws_frame_header(head, WS_FIN | rsv, opcode, n, NULL);

    if (ws_buffer_append(&st->outbox, head, hn) < 0
        || ws_buffer_append(&st->outbox, p, n) < 0)
        return -1;
    return 0;
}

void ws_conn_queue_pong(WebSocketState *st, const unsigned char *p, apr_size_t n)
{
    apr_thread_mutex_lock(st->lock);
    if (!st->closing)
        queue_frame(st, WS_OP_PONG, 0, p, n);
    apr_thread_mutex_unlock(st->lock);
}

static apr_status_t write_out(WebSocketState *st, const char *p, apr_size_t n)
{
    conn_rec *c = st->c;
    apr_status_t rv;

    APR_BRIGADE_INSERT_TAIL(st->bb_out,
                            apr_bucket_transient_create(p, n, c->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(st->bb_out, apr_bucket_flush_create(c->bucket_alloc));
    rv = ap_pass_brigade(c->output_filters, st->bb_out);
    apr_brigade_cleanup(st->bb_out);
    return rv;
}

/* Writes everything queued so far; the caller holds io.  The outbox is
 * swapped with the write buffer under lock and written outside it, so
 * senders go on queueing meanwhile. */
static void write_outbox(WebSocketState *st)
{
    ws_buffer swap;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t written;
    int over;

    apr_thread_mutex_lock(st->lock);
    swap = st->outbox;
    st->outbox = st->writing;
    st->writing = swap;
    st->in_write = st->writing.len;
    over = st->closed || st->broken;
    apr_thread_cond_broadcast(st->drained);
    apr_thread_mutex_unlock(st->lock);

    if (st->writing.len > 0 && !over) {
        rv = write_out(st, (const char *)st->writing.data, st->writing.len);
        ws_metric_add(st->metrics, WS_M_BYTES_OUT, (int64_t)st->writing.len);
    }
    written = st->writing.len;
    ws_buffer_reset(&st->writing);
    ws_buffer_give_back(written);
    apr_thread_mutex_lock(st->lock);
    st->in_write = 0;
    if (rv != APR_SUCCESS)
        st->broken = rv;
    apr_thread_mutex_unlock(st->lock);
    if (rv != APR_SUCCESS && !on_connection_thread(st))
        apr_pollset_wakeup(st->pollset);
}

/* Whether a thread other than the connection's may write the outbox
 * itself (io held): a small one, into a socket with room now.  Else the
 * connection thread writes it, and only that thread waits (up to the send
 * timeout) for a client that does not read: a plugin's thread (the
 * bridge's bus listener) goes on with its work. */
static int direct_write_ok(WebSocketState *st)
{
    apr_pollfd_t pfd = { 0 };
    apr_int32_t n;
    apr_size_t queued;

    apr_thread_mutex_lock(st->lock);
    queued = st->outbox.len;
    apr_thread_mutex_unlock(st->lock);
    if (queued > WS_DIRECT_WRITE)
        return 0;
    pfd.p = st->r->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLOUT;
    pfd.desc.s = ap_get_conn_socket(st->c);
    return apr_poll(&pfd, 1, &n, 0) == APR_SUCCESS && n == 1
           && (pfd.rtnevents & APR_POLLOUT);
}

void ws_conn_flush(WebSocketState *st)
{
    int more = 1, own = on_connection_thread(st);

    while (more && (own || !apr_atomic_read32(&st->reading))
           && apr_thread_mutex_trylock(st->io) == APR_SUCCESS) {
        if (!own && !direct_write_ok(st)) {
            apr_thread_mutex_unlock(st->io);
            apr_pollset_wakeup(st->pollset);
            return;
        }
        write_outbox(st);
        apr_thread_mutex_unlock(st->io);
        apr_thread_mutex_lock(st->lock);
        more = st->outbox.len > 0 && !st->closed && !st->broken;
        apr_thread_mutex_unlock(st->lock);
    }
}

void ws_conn_lock_io(WebSocketState *st)
{
    apr_atomic_set32(&st->reading, 1);
    apr_thread_mutex_lock(st->io);
}

void ws_conn_unlock_io(WebSocketState *st)
{
    apr_thread_mutex_unlock(st->io);
    apr_atomic_set32(&st->reading, 0);
}

void ws_conn_close(WebSocketState *st, unsigned code, const char *reason)
{
    apr_thread_mutex_lock(st->lock);
    if (!st->closing && !st->closed) {
        ws_metric_add(st->metrics, ws_metric_close(code), 1);
        st->closing = 1;
        st->close_code = code;
        apr_cpystrn(st->close_reason, reason ? reason : "",
                    sizeof(st->close_reason));
    }
    apr_thread_mutex_unlock(st->lock);
    if (!on_connection_thread(st))
        apr_pollset_wakeup(st->pollset);
}

/* Queues our close frame (close_code, close_reason) after everything
 * already queued; the caller holds the lock. */
static void queue_close_frame(WebSocketState *st)
{
    unsigned char payload[WS_MAX_CONTROL_PAYLOAD];
    apr_size_t n = ws_close_payload(payload, st->close_code, st->close_reason);

    st->closing = 1;
    queue_frame(st, WS_OP_CLOSE, 0, payload, n);
}

/* Queues the frames of what the session decided; the caller holds the
 * lock.  reason goes with a close we start for a protocol error or a
 * timer; a close asked for or answered keeps what it was asked with. */
static void queue_action(WebSocketState *st, ws_session_action a, const char *reason)
{
    switch (a.what) {
    case WS_SESSION_PING:
        queue_frame(st, WS_OP_PING, 0, (const unsigned char *)"osrf", 4);
        break;
    case WS_SESSION_CLOSE:
        queue_close_frame(st);
        break;
    case WS_SESSION_CLOSE_DROP:
        st->close_code = a.code;
        apr_cpystrn(st->close_reason, reason, sizeof(st->close_reason));
        queue_close_frame(st);
        break;
    case WS_SESSION_ANSWER:
        if (!st->closing)
            st->close_reason[0] = '\0';
        st->close_code = a.code;
        queue_close_frame(st);
        break;
    default:
        break;
    }
}

static int drops(ws_session_action a)
{
    return a.what == WS_SESSION_CLOSE_DROP || a.what == WS_SESSION_ANSWER
           || a.what == WS_SESSION_DROP;
}

void ws_conn_act(WebSocketState *st, ws_session_action a, const char *reason)
{
    if (a.what == WS_SESSION_NONE)
        return;
    /* closes the gateway starts are counted; an asked one when asked */
    if (a.code && (a.what == WS_SESSION_CLOSE_DROP || a.what == WS_SESSION_DROP))
        ws_metric_add(st->metrics, ws_metric_close(a.code), 1);
    apr_thread_mutex_lock(st->lock);
    queue_action(st, a, reason);
    apr_thread_mutex_unlock(st->lock);
    st->done = st->done || drops(a);
}

/* Decided under the lock: a close asked for meanwhile by another thread
 * is the one that answers, with its code and reason. */
void ws_conn_peer_closed(WebSocketState *st, unsigned code)
{
    ws_session_action a;

    apr_thread_mutex_lock(st->lock);
    a = ws_session_peer_close(&st->session, code, st->closing ? st->close_code : 0);
    queue_action(st, a, "");
    apr_thread_mutex_unlock(st->lock);
    st->done = 1;           /* both closes exchanged: the server drops TCP */
}

/* 1 if the frame was queued; *over says the outbox passed its bound. */
static int queue_unless_closing(WebSocketState *st, unsigned opcode, unsigned rsv,
                                const unsigned char *p, apr_size_t n, int *over)
{
    int queued;

    apr_thread_mutex_lock(st->lock);
    queued = !st->closing && !st->closed && queue_frame(st, opcode, rsv, p, n) == 0;
    *over = st->outbox.len > st->set.max_queued;
    apr_thread_mutex_unlock(st->lock);
    return queued;
}

/* Back-pressure: another thread waits while the outbox is over its
 * bound; the connection thread never waits (it is the one that drains). */
static void wait_for_room(WebSocketState *st)
{
    apr_thread_mutex_lock(st->lock);
    while (!st->closing && !st->closed && st->outbox.len > st->set.max_queued)
        apr_thread_cond_wait(st->drained, st->lock);
    apr_thread_mutex_unlock(st->lock);
}

/* Compressed under deflate_lock by the sending thread, so a bus
 * listener's large reply is compressed outside the connection thread. */
static int queue_deflated(WebSocketState *st, unsigned opcode,
                          const unsigned char *p, size_t n, int *over)
{
    int queued;

    apr_thread_mutex_lock(st->deflate_lock);
    queued = ws_pmd_deflate(st->pmd, p, n, &st->deflated) == WS_OK
             && queue_unless_closing(st, opcode, WS_RSV1,
                                     (const unsigned char *)st->deflated.data,
                                     st->deflated.len, over);
    ws_buffer_reset(&st->deflated);
    apr_thread_mutex_unlock(st->deflate_lock);
    return queued;
}

size_t ws_conn_send(WebSocketState *st, unsigned opcode, const unsigned char *p,
                    size_t n)
{
    int own = on_connection_thread(st), over = 0, queued, deflate;

    if ((opcode & 0x8) && n > WS_MAX_CONTROL_PAYLOAD)
        return 0;
    if (!own)
        wait_for_room(st);
    deflate = st->pmd && !(opcode & 0x8) && n >= st->set.compression_min_size;
    queued = deflate ? queue_deflated(st, opcode, p, n, &over)
                     : queue_unless_closing(st, opcode, 0, p, n, &over);
    if (!queued)
        return 0;
    if (!(opcode & 0x8))
        ws_metric_add(st->metrics, WS_M_MESSAGES_OUT, 1);
    /* on the connection thread, replies to what it is reading go out
     * together once it has read it all */
    if (!own || over)
        ws_conn_flush(st);
    ws_buffer_give_back(deflate ? n : 0);   /* the deflate buffer's */
    return n;
}

apr_size_t ws_conn_room(WebSocketState *st)
{
    apr_size_t held;

    apr_thread_mutex_lock(st->lock);
    held = st->outbox.len + st->in_write;
    apr_thread_mutex_unlock(st->lock);
    return held < st->set.max_queued ? st->set.max_queued - held : 0;
}

static void check_stopping(WebSocketState *st)
{
    int state = AP_MPMQ_RUNNING;

    if (st->shutdown_seen || ap_mpm_query(AP_MPMQ_MPM_STATE, &state) != APR_SUCCESS
        || state != AP_MPMQ_STOPPING)
        return;
    st->shutdown_seen = 1;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, st->r,
                  "OSRFWS01005: child stopping, ending the connection");
    if (st->on_shutdown)
        st->on_shutdown(st->plugin_private, &st->server);
    else
        ws_conn_close(st, WS_CLOSE_GOING_AWAY, "server shutting down");
}

/* The session's timers (ping, pong, frame and close timeouts). */
static void check_timers(WebSocketState *st, apr_time_t now)
{
    ws_session_action a = ws_session_tick(&st->session, now);

    if (a.why == WS_WHY_FRAME_TIMEOUT)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                      "OSRFWS01015: a frame not completed within %" APR_TIME_T_FMT
                      " s, closing with 1008", apr_time_sec(st->set.frame_timeout));
    else if (a.why == WS_WHY_CLOSE_TIMEOUT)
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, st->r,
                      "OSRFWS01006: no close frame from the client in time");
    else if (a.why == WS_WHY_PONG_TIMEOUT) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                      "OSRFWS01007: client did not answer a ping, dropping it");
        ws_metric_add(st->metrics, WS_M_PING_TIMEOUTS, 1);
    }
    /* the frame timeout is the only close a timer starts */
    ws_conn_act(st, a, "frame not completed in time");
}

/* Until the next timer, and at most WS_STATE_CHECK (check_stopping). */
static apr_interval_time_t next_timeout(const WebSocketState *st, apr_time_t now)
{
    apr_time_t due = ws_session_due(&st->session);

    if (due > now + WS_STATE_CHECK)
        due = now + WS_STATE_CHECK;
    return due > now ? due - now : 0;
}

/* A write that failed, or that made no progress for the send timeout
 * (the client stopped reading): no close frame can get past the unread
 * bytes, so the connection is dropped. */
static void write_failed(WebSocketState *st, apr_status_t rv)
{
    int timed_out = APR_STATUS_IS_TIMEUP(rv);

    if (!timed_out)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, st->r,
                      "OSRFWS01001: write to client failed, dropping connection");
    else
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                      "OSRFWS01031: the client read nothing for %" APR_TIME_T_FMT
                      " s (WebSocketSendTimeout) with frames waiting; dropping it (1008)",
                      apr_time_sec(st->set.send_timeout));
    ws_conn_act(st, ws_session_write_failed(&st->session, timed_out,
                                            ws_conn_is_closing(st)), NULL);
}

/* One turn's work before the poll: the stop signal, a close another
 * thread asked for, a write another thread saw fail, the outbox.  0
 * when the connection is over. */
static int before_poll(WebSocketState *st)
{
    apr_status_t broken;
    unsigned asked;

    /* every turn, not only after an interrupted poll: the stop signal
     * may come while this thread is elsewhere, and then no poll sees
     * EINTR (WS_STATE_CHECK bounds what is left of that window) */
    check_stopping(st);
    apr_thread_mutex_lock(st->lock);
    broken = st->broken;
    asked = st->closing ? st->close_code : 0;
    apr_thread_mutex_unlock(st->lock);
    if (broken) {
        write_failed(st, broken);
        return 0;
    }
    if (asked)
        ws_conn_act(st, ws_session_close(&st->session, apr_time_now(), asked), NULL);
    ws_conn_flush(st);
    return !st->done;
}

static void watch_client(WebSocketState *st, apr_socket_t *sock)
{
    apr_pollfd_t pfd = { 0 };

    pfd.p = st->r->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = sock;
    apr_pollset_add(st->pollset, &pfd);
    /* reads do not block; a blocked write gives up after this */
    if (st->set.send_timeout > 0) {
        ws_conn_lock_io(st);
        apr_socket_timeout_set(sock, st->set.send_timeout);
        ws_conn_unlock_io(st);
    }
}

void ws_conn_run(WebSocketState *st)
{
    apr_socket_t *sock = ap_get_conn_socket(st->c);

    watch_client(st, sock);
    /* frames may have come with the handshake and wait in the filters */
    ws_conn_read_available(st);
    while (!st->done && before_poll(st)) {
        const apr_pollfd_t *out;
        apr_int32_t n, i;
        apr_status_t rv;

        rv = apr_pollset_poll(st->pollset, next_timeout(st, apr_time_now()), &n, &out);
        if (rv == APR_SUCCESS) {
            for (i = 0; i < n; i++)
                if (out[i].desc.s == sock)
                    ws_conn_read_available(st);
        } else if (!APR_STATUS_IS_EINTR(rv) && !APR_STATUS_IS_TIMEUP(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, st->r,
                          "OSRFWS01008: poll failed, dropping connection");
            break;
        }
        check_timers(st, apr_time_now());
    }
    /* the last frames (our close among them) go out before closed is
     * set, so this waits for a writer rather than leave them to it */
    ws_conn_lock_io(st);
    write_outbox(st);
    ws_conn_unlock_io(st);
}

void ws_conn_end(WebSocketState *st)
{
    /* senders blocked in send give up before the plugin lets go */
    apr_thread_mutex_lock(st->lock);
    st->closed = 1;
    apr_thread_cond_broadcast(st->drained);
    apr_thread_mutex_unlock(st->lock);
    apr_thread_mutex_lock(st->io);      /* a write under way ends first */
    apr_thread_mutex_unlock(st->io);
}

void ws_conn_release(WebSocketState *st)
{
    apr_pool_cleanup_run(st->r->pool, st, free_state_buffers);
    malloc_trim(0);
}
