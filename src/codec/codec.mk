# SPDX-License-Identifier: GPL-2.0-or-later
# src/codec: the WebSocket codec (frames, UTF-8, the handshake's key,
# permessage-deflate, the session's timers and closing handshake) and the
# one growable buffer every layer uses: C over buffers and APR, no httpd,
# no OpenSRF.  Its flags name no httpd header directory, so an httpd
# include fails to build.
noinst_LTLIBRARIES += libwscodec.la
libwscodec_la_SOURCES = include/ws_codec.h include/ws_deflate.h include/ws_buffer.h \
	src/codec/ws_buffer.c src/codec/ws_utf8.c \
	src/codec/ws_frame.c src/codec/ws_handshake.c src/codec/ws_deflate.c \
	include/ws_session.h src/codec/ws_session.c
libwscodec_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS) $(APU_CFLAGS) $(ZLIB_CFLAGS)
libwscodec_la_LIBADD = $(APU_LIBS) $(APR_LIBS) $(ZLIB_LIBS)

check_PROGRAMS += t/unit/ws_buffer_test
t_unit_ws_buffer_test_SOURCES = t/unit/ws_buffer_test.c t/unit/tap.h
t_unit_ws_buffer_test_LDADD = libwscodec.la

check_PROGRAMS += t/unit/ws_codec_test
t_unit_ws_codec_test_SOURCES = t/unit/ws_codec_test.c t/unit/tap.h
t_unit_ws_codec_test_LDADD = libwscodec.la

check_PROGRAMS += t/unit/ws_deflate_test
t_unit_ws_deflate_test_SOURCES = t/unit/ws_deflate_test.c t/unit/tap.h
t_unit_ws_deflate_test_CPPFLAGS = $(AM_CPPFLAGS) $(ZLIB_CFLAGS)
t_unit_ws_deflate_test_LDADD = libwscodec.la $(ZLIB_LIBS)

check_PROGRAMS += t/unit/ws_session_test
t_unit_ws_session_test_SOURCES = t/unit/ws_session_test.c t/unit/tap.h
t_unit_ws_session_test_LDADD = libwscodec.la
