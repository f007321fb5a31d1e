# SPDX-License-Identifier: GPL-2.0-or-later
# mod_osrf_websocket itself (Apache glue) and the echo plugin.
noinst_LTLIBRARIES += mod_osrf_websocket.la ws_echo.la
mod_osrf_websocket_la_SOURCES = mod_osrf_websocket.c include/websocket_plugin.h \
	src/ws_status.c include/ws_status.h src/ws_metrics.c include/ws_metrics.h \
	src/ws_series.c include/ws_series.h src/ws_status_page.c include/ws_status_page.h \
	include/ws_out.h \
	src/ws_prefork.c include/ws_prefork.h src/ws_reserve.c include/ws_reserve.h
mod_osrf_websocket_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS)
mod_osrf_websocket_la_LDFLAGS = $(MODULE_LDFLAGS)
mod_osrf_websocket_la_LIBADD = libwscodec.la

ws_echo_la_SOURCES = src/ws_echo_plugin.c
ws_echo_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS)
ws_echo_la_LDFLAGS = $(MODULE_LDFLAGS)

INSTALLED_MODULES += mod_osrf_websocket.la ws_echo.la

# A test-only plugin whose own thread calls send while the connection reads.
check_LTLIBRARIES += t/plugins/ws_stress.la
t_plugins_ws_stress_la_SOURCES = t/plugins/ws_stress_plugin.c
t_plugins_ws_stress_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS)
t_plugins_ws_stress_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere

# Test-only, for mod_websocket compatibility both ways: a plugin written
# to mod_websocket's interface as its examples are (server version check,
# a sending thread of its own), and a host module that loads plugins as
# mod_websocket does, for an Apache without ours.
check_LTLIBRARIES += t/plugins/ws_counter.la t/hosts/mw_host.la
t_plugins_ws_counter_la_SOURCES = t/plugins/ws_counter_plugin.c
t_plugins_ws_counter_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS)
t_plugins_ws_counter_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
t_hosts_mw_host_la_SOURCES = t/hosts/mod_mw_host.c
t_hosts_mw_host_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS)
t_hosts_mw_host_la_LDFLAGS = -module -avoid-version -shared -rpath /nowhere
t_hosts_mw_host_la_LIBADD = libwscodec.la

# The counter table and its renderings, without httpd.
check_PROGRAMS += t/unit/ws_metrics_test
t_unit_ws_metrics_test_SOURCES = t/unit/ws_metrics_test.c t/unit/tap.h src/ws_metrics.c

# The status page's history ring, view choice and HTML, without httpd.
check_PROGRAMS += t/unit/ws_status_page_test
t_unit_ws_status_page_test_SOURCES = t/unit/ws_status_page_test.c t/unit/tap.h \
	src/ws_series.c src/ws_status_page.c src/ws_metrics.c
