/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * loadgen - the benchmarks' load generator: many OpenSRF client
 * connections in one epoll loop, either WebSocket connections to the
 * gateway (frames as opensrf.js sends them, optionally over TLS and with
 * permessage-deflate) or, for the floor, the same calls made straight on
 * the Redis bus (RPUSH to the router, BLPOP on an own client address),
 * through the same router and service.
 *
 * Framing, masking, the frame reader and inflate are the project's codec
 * (libwscodec); RESP is hiredis's reader.  One JSON line of results goes
 * to stdout; its own CPU time is in it (client_cpu_ms_per_1000), so the
 * bench can show the client is not the bottleneck.
 *
 * Modes:
 *   run   C persistent connections with D requests in flight each, for
 *         --seconds S or --requests R per connection (--gap-ms between a
 *         connection's requests; the first call of each is a warm-up);
 *   new   --count N connections, --concurrency K at a time (--gap-ms
 *         between starts): each connects, makes one call and closes;
 *         latency is from connect() to its reply (--keep-open: all stay
 *         open until the last has its reply, as after a restart);
 *   hold  C connections make one call each, stay open and idle; prints
 *         {"phase":"ready"} and waits for a line on stdin; then every one
 *         makes a call at once; prints the results; with --spread-s S,
 *         on the next line every one calls again, spread over S seconds;
 *         then waits for EOF.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ws_codec.h"
#include "ws_deflate.h"

enum { MODE_RUN, MODE_NEW, MODE_HOLD };
enum { ST_CONNECTING, ST_TLS, ST_HANDSHAKE, ST_AUTH, ST_OPEN, ST_DONE };

typedef struct conn conn;
struct conn {
    int fd, id, state, inflight, sent, done_calls, planned;
    SSL *ssl;
    ws_reader *reader;
    ws_pmd *pmd;
    ws_buffer inflated;
    redisReader *resp;
    char *out;                  /* bytes waiting to be written */
    size_t out_len, out_cap;
    char hs[4096];              /* the HTTP response being read */
    size_t hs_len;
    double started;             /* connect() time (mode new) */
    double next_at;             /* when the next request may go (gap) */
    double *sent_at;            /* per in-flight slot */
    unsigned *slot_seq;
    char addr[128];             /* bus: own client address */
    int want_write;
};

/* Options. */
static int mode = MODE_RUN, conns = 1, depth = 1, requests = 0, count = 1, concurrency = 1;
static double seconds = 0, gap_ms = 0, spread_s = 0;
static int use_bus, use_tls, use_deflate, records, quiet_errors, keep_open;
static const char *host = "127.0.0.1", *path = "/osrf-websocket-translator";
static int port;
static const char *dump_file;
static const char *cpu_labels[8];
static int cpu_pids[8], ncpu;

/* State. */
static int ep;
static conn **all;
static SSL_CTX *tls;
static double *lat;
static size_t nlat, cap_lat;
static long completed, errors, measured_done, tx_bytes, rx_bytes;
static int measuring, open_conns, closed_conns, started_conns;
static double t_start, t_end, deadline;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void record(double us)
{
    if (nlat == cap_lat) {
        cap_lat = cap_lat ? cap_lat * 2 : 65536;
        if ((lat = realloc(lat, cap_lat * sizeof(*lat))) == NULL)
            fail("realloc");
    }
    lat[nlat++] = us;
}

static void out_append(conn *c, const void *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        c->out_cap = (c->out_len + n) * 2;
        if ((c->out = realloc(c->out, c->out_cap)) == NULL)
            fail("realloc");
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void watch(conn *c, int want_write)
{
    struct epoll_event ev = { EPOLLIN | (want_write ? EPOLLOUT : 0), { .ptr = c } };

    if (want_write != c->want_write) {
        c->want_write = want_write;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

/* --- raw I/O (plain or TLS) ------------------------------------------------ */

/* What an SSL_read or SSL_write returned, as io_read and io_write say. */
static ssize_t ssl_result(conn *c, int r)
{
    int e;

    if (r > 0)
        return r;
    e = SSL_get_error(c->ssl, r);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* >0 bytes, 0 would block, -1 closed or failed. */
static ssize_t io_read(conn *c, void *buf, size_t n)
{
    if (c->ssl)
        return ssl_result(c, SSL_read(c->ssl, buf, (int)n));
    ssize_t r = read(c->fd, buf, n);

    if (r > 0)
        return r;
    return r < 0 && errno == EAGAIN ? 0 : -1;
}

static ssize_t io_write(conn *c, const void *buf, size_t n)
{
    if (c->ssl)
        return ssl_result(c, SSL_write(c->ssl, buf, (int)n));
    ssize_t r = write(c->fd, buf, n);

    if (r >= 0)
        return r;
    return errno == EAGAIN ? 0 : -1;
}

static void conn_close(conn *c, int failed);

static void flush(conn *c)
{
    while (c->out_len > 0) {
        ssize_t w = io_write(c, c->out, c->out_len);

        if (w < 0) {
            conn_close(c, 1);
            return;
        }
        if (w == 0)
            break;
        tx_bytes += w;
        memmove(c->out, c->out + w, c->out_len - (size_t)w);
        c->out_len -= (size_t)w;
    }
    watch(c, c->out_len > 0 || c->state == ST_CONNECTING);
}

/* --- requests ------------------------------------------------------------- */

/* The osrfMessage array of a call: add(seq, id), or opensrf.bench records. */
static int osrf_msg(char *buf, size_t size, unsigned seq, int id)
{
    if (records)
        return snprintf(buf, size, "[{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\","
                        "\"type\":\"REQUEST\",\"locale\":\"en-US\",\"tz\":\"UTC\",\"api_level\":1,"
                        "\"payload\":{\"__c\":\"osrfMethod\",\"__p\":{\"method\":\"records\","
                        "\"params\":[]}}}}]");
    return snprintf(buf, size, "[{\"__c\":\"osrfMessage\",\"__p\":{\"threadTrace\":\"1\","
                    "\"type\":\"REQUEST\",\"locale\":\"en-US\",\"tz\":\"UTC\",\"api_level\":1,"
                    "\"payload\":{\"__c\":\"osrfMethod\",\"__p\":{\"method\":\"add\","
                    "\"params\":[%u,%d]}}}}]", seq, id);
}

static const char *service(void) { return records ? "opensrf.bench" : "opensrf.math"; }

static void ws_send_frame(conn *c, unsigned opcode, const char *data, size_t len)
{
    unsigned char hdr[WS_MAX_HEADER_SIZE], mask[4];
    uint32_t r = (uint32_t)random();
    size_t h, at;

    memcpy(mask, &r, 4);
    h = ws_frame_header(hdr, WS_FIN, opcode, len, mask);
    out_append(c, hdr, h);
    at = c->out_len;
    out_append(c, data, len);
    ws_mask((unsigned char *)c->out + at, len, mask, 0);
}

static void send_request(conn *c)
{
    char msg[1024], body[2048];
    int slot, n, m;
    unsigned seq = (unsigned)c->sent++;

    for (slot = 0; slot < depth && c->slot_seq[slot] != 0; slot++)
        ;
    c->slot_seq[slot] = seq + 1;
    c->sent_at[slot] = now();
    c->inflight++;
    n = osrf_msg(msg, sizeof(msg), seq, c->id);
    if (use_bus) {
        m = snprintf(body, sizeof(body), "{\"to\":\"opensrf:service:_:_:%s\",\"from\":\"%s\","
                     "\"thread\":\"bench.%d.%d.%u\",\"osrf_xid\":\"bench%u\",\"body\":%.*s}",
                     service(), c->addr, c->id, slot, seq, seq, n, msg);
        char *cmd;
        int len = redisFormatCommand(&cmd, "RPUSH opensrf:router:router:localhost %b",
                                     body, (size_t)m);
        out_append(c, cmd, (size_t)len);
        redisFreeCommand(cmd);
        /* the first request in flight starts the BLPOP that collects them */
        if (c->inflight == 1) {
            len = redisFormatCommand(&cmd, "BLPOP %s 0", c->addr);
            out_append(c, cmd, (size_t)len);
            redisFreeCommand(cmd);
        }
    } else {
        m = snprintf(body, sizeof(body), "{\"service\":\"%s\",\"thread\":\"bench.%d.%d.%u\","
                     "\"osrf_msg\":%.*s}", service(), c->id, slot, seq, n, msg);
        ws_send_frame(c, WS_OP_TEXT, body, (size_t)m);
    }
}

/* May this connection send another request now? */
static int wants_more(conn *c, double t)
{
    if (c->state != ST_OPEN || c->inflight >= depth)
        return 0;
    if (mode == MODE_NEW)
        return c->sent == 0;
    if (mode == MODE_HOLD)
        return c->sent < c->planned && t >= c->next_at;
    if (c->sent == 0)
        return 1;                       /* the warm-up call */
    if (!measuring)
        return 0;
    if (requests && c->sent >= requests + 1)
        return 0;
    if (seconds && t >= deadline)
        return 0;
    return t >= c->next_at;
}

static void pump(conn *c)
{
    double t = now();

    while (wants_more(c, t)) {
        send_request(c);
        if (gap_ms > 0)
            c->next_at = t + gap_ms / 1000;
    }
    flush(c);
}

/* A reply frame or bus message: find its request, check it, time it. */
static void on_reply(conn *c, const char *data, size_t len)
{
    char prefix[64];
    const char *p = memmem(data, len, "\"thread\":\"bench.", 16);
    int id, slot, ok;
    unsigned seq;
    double t = now();

    if (p == NULL || sscanf(p + 16, "%d.%d.%u", &id, &slot, &seq) != 3 || id != c->id
        || slot < 0 || slot >= depth || c->slot_seq[slot] != seq + 1) {
        errors++;
        if (!quiet_errors)
            fprintf(stderr, "loadgen: unexpected reply: %.200s\n", data);
        return;
    }
    if (!memmem(data, len, "\"statusCode\":205", 16) && !memmem(data, len, "\"statusCode\":\"205\"", 18)) {
        if (!memmem(data, len, "\"type\":\"STATUS\"", 15))
            return;                     /* a partial answer; the STATUS follows */
        ok = 0;                         /* an error STATUS ends the request */
    } else if (records) {
        ok = len > 100000 && memmem(data, len, "\"__c\":\"bre\"", 11) != NULL;
    } else {
        snprintf(prefix, sizeof(prefix), "\"content\":%u,", seq + (unsigned)c->id);
        ok = memmem(data, len, prefix, strlen(prefix)) != NULL;
        prefix[strlen(prefix) - 1] = '}';
        ok = ok || memmem(data, len, prefix, strlen(prefix)) != NULL;
    }
    if (!ok) {
        errors++;
        if (!quiet_errors)
            fprintf(stderr, "loadgen: wrong answer: %.300s\n", data);
    }
    c->slot_seq[slot] = 0;
    c->inflight--;
    c->done_calls++;
    if (mode == MODE_NEW) {
        record((t - c->started) * 1e6);
        completed++;
    } else if (c->sent > 1 || mode == MODE_HOLD) {
        if (measuring && (!seconds || c->sent_at[slot] < deadline)) {
            record((t - c->sent_at[slot]) * 1e6);
            completed++;
            if (!seconds || t <= deadline)
                measured_done++;
        }
    }
}

/* --- WebSocket reader callbacks --------------------------------------------- */

static int ws_on_message(void *ud, unsigned opcode, unsigned flags, unsigned char *data,
                         size_t len)
{
    conn *c = ud;

    (void)opcode;
    if (flags & WS_RSV1) {
        ws_buffer_reset(&c->inflated);
        if (c->pmd == NULL || ws_pmd_inflate(c->pmd, data, len, 0, &c->inflated) != WS_OK) {
            errors++;
            return 1;
        }
        on_reply(c, c->inflated.data, c->inflated.len);
        ws_buffer_reset(&c->inflated);
        return 0;
    }
    on_reply(c, (char *)data, len);
    return 0;
}

static int ws_on_ping(void *ud, const unsigned char *data, size_t len)
{
    conn *c = ud;

    ws_send_frame(c, WS_OP_PONG, (const char *)data, len);
    return 0;
}

static int ws_on_pong(void *ud, const unsigned char *data, size_t len)
{
    (void)ud; (void)data; (void)len;
    return 0;
}

static int ws_on_close(void *ud, unsigned code, const char *reason, size_t len)
{
    conn *c = ud;

    if (!quiet_errors)
        fprintf(stderr, "loadgen: server closed connection %d: %u %.*s\n", c->id, code,
                (int)len, reason);
    return 1;
}

static const ws_reader_callbacks ws_cb = { ws_on_message, ws_on_ping, ws_on_pong, ws_on_close };

/* --- connection life ------------------------------------------------------- */

static void conn_close(conn *c, int failed)
{
    if (c->state == ST_DONE)
        return;
    if (failed) {
        errors++;
        if (c->inflight)
            errors += c->inflight - 1;
    }
    if (c->state == ST_OPEN)
        open_conns--;
    c->state = ST_DONE;
    closed_conns++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->ssl)
        SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd);
    ws_reader_free(c->reader);
    c->reader = NULL;
    ws_pmd_free(c->pmd);
    c->pmd = NULL;
    ws_buffer_free(&c->inflated);
    if (c->resp)
        redisReaderFree(c->resp);
    c->resp = NULL;
    free(c->out);
    c->out = NULL;
    c->out_len = c->out_cap = 0;
}

static void conn_start(conn *c)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    struct epoll_event ev = { EPOLLIN | EPOLLOUT, { .ptr = c } };
    int one = 1;

    inet_pton(AF_INET, host, &sa.sin_addr);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0)
        fail("socket");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->started = now();
    c->state = ST_CONNECTING;
    c->want_write = 1;
    c->sent = c->inflight = c->done_calls = 0;
    c->hs_len = 0;
    memset(c->slot_seq, 0, sizeof(unsigned) * (size_t)depth);
    started_conns++;
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
        fail("connect");
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void became_open(conn *c)
{
    c->state = ST_OPEN;
    open_conns++;
    pump(c);
}

static void send_ws_handshake(conn *c)
{
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n", path, host, port,
                     use_deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                   "client_max_window_bits\r\n" : "");

    c->state = ST_HANDSHAKE;
    out_append(c, req, (size_t)n);
    flush(c);
}

static void send_auth(conn *c)
{
    char *cmd;
    int len = redisFormatCommand(&cmd, "AUTH gateway gateway-pw");

    snprintf(c->addr, sizeof(c->addr), "opensrf:client:gateway:localhost:bench:%d:%08x",
             (int)getpid(), (unsigned)c->id ^ (unsigned)random());
    c->resp = redisReaderCreate();
    c->state = ST_AUTH;
    out_append(c, cmd, (size_t)len);
    redisFreeCommand(cmd);
    flush(c);
}

static void after_connect(conn *c)
{
    int err = 0;
    socklen_t l = sizeof(err);

    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
        errno = err;
        if (!quiet_errors)
            fprintf(stderr, "loadgen: connect: %s\n", strerror(err));
        conn_close(c, 1);
        return;
    }
    if (use_bus) {
        send_auth(c);
    } else if (use_tls) {
        c->ssl = SSL_new(tls);
        SSL_set_fd(c->ssl, c->fd);
        SSL_set_connect_state(c->ssl);
        c->state = ST_TLS;
    } else {
        send_ws_handshake(c);
    }
}

static void tls_step(conn *c)
{
    int r = SSL_do_handshake(c->ssl), e;

    if (r == 1) {
        send_ws_handshake(c);
        return;
    }
    e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ)
        watch(c, 0);
    else if (e == SSL_ERROR_WANT_WRITE)
        watch(c, 1);
    else {
        fprintf(stderr, "loadgen: TLS handshake failed\n");
        conn_close(c, 1);
    }
}

/* The 101 answer: check it, set up the frame reader (and inflate). */
static int handshake_done(conn *c, size_t *rest)
{
    char *end = memmem(c->hs, c->hs_len, "\r\n\r\n", 4), *ext;
    ws_reader_config cfg = { 0, WS_RSV1, 0 };

    if (end == NULL)
        return 0;
    *end = '\0';
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0
        || strcasestr(c->hs, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == NULL) {
        fprintf(stderr, "loadgen: handshake refused: %.200s\n", c->hs);
        return -1;
    }
    ext = strcasestr(c->hs, "Sec-WebSocket-Extensions:");
    if (ext && strstr(ext, "permessage-deflate")) {
        ws_pmd_params pp = { 1, 15, 1, strstr(ext, "server_no_context_takeover") != NULL };

        c->pmd = ws_pmd_new(&pp);
    } else {
        cfg.allowed_rsv = 0;
    }
    c->reader = ws_reader_new(&cfg, &ws_cb, c);
    *rest = (size_t)(end + 4 - c->hs);
    return 1;
}

static void bus_input(conn *c, const char *buf, size_t n)
{
    void *reply;

    redisReaderFeed(c->resp, buf, n);
    while (c->state != ST_DONE) {
        redisReply *r;

        if (redisReaderGetReply(c->resp, &reply) != REDIS_OK) {
            conn_close(c, 1);
            return;
        }
        if ((r = reply) == NULL)
            return;
        if (r->type == REDIS_REPLY_ERROR) {
            fprintf(stderr, "loadgen: redis: %s\n", r->str);
            freeReplyObject(r);
            conn_close(c, 1);
            return;
        }
        if (c->state == ST_AUTH) {
            freeReplyObject(r);
            became_open(c);
            continue;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
            on_reply(c, r->element[1]->str, r->element[1]->len);
            /* more replies due: block for the next one */
            if (c->inflight > 0) {
                char *cmd;
                int len = redisFormatCommand(&cmd, "BLPOP %s 0", c->addr);

                out_append(c, cmd, (size_t)len);
                redisFreeCommand(cmd);
            }
        }
        freeReplyObject(r);
    }
}

static void on_input(conn *c)
{
    static unsigned char buf[1 << 16];

    for (;;) {
        ssize_t n = io_read(c, buf, sizeof(buf));
        size_t off = 0;

        if (n == 0)
            break;
        if (n < 0) {
            conn_close(c, c->state != ST_OPEN || c->inflight > 0 || mode != MODE_NEW);
            return;
        }
        rx_bytes += n;
        if (use_bus) {
            bus_input(c, (char *)buf, (size_t)n);
            if (c->state == ST_DONE)
                return;
            continue;
        }
        if (c->state == ST_HANDSHAKE) {
            size_t take = (size_t)n < sizeof(c->hs) - 1 - c->hs_len
                          ? (size_t)n : sizeof(c->hs) - 1 - c->hs_len;
            size_t before = c->hs_len, rest;
            int h;

            memcpy(c->hs + c->hs_len, buf, take);
            c->hs_len += take;
            if ((h = handshake_done(c, &rest)) < 0) {
                conn_close(c, 1);
                return;
            }
            if (h == 0)
                continue;
            off = rest - before;
            became_open(c);
            if (c->state == ST_DONE)
                return;
        }
        if (off < (size_t)n && ws_reader_feed(c->reader, buf + off, (size_t)n - off) != WS_OK) {
            conn_close(c, 1);
            return;
        }
        if (c->state == ST_DONE)
            return;
    }
}

static void on_event(conn *c, unsigned events)
{
    if (c->state == ST_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        after_connect(c);
        if (c->state == ST_DONE)
            return;
    }
    if (c->state == ST_TLS) {
        tls_step(c);
        if (c->state == ST_TLS || c->state == ST_DONE)
            return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_input(c);
    if (c->state == ST_DONE)
        return;
    if (mode == MODE_NEW && c->done_calls > 0 && !keep_open) {
        if (!use_bus) {
            ws_send_frame(c, WS_OP_CLOSE, "\x03\xe8", 2);
            flush(c);
        }
        conn_close(c, 0);
        return;
    }
    pump(c);
}

/* --- CPU accounting --------------------------------------------------------- */

/* CPU seconds of every thread of pid, from schedstat (nanoseconds: the
 * tick-based times of /proc/PID/stat are too coarse for a 10 s run). */
static double proc_cpu_one(int pid)
{
    char dir[64], fn[384];
    struct dirent *d;
    double total = 0;
    DIR *tasks;

    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    if ((tasks = opendir(dir)) == NULL)
        return 0;
    while ((d = readdir(tasks)) != NULL) {
        unsigned long long ns;
        FILE *f;

        if (d->d_name[0] == '.')
            continue;
        snprintf(fn, sizeof(fn), "%s/%s/schedstat", dir, d->d_name);
        if ((f = fopen(fn, "r")) != NULL) {
            if (fscanf(f, "%llu", &ns) == 1)
                total += ns / 1e9;
            fclose(f);
        }
    }
    closedir(tasks);
    return total;
}

/* CPU seconds of pid and its live children (the bench keeps the
 * processes it measures alive through a measurement). */
static double tree_cpu(int pid)
{
    double total = proc_cpu_one(pid);
    char fn[64];
    FILE *f;

    snprintf(fn, sizeof(fn), "/proc/%d/task/%d/children", pid, pid);
    if ((f = fopen(fn, "r")) != NULL) {
        int kid;

        while (fscanf(f, "%d", &kid) == 1)
            total += proc_cpu_one(kid);
        fclose(f);
    }
    return total;
}

static double self_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
           + ru.ru_stime.tv_usec / 1e6;
}

/* --- main loop and report ---------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double pct(double p)
{
    size_t i;

    if (nlat == 0)
        return 0;
    i = (size_t)ceil(p / 100.0 * (double)nlat);
    return lat[i == 0 ? 0 : i - 1];
}

static void loop_once(int timeout_ms)
{
    struct epoll_event evs[256];
    int i, n = epoll_wait(ep, evs, 256, timeout_ms);

    if (n < 0 && errno != EINTR)
        fail("epoll_wait");
    for (i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL)
            continue;                    /* stdin: handled by the caller */
        on_event(evs[i].data.ptr, evs[i].events);
    }
}

static void pump_all(void)
{
    int i;

    for (i = 0; i < conns; i++)
        if (all[i]->state == ST_OPEN)
            pump(all[i]);
}

static int total_inflight(void)
{
    int i, n = 0;

    for (i = 0; i < conns; i++)
        if (all[i]->state == ST_OPEN)
            n += all[i]->inflight;
    return n;
}

static int stdin_line(double timeout_s)
{
    struct epoll_event ev;
    int e = epoll_create1(0), r;
    char buf[256];

    ev.events = EPOLLIN;
    ev.data.fd = 0;
    epoll_ctl(e, EPOLL_CTL_ADD, 0, &ev);
    r = epoll_wait(e, &ev, 1, (int)(timeout_s * 1000));
    close(e);
    if (r <= 0)
        return 0;
    return read(0, buf, sizeof(buf)) >= 0;     /* a line, or EOF: go on */
}

static void report(const char *phase, double cpu0, const double *tree0, double wall)
{
    double cpu = self_cpu() - cpu0;
    int i;

    if (nlat)
        qsort(lat, nlat, sizeof(*lat), cmp_double);
    double sum = 0;
    for (size_t k = 0; k < nlat; k++)
        sum += lat[k];
    printf("{\"phase\":\"%s\",\"target\":\"%s\",\"conns\":%d,\"depth\":%d,\"completed\":%ld,"
           "\"errors\":%ld,\"open\":%d,\"seconds\":%.3f,\"rps\":%.1f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"mean_us\":%.1f,"
           "\"client_cpu_ms_per_1000\":%.2f,\"rx_bytes_per_req\":%.0f,\"tx_bytes_per_req\":%.0f",
           phase, use_bus ? "floor" : use_tls ? "wss" : "ws", conns, depth, completed, errors,
           open_conns, wall, (seconds ? measured_done : completed) / (wall > 0 ? wall : 1),
           pct(50), pct(90), pct(99), nlat ? lat[nlat - 1] : 0, nlat ? sum / nlat : 0,
           completed ? cpu * 1e6 / completed : 0,
           completed ? (double)rx_bytes / completed : 0,
           completed ? (double)tx_bytes / completed : 0);
    for (i = 0; i < ncpu; i++) {
        double used = tree_cpu(cpu_pids[i]) - tree0[i];

        printf(",\"%s_cpu_us_per_req\":%.1f,\"%s_cpu_s\":%.3f", cpu_labels[i],
               completed ? used * 1e6 / completed : 0, cpu_labels[i], used);
    }
    printf("}\n");
    fflush(stdout);
    if (dump_file) {
        FILE *f = fopen(dump_file, "w");

        for (size_t k = 0; f && k < nlat; k++)
            fprintf(f, "%.1f\n", lat[k]);
        if (f)
            fclose(f);
    }
}

static void reset_counts(void)
{
    nlat = 0;
    completed = measured_done = errors = 0;
    rx_bytes = tx_bytes = 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: loadgen run|new|hold --port P [--host H] [--bus] [--tls] "
            "[--deflate] [--records] [--path /p] [--conns C] [--depth D] [--seconds S] "
            "[--requests R] [--count N] [--concurrency K] [--gap-ms G] [--keep-open] [--spread-s S] "
            "[--cpu LABEL=PID]... [--dump FILE] [--quiet-errors]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double cpu0, tree0[8], t;
    int i;

    if (argc < 2)
        usage();
    if (strcmp(argv[1], "run") == 0) mode = MODE_RUN;
    else if (strcmp(argv[1], "new") == 0) mode = MODE_NEW;
    else if (strcmp(argv[1], "hold") == 0) mode = MODE_HOLD;
    else usage();
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--bus") == 0) use_bus = 1;
        else if (strcmp(a, "--tls") == 0) use_tls = 1;
        else if (strcmp(a, "--deflate") == 0) use_deflate = 1;
        else if (strcmp(a, "--records") == 0) records = 1;
        else if (strcmp(a, "--quiet-errors") == 0) quiet_errors = 1;
        else if (strcmp(a, "--keep-open") == 0) keep_open = 1;
        else if (v == NULL) usage();
        else if (strcmp(a, "--port") == 0) port = atoi(v), i++;
        else if (strcmp(a, "--host") == 0) host = v, i++;
        else if (strcmp(a, "--path") == 0) path = v, i++;
        else if (strcmp(a, "--conns") == 0) conns = atoi(v), i++;
        else if (strcmp(a, "--depth") == 0) depth = atoi(v), i++;
        else if (strcmp(a, "--seconds") == 0) seconds = atof(v), i++;
        else if (strcmp(a, "--requests") == 0) requests = atoi(v), i++;
        else if (strcmp(a, "--count") == 0) count = atoi(v), i++;
        else if (strcmp(a, "--concurrency") == 0) concurrency = atoi(v), i++;
        else if (strcmp(a, "--gap-ms") == 0) gap_ms = atof(v), i++;
        else if (strcmp(a, "--dump") == 0) dump_file = v, i++;
        else if (strcmp(a, "--spread-s") == 0) spread_s = atof(v), i++;
        else if (strcmp(a, "--cpu") == 0 && ncpu < 8 && strchr(v, '=')) {
            cpu_labels[ncpu] = strndup(v, (size_t)(strchr(v, '=') - v));
            cpu_pids[ncpu++] = atoi(strchr(v, '=') + 1);
            i++;
        } else usage();
    }
    if (port <= 0 || conns < 1 || depth < 1 || depth > 1024 || (use_bus && use_tls))
        usage();
    if (mode == MODE_NEW) {
        conns = concurrency < count ? concurrency : count;
        depth = 1;
    }
    if (mode == MODE_HOLD)
        depth = 1;
    srandom((unsigned)getpid());
    if (use_tls) {
        tls = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(tls, SSL_VERIFY_NONE, NULL);    /* the bench's self-signed cert */
    }
    if ((ep = epoll_create1(0)) < 0)
        fail("epoll_create1");
    all = calloc((size_t)conns, sizeof(*all));
    for (i = 0; i < conns; i++) {
        all[i] = calloc(1, sizeof(conn));
        all[i]->id = i;
        all[i]->sent_at = calloc((size_t)depth, sizeof(double));
        all[i]->slot_seq = calloc((size_t)depth, sizeof(unsigned));
        all[i]->state = ST_DONE;
    }

    if (mode == MODE_NEW) {
        /* count connections, concurrency at a time, gap between starts */
        int launched = 0;
        double next_start = now();

        measuring = 1;
        cpu0 = self_cpu();
        for (i = 0; i < ncpu; i++)
            tree0[i] = tree_cpu(cpu_pids[i]);
        t_start = now();
        while (completed + errors < count && now() - t_start < 120) {
            t = now();
            for (i = 0; i < conns && launched < count && t >= next_start; i++)
                if (all[i]->state == ST_DONE) {
                    all[i]->id = launched++;
                    conn_start(all[i]);
                    if (gap_ms > 0)
                        next_start = t + gap_ms / 1000;
                }
            loop_once(gap_ms > 0 ? 1 : 50);
        }
        t_end = now();
        report("new", cpu0, tree0, t_end - t_start);
        return errors ? 1 : 0;
    }

    /* run and hold: open every connection (at most 256 connecting at once),
     * each makes its first call */
    for (i = 0; i < conns; i++)
        all[i]->planned = 1;
    t_start = now();
    {
        int next = 0;

        while ((next < conns || total_inflight() > 0 || open_conns + closed_conns < conns)
               && now() - t_start < 300) {
            int connecting = started_conns - open_conns - closed_conns;

            for (; next < conns && connecting < 256; next++, connecting++)
                conn_start(all[next]);
            loop_once(20);
            if (closed_conns > 0 && mode == MODE_HOLD)
                break;
            if (next == conns && total_inflight() == 0 && open_conns + closed_conns == conns)
                break;
        }
    }
    if (open_conns < conns) {
        fprintf(stderr, "loadgen: only %d of %d connections open (%ld errors)\n", open_conns,
                conns, errors);
        return 1;
    }

    if (mode == MODE_HOLD) {
        double setup = now() - t_start;

        printf("{\"phase\":\"ready\",\"open\":%d,\"setup_seconds\":%.2f,\"errors\":%ld}\n",
               open_conns, setup, errors);
        fflush(stdout);
        /* idle, answering pings, until told to go on */
        while (!stdin_line(0.2))
            loop_once(0);
        reset_counts();
        measuring = 1;
        cpu0 = self_cpu();
        for (i = 0; i < ncpu; i++)
            tree0[i] = tree_cpu(cpu_pids[i]);
        t_start = now();
        for (i = 0; i < conns; i++)
            all[i]->planned = 2;
        pump_all();
        while (completed + errors < conns && open_conns == conns && now() - t_start < 60)
            loop_once(20);
        t_end = now();
        report("all-call", cpu0, tree0, t_end - t_start);
        /* then each calls once more, the calls spread evenly over
         * --spread-s seconds: staff clients working, not a burst */
        if (spread_s > 0 && stdin_line(30)) {
            reset_counts();
            cpu0 = self_cpu();
            for (i = 0; i < ncpu; i++)
                tree0[i] = tree_cpu(cpu_pids[i]);
            t_start = now();
            for (i = 0; i < conns; i++) {
                all[i]->planned = 3;
                all[i]->next_at = t_start + spread_s * i / conns;
            }
            while (completed + errors < conns && open_conns == conns
                   && now() - t_start < spread_s + 60) {
                loop_once(1);
                pump_all();
            }
            report("spread-call", cpu0, tree0, now() - t_start);
        }
        while (!stdin_line(0.2))
            loop_once(0);
        return errors || open_conns < conns ? 1 : 0;
    }

    /* run: the measured phase */
    reset_counts();
    measuring = 1;
    cpu0 = self_cpu();
    for (i = 0; i < ncpu; i++)
        tree0[i] = tree_cpu(cpu_pids[i]);
    t_start = now();
    deadline = t_start + seconds;
    pump_all();
    for (;;) {
        t = now();
        if (seconds && t >= deadline && total_inflight() == 0)
            break;
        if (!seconds && total_inflight() == 0) {
            int left = 0;

            for (i = 0; i < conns; i++)
                if (all[i]->state == ST_OPEN && all[i]->sent < requests + 1)
                    left = 1;
            if (!left)
                break;
        }
        if (open_conns < conns || t - t_start > seconds + 120)
            break;
        loop_once(gap_ms > 0 ? 1 : 10);
        if (gap_ms > 0)
            pump_all();
    }
    t_end = now();
    report("run", cpu0, tree0, seconds ? seconds : t_end - t_start);
    return errors || open_conns < conns ? 1 : 0;
}
