/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * delayproxy - a userspace TCP proxy that adds round-trip time (kernel
 * netem is not available here): every chunk read from one side is
 * written to the other RTT/2 later, in order, in both directions.
 * Connection setup pays it too: the kernel completes the client's TCP
 * handshake at once, so the client's bytes are held until one RTT after
 * the accept (when its SYN/ACK would have come back on a real link), and
 * then RTT/2 more like any others.
 *
 *   delayproxy --listen PORT --to HOST:PORT --rtt-ms 20 [--pidfile F]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct chunk {
    struct chunk *next;
    double due;
    size_t len, off;            /* len 0: the sender closed its side */
    char data[];
} chunk;

typedef struct side side;
struct side {
    int fd;
    side *peer;
    chunk *head, *tail;         /* read from peer, waiting to go to fd */
    int read_closed, write_closed, want_write;
    double not_before;          /* bytes read here leave no earlier */
};

static double delay;            /* one way, seconds */
static int ep;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void watch(side *s, int op)
{
    struct epoll_event ev = { (s->read_closed ? 0 : EPOLLIN) | (s->want_write ? EPOLLOUT : 0),
                              { .ptr = s } };

    epoll_ctl(ep, op, s->fd, &ev);
}

static void release(side *s)
{
    while (s->head) {
        chunk *c = s->head;

        s->head = c->next;
        free(c);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
}

/* Both directions finished (or one failed): the pair goes. */
static void maybe_finish(side *s)
{
    side *p = s->peer;

    if (s->write_closed && p->write_closed) {
        release(s);
        release(p);
        free(s < p ? s : p);        /* allocated as a pair */
    }
}

/* Writes what is due to s->fd; 1 if the pair was freed. */
static int drain(side *s, double t)
{
    while (s->head && s->head->due <= t) {
        chunk *c = s->head;

        if (c->len == 0) {
            shutdown(s->fd, SHUT_WR);
            s->write_closed = 1;
        } else {
            ssize_t w = write(s->fd, c->data + c->off, c->len - c->off);

            if (w < 0 && errno == EAGAIN) {
                if (!s->want_write) {
                    s->want_write = 1;
                    watch(s, EPOLL_CTL_MOD);
                }
                return 0;
            }
            if (w < 0) {
                s->write_closed = s->peer->write_closed = 1;
                maybe_finish(s);
                return 1;
            }
            if ((c->off += (size_t)w) < c->len)
                continue;
        }
        s->head = c->next;
        if (s->head == NULL)
            s->tail = NULL;
        free(c);
    }
    if (s->want_write) {
        s->want_write = 0;
        watch(s, EPOLL_CTL_MOD);
    }
    if (s->write_closed && s->peer->write_closed) {
        maybe_finish(s);
        return 1;
    }
    return 0;
}

static void enqueue(side *from, side *to, const char *p, size_t n)
{
    chunk *c = malloc(sizeof(chunk) + n);
    double t = now();

    if (c == NULL)
        abort();
    c->next = NULL;
    c->due = (t > from->not_before ? t : from->not_before) + delay;
    c->len = n;
    c->off = 0;
    if (n)
        memcpy(c->data, p, n);
    if (to->tail)
        to->tail->next = c;
    else
        to->head = c;
    to->tail = c;
}

/* Reads from s; its bytes go into the peer's queue. */
static void on_readable(side *s)
{
    char buf[65536];

    if (s->read_closed)
        return;
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof(buf));

        if (n > 0) {
            enqueue(s, s->peer, buf, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return;
        s->read_closed = 1;
        watch(s, EPOLL_CTL_MOD);
        enqueue(s, s->peer, NULL, 0);
        return;
    }
}

/* Every live pair, walked once per loop to send what is due: a bench
 * proxy holds a few dozen connections at most. */
#define MAX_PAIRS 4096
static side *pairs[MAX_PAIRS];
static int npairs;

static void accept_one(int lfd, const struct sockaddr_in *to)
{
    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK), ufd, one = 1;
    side *pair;

    if (cfd < 0)
        return;
    /* a blocking connect to the upstream on loopback: immediate */
    ufd = socket(AF_INET, SOCK_STREAM, 0);
    if (ufd < 0 || npairs == MAX_PAIRS
        || connect(ufd, (const struct sockaddr *)to, sizeof(*to)) < 0) {
        close(cfd);
        if (ufd >= 0)
            close(ufd);
        return;
    }
    fcntl(ufd, F_SETFL, O_NONBLOCK);
    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(ufd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if ((pair = calloc(2, sizeof(side))) == NULL)
        abort();
    pair[0].fd = cfd;
    pair[1].fd = ufd;
    pair[0].not_before = now() + 2 * delay;     /* the handshake's round trip */
    pair[0].peer = &pair[1];
    pair[1].peer = &pair[0];
    watch(&pair[0], EPOLL_CTL_ADD);
    watch(&pair[1], EPOLL_CTL_ADD);
    pairs[npairs++] = pair;
}

static volatile sig_atomic_t running = 1;
static void on_term(int sig) { (void)sig; running = 0; }

int main(int argc, char **argv)
{
    struct sockaddr_in la = { .sin_family = AF_INET }, to = { .sin_family = AF_INET };
    const char *pidfile = NULL;
    int i, lfd, one = 1;
    static int listener_tag;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0) {
            la.sin_port = htons((uint16_t)atoi(argv[i + 1]));
        } else if (strcmp(argv[i], "--to") == 0) {
            char host[64];
            int port;

            if (sscanf(argv[i + 1], "%63[^:]:%d", host, &port) != 2)
                return 2;
            inet_pton(AF_INET, host, &to.sin_addr);
            to.sin_port = htons((uint16_t)port);
        } else if (strcmp(argv[i], "--rtt-ms") == 0) {
            delay = atof(argv[i + 1]) / 2000.0;
        } else if (strcmp(argv[i], "--pidfile") == 0) {
            pidfile = argv[i + 1];
        } else {
            fprintf(stderr, "usage: delayproxy --listen PORT --to HOST:PORT --rtt-ms MS"
                    " [--pidfile F]\n");
            return 2;
        }
    }
    inet_pton(AF_INET, "127.0.0.1", &la.sin_addr);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, on_term);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&la, sizeof(la)) < 0 || listen(lfd, 1024) < 0) {
        perror("delayproxy: listen");
        return 1;
    }
    ep = epoll_create1(0);
    {
        struct epoll_event ev = { EPOLLIN, { .ptr = &listener_tag } };

        epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    }
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");

        if (f) {
            fprintf(f, "%ld\n", (long)getpid());
            fclose(f);
        }
    }
    while (running) {
        struct epoll_event evs[64];
        double t = now(), next = t + 1;
        int n, timeout;

        /* send what is due, and find when the next chunk is */
        for (i = 0; i < npairs;) {
            side *p = pairs[i];
            int freed = drain(&p[0], t) || drain(&p[1], t);

            if (freed) {
                pairs[i] = pairs[--npairs];
                continue;
            }
            for (int k = 0; k < 2; k++)
                if (p[k].head && !p[k].want_write && p[k].head->due < next)
                    next = p[k].head->due;
            i++;
        }
        timeout = (int)((next - now()) * 1000.0 + 0.999);
        n = epoll_wait(ep, evs, 64, timeout < 0 ? 0 : timeout);
        for (i = 0; i < n; i++) {
            if (evs[i].data.ptr == &listener_tag) {
                accept_one(lfd, &to);
                continue;
            }
            side *s = evs[i].data.ptr;

            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                on_readable(s);
            /* EPOLLOUT: the drain at the top of the loop writes */
        }
    }
    if (pidfile)
        unlink(pidfile);
    return 0;
}
