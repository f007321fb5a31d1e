/*
 * osrf_translate.c - client frames to bus messages and back
 * (osrf_bridge.h; the wire facts are PROTOCOL.md's).
 *
 * Inbound frames are small and must be checked and stamped, so they are
 * parsed with json-c.  Outbound bus messages may be megabytes: only their
 * envelope and each message's type and status are looked at, with the
 * span scanner, and the body is copied through as it came.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "osrf_bridge.h"
#include "osrf_json.h"

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

/* --- client -> bus ------------------------------------------------------ */

static int plain_service_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > OSRF_MAX_SERVICE)
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

static osrf_status invalid(osrf_inbound *in, const char *why)
{
    snprintf(in->error, sizeof(in->error), "%s", why);
    return OSRF_ERR_INVALID;
}

static const char *string_member(json_object *obj, const char *key)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* threadTrace as a string: opensrf.js sends its request counter as a JSON
 * number, OpenSRF's C code a string; json-c prints an integer for us. */
static const char *trace_member(json_object *obj)
{
    json_object *v;

    if (!json_object_object_get_ex(obj, "threadTrace", &v))
        return NULL;
    if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
        return json_object_get_string(v);
    return NULL;
}

/* The first message's threadTrace, for a STATUS answer to a frame refused
 * before its messages are read (a bad service name, log_xid). */
static void first_trace(json_object *root, osrf_inbound *in)
{
    json_object *msgs, *p;
    const char *trace;

    if (json_object_object_get_ex(root, "osrf_msg", &msgs)
        && json_object_is_type(msgs, json_type_array)
        && json_object_array_length(msgs) > 0
        && json_object_object_get_ex(json_object_array_get_idx(msgs, 0), "__p", &p)
        && (trace = trace_member(p)) != NULL && strlen(trace) < sizeof(in->trace))
        strcpy(in->trace, trace);
}

/* Appends "[IP] [] SERVICE METHOD PARAMS" for a REQUEST, params redacted
 * for log_protect methods; json-c's serialisation escapes control bytes. */
static void activity_line(const osrf_identity *id, const char *service,
                          json_object *payload, osrf_buf *activity)
{
    json_object *p, *params;
    const char *method;
    const char *const *prot;
    int redact = 0;

    if (activity == NULL || !json_object_object_get_ex(payload, "__p", &p))
        return;
    method = string_member(p, "method");
    if (method == NULL || !printable(method))
        method = "(unreadable method)";
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
    else if (json_object_object_get_ex(p, "params", &params))
        osrf_buf_puts(activity, json_object_to_json_string_ext(
                          params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    osrf_buf_puts(activity, "\n");
}

/* Checks and stamps each osrfMessage; counts what the bridge must track. */
static osrf_status read_messages(const osrf_identity *id, const char *service,
                                 json_object *msgs, osrf_inbound *in,
                                 osrf_buf *activity)
{
    size_t i, n = json_object_array_length(msgs);

    if (n == 0)
        return invalid(in, "osrf_msg is empty");
    for (i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(msgs, i), *p, *payload;
        const char *cls = json_object_is_type(m, json_type_object)
                          ? string_member(m, "__c") : NULL;
        const char *type;

        if (cls == NULL || strcmp(cls, "osrfMessage") != 0
            || !json_object_object_get_ex(m, "__p", &p)
            || !json_object_is_type(p, json_type_object))
            return invalid(in, "osrf_msg holds something other than an osrfMessage");
        type = string_member(p, "type");
        if (type == NULL)
            return invalid(in, "osrfMessage without a type");
        if (strcmp(type, "REQUEST") == 0) {
            in->requests++;
            if (json_object_object_get_ex(p, "payload", &payload))
                activity_line(id, service, payload, activity);
        } else if (strcmp(type, "CONNECT") == 0) {
            in->connect = 1;
        } else if (strcmp(type, "DISCONNECT") == 0) {
            in->disconnect = 1;
        } else {
            return invalid(in, "message type a client may not send");
        }
        json_object_object_add(p, "ingress", json_object_new_string(OSRF_INGRESS));
    }
    return OSRF_OK;
}

/* A log_xid made when the client sent none: time and pid, as OpenSRF's. */
static void make_xid(char *out, size_t n)
{
    static unsigned long counter;

    snprintf(out, n, "%lu%05lu", (unsigned long)time(NULL), ++counter % 100000);
}

/* 1 if the frame holds more than OSRF_MAX_VALUES values, counting the
 * commas, brackets and braces outside strings (an upper bound on what
 * json-c would allocate), without parsing it. */
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

osrf_status osrf_client_to_bus(const osrf_identity *id,
                               const osrf_sessions *sessions,
                               const char *frame, size_t len,
                               osrf_inbound *in, osrf_buf *bus,
                               osrf_buf *activity)
{
    json_tokener *tok = json_tokener_new_ex(OSRF_JSON_DEPTH);
    json_object *root, *msgs, *wire;
    const char *thread, *service, *xid, *worker;
    char made_xid[32];
    osrf_status st;

    memset(in, 0, sizeof(*in));
    if (tok == NULL)
        return OSRF_ERR_NOMEM;
    if (too_many_values(frame, len)) {
        snprintf(in->error, sizeof(in->error), "more than %d JSON values in one message",
                 OSRF_MAX_VALUES);
        json_tokener_free(tok);
        return OSRF_ERR_TOO_BIG;
    }
    root = json_tokener_parse_ex(tok, frame, (int)len);
    if (root == NULL || json_tokener_get_error(tok) != json_tokener_success
        || (size_t)json_tokener_get_parse_end(tok) != len) {
        snprintf(in->error, sizeof(in->error), "not JSON: %s",
                 json_tokener_error_desc(json_tokener_get_error(tok)));
        json_tokener_free(tok);
        json_object_put(root);
        return OSRF_ERR_JSON;
    }
    json_tokener_free(tok);
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        snprintf(in->error, sizeof(in->error), "not a JSON object");
        return OSRF_ERR_JSON;
    }

    thread = string_member(root, "thread");
    if (thread == NULL || thread[0] == '\0' || strlen(thread) > OSRF_MAX_THREAD
        || !printable(thread)) {
        st = invalid(in, "thread missing, over 64 characters or not printable");
        goto done;
    }
    strcpy(in->thread, thread);
    first_trace(root, in);

    service = string_member(root, "service");
    worker = osrf_sessions_find(sessions, thread);
    if (service == NULL && worker == NULL) {
        st = invalid(in, "no service named");
        goto done;
    }
    if (service != NULL && !plain_service_name(service)) {
        st = invalid(in, "service is not a plain service name");
        goto done;
    }
    xid = string_member(root, "log_xid");
    if (xid != NULL && (strlen(xid) > OSRF_MAX_XID || !printable(xid))) {
        st = invalid(in, "log_xid over 64 characters or not printable");
        goto done;
    }
    if (xid == NULL || xid[0] == '\0') {
        make_xid(made_xid, sizeof(made_xid));
        xid = made_xid;
    }
    strcpy(in->xid, xid);
    if (!json_object_object_get_ex(root, "osrf_msg", &msgs)
        || !json_object_is_type(msgs, json_type_array)) {
        st = invalid(in, "osrf_msg is not an array");
        goto done;
    }
    st = read_messages(id, service ? service : "", msgs, in, activity);
    if (st != OSRF_OK)
        goto done;

    snprintf(in->recipient, sizeof(in->recipient), "%s",
             worker ? worker : id->router_key);
    wire = json_object_new_object();
    if (worker) {
        json_object_object_add(wire, "to", json_object_new_string(worker));
    } else {
        char to[OSRF_MAX_SERVICE + 32];
        snprintf(to, sizeof(to), "opensrf:service:_:_:%s", service);
        json_object_object_add(wire, "to", json_object_new_string(to));
    }
    json_object_object_add(wire, "from", json_object_new_string(id->address));
    json_object_object_add(wire, "thread", json_object_new_string(thread));
    json_object_object_add(wire, "osrf_xid", json_object_new_string(xid));
    json_object_object_add(wire, "body", json_object_get(msgs));
    osrf_buf_reset(bus);
    if (osrf_buf_puts(bus, json_object_to_json_string_ext(
            wire, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
        st = OSRF_ERR_NOMEM;
    json_object_put(wire);
done:
    json_object_put(root);
    return st;
}

/* --- bus -> client -------------------------------------------------------- */

static int only_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p == end;
}

/* One whole JSON value of exactly len bytes, or NULL. */
static json_object *parse_n(const char *text, size_t len)
{
    json_tokener *tok = json_tokener_new_ex(OSRF_JSON_DEPTH);
    json_object *v;

    if (tok == NULL)
        return NULL;
    v = json_tokener_parse_ex(tok, text, (int)len);
    if (v != NULL && (json_tokener_get_error(tok) != json_tokener_success
                      || (size_t)json_tokener_get_parse_end(tok) != len)) {
        json_object_put(v);
        v = NULL;
    }
    json_tokener_free(tok);
    return v;
}

int osrf_json_string(const char *tok, size_t len, char *out, size_t outlen)
{
    json_object *v = parse_n(tok, len);
    int rc = -1;

    if (v && json_object_is_type(v, json_type_string)
        && (size_t)json_object_get_string_len(v) < outlen) {
        memcpy(out, json_object_get_string(v), json_object_get_string_len(v) + 1);
        rc = 0;
    }
    json_object_put(v);
    return rc;
}

/* Reads type and status of each message in the body.  A bounced message
 * (transport_error) carries the requests as they were sent: no answer
 * will come to them, so they end here. */
static void read_statuses(osrf_span body, int bounced, osrf_outbound *out)
{
    const char *cursor = NULL;
    osrf_span m, p, type, payload, pp, code;

    while (osrf_json_next(body, &cursor, &m)) {
        int c;

        if (!osrf_json_get(m, "__p", &p) || !osrf_json_get(p, "type", &type))
            continue;
        if (bounced && osrf_json_is_string(type, "REQUEST")) {
            out->completed++;
            continue;
        }
        if (!osrf_json_is_string(type, "STATUS")
            || !osrf_json_get(p, "payload", &payload)
            || !osrf_json_get(payload, "__p", &pp)
            || !osrf_json_get(pp, "statusCode", &code))
            continue;
        c = osrf_json_int(code);
        if (c == 200)
            out->connected = 1;
        else if (c == 408)
            out->timed_out = 1;
        if (c >= 205 && c != 206)
            out->completed++;
        if (c >= 400)
            out->error = c;
    }
}

osrf_status osrf_bus_to_client(const char *msg, size_t len,
                               osrf_outbound *out, osrf_buf *frame)
{
    osrf_span whole = { msg, len }, thread, from, xid, body, bounced;
    const char *end;
    char *unwrapped = NULL;
    osrf_status st = OSRF_OK;
    int body_ok, bounced_flag;

    memset(out, 0, sizeof(*out));
    end = osrf_json_skip(msg, msg + len, OSRF_JSON_DEPTH);
    if (end == NULL || !osrf_json_get(whole, "thread", &thread)
        || osrf_json_string(thread.p, thread.n, out->thread, sizeof(out->thread)) < 0
        || !osrf_json_get(whole, "body", &body))
        return OSRF_ERR_INVALID;
    if (osrf_json_get(whole, "from", &from))
        osrf_json_string(from.p, from.n, out->from, sizeof(out->from));

    /* a body sent as a string holding the JSON array */
    if (body.n > 0 && body.p[0] == '"') {
        json_object *s = parse_n(body.p, body.n);
        if (s && json_object_is_type(s, json_type_string))
            unwrapped = strdup(json_object_get_string(s));
        json_object_put(s);
        if (unwrapped == NULL)
            return OSRF_ERR_INVALID;
        body.p = unwrapped;
        body.n = strlen(unwrapped);
    }
    end = osrf_json_skip(body.p, body.p + body.n, OSRF_JSON_DEPTH);
    body_ok = end != NULL && body.p[0] == '[' && only_space(end, body.p + body.n);
    if (!body_ok) {
        free(unwrapped);
        return OSRF_ERR_INVALID;
    }
    bounced_flag = osrf_json_get(whole, "transport_error", &bounced)
                   && bounced.n == 4 && memcmp(bounced.p, "true", 4) == 0;
    read_statuses(body, bounced_flag, out);

    osrf_buf_reset(frame);
    osrf_buf_puts(frame, "{\"thread\":");
    osrf_buf_append(frame, thread.p, thread.n);
    osrf_buf_puts(frame, ",\"log_xid\":");
    if (osrf_json_get(whole, "osrf_xid", &xid) && xid.n > 0 && xid.p[0] == '"') {
        osrf_buf_append(frame, xid.p, xid.n);
        osrf_json_string(xid.p, xid.n, out->xid, sizeof(out->xid));
    } else
        osrf_buf_puts(frame, "\"\"");
    osrf_buf_puts(frame, ",\"osrf_msg\":");
    osrf_buf_append(frame, body.p, body.n);
    if (bounced_flag)
        osrf_buf_puts(frame, ",\"transport_error\":true");
    if (osrf_buf_puts(frame, "}") < 0)
        st = OSRF_ERR_NOMEM;
    free(unwrapped);
    return st;
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
