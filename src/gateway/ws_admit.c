/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_admit.c - see ws_admit.h.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ws_admit.h"

static int is_trusted(const char *ip, const char *const *trusted, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(trusted[i], ip) == 0)
            return 1;
    return 0;
}

/* Copies the hop xff[start, end) without the blanks around it into out;
 * 0 if it is not an IP address. */
static int read_hop(const char *start, const char *end, char out[WS_ADDR_MAX + 1])
{
    unsigned char addr[16];

    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (end - start == 0 || end - start > WS_ADDR_MAX)
        return 0;
    memcpy(out, start, (size_t)(end - start));
    out[end - start] = '\0';
    return inet_pton(AF_INET, out, addr) == 1 || inet_pton(AF_INET6, out, addr) == 1;
}

const char *ws_forwarded_client(const char *peer, const char *xff,
                                const char *const *trusted, int n,
                                char out[WS_ADDR_MAX + 1])
{
    char hop[WS_ADDR_MAX + 1];
    const char *end;
    int hops;

    snprintf(out, WS_ADDR_MAX + 1, "%s", peer ? peer : "");
    if (xff == NULL || !is_trusted(out, trusted, n))
        return out;
    end = xff + strlen(xff);
    for (hops = 0; hops < WS_XFF_MAX_HOPS && end > xff; hops++) {
        const char *start = end;

        while (start > xff && start[-1] != ',')
            start--;
        if (!read_hop(start, end, hop))
            break;
        strcpy(out, hop);
        if (!is_trusted(hop, trusted, n))
            break;
        end = start > xff ? start - 1 : start;
    }
    return out;
}

ws_admit_status ws_admit(const ws_admit_counts *c)
{
    int reserve = c->reserve < c->limit ? c->reserve : c->limit - 1;

    if (reserve > 0 && c->limit - c->busy < reserve)
        return WS_ADMIT_FULL;
    if (c->client_limit > 0 && c->client_conns >= c->client_limit)
        return WS_ADMIT_CLIENT_LIMIT;
    return WS_ADMIT_OK;
}

int ws_admit_log_due(int64_t *last, int64_t now)
{
    if (*last != 0 && now - *last < 1000000)
        return 0;
    *last = now;
    return 1;
}
