/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_stress_plugin.c - a test-only plugin: echoes what the client sends
 * while a second thread of its own keeps calling send, as the OpenSRF
 * bridge's listener does.  Its messages are self-checking:
 *   "T <seq> <filler>"  with seq counting up from 0 and a filler of
 *   (seq % 2000) copies of the letter 'a' + seq % 26.
 */
#include <stdio.h>
#include <string.h>

#include "apr_atomic.h"
#include "apr_thread_proc.h"
#include "httpd.h"
#include "websocket_plugin.h"

typedef struct {
    const WebSocketServer *server;
    apr_thread_t *thread;
    volatile apr_uint32_t stop;
} stress_conn;

static void *APR_THREAD_FUNC sender(apr_thread_t *thread, void *data)
{
    stress_conn *conn = data;
    static char msg[2100];
    unsigned long seq;

    for (seq = 0; !apr_atomic_read32(&conn->stop); seq++) {
        size_t fill = seq % 2000;
        int n = snprintf(msg, sizeof(msg), "T %lu ", seq);

        memset(msg + n, 'a' + (int)(seq % 26), fill);
        if (conn->server->send(conn->server, MESSAGE_TYPE_TEXT,
                               (unsigned char *)msg, n + fill) == 0)
            break;          /* the connection is closing */
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void *CALLBACK stress_on_connect(const WebSocketServer *server)
{
    request_rec *r = server->request(server);
    stress_conn *conn = apr_pcalloc(r->pool, sizeof(*conn));

    conn->server = server;
    if (apr_thread_create(&conn->thread, NULL, sender, conn, r->pool)
        != APR_SUCCESS)
        return NULL;
    return conn;
}

static size_t CALLBACK stress_on_message(void *priv, const WebSocketServer *server,
                                         const int type, unsigned char *buffer,
                                         const size_t size)
{
    (void)priv;
    return server->send(server, type, buffer, size);
}

static void CALLBACK stress_on_disconnect(void *priv, const WebSocketServer *server)
{
    stress_conn *conn = priv;
    apr_status_t rv;

    (void)server;
    apr_atomic_set32(&conn->stop, 1);
    apr_thread_join(&rv, conn->thread);
}

static WebSocketPlugin stress_plugin = {
    sizeof(WebSocketPlugin), WEBSOCKET_PLUGIN_VERSION_0, NULL,
    stress_on_connect, stress_on_message, stress_on_disconnect
};

extern EXPORT WebSocketPlugin *CALLBACK stress_init(void);

EXPORT WebSocketPlugin *CALLBACK stress_init(void)
{
    return &stress_plugin;
}
