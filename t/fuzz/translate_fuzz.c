/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * translate_fuzz.c - the OpenSRF translation both ways over arbitrary
 * bytes: a client frame onto the bus and a bus message back to a client
 * frame.  Whatever succeeds must be valid JSON, and a bus message may only
 * ever go to the router or to a client address.  A client frame taken is
 * also checked against json-c (strict): it must be JSON to json-c too, and
 * the bus message must hold the same thread and the same messages, each
 * stamped with our ingress and otherwise equal.
 */
#include <string.h>

#include <json-c/json.h>

#include "osrf_bridge.h"
#include "fuzz.h"

static const char *protect[] = { "open-ils.auth", NULL };
static const osrf_identity id = {
    "opensrf:client:gateway:localhost:fuzz:1:abcd",
    "opensrf:router:router:localhost", protect, "10.0.0.1", NULL
};

static json_object *parse_json(const char *p, size_t n)
{
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 64);
    json_object *o;

    CHECK(tok != NULL);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, p, (int)n);
    CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
    CHECK(json_tokener_get_parse_end(tok) == n);
    json_tokener_free(tok);
    return o;
}

static void check_json(const char *p, size_t n)
{
    json_object_put(parse_json(p, n));
}

static json_object *member(json_object *o, const char *key)
{
    json_object *v = NULL;

    CHECK(json_object_object_get_ex(o, key, &v));
    return v;
}

/* The bus message says what the client frame said, stamped. */
static void check_same(const char *frame, size_t n, const ws_buffer *bus)
{
    json_object *in = parse_json(frame, n), *out = parse_json(bus->data, bus->len);
    json_object *msgs = member(in, "osrf_msg"), *body = member(out, "body");
    size_t i;

    CHECK(strcmp(json_object_get_string(member(in, "thread")),
                 json_object_get_string(member(out, "thread"))) == 0);
    CHECK(json_object_array_length(msgs) == json_object_array_length(body));
    for (i = 0; i < json_object_array_length(msgs); i++) {
        json_object *m = json_object_array_get_idx(msgs, i);
        json_object *b = json_object_array_get_idx(body, i);

        CHECK(strcmp(json_object_get_string(member(member(b, "__p"), "ingress")),
                     OSRF_INGRESS) == 0);
        json_object_object_del(member(m, "__p"), "ingress");
        json_object_object_del(member(b, "__p"), "ingress");
        CHECK(json_object_equal(m, b));
    }
    json_object_put(in);
    json_object_put(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osrf_session storage[4];
    osrf_sessions sessions;
    osrf_inbound in;
    osrf_outbound out;
    ws_buffer bus = { 0 }, activity = { 0 }, frame = { 0 };
    char *copy = malloc(size + 1);

    CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    osrf_sessions_init(&sessions, storage, 4);
    osrf_sessions_add(&sessions, "t1", "opensrf:client:opensrf:localhost:w:2:ffff");

    if (osrf_client_to_bus(&id, &sessions, copy, size, &in, &bus, &activity) == OSRF_OK) {
        check_same(copy, size, &bus);
        CHECK(strcmp(in.recipient, id.router_key) == 0
              || strncmp(in.recipient, "opensrf:client:", 15) == 0
              || strncmp(in.recipient, "opensrf:service:", 16) == 0);
        CHECK(activity.len == 0 || memchr(activity.data, '\r', activity.len) == NULL);
    }
    if (osrf_bus_to_client(copy, size, &out, &frame) == OSRF_OK)
        check_json(frame.data, frame.len);
    ws_buffer_free(&bus);
    ws_buffer_free(&activity);
    ws_buffer_free(&frame);
    free(copy);
    return 0;
}
