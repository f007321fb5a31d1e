# SPDX-License-Identifier: GPL-2.0-or-later
# Closing, RFC 6455 sections 5.5.1 and 7: the handshake, code and reason
# validation, TCP closed by the server; pings on idle connections; 1001 on
# a graceful restart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time);
use OSRFWS::Apache;
use OSRFWS::WSClient;

my $httpd = OSRFWS::Apache->new(ping_interval => 1);
my $port = $httpd->port;
sub ws { my $c = OSRFWS::WSClient->connect(port => $port); die unless $c->status == 101; $c }

{
    my $c = ws();
    $c->send_close(1000, 'bye');
    is $c->read_close, 1000, 'close 1000 answered with 1000';
    ok $c->wait_eof(3), 'server closes TCP after the close handshake';
}
{
    my $c = ws();
    $c->send_close();
    is $c->read_close, 1000, 'empty close answered with 1000';
    ok $c->wait_eof(3), 'TCP closed';
}
for my $code (1001, 1003, 1007, 1011, 3000, 4999) {
    my $c = ws();
    $c->send_close($code);
    is $c->read_close, $code, "valid code $code echoed";
}
for my $code (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000) {
    my $c = ws();
    $c->send_close($code);
    is $c->read_close, 1002, "invalid close code $code: 1002";
}
{
    my $c = ws();
    $c->send_frame(opcode => 8, payload => "\x03");
    is $c->read_close, 1002, 'close with a 1-byte payload: 1002';
}
{
    my $c = ws();
    $c->send_close(1000, "\xce\xba\xff");
    is $c->read_close, 1007, 'close reason that is not UTF-8: 1007';
}
{
    my $c = ws();
    $c->send_text('queued before close');
    $c->send_close(1000);
    my $m = $c->read_message;
    is $m && $m->{payload}, 'queued before close', 'a message sent before close is answered';
    is $c->read_close, 1000, 'then the close';
}
{
    # the server starts the closing handshake: it waits for the client's
    # close frame (WebSocketCloseTimeout), then drops TCP anyway
    my $h2 = OSRFWS::Apache->new(conf => "WebSocketCloseTimeout 1\n");
    my $c = OSRFWS::WSClient->connect(port => $h2->port);
    $h2->graceful;
    is $c->read_close(10), 1001, 'server-initiated close';
    my $t0 = time;
    ok $c->wait_eof(5), 'a client that never answers is dropped after the close timeout';
    cmp_ok time - $t0, '<', 3, 'within about WebSocketCloseTimeout';
}
{
    my $c = ws();
    $c->send_close(1000);
    $c->send_text('after close');
    is $c->read_close, 1000, 'data after a close frame is not echoed';
    my $f = $c->read_frame(1);
    ok !$f, 'nothing follows the close frame';
}

# Pings: a silent client is pinged after the interval; one that answers
# stays; one that does not is dropped.
{
    my $c = ws();
    my $t0 = time;
    my $f = $c->read_frame(5);
    ok $f && $f->{opcode} == 9, 'silent connection gets a server ping';
    cmp_ok time - $t0, '<', 3, 'within about the ping interval';
    $c->send_pong($f ? $f->{payload} : '');
    $f = $c->read_frame(5);
    ok $f && $f->{opcode} == 9, 'an answering client is pinged again later, not dropped';
    $c->send_pong($f ? $f->{payload} : '');
    $c->send_text('alive');
    my $m = $c->read_message;
    is $m && $m->{payload}, 'alive', 'connection still works';
}
{
    my $c = ws();
    my $t0 = time;
    ok $c->wait_eof(6), 'a client that never answers pings is dropped';
    cmp_ok time - $t0, '<', 5, 'within two ping intervals';
    like $httpd->error_log, qr/OSRFWS01007/, 'the drop is logged';
}

# Graceful restart: the echo plugin has nothing in flight, so its
# connections are closed at once with 1001 and new ones work.
{
    my $c = ws();
    $c->send_text('before');
    $c->read_message;
    $httpd->graceful;
    is $c->read_close(10), 1001, 'graceful restart closes with 1001';
    $c->send_close(1001);
    ok $c->wait_eof(3), 'and drops TCP once the client answers the close';
    my $ok = OSRFWS::Util::wait_until(sub {
        my $n = eval { OSRFWS::WSClient->connect(port => $port) };
        return $n && $n->status == 101;
    }, 10);
    ok $ok, 'new connections are served after the restart';
}

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
