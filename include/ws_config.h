/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_config.h - mod_osrf_websocket's configuration (internal to the
 * module): the directives, the per-directory and per-server structs with
 * their create and merge, and the effective settings of a connection.
 *
 * Every per-directory field is UNSET until a directive sets it; merging
 * takes the inner section's value when set, and ws_config_settings fills
 * in the defaults.  A directive's setter checks its value (ws_number.h)
 * and returns an error string: Apache then refuses to start and names
 * the line.
 */
#ifndef WS_CONFIG_H
#define WS_CONFIG_H

#include "httpd.h"
#include "http_config.h"

#include "websocket_plugin.h"
#include "ws_deflate.h"

extern module AP_MODULE_DECLARE_DATA osrf_websocket_module;

/* mod_websocket's handler name, for its form of WebSocketHandler. */
#define WS_HANDLER_NAME   "websocket-handler"

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

/* The module record's configuration entries. */
void *ws_config_create_dir(apr_pool_t *p, char *dir);
void *ws_config_merge_dir(apr_pool_t *p, void *basev, void *addv);
void *ws_config_create_server(apr_pool_t *p, server_rec *s);
void *ws_config_merge_server(apr_pool_t *p, void *basev, void *addv);
extern const command_rec ws_config_commands[];

/* Registers osrf_ws_trust_proxy (ws_reserve.h), from register_hooks. */
void ws_config_register(void);

void ws_config_settings(const ws_dir_conf *conf, ws_settings *set);

#endif /* WS_CONFIG_H */
