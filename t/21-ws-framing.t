# SPDX-License-Identifier: GPL-2.0-or-later
# Data framing, RFC 6455 section 5: every rule against the echo endpoint.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Apache;
use OSRFWS::WSClient;

my $httpd = OSRFWS::Apache->new(max_message => '1M');
my $port = $httpd->port;
sub ws { my $c = OSRFWS::WSClient->connect(port => $port); die unless $c->status == 101; $c }

# Payload lengths: 7-bit, 16-bit and 64-bit encodings, both ways.
for my $n (0, 1, 125, 126, 65535, 65536, 1000000) {
    my $c = ws();
    my $data = join '', map { chr(65 + $_ % 26) } 0 .. $n - 1;
    $c->send_binary($data);
    my $f = $c->read_frame(10);
    ok $f && $f->{opcode} == 2 && $f->{payload} eq $data && $f->{fin},
        "binary message of $n bytes echoed in one frame";
    ok $f && !$f->{masked}, "server frame of $n bytes is not masked";
}

{
    my $c = ws();
    $c->send_frame(opcode => 1, payload => 'unmasked', mask => 0);
    is $c->read_close, 1002, 'unmasked client frame: close 1002';
    ok $c->wait_eof(3), 'server drops TCP after failing the connection';
}

for my $rsv (1, 2, 4) {
    my $c = ws();
    $c->send_frame(opcode => 1, payload => 'x', rsv => $rsv);
    is $c->read_close, 1002, "RSV bits $rsv without an extension: close 1002";
}

for my $op (3 .. 7, 0xB .. 0xF) {
    my $c = ws();
    $c->send_frame(opcode => $op, payload => '');
    is $c->read_close, 1002, "reserved opcode $op: close 1002";
}

{
    my $c = ws();
    $c->send_frame(opcode => 1, payload => 'Hel', fin => 0);
    $c->send_ping('mid');
    $c->send_frame(opcode => 0, payload => 'lo ', fin => 0);
    $c->send_frame(opcode => 10, payload => 'ignored pong');
    $c->send_frame(opcode => 0, payload => 'world', fin => 1);
    my $pong = $c->read_frame;
    ok $pong && $pong->{opcode} == 10 && $pong->{payload} eq 'mid',
        'ping inside a fragmented message answered at once with the same payload';
    my $m = $c->read_frame;
    ok $m && $m->{opcode} == 1 && $m->{payload} eq 'Hello world',
        'fragments reassembled, pong ignored';
}

{
    my $c = ws();
    $c->send_frame(opcode => 9, payload => 'frag', fin => 0);
    is $c->read_close, 1002, 'fragmented control frame: close 1002';
}
{
    my $c = ws();
    $c->send_frame(opcode => 9, payload => 'x' x 126);
    is $c->read_close, 1002, 'ping over 125 bytes: close 1002';
}
{
    my $c = ws();
    $c->send_frame(opcode => 0, payload => 'x');
    is $c->read_close, 1002, 'continuation with no message: close 1002';
}
{
    my $c = ws();
    $c->send_frame(opcode => 1, payload => 'a', fin => 0);
    $c->send_frame(opcode => 1, payload => 'b');
    is $c->read_close, 1002, 'new message inside a fragmented one: close 1002';
}
{
    my $c = ws();
    $c->send_ping('ping payload');
    my $f = $c->read_frame;
    ok $f && $f->{opcode} == 10 && $f->{payload} eq 'ping payload',
        'ping answered by pong with the same payload';
    $c->send_pong('unsolicited');
    $c->send_text('after pong');
    $f = $c->read_frame;
    ok $f && $f->{opcode} == 1 && $f->{payload} eq 'after pong',
        'unsolicited pong ignored';
}

# UTF-8: invalid text fails with 1007 as soon as invalidity is certain,
# without waiting for the end of the message.
{
    my $c = ws();
    $c->send_frame(opcode => 1, payload => "\xce\xba\xe1\xbd\xb9", fin => 0);
    $c->send_frame(opcode => 0, payload => "\xcf\x83\xed\xa0\x80", fin => 0);
    is $c->read_close(3), 1007, 'invalid UTF-8 in an unfinished message: close 1007 at once';
}
{
    my $c = ws();
    # half a frame: 100 bytes announced, 4 sent, the 2nd invalid
    my $frame = OSRFWS::WSClient::frame(opcode => 1, payload => "a\xffbc" . ('x' x 96));
    $c->send_raw(substr($frame, 0, 2 + 4 + 4));
    is $c->read_close(3), 1007, 'invalid UTF-8 in an unfinished frame: close 1007 at once';
}
{
    my $c = ws();
    $c->send_frame(opcode => 1, payload => "\xce\xba\xe1", fin => 0);
    $c->send_frame(opcode => 0, payload => "\xbd\xb9", fin => 1);
    my $m = $c->read_message;
    is $m && $m->{payload}, "\xce\xba\xe1\xbd\xb9", 'UTF-8 split across fragments is valid';
}
{
    my $c = ws();
    $c->send_text("\xe2\x82");
    is $c->read_close, 1007, 'text ending inside a character: close 1007';
}
{
    my $c = ws();
    $c->send_binary("\xff\xfe\xfd");
    is $c->read_message->{payload}, "\xff\xfe\xfd", 'binary is not UTF-8 checked';
}

# Maximum message size (1M here), counted over all fragments.
{
    my $c = ws();
    $c->send_binary('x' x (1024 * 1024));
    is length(($c->read_message(10) // {})->{payload} // ''), 1024 * 1024,
        'message at the maximum size passes';
    $c->send_binary('x' x (1024 * 1024 + 1));
    is $c->read_close(5), 1009, 'message over the maximum: close 1009';
}
{
    my $c = ws();
    $c->send_frame(opcode => 2, payload => 'x' x (700 * 1024), fin => 0);
    $c->send_frame(opcode => 0, payload => 'x' x (400 * 1024), fin => 1);
    is $c->read_close(5), 1009, 'maximum counted over fragments: close 1009';
}
{
    my $c = ws();
    # announced as 2 GiB: refused from the header, no payload needed
    $c->send_raw(chr(0x82) . chr(0x80 | 127) . pack('Q>', 2 ** 31) . 'mask');
    is $c->read_close(3), 1009, 'oversize frame refused from its header';
}

# A broken client never harms another connection.
{
    my $good = ws();
    my $bad = ws();
    $bad->send_raw("\x00" x 64);
    $good->send_text('still here');
    is $good->read_message->{payload}, 'still here', 'other connections unaffected';
}

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
