# SPDX-License-Identifier: GPL-2.0-or-later
# permessage-deflate (RFC 7692) against the echo endpoint: negotiation,
# compressed round trips both ways, the RSV1 rules, the size limit on the
# inflated message (a deflate bomb), corrupt data, and the directives.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Compress::Raw::Zlib;
use OSRFWS::Apache;
use OSRFWS::WSClient;
use OSRFWS::Chromium;
use IO::Socket::INET;
use IO::Select;
use POSIX ();

my $httpd = OSRFWS::Apache->new(max_message => '8M');
my $port = $httpd->port;
my $NO_TAKEOVER = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';

sub ws {
    my ($offer, %o) = @_;
    my $c = OSRFWS::WSClient->connect(port => $o{port} // $port, path => $o{path} // '/echo',
        headers => { 'Sec-WebSocket-Extensions' => $offer });
    die 'handshake failed: ' . $c->status unless $c->status == 101;
    return $c;
}

# A client's deflater: a fresh one per message unless one is passed in.
sub deflate_msg {
    my ($data, $d) = @_;
    $d //= Compress::Raw::Zlib::Deflate->new(-WindowBits => -15, -AppendOutput => 1);
    my $out = '';
    $d->deflate($data, $out) == Z_OK or die 'deflate';
    $d->flush($out, Z_SYNC_FLUSH) == Z_OK or die 'flush';
    substr($out, -4, 4) eq "\x00\x00\xff\xff" or die 'no sync tail';
    return substr($out, 0, -4);
}

sub inflate_msg {
    my ($data, %o) = @_;
    my $i = $o{inflater} // Compress::Raw::Zlib::Inflate->new(
        -WindowBits => -($o{bits} // 15), -AppendOutput => 1, -LimitOutput => 0);
    my ($in, $out) = ($data . "\x00\x00\xff\xff", '');
    my $st = $i->inflate($in, $out);
    return $st == Z_OK || $st == Z_BUF_ERROR ? $out : undef;
}

# A text message like an OpenSRF result: repetitive JSON.
sub json_of { my $n = shift; my $r = '{"__c":"acp","__p":[null,"39000000123456",4,"Available"]},';
              substr($r x (int($n / length $r) + 1), 0, $n) }

# --- negotiation ---------------------------------------------------------------
for my $case (
    [ 'permessage-deflate', $NO_TAKEOVER ],
    [ 'permessage-deflate; client_max_window_bits', $NO_TAKEOVER ],   # what browsers offer
    [ 'permessage-deflate; server_max_window_bits=10', "$NO_TAKEOVER; server_max_window_bits=10" ],
    [ 'permessage-deflate; server_max_window_bits=8, permessage-deflate', $NO_TAKEOVER ],
    [ 'x-unknown, permessage-deflate; client_no_context_takeover', $NO_TAKEOVER ],
    [ 'permessage-deflate; server_max_window_bits=8', undef ],
    [ 'permessage-deflate; server_max_window_bits=16', undef ],
    [ 'permessage-deflate; client_max_window_bits=20', undef ],
    [ 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', undef ],
    [ 'permessage-deflate; unknown_param', undef ],
    [ 'permessage-deflate; client_max_window_bits="1', undef ],
    [ undef, undef ],
) {
    my ($offer, $want) = @$case;
    my $c = ws($offer);
    is $c->header('Sec-WebSocket-Extensions'), $want,
        'offer ' . ($offer // '(none)') . ': ' . ($want // 'no extension');
    $c->send_text('ping');
    my $f = $c->read_frame(5);
    ok $f && $f->{payload} eq 'ping' && $f->{rsv} == 0, '  and the connection works';
}

# --- round trips -----------------------------------------------------------------
for my $n (0, 1, 1023, 1024, 100_000, 4 * 1024 * 1024) {
    my $c = ws('permessage-deflate; client_max_window_bits');
    my $data = json_of($n);
    my $z = deflate_msg($data);
    $c->send_frame(opcode => 1, rsv => 4, payload => $z);
    my $f = $c->read_frame(20);
    my $compressed = $f && $f->{rsv} == 4;
    my $back = !$f ? undef : $compressed ? inflate_msg($f->{payload}) : $f->{payload};
    ok defined $back && $back eq $data, "$n bytes sent compressed come back equal";
    if ($n >= 1024) {
        ok $compressed, '  compressed (RSV1 on the frame)';
        cmp_ok length $f->{payload}, '<', $n / 4, '  to under a quarter' if $n > 1024;
    } else {
        ok $f && $f->{rsv} == 0, '  uncompressed, below WebSocketCompressionMinSize';
    }
}
{
    # a compressed message in three fragments: RSV1 on the first only
    my $c = ws('permessage-deflate');
    my $data = json_of(50_000);
    my $z = deflate_msg($data);
    my $third = int(length($z) / 3);
    $c->send_frame(opcode => 1, rsv => 4, fin => 0, payload => substr($z, 0, $third));
    $c->send_ping('between');
    $c->send_frame(opcode => 0, fin => 0, payload => substr($z, $third, $third));
    $c->send_frame(opcode => 0, payload => substr($z, 2 * $third));
    my $f = $c->read_frame(5);
    ok $f && $f->{opcode} == 10, 'a ping between compressed fragments is answered';
    $f = $c->read_frame(5);
    ok $f && $f->{rsv} == 4 && inflate_msg($f->{payload}) eq $data,
        'a fragmented compressed message is inflated whole';
    # an uncompressed message on a compressed connection stays legal
    $c->send_text('plain');
    $f = $c->read_frame(5);
    ok $f && $f->{payload} eq 'plain', 'an uncompressed message still works';
    $c->send_binary(json_of(3000));
    $f = $c->read_frame(5);
    ok $f && $f->{opcode} == 2 && $f->{rsv} == 4 && inflate_msg($f->{payload}) eq json_of(3000),
        'binary messages are compressed too';
}
{
    my $c = ws('permessage-deflate; server_max_window_bits=10');
    my $data = json_of(200_000);
    $c->send_text($data);
    my $f = $c->read_frame(10);
    ok $f && $f->{rsv} == 4 && (inflate_msg($f->{payload}, bits => 10) // '') eq $data,
        'server_max_window_bits=10: a 10-bit inflater reads the reply';
}

# --- the RSV1 rules and bad input --------------------------------------------------
sub fails_with {
    my ($code, $what, @frames) = @_;
    my $c = ws($what =~ /not negotiated/ ? undef : 'permessage-deflate');
    $c->send_frame(%$_) for @frames;
    is $c->read_close(10), $code, "$what: close $code";
}
fails_with(1002, 'RSV1 on a continuation frame',
           { opcode => 1, rsv => 4, fin => 0, payload => deflate_msg('abc') },
           { opcode => 0, rsv => 4, payload => '' });
fails_with(1002, 'RSV1 on a ping', { opcode => 9, rsv => 4, payload => 'x' });
fails_with(1002, 'RSV1 on a close', { opcode => 8, rsv => 4, payload => pack('n', 1000) });
fails_with(1002, 'RSV1 when not negotiated', { opcode => 1, rsv => 4, payload => deflate_msg('abc') });
fails_with(1002, 'RSV2 on a compressed connection', { opcode => 1, rsv => 2, payload => 'abc' });
fails_with(1007, 'compressed data that does not inflate',
           { opcode => 1, rsv => 4, payload => "\xff\xfe\xfd\xfc\xfb\xfa" x 4 });
fails_with(1007, 'invalid UTF-8 inside a compressed text message',
           { opcode => 1, rsv => 4, payload => deflate_msg("ok \xc3\x28 bad") });
{
    # a deflate bomb: 64 MiB of zeros in about 64 KB; the limit is 8M
    my $c = ws('permessage-deflate');
    my $bomb = deflate_msg("\0" x (64 * 1024 * 1024));
    cmp_ok length $bomb, '<', 100_000, 'the bomb is small on the wire';
    $c->send_frame(opcode => 2, rsv => 4, payload => $bomb);
    is $c->read_close(20), 1009, 'a deflate bomb gets close 1009';
    my $n = ws('permessage-deflate');
    $n->send_text('after');
    my $f = $n->read_frame(5);
    ok $f && $f->{payload} eq 'after', 'and the server goes on';
}

# --- a real browser: Chromium negotiates it, and frames on the wire carry RSV1 ---
# A one-connection relay between Chromium and Apache counts the frames
# with RSV1 in each direction.
sub frame_counter {
    my ($buf, $count, $masked) = @_;
    while (length $$buf >= 2) {
        my ($b0, $b1) = unpack 'CC', $$buf;
        my ($len, $at) = ($b1 & 0x7f, 2);
        if ($len == 126) { last if length $$buf < 4; ($len, $at) = (unpack('n', substr($$buf, 2, 2)), 4) }
        elsif ($len == 127) { last if length $$buf < 10; ($len, $at) = (unpack('Q>', substr($$buf, 2, 8)), 10) }
        $at += 4 if $b1 & 0x80;
        last if length $$buf < $at + $len;
        substr($$buf, 0, $at + $len, '');
        next unless ($b0 & 0x0f) == 1 || ($b0 & 0x0f) == 2;
        $count->{total}++;
        $count->{rsv1}++ if $b0 & 0x40;
    }
}

sub relay_once {
    my ($listen, $to_port, $report) = @_;
    local $SIG{ALRM} = sub { POSIX::_exit(1) };
    alarm 90;
    my $client = $listen->accept or POSIX::_exit(1);
    my $server = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $to_port) or POSIX::_exit(1);
    my $sel = IO::Select->new($client, $server);
    my %buf = (c2s => '', s2c => '');
    my %count = (c2s => {}, s2c => {});
    my %headers_done;
    OUTER: while (my @ready = $sel->can_read(60)) {
        for my $fh (@ready) {
            my $dir = $fh == $client ? 'c2s' : 's2c';
            my $n = sysread($fh, my $chunk, 65536);
            last OUTER unless $n;
            syswrite($dir eq 'c2s' ? $server : $client, $chunk) // last OUTER;
            $buf{$dir} .= $chunk;
            unless ($headers_done{$dir}) {
                my $end = index($buf{$dir}, "\r\n\r\n");
                next if $end < 0;
                substr($buf{$dir}, 0, $end + 4, '');
                $headers_done{$dir} = 1;
            }
            frame_counter(\$buf{$dir}, $count{$dir});
        }
    }
    open my $fh, '>', $report or POSIX::_exit(1);
    print $fh join(' ', map { $count{$_}{rsv1} // 0, $count{$_}{total} // 0 } qw(s2c c2s)), "\n";
    close $fh;
    POSIX::_exit(0);
}

SKIP: {
    skip 'chromium is not installed', 4 unless OSRFWS::Chromium::binary();
    my $listen = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0,
                                       ReuseAddr => 1) or die $!;
    my $relay_port = $listen->sockport;
    my $report = $httpd->{dir} . '/relay.txt';
    my $pid = fork // die $!;
    relay_once($listen, $port, $report) if $pid == 0;
    OSRFWS::Util::stop_at_exit($pid);
    close $listen;
    my $browser = OSRFWS::Chromium->new;
    my $page = $browser->open_page($httpd->http_url('/echo.html') . "?url=ws://127.0.0.1:$relay_port/echo");
    my $out = $page->wait_js(
        q{(t => /DONE|ERROR/.test(t) && t)(document.getElementById('out').textContent)}, 60);
    ok defined $out && $out =~ /DONE/ && $out !~ /BAD/, 'Chromium: echo round trips through the relay'
        or diag $out // 'no result';
    is $page->eval_js('window.wsExtensions'), $NO_TAKEOVER, 'Chromium negotiated permessage-deflate';
    $page->close;
    my $done = OSRFWS::Util::wait_until(sub { waitpid($pid, POSIX::WNOHANG()) == $pid }, 30);
    my ($s_rsv1, $s_total, $c_rsv1, $c_total) = split ' ', (-e $report ? `cat $report` : '');
    ok $done && ($s_rsv1 // 0) >= 2, 'the large replies went over the wire with RSV1 ('
        . ($s_rsv1 // '?') . ' of ' . ($s_total // '?') . ' frames)';
    ok $done && ($c_rsv1 // 0) >= 1, "and Chromium's compressed frames were read by the server ("
        . ($c_rsv1 // '?') . ' of ' . ($c_total // '?') . ' frames)';
}

# --- the directives ---------------------------------------------------------------
{
    my $other = OSRFWS::Apache->new(conf => <<'CONF');
<Location /echo>
    WebSocketCompression Off
</Location>
<Location /kept>
    SetHandler websocket-handler
    WebSocketHandler ${OSRF_WS_MODULES}/ws_echo.so echo_init
    WebSocketCompressionContextTakeover On
    WebSocketCompressionMinSize 0
    WebSocketCompressionWindowBits 12
    WebSocketCompressionLevel 9
</Location>
CONF
    my $c = ws('permessage-deflate', port => $other->port);
    ok !defined $c->header('Sec-WebSocket-Extensions'), 'WebSocketCompression Off: not negotiated';

    $c = ws('permessage-deflate', port => $other->port, path => '/kept');
    is $c->header('Sec-WebSocket-Extensions'), 'permessage-deflate; server_max_window_bits=12',
        'context takeover on and a 12-bit window: the answer says so';
    my $d = Compress::Raw::Zlib::Deflate->new(-WindowBits => -15, -AppendOutput => 1);
    my $i = Compress::Raw::Zlib::Inflate->new(-WindowBits => -12, -AppendOutput => 1,
                                              -LimitOutput => 0);
    my (@sizes, $all_equal);
    $all_equal = 1;
    for my $k (1 .. 3) {
        my $data = json_of(3000) . $k;
        $c->send_frame(opcode => 1, rsv => 4, payload => deflate_msg($data, $d));
        my $f = $c->read_frame(5);
        push @sizes, $f ? length $f->{payload} : 0;
        $all_equal &&= $f && $f->{rsv} == 4 && (inflate_msg($f->{payload}, inflater => $i) // '') eq $data;
    }
    ok $all_equal, 'three messages with context takeover both ways come back equal';
    cmp_ok $sizes[2], '<', $sizes[0] / 2, "the server's later replies use the context ($sizes[0] then $sizes[2] bytes)";
    $c->send_text('x');
    my $f = $c->read_frame(5);
    ok $f && $f->{rsv} == 4 && inflate_msg($f->{payload}, inflater => $i) eq 'x',
        'WebSocketCompressionMinSize 0: even one byte is compressed';
    ok !grep({ /AH00|segfault|exit signal/ } $other->log_problems), 'no errors in its log';
}
ok !grep({ /AH00|segfault|exit signal/ } $httpd->log_problems), 'no crashes in the log';
done_testing;
