/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config_fuzz.c - the opensrf_core.xml reader over arbitrary files: it
 * either fills every field or fails with a message, never anything else.
 */
#include <string.h>
#include <unistd.h>

#include "osrf_config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/osrfws-config-fuzz-XXXXXX", err[512];
    osrf_config cfg;
    int fd = mkstemp(path);

    CHECK(fd >= 0);
    CHECK(write(fd, data, size) == (ssize_t)size);
    close(fd);
    memset(&cfg, 0, sizeof(cfg));
    err[0] = '\0';
    if (osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) == 0) {
        CHECK(cfg.domain && cfg.username && cfg.passwd && cfg.router_name);
        CHECK(cfg.port > 0 && cfg.port < 65536);
        osrf_config_free(&cfg);
    } else {
        CHECK(err[0] != '\0');
        CHECK(strstr(err, path) != NULL);
    }
    unlink(path);
    return 0;
}
