/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ws_number_test.c - the directives' number parser: what it takes, what
 * it refuses (typos, signs, spaces, overflow, out of range).
 */
#include "ws_number.h"
#include "tap.h"

static int64_t got;

static int plain(const char *s, int64_t min, int64_t max)
{
    got = -1;
    return ws_parse_number(s, WS_NUMBER_PLAIN, min, max, &got);
}

static int size(const char *s)
{
    got = -1;
    return ws_parse_number(s, WS_NUMBER_SIZE, 0, INT64_MAX, &got);
}

int main(void)
{
    ok(plain("120", 1, 1000) && got == 120, "a plain number");
    ok(plain("0", 0, 10) && got == 0, "zero where zero is allowed");
    ok(plain("1", 1, 1) && got == 1, "min and max are inclusive");
    ok(!plain("0", 1, 10) && got == -1, "below min: refused, out untouched");
    ok(!plain("11", 1, 10), "above max: refused");
    ok(!plain("", 0, 10), "empty: refused");
    ok(!plain("12O", 0, 1000), "a typo (letter O) is refused, not read as 12");
    ok(!plain("abc", 0, 1000), "no digits: refused, not read as 0");
    ok(!plain("-5", -10, 10), "a sign is refused");
    ok(!plain("+5", 0, 10), "a plus sign too");
    ok(!plain(" 5", 0, 10) && !plain("5 ", 0, 10), "spaces are refused");
    ok(!plain("0x10", 0, 100), "hexadecimal is refused");
    ok(!plain("64K", 0, INT64_MAX), "a unit where a plain number is meant: refused");
    ok(!plain(NULL, 0, 10), "NULL: refused");
    ok(plain("9223372036854775807", 0, INT64_MAX) && got == INT64_MAX, "INT64_MAX");
    ok(!plain("9223372036854775808", 0, INT64_MAX), "one past: refused, no overflow");
    ok(!plain("99999999999999999999999", 0, INT64_MAX), "far past: refused");
    ok(size("64K") && got == 64 * 1024, "64K");
    ok(size("16m") && got == 16 * 1024 * 1024, "16m");
    ok(size("7") && got == 7, "a size without a unit is bytes");
    ok(!size("16MB") && !size("16G") && !size("K"), "other units, or a unit alone: refused");
    ok(!size("9007199254740992M"), "a unit that overflows: refused");
    ok(!ws_parse_number("2M", WS_NUMBER_SIZE, 1024, 1024 * 1024, &got),
       "a size above max after its unit: refused");
    return done_testing();
}
