# SPDX-License-Identifier: GPL-2.0-or-later
# The bridge's own directives (which win over OSRF_WEBSOCKET_*), the cap on
# cached stateful sessions, and the client address behind a trusted proxy.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;

my $gw = OSRFWS::Gateway->new(
    env => { OSRF_WEBSOCKET_IDLE_TIMEOUT => 600, OSRF_WEBSOCKET_IDLE_CHECK_INTERVAL => 1 },
    apache => { conf => "OSRFWebSocketMaxSessions 2\n"
                      . "OSRFWebSocketIdleTimeout 2\n"
                      . "OSRFWebSocketTrustedProxies 127.0.0.1\n" });
my $port = $gw->httpd->port;

my $c = OSRFWS::OsrfClient->new(port => $port);
my @t = map { OSRFWS::OsrfClient::new_thread() } 1 .. 3;
for my $i (0, 1) {
    $c->send_msg('opensrf.test', $t[$i], OSRFWS::OsrfClient::message('CONNECT', 0));
    is $c->collect($t[$i])->{status}, 200, "stateful session @{[ $i + 1 ]} accepted";
}
$c->send_msg('opensrf.test', $t[2], OSRFWS::OsrfClient::message('CONNECT', 0));
my $r = $c->collect($t[2]);
is $r->{status}, 503, 'a third session over OSRFWebSocketMaxSessions 2: STATUS 503 on its thread';
$c->send_msg('opensrf.test', $t[0], OSRFWS::OsrfClient::message('DISCONNECT', 0));
$c->send_msg('opensrf.test', $t[2], OSRFWS::OsrfClient::message('CONNECT', 0));
is $c->collect($t[2])->{status}, 200, 'after a DISCONNECT there is room again';

# X-Forwarded-For from a trusted proxy names the client in the activity log.
my $p = OSRFWS::WSClient->connect(port => $port, path => '/osrf-websocket-translator',
                                  headers => { 'X-Forwarded-For' => '203.0.113.7, 127.0.0.1' });
$p->send_text('{"service":"opensrf.math","thread":"xff-1","osrf_msg":[{"__c":"osrfMessage",'
            . '"__p":{"threadTrace":"1","type":"REQUEST","payload":{"__c":"osrfMethod",'
            . '"__p":{"method":"add","params":[7,7]}}}}]}');
1 while ($p->read_message(5) // { payload => '"statusCode":205' })->{payload} !~ /205/;
like $gw->httpd->error_log, qr/\[203\.0\.113\.7\] \[\] opensrf\.math add \[7,7\]/,
    'behind a trusted proxy the forwarded client address is logged';

# OSRFWebSocketIdleTimeout 2 wins over OSRF_WEBSOCKET_IDLE_TIMEOUT=600.
my $idle = OSRFWS::OsrfClient->new(port => $port);
$idle->call('opensrf.math', 'add', [1, 1]);
my $t0 = time;
ok defined $idle->ws->read_close(10), 'the directive idle timeout applies';
cmp_ok time - $t0, '<', 6, 'not the environment one';
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';

# A missing opensrf_core.xml stops Apache's start, naming the file.
my $bad = eval { OSRFWS::Apache->new(bridge => 1, env => {
    OSRF_WEBSOCKET_CONFIG_FILE => '/nonexistent/opensrf_core.xml' }) };
ok !$bad, 'Apache does not start without its opensrf_core.xml';
like $@, qr{OSRFWS02011: /nonexistent/opensrf_core\.xml: }, 'the message names the file';
done_testing;
