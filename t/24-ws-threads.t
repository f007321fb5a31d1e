# SPDX-License-Identifier: GPL-2.0-or-later
# send from a second thread while the connection reads, over wss: 20
# connections at full speed for OSRFWS_STRESS_SECONDS (default 60; 15 on
# the sanitizer build, whose make check follows the release build's),
# every frame checked, nothing in the error log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP qw(decode_json);
use OSRFWS::Apache;

my $seconds = $ENV{OSRFWS_STRESS_SECONDS}
            // (($ENV{OSRFWS_SANITIZERS} // '') eq 'yes' ? 15 : 60);
my $plugin = OSRFWS::Util::builddir() . '/t/plugins/.libs/ws_stress.so';
die "stress plugin not built ($plugin): script/build (or make tests-built) builds it\n"
    unless -f $plugin;

my $httpd = OSRFWS::Apache->new(
    tls => 1, max_clients => 32, start_servers => 22,
    conf => "WebSocketHandler /stress $plugin stress_init\n"
          . "<Location /stress>\n  Require all granted\n"
          . "  WebSocketMaxQueuedBytes 256K\n"
          # One Python process reads all 20 full-speed TLS streams: on a
          # loaded machine it can fall more than the default 10 s behind on
          # one of them, and the send timeout (t/35's subject) would drop it.
          . "  WebSocketSendTimeout 120\n</Location>\n");

for my $url ($httpd->tls_url('/stress'), $httpd->url('/stress')) {
    my $secs = $url =~ /^wss/ ? $seconds : 5;
    my $out = `/usr/bin/python3 $FindBin::Bin/clients/stress.py $url 20 $secs 2>&1`;
    is $?, 0, "20 connections for ${secs}s over $url: every frame intact"
        or diag $out;
    my ($line) = $out =~ /^(\{.*\})$/m;
    my $totals = eval { decode_json($line // '{}') } // {};
    cmp_ok $totals->{echoes} // 0, '>', 20, 'echoes flowed';
    cmp_ok $totals->{thread_messages} // 0, '>', 20, "the plugin's own thread's messages flowed";
    note $out;
}

is_deeply [ $httpd->log_problems ], [], 'nothing in the error log, no sanitizer report';
my @kids = $httpd->children;
cmp_ok scalar(@kids), '>', 0, 'children still there';
done_testing;
