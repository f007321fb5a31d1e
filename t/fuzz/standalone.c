/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * standalone.c - runs a fuzz target over its seed corpus without libFuzzer,
 * so every build's `make check` replays the corpus (and every finding kept
 * in it) as a regression test.  Prints TAP: one line per corpus file.
 *
 * The corpus is t/fuzz/corpus/NAME under $OSRFWS_SRCDIR, NAME being the
 * program's name without "_fuzz".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0
        && (p = malloc((size_t)n + 1)) != NULL && fread(p, 1, (size_t)n, f) == (size_t)n)
        *len = (size_t)n;
    else {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv)
{
    const char *src = getenv("OSRFWS_SRCDIR"), *base = strrchr(argv[0], '/');
    char dir[4096], name[256], path[8192];
    struct dirent **files;
    int i, n, tests = 0, failed = 0;

    (void)argc;
    base = base ? base + 1 : argv[0];
    snprintf(name, sizeof(name), "%s", base);
    if (strstr(name, "_fuzz"))
        *strstr(name, "_fuzz") = '\0';
    snprintf(dir, sizeof(dir), "%s/t/fuzz/corpus/%s", src ? src : ".", name);
    if ((n = scandir(dir, &files, NULL, alphasort)) < 0) {
        printf("1..0 # SKIP no corpus at %s\n", dir);
        return 1;
    }
    for (i = 0; i < n; i++) {
        unsigned char *data;
        size_t len = 0;

        if (files[i]->d_name[0] != '.') {
            snprintf(path, sizeof(path), "%s/%s", dir, files[i]->d_name);
            data = slurp(path, &len);
            /* a target aborts on a broken invariant; returning is a pass */
            if (data)
                LLVMFuzzerTestOneInput(data, len);
            printf("%s %d - %s %s (%zu bytes)\n", data ? "ok" : "not ok", ++tests,
                   name, files[i]->d_name, len);
            failed += data == NULL;
            free(data);
        }
        free(files[i]);
    }
    free(files);
    printf("1..%d\n", tests);
    return failed || tests == 0;
}
