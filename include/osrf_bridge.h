/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge.h - the OpenSRF bridge core: client frames to bus messages
 * and back, the limits; the stateful session cache they read is
 * osrf_sessions.h.  No sockets, no httpd, no Redis: buffers in, buffers
 * out (docs/PROTOCOL.md sections 1-4).
 *
 * Ownership: every output goes into a caller's reusable ws_buffer
 * (ws_buffer.h); nothing returned points into a frame after the call.
 * Nothing here locks: the plugin holds its lock around calls that touch a
 * session cache.
 */
#ifndef OSRF_BRIDGE_H
#define OSRF_BRIDGE_H

#include <stddef.h>

#include "osrf_sessions.h"
#include "ws_buffer.h"

#define OSRF_MAX_XID        64
#define OSRF_MAX_SERVICE    128
#define OSRF_JSON_DEPTH     1024   /* fleshed Evergreen objects nest deep */
/* A client frame may hold this many arrays, objects and elements: the
 * gateway builds nothing from a frame, but the OpenSRF service it goes to
 * parses every value into an object (an 8 MB [0,0,...] is 4 M of them). */
#define OSRF_MAX_VALUES     200000
/* The ingress stamped by default: what OpenSRF's own WebSocket gateway
 * stamps, and what Evergreen's activity types (config.usr_activity_type,
 * "Login via Websocket V2") expect. */
#define OSRF_INGRESS        "ws-translator-v2"

/* What the bridge knows of its bus identity. */
typedef struct {
    const char *address;            /* our client address: "from" */
    const char *router_key;         /* opensrf:router:NAME:DOMAIN */
    const char *const *log_protect; /* NULL-terminated method prefixes */
    const char *client_ip;
    const char *ingress;            /* stamped on every message, JSON-safe
                                       (no '"', '\\' or control characters);
                                       NULL: OSRF_INGRESS */
} osrf_identity;

typedef enum {
    OSRF_OK = 0,
    OSRF_ERR_JSON,          /* not JSON, or not an object: close 1007 */
    OSRF_ERR_INVALID,       /* a rule broken; STATUS 400 if the thread is known */
    OSRF_ERR_LIMIT,         /* a limit reached; STATUS on the thread */
    OSRF_ERR_NOMEM,
    OSRF_ERR_TOO_BIG        /* over OSRF_MAX_VALUES, not parsed: close 1009 */
} osrf_status;

/* The result of reading one client frame. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];   /* "" when unknown */
    char trace[32];                     /* threadTrace of the first message */
    char xid[OSRF_MAX_XID + 1];         /* log_xid: the client's, else made */
    char recipient[OSRF_MAX_ADDRESS + 1]; /* the key to RPUSH onto */
    int requests;                       /* REQUEST messages in the frame */
    int replies;                        /* messages the bus answers: REQUEST
                                           and CONNECT (not DISCONNECT) */
    int connect;                        /* a CONNECT is in the frame */
    int disconnect;                     /* a DISCONNECT is in the frame */
    char error[160];                    /* why, when not OSRF_OK */
} osrf_inbound;

/* Turns a client frame into the bus message in *bus (compact JSON, class
 * hints untouched, ingress stamped) and, per REQUEST, an activity-log line
 * into *activity (emptied first: one line each, ending in \n; the log
 * escapes what it must).  The lines are there whatever the status, so a
 * refused frame's requests can be logged as refused.  The recipient is
 * the cached worker of the thread, else the router. */
osrf_status osrf_client_to_bus(const osrf_identity *id,
                               const osrf_sessions *sessions,
                               const char *frame, size_t len,
                               osrf_inbound *in, ws_buffer *bus,
                               ws_buffer *activity);

/* The result of reading one bus message. */
typedef struct {
    char thread[OSRF_MAX_THREAD + 1];
    char from[OSRF_MAX_ADDRESS + 1];
    int connected;          /* a STATUS 200 (CONNECT accepted) */
    int timed_out;          /* a STATUS 408: the session is over */
    int completed;          /* requests and CONNECTs ended (STATUS 200
                               or 205, or >= 400) */
    int error;              /* the last STATUS code >= 400, else 0 */
    char xid[OSRF_MAX_XID + 1];     /* osrf_xid, "" when absent */
} osrf_outbound;

/* Turns a bus message into the client frame in *frame:
 *   {"thread":T,"log_xid":X,"osrf_msg":BODY}
 * with BODY spliced as it came (never parsed deeper than routing needs). */
osrf_status osrf_bus_to_client(const char *msg, size_t len,
                               osrf_outbound *out, ws_buffer *frame);

/* The DISCONNECT a well-behaved client sends to end a stateful session,
 * as a bus message from our address to the session's worker. */
int osrf_disconnect_message(ws_buffer *bus, const osrf_identity *id,
                            const osrf_session *s);

/* --- limits: pure decisions, times in microseconds ---------------------- */

/* Whether a frame whose messages make `replies` answers is refused as a
 * whole: it would take the connection's answers due past max. */
int osrf_over_cap(int in_flight, int replies, int max);

/* Whether a finished connection's address may be deleted: no reply due
 * (or the wait for them is over, at deadline), and no ended session left
 * that could still answer (until linger_until). */
int osrf_address_done(int outstanding, long long now, long long deadline,
                      long long linger_until);

/* A STATUS error for the client on a thread (empty thread: none). */
int osrf_status_frame(ws_buffer *frame, const char *thread, const char *trace,
                      int code, const char *text);

#endif /* OSRF_BRIDGE_H */
