# SPDX-License-Identifier: GPL-2.0-or-later
# src/core: OpenSRF without httpd and without sockets (it uses the codec
# and the gateway's number parser): its JSON, the
# translation both ways, opensrf_core.xml, the log lines.  Its flags name
# no httpd and no hiredis header directory.
noinst_LTLIBRARIES += libosrfcore.la
libosrfcore_la_SOURCES = include/osrf_bridge.h include/osrf_json.h \
	include/osrf_sessions.h include/osrf_config.h include/osrf_log.h \
	include/osrf_flight.h src/core/osrf_json.c src/core/osrf_translate.c \
	src/core/osrf_sessions.c src/core/osrf_config.c src/core/osrf_log.c \
	src/core/osrf_flight.c
libosrfcore_la_CPPFLAGS = $(AM_CPPFLAGS) $(XML_CFLAGS)
libosrfcore_la_LIBADD = libwscodec.la libwsgateway.la $(XML_LIBS)

check_PROGRAMS += t/unit/osrf_core_test
t_unit_osrf_core_test_SOURCES = t/unit/osrf_core_test.c t/unit/tap.h
t_unit_osrf_core_test_LDADD = libosrfcore.la

# The gateway's STATUS frames, checked byte for byte against json-c's
# output (what wrote them before): json-c is the test's, not the core's.
check_PROGRAMS += t/unit/osrf_status_test
t_unit_osrf_status_test_SOURCES = t/unit/osrf_status_test.c t/unit/tap.h
t_unit_osrf_status_test_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS)
t_unit_osrf_status_test_LDADD = libosrfcore.la $(JSONC_LIBS)

check_PROGRAMS += t/unit/osrf_log_test
t_unit_osrf_log_test_SOURCES = t/unit/osrf_log_test.c t/unit/tap.h
t_unit_osrf_log_test_LDADD = libosrfcore.la

check_PROGRAMS += t/unit/osrf_flight_test
t_unit_osrf_flight_test_SOURCES = t/unit/osrf_flight_test.c t/unit/tap.h
t_unit_osrf_flight_test_LDADD = libosrfcore.la
