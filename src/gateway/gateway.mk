# SPDX-License-Identifier: GPL-2.0-or-later
# src/gateway: the gateway's own decisions and bookkeeping, without httpd:
# the directives' numbers, which address a client is (X-Forwarded-For through trusted proxies), the
# counters, their history and the status page rendered from them.
noinst_LTLIBRARIES += libwsgateway.la
libwsgateway_la_SOURCES = include/ws_number.h src/gateway/ws_number.c \
	include/ws_admit.h src/gateway/ws_admit.c \
	include/ws_metrics.h src/gateway/ws_metrics.c \
	include/ws_series.h src/gateway/ws_series.c \
	include/ws_status_page.h src/gateway/ws_status_page.c
libwsgateway_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS)
libwsgateway_la_LIBADD = $(APR_LIBS)

check_PROGRAMS += t/unit/ws_number_test
t_unit_ws_number_test_SOURCES = t/unit/ws_number_test.c t/unit/tap.h
t_unit_ws_number_test_LDADD = libwsgateway.la

check_PROGRAMS += t/unit/ws_admit_test
t_unit_ws_admit_test_SOURCES = t/unit/ws_admit_test.c t/unit/tap.h
t_unit_ws_admit_test_LDADD = libwsgateway.la

check_PROGRAMS += t/unit/ws_metrics_test
t_unit_ws_metrics_test_SOURCES = t/unit/ws_metrics_test.c t/unit/tap.h
t_unit_ws_metrics_test_LDADD = libwsgateway.la

check_PROGRAMS += t/unit/ws_status_page_test
t_unit_ws_status_page_test_SOURCES = t/unit/ws_status_page_test.c t/unit/tap.h
t_unit_ws_status_page_test_LDADD = libwsgateway.la
