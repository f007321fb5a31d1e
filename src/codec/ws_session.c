/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_session.c - see ws_session.h.
 */
#include <string.h>

#include "ws_codec.h"
#include "ws_session.h"

static ws_session_action action(ws_session_do what, unsigned code, ws_session_why why)
{
    ws_session_action a;

    a.what = what;
    a.code = code;
    a.why = why;
    return a;
}

void ws_session_init(ws_session *s, const ws_session_config *cfg, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->cfg = *cfg;
    s->last_heard = now;
}

void ws_session_heard(ws_session *s, int64_t now)
{
    s->last_heard = now;
    s->ping_out = 0;
}

void ws_session_reading(ws_session *s, int in_message)
{
    if (!in_message) {
        s->in_frame = 0;
    } else if (!s->in_frame) {
        s->in_frame = 1;
        s->frame_started = s->last_heard;
    }
}

void ws_session_message_end(ws_session *s)
{
    s->in_frame = 0;
}

/* Our close frame goes out now: the peer has close_timeout to answer. */
static void close_sent(ws_session *s, int64_t now)
{
    s->close_sent = 1;
    s->close_deadline = now + s->cfg.close_timeout;
}

/* A trickle of bytes would otherwise hold the connection for ever:
 * every byte counts as heard, so the ping timer never fires. */
static int frame_overdue(const ws_session *s, int64_t now)
{
    return s->in_frame && s->cfg.frame_timeout > 0 && !s->close_sent
           && now - s->frame_started >= s->cfg.frame_timeout;
}

ws_session_action ws_session_tick(ws_session *s, int64_t now)
{
    if (frame_overdue(s, now)) {
        close_sent(s, now);
        return action(WS_SESSION_CLOSE_DROP, WS_CLOSE_POLICY, WS_WHY_FRAME_TIMEOUT);
    }
    if (s->close_sent)
        return now >= s->close_deadline
               ? action(WS_SESSION_DROP, 0, WS_WHY_CLOSE_TIMEOUT)
               : action(WS_SESSION_NONE, 0, WS_WHY_NONE);
    if (s->cfg.ping_interval <= 0)
        return action(WS_SESSION_NONE, 0, WS_WHY_NONE);
    if (s->ping_out && now - s->ping_sent >= s->cfg.ping_interval)
        return action(WS_SESSION_DROP, 0, WS_WHY_PONG_TIMEOUT);
    if (!s->ping_out && now - s->last_heard >= s->cfg.ping_interval) {
        s->ping_out = 1;
        s->ping_sent = now;
        return action(WS_SESSION_PING, 0, WS_WHY_IDLE);
    }
    return action(WS_SESSION_NONE, 0, WS_WHY_NONE);
}

static int64_t earlier(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* As ws_session_tick decides: once our close is out, only its deadline
 * counts (a started frame's timer would wake the loop for nothing). */
int64_t ws_session_due(const ws_session *s)
{
    int64_t due = INT64_MAX;

    if (s->close_sent)
        return s->close_deadline;
    if (s->in_frame && s->cfg.frame_timeout > 0)
        due = s->frame_started + s->cfg.frame_timeout;
    if (s->cfg.ping_interval > 0)
        due = earlier(due, (s->ping_out ? s->ping_sent : s->last_heard)
                           + s->cfg.ping_interval);
    return due;
}

ws_session_action ws_session_close(ws_session *s, int64_t now, unsigned code)
{
    if (s->close_sent)
        return action(WS_SESSION_NONE, 0, WS_WHY_NONE);
    close_sent(s, now);
    return action(WS_SESSION_CLOSE, code, WS_WHY_ASKED);
}

ws_session_action ws_session_fail(ws_session *s, unsigned code)
{
    if (s->close_sent)
        return action(WS_SESSION_DROP, 0, WS_WHY_PROTOCOL);
    s->close_sent = 1;
    return action(WS_SESSION_CLOSE_DROP, code, WS_WHY_PROTOCOL);
}

ws_session_action ws_session_peer_close(ws_session *s, unsigned peer_code,
                                        unsigned asked_code)
{
    unsigned code = asked_code ? asked_code
                    : peer_code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : peer_code;

    /* our close and then the peer's: the handshake is complete */
    if (s->close_sent)
        return action(WS_SESSION_DROP, 0, WS_WHY_PEER_CLOSED);
    s->close_sent = 1;
    return action(WS_SESSION_ANSWER, code, WS_WHY_PEER_CLOSED);
}

ws_session_action ws_session_write_failed(ws_session *s, int timed_out, int closing)
{
    if (!timed_out)
        return action(WS_SESSION_DROP, 0, WS_WHY_WRITE_FAILED);
    return action(WS_SESSION_DROP, closing || s->close_sent ? 0 : WS_CLOSE_POLICY,
                  WS_WHY_SEND_TIMEOUT);
}
