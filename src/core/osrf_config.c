/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_config.c - reads the gateway context of opensrf_core.xml.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "osrf_config.h"
#include "ws_number.h"

static xmlNode *child(xmlNode *parent, const char *name)
{
    xmlNode *n;

    for (n = parent ? parent->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

/* The trimmed text of <name> under parent, malloc'd; NULL if absent/empty. */
static char *text_of(xmlNode *parent, const char *name)
{
    xmlNode *n = child(parent, name);
    xmlChar *t;
    char *s, *start, *end;

    if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
        return NULL;
    for (start = (char *)t; *start == ' ' || *start == '\n' || *start == '\t'; start++)
        ;
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t'))
        end--;
    s = end > start ? strndup(start, (size_t)(end - start)) : NULL;
    xmlFree(t);
    return s;
}

/* A number of <name> under ctx within [min, max]: fallback if absent,
 * -1 (with why in err) if not a plain number in range: a typo is refused,
 * not read as its digits or as 0. */
static int number_of(xmlNode *ctx, const char *name, int64_t min, int64_t max,
                     int64_t *out, const char *file, const char *context,
                     char *err, size_t errlen)
{
    char *text = text_of(ctx, name);
    int good = text == NULL || ws_parse_number(text, WS_NUMBER_PLAIN, min, max, out);

    if (!good)
        snprintf(err, errlen, "%s: <%s><%s> is not a number from %" PRId64 " to %" PRId64,
                 file, context, name, min, max);
    free(text);
    return good ? 0 : -1;
}

/* <shared><log_protect><match_string>s, at most OSRF_CONFIG_MAX_PROTECT. */
static void read_log_protect(xmlNode *root, osrf_config *cfg)
{
    xmlNode *prot = child(child(root, "shared"), "log_protect"), *n;
    int i = 0;

    for (n = prot ? prot->children : NULL; n && i < OSRF_CONFIG_MAX_PROTECT; n = n->next) {
        xmlChar *t;
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "match_string"))
            continue;
        if ((t = xmlNodeGetContent(n)) != NULL) {
            cfg->log_protect[i++] = strdup((const char *)t);
            xmlFree(t);
        }
    }
}

/* The context's own elements; -1 with why in err. */
static int read_context(xmlNode *ctx, osrf_config *cfg, const char *file,
                        const char *context, char *err, size_t errlen)
{
    int64_t port = 6379, level = -1;

    cfg->domain = text_of(ctx, "domain");
    cfg->username = text_of(ctx, "username");
    cfg->passwd = text_of(ctx, "passwd");
    cfg->router_name = text_of(ctx, "router_name");
    cfg->logfile = text_of(ctx, "logfile");
    cfg->syslog = text_of(ctx, "syslog");
    cfg->actlog = text_of(ctx, "actlog");
    cfg->logtag = text_of(ctx, "logtag");
    if (cfg->router_name == NULL)
        cfg->router_name = strdup("router");
    if (number_of(ctx, "port", 1, 65535, &port, file, context, err, errlen) < 0
        || number_of(ctx, "loglevel", 0, 5, &level, file, context, err, errlen) < 0)
        return -1;
    cfg->port = (int)port;
    cfg->loglevel = (int)level;
    if (cfg->domain == NULL || cfg->username == NULL || cfg->passwd == NULL) {
        snprintf(err, errlen, "%s: <%s> needs domain, username and passwd",
                 file, context);
        return -1;
    }
    if (strchr(cfg->domain, ':') || strchr(cfg->username, ':')
        || strchr(cfg->router_name, ':')) {
        snprintf(err, errlen, "%s: <%s> has a ':' in domain, username or "
                 "router_name", file, context);
        return -1;
    }
    return 0;
}

int osrf_config_read(const char *file, const char *context, osrf_config *cfg,
                     char *err, size_t errlen)
{
    xmlDoc *doc;
    xmlNode *root, *ctx;
    int rc;

    memset(cfg, 0, sizeof(*cfg));
    doc = xmlReadFile(file, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR
                                  | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlGetLastError();
        snprintf(err, errlen, "%s: cannot read it as XML: %s", file,
                 e && e->message ? e->message : "missing or unreadable");
        return -1;
    }
    root = xmlDocGetRootElement(doc);
    ctx = root && strcmp((const char *)root->name, "config") == 0
          ? child(root, context) : NULL;
    if (ctx == NULL) {
        snprintf(err, errlen, "%s: no <config><%s> section", file, context);
        xmlFreeDoc(doc);
        return -1;
    }
    rc = read_context(ctx, cfg, file, context, err, errlen);
    if (rc == 0)
        read_log_protect(root, cfg);
    xmlFreeDoc(doc);
    if (rc < 0)
        osrf_config_free(cfg);
    return rc;
}

void osrf_config_free(osrf_config *cfg)
{
    int i;

    free(cfg->domain);
    free(cfg->username);
    free(cfg->passwd);
    free(cfg->router_name);
    free(cfg->logfile);
    free(cfg->syslog);
    free(cfg->actlog);
    free(cfg->logtag);
    for (i = 0; cfg->log_protect[i]; i++)
        free(cfg->log_protect[i]);
    memset(cfg, 0, sizeof(*cfg));
}
