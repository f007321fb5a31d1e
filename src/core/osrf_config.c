/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_config.c - reads the gateway context of opensrf_core.xml.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "osrf_config.h"

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

int osrf_config_read(const char *file, const char *context, osrf_config *cfg,
                     char *err, size_t errlen)
{
    xmlDoc *doc;
    xmlNode *root, *ctx, *prot, *n;
    char *port, *level;
    int i = 0;

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
    cfg->domain = text_of(ctx, "domain");
    cfg->username = text_of(ctx, "username");
    cfg->passwd = text_of(ctx, "passwd");
    cfg->router_name = text_of(ctx, "router_name");
    port = text_of(ctx, "port");
    cfg->port = port ? atoi(port) : 6379;
    free(port);
    cfg->logfile = text_of(ctx, "logfile");
    cfg->syslog = text_of(ctx, "syslog");
    cfg->actlog = text_of(ctx, "actlog");
    cfg->logtag = text_of(ctx, "logtag");
    level = text_of(ctx, "loglevel");
    cfg->loglevel = level ? atoi(level) : -1;
    free(level);
    if (cfg->router_name == NULL)
        cfg->router_name = strdup("router");
    prot = child(child(root, "shared"), "log_protect");
    for (n = prot ? prot->children : NULL; n && i < OSRF_CONFIG_MAX_PROTECT; n = n->next) {
        xmlChar *t;
        if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, "match_string"))
            continue;
        if ((t = xmlNodeGetContent(n)) != NULL) {
            cfg->log_protect[i++] = strdup((const char *)t);
            xmlFree(t);
        }
    }
    xmlFreeDoc(doc);
    if (cfg->domain == NULL || cfg->username == NULL || cfg->passwd == NULL) {
        snprintf(err, errlen, "%s: <%s> needs domain, username and passwd",
                 file, context);
        osrf_config_free(cfg);
        return -1;
    }
    if (cfg->loglevel > 5 || (cfg->loglevel < 0 && cfg->loglevel != -1)) {
        snprintf(err, errlen, "%s: <%s><loglevel> is not 0 to 5", file, context);
        osrf_config_free(cfg);
        return -1;
    }
    if (cfg->port <= 0 || cfg->port > 65535 || strchr(cfg->domain, ':')
        || strchr(cfg->username, ':') || strchr(cfg->router_name, ':')) {
        snprintf(err, errlen, "%s: <%s> has a bad port, or a ':' in domain, "
                 "username or router_name", file, context);
        osrf_config_free(cfg);
        return -1;
    }
    return 0;
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
