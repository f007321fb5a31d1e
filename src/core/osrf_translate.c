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

#include <json-c/json.h>

#include "osrf_bridge.h"
#include "osrf_json.h"
#include "osrf_log.h"

#define KEEP_BUFFER (256 * 1024)

/* --- buffers ------------------------------------------------------------ */

int osrf_buf_append(osrf_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *q;

        while (cap < b->len + n + 1)
            cap *= 2;
        if ((q = realloc(b->data, cap)) == NULL)
            return -1;
        b->data = q;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int osrf_buf_puts(osrf_buf *b, const char *s)
{
    return osrf_buf_append(b, s, strlen(s));
}

void osrf_buf_reset(osrf_buf *b)
{
    b->len = 0;
    if (b->cap > KEEP_BUFFER) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
}

void osrf_buf_free(osrf_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* --- the session cache --------------------------------------------------- */

void osrf_sessions_init(osrf_sessions *s, osrf_session *storage, int max)
{
    s->entries = storage;
    s->count = 0;
    s->max = max;
}

const char *osrf_sessions_find(const osrf_sessions *s, const char *thread)
{
    int i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].thread, thread) == 0)
            return s->entries[i].worker;
    return NULL;
}

void osrf_sessions_remove(osrf_sessions *s, const char *thread)
{
    int i;

    for (i = 0; i < s->count; i++)
        if (strcmp(s->entries[i].thread, thread) == 0) {
            s->entries[i] = s->entries[--s->count];
            return;
        }
}

/* -1 when full: the caller refuses the session rather than forget another. */
int osrf_sessions_add(osrf_sessions *s, const char *thread, const char *worker)
{
    osrf_session *e;

    osrf_sessions_remove(s, thread);
    if (s->count >= s->max || strlen(thread) > OSRF_MAX_THREAD
        || strlen(worker) > OSRF_MAX_ADDRESS)
        return -1;
    e = &s->entries[s->count++];
    strcpy(e->thread, thread);
    strcpy(e->worker, worker);
    return 0;
}

/* --- JSON out ------------------------------------------------------------ */

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

static int only_space(const char *p, const char *end)
{
    return skip_space(p, end) == end;
}

/* Appends the checked JSON value v without the white space between its
 * tokens: what json-c's plain output was, without building the tree. */
static int append_compact(osrf_buf *b, osrf_span v)
{
    const char *p = v.p, *end = v.p + v.n, *run = p;

    while (p < end) {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
            p++;
        } else if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            if (osrf_buf_append(b, run, (size_t)(p - run)) < 0)
                return -1;
            run = p = skip_space(p, end);
        } else {
            p++;
        }
    }
    return osrf_buf_append(b, run, (size_t)(end - run));
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

/* The last member of obj named each of names (a client's duplicate key
 * means what the service's parser will take: the last). */
static void members(osrf_span obj, const char *const *names, osrf_span *values)
{
    const char *cursor = NULL;
    osrf_span k, v;
    int i;

    for (i = 0; names[i]; i++)
        values[i].p = NULL, values[i].n = 0;
    while (osrf_json_member(obj, &cursor, &k, &v))
        for (i = 0; names[i]; i++)
            if (osrf_json_key_is(k, names[i]))
                values[i] = v;
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
    members(m, m_names, &p);
    if (p.p == NULL || p.p[0] != '{')
        return;
    members(p, p_names, &trace);
    trace_member(trace, in->trace, sizeof(in->trace));
}

/* Appends "[IP] [] SERVICE METHOD PARAMS" for a REQUEST, params redacted
 * for log_protect methods (and for a method too long to read). */
static void activity_line(const osrf_identity *id, const char *service,
                          osrf_span payload, osrf_buf *activity)
{
    static const char *const pay_names[] = { "__p", NULL },
                      *const names[] = { "method", "params", NULL };
    char method[256];
    const char *const *prot;
    osrf_span p, mp[2];
    int redact = 0, read;

    if (activity == NULL || payload.p[0] != '{')
        return;
    members(payload, pay_names, &p);
    if (p.p == NULL || p.p[0] != '{')
        return;
    members(p, names, mp);
    read = string_member(mp[0], method, sizeof(method));
    if (read <= 0 || !osrf_log_clean(method)) {
        redact = read < 0;
        strcpy(method, "(unreadable method)");
    }
    for (prot = id->log_protect; prot && *prot; prot++)
        if (strncmp(method, *prot, strlen(*prot)) == 0)
            redact = 1;
    osrf_buf_puts(activity, "[");
    osrf_buf_puts(activity, id->client_ip ? id->client_ip : "");
    osrf_buf_puts(activity, "] [] ");
    osrf_buf_puts(activity, service);
    osrf_buf_puts(activity, " ");
    osrf_buf_puts(activity, method);
    osrf_buf_puts(activity, " ");
    if (redact)
        osrf_buf_puts(activity, "**PARAMS REDACTED**");
    else if (mp[1].p)
        append_compact(activity, mp[1]);
    osrf_buf_puts(activity, "\n");
}

/* Appends the message's __p with our ingress as its last member, any the
 * client put there dropped. */
static int append_stamped(const osrf_identity *id, osrf_buf *bus, osrf_span p)
{
    const char *cursor = NULL;
    osrf_span k, v;

    osrf_buf_puts(bus, "{");
    while (osrf_json_member(p, &cursor, &k, &v)) {
        if (osrf_json_key_is(k, "ingress"))
            continue;
        osrf_buf_append(bus, k.p, k.n);
        osrf_buf_puts(bus, ":");
        append_compact(bus, v);
        osrf_buf_puts(bus, ",");
    }
    osrf_buf_puts(bus, "\"ingress\":\"");
    osrf_buf_puts(bus, id->ingress ? id->ingress : OSRF_INGRESS);
    return osrf_buf_puts(bus, "\"}");
}

/* Checks one osrfMessage, counts what the bridge must track, and appends
 * it, stamped, to the bus message. */
static osrf_status read_message(const osrf_identity *id, const char *service,
                                osrf_span m, osrf_inbound *in,
                                osrf_buf *bus, osrf_buf *activity)
{
    static const char *const m_names[] = { "__c", "__p", NULL },
                      *const p_names[] = { "type", "payload", NULL };
    const char *cursor = NULL;
    osrf_span mv[2], pv[2], k, v;
    int first = 1;

    if (m.p[0] != '{')
        return invalid(in, "osrf_msg holds something other than an osrfMessage");
    members(m, m_names, mv);
    if (mv[0].p == NULL || !osrf_json_is_string(mv[0], "osrfMessage")
        || mv[1].p == NULL || mv[1].p[0] != '{')
        return invalid(in, "osrf_msg holds something other than an osrfMessage");
    members(mv[1], p_names, pv);
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

    osrf_buf_puts(bus, "{");
    while (osrf_json_member(m, &cursor, &k, &v)) {
        if (!first)
            osrf_buf_puts(bus, ",");
        first = 0;
        osrf_buf_append(bus, k.p, k.n);
        osrf_buf_puts(bus, ":");
        if (osrf_json_key_is(k, "__p"))
            append_stamped(id, bus, v);
        else
            append_compact(bus, v);
    }
    return osrf_buf_puts(bus, "}") < 0 ? OSRF_ERR_NOMEM : OSRF_OK;
}

/* A log_xid made when the client sent none: time and pid, as OpenSRF's. */
static void make_xid(char *out, size_t n)
{
    static unsigned long counter;

    snprintf(out, n, "%lu%05lu", (unsigned long)time(NULL), ++counter % 100000);
}

/* 1 if the frame holds more than OSRF_MAX_VALUES values, counting the
 * commas, brackets and braces outside strings, without parsing it. */
static int too_many_values(const char *p, size_t len)
{
    const char *end = p + len;
    size_t n = 0;

    for (; p < end; p++) {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\')
                    p++;
        } else if ((*p == ',' || *p == '[' || *p == '{') && ++n > OSRF_MAX_VALUES) {
            return 1;
        }
    }
    return 0;
}

/* Appends s inside a JSON string (a log_xid, a thread): quotes,
 * backslashes and control characters escaped. */
static void append_escaped(osrf_buf *b, const char *s)
{
    char esc[8];

    for (; *s; s++) {
        if ((unsigned char)*s < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)*s);
            osrf_buf_puts(b, esc);
            continue;
        }
        if (*s == '"' || *s == '\\')
            osrf_buf_puts(b, "\\");
        osrf_buf_append(b, s, 1);
    }
}

/* The envelope: to, from, thread, osrf_xid, then the body. */
static void start_envelope(const osrf_identity *id, const char *worker,
                           const char *service, osrf_span thread, const char *xid,
                           osrf_buf *bus)
{
    osrf_buf_reset(bus);
    osrf_buf_puts(bus, "{\"to\":\"");
    if (worker) {
        osrf_buf_puts(bus, worker);
    } else {
        osrf_buf_puts(bus, "opensrf:service:_:_:");
        osrf_buf_puts(bus, service);
    }
    osrf_buf_puts(bus, "\",\"from\":\"");
    osrf_buf_puts(bus, id->address);
    osrf_buf_puts(bus, "\",\"thread\":");
    osrf_buf_append(bus, thread.p, thread.n);
    osrf_buf_puts(bus, ",\"osrf_xid\":\"");
    append_escaped(bus, xid);
    osrf_buf_puts(bus, "\",\"body\":[");
}

osrf_status osrf_client_to_bus(const osrf_identity *id,
                               const osrf_sessions *sessions,
                               const char *frame, size_t len,
                               osrf_inbound *in, osrf_buf *bus,
                               osrf_buf *activity)
{
    static const char *const names[] = { "thread", "service", "log_xid", "osrf_msg", NULL };
    osrf_span whole = { frame, len }, v[4], m;
    const char *end, *worker, *cursor = NULL;
    char service[OSRF_MAX_SERVICE + 2];
    int has_service, has_xid, nmsgs = 0;
    osrf_status st = OSRF_OK;

    memset(in, 0, sizeof(*in));
    if (activity)
        osrf_buf_reset(activity);   /* no line of an earlier frame stays behind */
    if (too_many_values(frame, len)) {
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
    whole.p = skip_space(whole.p, end);
    if (*whole.p != '{') {
        snprintf(in->error, sizeof(in->error), "not a JSON object");
        return OSRF_ERR_JSON;
    }
    members(whole, names, v);

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
            osrf_buf_puts(bus, ",");
        st = read_message(id, has_service > 0 ? service : "", m, in, bus, activity);
    }
    if (st == OSRF_OK && nmsgs == 0)
        st = invalid(in, "osrf_msg is empty");
    if (st == OSRF_OK && osrf_buf_puts(bus, "]}") < 0)
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
        members(m, m_names, &p);
        if (p.p == NULL || p.p[0] != '{')
            continue;
        members(p, p_names, pv);
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
                               osrf_outbound *out, osrf_buf *frame)
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
    members(whole, names, v);
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
    end = skip_space(body.p, body.p + body.n);
    body.n -= (size_t)(end - body.p);
    body.p = end;
    if (body.n == 0 || body.p[0] != '[') {
        free(unwrapped);
        return OSRF_ERR_INVALID;
    }
    bounced = v[4].n == 4 && memcmp(v[4].p, "true", 4) == 0;
    read_statuses(body, bounced, out);

    osrf_buf_reset(frame);
    osrf_buf_puts(frame, "{\"thread\":");
    osrf_buf_append(frame, v[0].p, v[0].n);
    osrf_buf_puts(frame, ",\"log_xid\":");
    if (v[2].p && v[2].p[0] == '"') {
        osrf_buf_append(frame, v[2].p, v[2].n);
        if (osrf_json_unescape(v[2], out->xid, sizeof(out->xid)) < 0)
            out->xid[0] = '\0';
    } else {
        osrf_buf_puts(frame, "\"\"");
    }
    osrf_buf_puts(frame, ",\"osrf_msg\":");
    osrf_buf_append(frame, body.p, body.n);
    if (bounced)
        osrf_buf_puts(frame, ",\"transport_error\":true");
    if (osrf_buf_puts(frame, "}") < 0)
        st = OSRF_ERR_NOMEM;
    free(unwrapped);
    return st;
}

int osrf_disconnect_message(osrf_buf *bus, const osrf_identity *id,
                            const osrf_session *s)
{
    osrf_buf thread = { 0 };    /* once per session ended: not a hot path */
    osrf_span t;
    int rc;

    osrf_buf_puts(&thread, "\"");
    append_escaped(&thread, s->thread);
    if (osrf_buf_puts(&thread, "\"") < 0) {
        osrf_buf_free(&thread);
        return -1;
    }
    t.p = thread.data;
    t.n = thread.len;
    start_envelope(id, s->worker, NULL, t, "", bus);
    osrf_buf_free(&thread);
    osrf_buf_puts(bus, "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"0\","
                  "\"type\":\"DISCONNECT\",\"ingress\":\"");
    osrf_buf_puts(bus, id->ingress ? id->ingress : OSRF_INGRESS);
    rc = osrf_buf_puts(bus, "\"}}]}");
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

int osrf_status_frame(osrf_buf *frame, const char *thread, const char *trace,
                      int code, const char *text)
{
    json_object *root = json_object_new_object(), *msgs = json_object_new_array();
    json_object *m = json_object_new_object(), *p = json_object_new_object();
    json_object *pay = json_object_new_object(), *pp = json_object_new_object();
    int rc;

    json_object_object_add(pp, "status", json_object_new_string(text));
    json_object_object_add(pp, "statusCode", json_object_new_int(code));
    json_object_object_add(pay, "__c", json_object_new_string(
                               code == 404 || code == 503 ? "osrfServiceException"
                                                          : "osrfMethodException"));
    json_object_object_add(pay, "__p", pp);
    json_object_object_add(p, "threadTrace",
                           json_object_new_string(trace && *trace ? trace : "1"));
    json_object_object_add(p, "type", json_object_new_string("STATUS"));
    json_object_object_add(p, "payload", pay);
    json_object_object_add(m, "__c", json_object_new_string("osrfMessage"));
    json_object_object_add(m, "__p", p);
    json_object_array_add(msgs, m);
    json_object_object_add(root, "thread", json_object_new_string(thread ? thread : ""));
    json_object_object_add(root, "log_xid", json_object_new_string(""));
    json_object_object_add(root, "osrf_msg", msgs);
    osrf_buf_reset(frame);
    rc = osrf_buf_puts(frame, json_object_to_json_string_ext(
                           root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(root);
    return rc;
}
