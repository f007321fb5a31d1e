/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_metrics.h - the gateway's counters, one slot per prefork child, in
 * shared memory the status handler sums.  No httpd, no locks.
 *
 * Who writes what: a child writes only its own slot (the one of its
 * scoreboard slot number), from its connection thread and its bus
 * listener, with relaxed atomic adds and stores; nothing else writes it.
 * A reader (the status handler, in any child) loads every slot with
 * relaxed atomic loads and sums them: each figure is exact, the set of
 * figures is not a snapshot of one instant (nor needs to be).
 *
 * Counters only grow (for the life of the instance, graceful restarts
 * included).  Gauges (open connections, requests in flight, sessions)
 * belong to the child whose pid the slot holds: a reader counts them only
 * while that pid still holds the scoreboard slot, so a child that died
 * leaves no stale gauge behind.
 *
 * The update functions are inline so a plugin (a separate shared object)
 * updates a slot without calling into the module: it gets the slot
 * pointer from the ws_server_metrics optional function (websocket_plugin.h).
 * Every update takes NULL (no metrics: under mod_websocket) and does nothing.
 */
#ifndef WS_METRICS_H
#define WS_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Bump when the slot layout or the list below changes. */
#define WS_METRICS_VERSION 1

/* X(ID, kind, family, code label or NULL, help of the family) */
#define WS_METRICS(X)                                                                 \
    X(CONNECTIONS_OPEN, GAUGE, "connections_open", NULL, "WebSocket connections open now") \
    X(CONNECTIONS, COUNTER, "connections_total", NULL, "WebSocket connections accepted") \
    X(HANDSHAKES_REFUSED, COUNTER, "handshakes_refused_total", NULL,                  \
      "upgrade requests refused (bad handshake, Origin, plugin)")                     \
    X(MESSAGES_IN, COUNTER, "messages_received_total", NULL, "messages from clients") \
    X(MESSAGES_OUT, COUNTER, "messages_sent_total", NULL, "messages to clients")      \
    X(BYTES_IN, COUNTER, "bytes_received_total", NULL, "bytes read from clients (on the wire)") \
    X(BYTES_OUT, COUNTER, "bytes_sent_total", NULL, "bytes written to clients (on the wire)") \
    X(CLOSE_1000, COUNTER, "closes_total", "1000", "closes the gateway started, by close code") \
    X(CLOSE_1001, COUNTER, "closes_total", "1001", NULL)                             \
    X(CLOSE_1002, COUNTER, "closes_total", "1002", NULL)                             \
    X(CLOSE_1003, COUNTER, "closes_total", "1003", NULL)                             \
    X(CLOSE_1007, COUNTER, "closes_total", "1007", NULL)                             \
    X(CLOSE_1008, COUNTER, "closes_total", "1008", NULL)                             \
    X(CLOSE_1009, COUNTER, "closes_total", "1009", NULL)                             \
    X(CLOSE_1011, COUNTER, "closes_total", "1011", NULL)                             \
    X(CLOSE_OTHER, COUNTER, "closes_total", "other", NULL)                           \
    X(PING_TIMEOUTS, COUNTER, "ping_timeouts_total", NULL, "clients dropped for not answering a ping") \
    X(REQUESTS, COUNTER, "requests_total", NULL, "OpenSRF REQUEST messages relayed to the bus") \
    X(IN_FLIGHT, GAUGE, "requests_in_flight", NULL, "OpenSRF requests waiting for their end") \
    X(SESSIONS, GAUGE, "sessions_cached", NULL, "stateful sessions (CONNECT) cached")  \
    X(GW_STATUS_400, COUNTER, "gateway_status_total", "400",                          \
      "STATUS errors the gateway itself answered, by code")                           \
    X(GW_STATUS_408, COUNTER, "gateway_status_total", "408", NULL)                   \
    X(GW_STATUS_503, COUNTER, "gateway_status_total", "503", NULL)                   \
    X(OSRF_STATUS_400, COUNTER, "opensrf_status_total", "400",                        \
      "STATUS errors (>= 400) relayed from OpenSRF, by code")                         \
    X(OSRF_STATUS_404, COUNTER, "opensrf_status_total", "404", NULL)                 \
    X(OSRF_STATUS_408, COUNTER, "opensrf_status_total", "408", NULL)                 \
    X(OSRF_STATUS_500, COUNTER, "opensrf_status_total", "500", NULL)                 \
    X(OSRF_STATUS_OTHER, COUNTER, "opensrf_status_total", "other", NULL)             \
    X(BUS_ERRORS, COUNTER, "bus_errors_total", NULL,                                  \
      "failed bus logins and commands (RPUSH, BLPOP)")                                \
    X(BUS_RECONNECTS, COUNTER, "bus_reconnects_total", NULL,                          \
      "bus logins after the first of each connection kind")

#define WS_METRIC_ENUM(id, kind, family, code, help) WS_M_##id,
typedef enum { WS_METRICS(WS_METRIC_ENUM) WS_METRIC_COUNT } ws_metric;
#undef WS_METRIC_ENUM

typedef struct ws_metrics_slot {
    uint64_t pid;                   /* owner of the gauges; 0: none yet */
    uint64_t v[WS_METRIC_COUNT];
} __attribute__((aligned(64))) ws_metrics_slot;   /* no false sharing */

typedef struct {
    uint32_t magic;
    uint32_t version;
    uint32_t nslots;
    uint32_t slot_size;
    ws_metrics_slot slot[];
} ws_metrics_table;

/* Children of the instance by state (from Apache's scoreboard). */
typedef struct {
    int total;          /* processes alive */
    int starting;
    int idle;           /* ready for a connection */
    int websocket;      /* holding a WebSocket connection */
    int other;          /* busy otherwise: a handshake, this status page */
    int stopping;       /* of an older generation, finishing (graceful) */
} ws_children;

static inline void ws_metric_add(ws_metrics_slot *s, ws_metric m, int64_t n)
{
    if (s)
        __atomic_fetch_add(&s->v[m], (uint64_t)n, __ATOMIC_RELAXED);
}

static inline void ws_metric_set(ws_metrics_slot *s, ws_metric m, uint64_t n)
{
    if (s)
        __atomic_store_n(&s->v[m], n, __ATOMIC_RELAXED);
}

/* The counter for a close code, and for a STATUS code (gateway or OpenSRF);
 * inline too, so a plugin needs no symbol of the module. */
static inline ws_metric ws_metric_close(unsigned code)
{
    switch (code) {
    case 1000: return WS_M_CLOSE_1000;
    case 1001: return WS_M_CLOSE_1001;
    case 1002: return WS_M_CLOSE_1002;
    case 1003: return WS_M_CLOSE_1003;
    case 1007: return WS_M_CLOSE_1007;
    case 1008: return WS_M_CLOSE_1008;
    case 1009: return WS_M_CLOSE_1009;
    case 1011: return WS_M_CLOSE_1011;
    default:   return WS_M_CLOSE_OTHER;
    }
}

static inline ws_metric ws_metric_osrf_status(int code)
{
    switch (code) {
    case 400: return WS_M_OSRF_STATUS_400;
    case 404: return WS_M_OSRF_STATUS_404;
    case 408: return WS_M_OSRF_STATUS_408;
    case 500: return WS_M_OSRF_STATUS_500;
    default:  return WS_M_OSRF_STATUS_OTHER;
    }
}

size_t ws_metrics_size(unsigned nslots);
/* Prepares a zeroed table of nslots; 1 if t already is one (same layout). */
int ws_metrics_init(ws_metrics_table *t, unsigned nslots);
/* Makes pid the owner of a slot's gauges (zeroing them) if it is not yet. */
void ws_metrics_claim(ws_metrics_slot *s, uint64_t pid);
/* Sums all slots into sum; live[i] is the pid holding slot i now (0: none). */
void ws_metrics_sum(const ws_metrics_table *t, const uint64_t *live,
                    uint64_t sum[WS_METRIC_COUNT]);

/* The children's states in their order (total first), for a rendering:
 * state k's name, its count in *count; NULL past the last. */
const char *ws_children_state(const ws_children *ch, size_t k, int *count);

/* Renders the sums; returns the length written (< n), or -1 if n is short. */
int ws_metrics_json(const uint64_t sum[WS_METRIC_COUNT], const ws_children *ch,
                    long generation, char *buf, size_t n);
int ws_metrics_prometheus(const uint64_t sum[WS_METRIC_COUNT], const ws_children *ch,
                          long generation, char *buf, size_t n);

#endif /* WS_METRICS_H */
