/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_status_test.c - the gateway's STATUS frames are written with the
 * core's own JSON output, byte for byte what json-c wrote before (the
 * reference below is the json-c code they replaced), for codes of both
 * exception classes and for texts, threads and threadTraces that need
 * escaping; and json-c reads each back to the same values.
 */
#include <json-c/json.h>

#include "osrf_bridge.h"
#include "osrf_json.h"
#include "tap.h"

/* What osrf_status_frame was, with json-c. */
static const char *json_c_status(json_object **holder, const char *thread,
                                 const char *trace, int code, const char *text)
{
    json_object *root = json_object_new_object(), *msgs = json_object_new_array();
    json_object *m = json_object_new_object(), *p = json_object_new_object();
    json_object *pay = json_object_new_object(), *pp = json_object_new_object();

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
    *holder = root;
    return json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The frame read back by json-c: the text and the code where they belong. */
static int reads_back(const char *frame, int code, const char *text)
{
    json_object *root = json_tokener_parse(frame), *v = root;
    int same;

    same = v && json_object_object_get_ex(v, "osrf_msg", &v)
           && (v = json_object_array_get_idx(v, 0)) != NULL
           && json_object_object_get_ex(v, "__p", &v)
           && json_object_object_get_ex(v, "payload", &v)
           && json_object_object_get_ex(v, "__p", &v);
    if (same) {
        json_object *status, *sc;

        same = json_object_object_get_ex(v, "status", &status)
               && json_object_object_get_ex(v, "statusCode", &sc)
               && strcmp(json_object_get_string(status), text) == 0
               && json_object_get_int(sc) == code;
    }
    json_object_put(root);
    return same;
}

static void same_as_json_c(const char *thread, const char *trace, int code,
                           const char *text, const char *what)
{
    ws_buffer frame = { 0 };
    json_object *holder;
    const char *want = json_c_status(&holder, thread, trace, code, text);

    ok(osrf_status_frame(&frame, thread, trace, code, text) == 0, "%s: written", what);
    is_str(frame.data, want, "  %s: byte for byte json-c's", what);
    ok(frame.len == strlen(want), "  %s: the length is the text's", what);
    ok(reads_back(frame.data, code, text), "  %s: JSON that reads back the same", what);
    json_object_put(holder);
    ws_buffer_free(&frame);
}

static void test_strings(void)
{
    ws_buffer b = { 0 };
    char all[32];
    json_object *s;
    int i;

    for (i = 1; i < 32; i++)
        all[i - 1] = (char)i;
    all[31] = '\0';
    s = json_object_new_string(all);
    osrf_json_append_string(&b, all);
    is_str(b.data, json_object_to_json_string_ext(s, JSON_C_TO_STRING_PLAIN
                                                      | JSON_C_TO_STRING_NOSLASHESCAPE),
           "every control character escaped as json-c escapes it");
    json_object_put(s);
    ws_buffer_reset(&b);
    osrf_json_append_string(&b, "");
    is_str(b.data, "\"\"", "the empty string");
    ws_buffer_free(&b);
}

int main(void)
{
    same_as_json_c("0.7", "3", 400, "bad \"input\"", "400 with quotes in the text");
    same_as_json_c("t", "", 408, "no reply within the max request wait",
                   "408, no threadTrace (\"1\")");
    same_as_json_c("t", NULL, 503, "the OpenSRF bus connection was lost",
                   "503 (osrfServiceException)");
    same_as_json_c("", "12", 404, "service not found", "404 (osrfServiceException), no thread");
    same_as_json_c(NULL, "1", 500, "x", "no thread at all");
    same_as_json_c("a/b\\c", "tr\"ace\\\n", 400, "tab\there, slash / and \x01\x1f\x7f",
                   "escapes in thread, threadTrace and text");
    same_as_json_c("caf\xc3\xa9", "\xe2\x82\xac", 400, "\xf0\x9f\x98\x80 \r\b\f",
                   "UTF-8 passed as it is");
    test_strings();
    return done_testing();
}
