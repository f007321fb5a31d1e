/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_bus.h - blocking Redis commands for the bus connections, as
 * hiredis's redisCommand and redisCommandArgv, without their 16 kB stack
 * buffer.
 *
 * hiredis reads every reply through a 16 kB array on the caller's stack
 * (redisBufferRead), so the read, and the calls under it, touch a page
 * 16 kB below the caller: on the connection thread and on the listener,
 * once per child, and each such page stays that child's own memory (one
 * child per WebSocket: README.websockets, Benchmarks).  These read
 * straight into the reader's own buffer, which holds the reply anyway.
 *
 * Same contract as hiredis: a reply to free with freeReplyObject, or NULL
 * with c->err and c->errstr set (c is then unusable).  c must be a
 * blocking context; one thread at a time per context.
 */
#ifndef OSRF_BUS_H
#define OSRF_BUS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

redisReply *osrf_bus_command(redisContext *c, const char *format, ...);
redisReply *osrf_bus_command_argv(redisContext *c, int argc, const char **argv,
                                  const size_t *argvlen);

#endif /* OSRF_BUS_H */
