/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_flight.h - the bridge's request-tracking policy: which requests
 * are in flight on the connection, which finished connections' addresses
 * still wait for replies, when a request has waited too long, when an
 * idle connection ends, and which keys the bus listener must watch.
 *
 * Pure: no clock, no lock, no socket.  The time comes in as an argument
 * (microseconds, as apr_time_t), the events as calls, and the answers are
 * actions for the caller to carry out ("send STATUS 408 on these
 * threads", "DEL these keys", "watch these keys", "close 1001").  The
 * plugin holds its lock around every call (the top of osrf_ws_bridge.c).
 *
 * The bus is reached through osrf_bus_ops, so the policy and the
 * listener's turn run against a fake bus in the unit tests.
 */
#ifndef OSRF_FLIGHT_H
#define OSRF_FLIGHT_H

#include <stdint.h>
#include <stddef.h>

#include "osrf_bridge.h"

#define OSRF_FLIGHT_MAX_PENDING  256    /* threads with replies due */
#define OSRF_FLIGHT_MAX_SESSIONS 64     /* the stateful session cache */
#define OSRF_FLIGHT_MAX_RETIRED  8      /* finished connections watched */
/* How long an address stays watched after its connection sent DISCONNECT
 * to its stateful sessions' workers: a worker whose keepalive ran out as
 * the DISCONNECT was on its way still sends its STATUS 408, and a late
 * RPUSH would create the deleted key again, for good. */
#define OSRF_FLIGHT_LINGER       (10 * 1000000LL)
/* What a connection that ends pushes onto its own address to bring the
 * listener back from a BLPOP that names it. */
#define OSRF_FLIGHT_WAKE_TOKEN   "osrf-ws-bridge-wake"

/* --- the bus: push, del and a blocking pop over several keys ---------- */

/* One message popped: key and data stay valid until release. */
typedef struct {
    const char *key;
    const char *data;
    size_t len;
    void *hold;                 /* the implementation's, for release */
} osrf_bus_msg;

typedef struct {
    /* RPUSH msg onto key: 0, or -1 (the bus is unavailable) */
    int (*push)(void *ctx, const char *key, const char *msg, size_t len,
                const char *xid);
    /* DEL key: 0, or -1 */
    int (*del)(void *ctx, const char *key);
    /* BLPOP over keys[0..n-1] for up to timeout seconds: 1 and *m set,
     * 0 when nothing came, -1 when the bus failed */
    int (*pop)(void *ctx, const char *const *keys, int n, int timeout,
               osrf_bus_msg *m);
    void (*release)(void *ctx, osrf_bus_msg *m);
    void *ctx;
} osrf_bus_ops;

/* --- the state --------------------------------------------------------- */

/* A thread with requests in flight. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];
    char trace[32];
    char xid[OSRF_MAX_XID + 1];
    int requests;
    int64_t since;              /* its latest request */
} osrf_pending;

/* A finished connection's address, watched until its replies are in and
 * its ended sessions can no longer answer. */
typedef struct {
    char address[OSRF_MAX_ADDRESS + 1];
    int outstanding;
    int discarding;             /* its replies are DELeted, not counted */
    int64_t deadline;
    int64_t linger_until;
} osrf_retired;

typedef struct {
    int64_t max_request_wait;   /* microseconds */
    int64_t idle_timeout;       /* microseconds */
    int max_in_flight;
} osrf_flight_limits;

typedef struct {
    osrf_flight_limits lim;
    int open;                   /* a connection is current */
    char address[OSRF_MAX_ADDRESS + 1];         /* the current one's */
    char next_address[OSRF_MAX_ADDRESS + 1];    /* the next one's */
    int watching;               /* the listener's pop names address */
    int stopping;               /* the child is stopping */
    int overflowed;             /* closed for replies past its bound: what
                                   comes for it is garbage, DELeted */
    osrf_sessions sessions;
    int npending;
    int in_flight;
    int abandoned;              /* failed by us; their replies may come */
    int nretired;
    osrf_retired retired[OSRF_FLIGHT_MAX_RETIRED];
    int64_t last_activity;
    int64_t last_request;
    /* Last, after every field touched on each request: a page of this
     * struct is a page of each child's own memory once written, and
     * these 65 kB are written only as far as they are used. */
    osrf_pending pending[OSRF_FLIGHT_MAX_PENDING];
    osrf_session session_storage[OSRF_FLIGHT_MAX_SESSIONS];
} osrf_flight;

/* Actions: a bit set. */
enum {
    OSRF_FLIGHT_SEND = 1,       /* the frame goes to the client */
    OSRF_FLIGHT_GO_AWAY = 2,    /* close with 1001: the child is stopping */
    OSRF_FLIGHT_CLOSE = 4,      /* close: idle past the idle timeout */
    OSRF_FLIGHT_CACHE_FULL = 8  /* a CONNECT's worker found no room */
};

void osrf_flight_init(osrf_flight *f);

/* A connection begins at now, with its server's limits: it takes
 * next_address (which the caller then renews); what the previous one left
 * in flight is its own. */
void osrf_flight_begin(osrf_flight *f, const osrf_flight_limits *lim, int max_sessions,
                       int64_t now);

/* --- the connection thread ------------------------------------------- */

/* Whether a frame is refused (STATUS 503): its answers would pass the
 * max in flight, or its CONNECT finds no room in the session cache. */
int osrf_flight_busy(const osrf_flight *f, const osrf_inbound *in);
int osrf_flight_sessions_full(const osrf_flight *f, const osrf_inbound *in);

/* A frame's requests are in flight from now (before the push: the reply
 * may be popped before the push returns); undone when the push fails:
 * then 1 if the caller is to answer its thread with a STATUS, 0 if the
 * listener did already (it saw the bus lost meanwhile: osrf_flight_lost). */
void osrf_flight_sent(osrf_flight *f, const osrf_inbound *in, int64_t now);
int osrf_flight_unsent(osrf_flight *f, const osrf_inbound *in);
/* The frame went onto the bus. */
void osrf_flight_relayed(osrf_flight *f, const osrf_inbound *in, int64_t now);

/* The child is stopping: 1 when nothing is in flight, so the connection
 * may close with 1001 now (else the last reply closes it). */
int osrf_flight_shutdown(osrf_flight *f);

/* How a connection ends. */
typedef enum {
    OSRF_END_DELETE,            /* nothing due: DEL the address now */
    OSRF_END_RETIRED,           /* the listener watches it, then DELs it */
    OSRF_END_NO_ROOM            /* replies due but no room: DEL it now */
} osrf_end;

/* The connection is let go: no reply is for it from now on (a send to it
 * may still be under way; the caller waits for that, then ends it). */
void osrf_flight_let_go(osrf_flight *f);

/* The connection ends at now (one closed for replies past its bound
 * retires discarding).  watched: the listener's pop names its
 * address, and a WAKE_TOKEN will be pushed there (counted among what is
 * due).  *outstanding: the replies still due. */
osrf_end osrf_flight_end(osrf_flight *f, int watched, int64_t now, int *outstanding);
/* The ended connection's sessions got their DISCONNECT (the caller reads
 * sessions between osrf_flight_end and this: the listener no longer
 * touches them once the connection is not open). */
void osrf_flight_sessions_ended(osrf_flight *f);

/* --- the listener ------------------------------------------------------ */

/* Whether the listener has a key worth watching (else it waits). */
int osrf_flight_has_keys(const osrf_flight *f);
/* The keys to pop from: the current address (between connections, the
 * next one) then the retired ones; sets watching.  Returns n. */
int osrf_flight_keys(osrf_flight *f, const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED]);

/* Whether a popped message is the WAKE_TOKEN of a connection that ended;
 * on a retired address it is one of the things still due there. */
int osrf_flight_is_token(const char *raw, size_t len);
void osrf_flight_token(osrf_flight *f, const char *key);

/* Whether key is the address of a connection closed for replies past its
 * bound, open still or retired: whatever comes there is garbage, and the
 * caller DELs the key at once, one command however much it holds (popped
 * one large reply at a time, it would sit in Redis, with the services
 * adding more, for as long as the drain takes). */
int osrf_flight_discarding(const osrf_flight *f, const char *key);

/* A bus message popped from key (out: osrf_bus_to_client's reading of
 * it): for the current connection (its sessions cached, the requests it
 * ends counted off: SEND, with CACHE_FULL when a CONNECT's worker found
 * no room), counted off a retired address, or a late reply to
 * a deleted address, dropped (0). */
int osrf_flight_popped(osrf_flight *f, const char *key, const osrf_outbound *out,
                       int64_t now);
/* After a reply went out: whether the connection closes with 1001 now
 * (nothing left in flight and the child stopping; stopping: the MPM says
 * so). */
int osrf_flight_may_go_away(osrf_flight *f, int stopping);

/* Nothing came for a whole pop: close or not (GO_AWAY, CLOSE or 0). */
int osrf_flight_idle(osrf_flight *f, int64_t now, int stopping);

/* Threads unanswered past the max request wait, copied to late[] (they
 * get STATUS 408; their cached workers are forgotten).  Returns n. */
int osrf_flight_expire(osrf_flight *f, int64_t now,
                       osrf_pending late[OSRF_FLIGHT_MAX_PENDING]);

/* The bus was lost: every thread in flight, copied to lost[] (they get
 * STATUS 503).  Returns n. */
int osrf_flight_lost(osrf_flight *f, osrf_pending lost[OSRF_FLIGHT_MAX_PENDING]);

/* Retired addresses done with (their replies in, or waited out; a
 * discarding one, whose replies went uncounted, waits them out): copied
 * to done[] and forgotten; the caller DELs them.  Returns n. */
int osrf_flight_finished(osrf_flight *f, int64_t now,
                         osrf_retired done[OSRF_FLIGHT_MAX_RETIRED]);

#endif /* OSRF_FLIGHT_H */
