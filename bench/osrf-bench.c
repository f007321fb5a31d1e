/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf-bench - a fast OpenSRF router and service for the benchmarks, in C,
 * speaking the Redis bus protocol as real OpenSRF does
 * (docs/PROTOCOL.md sections 4 and 5; the Perl ones in t/osrf are
 * the reference, and too slow to measure a gateway against).
 *
 *   osrf-bench router  --port P [--domain D] [--name router] --pidfile F
 *   osrf-bench service --port P [--domain D] [--workers N] --pidfile F
 *
 * The router logs in as "router", takes registrations (router_command)
 * from trusted server domains and forwards calls from trusted client
 * domains unchanged to opensrf:service:USER:DOMAIN:SERVICE, or answers
 * STATUS 404 "Service Not Found".  The service registers opensrf.math
 * (add, opensrf.system.echo) and opensrf.bench (records: 500 nested
 * fieldmapper-like objects, built once) from a listener address, and its
 * workers answer from their own client address: RESULT and STATUS 205
 * in one bus message, as OpenSRF's respond_complete does.  CONNECT is
 * answered 200 (no session pinning: the bench makes stateless calls).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <json-c/json.h>

#define MAX_INSTANCES 16
#define MAX_SERVICES  16
#define MAX_DOMAINS   4
#define ADDR_MAX      256

static const char *host = "127.0.0.1";
static int port = 6379;
static const char *domains[MAX_DOMAINS];
static int ndomains;
static const char *router_name = "router";
static int workers = 2;
static volatile sig_atomic_t running = 1;

static void on_term(int sig) { (void)sig; running = 0; }

static void die(const char *what, const char *why)
{
    fprintf(stderr, "osrf-bench: %s: %s\n", what, why);
    exit(1);
}

static redisContext *login(const char *user, const char *pw)
{
    redisContext *c = redisConnect(host, port);
    redisReply *r;

    if (c == NULL || c->err)
        die("connect", c ? c->errstr : "no memory");
    r = redisCommand(c, "AUTH %s %s", user, pw);
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        die("AUTH", r ? r->str : c->errstr);
    freeReplyObject(r);
    return c;
}

static void push(redisContext *c, const char *key, const char *msg, size_t len)
{
    redisReply *r = redisCommand(c, "RPUSH %s %b", key, msg, len);

    if (r == NULL)
        die("RPUSH", c->errstr);
    freeReplyObject(r);
}

/* BLPOP over keys for 1 s: the reply (caller frees) or NULL on timeout. */
static redisReply *pop(redisContext *c, int nkeys, const char **keys)
{
    const char *argv[MAX_DOMAINS * 2 + 2];
    redisReply *r;
    int i;

    argv[0] = "BLPOP";
    for (i = 0; i < nkeys; i++)
        argv[1 + i] = keys[i];
    argv[1 + nkeys] = "1";
    r = redisCommandArgv(c, nkeys + 2, argv, NULL);
    if (r == NULL) {
        if (!running)
            return NULL;
        die("BLPOP", c->errstr);
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static const char *str_field(json_object *o, const char *key)
{
    json_object *v;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
           ? json_object_get_string(v) : NULL;
}

/* Field n (0-based) of a colon-separated address, copied into out. */
static int addr_field(const char *addr, int n, char *out, size_t size)
{
    const char *p = addr, *e;

    while (n-- > 0 && (p = strchr(p, ':')) != NULL)
        p++;
    if (p == NULL)
        return -1;
    e = strchr(p, ':');
    if (e == NULL)
        e = p + strlen(p);
    if ((size_t)(e - p) >= size)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

static int trusted(const char *domain)
{
    int i;

    for (i = 0; i < ndomains; i++)
        if (strcmp(domains[i], domain) == 0)
            return 1;
    return 0;
}

/* A JSON string literal of s (with its quotes), into a static buffer. */
static const char *quoted(json_object **holder, const char *s)
{
    json_object_put(*holder);
    *holder = json_object_new_string(s ? s : "");
    return json_object_to_json_string_ext(*holder, JSON_C_TO_STRING_PLAIN);
}

/* --- the router ------------------------------------------------------------- */

typedef struct {
    char name[128];
    char instance[MAX_INSTANCES][ADDR_MAX];
    int n, next;
} service_entry;

static service_entry services[MAX_SERVICES];
static int nservices;

static service_entry *service_find(const char *name, int create)
{
    int i;

    for (i = 0; i < nservices; i++)
        if (strcmp(services[i].name, name) == 0)
            return &services[i];
    if (!create || nservices == MAX_SERVICES || strlen(name) >= sizeof(services[0].name))
        return NULL;
    snprintf(services[nservices].name, sizeof(services[0].name), "%s", name);
    return &services[nservices++];
}

static void router_command(const char *cmd, const char *class, const char *from)
{
    service_entry *s = service_find(class, strcmp(cmd, "register") == 0);
    int i;

    if (s == NULL || strlen(from) >= ADDR_MAX)
        return;
    for (i = 0; i < s->n; i++)
        if (strcmp(s->instance[i], from) == 0)
            break;
    if (strcmp(cmd, "register") == 0 && i == s->n && s->n < MAX_INSTANCES)
        strcpy(s->instance[s->n++], from);
    else if (strcmp(cmd, "unregister") == 0 && i < s->n)
        memcpy(s->instance[i], s->instance[--s->n], ADDR_MAX);
}

/* A bus message from addr back to from, on req's thread, holding body. */
static void reply(redisContext *c, const char *addr, json_object *req, const char *from,
                  const char *body)
{
    json_object *q1 = NULL, *q2 = NULL, *q3 = NULL, *q4 = NULL;
    char *msg = NULL;
    int len = asprintf(&msg, "{\"to\":%s,\"from\":%s,\"thread\":%s,\"osrf_xid\":%s,"
                       "\"body\":[%s]}", quoted(&q1, from), quoted(&q2, addr),
                       quoted(&q3, str_field(req, "thread")),
                       quoted(&q4, str_field(req, "osrf_xid")), body);

    if (len > 0)
        push(c, from, msg, (size_t)len);
    free(msg);
    json_object_put(q1);
    json_object_put(q2);
    json_object_put(q3);
    json_object_put(q4);
}

/* The router's answer for a service nobody registered. */
static void not_found(redisContext *c, const char *key, json_object *m, const char *from)
{
    reply(c, key, m, from,
          "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\",\"type\":\"STATUS\","
          "\"locale\":\"en-US\",\"payload\":{\"__c\":\"osrfServiceException\",\"__p\":"
          "{\"status\":\"Service Not Found\",\"statusCode\":\"404\"}}}}");
}

static void run_router(void)
{
    redisContext *c = login("router", "router-pw");
    char keys[MAX_DOMAINS][ADDR_MAX];
    const char *keyp[MAX_DOMAINS];
    int i;

    for (i = 0; i < ndomains; i++) {
        snprintf(keys[i], ADDR_MAX, "opensrf:router:%s:%s", router_name, domains[i]);
        keyp[i] = keys[i];
    }
    while (running) {
        redisReply *r = pop(c, ndomains, keyp);
        json_object *m;
        const char *from, *to, *cmd, *class;
        char domain[64], user[64], tdomain[64], target[ADDR_MAX + 256];
        service_entry *s;

        if (r == NULL)
            continue;
        m = json_tokener_parse(r->element[1]->str);
        from = m ? str_field(m, "from") : NULL;
        if (from == NULL || addr_field(from, 3, domain, sizeof(domain)) < 0) {
            fprintf(stderr, "osrf-bench router: dropping an unreadable message\n");
        } else if ((cmd = str_field(m, "router_command")) != NULL) {
            if (trusted(domain) && (class = str_field(m, "router_class")) != NULL)
                router_command(cmd, class, from);
        } else if (trusted(domain) && (to = str_field(m, "to")) != NULL
                   && strncmp(to, "opensrf:service:_:_:", 20) == 0) {
            s = service_find(to + 20, 0);
            if (s == NULL || s->n == 0) {
                not_found(c, r->element[0]->str, m, from);
            } else {
                const char *inst = s->instance[s->next++ % s->n];

                if (addr_field(inst, 2, user, sizeof(user)) == 0
                    && addr_field(inst, 3, tdomain, sizeof(tdomain)) == 0) {
                    snprintf(target, sizeof(target), "opensrf:service:%s:%s:%s",
                             user, tdomain, s->name);
                    /* forwarded unchanged: the worker answers the sender */
                    push(c, target, r->element[1]->str, r->element[1]->len);
                }
            }
        }
        json_object_put(m);
        freeReplyObject(r);
    }
    redisFree(c);
}

/* --- the service ------------------------------------------------------------ */

static char *records_json;      /* the opensrf.bench records result */

/* 500 records shaped like Evergreen's fieldmapper objects (class hint +
 * positional array, many nulls, nested copies and their locations):
 * repetitive, as real results are, but not one string repeated. */
static void build_records(void)
{
    json_object *list = json_object_new_array();
    unsigned seed = 42;
    int i, j;

    for (i = 0; i < 500; i++) {
        json_object *bre = json_object_new_object(), *p = json_object_new_array();
        json_object *copies = json_object_new_array();
        char buf[160];

        json_object_array_add(p, json_object_new_int(100000 + i));
        snprintf(buf, sizeof(buf), "The collected works, volume %d / edited by A. Person %u",
                 i, (seed = seed * 1103515245u + 12345u) % 997);
        json_object_array_add(p, json_object_new_string(buf));
        snprintf(buf, sizeof(buf), "978%010u", (seed = seed * 1103515245u + 12345u) % 1000000000u);
        json_object_array_add(p, json_object_new_string(buf));
        json_object_array_add(p, json_object_new_string("2024-03-15T10:22:31-0400"));
        json_object_array_add(p, json_object_new_string("t"));
        json_object_array_add(p, NULL);
        json_object_array_add(p, json_object_new_int(1));
        json_object_array_add(p, NULL);
        for (j = 0; j < 3; j++) {
            json_object *acp = json_object_new_object(), *cp = json_object_new_array();
            json_object *acpl = json_object_new_object(), *lp = json_object_new_array();

            snprintf(buf, sizeof(buf), "3%013u", (seed = seed * 1103515245u + 12345u) % 1000000000u);
            json_object_array_add(cp, json_object_new_string(buf));
            json_object_array_add(cp, json_object_new_int(4000000 + i * 3 + j));
            snprintf(buf, sizeof(buf), "%d.%02u", 12 + j, seed % 100);
            json_object_array_add(cp, json_object_new_string(buf));
            json_object_array_add(cp, json_object_new_int(0));
            json_object_array_add(cp, json_object_new_string("f"));
            json_object_array_add(cp, NULL);
            json_object_array_add(cp, json_object_new_string("2023-11-02T08:00:00-0400"));
            json_object_array_add(lp, json_object_new_int(100 + (int)(seed % 12)));
            json_object_array_add(lp, json_object_new_string("Stacks"));
            json_object_array_add(lp, json_object_new_string("t"));
            json_object_array_add(lp, NULL);
            json_object_object_add(acpl, "__c", json_object_new_string("acpl"));
            json_object_object_add(acpl, "__p", lp);
            json_object_array_add(cp, acpl);
            json_object_object_add(acp, "__c", json_object_new_string("acp"));
            json_object_object_add(acp, "__p", cp);
            json_object_array_add(copies, acp);
        }
        json_object_array_add(p, copies);
        json_object_object_add(bre, "__c", json_object_new_string("bre"));
        json_object_object_add(bre, "__p", p);
        json_object_array_add(list, bre);
    }
    records_json = strdup(json_object_to_json_string_ext(list, JSON_C_TO_STRING_PLAIN));
    json_object_put(list);
}

/* The content of a REQUEST's answer (malloc'd JSON), or NULL when the
 * method is unknown. */
static char *call(const char *service, const char *method, json_object *params)
{
    char *out = NULL;

    if (strcmp(method, "opensrf.system.echo") == 0) {
        json_object *first = json_object_array_get_idx(params, 0);

        return strdup(first ? json_object_to_json_string_ext(first, JSON_C_TO_STRING_PLAIN)
                            : "null");
    }
    if (strcmp(service, "opensrf.math") == 0 && strcmp(method, "add") == 0) {
        double a = json_object_get_double(json_object_array_get_idx(params, 0));
        double b = json_object_get_double(json_object_array_get_idx(params, 1));

        if (asprintf(&out, "%.15g", a + b) < 0)
            return NULL;
        return out;
    }
    if (strcmp(service, "opensrf.bench") == 0 && strcmp(method, "records") == 0)
        return strdup(records_json);
    return NULL;
}

#define STATUS_MSG "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":%s,\"type\":" \
    "\"STATUS\",\"locale\":\"en-US\",\"payload\":{\"__c\":\"%s\",\"__p\":{\"status\":" \
    "\"%s\",\"statusCode\":%d}}}}"

/* Answers each osrfMessage of one bus message. */
static void handle(redisContext *c, const char *service, const char *addr, json_object *req)
{
    json_object *body = NULL, *own = NULL, *q = NULL;
    const char *from = str_field(req, "from");
    size_t i, n;

    if (from == NULL || !json_object_object_get_ex(req, "body", &body))
        return;
    if (json_object_is_type(body, json_type_string))
        body = own = json_tokener_parse(json_object_get_string(body));
    n = json_object_is_type(body, json_type_array) ? json_object_array_length(body) : 0;
    for (i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(body, i), *p, *tt, *pl, *pp, *par;
        const char *type, *trace, *method;
        char *content, *out = NULL;

        if (!json_object_object_get_ex(m, "__p", &p) || (type = str_field(p, "type")) == NULL)
            continue;
        trace = json_object_object_get_ex(p, "threadTrace", &tt)
                ? quoted(&q, json_object_get_string(tt)) : "\"0\"";
        if (strcmp(type, "CONNECT") == 0) {
            if (asprintf(&out, STATUS_MSG, trace, "osrfConnectStatus",
                         "Connection Successful", 200) > 0)
                reply(c, addr, req, from, out);
        } else if (strcmp(type, "REQUEST") == 0
                   && json_object_object_get_ex(p, "payload", &pl)
                   && json_object_object_get_ex(pl, "__p", &pp)
                   && (method = str_field(pp, "method")) != NULL) {
            if (!json_object_object_get_ex(pp, "params", &par))
                par = NULL;
            content = call(service, method, par);
            if (content == NULL) {
                if (asprintf(&out, STATUS_MSG, trace, "osrfMethodException",
                             "Method not found", 404) > 0)
                    reply(c, addr, req, from, out);
            } else if (asprintf(&out, "{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":%s,"
                                "\"type\":\"RESULT\",\"locale\":\"en-US\",\"payload\":{\"__c\":"
                                "\"osrfResult\",\"__p\":{\"status\":\"OK\",\"statusCode\":200,"
                                "\"content\":%s}}}}," STATUS_MSG, trace, content, trace,
                                "osrfConnectStatus", "Request Complete", 205) > 0) {
                reply(c, addr, req, from, out);
            }
            free(content);
        }
        free(out);
    }
    json_object_put(q);
    json_object_put(own);
}

static void new_address(char *out, const char *user, const char *domain)
{
    char hostname[64];

    gethostname(hostname, sizeof(hostname));
    hostname[sizeof(hostname) - 1] = '\0';
    for (char *p = hostname; *p; p++)
        if (*p == ':')
            *p = '_';
    snprintf(out, ADDR_MAX, "opensrf:client:%s:%s:%s:%ld:%08lx", user, domain, hostname,
             (long)getpid(), (unsigned long)random());
}

static void worker(void)
{
    redisContext *c = login("opensrf", "opensrf-pw");
    char queues[MAX_DOMAINS * 2][ADDR_MAX], addr[ADDR_MAX];
    const char *keyp[MAX_DOMAINS * 2];
    static const char *names[] = { "opensrf.math", "opensrf.bench" };
    int i, nq = 0;

    srandom((unsigned)getpid());
    new_address(addr, "opensrf", domains[0]);
    for (i = 0; i < ndomains; i++)
        for (int s = 0; s < 2 && nq < MAX_DOMAINS * 2; s++) {
            snprintf(queues[nq], ADDR_MAX, "opensrf:service:opensrf:%s:%s", domains[i],
                     names[s]);
            keyp[nq] = queues[nq];
            nq++;
        }
    while (running) {
        redisReply *r = pop(c, nq, keyp);
        json_object *m;

        if (r == NULL)
            continue;
        m = json_tokener_parse(r->element[1]->str);
        if (m)
            handle(c, strrchr(r->element[0]->str, ':') + 1, addr, m);
        json_object_put(m);
        freeReplyObject(r);
    }
    redisFree(c);
}

static void registration(redisContext *c, const char *cmd, char addrs[][ADDR_MAX])
{
    static const char *names[] = { "opensrf.math", "opensrf.bench" };
    char key[ADDR_MAX], msg[1024];
    int i, s, len;

    for (i = 0; i < ndomains; i++)
        for (s = 0; s < 2; s++) {
            snprintf(key, sizeof(key), "opensrf:router:%s:%s", router_name, domains[i]);
            len = snprintf(msg, sizeof(msg), "{\"to\":\"%s\",\"from\":\"%s\",\"thread\":\"\","
                           "\"router_command\":\"%s\",\"router_class\":\"%s\",\"body\":\"[]\"}",
                           key, addrs[i], cmd, names[s]);
            push(c, key, msg, (size_t)len);
        }
}

static void run_service(void)
{
    pid_t kids[64];
    char addrs[MAX_DOMAINS][ADDR_MAX];
    redisContext *c;
    int i, n = workers < 64 ? workers : 64;

    build_records();        /* before fork: the workers share its pages */
    for (i = 0; i < n; i++) {
        if ((kids[i] = fork()) == 0) {
            worker();
            _exit(0);
        }
    }
    c = login("opensrf", "opensrf-pw");
    srandom((unsigned)getpid());
    for (i = 0; i < ndomains; i++)
        new_address(addrs[i], "opensrf", domains[i]);
    registration(c, "register", addrs);
    while (running)
        pause();
    registration(c, "unregister", addrs);
    for (i = 0; i < n; i++)
        kill(kids[i], SIGTERM);
    for (i = 0; i < n; i++)
        waitpid(kids[i], NULL, 0);
    redisFree(c);
}

int main(int argc, char **argv)
{
    const char *pidfile = NULL;
    struct sigaction sa;
    int i;

    if (argc < 2)
        die("usage", "osrf-bench router|service --port P [--domain D] [--workers N]"
            " [--name R] [--pidfile F]");
    for (i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--domain") == 0 && ndomains < MAX_DOMAINS)
            domains[ndomains++] = argv[i + 1];
        else if (strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--name") == 0)
            router_name = argv[i + 1];
        else if (strcmp(argv[i], "--pidfile") == 0)
            pidfile = argv[i + 1];
        else
            die("unknown option", argv[i]);
    }
    if (ndomains == 0)
        domains[ndomains++] = "localhost";
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;        /* no SA_RESTART: BLPOP returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");

        if (f == NULL)
            die(pidfile, strerror(errno));
        fprintf(f, "%ld\n", (long)getpid());
        fclose(f);
    }
    if (strcmp(argv[1], "router") == 0)
        run_router();
    else if (strcmp(argv[1], "service") == 0)
        run_service();
    else
        die("unknown role", argv[1]);
    if (pidfile && strcmp(argv[1], "router") == 0)
        unlink(pidfile);
    return 0;
}
