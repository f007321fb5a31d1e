/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_admit_test.c - who may open a WebSocket: the client behind trusted
 * proxies (X-Forwarded-For read from the right, hops checked), the
 * reserve of free children, the per-client limit, the refusal log's rate.
 */
#include <string.h>

#include "ws_admit.h"
#include "tap.h"

static const char *const proxies[] = { "127.0.0.1", "10.0.0.10", "::1" };

static const char *client(const char *peer, const char *xff)
{
    static char out[WS_ADDR_MAX + 1];

    return ws_forwarded_client(peer, xff, proxies, 3, out);
}

static void test_forwarded(void)
{
    char hops[2048] = "";
    char huge[4100];
    int i;

    is_str(client("192.0.2.7", NULL), "192.0.2.7", "no header: the peer");
    is_str(client("192.0.2.7", "198.51.100.1"), "192.0.2.7",
           "the header of a peer that is not a trusted proxy is ignored");
    is_str(client("127.0.0.1", "198.51.100.1"), "198.51.100.1", "behind a proxy: its hop");
    is_str(client("127.0.0.1", "203.0.113.9, 198.51.100.1 , 10.0.0.10"), "198.51.100.1",
           "the last hop that is not a trusted proxy, blanks around hops dropped");
    is_str(client("127.0.0.1", "2001:db8::5"), "2001:db8::5", "an IPv6 hop");
    is_str(client("127.0.0.1", "198.51.100.1,"), "127.0.0.1",
           "an empty last hop: the proxy itself (nothing after it can be trusted)");
    is_str(client("127.0.0.1", "198.51.100.1, evil\\nline"), "127.0.0.1",
           "a hop that is not an address stops the walk: the proxy");
    is_str(client("127.0.0.1", "198.51.100.1, 1234567890, 10.0.0.10"), "10.0.0.10",
           "a bad hop behind a trusted one: the last trusted proxy");
    memset(huge, '1', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    is_str(client("127.0.0.1", huge), "127.0.0.1", "a 4,099-character hop is not an address");
    for (i = 0; i < 40; i++)
        strcat(hops, "10.0.0.10,");
    strcat(hops, "10.0.0.10");
    is_str(client("127.0.0.1", hops), "10.0.0.10",
           "only the last 16 hops are read: a long chain of proxies ends at the 16th");
    strcpy(hops, "198.51.100.1");
    for (i = 0; i < 15; i++)
        strcat(hops, ", 10.0.0.10");
    is_str(client("127.0.0.1", hops), "198.51.100.1", "a client 16 hops back is found");
    ok(strlen(client("127.0.0.1", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"))
       == WS_ADDR_MAX, "the longest IPv6 text fits");
}

static void test_admit(void)
{
    ws_admit_counts c = { 8, 1, 2, 0, 0 };

    is_int(ws_admit(&c), WS_ADMIT_OK, "an empty instance admits");
    c.busy = 6;
    is_int(ws_admit(&c), WS_ADMIT_OK, "6 of 8 busy (this one counted): 2 free, the reserve");
    c.busy = 7;
    is_int(ws_admit(&c), WS_ADMIT_FULL, "7 of 8 busy: 1 free, under a reserve of 2: refused");
    c.busy = 8;
    is_int(ws_admit(&c), WS_ADMIT_FULL, "all busy: refused");
    c.reserve = 0;
    is_int(ws_admit(&c), WS_ADMIT_OK, "reserve 0: never refused for it");
    c.reserve = 2;
    c.busy = 3;
    c.client_limit = 2;
    c.client_conns = 1;
    is_int(ws_admit(&c), WS_ADMIT_OK, "a client under its limit");
    c.client_conns = 2;
    is_int(ws_admit(&c), WS_ADMIT_CLIENT_LIMIT, "a client at its limit: refused");
    c.client_limit = 0;
    c.client_conns = 500;
    is_int(ws_admit(&c), WS_ADMIT_OK, "no per-client limit (the default): any number");
    c.busy = 8;
    c.client_limit = 1;
    is_int(ws_admit(&c), WS_ADMIT_FULL, "full is said first");
    c.client_limit = 0;
    c.limit = 1;
    c.busy = 1;
    is_int(ws_admit(&c), WS_ADMIT_OK, "one child, reserve 2: it still takes a WebSocket");
    c.limit = 2;
    c.busy = 2;
    is_int(ws_admit(&c), WS_ADMIT_FULL, "two children, reserve 2: one kept free");
    c.busy = 1;
    is_int(ws_admit(&c), WS_ADMIT_OK, "and the other takes a WebSocket");
}

static void test_log_rate(void)
{
    int64_t last = 0;

    ok(ws_admit_log_due(&last, 5000000), "the first refusal is logged");
    ok(!ws_admit_log_due(&last, 5500000), "not another within the second");
    ok(!ws_admit_log_due(&last, 5999999), "nor just before it ends");
    ok(ws_admit_log_due(&last, 6000000), "one second later, again");
    is_int(last, 6000000, "from then on");
}

int main(void)
{
    test_forwarded();
    test_admit();
    test_log_rate();
    return done_testing();
}
