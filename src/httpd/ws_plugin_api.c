/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_plugin_api.c - what mod_osrf_websocket gives its plugins: loading
 * them, the server handle's callbacks and the extensions (see
 * ws_plugin_api.h and websocket_plugin.h).  The handle's send and close
 * may be called from any thread of the child; the rest run on the
 * connection thread.
 */
#include "httpd.h"
#include "http_config.h"

#include "apr_dso.h"
#include "apr_strings.h"

#include "ws_codec.h"
#include "ws_conn.h"
#include "ws_plugin_api.h"

static apr_status_t destroy_plugin(void *data)
{
    WebSocketPlugin *plugin = data;

    if (plugin->destroy)
        plugin->destroy(plugin);
    return APR_SUCCESS;
}

/* What is accepted is what mod_websocket accepts (plugin version 0, at
 * least its struct, an on_message callback): a plugin that loads here
 * loads there. */
const char *ws_plugin_load(cmd_parms *cmd, const char *path,
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
    ws_conn_close(st, code, reason);
}

static size_t CALLBACK srv_send(const WebSocketServer *server, const int type,
                                const unsigned char *buffer,
                                const size_t buffer_size)
{
    unsigned opcode;

    switch (type) {
    case MESSAGE_TYPE_TEXT:   opcode = WS_OP_TEXT; break;
    case MESSAGE_TYPE_BINARY: opcode = WS_OP_BINARY; break;
    case MESSAGE_TYPE_PING:   opcode = WS_OP_PING; break;
    case MESSAGE_TYPE_PONG:   opcode = WS_OP_PONG; break;
    case MESSAGE_TYPE_CLOSE:
        request_close_as_sent(server->state, buffer, buffer_size);
        return 0;
    default:
        return 0;
    }
    return ws_conn_send(server->state, opcode, buffer, buffer_size);
}

static void CALLBACK srv_close(const WebSocketServer *server)
{
    ws_conn_close(server->state, WS_CLOSE_NORMAL, "");
}

void ws_plugin_api_init(WebSocketServer *server, WebSocketState *st)
{
    server->size = sizeof(WebSocketServer);
    server->version = WEBSOCKET_SERVER_VERSION_1;
    server->state = st;
    server->request = srv_request;
    server->header_get = srv_header_get;
    server->header_set = srv_header_set;
    server->protocol_count = srv_protocol_count;
    server->protocol_index = srv_protocol_index;
    server->protocol_set = srv_protocol_set;
    server->send = srv_send;
    server->close = srv_close;
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
    return our_server(server) ? ws_conn_room(server->state) : (size_t)-1;
}

static void ws_server_on_shutdown(const WebSocketServer *server,
                                  WS_OnShutdown on_shutdown)
{
    if (our_server(server))
        server->state->on_shutdown = on_shutdown;
}

void ws_plugin_api_register(void)
{
    APR_REGISTER_OPTIONAL_FN(ws_server_metrics);
    APR_REGISTER_OPTIONAL_FN(ws_server_on_shutdown);
    APR_REGISTER_OPTIONAL_FN(ws_server_room);
}
