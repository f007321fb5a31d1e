/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_echo_plugin.c - sends every text or binary message straight back.
 * The conformance tests run against it.
 */
#include "websocket_plugin.h"

static int connection_token;

static void *CALLBACK echo_on_connect(const WebSocketServer *server)
{
    (void)server;
    return &connection_token;   /* non-NULL: accept */
}

static size_t CALLBACK echo_on_message(void *plugin_private,
                                       const WebSocketServer *server,
                                       const int type, unsigned char *buffer,
                                       const size_t buffer_size)
{
    (void)plugin_private;
    return server->send(server, type, buffer, buffer_size);
}

static WebSocketPlugin echo_plugin = {
    sizeof(WebSocketPlugin),
    WEBSOCKET_PLUGIN_VERSION_0,
    NULL,                       /* destroy */
    echo_on_connect,
    echo_on_message,
    NULL                        /* on_disconnect */
};

extern EXPORT WebSocketPlugin *CALLBACK echo_init(void);

EXPORT WebSocketPlugin *CALLBACK echo_init(void)
{
    return &echo_plugin;
}
