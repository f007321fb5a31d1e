/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_deflate.h - permessage-deflate (RFC 7692) over plain buffers:
 * negotiation of the Sec-WebSocket-Extensions offers, and compression of
 * whole messages.  No sockets, no Apache; zlib underneath.
 *
 * Memory: without context takeover (the default) a ws_pmd holds no zlib
 * state between messages: each message gets a fresh stream, ended when
 * the message is done, so an idle connection costs nothing here.  With
 * context takeover the streams live as long as the ws_pmd (deflate:
 * 2^(window_bits+2) + 128 KiB; inflate: 32 KiB + 7 KiB).
 *
 * One ws_pmd belongs to one connection; calls on it must not overlap.
 */
#ifndef WS_DEFLATE_H
#define WS_DEFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_buffer.h"
#include "ws_codec.h"

/* What the server is willing to do (directives). */
typedef struct {
    int level;              /* zlib level 1..9 */
    int window_bits;        /* the largest window we compress with, 9..15 */
    int context_takeover;   /* 0: no zlib state kept between messages */
} ws_pmd_config;

/* What was agreed for one connection. */
typedef struct {
    int level;
    int server_window_bits;         /* what we compress with */
    int server_no_context_takeover;
    int client_no_context_takeover;
} ws_pmd_params;

#define WS_PMD_RESPONSE_MAX 128

/* Picks the first permessage-deflate offer in a Sec-WebSocket-Extensions
 * value that is well formed and that the server can honour.  Returns 1
 * and fills *params and response (the header value to answer with), or 0
 * when there is none (then the connection goes uncompressed). */
int ws_pmd_negotiate(const char *offers, const ws_pmd_config *cfg,
                     ws_pmd_params *params, char response[WS_PMD_RESPONSE_MAX]);

typedef struct ws_pmd ws_pmd;

ws_pmd *ws_pmd_new(const ws_pmd_params *params);
void ws_pmd_free(ws_pmd *z);

/* Appends the compressed form of a whole message to out (without the
 * final 00 00 ff ff, RFC 7692 7.2.1).  WS_OK or WS_ERR_NOMEM. */
ws_status ws_pmd_deflate(ws_pmd *z, const unsigned char *in, size_t n,
                         ws_buffer *out);

/* Appends the decompressed form of a whole compressed message to out,
 * failing with WS_ERR_TOO_BIG as soon as out would pass max bytes (0: no
 * limit but WS_BUFFER_MAX), so a deflate bomb costs at most max bytes;
 * WS_ERR_DATA when the data is not valid deflate. */
ws_status ws_pmd_inflate(ws_pmd *z, const unsigned char *in, size_t n,
                         uint64_t max, ws_buffer *out);

#endif /* WS_DEFLATE_H */
