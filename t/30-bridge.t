# SPDX-License-Identifier: GPL-2.0-or-later
# The OpenSRF bridge end to end: a client speaking opensrf.js's frames,
# the gateway in a real Apache, the test OpenSRF on a real Redis with
# OpenSRF's ACL accounts.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::XS;
use OSRFWS::Gateway;
use OSRFWS::OsrfClient;
use OSRFWS::Util qw(wait_until);

my $gw = OSRFWS::Gateway->new(osrf => { keepalive => 3 });
my $port = $gw->httpd->port;
my $c = OSRFWS::OsrfClient->new(port => $port);

my $r = $c->call('opensrf.math', 'add', [2, 3]);
is_deeply $r->{results}, [5], 'stateless add through the gateway';
is $r->{status}, 205, 'then STATUS 205';
like $r->{frames}[0], qr/^\{"thread":"[^"]+","log_xid":"[^"]*","osrf_msg":\[/,
    'reply frames are compact, thread first (the pattern opensrf.js matches)';
unlike join('', @{ $r->{frames} }), qr/"thread": /, 'no space after the thread key';

is_deeply $c->call('opensrf.math', 'opensrf.system.echo', ['a', {b => 1}])->{results},
    ['a', {b => 1}], 'echo: one RESULT per param';
is $c->call('opensrf.math', 'div', [1, 0])->{status}, 500, 'method exception passed through';
is_deeply $c->call('opensrf.test', 'stream', [20])->{results}, [1 .. 20],
    'streaming: 20 results in order';
is length($c->call('opensrf.test', 'large', [1_500_000], timeout => 20)->{results}[0] // ''),
    1_500_000, 'a result over 1 MB';
my $deep = $c->call('opensrf.test', 'deep', [200])->{results}[0];
my $depth = 0;
while (ref $deep eq 'HASH') { $depth++; $deep = $deep->{__p}[0] }
is $depth, 200, 'a result nested 200 levels deep arrives whole (class hints kept)';

$r = $c->call('opensrf.nosuch', 'x', []);
is $r->{status}, 404, 'unknown service: 404 on the thread';

# Stateful session: CONNECT, requests to the same worker, DISCONNECT.
my $t = OSRFWS::OsrfClient::new_thread();
$c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('CONNECT', 0));
is $c->collect($t)->{status}, 200, 'CONNECT answered 200';
my $w = $c->call('opensrf.test', 'whoami', [], thread => $t)->{results}[0];
$c->call('opensrf.test', 'session.set', ['k', 'v'], thread => $t);
is_deeply $c->call('opensrf.test', 'session.get', ['k'], thread => $t)->{results}, ['v'],
    'session state kept: requests go to the worker';
is $c->call('opensrf.test', 'whoami', [], thread => $t)->{results}[0], $w, 'same worker';
$c->send_msg('opensrf.test', $t, OSRFWS::OsrfClient::message('DISCONNECT', 0));
my %workers = map { $c->call('opensrf.test', 'whoami', [], thread => $t)->{results}[0] => 1 } 1 .. 6;
cmp_ok scalar(keys %workers), '>', 1, 'after DISCONNECT the thread goes through the router again';

# Interleaved sessions on one connection.
my @threads = map { OSRFWS::OsrfClient::new_thread() } 1 .. 5;
$c->send_request('opensrf.math', $threads[$_], 'add', [$_, 100]) for 0 .. 4;
my (%got, %index);
@index{@threads} = 0 .. 4;
while (keys %got < 5 and my $m = $c->ws->read_message(10)) {
    my $f = decode_json($m->{payload});
    for my $msg (@{ $f->{osrf_msg} }) {
        $got{ $index{ $f->{thread} } } = $msg->{__p}{payload}{__p}{content}
            if $msg->{__p}{type} eq 'RESULT';
    }
}
is_deeply \%got, { map { $_ => $_ + 100 } 0 .. 4 }, 'five interleaved threads each get their answer';

# Bad input: clear answers, connection kept or closed as it should.
$c->ws->send_text('{"thread":"t-bad","service":"opensrf.math","osrf_msg":[{"__c":"osrfMessage","__p":{"type":"RESULT","threadTrace":"1"}}]}');
$r = $c->collect('t-bad');
is $r->{status}, 400, 'a message type a client may not send: STATUS 400 on its thread';
$c->ws->send_text('{"thread":"t-svc","service":"opensrf:math","osrf_msg":[]}');
is $c->collect('t-svc')->{status}, 400, 'service with ":": STATUS 400';
$c->ws->send_text(encode_json({ thread => 'x' x 65, service => 'opensrf.math', osrf_msg => [] }));
is $c->ws->read_close, 1008, 'thread over 64 characters, thread unknown: close 1008';

my $c2 = OSRFWS::OsrfClient->new(port => $port);
$c2->ws->send_text('this is not json');
is $c2->ws->read_close, 1007, 'not JSON: close 1007';

# Many connections at once.
my ($all, @many) = OSRFWS::OsrfClient::all_answer_at_once($port, 12);
ok $all, '12 connections at once all answered';
$_->ws->send_close(1000) for @many;
undef @many;

# No key left behind once clients are gone.
undef $c; undef $c2;
ok wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 15),
    'no gateway address left in Redis after the connections end'
    or diag join ' ', $gw->redis->keys_matching;

# The next connection on a child works (addresses and bus logins reused).
my $c3 = OSRFWS::OsrfClient->new(port => $port);
is_deeply $c3->call('opensrf.math', 'add', [40, 2])->{results}, [42], 'later connections work';

like $gw->httpd->error_log, qr/OSRFWS02010: \[127\.0\.0\.1\] \[\] opensrf\.math add \[40,2\]/,
    'activity log line: [IP] [] SERVICE METHOD PARAMS';
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log (no NOPERM from the ACL)';
done_testing;
