/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_log.h - log lines the OpenSRF way, to a file or to syslog as the
 * <gateway> section of opensrf_core.xml says (logfile, syslog, actlog,
 * loglevel, logtag).  No httpd.
 *
 * The line is OpenSRF's (libopensrf/log.c):
 *   file:   APPNAME YYYY-MM-DD HH:MM:SS [LABEL:PID:FILE:LINE:XID] MESSAGE
 *   syslog: <PRI>TIMESTAMP APPNAME: [LABEL:PID:FILE:LINE:XID] MESSAGE
 * LABEL is "ERR ", "WARN", "INFO", "DEBG", "INT " or "ACT"; APPNAME is the
 * config context ("gateway"), "/LOGTAG" appended when there is one.
 * Nothing in a line can end it or start a forged one: in the message and
 * the xid, C0 controls, DEL and bytes that are not UTF-8 are written as
 * \xNN, C1 controls (U+0080-U+009F, NEL among them) and the line and
 * paragraph separators U+2028 and U+2029 as \u{XXXX}.
 *
 * Processes: opened in the Apache parent (as root, before the children
 * fork), so every child inherits the descriptors (under mod_websocket,
 * by each child at its first connection).  Each line is one
 * write(2) on an O_APPEND file, or one datagram to the syslog socket, so
 * lines of concurrent children and threads never interleave.  Writing
 * needs no lock; opening and closing are the parent's alone.
 */
#ifndef OSRF_LOG_H
#define OSRF_LOG_H

#include <stddef.h>

#include "osrf_config.h"

#define OSRF_LOG_ERROR      1
#define OSRF_LOG_WARNING    2
#define OSRF_LOG_INFO       3
#define OSRF_LOG_DEBUG      4
#define OSRF_LOG_INTERNAL   5
#define OSRF_LOG_ACTIVITY  -1   /* logged at every loglevel */

#define OSRF_LOG_LINE_MAX   8192    /* longer messages end in "..." */
#define OSRF_LOG_SYSLOG_MAX 1536    /* OpenSRF's own cut for syslog */

/* Where lines go. */
typedef struct {
    int fd;             /* the file, or the syslog socket; -1: none */
    int is_syslog;
    int facility;       /* syslog facility, already shifted (LOG_LOCALn) */
} osrf_log_dest;

typedef struct {
    int on;             /* 0: opensrf_core.xml names no logfile */
    int level;
    osrf_log_dest main;
    osrf_log_dest act;  /* activity: main's file, or its own file / facility */
    int act_shared;     /* act is main (do not close it twice) */
    char appname[128];
    char socket_path[108];
} osrf_log;

/* A log with nothing open, as every osrf_log must start: a zeroed one
 * would name descriptor 0 (the Apache parent's standard input), and
 * closing it would close that. */
#define OSRF_LOG_CLOSED { .main = { .fd = -1 }, .act = { .fd = -1 } }

/* Opens what cfg asks for; appname is the config context.  The syslog
 * socket is syslog_socket (NULL: /dev/log).  0, or -1 with why in err. */
int osrf_log_open(osrf_log *log, const osrf_config *cfg, const char *appname,
                  const char *syslog_socket, char *err, size_t errlen);
void osrf_log_close(osrf_log *log);

/* 1 if a line of this level would be written. */
int osrf_log_wants(const osrf_log *log, int level);

/* Writes one line (escaped); xid may be NULL or "". */
void osrf_log_write(osrf_log *log, int level, const char *file, int line,
                    const char *xid, const char *msg);

/* Copies in to out escaped as above, cut to fit outlen (ending in "..."
 * when cut, never inside an escape or a character); returns the length
 * written. */
size_t osrf_log_escape(const char *in, char *out, size_t outlen);

/* 1 if s is valid UTF-8 holding nothing osrf_log_escape would escape. */
int osrf_log_clean(const char *s);

#endif /* OSRF_LOG_H */
