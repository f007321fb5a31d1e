/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_reserve.h - the httpd side of ws_admit.h: counts from the scoreboard
 * for the reserve of free children and the per-client limit, and the
 * trusted proxies the client's address is read behind.
 *
 * Every child reads the whole scoreboard (shared memory, no lock: a count
 * a moment old is good enough to keep a reserve) and writes only its own
 * worker's client field, with the client's address as the per-client
 * limit counts it.
 */
#ifndef WS_RESERVE_H
#define WS_RESERVE_H

#include "httpd.h"
#include "http_config.h"
#include "apr_optional.h"

#include "ws_admit.h"

/* Adds a trusted proxy to the server's list.  An optional function, so
 * that the OpenSRF bridge's OSRFWebSocketTrustedProxies feeds the same
 * list without linking against this module (under mod_websocket there is
 * none, and the bridge keeps its own). */
APR_DECLARE_OPTIONAL_FN(void, osrf_ws_trust_proxy, (cmd_parms *cmd, const char *ip));

/* Fills in the busy and client counts of *c for an upgrade from client
 * on r's connection (limit from the MPM); 0, or -1 without a scoreboard. */
int ws_reserve_count(request_rec *r, const char *client, ws_admit_counts *c);

/* Writes client into this child's scoreboard entry, where other
 * children's ws_reserve_count finds it while the connection lasts. */
void ws_reserve_claim(request_rec *r, const char *client);

#endif /* WS_RESERVE_H */
