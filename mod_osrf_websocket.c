/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_osrf_websocket.c - WebSocket (RFC 6455) for Apache httpd 2.4, with
 * a plugin interface binary compatible with mod_websocket's.
 *
 * A request on a WebSocket location is upgraded and then driven for the
 * connection's whole life inside its (prefork) child: the protocol itself
 * lives in the codec (ws_codec.h); this file is the Apache glue around it.
 *
 * Threads and what they own
 * -------------------------
 * The connection thread (the request's own thread) is the only one that
 * reads the client connection.  It owns the reader and every timer.
 *
 * Any other thread of the child (a plugin's bus listener) reaches the
 * connection only through send and close.  Whoever sends a frame also
 * writes it, so a bus reply goes from the listener straight to the socket
 * without waking the connection thread.  Two locks, taken in this order:
 *
 * ws_state.io guards the client connection itself: its filters, its
 * bucket allocator and brigades, mod_ssl's state (none of them safe to
 * use from two threads at once) and the write buffer.  The connection
 * thread holds it only to fetch what the filters have and to hand the
 * buckets back, not while it handles a message.  Writers take it with a
 * trylock: a thread that finds it taken leaves its frame in the outbox,
 * and every holder looks at the outbox again once it has let go, so
 * nothing queued stays behind.  While the connection thread waits for io
 * to read ("reading", atomic), other threads leave their frames to it,
 * so a thread that sends without pause cannot keep the reader out.  Another
 * thread writes only a small outbox into a socket with room
 * (direct_write_ok); anything else it leaves to the connection thread,
 * woken through the pollset, so only that thread ever waits on a client
 * that does not read, up to the send timeout (the socket's timeout).
 *
 * ws_state.lock guards, shared with every thread:
 *   outbox      finished frames waiting to be written;
 *   in_write    the size of the write under way (room counts both);
 *   closing     a close was asked for (close_code, close_reason);
 *   closed      the connection is over: send and close do nothing;
 *   broken      a write failed: the connection thread drops the client.
 * The writer swaps the outbox with the write buffer under lock and writes
 * outside it.  While the outbox is over its bound, send from another
 * thread waits on "drained" (back-pressure).  A close asked for by
 * another thread wakes the connection thread through the pollset.
 *
 * With permessage-deflate, a message is compressed by the thread that
 * sends it, under deflate_lock (which guards the deflate stream and its
 * output buffer, and is taken before lock, never after), so a bus
 * listener's large reply is compressed outside the connection thread.
 * Inflating client messages is the connection thread's alone.
 *
 * Counters (ws_metrics.h) go into this child's slot of the shared table
 * with relaxed atomics, from whichever thread sees the event; no lock.
 *
 * A child stopped by SIGTERM (a full stop, or a graceful stop's timeout)
 * does not end its connection: prefork destroys the child's pool from the
 * signal handler, on the connection thread, and the connection's memory
 * (this state, its locks) goes with it, without on_disconnect.  A plugin
 * whose own thread calls send must keep it out first, from a pre-cleanup
 * of the child's pool, without taking a lock the interrupted thread may
 * hold (the bridge's listener: see osrf_ws_bridge.c).
 */
#include <malloc.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "ap_mpm.h"
#include "mpm_common.h"

#include "apr_atomic.h"
#include "apr_dso.h"
#include "apr_poll.h"
#include "apr_portable.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"

#include "websocket_plugin.h"
#include "ws_codec.h"
#include "ws_deflate.h"
#include "ws_metrics.h"
#include "ws_number.h"
#include "ws_prefork.h"
#include "ws_reserve.h"
#include "ws_status.h"

module AP_MODULE_DECLARE_DATA osrf_websocket_module;

#define WS_HANDLER_NAME   "websocket-handler"
#define WS_READ_CHUNK     16384
#define WS_STATE_CHECK    apr_time_from_sec(1)
/* The most another thread writes itself, into a socket with room: a
 * common OpenSRF reply is about 1 kB; larger ones go to the connection
 * thread, so that a client that stops reading holds up that thread alone. */
#define WS_DIRECT_WRITE   16384
#define UNSET             -1

/* --- configuration ---------------------------------------------------- */

typedef struct {
    WebSocketPlugin *plugin;
    const char *plugin_path;
    apr_int64_t max_message;
    apr_interval_time_t ping_interval;
    apr_interval_time_t close_timeout;
    apr_interval_time_t frame_timeout;
    apr_interval_time_t send_timeout;
    apr_int64_t max_queued;
    apr_array_header_t *origins;    /* of const char *; NULL = any */
    int compression;                /* permessage-deflate: 1 on, 0 off */
    int compression_level;
    int compression_window_bits;
    int compression_takeover;
    apr_int64_t compression_min_size;
    apr_array_header_t *status_allow;   /* of apr_ipsubnet_t *; NULL = loopback */
    int reserve;                    /* children kept free of WebSockets */
    int client_limit;               /* WebSockets per client; 0: any */
} ws_dir_conf;

typedef struct {
    const char *path;
    WebSocketPlugin *plugin;
    const char *plugin_path;
} ws_location;

typedef struct {
    apr_array_header_t *locations;  /* of ws_location: the 3-argument form */
    apr_array_header_t *trusted;    /* proxies (const char *) believed about
                                       X-Forwarded-For; NULL: none */
} ws_server_conf;

static void *create_dir_conf(apr_pool_t *p, char *dir)
{
    ws_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->max_message = UNSET;
    conf->ping_interval = UNSET;
    conf->close_timeout = UNSET;
    conf->frame_timeout = UNSET;
    conf->send_timeout = UNSET;
    conf->max_queued = UNSET;
    conf->compression = UNSET;
    conf->compression_level = UNSET;
    conf->compression_window_bits = UNSET;
    conf->compression_takeover = UNSET;
    conf->compression_min_size = UNSET;
    conf->reserve = UNSET;
    conf->client_limit = UNSET;
    return conf;
}

#define MERGE(field) (add->field != UNSET ? add->field : base->field)

static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    ws_dir_conf *base = basev, *add = addv;
    ws_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->plugin = add->plugin ? add->plugin : base->plugin;
    conf->plugin_path = add->plugin ? add->plugin_path : base->plugin_path;
    conf->max_message = MERGE(max_message);
    conf->ping_interval = MERGE(ping_interval);
    conf->close_timeout = MERGE(close_timeout);
    conf->frame_timeout = MERGE(frame_timeout);
    conf->send_timeout = MERGE(send_timeout);
    conf->max_queued = MERGE(max_queued);
    conf->origins = add->origins ? add->origins : base->origins;
    conf->compression = MERGE(compression);
    conf->compression_level = MERGE(compression_level);
    conf->compression_window_bits = MERGE(compression_window_bits);
    conf->compression_takeover = MERGE(compression_takeover);
    conf->compression_min_size = MERGE(compression_min_size);
    conf->status_allow = add->status_allow ? add->status_allow : base->status_allow;
    conf->reserve = MERGE(reserve);
    conf->client_limit = MERGE(client_limit);
    return conf;
}

static void *create_server_conf(apr_pool_t *p, server_rec *s)
{
    ws_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->locations = apr_array_make(p, 2, sizeof(ws_location));
    return conf;
}

static void *merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    ws_server_conf *base = basev, *add = addv;
    ws_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->locations = apr_array_append(p, add->locations, base->locations);
    conf->trusted = add->trusted ? add->trusted : base->trusted;
    return conf;
}

/* The effective settings, defaults filled in. */
typedef struct {
    apr_uint64_t max_message;
    apr_interval_time_t ping_interval;
    apr_interval_time_t close_timeout;
    apr_interval_time_t frame_timeout;
    apr_interval_time_t send_timeout;
    apr_size_t max_queued;
    apr_array_header_t *origins;
    int compression;
    ws_pmd_config pmd;
    apr_size_t compression_min_size;
    int reserve;
    int client_limit;
} ws_settings;

static void effective_settings(const ws_dir_conf *conf, ws_settings *set)
{
    set->max_message = conf->max_message != UNSET
                       ? (apr_uint64_t)conf->max_message : 16 * 1024 * 1024;
    set->ping_interval = conf->ping_interval != UNSET
                         ? conf->ping_interval : apr_time_from_sec(30);
    set->close_timeout = conf->close_timeout != UNSET
                         ? conf->close_timeout : apr_time_from_sec(5);
    set->frame_timeout = conf->frame_timeout != UNSET
                         ? conf->frame_timeout : apr_time_from_sec(30);
    set->send_timeout = conf->send_timeout != UNSET
                        ? conf->send_timeout : apr_time_from_sec(10);
    /* room for a largest message while another is being written */
    set->max_queued = conf->max_queued != UNSET
                      ? (apr_size_t)conf->max_queued
                      : (apr_size_t)set->max_message * 2;
    set->origins = conf->origins;
    /* no context takeover by default: an idle connection holds no zlib
     * state (see README.websockets, Compression) */
    set->compression = conf->compression != UNSET ? conf->compression : 1;
    set->pmd.level = conf->compression_level != UNSET ? conf->compression_level : 6;
    set->pmd.window_bits = conf->compression_window_bits != UNSET
                           ? conf->compression_window_bits : 15;
    set->pmd.context_takeover = conf->compression_takeover != UNSET
                                ? conf->compression_takeover : 0;
    set->compression_min_size = conf->compression_min_size != UNSET
                                ? (apr_size_t)conf->compression_min_size : 1024;
    set->reserve = conf->reserve != UNSET ? conf->reserve : 2;
    set->client_limit = conf->client_limit != UNSET ? conf->client_limit : 0;
}

/* --- plugin loading ----------------------------------------------------- */

static apr_status_t destroy_plugin(void *data)
{
    WebSocketPlugin *plugin = data;

    if (plugin->destroy)
        plugin->destroy(plugin);
    return APR_SUCCESS;
}

/* Loaded in the parent at configuration time, so a bad path or symbol
 * stops the start, and every child shares the loaded code.  What is
 * accepted is what mod_websocket accepts (plugin version 0, at least its
 * struct, an on_message callback): a plugin that loads here loads there. */
static const char *load_plugin(cmd_parms *cmd, const char *path,
                               const char *init_name, WebSocketPlugin **out)
{
    const char *file = ap_server_root_relative(cmd->pool, path);
    apr_dso_handle_t *dso;
    apr_dso_handle_sym_t sym;
    WebSocketPlugin *plugin;
    char err[256];

    if (file == NULL)
        return apr_psprintf(cmd->pool, "WebSocketHandler: bad path %s", path);
    if (apr_dso_load(&dso, file, cmd->pool) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "WebSocketHandler: cannot load %s: %s",
                            file, apr_dso_error(dso, err, sizeof(err)));
    if (apr_dso_sym(&sym, dso, init_name) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "WebSocketHandler: no function %s in %s",
                            init_name, file);
    plugin = ((WS_Init)sym)();
    if (plugin == NULL || plugin->version != WEBSOCKET_PLUGIN_VERSION_0
        || plugin->size < sizeof(WebSocketPlugin) || plugin->on_message == NULL)
        return apr_psprintf(cmd->pool,
                            "WebSocketHandler: %s in %s returned no plugin of "
                            "version 0 with an on_message callback",
                            init_name, file);
    /* registered after the load: runs before the library is unloaded */
    apr_pool_cleanup_register(cmd->pool, plugin, destroy_plugin,
                              apr_pool_cleanup_null);
    *out = plugin;
    return NULL;
}

static const char *set_handler(cmd_parms *cmd, void *dconf, const char *a1,
                               const char *a2, const char *a3)
{
    ws_dir_conf *conf = dconf;

    if (a3 == NULL) {
        /* mod_websocket's form, inside <Location> with SetHandler */
        conf->plugin_path = a1;
        return load_plugin(cmd, a1, a2, &conf->plugin);
    } else {
        ws_server_conf *sconf = ap_get_module_config(cmd->server->module_config,
                                                     &osrf_websocket_module);
        ws_location *loc;

        if (cmd->path != NULL)
            return "WebSocketHandler with a path belongs outside <Location>";
        if (a1[0] != '/')
            return "WebSocketHandler: the path must start with /";
        loc = apr_array_push(sconf->locations);
        loc->path = a1;
        loc->plugin_path = a2;
        return load_plugin(cmd, a2, a3, &loc->plugin);
    }
}

static const char *parse_count(cmd_parms *cmd, const char *arg,
                               apr_int64_t min, apr_int64_t *out)
{
    int64_t v;

    if (!ws_parse_number(arg, WS_NUMBER_SIZE, min, INT64_MAX, &v))
        return apr_psprintf(cmd->pool, "%s: %s is not a number of at least %"
                            APR_INT64_T_FMT, cmd->cmd->name, arg, min);
    *out = v;
    return NULL;
}

static const char *set_max_message(cmd_parms *cmd, void *dconf, const char *arg)
{
    return parse_count(cmd, arg, 1, &((ws_dir_conf *)dconf)->max_message);
}

static const char *set_max_queued(cmd_parms *cmd, void *dconf, const char *arg)
{
    return parse_count(cmd, arg, 1024, &((ws_dir_conf *)dconf)->max_queued);
}

static const char *set_seconds(cmd_parms *cmd, const char *arg,
                               apr_interval_time_t *out)
{
    apr_int64_t v;
    const char *err = parse_count(cmd, arg, 0, &v);

    if (err == NULL)
        *out = apr_time_from_sec(v);
    return err;
}

static const char *set_ping_interval(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    return set_seconds(cmd, arg, &((ws_dir_conf *)dconf)->ping_interval);
}

static const char *set_close_timeout(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    return set_seconds(cmd, arg, &((ws_dir_conf *)dconf)->close_timeout);
}

static const char *set_frame_timeout(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    return set_seconds(cmd, arg, &((ws_dir_conf *)dconf)->frame_timeout);
}

static const char *set_send_timeout(cmd_parms *cmd, void *dconf,
                                    const char *arg)
{
    return set_seconds(cmd, arg, &((ws_dir_conf *)dconf)->send_timeout);
}

static const char *add_origin(cmd_parms *cmd, void *dconf, const char *arg)
{
    ws_dir_conf *conf = dconf;

    if (conf->origins == NULL)
        conf->origins = apr_array_make(cmd->pool, 4, sizeof(const char *));
    *(const char **)apr_array_push(conf->origins) = arg;
    return NULL;
}

static const char *set_in_range(cmd_parms *cmd, const char *arg, int min, int max,
                                int *out)
{
    int64_t v;

    if (!ws_parse_number(arg, WS_NUMBER_PLAIN, min, max, &v))
        return apr_psprintf(cmd->pool, "%s: %s is not a number from %d to %d",
                            cmd->cmd->name, arg, min, max);
    *out = (int)v;
    return NULL;
}

static const char *set_compression_level(cmd_parms *cmd, void *dconf, const char *arg)
{
    return set_in_range(cmd, arg, 1, 9, &((ws_dir_conf *)dconf)->compression_level);
}

/* 8 is left out: zlib's raw deflate has no 256-byte window. */
static const char *set_compression_window(cmd_parms *cmd, void *dconf, const char *arg)
{
    return set_in_range(cmd, arg, 9, 15, &((ws_dir_conf *)dconf)->compression_window_bits);
}

static const char *set_compression_min_size(cmd_parms *cmd, void *dconf, const char *arg)
{
    return parse_count(cmd, arg, 0, &((ws_dir_conf *)dconf)->compression_min_size);
}

static const char *add_status_allow(cmd_parms *cmd, void *dconf, const char *arg)
{
    return ws_status_allow(cmd->pool, &((ws_dir_conf *)dconf)->status_allow, arg);
}

static const char *set_reserve(cmd_parms *cmd, void *dconf, const char *arg)
{
    return set_in_range(cmd, arg, 0, 100000, &((ws_dir_conf *)dconf)->reserve);
}

static const char *set_client_limit(cmd_parms *cmd, void *dconf, const char *arg)
{
    return set_in_range(cmd, arg, 0, 100000, &((ws_dir_conf *)dconf)->client_limit);
}

/* The bridge's OSRFWebSocketTrustedProxies, through ws_reserve.h. */
static void osrf_ws_trust_proxy(cmd_parms *cmd, const char *ip)
{
    ws_server_conf *sconf = ap_get_module_config(cmd->server->module_config,
                                                 &osrf_websocket_module);

    if (sconf->trusted == NULL)
        sconf->trusted = apr_array_make(cmd->pool, 4, sizeof(const char *));
    *(const char **)apr_array_push(sconf->trusted) = ip;
}

static const command_rec ws_commands[] = {
    AP_INIT_TAKE23("WebSocketHandler", set_handler, NULL, RSRC_CONF | ACCESS_CONF,
                   "[/path] plugin-library init-function"),
    AP_INIT_TAKE1("WebSocketMaxMessageSize", set_max_message, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest message accepted, over all its fragments (bytes, K, M)"),
    AP_INIT_TAKE1("MaxMessageSize", set_max_message, NULL, RSRC_CONF | ACCESS_CONF,
                  "mod_websocket's name for WebSocketMaxMessageSize"),
    AP_INIT_TAKE1("WebSocketPingInterval", set_ping_interval, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "seconds of client silence before a ping (0: never)"),
    AP_INIT_TAKE1("WebSocketCloseTimeout", set_close_timeout, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "seconds to wait for the client's close frame"),
    AP_INIT_TAKE1("WebSocketFrameTimeout", set_frame_timeout, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "seconds a started frame or message may take to arrive (0: no limit)"),
    AP_INIT_TAKE1("WebSocketSendTimeout", set_send_timeout, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "seconds a client may read nothing while frames wait for it "
                  "(0: Apache's Timeout)"),
    AP_INIT_TAKE1("WebSocketMaxQueuedBytes", set_max_queued, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "bytes queued for a client before senders wait"),
    AP_INIT_ITERATE("WebSocketAllowedOrigins", add_origin, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "origins allowed to connect (default: any)"),
    AP_INIT_FLAG("WebSocketCompression", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(ws_dir_conf, compression), RSRC_CONF | ACCESS_CONF,
                 "accept permessage-deflate when a client offers it (default On)"),
    AP_INIT_TAKE1("WebSocketCompressionLevel", set_compression_level, NULL,
                  RSRC_CONF | ACCESS_CONF, "zlib compression level, 1-9 (default 6)"),
    AP_INIT_TAKE1("WebSocketCompressionWindowBits", set_compression_window, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "largest LZ77 window the server compresses with, 9-15 (default 15)"),
    AP_INIT_TAKE1("WebSocketCompressionMinSize", set_compression_min_size, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "messages smaller than this go uncompressed (bytes, K, M; default 1024)"),
    AP_INIT_FLAG("WebSocketCompressionContextTakeover", ap_set_flag_slot,
                 (void *)APR_OFFSETOF(ws_dir_conf, compression_takeover),
                 RSRC_CONF | ACCESS_CONF,
                 "keep zlib state between messages (default Off: less memory per connection)"),
    AP_INIT_ITERATE("WebSocketStatusAllow", add_status_allow, NULL,
                    RSRC_CONF | ACCESS_CONF,
                    "addresses or CIDRs the status handler answers (default 127.0.0.1 ::1)"),
    AP_INIT_TAKE1("WebSocketReserve", set_reserve, NULL, RSRC_CONF | ACCESS_CONF,
                  "children kept free of WebSockets; upgrades past it get 503 (default 2)"),
    AP_INIT_TAKE1("WebSocketMaxConnectionsPerClient", set_client_limit, NULL,
                  RSRC_CONF | ACCESS_CONF,
                  "WebSockets one client address may hold at once (default 0: any)"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

/* --- the connection ----------------------------------------------------- */

typedef struct _WebSocketState WebSocketState;

struct _WebSocketState {
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
    ws_metrics_slot *metrics;       /* this child's counters; may be NULL */

    /* shared: guarded by lock */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *drained;
    ws_buffer outbox;
    apr_size_t in_write;            /* bytes of the write under way */
    int closing;
    unsigned close_code;
    char close_reason[WS_MAX_CONTROL_PAYLOAD - 1];
    int closed;
    apr_status_t broken;            /* the failed write's status; 0: none */
    apr_pollset_t *pollset;         /* wakeup is thread-safe */

    /* the client connection, under io */
    apr_thread_mutex_t *io;
    volatile apr_uint32_t reading;  /* the connection thread wants io */
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
    int tls;                        /* mod_ssl may hold decrypted bytes */
    apr_time_t last_heard;
    apr_time_t ping_sent;           /* 0: no ping outstanding */
    apr_time_t close_deadline;
    apr_time_t frame_started;       /* 0: between frames */
    int close_sent;
    int done;                       /* leave the loop and drop TCP */
    int shutdown_seen;
    apr_size_t trim_due;            /* the largest message read since
                                       the heap was last given back */
};

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

static int is_closing(WebSocketState *st)
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

/* Writes everything queued so far; the caller holds io. */
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

/* Writes the outbox unless another thread holds io; that one looks at
 * the outbox again after letting go, as this one does. */
static void flush_outbox(WebSocketState *st)
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

/* io for the connection thread, ahead of any other thread's frames. */
static void lock_io_to_read(WebSocketState *st)
{
    apr_atomic_set32(&st->reading, 1);
    apr_thread_mutex_lock(st->io);
}

static void unlock_io_to_read(WebSocketState *st)
{
    apr_thread_mutex_unlock(st->io);
    apr_atomic_set32(&st->reading, 0);
}

/* Asks for the closing handshake; the connection thread sends it. */
static void request_close(WebSocketState *st, unsigned code, const char *reason)
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

/* Queues our close frame after everything already queued. */
static void send_close_frame(WebSocketState *st)
{
    unsigned char payload[WS_MAX_CONTROL_PAYLOAD];
    apr_size_t n;

    apr_thread_mutex_lock(st->lock);
    st->closing = 1;
    n = ws_close_payload(payload, st->close_code, st->close_reason);
    queue_frame(st, WS_OP_CLOSE, 0, payload, n);
    apr_thread_mutex_unlock(st->lock);
    st->close_sent = 1;
    st->close_deadline = apr_time_now() + st->set.close_timeout;
}

/* --- the server handle given to plugins ----------------------------------- */

static request_rec *CALLBACK srv_request(const WebSocketServer *server)
{
    return server->state->r;
}

static const char *CALLBACK srv_header_get(const WebSocketServer *server,
                                           const char *key)
{
    return apr_table_get(server->state->r->headers_in, key);
}

static void CALLBACK srv_header_set(const WebSocketServer *server,
                                    const char *key, const char *value)
{
    request_rec *r = server->state->r;

    apr_table_set(r->headers_out, key, value);
}

static size_t CALLBACK srv_protocol_count(const WebSocketServer *server)
{
    return (size_t)server->state->protocols->nelts;
}

static const char *CALLBACK srv_protocol_index(const WebSocketServer *server,
                                               const size_t index)
{
    apr_array_header_t *a = server->state->protocols;

    return index < (size_t)a->nelts ? APR_ARRAY_IDX(a, index, const char *) : NULL;
}

static void CALLBACK srv_protocol_set(const WebSocketServer *server,
                                      const char *protocol)
{
    WebSocketState *st = server->state;
    int i;

    st->protocol = NULL;
    for (i = 0; protocol && i < st->protocols->nelts; i++)
        if (strcmp(APR_ARRAY_IDX(st->protocols, i, const char *), protocol) == 0)
            st->protocol = APR_ARRAY_IDX(st->protocols, i, const char *);
}

/* A close message sent as mod_websocket takes it: the payload is the close
 * frame's, a code and a reason.  No code or one we may not send makes it
 * 1000; a reason that is too long or not UTF-8 is left out. */
static void request_close_as_sent(WebSocketState *st, const unsigned char *p,
                                  size_t n)
{
    char reason[WS_MAX_CONTROL_PAYLOAD - 1] = "";
    unsigned code = n >= 2 ? (unsigned)p[0] << 8 | p[1] : 0;

    if (!ws_close_code_valid(code)) {
        code = WS_CLOSE_NORMAL;
    } else if (n - 2 < sizeof(reason) && ws_utf8_valid(p + 2, n - 2)) {
        memcpy(reason, p + 2, n - 2);     /* the rest stays 0 */
    }
    request_close(st, code, reason);
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

static size_t CALLBACK srv_send(const WebSocketServer *server, const int type,
                                const unsigned char *buffer,
                                const size_t buffer_size)
{
    WebSocketState *st = server->state;
    int own = on_connection_thread(st), over = 0, queued, deflated = 0;
    unsigned opcode;

    switch (type) {
    case MESSAGE_TYPE_TEXT:   opcode = WS_OP_TEXT; break;
    case MESSAGE_TYPE_BINARY: opcode = WS_OP_BINARY; break;
    case MESSAGE_TYPE_PING:   opcode = WS_OP_PING; break;
    case MESSAGE_TYPE_PONG:   opcode = WS_OP_PONG; break;
    case MESSAGE_TYPE_CLOSE:
        request_close_as_sent(st, buffer, buffer_size);
        return 0;
    default:
        return 0;
    }
    if ((opcode & 0x8) && buffer_size > WS_MAX_CONTROL_PAYLOAD)
        return 0;

    apr_thread_mutex_lock(st->lock);
    while (!own && !st->closing && !st->closed
           && st->outbox.len > st->set.max_queued)
        apr_thread_cond_wait(st->drained, st->lock);
    apr_thread_mutex_unlock(st->lock);

    if (st->pmd && !(opcode & 0x8) && buffer_size >= st->set.compression_min_size) {
        apr_thread_mutex_lock(st->deflate_lock);
        deflated = ws_pmd_deflate(st->pmd, buffer, buffer_size, &st->deflated) == WS_OK;
        queued = deflated && queue_unless_closing(st, opcode, WS_RSV1,
                                                  (const unsigned char *)st->deflated.data,
                                                  st->deflated.len, &over);
        ws_buffer_reset(&st->deflated);
        apr_thread_mutex_unlock(st->deflate_lock);
    } else {
        queued = queue_unless_closing(st, opcode, 0, buffer, buffer_size, &over);
    }
    if (!queued)
        return 0;
    if (!(opcode & 0x8))
        ws_metric_add(st->metrics, WS_M_MESSAGES_OUT, 1);
    /* on the connection thread, replies to what it is reading go out
     * together once it has read it all */
    if (!own || over)
        flush_outbox(st);
    ws_buffer_give_back(deflated ? buffer_size : 0);   /* the deflate buffer's */
    return buffer_size;
}

static void CALLBACK srv_close(const WebSocketServer *server)
{
    request_close(server->state, WS_CLOSE_NORMAL, "");
}

/* --- extensions, as APR optional functions (websocket_plugin.h) ---------- */

/* A handle of ours, not of another host's (mod_websocket's, say). */
static int our_server(const WebSocketServer *server)
{
    return server != NULL && server->send == srv_send;
}

static struct ws_metrics_slot *ws_server_metrics(const WebSocketServer *server,
                                                 unsigned int version)
{
    return our_server(server) && version == WS_METRICS_VERSION
           ? server->state->metrics : NULL;
}

static size_t ws_server_room(const WebSocketServer *server)
{
    WebSocketState *st;
    apr_size_t held;

    if (!our_server(server))
        return (size_t)-1;
    st = server->state;
    apr_thread_mutex_lock(st->lock);
    held = st->outbox.len + st->in_write;
    apr_thread_mutex_unlock(st->lock);
    return held < st->set.max_queued ? st->set.max_queued - held : 0;
}

static void ws_server_on_shutdown(const WebSocketServer *server,
                                  WS_OnShutdown on_shutdown)
{
    if (our_server(server))
        server->state->on_shutdown = on_shutdown;
}

/* --- reader callbacks (connection thread) ---------------------------------- */

/* Drops the connection after a close frame with code (RFC 6455 7.1.7). */
static void close_and_drop(WebSocketState *st, unsigned code, const char *why)
{
    if (!st->close_sent) {
        ws_metric_add(st->metrics, ws_metric_close(code), 1);
        apr_thread_mutex_lock(st->lock);
        st->close_code = code;
        apr_cpystrn(st->close_reason, why, sizeof(st->close_reason));
        apr_thread_mutex_unlock(st->lock);
        send_close_frame(st);
    }
    st->done = 1;
}

static void fail_connection(WebSocketState *st, ws_status status, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                  "OSRFWS01003: closing with %u: %s",
                  ws_status_close_code(status), why);
    close_and_drop(st, ws_status_close_code(status), why);
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

    st->frame_started = 0;  /* a message ended: the frame timer stops */
    if (is_closing(st))
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
    WebSocketState *st = ud;

    apr_thread_mutex_lock(st->lock);
    if (!st->closing)
        queue_frame(st, WS_OP_PONG, 0, data, len);
    apr_thread_mutex_unlock(st->lock);
    return 0;
}

static int on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    WebSocketState *st = ud;

    (void)reason;
    (void)len;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, st->r,
                  "OSRFWS01002: client closed with code %u", code);
    if (!st->close_sent) {
        apr_thread_mutex_lock(st->lock);
        if (!st->closing) {
            st->close_code = code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : code;
            st->close_reason[0] = '\0';
        }
        apr_thread_mutex_unlock(st->lock);
        send_close_frame(st);
    }
    st->done = 1;           /* both closes exchanged: the server drops TCP */
    return 0;
}

static const ws_reader_callbacks reader_callbacks = {
    on_message, on_ping, NULL, on_close
};

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
        if (!ws_reader_in_message(st->reader))
            st->frame_started = 0;
        else if (!st->frame_started)
            st->frame_started = st->last_heard;
    }
}

/* Reads all that is available now: through mod_ssl this includes records
 * already decrypted, which polling the socket would not report.  io is
 * held to fetch the buckets (reading their lengths makes every one a
 * plain data bucket) and to hand them back, not while they are handled,
 * so the listener can write replies meanwhile. */
static void read_available(WebSocketState *st)
{
    for (;;) {
        apr_off_t got = 0;
        apr_status_t rv;

        lock_io_to_read(st);
        rv = ap_get_brigade(st->c->input_filters, st->bb_in, AP_MODE_READBYTES,
                            APR_NONBLOCK_READ, WS_READ_CHUNK);
        if (rv == APR_SUCCESS)
            rv = apr_brigade_length(st->bb_in, 1, &got);
        unlock_io_to_read(st);
        if (rv == APR_SUCCESS && got > 0) {
            ws_metric_add(st->metrics, WS_M_BYTES_IN, (int64_t)got);
            st->last_heard = apr_time_now();
            st->ping_sent = 0;
        }
        if (rv == APR_SUCCESS)
            feed_reader(st);
        lock_io_to_read(st);
        apr_brigade_cleanup(st->bb_in);
        unlock_io_to_read(st);
        flush_outbox(st);   /* replies to what was just read, and what
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
        request_close(st, WS_CLOSE_GOING_AWAY, "server shutting down");
}

/* Pings a silent client; drops one that stays silent through a ping, and
 * one whose frame does not complete in time (a trickle of bytes would
 * otherwise hold the child for ever: every byte counts as heard). */
static void check_timers(WebSocketState *st, apr_time_t now)
{
    if (st->frame_started && st->set.frame_timeout > 0 && !st->close_sent
        && now - st->frame_started >= st->set.frame_timeout) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                      "OSRFWS01015: a frame not completed within %" APR_TIME_T_FMT
                      " s, closing with 1008", apr_time_sec(st->set.frame_timeout));
        close_and_drop(st, WS_CLOSE_POLICY, "frame not completed in time");
        return;
    }
    if (st->close_sent) {
        if (now >= st->close_deadline) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, st->r,
                          "OSRFWS01006: no close frame from the client in time");
            st->done = 1;
        }
        return;
    }
    if (st->set.ping_interval <= 0)
        return;
    if (st->ping_sent && now - st->ping_sent >= st->set.ping_interval) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                      "OSRFWS01007: client did not answer a ping, dropping it");
        ws_metric_add(st->metrics, WS_M_PING_TIMEOUTS, 1);
        st->done = 1;
    } else if (!st->ping_sent && now - st->last_heard >= st->set.ping_interval) {
        apr_thread_mutex_lock(st->lock);
        queue_frame(st, WS_OP_PING, 0, (const unsigned char *)"osrf", 4);
        apr_thread_mutex_unlock(st->lock);
        st->ping_sent = now;
    }
}

static apr_interval_time_t next_timeout(const WebSocketState *st, apr_time_t now)
{
    apr_time_t due = now + WS_STATE_CHECK;

    if (st->frame_started && st->set.frame_timeout > 0) {
        apr_time_t t = st->frame_started + st->set.frame_timeout;
        due = t < due ? t : due;
    }
    if (st->close_sent)
        due = st->close_deadline < due ? st->close_deadline : due;
    else if (st->set.ping_interval > 0) {
        apr_time_t t = (st->ping_sent ? st->ping_sent : st->last_heard)
                       + st->set.ping_interval;
        due = t < due ? t : due;
    }
    return due > now ? due - now : 0;
}

/* A write that failed, or that made no progress for the send timeout
 * (the client stopped reading): no close frame can get past the unread
 * bytes, so the connection is dropped, counted as a 1008. */
static void write_failed(WebSocketState *st, apr_status_t rv)
{
    if (!APR_STATUS_IS_TIMEUP(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, rv, st->r,
                      "OSRFWS01001: write to client failed, dropping connection");
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, st->r,
                  "OSRFWS01031: the client read nothing for %" APR_TIME_T_FMT
                  " s (WebSocketSendTimeout) with frames waiting; dropping it (1008)",
                  apr_time_sec(st->set.send_timeout));
    if (!is_closing(st))
        ws_metric_add(st->metrics, ws_metric_close(WS_CLOSE_POLICY), 1);
}

static void run_connection(WebSocketState *st)
{
    apr_socket_t *sock = ap_get_conn_socket(st->c);
    apr_pollfd_t pfd = { 0 };

    pfd.p = st->r->pool;
    pfd.desc_type = APR_POLL_SOCKET;
    pfd.reqevents = APR_POLLIN;
    pfd.desc.s = sock;
    apr_pollset_add(st->pollset, &pfd);
    /* reads do not block; a blocked write gives up after this */
    if (st->set.send_timeout > 0) {
        lock_io_to_read(st);
        apr_socket_timeout_set(sock, st->set.send_timeout);
        unlock_io_to_read(st);
    }

    /* frames may have come with the handshake and wait in the filters */
    read_available(st);
    while (!st->done) {
        const apr_pollfd_t *out;
        apr_int32_t n;
        apr_status_t rv, broken;
        apr_time_t now;
        int send_close;

        /* every turn, not only after an interrupted poll: the stop signal
         * may come while this thread is elsewhere, and then no poll sees
         * EINTR (WS_STATE_CHECK bounds what is left of that window) */
        check_stopping(st);
        apr_thread_mutex_lock(st->lock);
        broken = st->broken;
        send_close = st->closing && !st->close_sent;
        apr_thread_mutex_unlock(st->lock);
        if (broken) {
            write_failed(st, broken);
            break;
        }
        if (send_close)
            send_close_frame(st);
        flush_outbox(st);
        if (st->done)
            break;

        now = apr_time_now();
        rv = apr_pollset_poll(st->pollset, next_timeout(st, now), &n, &out);
        if (rv == APR_SUCCESS) {
            apr_int32_t i;
            for (i = 0; i < n; i++)
                if (out[i].desc.s == sock)
                    read_available(st);
        } else if (!APR_STATUS_IS_EINTR(rv) && !APR_STATUS_IS_TIMEUP(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, st->r,
                          "OSRFWS01008: poll failed, dropping connection");
            break;
        }
        check_timers(st, apr_time_now());
    }
    /* the last frames (our close among them) go out before closed is
     * set, so this waits for a writer rather than leave them to it */
    lock_io_to_read(st);
    write_outbox(st);
    unlock_io_to_read(st);
}

/* --- the handshake ------------------------------------------------------ */

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

static WebSocketState *new_state(request_rec *r, WebSocketPlugin *plugin,
                                 const ws_dir_conf *dconf)
{
    WebSocketState *st = apr_pcalloc(r->pool, sizeof(*st));
    ws_reader_config rcfg;

    st->r = r;
    st->c = r->connection;
    st->plugin = plugin;
    effective_settings(dconf, &st->set);
    st->protocols = offered_protocols(r);
    st->protocol = st->protocols->nelts
                   ? APR_ARRAY_IDX(st->protocols, 0, const char *) : NULL;
    st->owner = apr_os_thread_current();
    st->tls = ap_ssl_conn_is_ssl(st->c);
    st->last_heard = apr_time_now();

    st->server.size = sizeof(WebSocketServer);
    st->server.version = WEBSOCKET_SERVER_VERSION_1;
    st->server.state = st;
    st->server.request = srv_request;
    st->server.header_get = srv_header_get;
    st->server.header_set = srv_header_set;
    st->server.protocol_count = srv_protocol_count;
    st->server.protocol_index = srv_protocol_index;
    st->server.protocol_set = srv_protocol_set;
    st->server.send = srv_send;
    st->server.close = srv_close;
    st->metrics = ws_status_slot(st->c);

    apr_pool_cleanup_register(r->pool, st, free_state_buffers,
                              apr_pool_cleanup_null);
    negotiate_compression(st);
    rcfg.max_message = st->set.max_message;
    rcfg.allowed_rsv = st->pmd ? WS_RSV1 : 0;
    rcfg.require_mask = 1;
    st->reader = ws_reader_new(&rcfg, &reader_callbacks, st);
    if (st->reader == NULL
        || apr_thread_mutex_create(&st->io, APR_THREAD_MUTEX_DEFAULT,
                                   r->pool) != APR_SUCCESS
        || apr_thread_mutex_create(&st->lock, APR_THREAD_MUTEX_DEFAULT,
                                   r->pool) != APR_SUCCESS
        || apr_thread_mutex_create(&st->deflate_lock, APR_THREAD_MUTEX_DEFAULT,
                                   r->pool) != APR_SUCCESS
        || apr_thread_cond_create(&st->drained, r->pool) != APR_SUCCESS
        || apr_pollset_create(&st->pollset, 1, r->pool,
                              APR_POLLSET_WAKEABLE) != APR_SUCCESS)
        return NULL;
    st->bb_in = apr_brigade_create(r->pool, st->c->bucket_alloc);
    st->bb_out = apr_brigade_create(r->pool, st->c->bucket_alloc);
    return st;
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

static int ws_handler(request_rec *r)
{
    ws_dir_conf *dconf = ap_get_module_config(r->per_dir_config,
                                              &osrf_websocket_module);
    WebSocketPlugin *plugin = find_plugin(r, dconf);
    ws_handshake_request hs;
    WebSocketState *st;
    const char *why;
    ws_settings set;
    int status;

    if (plugin == NULL)
        return ws_status_handler(r, dconf->status_allow);

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
    effective_settings(dconf, &set);
    if (!origin_allowed(r, &set)) {
        ws_metric_add(ws_status_slot(r->connection), WS_M_HANDSHAKES_REFUSED, 1);
        return HTTP_FORBIDDEN;
    }
    if (!admitted(r, &set))
        return HTTP_SERVICE_UNAVAILABLE;

    st = new_state(r, plugin, dconf);
    if (st == NULL) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "OSRFWS01011: cannot set up the connection");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* a plugin's thread may send as soon as on_connect starts it: its
     * frames wait in the outbox until the 101 is out */
    apr_thread_mutex_lock(st->io);
    if (plugin->on_connect) {
        st->plugin_private = plugin->on_connect(&st->server);
        if (st->plugin_private == NULL) {
            apr_thread_mutex_unlock(st->io);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "OSRFWS01012: the plugin refused the connection");
            ws_metric_add(st->metrics, WS_M_HANDSHAKES_REFUSED, 1);
            return HTTP_SERVICE_UNAVAILABLE;
        }
    }
    send_switching_protocols(st);
    apr_thread_mutex_unlock(st->io);
    ws_metric_add(st->metrics, WS_M_CONNECTIONS, 1);
    ws_metric_add(st->metrics, WS_M_CONNECTIONS_OPEN, 1);
    run_connection(st);

    /* senders blocked in send give up before the plugin lets go */
    apr_thread_mutex_lock(st->lock);
    st->closed = 1;
    apr_thread_cond_broadcast(st->drained);
    apr_thread_mutex_unlock(st->lock);
    apr_thread_mutex_lock(st->io);      /* a write under way ends first */
    apr_thread_mutex_unlock(st->io);
    if (plugin->on_disconnect)
        plugin->on_disconnect(st->plugin_private, &st->server);
    ws_metric_add(st->metrics, WS_M_CONNECTIONS_OPEN, -1);
    /* the child may now wait hours for its next connection: what this
     * one held goes back now, not when the request pool goes */
    apr_pool_cleanup_run(r->pool, st, free_state_buffers);
    malloc_trim(0);

    /* the connection is done: Apache must write nothing more on it */
    r->connection->keepalive = AP_CONN_CLOSE;
    r->connection->aborted = 1;
    return OK;
}

static int ws_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *s)
{
    (void)pconf;
    (void)plog;
    (void)ptemp;
    ws_prefork_warm_up(s);
    return ws_status_post_config(s);
}

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    APR_REGISTER_OPTIONAL_FN(ws_server_metrics);
    APR_REGISTER_OPTIONAL_FN(ws_server_on_shutdown);
    APR_REGISTER_OPTIONAL_FN(ws_server_room);
    ap_hook_post_config(ws_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(ws_status_monitor, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ws_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_REGISTER_OPTIONAL_FN(osrf_ws_trust_proxy);
}

AP_DECLARE_MODULE(osrf_websocket) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    merge_dir_conf,
    create_server_conf,
    merge_server_conf,
    ws_commands,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
