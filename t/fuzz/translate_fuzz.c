/*
 * translate_fuzz.c - the OpenSRF translation both ways over arbitrary
 * bytes: a client frame onto the bus and a bus message back to a client
 * frame.  Whatever succeeds must be valid JSON, and a bus message may only
 * ever go to the router or to a client address.
 */
#include <string.h>

#include <json-c/json.h>

#include "osrf_bridge.h"
#include "fuzz.h"

static const char *protect[] = { "open-ils.auth", NULL };
static const osrf_identity id = {
    "opensrf:client:gateway:localhost:fuzz:1:abcd",
    "opensrf:router:router:localhost", protect, "10.0.0.1"
};

static void check_json(const char *p, size_t n)
{
    json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH * 64);
    json_object *o;

    CHECK(tok != NULL);
    o = json_tokener_parse_ex(tok, p, (int)n);
    CHECK(o != NULL && json_tokener_get_error(tok) == json_tokener_success);
    CHECK(json_tokener_get_parse_end(tok) == n);
    json_object_put(o);
    json_tokener_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    osrf_session storage[4];
    osrf_sessions sessions;
    osrf_inbound in;
    osrf_outbound out;
    osrf_buf bus = { 0 }, activity = { 0 }, frame = { 0 };
    char *copy = malloc(size + 1);

    CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    osrf_sessions_init(&sessions, storage, 4);
    osrf_sessions_add(&sessions, "t1", "opensrf:client:opensrf:localhost:w:2:ffff");

    if (osrf_client_to_bus(&id, &sessions, copy, size, &in, &bus, &activity) == OSRF_OK) {
        check_json(bus.data, bus.len);
        CHECK(strcmp(in.recipient, id.router_key) == 0
              || strncmp(in.recipient, "opensrf:client:", 15) == 0
              || strncmp(in.recipient, "opensrf:service:", 16) == 0);
        CHECK(activity.len == 0 || memchr(activity.data, '\r', activity.len) == NULL);
    }
    if (osrf_bus_to_client(copy, size, &out, &frame) == OSRF_OK)
        check_json(frame.data, frame.len);
    osrf_buf_free(&bus);
    osrf_buf_free(&activity);
    osrf_buf_free(&frame);
    free(copy);
    return 0;
}
