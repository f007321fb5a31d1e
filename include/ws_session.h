/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_session.h - a connection's timers and closing handshake (RFC 6455
 * 5.5.2, 5.5.3, 7.1): when to ping a silent peer, when to give up on one
 * that does not answer, on a frame that does not complete, on a close
 * that is not answered, and which close code ends the connection.
 *
 * Pure decisions, as wslay's session: the caller passes the time and
 * what happened (bytes heard, a message ended, the peer's close, a
 * failed write) and gets back what to do; it does the I/O itself.  No
 * httpd, no sockets, no clock.  Times are microseconds (apr_time_t's
 * unit) from any origin.  A session belongs to the connection thread.
 *
 * Each decision updates the session as if its action were carried out:
 * after a CLOSE, CLOSE_DROP or ANSWER our close frame counts as sent.
 *
 * The send timeout itself runs in the socket (a blocked write cannot
 * wait on a timer of the thread it blocks); what its expiry means is
 * decided here (ws_session_write_failed).
 */
#ifndef WS_SESSION_H
#define WS_SESSION_H

#include <stdint.h>

typedef struct {
    int64_t ping_interval;  /* silence before a ping, then the wait for
                               its answer; 0: no pings */
    int64_t close_timeout;  /* the wait for the peer's close after ours */
    int64_t frame_timeout;  /* a started frame or message must complete
                               within this; 0: no limit */
} ws_session_config;

typedef enum {
    WS_SESSION_NONE = 0,    /* nothing to do */
    WS_SESSION_PING,        /* send a ping */
    WS_SESSION_CLOSE,       /* send our close (code), then wait for the peer's */
    WS_SESSION_CLOSE_DROP,  /* send our close (code), then drop the connection */
    WS_SESSION_ANSWER,      /* answer the peer's close (code), then drop */
    WS_SESSION_DROP         /* drop the connection without a close frame */
} ws_session_do;

/* Which rule decided: the caller's log line. */
typedef enum {
    WS_WHY_NONE = 0,
    WS_WHY_IDLE,            /* the peer was silent for ping_interval */
    WS_WHY_ASKED,           /* a close was asked for (plugin, shutdown) */
    WS_WHY_PROTOCOL,        /* the peer broke the protocol */
    WS_WHY_FRAME_TIMEOUT,   /* a frame did not complete in frame_timeout */
    WS_WHY_PEER_CLOSED,     /* the peer's close frame came */
    WS_WHY_CLOSE_TIMEOUT,   /* no close from the peer within close_timeout */
    WS_WHY_PONG_TIMEOUT,    /* nothing heard within ping_interval of a ping */
    WS_WHY_SEND_TIMEOUT,    /* the peer read nothing for the send timeout */
    WS_WHY_WRITE_FAILED     /* a write to the peer failed */
} ws_session_why;

/* code: the close code of a CLOSE, CLOSE_DROP or ANSWER; for a DROP, the
 * close code the connection ends with when the gateway ends it for a
 * reason a close frame would have said (1008 after the send timeout:
 * no frame gets past the bytes the peer has not read), else 0.  A
 * CLOSE_DROP's code and a DROP's are closes the gateway starts (its
 * statistics count them), an ANSWER's is the peer's, and a CLOSE's was
 * counted by whoever asked for it. */
typedef struct {
    ws_session_do what;
    unsigned code;
    ws_session_why why;
} ws_session_action;

typedef struct {
    ws_session_config cfg;
    int64_t last_heard;     /* the last bytes from the peer */
    int64_t ping_sent;      /* when ping_out was set */
    int64_t frame_started;  /* when in_frame was set */
    int64_t close_deadline; /* when close_sent was set, plus close_timeout */
    int ping_out;           /* a ping waits for an answer */
    int in_frame;           /* a frame or message has started, not ended */
    int close_sent;         /* our close frame is sent: no second one */
} ws_session;

/* A new session at now (the handshake counts as heard). */
void ws_session_init(ws_session *s, const ws_session_config *cfg, int64_t now);

/* Bytes came from the peer at now: it is alive, any ping is answered. */
void ws_session_heard(ws_session *s, int64_t now);

/* After bytes were read: whether the reader is inside a frame or a
 * fragmented message.  Its timer starts at the read that began it. */
void ws_session_reading(ws_session *s, int in_message);

/* A message ended: its frame timer stops. */
void ws_session_message_end(ws_session *s);

/* Timers due at now: PING, CLOSE_DROP (frame timeout), DROP (close or
 * pong timeout) or NONE. */
ws_session_action ws_session_tick(ws_session *s, int64_t now);

/* The time the next timer falls due (INT64_MAX: none). */
int64_t ws_session_due(const ws_session *s);

/* We close with code (asked for): CLOSE, or NONE once our close is sent. */
ws_session_action ws_session_close(ws_session *s, int64_t now, unsigned code);

/* The peer broke the protocol (code from ws_status_close_code):
 * CLOSE_DROP, or DROP once our close is sent. */
ws_session_action ws_session_fail(ws_session *s, unsigned code);

/* The peer's close frame came with peer_code (WS_CLOSE_NO_STATUS for
 * none).  asked_code: a close asked for and not yet sent, else 0.  ANSWER
 * with the asked code, else the peer's (1000 for none); DROP if our close
 * was sent first (the handshake is complete). */
ws_session_action ws_session_peer_close(ws_session *s, unsigned peer_code,
                                        unsigned asked_code);

/* A write failed (timed_out: made no progress for the send timeout);
 * closing: a close was asked for.  DROP. */
ws_session_action ws_session_write_failed(ws_session *s, int timed_out, int closing);

#endif /* WS_SESSION_H */
