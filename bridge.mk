# SPDX-License-Identifier: GPL-2.0-or-later
# The OpenSRF bridge: its core (no httpd, no sockets) and the plugin.
noinst_LTLIBRARIES += libosrfcore.la
libosrfcore_la_SOURCES = include/osrf_bridge.h include/osrf_json.h \
	include/osrf_config.h include/osrf_log.h src/osrf_json.c src/osrf_translate.c \
	src/osrf_config.c src/osrf_log.c
libosrfcore_la_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS) $(XML_CFLAGS)
libosrfcore_la_LIBADD = libwscodec.la $(JSONC_LIBS) $(XML_LIBS)
noinst_LTLIBRARIES += osrf_ws_bridge.la
osrf_ws_bridge_la_SOURCES = osrf_ws_bridge.c src/osrf_bus.c include/osrf_bus.h
osrf_ws_bridge_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS) $(HIREDIS_CFLAGS)
osrf_ws_bridge_la_LDFLAGS = $(MODULE_LDFLAGS)
osrf_ws_bridge_la_LIBADD = libosrfcore.la $(HIREDIS_LIBS)
INSTALLED_MODULES += osrf_ws_bridge.la

check_PROGRAMS += t/unit/osrf_core_test
t_unit_osrf_core_test_SOURCES = t/unit/osrf_core_test.c t/unit/tap.h
t_unit_osrf_core_test_LDADD = libosrfcore.la

check_PROGRAMS += t/unit/osrf_log_test
t_unit_osrf_log_test_SOURCES = t/unit/osrf_log_test.c t/unit/tap.h
t_unit_osrf_log_test_LDADD = libosrfcore.la
