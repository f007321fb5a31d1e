/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_config.c - mod_osrf_websocket's directives, their create and merge,
 * and the effective settings (see ws_config.h).
 */
#include "httpd.h"
#include "http_config.h"

#include "apr_strings.h"

#include "ws_config.h"
#include "ws_number.h"
#include "ws_plugin_api.h"
#include "ws_reserve.h"
#include "ws_status.h"

#define UNSET             -1

void *ws_config_create_dir(apr_pool_t *p, char *dir)
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

void *ws_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
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

void *ws_config_create_server(apr_pool_t *p, server_rec *s)
{
    ws_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->locations = apr_array_make(p, 2, sizeof(ws_location));
    return conf;
}

void *ws_config_merge_server(apr_pool_t *p, void *basev, void *addv)
{
    ws_server_conf *base = basev, *add = addv;
    ws_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->locations = apr_array_append(p, add->locations, base->locations);
    conf->trusted = add->trusted ? add->trusted : base->trusted;
    return conf;
}

void ws_config_settings(const ws_dir_conf *conf, ws_settings *set)
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

static const char *set_handler(cmd_parms *cmd, void *dconf, const char *a1,
                               const char *a2, const char *a3)
{
    ws_dir_conf *conf = dconf;

    if (a3 == NULL) {
        /* mod_websocket's form, inside <Location> with SetHandler */
        conf->plugin_path = a1;
        return ws_plugin_load(cmd, a1, a2, &conf->plugin);
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
        return ws_plugin_load(cmd, a2, a3, &loc->plugin);
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

void ws_config_register(void)
{
    APR_REGISTER_OPTIONAL_FN(osrf_ws_trust_proxy);
}

const command_rec ws_config_commands[] = {
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
