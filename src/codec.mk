# The WebSocket codec: pure C over buffers, no httpd, no OpenSRF.
noinst_LTLIBRARIES += libwscodec.la
libwscodec_la_SOURCES = include/ws_codec.h src/ws_utf8.c src/ws_frame.c \
	src/ws_handshake.c
libwscodec_la_CPPFLAGS = $(AM_CPPFLAGS) $(APR_CFLAGS) $(APU_CFLAGS)
libwscodec_la_LIBADD = $(APU_LIBS) $(APR_LIBS)

check_PROGRAMS += t/unit/ws_codec_test
t_unit_ws_codec_test_SOURCES = t/unit/ws_codec_test.c t/unit/tap.h
t_unit_ws_codec_test_LDADD = libwscodec.la
