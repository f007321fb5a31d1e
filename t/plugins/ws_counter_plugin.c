/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_counter_plugin.c - a test-only plugin written the way mod_websocket's
 * own example plugins are: it uses only mod_websocket's interface, accepts
 * a connection only from a host that hands it server version 1 (and a
 * server struct at least as large as the one it was built with), speaks
 * one subprotocol, and sends from a thread of its own.
 *
 * Per connection (subprotocol "counter-protocol"), its thread sends
 *   "hello version=V size=S"   what the host handed on_connect,
 * then "0", "1", "2", ... every few milliseconds until the connection
 * ends; a client message "reset" starts the count again at 0, and
 * "close" closes with 4000 "bye", as mod_websocket's plugins close with a
 * code: a close message through send.
 * counter_init_v1 returns it with a plugin version hosts must refuse.
 */
#include <stdio.h>
#include <string.h>

#include "apr_atomic.h"
#include "apr_thread_proc.h"
#include "httpd.h"
#include "websocket_plugin.h"

#define COUNTER_PROTOCOL "counter-protocol"
#define COUNTER_PERIOD   apr_time_from_msec(5)

typedef struct {
    const WebSocketServer *server;
    apr_pool_t *pool;
    apr_thread_t *thread;
    volatile apr_uint32_t next;     /* the number sent next */
    volatile apr_uint32_t stop;
} counter_conn;

static size_t send_text(const WebSocketServer *server, const char *text)
{
    return server->send(server, MESSAGE_TYPE_TEXT, (const unsigned char *)text,
                        strlen(text));
}

static void *APR_THREAD_FUNC count(apr_thread_t *thread, void *data)
{
    counter_conn *conn = data;
    char msg[64];

    snprintf(msg, sizeof(msg), "hello version=%u size=%u",
             conn->server->version, conn->server->size);
    if (send_text(conn->server, msg) > 0) {
        while (!apr_atomic_read32(&conn->stop)) {
            apr_sleep(COUNTER_PERIOD);      /* pacing, as a ticker does */
            snprintf(msg, sizeof(msg), "%u", apr_atomic_inc32(&conn->next));
            if (send_text(conn->server, msg) == 0)
                break;      /* the connection is closing */
        }
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

/* The host's offer must hold our subprotocol; we answer with it. */
static int choose_protocol(const WebSocketServer *server)
{
    size_t i, n = server->protocol_count(server);

    for (i = 0; i < n; i++) {
        const char *p = server->protocol_index(server, i);

        if (p != NULL && strcmp(p, COUNTER_PROTOCOL) == 0) {
            server->protocol_set(server, p);
            return 1;
        }
    }
    return 0;
}

static void *CALLBACK counter_on_connect(const WebSocketServer *server)
{
    request_rec *r;
    apr_pool_t *pool;
    counter_conn *conn;

    /* the check mod_websocket's examples make: any other version is a
     * host whose struct they do not know */
    if (server == NULL || server->version != WEBSOCKET_SERVER_VERSION_1
        || server->size < sizeof(WebSocketServer))
        return NULL;
    r = server->request(server);
    if (r == NULL || !choose_protocol(server)
        || apr_pool_create(&pool, r->pool) != APR_SUCCESS)
        return NULL;
    conn = apr_pcalloc(pool, sizeof(*conn));
    conn->server = server;
    conn->pool = pool;
    if (apr_thread_create(&conn->thread, NULL, count, conn, pool) != APR_SUCCESS) {
        apr_pool_destroy(pool);
        return NULL;
    }
    return conn;
}

static size_t CALLBACK counter_on_message(void *priv, const WebSocketServer *server,
                                          const int type, unsigned char *buffer,
                                          const size_t size)
{
    static const unsigned char bye[] = { 4000 >> 8, 4000 & 0xff, 'b', 'y', 'e' };
    counter_conn *conn = priv;

    if (type == MESSAGE_TYPE_TEXT && size == 5 && memcmp(buffer, "reset", 5) == 0)
        apr_atomic_set32(&conn->next, 0);
    else if (type == MESSAGE_TYPE_TEXT && size == 5 && memcmp(buffer, "close", 5) == 0)
        server->send(server, MESSAGE_TYPE_CLOSE, bye, sizeof(bye));
    return 0;
}

static void CALLBACK counter_on_disconnect(void *priv, const WebSocketServer *server)
{
    counter_conn *conn = priv;
    apr_status_t rv;

    (void)server;
    apr_atomic_set32(&conn->stop, 1);
    apr_thread_join(&rv, conn->thread);
    apr_pool_destroy(conn->pool);
}

static WebSocketPlugin counter_plugin = {
    sizeof(WebSocketPlugin), WEBSOCKET_PLUGIN_VERSION_0, NULL,
    counter_on_connect, counter_on_message, counter_on_disconnect
};

/* The same plugin declaring a version mod_websocket does not know: a host
 * must refuse it when it loads it. */
static WebSocketPlugin counter_plugin_v1 = {
    sizeof(WebSocketPlugin), 1, NULL,
    counter_on_connect, counter_on_message, counter_on_disconnect
};

extern EXPORT WebSocketPlugin *CALLBACK counter_init(void);
extern EXPORT WebSocketPlugin *CALLBACK counter_init_v1(void);

EXPORT WebSocketPlugin *CALLBACK counter_init(void)
{
    return &counter_plugin;
}

EXPORT WebSocketPlugin *CALLBACK counter_init_v1(void)
{
    return &counter_plugin_v1;
}
