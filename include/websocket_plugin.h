/*
 * websocket_plugin.h - the plugin interface of mod_osrf_websocket.
 *
 * Binary compatible with mod_websocket's interface of the same name: a
 * plugin built against either header loads in either module.  Everything
 * below the "extensions" line is ours; a plugin must check server->size
 * (and plugin->version on our side) before touching it, so that it still
 * runs under mod_websocket.
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
 * closed.  May block while the outgoing queue is full (back-pressure). */
typedef size_t (CALLBACK *WS_Send)(
    const struct _WebSocketServer *server, const int type,
    const unsigned char *buffer, const size_t buffer_size);
/* Starts the closing handshake with code 1000. */
typedef void (CALLBACK *WS_Close)(const struct _WebSocketServer *server);

/* --- extensions (mod_osrf_websocket only) --- */

/* Starts the closing handshake with a code and a reason (UTF-8, cut to
 * fit a control frame). */
typedef void (CALLBACK *WS_Close_With)(
    const struct _WebSocketServer *server, const int code, const char *reason);

struct ws_metrics_slot;

/* The calling child's counters (ws_metrics.h), or NULL unless version is
 * the module's WS_METRICS_VERSION.  The slot stays valid for the child's
 * life, after on_disconnect too, and may be updated from any thread. */
typedef struct ws_metrics_slot *(CALLBACK *WS_Metrics)(
    const struct _WebSocketServer *server, unsigned int version);

/* Bytes the caller may still send without waiting: the queue's bound
 * (WebSocketMaxQueuedBytes) less what waits to be written to the client.
 * A thread that keeps within it never waits on a client that does not
 * read (the connection thread alone does, up to WebSocketSendTimeout). */
typedef size_t (CALLBACK *WS_Room)(const struct _WebSocketServer *server);

#define WEBSOCKET_SERVER_VERSION_1 1
#define WEBSOCKET_SERVER_VERSION_OSRF 2   /* adds close_with */
#define WEBSOCKET_SERVER_VERSION_METRICS 3  /* adds metrics */
#define WEBSOCKET_SERVER_VERSION_ROOM 4     /* adds room */

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
    /* extensions: present when size reaches them */
    WS_Close_With close_with;
    WS_Metrics metrics;
    WS_Room room;
} WebSocketServer;

#define WS_SERVER_HAS(server, field)                                        \
    ((server)->size >= offsetof(WebSocketServer, field)                     \
                       + sizeof(((WebSocketServer *)0)->field)              \
     && (server)->field != NULL)

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

/* --- extensions (mod_osrf_websocket only) --- */

/* The child is stopping (graceful restart or stop).  Called once, on the
 * connection thread.  A plugin that has it closes the connection itself
 * (close_with 1001) once its work in flight is done; for a plugin without
 * it, the module closes at once with 1001. */
typedef void (CALLBACK *WS_OnShutdown)(
    void *plugin_private, const WebSocketServer *server);

#define WEBSOCKET_PLUGIN_VERSION_0 0
#define WEBSOCKET_PLUGIN_VERSION_OSRF 1   /* adds on_shutdown */

typedef struct _WebSocketPlugin {
    unsigned int size;
    unsigned int version;
    WS_Destroy destroy;
    WS_OnConnect on_connect;
    WS_OnMessage on_message;
    WS_OnDisconnect on_disconnect;
    /* extensions: present when version >= WEBSOCKET_PLUGIN_VERSION_OSRF */
    WS_OnShutdown on_shutdown;
} WebSocketPlugin;

#if defined(__cplusplus)
}
#endif

#endif /* WEBSOCKET_PLUGIN_H */
