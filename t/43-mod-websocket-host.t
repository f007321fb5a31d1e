# SPDX-License-Identifier: GPL-2.0-or-later
# The OpenSRF bridge in a host that loads plugins as mod_websocket does
# (t/hosts/mod_mw_host.c, in an Apache without our module): the bridge
# loads alone (no symbol only our module has), as a plugin of version 0,
# and serves OpenSRF with what such a host offers: no counters, no
# on_shutdown, close codes through mod_websocket's send of a close message.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(builddir srcdir wait_until);

my $plugins = builddir() . '/t/plugins/.libs';
my $host = builddir() . '/t/hosts/.libs/mw_host.so';
die "test host not built ($host): script/build (or make tests-built) builds it\n" unless -f $host;

my $gw = OSRFWS::Gateway->new(
    osrf => { keepalive => 3 },
    apache => { httpd_conf => srcdir() . '/t/hosts/mw_host.conf' },
    env => { OSRFWS_MW_HOST => $host, OSRFWS_TEST_PLUGINS => $plugins });
my $port = $gw->httpd->port;
my $c = OSRFWS::OsrfClient->new(port => $port);

my $r = $c->call('opensrf.math', 'add', [2, 3]);
is_deeply $r->{results}, [5], 'stateless add through the bridge in the mod_websocket-style host';
is $r->{status}, 205, 'then STATUS 205';
is_deeply $c->call('opensrf.test', 'stream', [20])->{results}, [1 .. 20],
    "streaming: 20 results in order, sent by the bridge's listener thread";
is $c->call('opensrf.math', 'div', [1, 0])->{status}, 500, 'method exception passed through';
is $c->call('opensrf.nosuch', 'x', [])->{status}, 404, 'unknown service: 404 on the thread';

# A stateful session: the bridge's session cache works here too.
my $t = OSRFWS::OsrfClient::new_thread();
$c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
is $c->collect($t)->{status}, 200, 'CONNECT answered 200';
$c->call('opensrf.test', 'session.set', ['k', 'v'], thread => $t);
is_deeply $c->call('opensrf.test', 'session.get', ['k'], thread => $t)->{results}, ['v'],
    'stateful session: the requests reach the same worker';

$c->ws->send_text('{"thread":"t-bad","service":"opensrf.math","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"RESULT","threadTrace":"1"}}]}');
is $c->collect('t-bad')->{status}, 400, 'a message type a client may not send: STATUS 400';

my $bad = OSRFWS::OsrfClient->new(port => $port);
$bad->ws->send_text('this is not json');
is $bad->ws->read_close, 1007, "not JSON: close 1007, through the host's send of a close message";

my ($all, @many) = OSRFWS::OsrfClient::all_answer_at_once($port, 6);
ok $all, '6 connections at once all answered';

# The children run the bridge without our module in their address space.
my @maps = map { open my $fh, '<', "/proc/$_/maps" or (); local $/; <$fh> // '' }
           $gw->httpd->children;
ok scalar(grep { /osrf_ws_bridge\.so/ } @maps), 'the children have the bridge loaded';
ok !grep({ /mod_osrf_websocket\.so/ } @maps), 'and not mod_osrf_websocket';

$_->ws->send_close(1000) for @many, $c;
undef @many; undef $c; undef $bad;
ok wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 15),
    'no gateway address left in Redis after the connections end'
    or diag join ' ', $gw->redis->keys_matching;

# A graceful restart: no on_shutdown in this host, so the bridge's own
# listener notices the child stopping and closes the idle connection
# with 1001 (at its next wake-up, within its bus timeout).
my $idle = OSRFWS::OsrfClient->new(port => $port);
is_deeply $idle->call('opensrf.math', 'add', [1, 1])->{results}, [2], 'a connection before the restart';
ok $gw->httpd->graceful_and_wait, 'graceful restart';
is $idle->ws->read_close(15), 1001, 'the bridge closes it with 1001 by itself';

my $later = OSRFWS::OsrfClient->new(port => $port);
is_deeply $later->call('opensrf.math', 'add', [40, 2])->{results}, [42], 'later connections work';
is_deeply [ $gw->httpd->log_problems ], [], 'nothing in the error log';
done_testing;
