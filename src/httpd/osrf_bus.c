/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bus.c - see osrf_bus.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "osrf_bus.h"

/* Room asked for before each read: the reader's buffer grows by doubling
 * (sds), so a large reply still comes in few reads. */
#define READ_ROOM 4096

static void set_error(redisContext *c, int type, const char *why)
{
    c->err = type;
    snprintf(c->errstr, sizeof(c->errstr), "%s", why);
}

/* One read(2) into the reader's buffer, as redisBufferRead does through
 * its stack array.  REDIS_OK or REDIS_ERR (c->err set). */
static int read_some(redisContext *c)
{
    redisReader *r = c->reader;
    ssize_t n;
    sds buf;

    if (c->err)
        return REDIS_ERR;
    if (r->buf == NULL || (buf = sdsMakeRoomFor(r->buf, READ_ROOM)) == NULL) {
        set_error(c, REDIS_ERR_OOM, "Out of memory");
        return REDIS_ERR;
    }
    r->buf = buf;
    do
        n = read(c->fd, buf + sdslen(buf), sdsavail(buf));
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        set_error(c, REDIS_ERR_IO, strerror(errno));    /* a timeout too */
        return REDIS_ERR;
    }
    if (n == 0) {
        set_error(c, REDIS_ERR_EOF, "Server closed the connection");
        return REDIS_ERR;
    }
    sdsIncrLen(buf, (int)n);
    r->len = sdslen(buf);
    return REDIS_OK;
}

/* What redisReaderFeed does before it reads, done as soon as a reply is
 * taken: a large buffer, emptied, goes back (a child may then wait a long
 * time for its next read, holding a large reply's size). */
static void release_emptied(redisReader *r)
{
    if (r->buf && r->len == 0 && r->maxbuf != 0 && sdsavail(r->buf) > r->maxbuf) {
        sdsfree(r->buf);
        r->buf = sdsempty();
        r->pos = 0;
    }
}

/* redisGetReply for a blocking context, reading with read_some. */
static redisReply *read_reply(redisContext *c)
{
    void *reply = NULL;
    int done = 0;

    if (redisGetReplyFromReader(c, &reply) != REDIS_OK)
        return NULL;
    if (reply != NULL)
        return reply;
    while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
            return NULL;
    while (reply == NULL)
        if (read_some(c) != REDIS_OK || redisGetReplyFromReader(c, &reply) != REDIS_OK)
            return NULL;
    return reply;
}

static redisReply *get_reply(redisContext *c)
{
    redisReply *reply = read_reply(c);

    release_emptied(c->reader);
    return reply;
}

redisReply *osrf_bus_command(redisContext *c, const char *format, ...)
{
    va_list ap;
    int rc;

    va_start(ap, format);
    rc = redisvAppendCommand(c, format, ap);
    va_end(ap);
    return rc == REDIS_OK ? get_reply(c) : NULL;
}

redisReply *osrf_bus_command_argv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen)
{
    return redisAppendCommandArgv(c, argc, argv, argvlen) == REDIS_OK ? get_reply(c) : NULL;
}
