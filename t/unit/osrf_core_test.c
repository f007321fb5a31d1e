/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_core_test.c - the bridge core's rules on buffers: the span scanner,
 * client frame -> bus message, bus message -> client frame, the session
 * cache, the limits, and the opensrf_core.xml reader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osrf_bridge.h"
#include "osrf_config.h"
#include "osrf_json.h"
#include "tap.h"

static const char *protect[] = { "open-ils.auth", NULL };
static const osrf_identity id = {
    "opensrf:client:gateway:localhost:web1:42:abcd",
    "opensrf:router:router:localhost", protect, "10.0.0.1", NULL
};

#define REQ(service, thread, method, params)                                  \
    "{\"service\":\"" service "\",\"thread\":\"" thread "\",\"osrf_msg\":"   \
    "[{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\",\"type\":"      \
    "\"REQUEST\",\"locale\":\"en-US\",\"payload\":{\"__c\":\"osrfMethod\","   \
    "\"__p\":{\"method\":\"" method "\",\"params\":" params "}}}}]}"

static osrf_session storage[4];
static osrf_sessions sessions;

static osrf_status inbound(const char *frame, osrf_inbound *in, ws_buffer *bus,
                           ws_buffer *act)
{
    ws_buffer_reset(bus);
    ws_buffer_reset(act);
    return osrf_client_to_bus(&id, &sessions, frame, strlen(frame), in, bus, act);
}

static void test_scanner(void)
{
    const char *doc = " {\"a\":[1,{\"x\":\"]}\\\"\"},3],\"b\" : \"two\",\"c\":-1.5e3}";
    osrf_span obj = { doc, strlen(doc) }, v, e;
    const char *cursor = NULL;
    int n = 0;

    ok(osrf_json_skip(doc, doc + strlen(doc), 10) == doc + strlen(doc),
       "scanner skips a whole value with brackets inside strings");
    ok(osrf_json_get(obj, "b", &v) && osrf_json_is_string(v, "two"),
       "scanner finds a key after a nested value");
    ok(osrf_json_get(obj, "c", &v) && v.n == 6, "scanner finds a number");
    ok(!osrf_json_get(obj, "z", &v), "scanner: absent key");
    ok(osrf_json_get(obj, "a", &v), "scanner finds an array");
    while (osrf_json_next(v, &cursor, &e))
        n++;
    is_int(n, 3, "scanner walks an array's elements");
    ok(osrf_json_skip("[[[[1]]]]", "[[[[1]]]]" + 9, 3) == NULL,
       "scanner refuses nesting over its limit");
    ok(osrf_json_skip("{\"a\":\"unterminated", "{\"a\":\"unterminated" + 17, 9) == NULL,
       "scanner refuses an unterminated string");
    ok(osrf_json_skip("]", "]" + 1, 9) == NULL, "scanner refuses a stray bracket");
    {
        const char *esc = "\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\n\"";
        osrf_span t = { esc, strlen(esc) }, nul = { "\"a\\u0000b\"", 10 },
                  lone = { "\"\\udc00\"", 8 }, key = { "\"t\\u0079pe\"", 11 };
        char out[32], tiny[4];

        ok(osrf_json_unescape(t, out, sizeof(out)) == 0
           && strcmp(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \n") == 0,
           "unescape: \\u escapes, a surrogate pair, quotes, newline");
        ok(osrf_json_unescape(nul, out, sizeof(out)) < 0, "unescape refuses \\u0000");
        ok(osrf_json_unescape(lone, out, sizeof(out)) < 0, "unescape refuses a lone surrogate");
        ok(osrf_json_unescape(t, tiny, sizeof(tiny)) < 0, "unescape refuses what does not fit");
        ok(osrf_json_key_is(key, "type"), "a key compares unescaped");
    }
    {
        const char *o = "{ \"a\" : [ 1 , { \"b\" : \"}\" } ] , \"c\" : true }";
        osrf_span obj = { o, strlen(o) }, k, val;
        const char *cur = NULL;

        ok(osrf_json_member(obj, &cur, &k, &val) && osrf_json_is_string(k, "a")
           && val.n == strlen("[ 1 , { \"b\" : \"}\" } ]"), "members: the first, spaces around");
        ok(osrf_json_member(obj, &cur, &k, &val) && osrf_json_is_string(k, "c")
           && val.n == 4, "members: a literal ended by the object");
        ok(!osrf_json_member(obj, &cur, &k, &val), "members: the end");
    }
    {
        osrf_span s = { "\"205\"", 5 }, i = { "205", 3 }, bad = { "\"2x\"", 4 };
        ok(osrf_json_int(s) == 205 && osrf_json_int(i) == 205,
           "statusCode as a string or a number compares by value");
        is_int(osrf_json_int(bad), -1, "not a number");
    }
}

static void test_inbound(void)
{
    ws_buffer bus = { 0 }, act = { 0 };
    osrf_inbound in;

    is_int(inbound(REQ("opensrf.math", "0.123", "add", "[2,3]"), &in, &bus, &act),
           OSRF_OK, "a REQUEST translates");
    is_str(in.recipient, "opensrf:router:router:localhost",
           "a new thread goes to the router");
    ok(strstr(bus.data, "\"to\":\"opensrf:service:_:_:opensrf.math\"") != NULL,
       "addressed to opensrf:service:_:_:SERVICE");
    ok(strstr(bus.data, "\"from\":\"opensrf:client:gateway:localhost:web1:42:abcd\"")
       != NULL, "from our address");
    ok(strstr(bus.data, "\"ingress\":\"ws-translator-v2\"") != NULL,
       "ingress stamped: ws-translator-v2 by default, as Evergreen expects");
    ok(strstr(bus.data, "\"body\":[{\"__c\":\"osrfMessage\"") != NULL,
       "body is the osrfMessage array, class hints untouched");
    ok(strstr(bus.data, "\"osrf_xid\":\"") != NULL, "a log_xid is made when absent");
    ok(strchr(bus.data, ' ') == NULL, "bus message is compact");
    is_int(in.requests, 1, "one REQUEST counted");
    is_str(act.data, "[10.0.0.1] [] opensrf.math add [2,3]\n", "activity-log line");

    inbound(REQ("open-ils.auth", "0.1", "open-ils.auth.authenticate.complete",
                "[{\"password\":\"secret\"}]"), &in, &bus, &act);
    ok(strstr(act.data, "**PARAMS REDACTED**") && !strstr(act.data, "secret"),
       "log_protect methods have their params redacted");

    inbound(REQ("opensrf.math", "0.1", "echo", "[\"line\\nbreak\\u0001\"]"), &in, &bus, &act);
    ok(strchr(act.data, '\n') == act.data + act.len - 1 && !strchr(act.data, 1),
       "control characters in params are escaped in the log line");

    inbound(REQ("open-ils.auth", "0.1", "open-ils.\\u0061uth.authenticate.complete",
                "[\"secret\"]"), &in, &bus, &act);
    ok(strstr(act.data, "**PARAMS REDACTED**") && !strstr(act.data, "secret"),
       "a log_protect method written with escapes is redacted too");

    inbound("{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
            "\"__p\":{\"ingress\":\"forged\",\"type\":\"REQUEST\",\"in\\u0067ress\":\"x\"}}]}",
            &in, &bus, &act);
    ok(!strstr(bus.data, "forged") && !strstr(bus.data, "\"x\"")
       && strstr(bus.data, "{\"type\":\"REQUEST\",\"ingress\":\"" OSRF_INGRESS "\"}"),
       "a client's own ingress (escaped or not) is dropped, ours stamped last");
    is_int(inbound("{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
                   "\"__p\":{\"type\":\"REQUEST\",\"t\\u0079pe\":\"RESULT\"}}]}", &in, &bus, &act),
           OSRF_ERR_INVALID, "a duplicate type (escaped) is read as the service will: the last");
    is_int(inbound(" { \"service\" : \"opensrf.math\" , \"thread\" : \"0.2\" , \"osrf_msg\" : [ { "
                   "\"__c\" : \"osrfMessage\" , \"__p\" : { \"type\" : \"REQUEST\" , \"payload\" : "
                   "{ \"__p\" : { \"method\" : \"add\" , \"params\" : [ 1 , \"a b\" ] } } } } ] } ",
                   &in, &bus, &act), OSRF_OK, "a frame with white space everywhere translates");
    ok(strstr(bus.data, "\"params\":[1,\"a b\"]") && !strstr(bus.data, "\" :"),
       "and goes onto the bus compact (strings untouched)");
    is_str(act.data, "[10.0.0.1] [] opensrf.math add [1,\"a b\"]\n", "its activity line too");

    osrf_sessions_add(&sessions, "0.stateful", "opensrf:client:opensrf:localhost:w:1:x");
    inbound(REQ("opensrf.math", "0.stateful", "add", "[1,1]"), &in, &bus, &act);
    is_str(in.recipient, "opensrf:client:opensrf:localhost:w:1:x",
           "a cached thread goes straight to its worker");
    ok(strstr(bus.data, "\"to\":\"opensrf:client:opensrf:localhost:w:1:x\"") != NULL,
       "and is addressed to it");

    is_int(inbound("{\"thread\":", &in, &bus, &act), OSRF_ERR_JSON, "truncated JSON refused");
    is_int(inbound("[1,2]", &in, &bus, &act), OSRF_ERR_JSON, "not an object refused");
    is_int(inbound("{} trailing", &in, &bus, &act), OSRF_ERR_JSON, "trailing bytes refused");
    is_int(inbound(REQ("opensrf:math", "0.1", "add", "[]"), &in, &bus, &act),
           OSRF_ERR_INVALID, "service with ':' refused");
    is_str(in.thread, "0.1", "the thread is known for the STATUS answer");
    is_int(inbound(REQ("opensrf math", "0.1", "add", "[]"), &in, &bus, &act),
           OSRF_ERR_INVALID, "service with a space refused");
    is_int(inbound(REQ("opensrf.math",
        "01234567890123456789012345678901234567890123456789012345678901234", "add", "[]"),
        &in, &bus, &act), OSRF_ERR_INVALID, "thread over 64 characters refused");
    ok(in.thread[0] == '\0', "a refused thread is not echoed back");
    is_int(inbound("{\"service\":\"s\",\"thread\":\"t\",\"log_xid\":\"a\\nb\",\"osrf_msg\":[]}",
                   &in, &bus, &act), OSRF_ERR_INVALID, "log_xid with a newline refused");
#define XID_FRAME(xid) "{\"service\":\"s\",\"thread\":\"t\",\"log_xid\":\"" xid "\"," \
        "\"osrf_msg\":[{\"__c\":\"osrfMessage\",\"__p\":{\"type\":\"CONNECT\"}}]}"
    is_int(inbound(XID_FRAME("a\\u2028b"), &in, &bus, &act), OSRF_ERR_INVALID,
           "log_xid with U+2028 refused");
    ok(strstr(in.error, "log_xid") != NULL, "  for its log_xid");
    is_int(inbound(XID_FRAME("a\xc2\x85" "b"), &in, &bus, &act), OSRF_ERR_INVALID,
           "log_xid with a raw NEL refused");
    is_int(inbound(XID_FRAME("a-b"), &in, &bus, &act), OSRF_OK, "a plain log_xid passes");
    is_int(inbound(REQ("opensrf.math", "0.1\\u009b", "add", "[]"), &in, &bus, &act),
           OSRF_ERR_INVALID, "a thread with a C1 control (CSI) refused");
    inbound(REQ("opensrf.math", "0.1", "add\\u2029x", "[\"a\xe2\x80\xa8" "b\"]"), &in, &bus, &act);
    is_str(act.data, "[10.0.0.1] [] opensrf.math (unreadable method) [\"a\xe2\x80\xa8" "b\"]\n",
           "a method with U+2029 is not written; params go as they are (the log escapes)");
    {
        ws_buffer stale = { 0 };

        ws_buffer_puts(&stale, "[10.0.0.9] [] left over from another frame\n");
        osrf_client_to_bus(&id, &sessions, REQ("opensrf.math", "0.2", "add", "[1]"),
                           strlen(REQ("opensrf.math", "0.2", "add", "[1]")), &in, &bus, &stale);
        is_str(stale.data, "[10.0.0.1] [] opensrf.math add [1]\n",
               "the activity lines are the frame's own: the buffer is emptied first");
        ws_buffer_free(&stale);
    }
    is_int(inbound("{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
                   "\"__p\":{\"type\":\"RESULT\"}}]}", &in, &bus, &act),
           OSRF_ERR_INVALID, "a RESULT from a client refused");
    is_int(inbound("{\"thread\":\"t\",\"osrf_msg\":[]}", &in, &bus, &act),
           OSRF_ERR_INVALID, "no service and no session refused");
    inbound("{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
            "\"__p\":{\"threadTrace\":7,\"type\":\"REQUEST\"}}]}", &in, &bus, &act);
    is_str(in.trace, "7", "a numeric threadTrace (opensrf.js sends one) is kept for the STATUS answer");
    inbound("{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":\"osrfMessage\","
            "\"__p\":{\"threadTrace\":\"8\",\"type\":\"REQUEST\"}}]}", &in, &bus, &act);
    is_str(in.trace, "8", "and a string one");
    inbound("{\"service\":\"bad name\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":"
            "\"osrfMessage\",\"__p\":{\"threadTrace\":5,\"type\":\"REQUEST\"}}]}", &in, &bus, &act);
    is_str(in.trace, "5", "a frame refused for its service still has its threadTrace known");
    {
        /* 200 levels of nesting pass; 2000 are refused cleanly */
        char *deep = malloc(20000), *p;
        int i;
        for (int depth = 200; depth <= 2000; depth += 1800) {
            p = deep;
            p += sprintf(p, "{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":"
                         "\"osrfMessage\",\"__p\":{\"type\":\"REQUEST\",\"payload\":");
            for (i = 0; i < depth; i++)
                *p++ = '[';
            for (i = 0; i < depth; i++)
                *p++ = ']';
            strcpy(p, "}}]}");
            if (depth == 200)
                is_int(inbound(deep, &in, &bus, &act), OSRF_OK, "200 levels of nesting pass");
            else
                is_int(inbound(deep, &in, &bus, &act), OSRF_ERR_JSON,
                       "2000 levels of nesting are refused");
        }
        free(deep);
    }
    {
        /* a frame of many small values is refused before json-c parses
         * it; the same bytes in one string pass */
        size_t n = 2 * (OSRF_MAX_VALUES + 1), i;
        char *many = malloc(n + 200), *p = many;
        p += sprintf(p, "{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[],\"x\":[");
        for (i = 0; i < OSRF_MAX_VALUES; i++) {
            *p++ = '0';
            *p++ = ',';
        }
        strcpy(p, "0]}");
        is_int(inbound(many, &in, &bus, &act), OSRF_ERR_TOO_BIG,
               "more than OSRF_MAX_VALUES values: refused unparsed");
        p = many + sprintf(many, "{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":[{\"__c\":"
                           "\"osrfMessage\",\"__p\":{\"type\":\"DISCONNECT\"}}],\"x\":\"");
        for (i = 0; i < OSRF_MAX_VALUES; i++) {
            *p++ = ',';
            *p++ = '[';
        }
        strcpy(p, "\\\"\"}");
        is_int(inbound(many, &in, &bus, &act), OSRF_OK,
               "commas and brackets inside a string (and an escaped quote) do not count");
        free(many);
    }
    ws_buffer_free(&bus);
    ws_buffer_free(&act);
}

static void test_outbound(void)
{
    ws_buffer frame = { 0 };
    osrf_outbound out;
    const char *result =
        "{\"to\":\"x\",\"from\":\"opensrf:client:opensrf:localhost:w:1:x\","
        "\"thread\":\"0.5\",\"osrf_xid\":\"99\",\"body\":[{\"__c\":\"osrfMessage\","
        "\"__p\":{\"threadTrace\":\"1\",\"type\":\"RESULT\",\"payload\":{\"__c\":"
        "\"osrfResult\",\"__p\":{\"status\":\"OK\",\"statusCode\":200,\"content\":5}}}}]}";
    const char *complete_str =
        "{\"thread\":\"0.5\",\"from\":\"opensrf:client:opensrf:localhost:w:1:x\","
        "\"body\":\"[{\\\"__c\\\":\\\"osrfMessage\\\",\\\"__p\\\":{\\\"type\\\":\\\"STATUS\\\","
        "\\\"payload\\\":{\\\"__p\\\":{\\\"statusCode\\\":\\\"205\\\"}}}}]\"}";
    const char *connected =
        "{\"thread\":\"0.6\",\"from\":\"opensrf:client:opensrf:localhost:w:2:y\","
        "\"body\":[{\"__c\":\"osrfMessage\",\"__p\":{\"type\":\"STATUS\",\"payload\":"
        "{\"__c\":\"osrfConnectStatus\",\"__p\":{\"statusCode\":200}}}}],"
        "\"transport_error\":true}";

    is_int(osrf_bus_to_client(result, strlen(result), &out, &frame), OSRF_OK,
           "a RESULT translates");
    is_str(frame.data, "{\"thread\":\"0.5\",\"log_xid\":\"99\",\"osrf_msg\":"
           "[{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\",\"type\":\"RESULT\","
           "\"payload\":{\"__c\":\"osrfResult\",\"__p\":{\"status\":\"OK\",\"statusCode\":200,"
           "\"content\":5}}}}]}", "client frame: thread, log_xid, body spliced as it came");
    is_int(out.completed, 0, "a RESULT completes nothing");

    is_int(osrf_bus_to_client(complete_str, strlen(complete_str), &out, &frame), OSRF_OK,
           "a body sent as a string translates");
    is_int(out.completed, 1, "STATUS \"205\" (a string) completes a request");
    ok(strstr(frame.data, "\"osrf_msg\":[{\"__c\":\"osrfMessage\"") != NULL,
       "a string body is unwrapped into JSON");

    is_int(osrf_bus_to_client(connected, strlen(connected), &out, &frame), OSRF_OK,
           "a CONNECT answer translates");
    ok(out.connected, "STATUS 200 is seen");
    is_int(out.completed, 1, "STATUS 200 ends the CONNECT it answers");
    is_str(out.from, "opensrf:client:opensrf:localhost:w:2:y", "with the worker address");
    ok(strstr(frame.data, ",\"transport_error\":true}") != NULL, "transport_error passed on");
    {
        const char *bounce =
            "{\"thread\":\"0.7\",\"transport_error\":true,\"body\":[{\"__c\":\"osrfMessage\","
            "\"__p\":{\"threadTrace\":3,\"type\":\"REQUEST\",\"payload\":{}}}]}";
        is_int(osrf_bus_to_client(bounce, strlen(bounce), &out, &frame), OSRF_OK,
               "a bounced REQUEST translates");
        is_int(out.completed, 1, "and ends its request (no answer will come)");
        const char *plain = strstr(bounce, "\"body\"");
        char unbounced[256];
        snprintf(unbounced, sizeof(unbounced), "{\"thread\":\"0.7\",%s", plain);
        is_int(osrf_bus_to_client(unbounced, strlen(unbounced), &out, &frame), OSRF_OK,
               "the same without transport_error translates");
        is_int(out.completed, 0, "and ends nothing");
    }

    is_int(osrf_bus_to_client("{\"thread\":\"t\",\"body\":[", 22, &out, &frame),
           OSRF_ERR_INVALID, "a truncated bus message is refused");
    is_int(osrf_bus_to_client("{\"body\":[]}", 11, &out, &frame), OSRF_ERR_INVALID,
           "a bus message without a thread is refused");
    {
        /* found by the translate fuzz target: a body that only looks like
         * JSON must not reach the browser, nor bytes that are not UTF-8 */
        static const char *bad[] = {
            "{\"thread\":\"t\",\"body\":[{\"a\":\"OK\"sCode\":200}]}",
            "{\"thread\":\"t\",\"body\":[{\"a\":\"caf\xc3\"}]}",
            "{\"thread\":\"t\",\"body\":[{\"a\":\"\\x41\"}]}",
            "{\"thread\":\"t\",\"body\":[01]}",
            "{\"thread\":\"t\",\"body\":[1,]}",
            "{\"thread\":\"t\",\"body\":[tru]}",
            "{\"thread\":\"t\",\"body\":[{\"a\" 1}]}",
            "{\"thread\":\"t\",\"body\":\"[1]\\\"x\"}",   /* trailing bytes in a string body */
        };
        size_t i;
        const char *good;

        for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            is_int(osrf_bus_to_client(bad[i], strlen(bad[i]), &out, &frame), OSRF_ERR_INVALID,
                   "invalid JSON in a bus message is refused: %s", bad[i]);
        good = "{\"thread\":\"t\",\"body\":[-1.5e+3,\"\\u00e9 \xc3\xa9\","
                           "{},[],true,null,{\"k\":[false]}, 0, 10.25 ]}";

        is_int(osrf_bus_to_client(good, strlen(good), &out, &frame), OSRF_OK,
               "every kind of valid JSON value passes");
    }

    osrf_status_frame(&frame, "0.7", "3", 400, "bad \"input\"");
    ok(strncmp(frame.data, "{\"thread\":\"0.7\",", 16) == 0
       && strstr(frame.data, "\"statusCode\":400") && strstr(frame.data, "\"threadTrace\":\"3\""),
       "STATUS error frame on the thread with its threadTrace");
    ws_buffer_free(&frame);
}

/* Every message that makes the bus answer counts against the in-flight
 * cap; a frame that would pass it is refused as a whole. */
static void test_replies_counted(void)
{
    ws_buffer bus = { 0 }, act = { 0 };
    osrf_inbound in;
    const char *msg = "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\","
                      "\"type\":\"%s\",\"payload\":{\"__c\":\"osrfMethod\","
                      "\"__p\":{\"method\":\"m\",\"params\":[]}}}}";
    ws_buffer frame = { 0 };
    char one[256];
    int i;

    ws_buffer_puts(&frame, "{\"service\":\"opensrf.test\",\"thread\":\"t\",\"osrf_msg\":[");
    for (i = 0; i < 300; i++) {
        snprintf(one, sizeof(one), msg, i % 3 == 0 ? "REQUEST" : i % 3 == 1 ? "CONNECT"
                                                            : "DISCONNECT");
        if (i)
            ws_buffer_puts(&frame, ",");
        ws_buffer_puts(&frame, one);
    }
    ws_buffer_puts(&frame, "]}");
    is_int(inbound(frame.data, &in, &bus, &act), OSRF_OK, "a frame of 300 messages translates");
    is_int(in.requests, 100, "its 100 REQUESTs counted as requests");
    is_int(in.replies, 200, "its REQUESTs and CONNECTs counted as replies due; "
           "DISCONNECT makes none");
    ok(osrf_over_cap(0, in.replies, 128), "a frame of 200 answers is refused under a cap of 128");
    ok(osrf_over_cap(100, 29, 128), "one answer past the cap is refused");
    ok(!osrf_over_cap(100, 28, 128), "up to the cap is taken");
    ok(!osrf_over_cap(500, 0, 128), "a frame that makes no answer (DISCONNECT) always passes");
    ws_buffer_free(&frame);
    ws_buffer_free(&bus);
    ws_buffer_free(&act);
}

static void test_disconnect_message(void)
{
    osrf_session s = { "0.4\"x\\y\001", "opensrf:client:opensrf:localhost:w:7:z" };
    ws_buffer bus = { 0 }, frame = { 0 };
    osrf_outbound out;
    const char *end;

    ok(osrf_disconnect_message(&bus, &id, &s) == 0, "a DISCONNECT message is built");
    end = osrf_json_skip(bus.data, bus.data + bus.len, 10);
    ok(end == bus.data + bus.len, "it is one JSON value (the thread escaped)");
    ok(strstr(bus.data, "\"to\":\"opensrf:client:opensrf:localhost:w:7:z\"")
       && strstr(bus.data, "\"from\":\"opensrf:client:gateway:localhost:web1:42:abcd\""),
       "from our address to the session's worker");
    ok(strstr(bus.data, "\"type\":\"DISCONNECT\"") && strchr(bus.data, ' ') == NULL,
       "a compact DISCONNECT");
    ok(strstr(bus.data, "\"ingress\":\"" OSRF_INGRESS "\"") != NULL,
       "stamped with the default ingress");
    {
        osrf_identity v1 = id;
        ws_buffer b = { 0 };

        v1.ingress = "ws-translator-v1";
        osrf_disconnect_message(&b, &v1, &s);
        ok(strstr(b.data, "\"ingress\":\"ws-translator-v1\"") != NULL,
           "or with the configured one");
        ws_buffer_free(&b);
    }
    ok(osrf_bus_to_client(bus.data, bus.len, &out, &frame) == OSRF_OK
       && strcmp(out.thread, s.thread) == 0, "on the session's thread, read back unchanged");
    ws_buffer_free(&bus);
    ws_buffer_free(&frame);
}

/* A finished connection's address is deleted once nothing can answer it. */
static void test_address_done(void)
{
    ok(osrf_address_done(0, 100, 600, 0), "nothing due, no session: deleted at once");
    ok(!osrf_address_done(2, 100, 600, 0), "replies due: kept");
    ok(osrf_address_done(2, 600, 600, 0), "replies due past the max request wait: deleted");
    ok(!osrf_address_done(0, 100, 600, 110), "an ended session may still answer: kept");
    ok(osrf_address_done(-1, 110, 600, 110), "then deleted (a late 408 counted off)");
    ok(!osrf_address_done(0, 600, 600, 700), "the linger holds past the request deadline");
}

static void test_sessions(void)
{
    osrf_session small[2];
    osrf_sessions s;

    osrf_sessions_init(&s, small, 2);
    ok(osrf_sessions_add(&s, "a", "w1") == 0 && osrf_sessions_add(&s, "b", "w2") == 0,
       "sessions cached");
    ok(osrf_sessions_add(&s, "c", "w3") < 0, "a full cache refuses another session");
    is_str(osrf_sessions_find(&s, "b"), "w2", "a cached thread is found");
    osrf_sessions_remove(&s, "a");
    ok(osrf_sessions_find(&s, "a") == NULL && osrf_sessions_add(&s, "c", "w3") == 0,
       "a removed session frees its place");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_config(void)
{
    char path[] = "/tmp/osrf_core_testXXXXXX", err[512];
    osrf_config cfg;
    int fd = mkstemp(path);

    close(fd);
    write_file(path, "<config><gateway><domain>public.localhost</domain><port>6380</port>"
               "<username>gateway</username><passwd>pw</passwd></gateway><shared>"
               "<log_protect><match_string>open-ils.auth</match_string>"
               "<match_string>x.y</match_string></log_protect></shared></config>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) == 0, "config read");
    ok(strcmp(cfg.domain, "public.localhost") == 0 && cfg.port == 6380
       && strcmp(cfg.router_name, "router") == 0, "domain, port, default router_name");
    ok(cfg.log_protect[1] && strcmp(cfg.log_protect[1], "x.y") == 0 && !cfg.log_protect[2],
       "log_protect entries");
    osrf_config_free(&cfg);

    ok(osrf_config_read(path, "nosuch", &cfg, err, sizeof(err)) < 0
       && strstr(err, path) && strstr(err, "nosuch"),
       "a missing context is named, with the file");
    write_file(path, "<config><gateway><domain>x</domain>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0 && strstr(err, path),
       "broken XML is refused, naming the file");
    write_file(path, "<config><gateway><domain>x</domain><username>u</username>"
               "<passwd>secret-pw</passwd><port>99999</port></gateway></config>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0
       && !strstr(err, "secret-pw"), "a bad port is refused, the password never shown");
    write_file(path, "<config><gateway><domain>x</domain><username>u</username>"
               "<passwd>pw</passwd><port>638O</port></gateway></config>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0
       && strstr(err, "<port>") && strstr(err, "1 to 65535"),
       "a typo in the port is refused (not read as 638), naming the element and range");
    write_file(path, "<config><gateway><domain>x</domain><username>u</username>"
               "<passwd>pw</passwd><loglevel>3 </loglevel><port>7</port></gateway></config>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) == 0
       && cfg.loglevel == 3 && cfg.port == 7, "white space around a number is trimmed");
    osrf_config_free(&cfg);
    write_file(path, "<config><gateway><domain>x</domain><username>u</username>"
               "<passwd>pw</passwd><loglevel>info</loglevel></gateway></config>");
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0
       && strstr(err, "<loglevel>") && strstr(err, "0 to 5"),
       "a log level that is not 0 to 5 is refused");
    unlink(path);
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0 && strstr(err, path),
       "a missing file is refused, naming it");
}

/* The ingress the gateway is configured with goes on every message. */
static void test_ingress(void)
{
    osrf_identity configured = id;
    ws_buffer bus = { 0 }, act = { 0 };
    osrf_inbound in;
    const char *two = "{\"service\":\"s\",\"thread\":\"t\",\"osrf_msg\":["
                      "{\"__c\":\"osrfMessage\",\"__p\":{\"type\":\"CONNECT\"}},"
                      "{\"__c\":\"osrfMessage\",\"__p\":{\"type\":\"REQUEST\"}}]}";
    const char *at;

    configured.ingress = "ws-translator-v1";
    is_int(osrf_client_to_bus(&configured, &sessions, two, strlen(two), &in, &bus, &act),
           OSRF_OK, "a frame of two messages translates");
    at = strstr(bus.data, "\"ingress\":\"ws-translator-v1\"}");
    ok(at && strstr(at + 1, "\"ingress\":\"ws-translator-v1\"}")
       && !strstr(bus.data, "ws-translator-v2"),
       "a configured ingress is stamped on each message, the default on none");
    ws_buffer_free(&bus);
    ws_buffer_free(&act);
}

int main(void)
{
    osrf_sessions_init(&sessions, storage, 4);
    test_scanner();
    test_inbound();
    test_ingress();
    test_outbound();
    test_replies_counted();
    test_disconnect_message();
    test_address_done();
    test_sessions();
    test_config();
    return done_testing();
}
