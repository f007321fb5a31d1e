/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_plugin_api.h - what mod_osrf_websocket gives its plugins (internal
 * to the module): loading a plugin, the server handle of a connection
 * (websocket_plugin.h's callbacks) and the extensions offered as APR
 * optional functions.
 */
#ifndef WS_PLUGIN_API_H
#define WS_PLUGIN_API_H

#include "httpd.h"
#include "http_config.h"

#include "websocket_plugin.h"

/* Loads a plugin for WebSocketHandler: NULL, or why not.  Loaded in the
 * parent, so a bad path or symbol stops the start and every child shares
 * the loaded code; destroyed with cmd->pool. */
const char *ws_plugin_load(cmd_parms *cmd, const char *path,
                           const char *init_name, WebSocketPlugin **out);

/* Fills in the server handle of connection st. */
void ws_plugin_api_init(WebSocketServer *server, struct _WebSocketState *st);

/* Registers the optional functions (ws_server_metrics, ws_server_room,
 * ws_server_on_shutdown), from register_hooks. */
void ws_plugin_api_register(void);

#endif /* WS_PLUGIN_API_H */
