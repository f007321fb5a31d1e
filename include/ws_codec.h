/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_codec.h - the WebSocket protocol (RFC 6455) over plain buffers.
 *
 * This layer knows nothing of sockets, Apache or OpenSRF: bytes in,
 * messages and verdicts out.  Feeding a stream one byte at a time gives
 * exactly the same result as feeding it whole.
 *
 * Ownership: a ws_reader owns its message buffer; data handed to a
 * callback is valid only until the callback returns.  Nothing here is
 * thread-safe: one reader belongs to one connection thread.
 */
#ifndef WS_CODEC_H
#define WS_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA
};

/* Close codes, RFC 6455 section 7.4.1. */
#define WS_CLOSE_NORMAL          1000
#define WS_CLOSE_GOING_AWAY      1001
#define WS_CLOSE_PROTOCOL_ERROR  1002
#define WS_CLOSE_UNSUPPORTED     1003
#define WS_CLOSE_NO_STATUS       1005  /* never sent on the wire */
#define WS_CLOSE_ABNORMAL        1006  /* never sent on the wire */
#define WS_CLOSE_INVALID_DATA    1007
#define WS_CLOSE_POLICY          1008
#define WS_CLOSE_TOO_BIG         1009
#define WS_CLOSE_INTERNAL_ERROR  1011

#define WS_MAX_CONTROL_PAYLOAD   125
#define WS_MAX_HEADER_SIZE       14    /* 2 + 8 (64-bit length) + 4 (mask) */

/* Bits of the first header byte other than the opcode. */
#define WS_FIN   0x80
#define WS_RSV1  0x40
#define WS_RSV2  0x20
#define WS_RSV3  0x10

typedef enum {
    WS_OK = 0,
    WS_ERR_PROTOCOL,   /* framing rule broken: close 1002 */
    WS_ERR_UTF8,       /* text or close reason not UTF-8: close 1007 */
    WS_ERR_TOO_BIG,    /* message over the configured maximum: close 1009 */
    WS_ERR_NOMEM,      /* out of memory: close 1011 */
    WS_ERR_DATA,       /* compressed data that does not inflate: close 1007 */
    WS_ERR_STOPPED     /* a callback returned non-zero */
} ws_status;

/* The close code that answers a reader error (WS_OK and WS_ERR_STOPPED
 * map to 0: nothing to send). */
unsigned ws_status_close_code(ws_status st);

/* --- UTF-8 ------------------------------------------------------------ */

/* Incremental validator (Unicode 3.9 table 3-7: no overlongs, no
 * surrogates, nothing above U+10FFFF).  It fails on the first byte that
 * makes the input invalid, so a caller can fail a message as soon as
 * invalidity is certain. */
typedef struct {
    uint32_t state;
} ws_utf8;

void ws_utf8_init(ws_utf8 *v);
/* 0 while the input so far is a valid prefix, -1 once it is not. */
int ws_utf8_feed(ws_utf8 *v, const unsigned char *p, size_t n);
/* 1 when the input so far ends on a character boundary. */
int ws_utf8_complete(const ws_utf8 *v);
/* One-shot check of a whole buffer: 1 valid, 0 not. */
int ws_utf8_valid(const unsigned char *p, size_t n);

/* --- Close frames ----------------------------------------------------- */

/* 1 if a peer may send this code in a close frame. */
int ws_close_code_valid(unsigned code);

/* Builds a close payload (2-byte code + reason, reason cut at 123 bytes
 * on a UTF-8 boundary) into out[125]; returns its length. */
size_t ws_close_payload(unsigned char out[WS_MAX_CONTROL_PAYLOAD],
                        unsigned code, const char *reason);

/* --- Frame encoding --------------------------------------------------- */

/* Writes a frame header; returns its length (2 to 14).  flags is WS_FIN
 * plus any WS_RSV* bits; mask is 4 bytes for a client frame, NULL for a
 * server frame. */
size_t ws_frame_header(unsigned char out[WS_MAX_HEADER_SIZE], unsigned flags,
                       unsigned opcode, uint64_t payload_len,
                       const unsigned char *mask);

/* XORs p[0..n) with mask, starting at offset bytes into the payload. */
void ws_mask(unsigned char *p, size_t n, const unsigned char mask[4],
             uint64_t offset);

/* --- Frame reading: client bytes -> messages --------------------------- */

typedef struct ws_reader ws_reader;

/* Each callback returns 0 to go on, non-zero to stop the reader
 * (ws_reader_feed then returns WS_ERR_STOPPED). */
typedef struct {
    /* A complete data message (WS_OP_TEXT already checked as UTF-8).
     * flags: WS_RSV1 when the message's first frame carried it. */
    int (*on_message)(void *ud, unsigned opcode, unsigned flags,
                      unsigned char *data, size_t len);
    int (*on_ping)(void *ud, const unsigned char *data, size_t len);
    int (*on_pong)(void *ud, const unsigned char *data, size_t len);
    /* code is WS_CLOSE_NO_STATUS when the frame had no payload; the
     * code and reason have been validated. */
    int (*on_close)(void *ud, unsigned code, const char *reason, size_t len);
} ws_reader_callbacks;

typedef struct {
    uint64_t max_message;     /* over all fragments; 0 means no limit */
    unsigned allowed_rsv;     /* RSV bits a negotiated extension allows */
    int require_mask;         /* 1 on a server (client frames must be masked) */
} ws_reader_config;

ws_reader *ws_reader_new(const ws_reader_config *cfg,
                         const ws_reader_callbacks *cb, void *ud);
void ws_reader_free(ws_reader *r);

/* Consumes all of buf.  On any status but WS_OK the reader is finished
 * and returns that status from then on. */
ws_status ws_reader_feed(ws_reader *r, const unsigned char *buf, size_t len);

/* Why the reader failed, fit for a close reason and a log line. */
const char *ws_reader_error(const ws_reader *r);

/* 1 while a frame or a data message is partly received (for the frame
 * timeout and idle decisions). */
int ws_reader_in_message(const ws_reader *r);

/* --- Opening handshake checks (RFC 6455 section 4.2.1) ----------------- */

/* 1 if the comma-separated header value holds token, compared
 * case-insensitively, with optional white space around list items. */
int ws_header_has_token(const char *value, const char *token);

/* Walks a comma-separated list: sets *tok and *len to the next item
 * (trimmed) and returns 1, or returns 0 at the end. */
int ws_list_next(const char **cursor, const char **tok, size_t *len);

/* 1 if key is the base64 encoding of exactly 16 bytes. */
int ws_key_valid(const char *key);

/* Sec-WebSocket-Accept for key: 28 characters and a NUL. */
void ws_accept_key(const char *key, char out[29]);

typedef struct {
    const char *method;       /* "GET" */
    int proto_num;            /* major * 1000 + minor, as Apache's r->proto_num */
    const char *upgrade;      /* header values, NULL when absent */
    const char *connection;
    const char *key;          /* Sec-WebSocket-Key */
    const char *version;      /* Sec-WebSocket-Version */
} ws_handshake_request;

/* 0 if the request is a valid opening handshake, else the HTTP status to
 * answer (400, or 426 for a version other than 13) with *why saying what
 * was wrong. */
int ws_handshake_check(const ws_handshake_request *req, const char **why);

#endif /* WS_CODEC_H */
