/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_config.h - the gateway's part of opensrf_core.xml:
 * <config><CONTEXT>{domain, port, username, passwd, router_name,
 * logfile, syslog, actlog, loglevel, logtag}
 * and <config><shared><log_protect><match_string>.
 */
#ifndef OSRF_CONFIG_H
#define OSRF_CONFIG_H

#define OSRF_CONFIG_MAX_PROTECT 64

typedef struct {
    char *domain;
    int port;
    char *username;
    char *passwd;
    char *router_name;
    char *logfile;          /* a path, "syslog", or NULL: Apache's error log */
    char *syslog;           /* facility name, e.g. local6 */
    char *actlog;           /* activity: a facility, or a path */
    char *logtag;
    int loglevel;           /* 0-5; -1 when absent */
    char *log_protect[OSRF_CONFIG_MAX_PROTECT + 1];   /* NULL-terminated */
} osrf_config;

/* Reads file for context; 0 on success, else -1 with a message naming the
 * file and the problem in err (never the password). */
int osrf_config_read(const char *file, const char *context, osrf_config *cfg,
                     char *err, size_t errlen);
void osrf_config_free(osrf_config *cfg);

#endif /* OSRF_CONFIG_H */
