/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * osrf_log_test.c - OpenSRF-style log lines: escaping, cutting, the file
 * line's shape, loglevel, a separate activity file, the <gateway> fields.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "osrf_config.h"
#include "osrf_log.h"
#include "tap.h"

static char *slurp(const char *path)
{
    static char buf[65536];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static void test_escape(void)
{
    char out[32], small[12];

    osrf_log_escape("a\nb\x01" "c\x7f", out, sizeof(out));
    is_str(out, "a\\x0ab\\x01c\\x7f", "control characters become \\xNN");
    osrf_log_escape("0123456789abcdef", small, sizeof(small));
    is_str(small, "01234567...", "a long message is cut, ending in ...");
    osrf_log_escape("é", out, sizeof(out));
    is_str(out, "é", "UTF-8 left alone");
}

/* Every character a line-splitting reader or a terminal acts on. */
static void test_escape_unicode(void)
{
    char out[64], small[12];

    osrf_log_escape("a\xc2\x85" "b", out, sizeof(out));
    is_str(out, "a\\u{0085}b", "NEL (U+0085) becomes \\u{0085}");
    osrf_log_escape("\xc2\x80\xc2\x9b[2J\xc2\x9f", out, sizeof(out));
    is_str(out, "\\u{0080}\\u{009b}[2J\\u{009f}", "C1 controls (CSI among them) escaped");
    osrf_log_escape("x\xe2\x80\xa8y\xe2\x80\xa9z", out, sizeof(out));
    is_str(out, "x\\u{2028}y\\u{2029}z", "U+2028 and U+2029 escaped");
    osrf_log_escape("\xe2\x80\xa7\xe2\x80\xaa\xc2\xa0", out, sizeof(out));
    is_str(out, "\xe2\x80\xa7\xe2\x80\xaa\xc2\xa0", "their neighbours left alone");
    osrf_log_escape("\x85\xc0\xaf\xed\xa0\x80\xe2\x80", out, sizeof(out));
    is_str(out, "\\x85\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x80",
           "bytes that are not UTF-8 (stray, overlong, surrogate, cut) become \\xNN");
    osrf_log_escape("\xf0\x9f\x93\x9a", out, sizeof(out));
    is_str(out, "\xf0\x9f\x93\x9a", "a 4-byte character left alone");
    osrf_log_escape("abcd\xe2\x80\xa8", small, sizeof(small));
    is_str(small, "abcd...", "a cut never splits an escape");
    osrf_log_escape("abcdefg\xc3\xa9", small, sizeof(small));
    is_str(small, "abcdefg...", "nor a character");
    ok(osrf_log_clean("0.1234 \xc3\xa9"), "plain text and UTF-8 are clean");
    ok(!osrf_log_clean("x\xc2\x85"), "NEL is not");
    ok(!osrf_log_clean("x\xe2\x80\xa9"), "U+2029 is not");
    ok(!osrf_log_clean("x\x1b"), "ESC is not");
    ok(!osrf_log_clean("x\xff"), "a byte that is not UTF-8 is not");
}

static void test_file(const char *dir)
{
    char path[512], act[512], err[256];
    osrf_config cfg = { 0 };
    osrf_log log;
    char *text;

    snprintf(path, sizeof(path), "%s/main.log", dir);
    snprintf(act, sizeof(act), "%s/act.log", dir);
    cfg.logfile = path;
    cfg.actlog = act;
    cfg.logtag = "tag";
    cfg.loglevel = 2;
    ok(osrf_log_open(&log, &cfg, "gateway", NULL, err, sizeof(err)) == 0, "log opened");
    osrf_log_write(&log, OSRF_LOG_WARNING, "f.c", 7, "x\n1", "careful\r\n");
    osrf_log_write(&log, OSRF_LOG_INFO, "f.c", 8, "x2", "not at loglevel 2");
    osrf_log_write(&log, OSRF_LOG_ACTIVITY, "f.c", 9, "x3", "[ip] [] svc method []");
    osrf_log_write(&log, OSRF_LOG_WARNING, "f.c", 10, "x\xe2\x80\xa8" "4",
                   "one\xc2\x85two\xe2\x80\xa9three");
    osrf_log_close(&log);
    text = slurp(path);
    ok(strncmp(text, "gateway/tag 20", 14) == 0, "APPNAME/LOGTAG then the date");
    ok(strstr(text, " [WARN:") && strstr(text, ":f.c:7:x\\x0a1] careful\\x0d\\x0a\n"),
       "[LABEL:PID:FILE:LINE:XID] MESSAGE, all escaped, one line");
    ok(strstr(text, "not at loglevel") == NULL, "above loglevel: not written");
    ok(strstr(text, ":f.c:10:x\\u{2028}4] one\\u{0085}two\\u{2029}three\n") != NULL,
       "NEL and U+2029 in the message, U+2028 in the xid: escaped, one line");
    ok(strstr(text, "ACT") == NULL, "activity not in the main file");
    ok(strstr(slurp(act), "[ACT:") && strstr(slurp(act), ":f.c:9:x3] [ip] [] svc method []\n"),
       "activity in its own file");

    cfg.logfile = "/nonexistent/dir/x.log";
    ok(osrf_log_open(&log, &cfg, "gateway", NULL, err, sizeof(err)) < 0
       && strstr(err, "/nonexistent/dir/x.log"), "an unopenable file is refused, named");
    cfg.logfile = NULL;
    ok(osrf_log_open(&log, &cfg, "gateway", NULL, err, sizeof(err)) == 0 && !log.on,
       "no logfile: off (Apache's error log)");
}

static void test_config(const char *dir)
{
    char path[512], err[256];
    osrf_config cfg;
    FILE *f;

    snprintf(path, sizeof(path), "%s/core.xml", dir);
    f = fopen(path, "w");
    fputs("<config><gateway><domain>d</domain><username>u</username><passwd>p</passwd>"
          "<logfile>syslog</logfile><syslog>local6</syslog><actlog>local1</actlog>"
          "<loglevel>4</loglevel><logtag>web1</logtag></gateway></config>", f);
    fclose(f);
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) == 0, "config read");
    is_str(cfg.logfile, "syslog", "logfile");
    is_str(cfg.syslog, "local6", "syslog");
    is_str(cfg.actlog, "local1", "actlog");
    is_str(cfg.logtag, "web1", "logtag");
    is_int(cfg.loglevel, 4, "loglevel");
    osrf_config_free(&cfg);
    f = fopen(path, "w");
    fputs("<config><gateway><domain>d</domain><username>u</username><passwd>p</passwd>"
          "<loglevel>9</loglevel></gateway></config>", f);
    fclose(f);
    ok(osrf_config_read(path, "gateway", &cfg, err, sizeof(err)) < 0
       && strstr(err, "loglevel"), "loglevel 9 refused");
}

/* A log that has opened nothing closes nothing: descriptor 0 (the Apache
 * parent's standard input, where the module's log starts) stays open. */
static void test_closed(void)
{
    osrf_log log = OSRF_LOG_CLOSED;

    if (fcntl(0, F_GETFD) < 0 && open("/dev/null", O_RDONLY) != 0)
        diag("descriptor 0 not open, and /dev/null did not take it");
    osrf_log_close(&log);
    osrf_log_close(&log);
    ok(fcntl(0, F_GETFD) >= 0, "closing a log that opened nothing leaves descriptor 0 open");
    ok(!osrf_log_wants(&log, OSRF_LOG_ERROR), "and it writes nothing");
}

int main(void)
{
    char dir[] = "/tmp/osrf_log_test.XXXXXX", cmd[64];

    if (mkdtemp(dir) == NULL)
        return 2;
    test_escape();
    test_escape_unicode();
    test_closed();
    test_file(dir);
    test_config(dir);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        diag("could not remove %s", dir);
    return done_testing();
}
