/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_conn.h - one WebSocket connection of mod_osrf_websocket (internal
 * to the module): its state, the outbox and the write paths, the reader
 * and the connection loop.  The handshake fills the state in
 * (mod_osrf_websocket.c), ws_conn_open makes it ready, ws_conn_run
 * drives it until it ends.
 */
#ifndef WS_CONN_H
#define WS_CONN_H

#include "httpd.h"

#include "apr_poll.h"
#include "apr_portable.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include "websocket_plugin.h"
#include "ws_buffer.h"
#include "ws_codec.h"
#include "ws_config.h"
#include "ws_deflate.h"
#include "ws_metrics.h"
#include "ws_session.h"

/*
 * Threads and locks: the one comment block on them (which thread owns
 * what, and the order between these locks and the bridge's) is at the
 * top of osrf_ws_bridge.c.  This connection's locks, outermost first:
 *
 *   io            the client connection: its filters, bucket allocator
 *                 and brigades, mod_ssl's state, the write buffer
 *                 (writing).  Only the connection thread waits for it,
 *                 holding no other lock: to read, to write, and across
 *                 on_connect and the 101.  Every other thread only tries
 *                 it, and leaves its frames to the holder if it is taken;
 *   deflate_lock  the deflate stream and its output (deflated): held by
 *                 the thread that compresses a message it sends;
 *   lock          the fields marked "under lock" below and the drained
 *                 condition.  The innermost: no other lock is taken and
 *                 no plugin callback runs while it is held.
 */
typedef struct _WebSocketState WebSocketState;

struct _WebSocketState {
    /* set on the connection thread up to the 101 (by the plugin too,
     * from on_connect), then only read */
    request_rec *r;
    conn_rec *c;
    WebSocketPlugin *plugin;
    void *plugin_private;
    WS_OnShutdown on_shutdown;      /* asked for through ws_server_on_shutdown */
    WebSocketServer server;
    ws_settings set;
    apr_array_header_t *protocols;  /* offered, of const char * */
    const char *protocol;           /* chosen */
    const char *extensions;         /* Sec-WebSocket-Extensions answered */
    ws_metrics_slot *metrics;       /* this child's counters; may be NULL;
                                       relaxed atomics, from any thread */

    /* shared with every thread, under lock */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *drained;     /* the outbox went to the writer */
    ws_buffer outbox;               /* finished frames waiting to be written */
    apr_size_t in_write;            /* bytes of the write under way */
    int closing;                    /* a close was asked for (close_code, close_reason) */
    unsigned close_code;
    char close_reason[WS_MAX_CONTROL_PAYLOAD - 1];
    int closed;                     /* the connection is over: send and close do nothing */
    apr_status_t broken;            /* the failed write's status; 0: none */
    apr_pollset_t *pollset;         /* not under lock: its wakeup is thread-safe */

    /* the client connection, under io */
    apr_thread_mutex_t *io;
    volatile apr_uint32_t reading;  /* atomic: the connection thread wants io */
    apr_bucket_brigade *bb_in;
    apr_bucket_brigade *bb_out;
    ws_buffer writing;

    /* permessage-deflate (pmd NULL when not negotiated) */
    ws_pmd *pmd;
    apr_thread_mutex_t *deflate_lock;
    ws_buffer deflated;             /* under deflate_lock */
    ws_buffer inflated;             /* the connection thread only */

    /* the connection thread only */
    apr_os_thread_t owner;
    ws_reader *reader;
    ws_session session;             /* timers and the closing handshake */
    int tls;                        /* mod_ssl may hold decrypted bytes */
    int done;                       /* leave the loop and drop TCP */
    int shutdown_seen;
    apr_size_t trim_due;            /* the largest message read since
                                       the heap was last given back */
};

/* Makes a state the handshake has filled in (r, c, plugin, set, pmd)
 * ready to run: its session, reader, locks and brigades, in r->pool; its
 * buffers are freed with the pool or by ws_conn_release.  0, or -1. */
int ws_conn_open(WebSocketState *st);

/* The connection thread's loop: reads, writes and keeps the timers until
 * the connection ends; the last frames are written before it returns. */
void ws_conn_run(WebSocketState *st);

/* After ws_conn_run: send and close do nothing from now on, and a sender
 * waiting for room or writing gives up, so on_disconnect may follow. */
void ws_conn_end(WebSocketState *st);

/* After on_disconnect: the buffers go back at once (the child may idle
 * for hours before its next connection). */
void ws_conn_release(WebSocketState *st);

/* Sends one message (or a control frame) from any thread: compressed if
 * negotiated and large enough, queued, and written now unless the
 * connection thread will.  Another thread waits while the outbox is over
 * its bound.  n, or 0 if the connection is closing or closed. */
size_t ws_conn_send(WebSocketState *st, unsigned opcode, const unsigned char *p,
                    size_t n);

/* Asks for the closing handshake with code and reason, from any thread;
 * the connection thread sends it.  Only the first asking counts. */
void ws_conn_close(WebSocketState *st, unsigned code, const char *reason);

/* Bytes that may still be queued without waiting (ws_server_room). */
apr_size_t ws_conn_room(WebSocketState *st);

/* io for the connection thread, ahead of any other thread's frames:
 * while it waits for io ("reading"), other threads leave their frames to
 * it, so a thread that sends without pause cannot keep the reader out. */
void ws_conn_lock_io(WebSocketState *st);
void ws_conn_unlock_io(WebSocketState *st);

/* --- between ws_conn.c and ws_conn_read.c (the connection thread's) --- */

/* The frame reader, with the callbacks of ws_conn_read.c. */
ws_reader *ws_conn_reader_new(WebSocketState *st);

/* Reads and handles all the client has sent that is available now. */
void ws_conn_read_available(WebSocketState *st);

/* Carries out what the session decided (ws_session.h): queues its
 * frames, counts the close the gateway starts, ends the loop if the
 * connection is to be dropped.  reason: the close frame's, when the
 * action starts one for a protocol error or a timer. */
void ws_conn_act(WebSocketState *st, ws_session_action a, const char *reason);

/* The client's close frame came with code: answered, and the loop ends. */
void ws_conn_peer_closed(WebSocketState *st, unsigned code);

/* Queues a pong with the ping's payload, unless we are closing. */
void ws_conn_queue_pong(WebSocketState *st, const unsigned char *p, apr_size_t n);

/* Whether a close was asked for or sent (under lock). */
int ws_conn_is_closing(WebSocketState *st);

/* Writes the outbox unless another thread holds io; that one looks at
 * the outbox again after letting go, as this one does, so nothing queued
 * stays behind. */
void ws_conn_flush(WebSocketState *st);

#endif /* WS_CONN_H */
