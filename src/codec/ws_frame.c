/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_frame.c - RFC 6455 frames: encoding, masking, close codes, and the
 * reader that turns a client's byte stream into messages.
 *
 * The reader is a state machine over one struct: every byte moves it, so
 * the same stream gives the same result in any chunking.  Payload bytes
 * are copied into one reused message buffer and unmasked there; control
 * frames use a fixed buffer inside the struct.
 */
#include <stdlib.h>
#include <string.h>

#include "ws_buffer.h"
#include "ws_codec.h"

enum reader_state {
    RS_HEAD0,       /* FIN, RSV, opcode */
    RS_HEAD1,       /* MASK bit, 7-bit length */
    RS_LENGTH,      /* 16- or 64-bit extended length */
    RS_MASK_KEY,
    RS_PAYLOAD,
    RS_FINISHED     /* after a close frame or an error */
};

struct ws_reader {
    ws_reader_config cfg;
    ws_reader_callbacks cb;
    void *ud;

    enum reader_state state;
    ws_status status;
    const char *error;

    /* the frame being read */
    unsigned opcode;
    unsigned flags;             /* WS_FIN and WS_RSV* of this frame */
    int masked;
    unsigned need;              /* bytes of length or mask key still due */
    uint64_t length;
    uint64_t got;
    unsigned char mask[4];

    /* the data message being assembled */
    int in_message;
    unsigned msg_opcode;
    unsigned msg_flags;
    ws_buffer msg;              /* reused; reset once delivered */
    ws_utf8 utf8;

    unsigned char control[WS_MAX_CONTROL_PAYLOAD];
};

unsigned ws_status_close_code(ws_status st)
{
    switch (st) {
    case WS_ERR_PROTOCOL: return WS_CLOSE_PROTOCOL_ERROR;
    case WS_ERR_UTF8:
    case WS_ERR_DATA:     return WS_CLOSE_INVALID_DATA;
    case WS_ERR_TOO_BIG:  return WS_CLOSE_TOO_BIG;
    case WS_ERR_NOMEM:    return WS_CLOSE_INTERNAL_ERROR;
    default:              return 0;
    }
}

int ws_close_code_valid(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return 1;               /* registered libraries and private use */
    switch (code) {
    case 1000: case 1001: case 1002: case 1003:
    case 1007: case 1008: case 1009: case 1010: case 1011:
    case 1012: case 1013: case 1014:    /* IANA registry additions */
        return 1;
    default:
        return 0;               /* 1004-1006 and 1015 are never sent */
    }
}

size_t ws_close_payload(unsigned char out[WS_MAX_CONTROL_PAYLOAD],
                        unsigned code, const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;

    out[0] = (unsigned char)(code >> 8);
    out[1] = (unsigned char)code;
    if (n > WS_MAX_CONTROL_PAYLOAD - 2) {
        n = WS_MAX_CONTROL_PAYLOAD - 2;
        /* never cut inside a character */
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out + 2, reason, n);
    return n + 2;
}

size_t ws_frame_header(unsigned char out[WS_MAX_HEADER_SIZE], unsigned flags,
                       unsigned opcode, uint64_t payload_len,
                       const unsigned char *mask)
{
    unsigned char mask_bit = mask ? 0x80 : 0;
    size_t n;

    out[0] = (unsigned char)((flags & 0xF0) | (opcode & 0x0F));
    if (payload_len < 126) {
        out[1] = (unsigned char)(mask_bit | payload_len);
        n = 2;
    } else if (payload_len <= 0xFFFF) {
        out[1] = mask_bit | 126;
        out[2] = (unsigned char)(payload_len >> 8);
        out[3] = (unsigned char)payload_len;
        n = 4;
    } else {
        out[1] = mask_bit | 127;
        for (n = 0; n < 8; n++)
            out[2 + n] = (unsigned char)(payload_len >> (56 - 8 * n));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_mask(unsigned char *p, size_t n, const unsigned char mask[4],
             uint64_t offset)
{
    unsigned char m[8];
    uint64_t m64, w;
    size_t i;

    for (i = 0; i < 8; i++)
        m[i] = mask[(offset + i) & 3];
    memcpy(&m64, m, 8);
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        w ^= m64;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= m[i & 7];
}

ws_reader *ws_reader_new(const ws_reader_config *cfg,
                         const ws_reader_callbacks *cb, void *ud)
{
    ws_reader *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return NULL;
    r->cfg = *cfg;
    r->cb = *cb;
    r->ud = ud;
    r->state = RS_HEAD0;
    return r;
}

void ws_reader_free(ws_reader *r)
{
    if (r == NULL)
        return;
    ws_buffer_free(&r->msg);
    free(r);
}

const char *ws_reader_error(const ws_reader *r)
{
    return r->error ? r->error : "";
}

int ws_reader_in_message(const ws_reader *r)
{
    return r->in_message || (r->state != RS_HEAD0 && r->state != RS_FINISHED);
}

static ws_status fail(ws_reader *r, ws_status st, const char *why)
{
    r->state = RS_FINISHED;
    r->status = st;
    r->error = why;
    return st;
}

static ws_status stopped(ws_reader *r)
{
    return fail(r, WS_ERR_STOPPED, "stopped by the application");
}

static int is_control(unsigned opcode)
{
    return opcode & 0x8;
}

/* The first header byte: which frames may come now, and with which bits. */
static ws_status read_head0(ws_reader *r, unsigned char b)
{
    unsigned rsv = b & (WS_RSV1 | WS_RSV2 | WS_RSV3);

    r->opcode = b & 0x0F;
    r->flags = b & 0xF0;
    if (rsv & ~r->cfg.allowed_rsv)
        return fail(r, WS_ERR_PROTOCOL, "reserved bit set without an extension");

    switch (r->opcode) {
    case WS_OP_CONT:
        if (!r->in_message)
            return fail(r, WS_ERR_PROTOCOL, "continuation frame outside a message");
        if (rsv & WS_RSV1)
            return fail(r, WS_ERR_PROTOCOL, "RSV1 on a continuation frame");
        break;
    case WS_OP_TEXT:
    case WS_OP_BINARY:
        if (r->in_message)
            return fail(r, WS_ERR_PROTOCOL, "new message before the last one ended");
        break;
    case WS_OP_CLOSE:
    case WS_OP_PING:
    case WS_OP_PONG:
        if (!(b & WS_FIN))
            return fail(r, WS_ERR_PROTOCOL, "fragmented control frame");
        if (rsv & WS_RSV1)
            return fail(r, WS_ERR_PROTOCOL, "RSV1 on a control frame");
        break;
    default:
        return fail(r, WS_ERR_PROTOCOL, "reserved opcode");
    }
    r->state = RS_HEAD1;
    return WS_OK;
}

/* The length is known: check it against the limits before any payload. */
static ws_status length_known(ws_reader *r)
{
    if (is_control(r->opcode)) {
        if (r->length > WS_MAX_CONTROL_PAYLOAD)
            return fail(r, WS_ERR_PROTOCOL, "control frame payload over 125 bytes");
    } else if (r->cfg.max_message
               && r->length > r->cfg.max_message - r->msg.len) {
        return fail(r, WS_ERR_TOO_BIG, "message too big");
    } else if (!ws_buffer_fits(&r->msg, r->length)) {
        return fail(r, WS_ERR_TOO_BIG, "message too big for this machine");
    }
    r->got = 0;
    r->need = 4;
    r->state = r->masked ? RS_MASK_KEY : RS_PAYLOAD;
    return WS_OK;
}

static ws_status read_head1(ws_reader *r, unsigned char b)
{
    unsigned len7 = b & 0x7F;

    r->masked = (b & 0x80) != 0;
    if (r->cfg.require_mask && !r->masked)
        return fail(r, WS_ERR_PROTOCOL, "client frame not masked");
    if (len7 < 126) {
        r->length = len7;
        return length_known(r);
    }
    r->length = 0;
    r->need = len7 == 126 ? 2 : 8;
    r->state = RS_LENGTH;
    return WS_OK;
}

static ws_status read_length(ws_reader *r, unsigned char b)
{
    r->length = (r->length << 8) | b;
    if (--r->need > 0)
        return WS_OK;
    if (r->length >> 63)
        return fail(r, WS_ERR_PROTOCOL, "64-bit length with the high bit set");
    return length_known(r);
}

static void start_message(ws_reader *r)
{
    r->in_message = 1;
    r->msg_opcode = r->opcode;
    r->msg_flags = r->flags & WS_RSV1;
    ws_buffer_reset(&r->msg);
    ws_utf8_init(&r->utf8);
}

/* A compressed message (RSV1) is checked for UTF-8 by whoever inflates it. */
static int check_text(const ws_reader *r)
{
    return r->msg_opcode == WS_OP_TEXT && !(r->msg_flags & WS_RSV1);
}

static ws_status deliver_message(ws_reader *r)
{
    int rc;

    if (check_text(r) && !ws_utf8_complete(&r->utf8))
        return fail(r, WS_ERR_UTF8, "text message ends inside a character");
    r->in_message = 0;
    rc = r->cb.on_message
         ? r->cb.on_message(r->ud, r->msg_opcode, r->msg_flags,
                            (unsigned char *)r->msg.data, r->msg.len)
         : 0;
    ws_buffer_reset(&r->msg);
    return rc ? stopped(r) : WS_OK;
}

static ws_status deliver_close(ws_reader *r)
{
    unsigned code = WS_CLOSE_NO_STATUS;
    const char *reason = "";
    size_t len = 0;
    int rc;

    if (r->length == 1)
        return fail(r, WS_ERR_PROTOCOL, "close frame with a 1-byte payload");
    if (r->length >= 2) {
        code = ((unsigned)r->control[0] << 8) | r->control[1];
        if (!ws_close_code_valid(code))
            return fail(r, WS_ERR_PROTOCOL, "invalid close code");
        reason = (const char *)r->control + 2;
        len = (size_t)r->length - 2;
        if (!ws_utf8_valid((const unsigned char *)reason, len))
            return fail(r, WS_ERR_UTF8, "close reason is not UTF-8");
    }
    r->state = RS_FINISHED;     /* nothing may follow a close frame */
    r->status = WS_OK;
    rc = r->cb.on_close ? r->cb.on_close(r->ud, code, reason, len) : 0;
    return rc ? stopped(r) : WS_OK;
}

static ws_status frame_done(ws_reader *r)
{
    int rc = 0;

    r->state = RS_HEAD0;
    switch (r->opcode) {
    case WS_OP_PING:
        if (r->cb.on_ping)
            rc = r->cb.on_ping(r->ud, r->control, (size_t)r->length);
        return rc ? stopped(r) : WS_OK;
    case WS_OP_PONG:
        if (r->cb.on_pong)
            rc = r->cb.on_pong(r->ud, r->control, (size_t)r->length);
        return rc ? stopped(r) : WS_OK;
    case WS_OP_CLOSE:
        return deliver_close(r);
    default:
        return (r->flags & WS_FIN) ? deliver_message(r) : WS_OK;
    }
}

/* Payload bytes: copied to their buffer, unmasked there, and for a text
 * message validated at once so bad UTF-8 fails before the frame ends. */
static ws_status read_payload(ws_reader *r, const unsigned char *p, size_t n)
{
    unsigned char *dst;

    if (n == 0)                     /* an empty frame: nothing to copy */
        return r->got == r->length ? frame_done(r) : WS_OK;
    if (is_control(r->opcode)) {
        dst = r->control + r->got;
        memcpy(dst, p, n);
    } else {
        if (ws_buffer_append(&r->msg, p, n) < 0)
            return fail(r, WS_ERR_NOMEM, "out of memory");
        dst = (unsigned char *)r->msg.data + r->msg.len - n;
    }
    if (r->masked)
        ws_mask(dst, n, r->mask, r->got);
    r->got += n;
    if (!is_control(r->opcode) && check_text(r) && ws_utf8_feed(&r->utf8, dst, n) < 0)
        return fail(r, WS_ERR_UTF8, "text message is not UTF-8");
    return r->got == r->length ? frame_done(r) : WS_OK;
}

ws_status ws_reader_feed(ws_reader *r, const unsigned char *buf, size_t len)
{
    ws_status st = WS_OK;

    while (st == WS_OK && r->state != RS_FINISHED) {
        if (r->state == RS_PAYLOAD) {
            uint64_t left = r->length - r->got;
            size_t n = left < len ? (size_t)left : len;

            if (n == 0 && left > 0)
                break;
            if (r->got == 0 && !is_control(r->opcode) && r->opcode != WS_OP_CONT)
                start_message(r);
            st = read_payload(r, buf, n);
            buf += n;
            len -= n;
            continue;
        }
        if (len == 0)
            break;
        switch (r->state) {
        case RS_HEAD0:    st = read_head0(r, *buf); break;
        case RS_HEAD1:    st = read_head1(r, *buf); break;
        case RS_LENGTH:   st = read_length(r, *buf); break;
        case RS_MASK_KEY:
            r->mask[4 - r->need] = *buf;
            if (--r->need == 0)
                r->state = RS_PAYLOAD;
            break;
        default:
            break;
        }
        buf++;
        len--;
    }
    return r->state == RS_FINISHED ? r->status : st;
}
