/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_log.c - the bridge's log lines: to the log opensrf_core.xml
 * names (osrf_log.h), else to Apache's error log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

#include "osrf_ws_bridge.h"

APLOG_USE_MODULE(osrf_ws_bridge);

static int apache_level(int level)
{
    switch (level) {
    case OSRF_LOG_ERROR:    return APLOG_ERR;
    case OSRF_LOG_WARNING:  return APLOG_WARNING;
    case OSRF_LOG_DEBUG:    return APLOG_DEBUG;
    case OSRF_LOG_INTERNAL: return APLOG_TRACE1;
    default:                return APLOG_INFO;
    }
}

/* A bridge line to Apache's error log (no log in opensrf_core.xml).  Its
 * own function: its buffer is on the stack only on this path. */
static void __attribute__((noinline))
apache_log(server_rec *s, int level, const char *xid, const char *file, int line,
           const char *msg)
{
    char safe[OSRF_LOG_LINE_MAX], safe_xid[2 * OSRF_MAX_XID];

    osrf_log_escape(msg, safe, sizeof(safe));
    osrf_log_escape(xid, safe_xid, sizeof(safe_xid));   /* a bus reply's, too */
    if (*safe_xid)
        ap_log_error_(file, line, APLOG_MODULE_INDEX, apache_level(level), 0, s,
                      "%s [log_xid %s]", safe, safe_xid);
    else
        ap_log_error_(file, line, APLOG_MODULE_INDEX, apache_level(level), 0, s,
                      "%s", safe);
}

void bridge_log(bridge_config *conf, server_rec *s, int level, const char *xid,
                const char *file, int line, const char *fmt, ...)
{
    const char *base = strrchr(file, '/');
    char msg[OSRF_LOG_LINE_MAX];
    va_list ap;

    if (conf->log.on ? !osrf_log_wants(&conf->log, level)
                     : !APLOG_IS_LEVEL(s, apache_level(level)))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The OpenSRF log names the component, whichever of its files wrote
     * the line (its readers match on it); Apache's error log the file. */
    if (conf->log.on)
        osrf_log_write(&conf->log, level, "osrf_ws_bridge.c", line, xid, msg);
    else
        apache_log(s, level, xid, base ? base + 1 : file, line, msg);
}
