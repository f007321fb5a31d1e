# SPDX-License-Identifier: GPL-2.0-or-later
# The opening handshake, RFC 6455 section 4.2: every rule against the echo
# endpoint of a real Apache.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Apache;
use OSRFWS::WSClient;

my $httpd = OSRFWS::Apache->new(
    conf => "<Location /echo-origin>\n  Require all granted\n"
          . "  SetHandler websocket-handler\n"
          . "  WebSocketHandler \${OSRF_WS_MODULES}/ws_echo.so echo_init\n"
          . "  WebSocketAllowedOrigins https://staff.example.org\n</Location>\n");
my $port = $httpd->port;

sub hs { OSRFWS::WSClient->connect(port => $port, @_) }

my $ws = hs();
is $ws->status, 101, 'a valid handshake switches protocols';
ok defined $ws->header('Sec-WebSocket-Accept'), 'Sec-WebSocket-Accept present';
like lc $ws->header('upgrade'), qr/^websocket$/, 'Upgrade: websocket in the answer';
like lc $ws->header('connection'), qr/upgrade/, 'Connection: upgrade in the answer';
$ws->send_text('hi');
is $ws->read_message->{payload}, 'hi', 'echo works after the handshake';

# The accept key for a known key (RFC 6455 section 1.3's example).
$ws = hs(key => 'dGhlIHNhbXBsZSBub25jZQ==');
is $ws->header('Sec-WebSocket-Accept'), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    'Sec-WebSocket-Accept computed from the key';

is hs(method => 'POST')->status, 400, 'GET only: POST is refused with 400';
is hs(protocol => 'HTTP/1.0')->status, 400, 'HTTP/1.0 is refused with 400';
is hs(headers => { Upgrade => 'WebSocket' })->status, 101,
    'Upgrade value is case-insensitive';
is hs(headers => { Upgrade => 'h2c, websocket' })->status, 101,
    'Upgrade token found in a comma list';
is hs(headers => { Upgrade => undef })->status, 400, 'missing Upgrade: 400';
is hs(headers => { Upgrade => 'websockets' })->status, 400, 'wrong Upgrade token: 400';
is hs(headers => { Connection => 'keep-alive, Upgrade' })->status, 101,
    'Connection token found in a comma list (Firefox sends this)';
is hs(headers => { Connection => 'UPGRADE' })->status, 101,
    'Connection value is case-insensitive';
is hs(headers => { Connection => 'keep-alive' })->status, 400,
    'Connection without upgrade: 400';
is hs(key => undef)->status, 400, 'missing key: 400';
is hs(key => 'dGhlIHNhbXBsZSBub25jZQ')->status, 400, 'key without padding: 400';
is hs(key => 'c2hvcnQ=')->status, 400, 'key of 5 bytes: 400';
is hs(key => 'dGhlIHNhbXBsZSBub25jZWU=')->status, 400, 'key of 17 bytes: 400';

my $v8 = hs(headers => { 'Sec-WebSocket-Version' => '8' });
is $v8->status, 426, 'version 8: 426 Upgrade Required';
is $v8->header('Sec-WebSocket-Version'), '13', '426 names the supported version';
is hs(headers => { 'Sec-WebSocket-Version' => undef })->status, 426,
    'missing version: 426';

# Subprotocols: the first offered is chosen; none offered, none answered.
$ws = hs(headers => { 'Sec-WebSocket-Protocol' => 'chat, superchat' });
is $ws->status, 101, 'subprotocols offered: switches';
is $ws->header('Sec-WebSocket-Protocol'), 'chat', 'first offered subprotocol chosen';
$ws = hs();
is $ws->header('Sec-WebSocket-Protocol'), undef, 'no subprotocol when none offered';

# The Origin allow-list.
is hs(path => '/echo-origin', headers => { Origin => 'https://staff.example.org' })->status,
    101, 'allowed Origin switches';
is hs(path => '/echo-origin', headers => { Origin => 'https://evil.example' })->status,
    403, 'refused Origin: 403';
is hs(path => '/echo-origin')->status, 403, 'no Origin where a list is set: 403';
is hs(headers => { Origin => 'https://anything.example' })->status, 101,
    'no allow-list: any Origin';
like $httpd->error_log, qr/OSRFWS01009: refused Origin https:\/\/evil\.example/,
    'refused Origin is logged';

# Frames sent right behind the handshake, in the same packet, are not lost.
$ws = hs(after_handshake => OSRFWS::WSClient::frame(opcode => 1, payload => 'early'));
is $ws->status, 101, 'handshake with a frame right behind it';
my $m = $ws->read_message;
is $m && $m->{payload}, 'early', 'the frame sent with the handshake is echoed';

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
