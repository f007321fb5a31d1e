/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_log.c - OpenSRF-style log lines to a file or syslog.  See osrf_log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "osrf_log.h"

/* "local3" (any case) -> LOG_LOCAL3; anything else LOG_LOCAL0, as OpenSRF. */
static int facility_of(const char *name)
{
    static const int local[] = { LOG_LOCAL0, LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3,
                                 LOG_LOCAL4, LOG_LOCAL5, LOG_LOCAL6, LOG_LOCAL7 };

    if (name && strlen(name) >= 6 && name[5] >= '0' && name[5] <= '7')
        return local[name[5] - '0'];
    return LOG_LOCAL0;
}

static int open_file(osrf_log_dest *d, const char *path, char *err, size_t errlen)
{
    d->is_syslog = 0;
    d->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (d->fd < 0) {
        snprintf(err, errlen, "cannot open the log file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* An unconnected datagram socket: each line is sent to the path, so a
 * syslog daemon that starts (or restarts) later still gets the next
 * line, and no thread ever has to reconnect (no lock). */
static void open_syslog(osrf_log_dest *d, const char *facility)
{
    d->is_syslog = 1;
    d->facility = facility_of(facility);
    d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static void send_syslog(const osrf_log *log, const osrf_log_dest *d,
                        const char *line, size_t n)
{
    struct sockaddr_un addr;

    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    memcpy(addr.sun_path, log->socket_path, sizeof(log->socket_path));
    if (d->fd >= 0)
        (void)!sendto(d->fd, line, n, MSG_NOSIGNAL | MSG_DONTWAIT,
                      (const struct sockaddr *)&addr, sizeof(addr));
}

int osrf_log_open(osrf_log *log, const osrf_config *cfg, const char *appname,
                  const char *syslog_socket, char *err, size_t errlen)
{
    memset(log, 0, sizeof(*log));
    log->main.fd = log->act.fd = -1;
    if (cfg->logfile == NULL)
        return 0;
    log->level = cfg->loglevel >= 0 ? cfg->loglevel : OSRF_LOG_INFO;
    snprintf(log->appname, sizeof(log->appname), "%s%s%s", appname,
             cfg->logtag ? "/" : "", cfg->logtag ? cfg->logtag : "");
    snprintf(log->socket_path, sizeof(log->socket_path), "%s",
             syslog_socket ? syslog_socket : "/dev/log");
    if (strcmp(cfg->logfile, "syslog") == 0) {
        open_syslog(&log->main, cfg->syslog);
        open_syslog(&log->act, cfg->actlog ? cfg->actlog : "local1");
        log->on = 1;
        return 0;
    }
    if (open_file(&log->main, cfg->logfile, err, errlen) < 0)
        return -1;
    if (cfg->actlog && strchr(cfg->actlog, '/')) {
        if (open_file(&log->act, cfg->actlog, err, errlen) < 0) {
            osrf_log_close(log);
            return -1;
        }
    } else {
        log->act = log->main;
        log->act_shared = 1;
    }
    log->on = 1;
    return 0;
}

void osrf_log_close(osrf_log *log)
{
    if (log->main.fd >= 0)
        close(log->main.fd);
    if (!log->act_shared && log->act.fd >= 0)
        close(log->act.fd);
    log->main.fd = log->act.fd = -1;
    log->on = 0;
}

int osrf_log_wants(const osrf_log *log, int level)
{
    return log->on && level <= log->level;
}

/* How a character is written. */
typedef enum {
    AS_IS,          /* copied */
    AS_BYTE,        /* \xNN: a C0 control, DEL, a byte that is not UTF-8 */
    AS_CODE         /* \u{XXXX}: a C1 control, U+2028 or U+2029 */
} escape_kind;

/* The UTF-8 character at p: its length, 0 if p is not one (a stray
 * continuation byte, an overlong form, a surrogate, past U+10FFFF). */
static size_t utf8_char(const unsigned char *p, unsigned *cp)
{
    size_t n, i;
    unsigned min;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, *cp = p[0] & 0x1f, min = 0x80;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, *cp = p[0] & 0x0f, min = 0x800;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, *cp = p[0] & 0x07, min = 0x10000;
    else
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)      /* the terminating NUL stops here too */
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

/* Line-splitting readers (syslog, less, editors, log shippers) break
 * lines at NEL and at U+2028/U+2029 as well as at \n, and terminals obey
 * C1 controls (CSI), so all of them are escaped, not only ASCII's. */
static escape_kind classify(const unsigned char *p, size_t *len, unsigned *cp)
{
    *len = 1;
    *cp = p[0];
    if (p[0] < 0x20 || p[0] == 0x7f)
        return AS_BYTE;
    if (p[0] < 0x80)
        return AS_IS;
    if ((*len = utf8_char(p, cp)) == 0) {
        *len = 1;
        *cp = p[0];
        return AS_BYTE;
    }
    return (*cp >= 0x80 && *cp <= 0x9f) || *cp == 0x2028 || *cp == 0x2029
           ? AS_CODE : AS_IS;
}

int osrf_log_clean(const char *s)
{
    size_t len;
    unsigned cp;

    for (; *s; s += len)
        if (classify((const unsigned char *)s, &len, &cp) != AS_IS)
            return 0;
    return 1;
}

size_t osrf_log_escape(const char *in, char *out, size_t outlen)
{
    size_t n = 0, len, wide;
    unsigned cp;

    if (outlen == 0)
        return 0;
    for (; in && *in; in += len) {
        escape_kind kind = classify((const unsigned char *)in, &len, &cp);

        wide = kind == AS_BYTE ? 4 : kind == AS_CODE ? 8 : len;
        if (n + wide + 4 > outlen) {                /* room for "...\0" */
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (kind == AS_BYTE)
            n += (size_t)snprintf(out + n, 5, "\\x%02x", cp);
        else if (kind == AS_CODE)
            n += (size_t)snprintf(out + n, 9, "\\u{%04x}", cp);
        else {
            memcpy(out + n, in, len);
            n += len;
        }
    }
    out[n] = '\0';
    return n;
}

static const char *label_of(int level, int *severity)
{
    switch (level) {
    case OSRF_LOG_ERROR:    *severity = LOG_ERR; return "ERR ";
    case OSRF_LOG_WARNING:  *severity = LOG_WARNING; return "WARN";
    case OSRF_LOG_DEBUG:    *severity = LOG_DEBUG; return "DEBG";
    case OSRF_LOG_INTERNAL: *severity = LOG_DEBUG; return "INT ";
    case OSRF_LOG_ACTIVITY: *severity = LOG_INFO; return "ACT";
    default:                *severity = LOG_INFO; return "INFO";
    }
}

/* The message is escaped straight into the line: one buffer, not two.  A
 * line is written from deep in a connection's stack, and every page of
 * stack it touches stays that prefork child's own. */
void osrf_log_write(osrf_log *log, int level, const char *file, int line,
                    const char *xid, const char *msg)
{
    osrf_log_dest *d = level == OSRF_LOG_ACTIVITY ? &log->act : &log->main;
    char out[OSRF_LOG_LINE_MAX + 512], safe_xid[2 * 64], stamp[32];
    size_t cap = d->is_syslog ? OSRF_LOG_SYSLOG_MAX : OSRF_LOG_LINE_MAX;
    int severity, n;
    const char *label = label_of(level, &severity);
    time_t now = time(NULL);
    struct tm tm;

    if (!osrf_log_wants(log, level))
        return;
    osrf_log_escape(xid ? xid : "", safe_xid, sizeof(safe_xid));
    localtime_r(&now, &tm);
    if (d->is_syslog) {
        strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
        n = snprintf(out, sizeof(out), "<%d>%s %s: [%s:%ld:%s:%d:%s] ",
                     d->facility | severity, stamp, log->appname, label,
                     (long)getpid(), file, line, safe_xid);
    } else {
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
        n = snprintf(out, sizeof(out), "%s %s [%s:%ld:%s:%d:%s] ", log->appname, stamp,
                     label, (long)getpid(), file, line, safe_xid);
    }
    if (n <= 0 || (size_t)n + 8 > sizeof(out))
        return;
    if (cap > sizeof(out) - (size_t)n - 1)     /* room for the newline */
        cap = sizeof(out) - (size_t)n - 1;
    n += (int)osrf_log_escape(msg, out + n, cap);
    if (d->is_syslog) {
        send_syslog(log, d, out, (size_t)n);
        return;
    }
    out[n++] = '\n';
    if (d->fd >= 0)
        (void)!write(d->fd, out, (size_t)n);
}
