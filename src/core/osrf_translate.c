/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_translate.c - client frames to bus messages and back
 * (osrf_bridge.h; the wire facts are docs/PROTOCOL.md's).
 *
 * Both ways with the span scanner (osrf_json.h): a message is checked
 * once, then only the members routing needs are found and nothing is
 * built.  A client frame is copied onto the bus compact, each message's
 * __p stamped with our ingress; a bus message's body (megabytes, at
 * times) goes to the client as the bytes it came as.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "osrf_bridge.h"
#include "osrf_json.h"
#include "osrf_log.h"

static int only_space(const char *p, const char *end)
{
    return osrf_json_skip_ws(p, end) == end;
}

/* --- client -> bus ------------------------------------------------------ */

static int plain_service_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > OSRF_MAX_SERVICE)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static osrf_status invalid(osrf_inbound *in, const char *why)
{
    snprintf(in->error, sizeof(in->error), "%s", why);
    return OSRF_ERR_INVALID;
}

/* A member that must be a string, unescaped into out: 1 if present and
 * it fits, 0 if absent (or not a string), -1 if it does not fit. */
static int string_member(osrf_span v, char *out, size_t outlen)
{
    if (v.p == NULL || v.p[0] != '"')
        return 0;
    return osrf_json_unescape(v, out, outlen) == 0 ? 1 : -1;
}

/* threadTrace as a string: opensrf.js sends its request counter as a JSON
 * number, OpenSRF's C code a string; an integer is kept as written. */
static void trace_member(osrf_span v, char *out, size_t outlen)
{
    size_t digits;

    if (v.p == NULL)
        return;
    if (v.p[0] == '"') {
        if (osrf_json_unescape(v, out, outlen) < 0)
            out[0] = '\0';
        return;
    }
    for (digits = v.p[0] == '-' ? 1 : 0;
         digits < v.n && v.p[digits] >= '0' && v.p[digits] <= '9'; digits++)
        ;
    if (digits == v.n && v.n > 0 && v.n < outlen) {
        memcpy(out, v.p, v.n);
        out[v.n] = '\0';
    }
}

/* The first message's threadTrace, for a STATUS answer to a frame refused
 * before its messages are read (a bad service name, log_xid). */
static void first_trace(osrf_span msgs, osrf_inbound *in)
{
    static const char *const m_names[] = { "__p", NULL }, *const p_names[] = { "threadTrace", NULL };
    const char *cursor = NULL;
    osrf_span m, p, trace;

    if (msgs.p == NULL || msgs.p[0] != '[' || !osrf_json_next(msgs, &cursor, &m)
        || m.p[0] != '{')
        return;
    osrf_json_members(m, m_names, &p);
    if (p.p == NULL || p.p[0] != '{')
        return;
    osrf_json_members(p, p_names, &trace);
    trace_member(trace, in->trace, sizeof(in->trace));
}

/* Appends "[IP] [] SERVICE METHOD PARAMS" for a REQUEST, params redacted
 * for log_protect methods (and for a method too long to read). */
static void activity_line(const osrf_identity *id, const char *service,
                          osrf_span payload, ws_buffer *activity)
{
    static const char *const pay_names[] = { "__p", NULL },
                      *const names[] = { "method", "params", NULL };
    char method[256];
    const char *const *prot;
    osrf_span p, mp[2];
    int redact = 0, read;

    if (activity == NULL || payload.p[0] != '{')
        return;
    osrf_json_members(payload, pay_names, &p);
    if (p.p == NULL || p.p[0] != '{')
        return;
    osrf_json_members(p, names, mp);
    read = string_member(mp[0], method, sizeof(method));
    if (read <= 0 || !osrf_log_clean(method)) {
        redact = read < 0;
        strcpy(method, "(unreadable method)");
    }
    for (prot = id->log_protect; prot && *prot; prot++)
        if (strncmp(method, *prot, strlen(*prot)) == 0)
            redact = 1;
    ws_buffer_puts(activity, "[");
    ws_buffer_puts(activity, id->client_ip ? id->client_ip : "");
    ws_buffer_puts(activity, "] [] ");
    ws_buffer_puts(activity, service);
    ws_buffer_puts(activity, " ");
    ws_buffer_puts(activity, method);
    ws_buffer_puts(activity, " ");
    if (redact)
        ws_buffer_puts(activity, "**PARAMS REDACTED**");
    else if (mp[1].p)
        osrf_json_append_compact(activity, mp[1]);
    ws_buffer_puts(activity, "\n");
}

/* Appends the message's __p with our ingress as its last member, any the
 * client put there dropped. */
static int append_stamped(const osrf_identity *id, ws_buffer *bus, osrf_span p)
{
    const char *cursor = NULL;
    osrf_span k, v;

    ws_buffer_puts(bus, "{");
    while (osrf_json_member(p, &cursor, &k, &v)) {
        if (osrf_json_key_is(k, "ingress"))
            continue;
        ws_buffer_append(bus, k.p, k.n);
        ws_buffer_puts(bus, ":");
        osrf_json_append_compact(bus, v);
        ws_buffer_puts(bus, ",");
    }
    ws_buffer_puts(bus, "\"ingress\":\"");
    ws_buffer_puts(bus, id->ingress ? id->ingress : OSRF_INGRESS);
    return ws_buffer_puts(bus, "\"}");
}

/* Checks one osrfMessage, counts what the bridge must track, and appends
 * it, stamped, to the bus message. */
static osrf_status read_message(const osrf_identity *id, const char *service,
                                osrf_span m, osrf_inbound *in,
                                ws_buffer *bus, ws_buffer *activity)
{
    static const char *const m_names[] = { "__c", "__p", NULL },
                      *const p_names[] = { "type", "payload", NULL };
    const char *cursor = NULL;
    osrf_span mv[2], pv[2], k, v;
    int first = 1;

    if (m.p[0] != '{')
        return invalid(in, "osrf_msg holds something other than an osrfMessage");
    osrf_json_members(m, m_names, mv);
    if (mv[0].p == NULL || !osrf_json_is_string(mv[0], "osrfMessage")
        || mv[1].p == NULL || mv[1].p[0] != '{')
        return invalid(in, "osrf_msg holds something other than an osrfMessage");
    osrf_json_members(mv[1], p_names, pv);
    if (pv[0].p == NULL || pv[0].p[0] != '"')
        return invalid(in, "osrfMessage without a type");
    if (osrf_json_is_string(pv[0], "REQUEST")) {
        in->requests++;
        in->replies++;
        if (pv[1].p)
            activity_line(id, service, pv[1], activity);
    } else if (osrf_json_is_string(pv[0], "CONNECT")) {
        in->connect = 1;
        in->replies++;          /* answered with STATUS 200 (or an error) */
    } else if (osrf_json_is_string(pv[0], "DISCONNECT")) {
        in->disconnect = 1;
    } else {
        return invalid(in, "message type a client may not send");
    }

    ws_buffer_puts(bus, "{");
    while (osrf_json_member(m, &cursor, &k, &v)) {
        if (!first)
            ws_buffer_puts(bus, ",");
        first = 0;
        ws_buffer_append(bus, k.p, k.n);
        ws_buffer_puts(bus, ":");
        if (osrf_json_key_is(k, "__p"))
            append_stamped(id, bus, v);
        else
            osrf_json_append_compact(bus, v);
    }
    return ws_buffer_puts(bus, "}") < 0 ? OSRF_ERR_NOMEM : OSRF_OK;
}

/* A log_xid made when the client sent none: time and pid, as OpenSRF's. */
static void make_xid(char *out, size_t n)
{
    static unsigned long counter;

    snprintf(out, n, "%lu%05lu", (unsigned long)time(NULL), ++counter % 100000);
}

/* The envelope: to, from, thread, osrf_xid, then the body. */
static void start_envelope(const osrf_identity *id, const char *worker,
                           const char *service, osrf_span thread, const char *xid,
                           ws_buffer *bus)
{
    ws_buffer_reset(bus);
    ws_buffer_puts(bus, "{\"to\":\"");
    if (worker) {
        ws_buffer_puts(bus, worker);
    } else {
        ws_buffer_puts(bus, "opensrf:service:_:_:");
        ws_buffer_puts(bus, service);
    }
    ws_buffer_puts(bus, "\",\"from\":\"");
    ws_buffer_puts(bus, id->address);
    ws_buffer_puts(bus, "\",\"thread\":");
    ws_buffer_append(bus, thread.p, thread.n);
    ws_buffer_puts(bus, ",\"osrf_xid\":");
    osrf_json_append_string(bus, xid);
    ws_buffer_puts(bus, ",\"body\":[");
}

/* The frame as one JSON object, bounded in values and depth (whole: the
 * object, from its '{'); else why in in->error. */
static osrf_status one_object(const char *frame, size_t len, osrf_inbound *in,
                              osrf_span *whole)
{
    const char *end;

    if (osrf_json_over_values(frame, len, OSRF_MAX_VALUES)) {
        snprintf(in->error, sizeof(in->error), "more than %d JSON values in one message",
                 OSRF_MAX_VALUES);
        return OSRF_ERR_TOO_BIG;
    }
    end = osrf_json_skip(frame, frame + len, OSRF_JSON_DEPTH);
    if (end == NULL || !only_space(end, frame + len)) {
        snprintf(in->error, sizeof(in->error), "not JSON (or nested over %d deep)",
                 OSRF_JSON_DEPTH);
        return OSRF_ERR_JSON;
    }
    whole->p = osrf_json_skip_ws(frame, end);
    whole->n = (size_t)(frame + len - whole->p);
    if (*whole->p != '{') {
        snprintf(in->error, sizeof(in->error), "not a JSON object");
        return OSRF_ERR_JSON;
    }
    return OSRF_OK;
}

osrf_status osrf_client_to_bus(const osrf_identity *id,
                               const osrf_sessions *sessions,
                               const char *frame, size_t len,
                               osrf_inbound *in, ws_buffer *bus,
                               ws_buffer *activity)
{
    static const char *const names[] = { "thread", "service", "log_xid", "osrf_msg", NULL };
    osrf_span whole, v[4], m;
    const char *worker, *cursor = NULL;
    char service[OSRF_MAX_SERVICE + 2];
    int has_service, has_xid, nmsgs = 0;
    osrf_status st = OSRF_OK;

    memset(in, 0, sizeof(*in));
    if (activity)
        ws_buffer_reset(activity);   /* no line of an earlier frame stays behind */
    if ((st = one_object(frame, len, in, &whole)) != OSRF_OK)
        return st;
    osrf_json_members(whole, names, v);

    /* thread, log_xid and method end up in log lines, ours and the
     * services' (osrf_xid): none may hold what is escaped there */
    if (string_member(v[0], in->thread, sizeof(in->thread)) <= 0
        || in->thread[0] == '\0' || !osrf_log_clean(in->thread)) {
        in->thread[0] = '\0';
        return invalid(in, "thread missing, over 64 characters or not printable");
    }
    first_trace(v[3], in);

    has_service = string_member(v[1], service, sizeof(service));
    worker = osrf_sessions_find(sessions, in->thread);
    if (has_service <= 0 && worker == NULL)
        return invalid(in, has_service < 0 ? "service is not a plain service name"
                                           : "no service named");
    if (has_service && (has_service < 0 || !plain_service_name(service)))
        return invalid(in, "service is not a plain service name");
    has_xid = string_member(v[2], in->xid, sizeof(in->xid));
    if (has_xid < 0 || (has_xid > 0 && !osrf_log_clean(in->xid))) {
        in->xid[0] = '\0';
        return invalid(in, "log_xid over 64 characters or not printable");
    }
    if (in->xid[0] == '\0')
        make_xid(in->xid, sizeof(in->xid));
    if (v[3].p == NULL || v[3].p[0] != '[')
        return invalid(in, "osrf_msg is not an array");

    start_envelope(id, worker, service, v[0], in->xid, bus);
    while (st == OSRF_OK && osrf_json_next(v[3], &cursor, &m)) {
        if (nmsgs++ > 0)
            ws_buffer_puts(bus, ",");
        st = read_message(id, has_service > 0 ? service : "", m, in, bus, activity);
    }
    if (st == OSRF_OK && nmsgs == 0)
        st = invalid(in, "osrf_msg is empty");
    if (st == OSRF_OK && ws_buffer_puts(bus, "]}") < 0)
        st = OSRF_ERR_NOMEM;
    if (st == OSRF_OK)
        snprintf(in->recipient, sizeof(in->recipient), "%s",
                 worker ? worker : id->router_key);
    return st;
}

/* --- bus -> client -------------------------------------------------------- */

/* Reads type and status of each message in the body.  A bounced message
 * (transport_error) carries the requests as they were sent: no answer
 * will come to them, so they end here. */
static void read_statuses(osrf_span body, int bounced, osrf_outbound *out)
{
    static const char *const m_names[] = { "__p", NULL },
                      *const p_names[] = { "type", "payload", NULL };
    const char *cursor = NULL;
    osrf_span m, p, pv[2], pp, code;

    while (osrf_json_next(body, &cursor, &m)) {
        int c;

        if (m.p[0] != '{')
            continue;
        osrf_json_members(m, m_names, &p);
        if (p.p == NULL || p.p[0] != '{')
            continue;
        osrf_json_members(p, p_names, pv);
        if (pv[0].p == NULL)
            continue;
        if (bounced && osrf_json_is_string(pv[0], "REQUEST")) {
            out->completed++;
            continue;
        }
        if (!osrf_json_is_string(pv[0], "STATUS") || pv[1].p == NULL
            || !osrf_json_get(pv[1], "__p", &pp)
            || !osrf_json_get(pp, "statusCode", &code))
            continue;
        c = osrf_json_int(code);
        if (c == 200)
            out->connected = 1;
        else if (c == 408)
            out->timed_out = 1;
        /* a STATUS 200 is the answer to a CONNECT: it ends it */
        if (c == 200 || (c >= 205 && c != 206))
            out->completed++;
        if (c >= 400)
            out->error = c;
    }
}

/* A body sent as a string holding the JSON array (older OpenSRF): its
 * text, unescaped into *unwrapped; 0 if it is not one. */
static int unwrap_body(osrf_span *body, char **unwrapped)
{
    const char *end;

    if ((*unwrapped = malloc(body->n)) == NULL
        || osrf_json_unescape(*body, *unwrapped, body->n) < 0)
        return 0;
    body->p = *unwrapped;
    body->n = strlen(*unwrapped);
    end = osrf_json_skip(body->p, body->p + body->n, OSRF_JSON_DEPTH);
    return end != NULL && only_space(end, body->p + body->n);
}

osrf_status osrf_bus_to_client(const char *msg, size_t len,
                               osrf_outbound *out, ws_buffer *frame)
{
    static const char *const names[] = { "thread", "from", "osrf_xid", "body",
                                         "transport_error", NULL };
    osrf_span whole = { msg, len }, v[5], body;
    const char *end;
    char *unwrapped = NULL;
    osrf_status st = OSRF_OK;
    int bounced;

    memset(out, 0, sizeof(*out));
    end = osrf_json_skip(msg, msg + len, OSRF_JSON_DEPTH);
    if (end == NULL || !only_space(end, msg + len))
        return OSRF_ERR_INVALID;
    osrf_json_members(whole, names, v);
    body = v[3];
    if (v[0].p == NULL || osrf_json_unescape(v[0], out->thread, sizeof(out->thread)) < 0
        || body.p == NULL)
        return OSRF_ERR_INVALID;
    if (v[1].p && osrf_json_unescape(v[1], out->from, sizeof(out->from)) < 0)
        out->from[0] = '\0';
    if (body.p[0] == '"' && !unwrap_body(&body, &unwrapped)) {
        free(unwrapped);
        return OSRF_ERR_INVALID;
    }
    end = osrf_json_skip_ws(body.p, body.p + body.n);
    body.n -= (size_t)(end - body.p);
    body.p = end;
    if (body.n == 0 || body.p[0] != '[') {
        free(unwrapped);
        return OSRF_ERR_INVALID;
    }
    bounced = v[4].n == 4 && memcmp(v[4].p, "true", 4) == 0;
    read_statuses(body, bounced, out);

    ws_buffer_reset(frame);
    ws_buffer_puts(frame, "{\"thread\":");
    ws_buffer_append(frame, v[0].p, v[0].n);
    ws_buffer_puts(frame, ",\"log_xid\":");
    if (v[2].p && v[2].p[0] == '"') {
        ws_buffer_append(frame, v[2].p, v[2].n);
        if (osrf_json_unescape(v[2], out->xid, sizeof(out->xid)) < 0)
            out->xid[0] = '\0';
    } else {
        ws_buffer_puts(frame, "\"\"");
    }
    ws_buffer_puts(frame, ",\"osrf_msg\":");
    ws_buffer_append(frame, body.p, body.n);
    if (bounced)
        ws_buffer_puts(frame, ",\"transport_error\":true");
    if (ws_buffer_puts(frame, "}") < 0)
        st = OSRF_ERR_NOMEM;
    free(unwrapped);
    return st;
}

int osrf_disconnect_message(ws_buffer *bus, const osrf_identity *id,
                            const osrf_session *s)
{
    ws_buffer thread = { 0 };   /* once per session ended: not a hot path */
    osrf_span t;
    int rc;

    if (osrf_json_append_string(&thread, s->thread) < 0) {
        ws_buffer_free(&thread);
        return -1;
    }
    t.p = thread.data;
    t.n = thread.len;
    start_envelope(id, s->worker, NULL, t, "", bus);
    ws_buffer_free(&thread);
    ws_buffer_puts(bus, "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"0\","
                   "\"type\":\"DISCONNECT\",\"ingress\":\"");
    ws_buffer_puts(bus, id->ingress ? id->ingress : OSRF_INGRESS);
    rc = ws_buffer_puts(bus, "\"}}]}");
    return rc;
}

int osrf_over_cap(int in_flight, int replies, int max)
{
    return replies > 0 && in_flight + replies > max;
}

int osrf_address_done(int outstanding, long long now, long long deadline,
                      long long linger_until)
{
    return (outstanding <= 0 || now >= deadline) && now >= linger_until;
}

/* The gateway's own STATUS, as json-c wrote it before: the same members
 * in the same order, no white space, '/' unescaped. */
int osrf_status_frame(ws_buffer *frame, const char *thread, const char *trace,
                      int code, const char *text)
{
    char num[16];

    snprintf(num, sizeof(num), "%d", code);
    ws_buffer_reset(frame);
    ws_buffer_puts(frame, "{\"thread\":");
    osrf_json_append_string(frame, thread ? thread : "");
    ws_buffer_puts(frame, ",\"log_xid\":\"\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
                   "\"__p\":{\"threadTrace\":");
    osrf_json_append_string(frame, trace && *trace ? trace : "1");
    ws_buffer_puts(frame, ",\"type\":\"STATUS\",\"payload\":{\"__c\":\"");
    ws_buffer_puts(frame, code == 404 || code == 503 ? "osrfServiceException"
                                                     : "osrfMethodException");
    ws_buffer_puts(frame, "\",\"__p\":{\"status\":");
    osrf_json_append_string(frame, text);
    ws_buffer_puts(frame, ",\"statusCode\":");
    ws_buffer_puts(frame, num);
    return ws_buffer_puts(frame, "}}}}]}");
}
