/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tap.h - the smallest Test Anything Protocol helper for the C unit tests.
 * prove runs the test binaries directly.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>
#include <string.h>

static int tap_count, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...)                                               \
    do {                                                                     \
        long long got_ = (long long)(got), want_ = (long long)(want);       \
        if (!ok(got_ == want_, __VA_ARGS__))                                \
            diag("got %lld, want %lld", got_, want_);                        \
    } while (0)
#define is_str(got, want, ...)                                               \
    do {                                                                     \
        const char *got_ = (got), *want_ = (want);                           \
        if (!ok(got_ && want_ && strcmp(got_, want_) == 0, __VA_ARGS__))    \
            diag("got \"%s\", want \"%s\"", got_ ? got_ : "(null)",          \
                 want_ ? want_ : "(null)");                                  \
    } while (0)

__attribute__((format(printf, 1, 2)))
static void diag(const char *fmt, ...);

#include <stdarg.h>

static void diag(const char *fmt, ...)
{
    va_list ap;

    fputs("# ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
}

__attribute__((format(printf, 4, 5)))
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_count);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    if (!pass) {
        tap_failed++;
        diag("failed at %s line %d", file, line);
    }
    return pass;
}

/* Prints the plan; the exit status says whether everything passed. */
static int done_testing(void)
{
    printf("1..%d\n", tap_count);
    fflush(stdout);
    return tap_failed ? 1 : 0;
}

#endif /* TAP_H */
