/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_reserve.c - see ws_reserve.h.
 */
#include "httpd.h"
#include "ap_mpm.h"
#include "scoreboard.h"

#include "apr_strings.h"

#include "ws_reserve.h"

/* A slot whose child serves a connection (or is finishing one). */
static int busy(const worker_score *ws)
{
    return ws->status != SERVER_DEAD && ws->status != SERVER_STARTING
           && ws->status != SERVER_READY && ws->status != SERVER_IDLE_KILL;
}

int ws_reserve_count(request_rec *r, const char *client, ws_admit_counts *c)
{
    worker_score *mine = r->connection->sbh ? ap_get_scoreboard_worker(r->connection->sbh)
                                            : NULL;
    int hard = 0, i;

    if (!ap_exists_scoreboard_image() || mine == NULL
        || ap_mpm_query(AP_MPMQ_MAX_DAEMONS, &c->limit) != APR_SUCCESS
        || ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &hard) != APR_SUCCESS)
        return -1;
    c->busy = c->client_conns = 0;
    for (i = 0; i < hard; i++) {
        worker_score *ws = ap_get_scoreboard_worker_from_indexes(i, 0);

        if (ws == NULL || !busy(ws))
            continue;
        c->busy++;
        if (ws != mine && strncmp(ws->client64, client, sizeof(ws->client64)) == 0)
            c->client_conns++;
    }
    return 0;
}

void ws_reserve_claim(request_rec *r, const char *client)
{
    worker_score *mine = r->connection->sbh ? ap_get_scoreboard_worker(r->connection->sbh)
                                            : NULL;

    if (mine)
        apr_cpystrn(mine->client64, client, sizeof(mine->client64));
}
