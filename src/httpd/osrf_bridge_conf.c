/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_conf.c - the OpenSRF bridge's configuration: its directives
 * (per server, merged), the environment values they fall back on, read
 * with the one number parser (ws_number.h), and the checks that refuse a
 * start.  The contract is in osrf_bridge_conf.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mpm.h"

#include "apr_strings.h"

#include "osrf_bridge.h"
#include "osrf_bridge_conf.h"
#include "ws_number.h"
#include "ws_prefork.h"
#include "ws_reserve.h"

APLOG_USE_MODULE(osrf_ws_bridge);

#define UNSET          OSRF_BRIDGE_UNSET
#define MAX_SECONDS    1000000
#define MAX_INGRESS    64
/* room for a numbered line naming a variable, its value and its range */
#define WHY_MAX        512

/* A number setting: where it goes, its range (from 1), the environment
 * variable it falls back on (NULL: none) and its default.  instance: one
 * per instance, refused in a <VirtualHost> (see the header). */
typedef struct {
    size_t field;
    int max;
    const char *env;
    int fallback;
    int instance;
} number_setting;

enum { IDLE_TIMEOUT, IDLE_CHECK_INTERVAL, MAX_REQUEST_WAIT, MAX_SESSIONS_SET,
       MAX_IN_FLIGHT_SET, NUMBERS };

#define FIELD(f) APR_OFFSETOF(bridge_settings, f)

static const number_setting numbers[NUMBERS] = {
    [IDLE_TIMEOUT] = { FIELD(idle_timeout), MAX_SECONDS,
                       "OSRF_WEBSOCKET_IDLE_TIMEOUT", 120, 0 },
    [IDLE_CHECK_INTERVAL] = { FIELD(idle_check_interval), MAX_SECONDS,
                              "OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL", 5, 1 },
    [MAX_REQUEST_WAIT] = { FIELD(max_request_wait), MAX_SECONDS,
                           "OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME", 600, 0 },
    [MAX_SESSIONS_SET] = { FIELD(max_sessions), OSRF_FLIGHT_MAX_SESSIONS, NULL,
                           OSRF_FLIGHT_MAX_SESSIONS, 0 },
    [MAX_IN_FLIGHT_SET] = { FIELD(max_in_flight), OSRF_FLIGHT_MAX_PENDING, NULL,
                            OSRF_FLIGHT_MAX_PENDING, 0 },
};

static int *number_field(bridge_settings *set, const number_setting *num)
{
    return (int *)((char *)set + num->field);
}

/* --- per server ------------------------------------------------------------ */

/* No directive given (also a server's when the bridge is no module). */
static const bridge_settings unset = {
    NULL, NULL, UNSET, UNSET, UNSET, UNSET, UNSET, NULL, NULL
};

void *osrf_bridge_create_server_config(apr_pool_t *p, server_rec *s)
{
    (void)s;
    return apr_pmemdup(p, &unset, sizeof(unset));
}

#define MERGE(field) (add->field != UNSET ? add->field : base->field)
#define MERGE_PTR(field) (add->field ? add->field : base->field)

void *osrf_bridge_merge_server_config(apr_pool_t *p, void *basev, void *addv)
{
    const bridge_settings *base = basev, *add = addv;
    bridge_settings *conf = apr_pcalloc(p, sizeof(*conf));

    conf->config_file = MERGE_PTR(config_file);
    conf->config_context = MERGE_PTR(config_context);
    conf->idle_timeout = MERGE(idle_timeout);
    conf->idle_check_interval = MERGE(idle_check_interval);
    conf->max_request_wait = MERGE(max_request_wait);
    conf->max_sessions = MERGE(max_sessions);
    conf->max_in_flight = MERGE(max_in_flight);
    conf->trusted_proxies = MERGE_PTR(trusted_proxies);
    conf->ingress = MERGE_PTR(ingress);
    return conf;
}

/* --- effective settings ---------------------------------------------------- */

static const char *env_str(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && *v ? v : fallback;
}

/* The value a number setting takes without its directive: its variable's
 * (unset or empty: the default).  0, or -1 and why[n]. */
static int env_number(const number_setting *num, int *out, char *why, size_t n)
{
    const char *v = num->env ? env_str(num->env, NULL) : NULL;
    int64_t parsed;

    if (v == NULL) {
        *out = num->fallback;
        return 0;
    }
    if (!ws_parse_number(v, WS_NUMBER_PLAIN, 1, num->max, &parsed)) {
        snprintf(why, n, "OSRFWS02019: the environment variable %s is %.40s, "
                 "not a number from 1 to %d", num->env, v, num->max);
        return -1;
    }
    *out = (int)parsed;
    return 0;
}

/* A server's directives; none when the bridge is not an Apache module
 * (its module record then has no configuration slot). */
static const bridge_settings *directives(server_rec *s)
{
    if (osrf_ws_bridge_module.module_index < 0)
        return &unset;
    return ap_get_module_config(s->module_config, &osrf_ws_bridge_module);
}

int osrf_bridge_settings(server_rec *s, bridge_settings *out, char *why, size_t n)
{
    int i;

    *out = *directives(s);
    if (out->config_file == NULL)
        out->config_file = env_str("OSRF_WEBSOCKET_CONFIG_FILE",
                                   "/openils/conf/opensrf_core.xml");
    if (out->config_context == NULL)
        out->config_context = env_str("OSRF_WEBSOCKET_CONFIG_CTXT", "gateway");
    if (out->ingress == NULL)
        out->ingress = OSRF_INGRESS;
    for (i = 0; i < NUMBERS; i++) {
        int *field = number_field(out, &numbers[i]);

        if (*field == UNSET && env_number(&numbers[i], field, why, n) < 0)
            return -1;
    }
    return 0;
}

void osrf_bridge_limits(const bridge_settings *set, osrf_flight_limits *lim)
{
    lim->max_request_wait = apr_time_from_sec(set->max_request_wait);
    lim->idle_timeout = apr_time_from_sec(set->idle_timeout);
    lim->max_in_flight = set->max_in_flight;
}

/* --- the start checks ------------------------------------------------------ */

/* One connection per process is the design (one bridge per child, its
 * state the child's, its exit prefork's): any MPM with threads is
 * refused, as the module refuses it. */
static int check_mpm(char *why, size_t n)
{
    if (!ws_mpm_threaded())
        return 0;
    snprintf(why, n, "OSRFWS02020: the OpenSRF bridge serves one connection per "
             "process, and the %s MPM loaded is threaded: load the prefork MPM "
             "instead (LoadModule mpm_prefork_module; on Debian, a2dismod mpm_%s "
             "and a2enmod mpm_prefork)", ap_show_mpm(), ap_show_mpm());
    return -1;
}

/* Every environment value is checked, even one a directive overrides: a
 * typo there is a mistake all the same. */
static int start_check(char *why, size_t n)
{
    int i, value;

    if (check_mpm(why, n) < 0)
        return -1;
    for (i = 0; i < NUMBERS; i++)
        if (env_number(&numbers[i], &value, why, n) < 0)
            return -1;
    return 0;
}

int osrf_bridge_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    char why[WHY_MAX];

    (void)pconf;
    (void)plog;
    (void)ptemp;
    if (start_check(why, sizeof(why)) == 0)
        return OK;
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "%s", why);
    return HTTP_INTERNAL_SERVER_ERROR;
}

/* At configuration time (the host calls init while reading its
 * directives): the line goes to the start's output. */
int osrf_bridge_plugin_check(void)
{
    char why[WHY_MAX];

    if (osrf_ws_bridge_module.module_index >= 0 || start_check(why, sizeof(why)) == 0)
        return 1;
    ap_log_error(APLOG_MARK, APLOG_EMERG, 0, NULL, "%s", why);
    return 0;
}

/* --- directives ------------------------------------------------------------ */

static bridge_settings *server_conf(cmd_parms *cmd)
{
    return ap_get_module_config(cmd->server->module_config, &osrf_ws_bridge_module);
}

/* ConfigFile and ConfigContext: the instance's. */
static const char *set_string(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_VIRTUALHOST);

    (void)dconf;
    if (err)
        return err;
    *(const char **)((char *)server_conf(cmd) + (size_t)cmd->info) = arg;
    return NULL;
}

static const char *set_number(cmd_parms *cmd, void *dconf, const char *arg)
{
    const number_setting *num = cmd->info;
    const char *err = num->instance ? ap_check_cmd_context(cmd, NOT_IN_VIRTUALHOST) : NULL;
    int64_t v;

    (void)dconf;
    if (err)
        return err;
    if (!ws_parse_number(arg, WS_NUMBER_PLAIN, 1, num->max, &v))
        return apr_psprintf(cmd->pool, "%s: %s is not a number from 1 to %d",
                            cmd->cmd->name, arg, num->max);
    *number_field(server_conf(cmd), num) = (int)v;
    return NULL;
}

/* The ingress goes into the bus message's JSON as it is: a name, as
 * OpenSRF's are, so it needs no escaping. */
static const char *set_ingress(cmd_parms *cmd, void *dconf, const char *arg)
{
    size_t n = strlen(arg);

    (void)dconf;
    if (n == 0 || n > MAX_INGRESS
        || strspn(arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789-_.:/") != n)
        return apr_psprintf(cmd->pool, "%s: %s is not 1 to %d letters, digits or -_.:/",
                            cmd->cmd->name, arg, MAX_INGRESS);
    server_conf(cmd)->ingress = arg;
    return NULL;
}

static const char *add_proxy(cmd_parms *cmd, void *dconf, const char *arg)
{
    APR_OPTIONAL_FN_TYPE(osrf_ws_trust_proxy) *module_trusts
        = APR_RETRIEVE_OPTIONAL_FN(osrf_ws_trust_proxy);
    bridge_settings *conf = server_conf(cmd);

    (void)dconf;
    if (module_trusts)      /* the module's per-client limit reads the same */
        module_trusts(cmd, arg);
    if (conf->trusted_proxies == NULL)
        conf->trusted_proxies = apr_array_make(cmd->pool, 4, sizeof(const char *));
    *(const char **)apr_array_push(conf->trusted_proxies) = arg;
    return NULL;
}

#define NUMBER(n) (void *)&numbers[n]

const command_rec osrf_bridge_commands[] = {
    AP_INIT_TAKE1("OSRFWebSocketConfigFile", set_string, (void *)FIELD(config_file),
                  RSRC_CONF, "opensrf_core.xml (OSRF_WEBSOCKET_CONFIG_FILE)"),
    AP_INIT_TAKE1("OSRFWebSocketConfigContext", set_string, (void *)FIELD(config_context),
                  RSRC_CONF, "its section for the gateway (OSRF_WEBSOCKET_CONFIG_CTXT)"),
    AP_INIT_TAKE1("OSRFWebSocketIdleTimeout", set_number, NUMBER(IDLE_TIMEOUT), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_IDLE_TIMEOUT)"),
    AP_INIT_TAKE1("OSRFWebSocketIdleCheckInterval", set_number,
                  NUMBER(IDLE_CHECK_INTERVAL), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL)"),
    AP_INIT_TAKE1("OSRFWebSocketMaxRequestWaitTime", set_number,
                  NUMBER(MAX_REQUEST_WAIT), RSRC_CONF,
                  "seconds (OSRF_WEBSOCKET_MAX_REQUEST_WAIT_TIME)"),
    AP_INIT_TAKE1("OSRFWebSocketMaxSessions", set_number, NUMBER(MAX_SESSIONS_SET),
                  RSRC_CONF, "stateful sessions cached per connection"),
    AP_INIT_TAKE1("OSRFWebSocketMaxInFlight", set_number, NUMBER(MAX_IN_FLIGHT_SET),
                  RSRC_CONF, "requests in flight per connection"),
    AP_INIT_ITERATE("OSRFWebSocketTrustedProxies", add_proxy, NULL, RSRC_CONF,
                    "proxies whose X-Forwarded-For names the client"),
    AP_INIT_TAKE1("OSRFWebSocketIngress", set_ingress, NULL, RSRC_CONF,
                  "the ingress stamped on every message (" OSRF_INGRESS ")"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};
