# SPDX-License-Identifier: GPL-2.0-or-later
# Fuzz targets (t/fuzz/*_fuzz.c, each an LLVMFuzzerTestOneInput).
#
# In every build they link with t/fuzz/standalone.c and `make check`
# replays their seed corpus, t/fuzz/corpus/NAME, findings included, as a
# regression test.  Configured with --enable-fuzzing (CC=clang) they link
# with libFuzzer instead, and `make fuzz` runs each for FUZZ_SECONDS over
# a working copy of its corpus (fuzz-work/NAME); crashes land in
# fuzz-work/NAME-crash-*.
fuzz_targets = t/fuzz/frame_fuzz t/fuzz/utf8_fuzz t/fuzz/handshake_fuzz \
	t/fuzz/deflate_fuzz t/fuzz/translate_fuzz t/fuzz/config_fuzz
if FUZZING
EXTRA_PROGRAMS = $(fuzz_targets)
FUZZ_MAIN =
FUZZ_LINK = -fsanitize=fuzzer
else
check_PROGRAMS += $(fuzz_targets)
FUZZ_MAIN = t/fuzz/standalone.c
FUZZ_LINK =
endif
FUZZ_COMMON = t/fuzz/fuzz.h $(FUZZ_MAIN)

t_fuzz_frame_fuzz_SOURCES = t/fuzz/frame_fuzz.c $(FUZZ_COMMON)
t_fuzz_frame_fuzz_LDADD = libwscodec.la
t_fuzz_frame_fuzz_LDFLAGS = $(FUZZ_LINK)
t_fuzz_utf8_fuzz_SOURCES = t/fuzz/utf8_fuzz.c $(FUZZ_COMMON)
t_fuzz_utf8_fuzz_LDADD = libwscodec.la
t_fuzz_utf8_fuzz_LDFLAGS = $(FUZZ_LINK)
t_fuzz_handshake_fuzz_SOURCES = t/fuzz/handshake_fuzz.c $(FUZZ_COMMON)
t_fuzz_handshake_fuzz_LDADD = libwscodec.la
t_fuzz_handshake_fuzz_LDFLAGS = $(FUZZ_LINK)
t_fuzz_deflate_fuzz_SOURCES = t/fuzz/deflate_fuzz.c $(FUZZ_COMMON)
t_fuzz_deflate_fuzz_LDADD = libwscodec.la
t_fuzz_deflate_fuzz_LDFLAGS = $(FUZZ_LINK)
t_fuzz_translate_fuzz_SOURCES = t/fuzz/translate_fuzz.c $(FUZZ_COMMON)
t_fuzz_translate_fuzz_CPPFLAGS = $(AM_CPPFLAGS) $(JSONC_CFLAGS)
t_fuzz_translate_fuzz_LDADD = libosrfcore.la $(JSONC_LIBS)
t_fuzz_translate_fuzz_LDFLAGS = $(FUZZ_LINK)
t_fuzz_config_fuzz_SOURCES = t/fuzz/config_fuzz.c $(FUZZ_COMMON)
t_fuzz_config_fuzz_LDADD = libosrfcore.la
t_fuzz_config_fuzz_LDFLAGS = $(FUZZ_LINK)

FUZZ_SECONDS = 30
fuzz:
if FUZZING
	$(MAKE) $(AM_MAKEFLAGS) $(fuzz_targets)
	@for p in $(fuzz_targets); do \
	  n=`basename $$p _fuzz`; \
	  $(MKDIR_P) fuzz-work/$$n; \
	  echo "== fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  ./$$p -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 -artifact_prefix=fuzz-work/$$n- \
	    fuzz-work/$$n $(abs_srcdir)/t/fuzz/corpus/$$n 2>fuzz-work/$$n.log \
	    || { tail -40 fuzz-work/$$n.log; exit 1; }; \
	  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' fuzz-work/$$n.log; \
	done
else
	@echo "make fuzz: configure with CC=clang --enable-fuzzing (script/build fuzz)" >&2; exit 1
endif
.PHONY: fuzz
CLEANFILES += $(EXTRA_PROGRAMS)
