/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_session_test.c - the connection's timers and closing handshake
 * (ws_session.h), driven by scripts of events at given times, as wslay
 * drives its session with scripted callbacks: each step is an event and
 * the action it must give.
 */
#include <stdint.h>

#include "ws_codec.h"
#include "ws_session.h"
#include "tap.h"

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)    /* any origin: no time is special */
#define NO_DUE -1

typedef enum {
    HEARD,          /* bytes came */
    READING,        /* arg: the reader is inside a frame or message */
    MESSAGE_END,
    TICK,
    CLOSE,          /* arg: the code asked for */
    FAIL,           /* arg: the protocol error's code */
    PEER_CLOSE,     /* arg: the peer's code, arg2: a code asked for, or 0 */
    WRITE_FAILED,   /* arg: timed out, arg2: a close was asked for */
    DUE             /* arg: seconds after T0 the next timer is due, or NO_DUE */
} event;

typedef struct {
    event ev;
    double at;              /* seconds after T0 */
    long arg, arg2;
    ws_session_do want;
    unsigned code;
    ws_session_why why;
} step;

static const ws_session_config defaults = { 30 * SEC, 5 * SEC, 30 * SEC };

static ws_session_action apply(ws_session *s, const step *st)
{
    int64_t now = T0 + (int64_t)(st->at * SEC);
    ws_session_action none = { WS_SESSION_NONE, 0, WS_WHY_NONE };

    switch (st->ev) {
    case HEARD:        ws_session_heard(s, now); return none;
    case READING:      ws_session_reading(s, (int)st->arg); return none;
    case MESSAGE_END:  ws_session_message_end(s); return none;
    case TICK:         return ws_session_tick(s, now);
    case CLOSE:        return ws_session_close(s, now, (unsigned)st->arg);
    case FAIL:         return ws_session_fail(s, (unsigned)st->arg);
    case PEER_CLOSE:   return ws_session_peer_close(s, (unsigned)st->arg, (unsigned)st->arg2);
    case WRITE_FAILED: return ws_session_write_failed(s, (int)st->arg, (int)st->arg2);
    case DUE:          break;
    }
    return none;
}

static void check_due(const ws_session *s, const char *name, int i, long want)
{
    int64_t due = ws_session_due(s);

    if (want == NO_DUE)
        ok(due == INT64_MAX, "%s, step %d: no timer due", name, i);
    else
        is_int((due - T0) / SEC, want, "%s, step %d: next timer at %ld s", name, i, want);
}

/* Runs the steps on a session started at T0; every action is checked. */
static void run(const char *name, const ws_session_config *cfg, const step *steps, int n)
{
    ws_session s;
    int i, good = 1;

    ws_session_init(&s, cfg, T0);
    for (i = 0; i < n; i++) {
        ws_session_action a;

        if (steps[i].ev == DUE) {
            check_due(&s, name, i, steps[i].arg);
            continue;
        }
        a = apply(&s, &steps[i]);
        if (a.what != steps[i].want || a.code != steps[i].code || a.why != steps[i].why) {
            diag("%s, step %d at %.3f s: got action %d code %u why %d, want %d %u %d",
                 name, i, steps[i].at, a.what, a.code, a.why,
                 steps[i].want, steps[i].code, steps[i].why);
            good = 0;
        }
    }
    ok(good, "%s", name);
}

#define RUN(name, cfg, steps) run(name, cfg, steps, (int)(sizeof(steps) / sizeof(steps[0])))

/* We close first: our close goes once, then we wait for the peer's. */
static void test_we_close_first(void)
{
    static const step answered[] = {
        { CLOSE, 1, 1001, 0, WS_SESSION_CLOSE, 1001, WS_WHY_ASKED },
        { DUE, 0, 6, 0, 0, 0, 0 },
        { CLOSE, 2, 1000, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 5.9, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { PEER_CLOSE, 5.9, 1001, 0, WS_SESSION_DROP, 0, WS_WHY_PEER_CLOSED },
    };
    static const step unanswered[] = {
        { CLOSE, 1, 1000, 0, WS_SESSION_CLOSE, 1000, WS_WHY_ASKED },
        { TICK, 5.999, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 6, 0, 0, WS_SESSION_DROP, 0, WS_WHY_CLOSE_TIMEOUT },
    };
    static const step no_ping_while_closing[] = {
        { CLOSE, 1, 1000, 0, WS_SESSION_CLOSE, 1000, WS_WHY_ASKED },
        { TICK, 30, 0, 0, WS_SESSION_DROP, 0, WS_WHY_CLOSE_TIMEOUT },
    };
    static const step error_after_close[] = {
        { CLOSE, 1, 1000, 0, WS_SESSION_CLOSE, 1000, WS_WHY_ASKED },
        { FAIL, 2, WS_CLOSE_PROTOCOL_ERROR, 0, WS_SESSION_DROP, 0, WS_WHY_PROTOCOL },
    };

    RUN("we close first: one close frame, the peer's answer completes the handshake",
        &defaults, answered);
    RUN("we close first: no answer within the close timeout drops the connection",
        &defaults, unanswered);
    RUN("we close first: no ping while our close waits for its answer",
        &defaults, no_ping_while_closing);
    RUN("a protocol error after our close: dropped, no second close frame",
        &defaults, error_after_close);
}

/* The peer closes first: we answer at once, with its code or ours. */
static void test_peer_closes_first(void)
{
    static const step echo[] = {
        { PEER_CLOSE, 1, 4000, 0, WS_SESSION_ANSWER, 4000, WS_WHY_PEER_CLOSED },
        { CLOSE, 1, 1000, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
    };
    static const step empty[] = {
        { PEER_CLOSE, 1, WS_CLOSE_NO_STATUS, 0, WS_SESSION_ANSWER, 1000, WS_WHY_PEER_CLOSED },
    };
    static const step asked[] = {
        { PEER_CLOSE, 1, 1000, 1001, WS_SESSION_ANSWER, 1001, WS_WHY_PEER_CLOSED },
    };

    RUN("the peer closes first: its code is echoed, and no second close follows",
        &defaults, echo);
    RUN("the peer closes without a code: answered with 1000", &defaults, empty);
    RUN("the peer closes while our close is asked for: answered with ours",
        &defaults, asked);
}

static void test_ping(void)
{
    static const ws_session_config none = { 0, 5 * SEC, 30 * SEC };
    static const step silent[] = {
        { DUE, 0, 30, 0, 0, 0, 0 },
        { TICK, 29.999, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 30, 0, 0, WS_SESSION_PING, 0, WS_WHY_IDLE },
        { DUE, 0, 60, 0, 0, 0, 0 },
        { TICK, 45, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 59.999, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 60, 0, 0, WS_SESSION_DROP, 0, WS_WHY_PONG_TIMEOUT },
    };
    static const step answered[] = {
        { TICK, 30, 0, 0, WS_SESSION_PING, 0, WS_WHY_IDLE },
        { HEARD, 31, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 60, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { DUE, 0, 61, 0, 0, 0, 0 },
        { TICK, 61, 0, 0, WS_SESSION_PING, 0, WS_WHY_IDLE },
    };
    static const step chatty[] = {
        { HEARD, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 30, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 50, 0, 0, WS_SESSION_PING, 0, WS_WHY_IDLE },
    };
    static const step never[] = {
        { DUE, 0, NO_DUE, 0, 0, 0, 0 },
        { TICK, 3600, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
    };

    RUN("a silent peer is pinged once after the interval, dropped if it stays silent",
        &defaults, silent);
    RUN("an answered ping: pinged again an interval after the answer", &defaults, answered);
    RUN("a peer heard from is not pinged until it falls silent", &defaults, chatty);
    RUN("ping interval 0: never pinged, never dropped for silence", &none, never);
}

static void test_frame_timeout(void)
{
    static const ws_session_config unlimited = { 0, 5 * SEC, 0 };
    static const step trickle[] = {
        { HEARD, 1, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 1, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { HEARD, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 20, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { DUE, 0, 31, 0, 0, 0, 0 },
        { TICK, 30.999, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 31, 0, 0, WS_SESSION_CLOSE_DROP, WS_CLOSE_POLICY, WS_WHY_FRAME_TIMEOUT },
    };
    static const step completed[] = {
        { HEARD, 1, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 1, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { HEARD, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 40, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
    };
    static const step next_message[] = {
        { HEARD, 1, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 1, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { HEARD, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { MESSAGE_END, 20, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { READING, 20, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 31, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 50, 0, 0, WS_SESSION_CLOSE_DROP, WS_CLOSE_POLICY, WS_WHY_FRAME_TIMEOUT },
    };
    static const step no_limit[] = {
        { READING, 1, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { DUE, 0, NO_DUE, 0, 0, 0, 0 },
        { TICK, 3600, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
    };

    RUN("a frame started and not finished: 1008 at the frame timeout, however it trickles",
        &defaults, trickle);
    RUN("a frame that completes stops its timer", &defaults, completed);
    RUN("a message that ends and a next one begun in the same read: the timer restarts",
        &defaults, next_message);
    RUN("frame timeout 0: no limit", &unlimited, no_limit);
}

/* Once our close is out, the frame timer no longer closes: the close
 * timeout bounds what is left, and the loop must not wake for it. */
static void test_frame_timer_after_close(void)
{
    static const step after_close[] = {
        { READING, 0, 1, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { CLOSE, 29, 1001, 0, WS_SESSION_CLOSE, 1001, WS_WHY_ASKED },
        { DUE, 0, 34, 0, 0, 0, 0 },
        { TICK, 30, 0, 0, WS_SESSION_NONE, 0, WS_WHY_NONE },
        { TICK, 34, 0, 0, WS_SESSION_DROP, 0, WS_WHY_CLOSE_TIMEOUT },
    };

    RUN("after our close a started frame's timer is not due: the close timeout is",
        &defaults, after_close);
}

static void test_errors_and_send_timeout(void)
{
    static const step protocol[] = {
        { FAIL, 1, WS_CLOSE_TOO_BIG, 0, WS_SESSION_CLOSE_DROP, WS_CLOSE_TOO_BIG,
          WS_WHY_PROTOCOL },
        { PEER_CLOSE, 1, 1000, 0, WS_SESSION_DROP, 0, WS_WHY_PEER_CLOSED },
    };
    static const step send_timeout[] = {
        { WRITE_FAILED, 1, 1, 0, WS_SESSION_DROP, WS_CLOSE_POLICY, WS_WHY_SEND_TIMEOUT },
    };
    static const step send_timeout_closing[] = {
        { WRITE_FAILED, 1, 1, 1, WS_SESSION_DROP, 0, WS_WHY_SEND_TIMEOUT },
    };
    static const step send_timeout_after_close[] = {
        { CLOSE, 1, 1000, 0, WS_SESSION_CLOSE, 1000, WS_WHY_ASKED },
        { WRITE_FAILED, 2, 1, 0, WS_SESSION_DROP, 0, WS_WHY_SEND_TIMEOUT },
    };
    static const step write_error[] = {
        { WRITE_FAILED, 1, 0, 0, WS_SESSION_DROP, 0, WS_WHY_WRITE_FAILED },
    };

    RUN("a protocol error: our close with its code, then the connection is dropped",
        &defaults, protocol);
    RUN("the send timeout: dropped, ending as a 1008", &defaults, send_timeout);
    RUN("the send timeout while a close is asked for: dropped, that close's code stands",
        &defaults, send_timeout_closing);
    RUN("the send timeout after our close: dropped, no second code",
        &defaults, send_timeout_after_close);
    RUN("a failed write (the peer went away): dropped, no close code", &defaults,
        write_error);
}

int main(void)
{
    test_we_close_first();
    test_peer_closes_first();
    test_ping();
    test_frame_timeout();
    test_frame_timer_after_close();
    test_errors_and_send_timeout();
    return done_testing();
}
