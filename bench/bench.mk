# SPDX-License-Identifier: GPL-2.0-or-later
# The benchmarks' programs (bench/run drives them; see README.websockets).
# Built with everything else so t/60-bench-smoke.t can run them; not
# installed.
noinst_PROGRAMS += bench/loadgen bench/osrf-bench bench/delayproxy
bench_loadgen_SOURCES = bench/loadgen.c
bench_loadgen_CPPFLAGS = $(AM_CPPFLAGS) $(HIREDIS_CFLAGS) $(OPENSSL_CFLAGS)
bench_loadgen_LDADD = libwscodec.la $(HIREDIS_LIBS) $(OPENSSL_LIBS) -lm
bench_osrf_bench_SOURCES = bench/osrf-bench.c
bench_osrf_bench_CPPFLAGS = $(AM_CPPFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS)
bench_osrf_bench_LDADD = $(HIREDIS_LIBS) $(JSONC_LIBS)
bench_delayproxy_SOURCES = bench/delayproxy.c
EXTRA_DIST += bench/run bench/bench.pl bench/plot.gp bench/results bench/connections \
	bench/connections.pl
