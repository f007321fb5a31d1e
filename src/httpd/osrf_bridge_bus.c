/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bridge_bus.c - the bridge's Redis connections behind osrf_bus_ops
 * (osrf_flight.h): the connection thread's, which RPUSHes and DELs, and
 * the listener's, which BLPOPs and DELs (hiredis contexts are not
 * thread-safe).  Both log in again when the bus went away, and stay
 * logged in across the connections the child serves one after another.
 */
#include <stdio.h>
#include <string.h>

#include "apr_strings.h"

#include "osrf_bus.h"
#include "osrf_ws_bridge.h"

/* how long the connection thread waits for the bus */
#define SENDER_TIMEOUT     ((struct timeval){ 3, 0 })

/* Connects and logs in within tv (connect, then each read); NULL and the
 * reason in why[n] (with the number of the log line it belongs to). */
static redisContext *bus_connect(const osrf_config *cfg, struct timeval tv,
                                 char *why, size_t n)
{
    redisContext *c = redisConnectWithTimeout(cfg->domain, cfg->port, tv);
    redisReply *r;

    if (c == NULL || c->err) {
        snprintf(why, n, "OSRFWS02001: cannot reach the bus at %s:%d: %s",
                 cfg->domain, cfg->port, c ? c->errstr : "no memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);     /* the connect timeout does not cover reads */
    r = osrf_bus_command(c, "AUTH %s %s", cfg->username, cfg->passwd);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, n, "OSRFWS02002: bus login as %s refused: %s", cfg->username,
                 r ? r->str : c->errstr);
        if (r)
            freeReplyObject(r);
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/* Logs the bus's context in: the connection thread's with a short read
 * timeout (a frozen bus must not hold the connection thread, which
 * answers the client with an error instead); the listener's with one
 * BLPOP plus margin, so a frozen or vanished bus is noticed in bounded
 * time. */
redisContext *bridge_bus_login(bridge_bus *bus)
{
    osrf_ws_bridge *b = bus->b;
    struct timeval tv = { 5, 0 };
    char why[256];
    redisContext *c = bus_connect(&b->conf->cfg, tv, why, sizeof(why));

    if (c == NULL) {
        BLOG(b, bus->s, OSRF_LOG_ERROR, NULL, "%s", why);
        ws_metric_add(b->metrics, WS_M_BUS_ERRORS, 1);
        return NULL;
    }
    tv.tv_sec = b->conf->set.idle_check_interval + 5;
    redisSetTimeout(c, bus->listener ? tv : SENDER_TIMEOUT);
    if (bus->logins++)
        ws_metric_add(b->metrics, WS_M_BUS_RECONNECTS, 1);
    return bus->c = c;
}

/* The bus's command failed: drop the connection; the next use logs in
 * again. */
static void bus_failed(bridge_bus *bus, redisReply *r)
{
    if (r)
        freeReplyObject(r);
    redisFree(bus->c);
    bus->c = NULL;
}

/* RPUSH, logging in again once if the bus went away. */
static int bus_push(void *ctx, const char *key, const char *msg, size_t len,
                    const char *xid)
{
    bridge_bus *bus = ctx;
    int attempt;

    for (attempt = 0; attempt < 2; attempt++) {
        redisReply *r;

        if (bus->c == NULL && bridge_bus_login(bus) == NULL)
            return -1;
        r = osrf_bus_command(bus->c, "RPUSH %s %b", key, msg, len);
        if (r != NULL && r->type != REDIS_REPLY_ERROR) {
            freeReplyObject(r);
            return 0;
        }
        BLOG(bus->b, bus->s, OSRF_LOG_ERROR, xid, "OSRFWS02003: RPUSH to %s failed: %s",
             key, r ? r->str : bus->c->errstr);
        ws_metric_add(bus->b->metrics, WS_M_BUS_ERRORS, 1);
        bus_failed(bus, r);
    }
    return -1;
}

/* DEL: the connection thread's logs in if it must; the listener's only
 * goes on with a context it has (it logs in before its next BLPOP). */
static int bus_del(void *ctx, const char *key)
{
    bridge_bus *bus = ctx;
    redisReply *r;

    if (bus->c == NULL && (bus->listener || bridge_bus_login(bus) == NULL))
        return -1;
    r = osrf_bus_command(bus->c, "DEL %s", key);
    if (r != NULL && r->type != REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        return 0;
    }
    if (bus->listener)
        bus_failed(bus, r);
    else if (r)
        freeReplyObject(r);
    return -1;
}

/* BLPOP over keys: -2 when the bus cannot be reached (the caller waits
 * before the next try), -1 when the BLPOP failed. */
static int bus_pop(void *ctx, const char *const *keys, int n, int timeout,
                   osrf_bus_msg *m)
{
    bridge_bus *bus = ctx;
    const char *argv[1 + (1 + OSRF_FLIGHT_MAX_RETIRED) + 1];   /* BLPOP, keys, timeout */
    char secs[16];
    redisReply *r;
    int i;

    if (bus->c == NULL && bridge_bus_login(bus) == NULL)
        return -2;
    argv[0] = "BLPOP";
    for (i = 0; i < n; i++)
        argv[1 + i] = keys[i];
    snprintf(secs, sizeof(secs), "%d", timeout);
    argv[1 + n] = secs;
    r = osrf_bus_command_argv(bus->c, n + 2, argv, NULL);
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        BLOG(bus->b, bus->s, OSRF_LOG_ERROR, NULL, "OSRFWS02006: BLPOP failed: %s",
             r ? r->str : bus->c->errstr);
        bus_failed(bus, r);
        ws_metric_add(bus->b->metrics, WS_M_BUS_ERRORS, 1);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);
        return 0;
    }
    m->key = r->element[0]->str;
    m->data = r->element[1]->str;
    m->len = r->element[1]->len;
    m->hold = r;
    return 1;
}

static void bus_release(void *ctx, osrf_bus_msg *m)
{
    (void)ctx;
    freeReplyObject(m->hold);
    m->hold = NULL;
}

void bridge_bus_init(osrf_ws_bridge *b)
{
    static const osrf_bus_ops ops = { bus_push, bus_del, bus_pop, bus_release, NULL };

    b->send_bus.b = b->recv_bus.b = b;
    b->recv_bus.listener = 1;
    b->send_ops = b->recv_ops = ops;
    b->send_ops.ctx = &b->send_bus;
    b->recv_ops.ctx = &b->recv_bus;
}

/* --- readiness (the status handler's ?ready) ------------------------------ */

/* A PING answered within tv.  The gateway's ACL may refuse PING itself
 * (NOPERM): that refusal is Redis answering too. */
static int bus_ping(const osrf_config *cfg, redisContext *c, struct timeval tv,
                    char *why, size_t n)
{
    redisReply *r;
    int ok;

    redisSetTimeout(c, tv);
    r = osrf_bus_command(c, "PING");
    ok = r != NULL && (r->type == REDIS_REPLY_STATUS
                       || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOPERM", 6) == 0));
    if (!ok)
        snprintf(why, n, "the bus at %s:%d does not answer a PING: %s", cfg->domain,
                 cfg->port, r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return ok;
}

/* osrf_ws_bus_ready (ws_status.h).  A prefork child answers this request
 * between its WebSocket connections, so this thread is the connection
 * thread and may use its context.  A child that has it pings on it (and
 * drops it when it is broken: the next RPUSH would log in again anyway);
 * one without it, or whose context was broken, pings on a connection of
 * its own, closed again.  Nothing is logged or counted here: a health
 * check runs every few seconds, and the status handler logs the verdict. */
int bridge_bus_ready(osrf_ws_bridge *b, request_rec *r, apr_interval_time_t timeout,
                     const char **why)
{
    struct timeval tv = { (time_t)apr_time_sec(timeout), (suseconds_t)apr_time_usec(timeout) };
    const char *err = bridge_load_config(b->conf, r->server, r->pool);
    const osrf_config *cfg = &b->conf->cfg;
    char reason[256];
    redisContext *c;
    int ok;

    if (err) {
        *why = err;
        return 0;
    }
    if ((c = b->send_bus.c) != NULL) {
        ok = bus_ping(cfg, c, tv, reason, sizeof(reason));
        redisSetTimeout(c, SENDER_TIMEOUT);
        if (ok)
            return 1;
        bus_failed(&b->send_bus, NULL);
    }
    c = bus_connect(cfg, tv, reason, sizeof(reason));
    ok = c != NULL && bus_ping(cfg, c, tv, reason, sizeof(reason));
    if (c)
        redisFree(c);
    if (!ok)
        *why = apr_pstrdup(r->pool, reason);
    return ok;
}
