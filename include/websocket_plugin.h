/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * websocket_plugin.h - the plugin interface of mod_osrf_websocket.
 *
 * The structs below are mod_websocket's, field for field: a plugin built
 * against either header loads in either module, and a plugin sees here
 * exactly what mod_websocket gives it (server version 1, the server
 * struct of that size).  A host accepts plugin version 0 only, with an
 * on_message callback, as mod_websocket does.
 *
 * Our extensions (the child's counters, a shutdown hook) are not in the
 * structs: a plugin asks for them with
 * APR_RETRIEVE_OPTIONAL_FN (declared at the end).  Under mod_websocket the
 * functions are not registered, the retrieval gives NULL, and the plugin
 * goes on without them; so one .so serves both modules.
 *
 * Threads: every callback runs on the connection's own thread.  send and
 * close may be called from any thread of the child (a plugin's own
 * listener thread, typically) until on_disconnect returns; after that they
 * do nothing and send returns 0.
 */
#ifndef WEBSOCKET_PLUGIN_H
#define WEBSOCKET_PLUGIN_H

#include <stddef.h>
#include <stdlib.h>

#include "apr_optional.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define EXPORT
#define CALLBACK

/* Message types, as mod_websocket numbers them. */
#define MESSAGE_TYPE_INVALID  -1
#define MESSAGE_TYPE_TEXT      0
#define MESSAGE_TYPE_BINARY  128
#define MESSAGE_TYPE_CLOSE   255
#define MESSAGE_TYPE_PING    256
#define MESSAGE_TYPE_PONG    257

struct _WebSocketServer;
struct request_rec;

typedef struct request_rec *(CALLBACK *WS_Request)(
    const struct _WebSocketServer *server);
typedef const char *(CALLBACK *WS_Header_Get)(
    const struct _WebSocketServer *server, const char *key);
typedef void (CALLBACK *WS_Header_Set)(
    const struct _WebSocketServer *server, const char *key, const char *value);
typedef size_t (CALLBACK *WS_Protocol_Count)(
    const struct _WebSocketServer *server);
typedef const char *(CALLBACK *WS_Protocol_Index)(
    const struct _WebSocketServer *server, const size_t index);
typedef void (CALLBACK *WS_Protocol_Set)(
    const struct _WebSocketServer *server, const char *protocol);
/* Sends one whole message; returns buffer_size, or 0 if the connection is
 * closed.  May block while the outgoing queue is full (back-pressure).
 * MESSAGE_TYPE_CLOSE starts the closing handshake with the payload as the
 * close frame's (a 2-byte code, then a UTF-8 reason), as in mod_websocket;
 * it returns 0 here. */
typedef size_t (CALLBACK *WS_Send)(
    const struct _WebSocketServer *server, const int type,
    const unsigned char *buffer, const size_t buffer_size);
/* Starts the closing handshake with code 1000. */
typedef void (CALLBACK *WS_Close)(const struct _WebSocketServer *server);

#define WEBSOCKET_SERVER_VERSION_1 1

typedef struct _WebSocketServer {
    unsigned int size;
    unsigned int version;
    struct _WebSocketState *state;
    WS_Request request;
    WS_Header_Get header_get;
    WS_Header_Set header_set;
    WS_Protocol_Count protocol_count;
    WS_Protocol_Index protocol_index;
    WS_Protocol_Set protocol_set;
    WS_Send send;
    WS_Close close;
} WebSocketServer;

struct _WebSocketPlugin;

typedef struct _WebSocketPlugin *(CALLBACK *WS_Init)(void);
typedef void (CALLBACK *WS_Destroy)(struct _WebSocketPlugin *plugin);

/* Returns the plugin's per-connection data; NULL refuses the connection
 * (no upgrade happens). */
typedef void *(CALLBACK *WS_OnConnect)(const WebSocketServer *server);
typedef size_t (CALLBACK *WS_OnMessage)(
    void *plugin_private, const WebSocketServer *server, const int type,
    unsigned char *buffer, const size_t buffer_size);
typedef void (CALLBACK *WS_OnDisconnect)(
    void *plugin_private, const WebSocketServer *server);

#define WEBSOCKET_PLUGIN_VERSION_0 0

typedef struct _WebSocketPlugin {
    unsigned int size;
    unsigned int version;
    WS_Destroy destroy;
    WS_OnConnect on_connect;
    WS_OnMessage on_message;
    WS_OnDisconnect on_disconnect;
} WebSocketPlugin;

/* --- extensions (mod_osrf_websocket only) --------------------------------
 *
 * Not new versions of the structs: mod_websocket refuses any plugin version
 * but 0, and its plugins (its examples first) refuse any server version but
 * 1, so both stay there and the extensions stand beside them.
 *
 * Registered by mod_osrf_websocket when it is loaded; retrieved by a plugin
 * with APR_RETRIEVE_OPTIONAL_FN(name), typically in on_connect, on the
 * connection thread.  NULL means the host does not offer it (mod_websocket,
 * say): the plugin then does without.  Each takes the server handle the
 * plugin was given and does nothing with a handle of another host.
 *
 *     APR_OPTIONAL_FN_TYPE(ws_server_metrics) *metrics
 *         = APR_RETRIEVE_OPTIONAL_FN(ws_server_metrics);
 *     slot = metrics ? metrics(server, WS_METRICS_VERSION) : NULL;
 */

/* Bytes the plugin may still send without waiting: the queue's bound
 * (WebSocketMaxQueuedBytes) less what waits to be written to the client.
 * A thread that keeps within it never waits on a client that does not
 * read (the connection thread alone does, up to WebSocketSendTimeout). */
APR_DECLARE_OPTIONAL_FN(size_t, ws_server_room, (const WebSocketServer *server));

struct ws_metrics_slot;

/* The calling child's counters (ws_metrics.h), or NULL unless version is
 * the module's WS_METRICS_VERSION.  The slot stays valid for the child's
 * life, after on_disconnect too, and may be updated from any thread. */
APR_DECLARE_OPTIONAL_FN(struct ws_metrics_slot *, ws_server_metrics,
                        (const WebSocketServer *server, unsigned int version));

/* The child is stopping (graceful restart or stop): called once, on the
 * connection thread.  A plugin that has it closes the connection itself
 * (a close message of code 1001) once its work in flight is done; for a
 * plugin without it, the module closes at once with 1001. */
typedef void (CALLBACK *WS_OnShutdown)(
    void *plugin_private, const WebSocketServer *server);

/* Asks for on_shutdown on this connection; called from on_connect. */
APR_DECLARE_OPTIONAL_FN(void, ws_server_on_shutdown,
                        (const WebSocketServer *server,
                         WS_OnShutdown on_shutdown));

#if defined(__cplusplus)
}
#endif

#endif /* WEBSOCKET_PLUGIN_H */
