/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_conn_read.c - what the connection thread reads: the client's bytes
 * fetched through the filters, fed to the frame reader (ws_codec.h), and
 * the reader's callbacks, which hand messages to the plugin, answer pings
 * and the client's close (see ws_conn.h).  The connection thread only.
 */
#include "httpd.h"
#include "http_log.h"
#include "util_filter.h"

#include "ws_conn.h"

#define WS_READ_CHUNK     16384

static void fail_connection(WebSocketState *st, ws_status status, const char *why)
{
    unsigned code = ws_status_close_code(status);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                  "OSRFWS01003: closing with %u: %s", code, why);
    /* our close with the code, then the connection is dropped (RFC 6455
     * 7.1.7) */
    ws_conn_act(st, ws_session_fail(&st->session, code), why);
}

/* A compressed message (RSV1) is inflated within the maximum message
 * size, then checked as UTF-8 if it is text; 0 on success. */
static int inflate_message(WebSocketState *st, unsigned opcode,
                           unsigned char **data, size_t *len)
{
    ws_status status;

    ws_buffer_reset(&st->inflated);
    status = ws_pmd_inflate(st->pmd, *data, *len, st->set.max_message, &st->inflated);
    if (status == WS_OK && opcode == WS_OP_TEXT
        && !ws_utf8_valid((const unsigned char *)st->inflated.data, st->inflated.len))
        status = WS_ERR_UTF8;
    if (status != WS_OK) {
        fail_connection(st, status,
                        status == WS_ERR_TOO_BIG ? "message too big once inflated"
                        : status == WS_ERR_UTF8 ? "invalid UTF-8 in an inflated text message"
                        : status == WS_ERR_DATA ? "compressed data that does not inflate"
                        : "out of memory");
        return -1;
    }
    *data = (unsigned char *)st->inflated.data;
    *len = st->inflated.len;
    return 0;
}

static int on_message(void *ud, unsigned opcode, unsigned flags,
                      unsigned char *data, size_t len)
{
    WebSocketState *st = ud;

    ws_session_message_end(&st->session);
    if (ws_conn_is_closing(st))
        return 0;           /* after our close, data is read and dropped */
    if ((flags & WS_RSV1) && inflate_message(st, opcode, &data, &len) < 0)
        return 1;
    ws_metric_add(st->metrics, WS_M_MESSAGES_IN, 1);
    if (len > st->trim_due)
        st->trim_due = len;
    st->plugin->on_message(st->plugin_private, &st->server,
                           opcode == WS_OP_TEXT ? MESSAGE_TYPE_TEXT : MESSAGE_TYPE_BINARY,
                           data, len);
    ws_buffer_reset(&st->inflated);
    return 0;
}

static int on_ping(void *ud, const unsigned char *data, size_t len)
{
    ws_conn_queue_pong(ud, data, len);
    return 0;
}

static int on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    WebSocketState *st = ud;

    (void)reason;
    (void)len;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, st->r,
                  "OSRFWS01002: client closed with code %u", code);
    ws_conn_peer_closed(st, code);
    return 0;
}

static const ws_reader_callbacks reader_callbacks = {
    on_message, on_ping, NULL, on_close
};

ws_reader *ws_conn_reader_new(WebSocketState *st)
{
    ws_reader_config rcfg;

    rcfg.max_message = st->set.max_message;
    rcfg.allowed_rsv = st->pmd ? WS_RSV1 : 0;
    rcfg.require_mask = 1;
    return ws_reader_new(&rcfg, &reader_callbacks, st);
}

/* Feeds the reader what one read brought. */
static void feed_reader(WebSocketState *st)
{
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(st->bb_in);
         b != APR_BRIGADE_SENTINEL(st->bb_in) && !st->done;
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len;
        ws_status status;

        if (APR_BUCKET_IS_EOS(b)) {
            st->done = 1;
            break;
        }
        if (apr_bucket_read(b, &data, &len, APR_BLOCK_READ) != APR_SUCCESS || len == 0)
            continue;
        status = ws_reader_feed(st->reader, (const unsigned char *)data, len);
        if (status != WS_OK && status != WS_ERR_STOPPED)
            fail_connection(st, status, ws_reader_error(st->reader));
        if (st->trim_due) {     /* the reader has let its buffer go too */
            ws_buffer_give_back(st->trim_due);
            st->trim_due = 0;
        }
        /* the frame timer runs from the first byte of a frame or
         * message until it is complete */
        ws_session_reading(&st->session, ws_reader_in_message(st->reader));
    }
}

/* One non-blocking read through the filters into bb_in; *got: its length. */
static apr_status_t read_some(WebSocketState *st, apr_off_t *got)
{
    apr_status_t rv;

    ws_conn_lock_io(st);
    rv = ap_get_brigade(st->c->input_filters, st->bb_in, AP_MODE_READBYTES,
                        APR_NONBLOCK_READ, WS_READ_CHUNK);
    if (rv == APR_SUCCESS)
        rv = apr_brigade_length(st->bb_in, 1, got);
    ws_conn_unlock_io(st);
    if (rv == APR_SUCCESS && *got > 0) {
        ws_metric_add(st->metrics, WS_M_BYTES_IN, (int64_t)*got);
        ws_session_heard(&st->session, apr_time_now());
    }
    return rv;
}

/* Through mod_ssl what is available includes records already decrypted,
 * which polling the socket would not report.  io is held to fetch the
 * buckets (reading their lengths makes every one a plain data bucket)
 * and to hand them back, not while they are handled, so that other
 * threads (the bridge's listener) can write replies meanwhile. */
void ws_conn_read_available(WebSocketState *st)
{
    for (;;) {
        apr_off_t got = 0;
        apr_status_t rv = read_some(st, &got);

        if (rv == APR_SUCCESS)
            feed_reader(st);
        ws_conn_lock_io(st);
        apr_brigade_cleanup(st->bb_in);
        ws_conn_unlock_io(st);
        ws_conn_flush(st);  /* replies to what was just read, and what
                               other threads left while this one read */
        if (rv != APR_SUCCESS && !APR_STATUS_IS_EAGAIN(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, st->r,
                          "OSRFWS01004: read from client ended");
            st->done = 1;
        }
        /* without TLS, a short read leaves nothing in the filters: the
         * next poll reports the rest */
        if (rv != APR_SUCCESS || st->done || got == 0
            || (!st->tls && got < WS_READ_CHUNK))
            return;
    }
}
