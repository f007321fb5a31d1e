/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_prefork.h - work done once in the parent, before it forks, so that
 * every prefork child shares the result instead of building its own copy.
 *
 * A page a child writes after fork is that child's alone: with one child
 * per connection, each such page costs 4 kB per connection.  What a child
 * would otherwise load or build on its first use (shared libraries pulled
 * in by NSS, ...) is done here, in post_config, so the pages are the
 * parent's and stay shared.
 */
#ifndef WS_PREFORK_H
#define WS_PREFORK_H

#include "httpd.h"

/* post_config, in the parent. */
void ws_prefork_warm_up(server_rec *s);

/* Whether the MPM loaded runs threads (threaded, or more than one thread
 * a child): the module and the bridge, one connection per process by
 * design, refuse to start under it. */
int ws_mpm_threaded(void);

#endif /* WS_PREFORK_H */
