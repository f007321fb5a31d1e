/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_flight_test.c - the bridge's request-tracking policy with the time
 * as an input: what t/31 and t/33 see end to end (STATUS 408 after the max
 * request wait, retired addresses, idle closes, late replies, a lost bus,
 * ended sessions' linger, an overflowed connection's garbage DELeted),
 * decided here without a clock, over a fake bus.
 */
#include <stdio.h>
#include <string.h>

#include "osrf_flight.h"
#include "tap.h"

#define SEC     1000000LL
#define WAIT    (4 * SEC)           /* the max request wait */
#define IDLE    (3 * SEC)           /* the idle timeout */
#define ADDR    "opensrf:client:gateway:localhost:web1:1:00000001"
#define NEXT    "opensrf:client:gateway:localhost:web1:1:00000002"
#define WORKER  "opensrf:client:opensrf:localhost:web1:9:0000abcd"

static osrf_flight fl;              /* 110 kB: not on the stack */
static osrf_pending answer[OSRF_FLIGHT_MAX_PENDING];

/* --- a fake bus: scripted pops, recorded pushes and DELs ------------------ */

typedef struct {
    char dels[16][OSRF_MAX_ADDRESS + 1];
    int ndels;
    int pushes;
    const char *pop_key, *pop_data;     /* the next pop's message, or NULL */
    int fail;                           /* the next pop fails */
} fake_bus;

static int fake_push(void *ctx, const char *key, const char *msg, size_t len,
                     const char *xid)
{
    (void)key; (void)msg; (void)len; (void)xid;
    ((fake_bus *)ctx)->pushes++;
    return 0;
}

static int fake_del(void *ctx, const char *key)
{
    fake_bus *b = ctx;
    size_t n = strnlen(key, OSRF_MAX_ADDRESS);

    memcpy(b->dels[b->ndels % 16], key, n);
    b->dels[b->ndels++ % 16][n] = '\0';
    return 0;
}

static int fake_pop(void *ctx, const char *const *keys, int n, int timeout,
                    osrf_bus_msg *m)
{
    fake_bus *b = ctx;

    (void)keys; (void)n; (void)timeout;
    if (b->fail) {
        b->fail = 0;
        return -1;
    }
    if (b->pop_key == NULL)
        return 0;
    m->key = b->pop_key;
    m->data = b->pop_data;
    m->len = strlen(b->pop_data);
    b->pop_key = NULL;
    return 1;
}

static void fake_release(void *ctx, osrf_bus_msg *m)
{
    (void)ctx;
    m->hold = NULL;
}

/* One turn of the listener as the plugin runs it, minus the client: pop,
 * the policy's reading of what came, then its time-driven actions.
 * Returns the actions for the current connection; *expired, *lost: the
 * threads answered with STATUS 408, 503. */
static int listener_turn(osrf_flight *f, const osrf_bus_ops *bus, int64_t now,
                         int *expired, int *lost)
{
    const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED];
    osrf_retired done[OSRF_FLIGHT_MAX_RETIRED];
    ws_buffer frame = { 0 };
    osrf_outbound out;
    osrf_bus_msg m;
    int i, n = osrf_flight_keys(f, keys), acts = 0;
    int got = bus->pop(bus->ctx, keys, n, 1, &m);

    f->watching = 0;
    *expired = *lost = 0;
    if (got < 0) {
        *lost = osrf_flight_lost(f, answer);
        return 0;
    }
    if (got == 1 && osrf_flight_discarding(f, m.key))
        bus->del(bus->ctx, m.key);
    else if (got == 1 && osrf_flight_is_token(m.data, m.len))
        osrf_flight_token(f, m.key);
    else if (got == 1 && osrf_bus_to_client(m.data, m.len, &out, &frame) == OSRF_OK)
        acts = osrf_flight_popped(f, m.key, &out, now);
    else if (got == 0)
        acts = osrf_flight_idle(f, now, 0);
    if (got == 1)
        bus->release(bus->ctx, &m);
    ws_buffer_free(&frame);
    *expired = osrf_flight_expire(f, now, answer);
    n = osrf_flight_finished(f, now, done);
    for (i = 0; i < n; i++)
        bus->del(bus->ctx, done[i].address);
    return acts;
}

static fake_bus fb;
static const osrf_bus_ops bus = { fake_push, fake_del, fake_pop, fake_release, &fb };

static void reset(void)
{
    const osrf_flight_limits lim = { WAIT, IDLE, 256 };

    memset(&fb, 0, sizeof(fb));
    memset(&fl, 0, sizeof(fl));
    osrf_flight_init(&fl);
    strcpy(fl.next_address, ADDR);
    osrf_flight_begin(&fl, &lim, 64, 0);
    strcpy(fl.next_address, NEXT);
}

static osrf_inbound request(const char *thread, int replies)
{
    osrf_inbound in;

    memset(&in, 0, sizeof(in));
    strcpy(in.thread, thread);
    strcpy(in.trace, "1");
    strcpy(in.xid, "xid");
    in.requests = in.replies = replies;
    return in;
}

/* A bus message on thread with one STATUS code (205: a request ended). */
static const char *reply_msg(const char *thread, const char *from, int code)
{
    static char msg[1024];

    snprintf(msg, sizeof(msg),
             "{\"to\":\"" ADDR "\",\"from\":\"%s\",\"thread\":\"%s\",\"body\":"
             "[{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\",\"type\":\"STATUS\","
             "\"payload\":{\"__c\":\"osrfConnectStatus\",\"__p\":{\"status\":\"x\","
             "\"statusCode\":%d}}}}]}", from, thread, code);
    return msg;
}

static void send_at(const char *thread, int replies, int64_t now)
{
    osrf_inbound in = request(thread, replies);

    osrf_flight_sent(&fl, &in, now);
    osrf_flight_relayed(&fl, &in, now);
}

static void test_expiry_408(void)
{
    int expired, lost, acts;

    reset();
    send_at("t1", 1, 1 * SEC);
    listener_turn(&fl, &bus, 1 * SEC + WAIT - 1, &expired, &lost);
    is_int(expired, 0, "max request wait: no STATUS 408 a microsecond before it");
    listener_turn(&fl, &bus, 1 * SEC + WAIT, &expired, &lost);
    is_int(expired, 1, "max request wait: STATUS 408 once it has passed");
    is_str(answer[0].thread, "t1", "on the thread that waited");
    is_int(fl.in_flight, 0, "no longer in flight");
    is_int(fl.abandoned, 1, "but abandoned: its reply may still come");
    fb.pop_key = ADDR;
    fb.pop_data = reply_msg("t1", WORKER, 205);
    acts = listener_turn(&fl, &bus, 9 * SEC, &expired, &lost);
    ok(acts & OSRF_FLIGHT_SEND, "the late reply still goes to the client");
    is_int(fl.abandoned, 0, "and is counted off the abandoned requests");
}

static void test_expiry_forgets_session(void)
{
    osrf_outbound out;
    int expired, lost;

    reset();
    memset(&out, 0, sizeof(out));
    strcpy(out.thread, "s1");
    strcpy(out.from, WORKER);
    out.connected = out.completed = 1;
    send_at("s1", 1, 0);
    osrf_flight_popped(&fl, ADDR, &out, 1);
    ok(osrf_sessions_find(&fl.sessions, "s1") != NULL, "a CONNECT's worker is cached");
    send_at("s1", 1, 2 * SEC);
    listener_turn(&fl, &bus, 2 * SEC + WAIT, &expired, &lost);
    is_int(expired, 1, "a request on a stateful session waits out: STATUS 408");
    ok(osrf_sessions_find(&fl.sessions, "s1") == NULL,
       "and the session's worker is forgotten (the next goes through the router)");
}

static void test_retired_until_replies(void)
{
    int expired, lost, outstanding;

    reset();
    send_at("t1", 2, 0);
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_end(&fl, 0, 1 * SEC, &outstanding), OSRF_END_RETIRED,
           "a connection ending with replies due: its address is retired");
    is_int(outstanding, 2, "both replies due");
    fb.pop_key = ADDR;
    fb.pop_data = reply_msg("t1", WORKER, 205);
    is_int(listener_turn(&fl, &bus, 2 * SEC, &expired, &lost), 0,
           "a late reply after the connection ended goes to no client");
    is_int(fb.ndels, 0, "one reply of two in: the address is kept");
    fb.pop_key = ADDR;
    listener_turn(&fl, &bus, 3 * SEC, &expired, &lost);
    is_int(fb.ndels, 1, "the last reply in: DEL");
    is_str(fb.dels[0], ADDR, "of that address");
    is_int(fl.nretired, 0, "and it is watched no more");
}

static void test_retired_waited_out(void)
{
    osrf_retired done[OSRF_FLIGHT_MAX_RETIRED];
    int outstanding;

    reset();
    send_at("t1", 1, 0);
    osrf_flight_let_go(&fl);
    osrf_flight_end(&fl, 0, 1 * SEC, &outstanding);
    is_int(osrf_flight_finished(&fl, 1 * SEC + WAIT - 1, done), 0,
           "a reply that never comes: the address is kept until the max request wait");
    is_int(osrf_flight_finished(&fl, 1 * SEC + WAIT, done), 1, "then it goes");
    is_int(done[0].outstanding, 1, "with its missing reply counted (logged)");
}

static void test_wake_token(void)
{
    const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED];
    int expired, lost, outstanding;

    reset();
    send_at("t1", 1, 0);
    osrf_flight_keys(&fl, keys);
    ok(fl.watching, "the listener's pop names the current address");
    osrf_flight_let_go(&fl);
    osrf_flight_end(&fl, fl.watching, 1 * SEC, &outstanding);
    is_int(fl.retired[0].outstanding, 2, "the WAKE_TOKEN is counted among what is due");
    fb.pop_key = ADDR;
    fb.pop_data = OSRF_FLIGHT_WAKE_TOKEN;
    listener_turn(&fl, &bus, 1 * SEC, &expired, &lost);
    is_int(fl.retired[0].outstanding, 1, "its arrival counts off one");
    is_int(fb.ndels, 0, "so the key cannot go before the token lands");
}

static void test_session_linger(void)
{
    osrf_retired done[OSRF_FLIGHT_MAX_RETIRED];
    int outstanding;

    reset();
    osrf_sessions_add(&fl.sessions, "s1", WORKER);
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_end(&fl, 0, 5 * SEC, &outstanding), OSRF_END_RETIRED,
           "nothing due but a session ended (DISCONNECT sent): the address is retired");
    is_int(outstanding, 0, "with nothing outstanding");
    osrf_flight_sessions_ended(&fl);
    is_int(fl.sessions.count, 0, "the session cache is emptied after the DISCONNECTs");
    is_int(osrf_flight_finished(&fl, 5 * SEC + OSRF_FLIGHT_LINGER - 1, done), 0,
           "kept while a worker's STATUS 408 may cross the DISCONNECT");
    is_int(osrf_flight_finished(&fl, 5 * SEC + OSRF_FLIGHT_LINGER, done), 1,
           "deleted after the linger");
}

static void test_end_nothing_due(void)
{
    int outstanding, i;

    reset();
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_end(&fl, 0, 0, &outstanding), OSRF_END_DELETE,
           "nothing due, no session: the address is deleted at once");
    for (i = 0; i < OSRF_FLIGHT_MAX_RETIRED; i++) {
        osrf_flight_begin(&fl, &fl.lim, 64, 0);
        send_at("t", 1, 0);
        osrf_flight_end(&fl, 0, 0, &outstanding);
    }
    osrf_flight_begin(&fl, &fl.lim, 64, 0);
    send_at("t", 1, 0);
    is_int(osrf_flight_end(&fl, 0, 0, &outstanding), OSRF_END_NO_ROOM,
           "no room left to watch another address: it is deleted, logged");
}

static void test_overflowed_discards(void)
{
    osrf_retired done[OSRF_FLIGHT_MAX_RETIRED];
    int expired, lost, outstanding;

    reset();
    send_at("t1", 1, 0);
    ok(!osrf_flight_discarding(&fl, ADDR), "a connection's replies are read");
    fl.overflowed = 1;
    ok(osrf_flight_discarding(&fl, ADDR),
       "closed for replies past its bound: what comes to its address is garbage");
    fb.pop_key = ADDR;
    fb.pop_data = reply_msg("t1", WORKER, 205);
    is_int(listener_turn(&fl, &bus, 1 * SEC, &expired, &lost), 0, "not sent");
    ok(fb.ndels == 1 && strcmp(fb.dels[0], ADDR) == 0, "its address DELeted at once");
    is_int(fl.in_flight, 1, "nor counted");
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_end(&fl, 0, 2 * SEC, &outstanding), OSRF_END_RETIRED,
           "it ends with a reply due: retired");
    ok(osrf_flight_discarding(&fl, ADDR), "retired, its replies are still garbage");
    fl.retired[0].outstanding = 0;
    is_int(osrf_flight_finished(&fl, 2 * SEC + WAIT - 1, done), 0,
           "uncounted, they are waited out: kept until the max request wait");
    is_int(osrf_flight_finished(&fl, 2 * SEC + WAIT, done), 1, "then deleted");
    ok(done[0].discarding, "as a discarding address (no missing replies logged)");
    osrf_flight_begin(&fl, &fl.lim, 64, 3 * SEC);
    ok(!fl.overflowed, "the next connection starts afresh");
}

static void test_idle(void)
{
    int expired, lost;

    reset();
    send_at("t1", 1, 0);
    fb.pop_key = ADDR;
    fb.pop_data = reply_msg("t1", WORKER, 205);
    listener_turn(&fl, &bus, 1 * SEC, &expired, &lost);
    is_int(listener_turn(&fl, &bus, 1 * SEC + IDLE, &expired, &lost), 0,
           "idle: not closed at the idle timeout");
    is_int(listener_turn(&fl, &bus, 1 * SEC + IDLE + 1, &expired, &lost), OSRF_FLIGHT_CLOSE,
           "idle: closed just past it");
    send_at("t2", 1, 10 * SEC);
    is_int(osrf_flight_idle(&fl, 10 * SEC + WAIT, 0), 0,
           "a request in flight keeps an idle connection open");
    is_int(osrf_flight_idle(&fl, 10 * SEC + WAIT + 1, 0), OSRF_FLIGHT_CLOSE,
           "until the max request wait has passed");
    is_int(osrf_flight_idle(&fl, 10 * SEC + 1, 1), 0,
           "stopping: not closed while a request is in flight");
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_idle(&fl, 100 * SEC, 0), 0, "no connection: nothing to close");
}

static void test_shutdown(void)
{
    osrf_outbound out;

    reset();
    is_int(osrf_flight_shutdown(&fl), 1, "shutdown with nothing in flight: 1001 at once");
    reset();
    send_at("t1", 1, 0);
    is_int(osrf_flight_shutdown(&fl), 0, "shutdown with a request in flight: not yet");
    memset(&out, 0, sizeof(out));
    strcpy(out.thread, "t1");
    out.completed = 1;
    ok(osrf_flight_popped(&fl, ADDR, &out, 1) & OSRF_FLIGHT_SEND, "its reply goes out");
    is_int(osrf_flight_may_go_away(&fl, 0), 1, "then 1001");
    reset();
    is_int(osrf_flight_idle(&fl, 1, 1), OSRF_FLIGHT_GO_AWAY,
           "the MPM says the child stops: 1001 on the next quiet pop");
}

static void test_bus_lost(void)
{
    int expired, lost, outstanding;

    reset();
    send_at("t1", 1, 0);
    send_at("t2", 2, 0);
    fb.fail = 1;
    listener_turn(&fl, &bus, 1 * SEC, &expired, &lost);
    is_int(lost, 2, "the bus lost: each thread in flight gets STATUS 503");
    is_int(fl.in_flight, 0, "nothing in flight any more");
    is_int(fl.abandoned, 3, "its 3 requests abandoned");
    osrf_flight_let_go(&fl);
    is_int(osrf_flight_end(&fl, 0, 2 * SEC, &outstanding), OSRF_END_RETIRED,
           "a connection ending after it: its address waits for the abandoned replies");
    is_int(outstanding, 3, "all three");
}

/* A push fails while the listener finds the bus lost: one STATUS 503 on
 * the thread, from whichever saw it first (t/50 saw two). */
static void test_push_failed(void)
{
    osrf_inbound in = request("t1", 1), none = request("t2", 0);
    int expired, lost;

    reset();
    osrf_flight_sent(&fl, &in, 0);
    is_int(osrf_flight_unsent(&fl, &in), 1,
           "a push that failed: its thread is the connection thread's to answer");
    is_int(fl.in_flight, 0, "and is no longer in flight");
    osrf_flight_sent(&fl, &in, 0);
    fb.fail = 1;
    listener_turn(&fl, &bus, 1 * SEC, &expired, &lost);
    is_int(lost, 1, "the listener, finding the bus lost first, answers the thread");
    is_int(osrf_flight_unsent(&fl, &in), 0, "so the failed push does not answer it again");
    is_int(fl.abandoned, 0, "and its request is not left counted as abandoned");
    osrf_flight_sent(&fl, &none, 0);
    is_int(osrf_flight_unsent(&fl, &none), 1,
           "a frame that wanted no reply: its failed push is answered");
}

static void test_keys(void)
{
    const char *keys[1 + OSRF_FLIGHT_MAX_RETIRED];
    int outstanding, n;

    reset();
    n = osrf_flight_keys(&fl, keys);
    ok(n == 1 && strcmp(keys[0], ADDR) == 0, "an open connection: its address is watched");
    send_at("t1", 1, 0);
    osrf_flight_let_go(&fl);
    osrf_flight_end(&fl, 0, 0, &outstanding);
    n = osrf_flight_keys(&fl, keys);
    ok(n == 2 && strcmp(keys[0], NEXT) == 0 && strcmp(keys[1], ADDR) == 0,
       "between connections: the next address, then the retired one");
    ok(!fl.watching, "the current address is not watched then");
    ok(osrf_flight_has_keys(&fl), "a retired address is worth a pop");
    reset();
    osrf_flight_let_go(&fl);
    osrf_flight_end(&fl, 0, 0, &outstanding);
    ok(!osrf_flight_has_keys(&fl), "nothing open, nothing retired: the listener waits");
}

static void test_limits_and_sessions(void)
{
    osrf_inbound in = request("c1", 1);
    osrf_outbound out;
    int i;

    reset();
    fl.lim.max_in_flight = 2;
    send_at("t1", 2, 0);
    ok(osrf_flight_busy(&fl, &in), "past the max in flight: refused");
    in.connect = 1;
    for (i = 0; i < 64; i++) {
        char t[16];

        snprintf(t, sizeof(t), "s%d", i);
        osrf_sessions_add(&fl.sessions, t, WORKER);
    }
    ok(osrf_flight_sessions_full(&fl, &in), "a CONNECT with the cache full: refused");
    memset(&out, 0, sizeof(out));
    strcpy(out.thread, "c1");
    strcpy(out.from, WORKER);
    out.connected = 1;
    ok(osrf_flight_popped(&fl, ADDR, &out, 1) & OSRF_FLIGHT_CACHE_FULL,
       "a CONNECT's worker with no room: said so (logged)");
    out.connected = 0;
    out.timed_out = 1;
    strcpy(out.thread, "s3");
    osrf_flight_popped(&fl, ADDR, &out, 1);
    ok(osrf_sessions_find(&fl.sessions, "s3") == NULL, "a worker's STATUS 408 ends its session");
    in = request("s4", 0);
    in.disconnect = 1;
    osrf_flight_relayed(&fl, &in, 2);
    ok(osrf_sessions_find(&fl.sessions, "s4") == NULL, "a DISCONNECT ends its session");
}

int main(void)
{
    test_expiry_408();
    test_expiry_forgets_session();
    test_retired_until_replies();
    test_retired_waited_out();
    test_wake_token();
    test_session_linger();
    test_end_nothing_due();
    test_overflowed_discards();
    test_idle();
    test_shutdown();
    test_bus_lost();
    test_push_failed();
    test_keys();
    test_limits_and_sessions();
    return done_testing();
}
