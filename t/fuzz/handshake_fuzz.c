/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * handshake_fuzz.c - the opening handshake checks over arbitrary header
 * values.  The input is split at newlines into method, Upgrade,
 * Connection, Sec-WebSocket-Key and Sec-WebSocket-Version.
 */
#include <string.h>

#include "ws_codec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *field[5] = { 0 }, *p;
    ws_handshake_request req;
    const char *why = NULL, *cursor, *tok;
    size_t len, seen = 0;
    int i, status;

    CHECK(copy != NULL);
    memcpy(copy, data, size);
    copy[size] = '\0';
    for (i = 0, p = copy; i < 5; i++) {
        field[i] = p;
        if ((p = strchr(p, '\n')) == NULL)
            break;
        *p++ = '\0';
    }
    req.method = field[0];
    req.proto_num = 1001;
    req.upgrade = field[1];
    req.connection = field[2];
    req.key = field[3];
    req.version = field[4];

    status = ws_handshake_check(&req, &why);
    CHECK(status == 0 || status == 400 || status == 426);
    CHECK(status == 0 || (why && *why));
    if (status == 0) {
        char accept[29];

        CHECK(ws_key_valid(req.key));
        ws_accept_key(req.key, accept);
        CHECK(strlen(accept) == 28);
    }
    for (cursor = field[2]; cursor && ws_list_next(&cursor, &tok, &len); seen++) {
        CHECK(len > 0 && len <= strlen(field[2]));
        CHECK(tok[0] != ' ' && tok[len - 1] != ' ');
        CHECK(seen < size + 1);     /* each item consumes input */
    }
    (void)ws_header_has_token(field[0], field[1] ? field[1] : "websocket");
    free(copy);
    return 0;
}
