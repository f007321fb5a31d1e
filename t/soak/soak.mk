# SPDX-License-Identifier: GPL-2.0-or-later
# make soak: hours of mixed traffic through the whole stack (not part of
# make check).  SOAK_SECONDS, SOAK_CONNECTIONS and SOAK_REPORT tune it.
SOAK_SECONDS = 3600
SOAK_CONNECTIONS = 200
SOAK_REPORT = $(abs_builddir)/soak-report.txt
soak: $(noinst_LTLIBRARIES)
	$(TEST_ENV) perl $(srcdir)/t/soak/soak.pl --seconds $(SOAK_SECONDS) \
	  --connections $(SOAK_CONNECTIONS) --report $(SOAK_REPORT)
.PHONY: soak

# The gateway under valgrind's memcheck (apache2 -X), a few calls of each
# kind through it; VALGRIND_GATEWAY_LOG keeps memcheck's log.
VALGRIND_GATEWAY_LOG = $(abs_builddir)/valgrind-gateway.log
valgrind-gateway: $(noinst_LTLIBRARIES)
	$(TEST_ENV) perl $(srcdir)/t/soak/valgrind-gateway.pl --log $(VALGRIND_GATEWAY_LOG)
.PHONY: valgrind-gateway
