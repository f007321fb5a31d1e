/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_prefork.c - see ws_prefork.h.
 */
#include <grp.h>
#include <unistd.h>

#include "httpd.h"
#include "unixd.h"
#include "ap_mpm.h"

#include "ws_prefork.h"

/* A child started as root drops to User and Group after fork, and
 * initgroups then walks every group source of nsswitch.conf: with
 * "group: files systemd" (Debian's default) that dlopens libnss_systemd
 * and libcap in each child, about 50 kB of private pages (relocations,
 * link maps, their data).  The same walk here loads them in the parent. */
static void warm_up_nss(void)
{
    gid_t groups[64];
    int n = (int)(sizeof(groups) / sizeof(groups[0]));

    if (geteuid() != 0 || ap_unixd_config.user_name == NULL)
        return;
    /* only the walk matters: its answer (or a list too long for
     * groups) is the child's business */
    (void)getgrouplist(ap_unixd_config.user_name, ap_unixd_config.group_id,
                       groups, &n);
}

void ws_prefork_warm_up(server_rec *s)
{
    (void)s;
    warm_up_nss();
}

int ws_mpm_threaded(void)
{
    int threaded = AP_MPMQ_NOT_SUPPORTED, threads = 1;

    if (ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) != APR_SUCCESS)
        threaded = AP_MPMQ_NOT_SUPPORTED;
    if (ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads) != APR_SUCCESS)
        threads = 1;
    return threaded != AP_MPMQ_NOT_SUPPORTED || threads > 1;
}
