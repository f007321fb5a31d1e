/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_admit.h - who may open a WebSocket: the client's address behind
 * trusted proxies, the reserve of free children, the per-client limit.
 * Pure decisions over strings and counts (no httpd, no sockets): the
 * module reads the scoreboard and passes the counts in.
 */
#ifndef WS_ADMIT_H
#define WS_ADMIT_H

#include <stddef.h>
#include <stdint.h>

#define WS_ADDR_MAX     45      /* the longest IPv6 text (INET6_ADDRSTRLEN - 1) */
#define WS_XFF_MAX_HOPS 16      /* hops of X-Forwarded-For looked at, from the right */

/* The client's address: peer, or, when peer is one of the n trusted
 * proxies, the last hop of xff (may be NULL) that is not itself one.
 * Hops are read from the right; the walk stops at a hop that is not an
 * IPv4 or IPv6 address (or longer than one), or after WS_XFF_MAX_HOPS,
 * and the answer is then the last trusted proxy seen: whatever came
 * before a bad hop may be forged.  The address is copied into out. */
const char *ws_forwarded_client(const char *peer, const char *xff,
                                const char *const *trusted, int n,
                                char out[WS_ADDR_MAX + 1]);

typedef enum {
    WS_ADMIT_OK = 0,
    WS_ADMIT_FULL,          /* fewer free children than the reserve */
    WS_ADMIT_CLIENT_LIMIT   /* this client holds its limit already */
} ws_admit_status;

/* The counts a decision needs, from the scoreboard. */
typedef struct {
    int limit;              /* children the MPM may run (MaxRequestWorkers) */
    int busy;               /* children serving something, this one included */
    int reserve;            /* children kept free of WebSockets */
    int client_conns;       /* connections of this client elsewhere */
    int client_limit;       /* connections allowed per client; 0: no limit */
} ws_admit_counts;

/* Whether a new upgrade may go on: refused while taking it would leave
 * fewer than reserve children free to answer anyone else.  An instance
 * of reserve children or fewer keeps one for WebSockets (a reserve of
 * limit - 1). */
ws_admit_status ws_admit(const ws_admit_counts *c);

/* 1 if a refusal should be logged now (at most one line a second), and
 * then *last becomes now; times in microseconds. */
int ws_admit_log_due(int64_t *last, int64_t now);

#endif /* WS_ADMIT_H */
