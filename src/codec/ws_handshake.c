/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_handshake.c - the checks of an opening handshake (RFC 6455 section
 * 4.2.1) and the accept key.  Header values in, verdicts out.
 */
#include <string.h>
#include <strings.h>

#include <apr_base64.h>
#include <apr_sha1.h>

#include "ws_codec.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int ws_list_next(const char **cursor, const char **tok, size_t *len)
{
    const char *p = *cursor;

    for (;;) {
        const char *start, *end;

        while (*p == ',' || is_ows(*p))
            p++;
        if (*p == '\0') {
            *cursor = p;
            return 0;
        }
        start = p;
        while (*p != '\0' && *p != ',')
            p++;
        end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        if (end > start) {
            *tok = start;
            *len = (size_t)(end - start);
            *cursor = p;
            return 1;
        }
    }
}

int ws_header_has_token(const char *value, const char *token)
{
    size_t want = strlen(token), len;
    const char *tok;

    if (value == NULL)
        return 0;
    while (ws_list_next(&value, &tok, &len))
        if (len == want && strncasecmp(tok, token, len) == 0)
            return 1;
    return 0;
}

static int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* 16 bytes encode to 22 characters and "==": the last character carries
 * 2 bits of data, so its low 4 bits must be zero. */
int ws_key_valid(const char *key)
{
    int i;

    if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
        return 0;
    for (i = 0; i < 22; i++)
        if (base64_value(key[i]) < 0)
            return 0;
    return (base64_value(key[21]) & 0x0F) == 0;
}

void ws_accept_key(const char *key, char out[29])
{
    apr_sha1_ctx_t sha;
    unsigned char digest[APR_SHA1_DIGESTSIZE];

    apr_sha1_init(&sha);
    apr_sha1_update(&sha, key, (unsigned int)strlen(key));
    apr_sha1_update(&sha, WS_GUID, (unsigned int)strlen(WS_GUID));
    apr_sha1_final(digest, &sha);
    apr_base64_encode_binary(out, digest, APR_SHA1_DIGESTSIZE);
}

int ws_handshake_check(const ws_handshake_request *req, const char **why)
{
    if (req->method == NULL || strcmp(req->method, "GET") != 0) {
        *why = "the opening handshake must be a GET";
        return 400;
    }
    if (req->proto_num < 1001) {
        *why = "the opening handshake needs HTTP/1.1 or later";
        return 400;
    }
    if (!ws_header_has_token(req->upgrade, "websocket")) {
        *why = "no \"Upgrade: websocket\" header";
        return 400;
    }
    if (!ws_header_has_token(req->connection, "upgrade")) {
        *why = "no \"Connection: upgrade\" header";
        return 400;
    }
    if (req->version == NULL || strcmp(req->version, "13") != 0) {
        *why = "unsupported Sec-WebSocket-Version (13 is supported)";
        return 426;
    }
    if (!ws_key_valid(req->key)) {
        *why = "missing or invalid Sec-WebSocket-Key";
        return 400;
    }
    *why = NULL;
    return 0;
}
