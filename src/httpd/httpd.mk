# SPDX-License-Identifier: GPL-2.0-or-later
# src/httpd and the two top-level glue files: what runs inside Apache.
# mod_osrf_websocket (the WebSocket module), osrf_ws_bridge (the OpenSRF
# plugin, with its Redis I/O), the echo plugin, and the test-only plugins
# and host that check mod_websocket compatibility both ways.
noinst_LTLIBRARIES += mod_osrf_websocket.la ws_echo.la osrf_ws_bridge.la
mod_osrf_websocket_la_SOURCES = mod_osrf_websocket.c include/websocket_plugin.h \
	src/httpd/ws_config.c include/ws_config.h src/httpd/ws_conn.c \
	src/httpd/ws_conn_read.c include/ws_conn.h src/httpd/ws_plugin_api.c \
	include/ws_plugin_api.h \
	src/httpd/ws_status.c include/ws_status.h include/ws_out.h \
	src/httpd/ws_prefork.c include/ws_prefork.h src/httpd/ws_reserve.c include/ws_reserve.h
mod_osrf_websocket_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS)
mod_osrf_websocket_la_LDFLAGS = $(MODULE_LDFLAGS)
mod_osrf_websocket_la_LIBADD = libwscodec.la libwsgateway.la

osrf_ws_bridge_la_SOURCES = osrf_ws_bridge.c include/osrf_ws_bridge.h \
	src/httpd/osrf_bridge_conn.c src/httpd/osrf_bridge_listen.c \
	src/httpd/osrf_bridge_bus.c src/httpd/osrf_bridge_log.c \
	src/httpd/osrf_bridge_conf.c include/osrf_bridge_conf.h \
	src/httpd/ws_prefork.c include/ws_prefork.h \
	src/httpd/osrf_bus.c include/osrf_bus.h
osrf_ws_bridge_la_CPPFLAGS = $(AM_CPPFLAGS) $(HTTPD_CPPFLAGS) $(HIREDIS_CFLAGS)
osrf_ws_bridge_la_LDFLAGS = $(MODULE_LDFLAGS)
osrf_ws_bridge_la_LIBADD = libosrfcore.la $(HIREDIS_LIBS)

ws_echo_la_SOURCES = src/httpd/ws_echo_plugin.c
ws_echo_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS)
ws_echo_la_LDFLAGS = $(MODULE_LDFLAGS)

INSTALLED_MODULES += mod_osrf_websocket.la ws_echo.la osrf_ws_bridge.la

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
