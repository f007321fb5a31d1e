/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_status.h - the counters' shared memory and the status handler
 * (SetHandler osrf-websocket-status): the httpd side of ws_metrics.h.
 *
 * The table is created once, in the parent, at the first post_config, and
 * kept in the process pool: graceful restarts keep it (and its counts),
 * and children of every generation inherit the same mapping.  A child
 * finds its slot from its scoreboard slot number.
 */
#ifndef WS_STATUS_H
#define WS_STATUS_H

#include "httpd.h"
#include "http_config.h"

#include "apr_optional.h"

#include "ws_metrics.h"

#define WS_STATUS_HANDLER "osrf-websocket-status"

/* post_config, in the parent: creates (or finds) the shared table (and
 * the history of ws_series.h after it). */
int ws_status_post_config(server_rec *s);

/* The monitor hook, in the parent: adds a sample to the history. */
int ws_status_monitor(apr_pool_t *p, server_rec *s);

/* The bus probe behind ?ready and the page's bus state, an optional
 * function the OpenSRF bridge registers (absent without it): 1 when the
 * calling child reaches the bus within timeout, else 0 and *why (in
 * r->pool).  Called on the request's thread of a child that holds no
 * WebSocket connection. */
APR_DECLARE_OPTIONAL_FN(int, osrf_ws_bus_ready,
                        (request_rec *r, apr_interval_time_t timeout, const char **why));

/* This child's slot (claimed for its pid on first use); NULL if there is
 * no table.  c is any connection of the child. */
ws_metrics_slot *ws_status_slot(conn_rec *c);

/* Adds an address or CIDR to *allow (of apr_ipsubnet_t *); NULL or why not. */
const char *ws_status_allow(apr_pool_t *p, apr_array_header_t **allow, const char *arg);

/* The handler: DECLINED unless r->handler is WS_STATUS_HANDLER; 403 to a
 * peer outside allow (NULL: 127.0.0.1 and ::1).  Views: ws_status_page.h. */
int ws_status_handler(request_rec *r, const apr_array_header_t *allow);

#endif /* WS_STATUS_H */
