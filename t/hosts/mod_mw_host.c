/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mod_mw_host.c - a test-only Apache module that hosts WebSocket plugins
 * the way mod_websocket does, so the tests can check that our plugins
 * (the OpenSRF bridge first) run there, in an Apache without
 * mod_osrf_websocket.  Built for the tests only, never installed.
 *
 * What it keeps of mod_websocket, since that is what a plugin meets:
 *   - `WebSocketHandler library init-function` inside <Location> or
 *     <Directory> (OR_AUTHCFG), with `SetHandler websocket-handler`; the
 *     library path is relative to ServerRoot; no merging of sections;
 *   - the library is loaded alone (apr_dso_load: dlopen with RTLD_NOW, so
 *     a symbol only another module has stops the start) and its init
 *     function must return plugin version 0, a struct at least as large
 *     as WebSocketPlugin, and an on_message callback;
 *   - on_connect gets server version 1, a server struct of exactly
 *     mod_websocket's size, and the request; a NULL return refuses (403);
 *   - no APR optional functions: the plugin finds no extension;
 *   - send and close from any thread, one frame at a time under a mutex;
 *     send of MESSAGE_TYPE_CLOSE writes a close frame with the payload
 *     given; close writes one without payload; after either, and after
 *     the connection ends, send writes nothing and returns 0.
 * The framing itself is our codec's (ws_codec.h), over the raw socket:
 * one thread reads, any thread writes whole frames under the mutex.
 */
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_protocol.h"

#include "apr_dso.h"
#include "apr_strings.h"
#include "apr_thread_mutex.h"

#include "websocket_plugin.h"
#include "ws_codec.h"

module AP_MODULE_DECLARE_DATA mw_host_module;

#define HOST_HANDLER     "websocket-handler"
#define HOST_MAX_MESSAGE (32 * 1024 * 1024)   /* mod_websocket's default */
#define HOST_READ_CHUNK  16384

typedef struct {
    WebSocketPlugin *plugin;
} host_dir_conf;

/* Only sections get a configuration: the directive means nothing at
 * server level. */
static void *create_dir_conf(apr_pool_t *p, char *path)
{
    return path ? apr_pcalloc(p, sizeof(host_dir_conf)) : NULL;
}

static apr_status_t destroy_plugin(void *data)
{
    WebSocketPlugin *plugin = data;

    if (plugin->destroy)
        plugin->destroy(plugin);
    return APR_SUCCESS;
}

static const char *set_handler(cmd_parms *cmd, void *dconf, const char *path,
                               const char *init_name)
{
    host_dir_conf *conf = dconf;
    apr_dso_handle_t *dso;
    apr_dso_handle_sym_t sym;
    WebSocketPlugin *plugin;
    char err[256];

    if (conf == NULL)
        return "WebSocketHandler belongs in a <Location> or <Directory>";
    if (apr_dso_load(&dso, ap_server_root_relative(cmd->pool, path), cmd->pool)
        != APR_SUCCESS)
        return apr_psprintf(cmd->pool, "Could not open WebSocket handler module: %s",
                            apr_dso_error(dso, err, sizeof(err)));
    if (apr_dso_sym(&sym, dso, init_name) != APR_SUCCESS)
        return "Could not find initialization function in module";
    plugin = ((WS_Init)sym)();
    if (plugin == NULL || plugin->version != WEBSOCKET_PLUGIN_VERSION_0
        || plugin->size < sizeof(WebSocketPlugin) || plugin->on_message == NULL)
        return "Invalid response from initialization function";
    apr_pool_cleanup_register(cmd->pool, plugin, destroy_plugin, apr_pool_cleanup_null);
    conf->plugin = plugin;
    return NULL;
}

/* --- the server handle ------------------------------------------------ */

struct _WebSocketState {
    request_rec *r;
    apr_socket_t *sock;
    apr_thread_mutex_t *mutex;      /* one frame at a time; guards closing */
    int closing;                    /* a close frame went out, or the end */
    apr_array_header_t *protocols;  /* offered, of const char * */
    WebSocketPlugin *plugin;
    void *plugin_private;
    WebSocketServer server;
};
typedef struct _WebSocketState host_conn;

static request_rec *CALLBACK host_request(const WebSocketServer *server)
{
    return server->state->r;
}

static const char *CALLBACK host_header_get(const WebSocketServer *server,
                                            const char *key)
{
    return apr_table_get(server->state->r->headers_in, key);
}

static void CALLBACK host_header_set(const WebSocketServer *server,
                                     const char *key, const char *value)
{
    apr_table_set(server->state->r->headers_out, key, value);
}

static size_t CALLBACK host_protocol_count(const WebSocketServer *server)
{
    return (size_t)server->state->protocols->nelts;
}

static const char *CALLBACK host_protocol_index(const WebSocketServer *server,
                                                const size_t index)
{
    apr_array_header_t *a = server->state->protocols;

    return index < (size_t)a->nelts ? APR_ARRAY_IDX(a, index, const char *) : NULL;
}

static void CALLBACK host_protocol_set(const WebSocketServer *server,
                                       const char *protocol)
{
    apr_table_set(server->state->r->headers_out, "Sec-WebSocket-Protocol", protocol);
}

static apr_status_t write_all(apr_socket_t *sock, const unsigned char *p, apr_size_t n)
{
    apr_status_t rv = APR_SUCCESS;

    while (n > 0 && rv == APR_SUCCESS) {
        apr_size_t len = n;

        rv = apr_socket_send(sock, (const char *)p, &len);
        p += len;
        n -= len;
    }
    return rv;
}

static unsigned opcode_of(int type)
{
    switch (type) {
    case MESSAGE_TYPE_TEXT:   return WS_OP_TEXT;
    case MESSAGE_TYPE_BINARY: return WS_OP_BINARY;
    case MESSAGE_TYPE_PING:   return WS_OP_PING;
    case MESSAGE_TYPE_PONG:   return WS_OP_PONG;
    default:                  return WS_OP_CLOSE;
    }
}

static size_t CALLBACK host_send(const WebSocketServer *server, const int type,
                                 const unsigned char *buffer, const size_t buffer_size)
{
    host_conn *hc = server->state;
    unsigned char header[WS_MAX_HEADER_SIZE];
    unsigned opcode = opcode_of(type);
    size_t sent = 0;

    apr_thread_mutex_lock(hc->mutex);
    if (!hc->closing) {
        hc->closing = opcode == WS_OP_CLOSE;
        if (write_all(hc->sock, header, ws_frame_header(header, WS_FIN, opcode,
                                                        buffer_size, NULL)) == APR_SUCCESS
            && write_all(hc->sock, buffer, buffer_size) == APR_SUCCESS)
            sent = buffer_size;
    }
    apr_thread_mutex_unlock(hc->mutex);
    return sent;
}

static void CALLBACK host_close(const WebSocketServer *server)
{
    host_send(server, MESSAGE_TYPE_CLOSE, NULL, 0);
}

/* --- reading (the request's thread) ------------------------------------ */

static int on_message(void *ud, unsigned opcode, unsigned flags,
                      unsigned char *data, size_t len)
{
    host_conn *hc = ud;

    (void)flags;
    hc->plugin->on_message(hc->plugin_private, &hc->server,
                           opcode == WS_OP_TEXT ? MESSAGE_TYPE_TEXT : MESSAGE_TYPE_BINARY,
                           data, len);
    return 0;
}

static int on_ping(void *ud, const unsigned char *data, size_t len)
{
    host_conn *hc = ud;

    host_send(&hc->server, MESSAGE_TYPE_PONG, data, len);
    return 0;
}

static int on_pong(void *ud, const unsigned char *data, size_t len)
{
    (void)ud;
    (void)data;
    (void)len;
    return 0;
}

static int on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    (void)ud;
    (void)code;
    (void)reason;
    (void)len;
    return 1;       /* the client's close ends the reading */
}

static const ws_reader_callbacks host_callbacks = { on_message, on_ping, on_pong, on_close };

/* Reads until the client closes, breaks the protocol or goes away, then
 * answers with a close frame (ignored if one went out already). */
static void read_frames(host_conn *hc)
{
    ws_reader_config rcfg = { HOST_MAX_MESSAGE, 0, 1 };
    ws_reader *reader = ws_reader_new(&rcfg, &host_callbacks, hc);
    unsigned char buf[HOST_READ_CHUNK], payload[WS_MAX_CONTROL_PAYLOAD];
    ws_status status = WS_OK;
    unsigned code;

    while (reader && status == WS_OK) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(hc->sock, (char *)buf, &len);

        if (len > 0)
            status = ws_reader_feed(reader, buf, len);
        if (rv != APR_SUCCESS)
            break;
    }
    code = status == WS_OK || status == WS_ERR_STOPPED ? WS_CLOSE_NORMAL
                                                       : ws_status_close_code(status);
    host_send(&hc->server, MESSAGE_TYPE_CLOSE, payload,
              ws_close_payload(payload, code, ""));
    ws_reader_free(reader);
}

/* --- the handshake ------------------------------------------------------ */

/* The offered subprotocols, split as mod_websocket splits them. */
static apr_array_header_t *offered_protocols(request_rec *r)
{
    apr_array_header_t *a = apr_array_make(r->pool, 2, sizeof(char *));
    const char *value = apr_table_get(r->headers_in, "Sec-WebSocket-Protocol");
    char *state, *p;

    for (p = value ? apr_strtok(apr_pstrdup(r->pool, value), ", \t", &state) : NULL;
         p != NULL; p = apr_strtok(NULL, ", \t", &state))
        APR_ARRAY_PUSH(a, char *) = p;
    return a;
}

static host_conn *new_conn(request_rec *r, WebSocketPlugin *plugin)
{
    host_conn *hc = apr_pcalloc(r->pool, sizeof(*hc));
    const WebSocketServer server = {
        sizeof(WebSocketServer), WEBSOCKET_SERVER_VERSION_1, hc,
        host_request, host_header_get, host_header_set,
        host_protocol_count, host_protocol_index, host_protocol_set,
        host_send, host_close
    };

    hc->r = r;
    hc->sock = ap_get_conn_socket(r->connection);
    hc->plugin = plugin;
    hc->protocols = offered_protocols(r);
    hc->server = server;
    if (apr_thread_mutex_create(&hc->mutex, APR_THREAD_MUTEX_DEFAULT, r->pool)
        != APR_SUCCESS)
        return NULL;
    return hc;
}

/* The answer's headers go in before on_connect, as in mod_websocket, so
 * the plugin's header_set and protocol_set add to or replace them. */
static void prepare_answer(host_conn *hc)
{
    char accept[29];

    ws_accept_key(apr_table_get(hc->r->headers_in, "Sec-WebSocket-Key"), accept);
    apr_table_clear(hc->r->headers_out);
    apr_table_setn(hc->r->headers_out, "Upgrade", "websocket");
    apr_table_setn(hc->r->headers_out, "Connection", "Upgrade");
    apr_table_set(hc->r->headers_out, "Sec-WebSocket-Accept", accept);
    if (hc->protocols->nelts > 0)   /* the first offered, unless the plugin chooses */
        host_protocol_set(&hc->server, APR_ARRAY_IDX(hc->protocols, 0, const char *));
}

static int host_handler(request_rec *r)
{
    host_dir_conf *conf = ap_get_module_config(r->per_dir_config, &mw_host_module);
    ws_handshake_request hs = {
        r->method, r->proto_num, apr_table_get(r->headers_in, "Upgrade"),
        apr_table_get(r->headers_in, "Connection"),
        apr_table_get(r->headers_in, "Sec-WebSocket-Key"),
        apr_table_get(r->headers_in, "Sec-WebSocket-Version")
    };
    const char *why;
    host_conn *hc;
    int status;

    if (r->handler == NULL || strcmp(r->handler, HOST_HANDLER) != 0
        || conf == NULL || conf->plugin == NULL)
        return DECLINED;
    if ((status = ws_handshake_check(&hs, &why)) != 0)
        return status;
    if ((hc = new_conn(r, conf->plugin)) == NULL)
        return HTTP_INTERNAL_SERVER_ERROR;
    prepare_answer(hc);

    /* a thread the plugin starts in on_connect may send at once: its
     * frames wait for the mutex until the 101 is out */
    apr_thread_mutex_lock(hc->mutex);
    if (conf->plugin->on_connect
        && (hc->plugin_private = conf->plugin->on_connect(&hc->server)) == NULL) {
        apr_thread_mutex_unlock(hc->mutex);
        apr_table_clear(r->headers_out);
        return HTTP_FORBIDDEN;
    }
    r->status = HTTP_SWITCHING_PROTOCOLS;
    r->status_line = ap_get_status_line(r->status);
    ap_send_interim_response(r, 1);
    apr_socket_timeout_set(hc->sock, -1);   /* as mod_websocket: no timeout */
    apr_thread_mutex_unlock(hc->mutex);

    read_frames(hc);
    apr_thread_mutex_lock(hc->mutex);
    hc->closing = 1;                        /* send does nothing from now on */
    apr_thread_mutex_unlock(hc->mutex);
    if (conf->plugin->on_disconnect)
        conf->plugin->on_disconnect(hc->plugin_private, &hc->server);

    /* the connection is done: Apache must write nothing more on it */
    r->connection->keepalive = AP_CONN_CLOSE;
    r->connection->aborted = 1;
    return OK;
}

static const command_rec host_commands[] = {
    AP_INIT_TAKE2("WebSocketHandler", set_handler, NULL, OR_AUTHCFG,
                  "plugin library and its initialization function"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

static void register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_handler(host_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

AP_DECLARE_MODULE(mw_host) = {
    STANDARD20_MODULE_STUFF,
    create_dir_conf,
    NULL,       /* no merging: the innermost section's handler wins */
    NULL,
    NULL,
    host_commands,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
