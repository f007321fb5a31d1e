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

size_t osrf_log_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;

    if (outlen == 0)
        return 0;
    for (; in && *in; in++) {
        unsigned char c = (unsigned char)*in;
        int wide = c < 0x20 || c == 0x7f;

        if (n + (wide ? 4 : 1) + 4 > outlen) {      /* room for "...\0" */
            memcpy(out + n, "...", 3);
            n += 3;
            break;
        }
        if (wide) {
            out[n++] = '\\';
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        } else {
            out[n++] = (char)c;
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
