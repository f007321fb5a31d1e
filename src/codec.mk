# SPDX-License-Identifier: GPL-2.0-or-later
# The WebSocket codec: pure C over buffers, no httpd, no OpenSRF.
noinst_LTLIBRARIES += libwscodec.la
libwscodec_la_SOURCES = include/ws_codec.h include/ws_deflate.h src/ws_utf8.c \
	src/ws_frame.c src/ws_handshake.c src/ws_deflate.c include/ws_admit.h src/ws_admit.c
libwscodec_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS) $(APU_CFLAGS) $(ZLIB_CFLAGS)
libwscodec_la_LIBADD = $(APU_LIBS) $(APR_LIBS) $(ZLIB_LIBS)

check_PROGRAMS += t/unit/ws_codec_test
t_unit_ws_codec_test_SOURCES = t/unit/ws_codec_test.c t/unit/tap.h
t_unit_ws_codec_test_LDADD = libwscodec.la

check_PROGRAMS += t/unit/ws_deflate_test
t_unit_ws_deflate_test_SOURCES = t/unit/ws_deflate_test.c t/unit/tap.h
t_unit_ws_deflate_test_CPPFLAGS = $(AM_CPPFLAGS) $(ZLIB_CFLAGS)
t_unit_ws_deflate_test_LDADD = libwscodec.la $(ZLIB_LIBS)

check_PROGRAMS += t/unit/ws_admit_test
t_unit_ws_admit_test_SOURCES = t/unit/ws_admit_test.c t/unit/tap.h
t_unit_ws_admit_test_LDADD = libwscodec.la
