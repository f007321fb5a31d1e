/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_conf.h - the OpenSRF bridge's configuration, a per-server
 * configuration of its Apache module (osrf_ws_bridge_module).
 *
 * Each setting is an OSRFWebSocket* directive, else the environment
 * variable the original gateway read, else its default (docs/PROTOCOL.md
 * section 7).  A virtual host's directives win over the server-wide ones.
 * Three settings belong to the instance, not to a server: the bus and its
 * listener are a child's, shared by every connection it serves
 * (ConfigFile, ConfigContext, IdleCheckInterval: refused in <VirtualHost>).
 *
 * Under mod_websocket without LoadModule the bridge is no Apache module:
 * no directive reaches it, the environment and the defaults apply, and its
 * init function makes the start checks (osrf_bridge_plugin_check).
 *
 * These functions run in the parent (the configuration and the start
 * checks) and on a child's connection thread (osrf_bridge_settings, on
 * each connection); they keep no state of their own.
 */
#ifndef OSRF_BRIDGE_CONF_H
#define OSRF_BRIDGE_CONF_H

#include <stddef.h>

#include "httpd.h"
#include "http_config.h"

#include "osrf_flight.h"

/* The most OSRFWebSocketMaxSessions and OSRFWebSocketMaxInFlight allow
 * (and their defaults): the bridge's tables have room for this many. */

/* The settings.  In a server's configuration, what its directives set
 * (OSRF_BRIDGE_UNSET or NULL: not given); from osrf_bridge_settings, the
 * effective ones. */
typedef struct {
    const char *config_file;
    const char *config_context;
    int idle_timeout;
    int idle_check_interval;
    int max_request_wait;
    int max_sessions;
    int max_in_flight;
    apr_array_header_t *trusted_proxies;    /* of const char *; may be NULL */
    const char *ingress;
} bridge_settings;

#define OSRF_BRIDGE_UNSET -1

extern module AP_MODULE_DECLARE_DATA osrf_ws_bridge_module;

/* The module record's configuration slots and directives. */
void *osrf_bridge_create_server_config(apr_pool_t *p, server_rec *s);
void *osrf_bridge_merge_server_config(apr_pool_t *p, void *basev, void *addv);
extern const command_rec osrf_bridge_commands[];

/* The effective settings for connections to server s (its strings live
 * as long as the configuration): 0, or -1 and why[n], a numbered line
 * (an environment value that is not a number in its range). */
int osrf_bridge_settings(server_rec *s, bridge_settings *out, char *why, size_t n);

/* The policy's limits (osrf_flight.h) of these settings. */
void osrf_bridge_limits(const bridge_settings *set, osrf_flight_limits *lim);

/* The check_config hook: refuses the start (apachectl -t as well) under
 * a threaded MPM or with an environment value out of its range, logging
 * why. */
int osrf_bridge_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);

/* The same checks from the plugin's init function, when the bridge is not
 * an Apache module (no hook of its own runs): 1 if it may run, else 0,
 * why logged. */
int osrf_bridge_plugin_check(void);

#endif
