/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_deflate.c - permessage-deflate (RFC 7692): the offer parser and
 * negotiation (section 7.1), and whole-message deflate and inflate
 * (section 7.2) with zlib's raw streams.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ws_deflate.h"

#define INFLATE_CHUNK  16384
#define MEM_LEVEL      8

/* --- the offer parser (RFC 7230 section 3.2.6 tokens and quoted-strings) --- */

#define MAX_PARAM 32

typedef struct {
    const char *p;
} cursor;

static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ows(cursor *c)
{
    while (*c->p == ' ' || *c->p == '\t')
        c->p++;
}

/* A token into out (cut to MAX_PARAM); 0 when there is none. */
static int read_token(cursor *c, char out[MAX_PARAM + 1])
{
    size_t n = 0;

    while (is_tchar(*c->p)) {
        if (n < MAX_PARAM)
            out[n++] = *c->p;
        c->p++;
    }
    out[n] = '\0';
    return n > 0;
}

/* A parameter value: a token or a quoted-string, unescaped. */
static int read_value(cursor *c, char out[MAX_PARAM + 1])
{
    size_t n = 0;

    if (*c->p != '"')
        return read_token(c, out);
    for (c->p++; *c->p != '"'; c->p++) {
        if (*c->p == '\\' && c->p[1])
            c->p++;
        if (*c->p == '\0')
            return 0;
        if (n < MAX_PARAM)
            out[n++] = *c->p;
    }
    c->p++;
    out[n] = '\0';
    return 1;
}

/* One offer's parameters, each seen at most once. */
typedef struct {
    int server_no_context_takeover;
    int client_no_context_takeover;
    int server_max_window_bits;     /* 0: absent, -1: present but bad */
    int client_max_window_bits;     /* 0: absent, -1: no value or bad */
    int acceptable;
} offer;

/* 8..15 written without leading zeros (RFC 7692 7.1.2), or 0. */
static int window_bits_value(const char *v)
{
    if (v[0] == '9' && v[1] == '\0')
        return 9;
    if (v[0] == '8' && v[1] == '\0')
        return 8;
    if (v[0] == '1' && v[1] >= '0' && v[1] <= '5' && v[2] == '\0')
        return 10 + (v[1] - '0');
    return 0;
}

static void take_param(offer *o, const char *name, const char *value, int has_value)
{
    if (strcmp(name, "server_no_context_takeover") == 0) {
        if (o->server_no_context_takeover || has_value)
            o->acceptable = 0;
        o->server_no_context_takeover = 1;
    } else if (strcmp(name, "client_no_context_takeover") == 0) {
        if (o->client_no_context_takeover || has_value)
            o->acceptable = 0;
        o->client_no_context_takeover = 1;
    } else if (strcmp(name, "server_max_window_bits") == 0) {
        int bits = has_value ? window_bits_value(value) : 0;     /* required */

        if (o->server_max_window_bits || bits == 0)
            o->acceptable = 0;
        o->server_max_window_bits = bits ? bits : -1;
    } else if (strcmp(name, "client_max_window_bits") == 0) {
        int bits = has_value ? window_bits_value(value) : -1;    /* optional */

        if (o->client_max_window_bits || bits == 0)
            o->acceptable = 0;
        o->client_max_window_bits = bits ? bits : -1;
    } else {
        o->acceptable = 0;      /* a parameter we do not know */
    }
}

/* Reads one extension of the list: 1 if it was a permessage-deflate offer
 * (its parameters in *o), 0 for another extension, -1 at the end or on a
 * syntax error. */
static int next_offer(cursor *c, offer *o)
{
    char name[MAX_PARAM + 1], param[MAX_PARAM + 1], value[MAX_PARAM + 1];
    int is_pmd;

    skip_ows(c);
    while (*c->p == ',') {          /* empty list elements are allowed */
        c->p++;
        skip_ows(c);
    }
    if (*c->p == '\0' || !read_token(c, name))
        return -1;
    is_pmd = strcmp(name, "permessage-deflate") == 0;
    memset(o, 0, sizeof(*o));
    o->acceptable = 1;
    for (;;) {
        int has_value = 0;

        skip_ows(c);
        if (*c->p == ',' || *c->p == '\0')
            break;
        if (*c->p++ != ';')
            return -1;
        skip_ows(c);
        if (!read_token(c, param))
            return -1;
        skip_ows(c);
        if (*c->p == '=') {
            c->p++;
            skip_ows(c);
            if (!read_value(c, value))
                return -1;
            has_value = 1;
        }
        take_param(o, param, value, has_value);
    }
    if (*c->p == ',')
        c->p++;
    return is_pmd;
}

int ws_pmd_negotiate(const char *offers, const ws_pmd_config *cfg,
                     ws_pmd_params *params, char response[WS_PMD_RESPONSE_MAX])
{
    cursor c = { offers };
    offer o;
    int kind;

    while (offers && (kind = next_offer(&c, &o)) >= 0) {
        int bits = cfg->window_bits;
        size_t n;

        if (kind == 0 || !o.acceptable)
            continue;
        if (o.server_max_window_bits > 0 && o.server_max_window_bits < bits)
            bits = o.server_max_window_bits;
        if (bits < 9)
            continue;       /* zlib's raw deflate has no 256-byte window */
        params->level = cfg->level;
        params->server_window_bits = bits;
        params->server_no_context_takeover = o.server_no_context_takeover
                                             || !cfg->context_takeover;
        params->client_no_context_takeover = o.client_no_context_takeover
                                             || !cfg->context_takeover;
        n = (size_t)snprintf(response, WS_PMD_RESPONSE_MAX, "permessage-deflate%s%s",
                             params->server_no_context_takeover
                             ? "; server_no_context_takeover" : "",
                             !cfg->context_takeover
                             ? "; client_no_context_takeover" : "");
        if (o.server_max_window_bits || bits < 15)
            snprintf(response + n, WS_PMD_RESPONSE_MAX - n,
                     "; server_max_window_bits=%d", bits);
        return 1;
    }
    return 0;
}

/* --- compression ----------------------------------------------------------- */

struct ws_pmd {
    ws_pmd_params params;
    z_stream def;
    z_stream inf;
    int def_live;
    int inf_live;
};

ws_pmd *ws_pmd_new(const ws_pmd_params *params)
{
    ws_pmd *z = calloc(1, sizeof(*z));

    if (z)
        z->params = *params;
    return z;
}

void ws_pmd_free(ws_pmd *z)
{
    if (z == NULL)
        return;
    if (z->def_live)
        deflateEnd(&z->def);
    if (z->inf_live)
        inflateEnd(&z->inf);
    free(z);
}

ws_status ws_pmd_deflate(ws_pmd *z, const unsigned char *in, size_t n,
                         ws_buffer *out)
{
    static const unsigned char tail[4] = { 0x00, 0x00, 0xff, 0xff };
    z_stream *s = &z->def;
    ws_status st = WS_OK;
    size_t want, room;

    if (!z->def_live) {
        memset(s, 0, sizeof(*s));
        if (deflateInit2(s, z->params.level, Z_DEFLATED, -z->params.server_window_bits,
                         MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
            return WS_ERR_NOMEM;
        z->def_live = 1;
    }
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)n;
    want = deflateBound(s, (uLong)n) + 16;     /* one pass, as a rule */
    do {
        int rc;

        if (ws_buffer_reserve(out, want) < 0) {
            st = WS_ERR_NOMEM;
            break;
        }
        room = ws_buffer_room(out);
        s->next_out = (Bytef *)out->data + out->len;
        s->avail_out = (uInt)room;
        rc = deflate(s, Z_SYNC_FLUSH);
        ws_buffer_set_len(out, out->len + room - s->avail_out);
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            st = WS_ERR_NOMEM;
        want = 4096;
    } while (st == WS_OK && s->avail_out == 0);
    /* a sync flush ends in 00 00 ff ff, which the receiver puts back */
    if (st == WS_OK && out->len >= 4 && memcmp(out->data + out->len - 4, tail, 4) == 0)
        ws_buffer_set_len(out, out->len - 4);
    else if (st == WS_OK)
        st = WS_ERR_NOMEM;
    if (st != WS_OK || z->params.server_no_context_takeover) {
        deflateEnd(s);
        z->def_live = 0;
    }
    return st;
}

/* Inflates what s holds as input into out, at most max bytes in all. */
static ws_status inflate_input(z_stream *s, uint64_t max, ws_buffer *out, int *ended)
{
    for (;;) {
        size_t room;
        int rc;

        if (ws_buffer_reserve(out, INFLATE_CHUNK) < 0)
            return ws_buffer_fits(out, INFLATE_CHUNK) ? WS_ERR_NOMEM : WS_ERR_TOO_BIG;
        room = ws_buffer_room(out);
        if (max && room > max - out->len + 1)
            room = (size_t)(max - out->len + 1);
        s->next_out = (Bytef *)out->data + out->len;
        s->avail_out = (uInt)room;
        rc = inflate(s, Z_SYNC_FLUSH);
        ws_buffer_set_len(out, out->len + room - s->avail_out);
        if (max && out->len > max)
            return WS_ERR_TOO_BIG;
        if (rc == Z_STREAM_END) {
            *ended = 1;
            return s->avail_in == 0 ? WS_OK : WS_ERR_DATA;
        }
        if (rc == Z_BUF_ERROR || (rc == Z_OK && s->avail_in == 0 && s->avail_out > 0))
            return WS_OK;
        if (rc != Z_OK)
            return rc == Z_MEM_ERROR ? WS_ERR_NOMEM : WS_ERR_DATA;
    }
}

ws_status ws_pmd_inflate(ws_pmd *z, const unsigned char *in, size_t n,
                         uint64_t max, ws_buffer *out)
{
    static const unsigned char tail[4] = { 0x00, 0x00, 0xff, 0xff };
    z_stream *s = &z->inf;
    int ended = 0;
    ws_status st;

    if (!z->inf_live) {
        memset(s, 0, sizeof(*s));
        if (inflateInit2(s, -15) != Z_OK)     /* 15 reads any client window */
            return WS_ERR_NOMEM;
        z->inf_live = 1;
    }
    s->next_in = (Bytef *)in;
    s->avail_in = (uInt)n;
    st = inflate_input(s, max, out, &ended);
    if (st == WS_OK && !ended) {
        s->next_in = (Bytef *)tail;
        s->avail_in = sizeof(tail);
        st = inflate_input(s, max, out, &ended);
    }
    /* a final block ends the sender's stream: the next message starts anew */
    if (st != WS_OK || ended || z->params.client_no_context_takeover) {
        inflateEnd(s);
        z->inf_live = 0;
    }
    return st;
}
