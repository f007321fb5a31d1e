# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::WSClient;
# A raw WebSocket client for tests: it speaks correct frames by default and
# any broken bytes on request, and reads frames with bounded waits.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Socket ();
use MIME::Base64 qw(encode_base64);
use Time::HiRes qw(time);

# connect(port => P, path => '/echo', tls => 0, headers => {...},
#         key => '...', timeout => 5, local_addr => '127.0.0.2',
#         rcvbuf => BYTES).  A header set to undef is not sent.
# Returns the client; ->status and ->header(NAME) tell the handshake's answer.
sub connect {
    my ($class, %o) = @_;
    my $self = bless { buf => '', timeout => $o{timeout} // 5 }, $class;
    $self->{sock} = _open(%o) or die "connect: $!";
    my $key = exists $o{key} ? $o{key}
                             : encode_base64(join('', map { chr rand 256 } 1 .. 16), '');
    my %h = (Host => "127.0.0.1:$o{port}", Upgrade => 'websocket',
             Connection => 'Upgrade', 'Sec-WebSocket-Key' => $key,
             'Sec-WebSocket-Version' => '13', %{ $o{headers} // {} });
    my $req = ($o{method} // 'GET') . ' ' . ($o{path} // '/echo') . ' '
            . ($o{protocol} // 'HTTP/1.1') . "\r\n";
    $req .= "$_: $h{$_}\r\n" for grep { defined $h{$_} } sort keys %h;
    $self->send_raw("$req\r\n" . ($o{after_handshake} // ''));
    $self->_read_response;
    return $self;
}

sub _open {
    my (%o) = @_;
    my %common = (PeerAddr => '127.0.0.1', PeerPort => $o{port}, Proto => 'tcp',
                  Timeout => 5, ($o{local_addr} ? (LocalAddr => $o{local_addr}) : ()));
    if ($o{tls}) {
        require IO::Socket::SSL;
        return IO::Socket::SSL->new(%common, SSL_verify_mode => 0);
    }
    return _open_small_window(%o) if $o{rcvbuf};
    my $s = IO::Socket::INET->new(%common) or return;
    setsockopt($s, 6, 1, 1);    # TCP_NODELAY
    return $s;
}

# A client whose kernel takes only about rcvbuf bytes it has not read
# (the buffer is set before connect, so the window stays that small).
sub _open_small_window {
    my (%o) = @_;
    my $s = IO::Socket::INET->new(Proto => 'tcp',
                                  ($o{local_addr} ? (LocalAddr => $o{local_addr}) : ()))
        or return;
    setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), $o{rcvbuf}) or return;
    $s->connect(Socket::pack_sockaddr_in($o{port}, Socket::inet_aton('127.0.0.1')))
        or return;
    setsockopt($s, 6, 1, 1);    # TCP_NODELAY
    return $s;
}

sub _read_response {
    my ($self) = @_;
    my $deadline = time + $self->{timeout};
    while ($self->{buf} !~ /\r\n\r\n/) {
        last unless $self->_fill($deadline);
    }
    my ($head) = $self->{buf} =~ /^(.*?\r\n)\r\n/s;
    $head //= $self->{buf};
    $self->{buf} = substr($self->{buf}, length($head) + 2) if $self->{buf} =~ /\r\n\r\n/;
    ($self->{status}) = $head =~ m{^HTTP/1\.\d (\d{3})};
    $self->{status} //= 0;
    for my $line (split /\r\n/, $head) {
        $self->{headers}{lc $1} = $2 if $line =~ /^([^:]+):\s*(.*)$/;
    }
    # the body of an error answer is not part of the WebSocket stream
    $self->{buf} = '' if $self->{status} != 101;
}

sub status { $_[0]{status} }
sub header { $_[0]{headers}{ lc $_[1] } }

# Reads more bytes before $deadline; 0 on timeout, EOF or error.
sub _fill {
    my ($self, $deadline) = @_;
    my $s = $self->{sock};
    my $left = $deadline - time;
    return 0 if $left <= 0;
    unless ($s->can('pending') && $s->pending) {
        return 0 unless IO::Select->new($s)->can_read($left);
    }
    my $n = sysread($s, my $chunk, 1 << 20);
    if (!defined $n) {
        return 0 if $!{EAGAIN} || $!{EWOULDBLOCK};
        $self->{eof} = 1;
        return 0;
    }
    if ($n == 0) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{buf} .= $chunk;
    return 1;
}

sub send_raw {
    my ($self, $bytes) = @_;
    my $s = $self->{sock};
    while (length $bytes) {
        my $n = syswrite($s, $bytes);
        return 0 unless defined $n && $n > 0;
        substr($bytes, 0, $n, '');
    }
    return 1;
}

# frame(opcode => N, payload => '', fin => 1, rsv => 0, mask => 1)
sub frame {
    my (%f) = @_;
    my $payload = $f{payload} // '';
    my $len = length $payload;
    my $b0 = (($f{fin} // 1) ? 0x80 : 0) | (($f{rsv} // 0) << 4) | $f{opcode};
    my $mbit = ($f{mask} // 1) ? 0x80 : 0;
    my $head = chr($b0);
    if ($len < 126)      { $head .= chr($mbit | $len) }
    elsif ($len < 65536) { $head .= chr($mbit | 126) . pack('n', $len) }
    else                 { $head .= chr($mbit | 127) . pack('Q>', $len) }
    return $head . $payload unless $mbit;
    my $key = join '', map { chr rand 256 } 1 .. 4;
    my $masked = $payload ^ substr($key x (int($len / 4) + 1), 0, $len);
    return $head . $key . $masked;
}

sub send_frame  { my ($self, %f) = @_; $self->send_raw(frame(%f)) }
sub send_text   { $_[0]->send_frame(opcode => 1, payload => $_[1]) }
sub send_binary { $_[0]->send_frame(opcode => 2, payload => $_[1]) }
sub send_ping   { $_[0]->send_frame(opcode => 9, payload => $_[1] // '') }
sub send_pong   { $_[0]->send_frame(opcode => 10, payload => $_[1] // '') }

sub send_close {
    my ($self, $code, $reason) = @_;
    my $p = defined $code ? pack('n', $code) . ($reason // '') : '';
    $self->send_frame(opcode => 8, payload => $p);
}

# The next frame as {fin, rsv, opcode, payload}, or undef on timeout/EOF.
sub read_frame {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    for (;;) {
        my $f = $self->_parse_frame;
        return $f if $f;
        return unless $self->_fill($deadline);
    }
}

sub _parse_frame {
    my ($self) = @_;
    my $b = \$self->{buf};
    return if length $$b < 2;
    my ($b0, $b1) = unpack 'CC', $$b;
    my $len = $b1 & 0x7f;
    my $at = 2;
    if ($len == 126) { return if length $$b < 4;  $len = unpack 'n', substr($$b, 2, 2); $at = 4 }
    elsif ($len == 127) { return if length $$b < 10; $len = unpack 'Q>', substr($$b, 2, 8); $at = 10 }
    my $masked = $b1 & 0x80;
    $at += 4 if $masked;
    return if length $$b < $at + $len;
    my $payload = substr($$b, $at, $len);
    substr($$b, 0, $at + $len, '');
    return { fin => ($b0 >> 7) & 1, rsv => ($b0 >> 4) & 7, opcode => $b0 & 0xf,
             payload => $payload, masked => $masked ? 1 : 0 };
}

# The next data message (fragments joined), skipping pings.
sub read_message {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    my ($op, $data);
    while (my $f = $self->read_frame($deadline - time)) {
        next if $f->{opcode} == 9 || $f->{opcode} == 10;
        return $f if $f->{opcode} == 8;
        $op //= $f->{opcode};
        $data .= $f->{payload};
        return { opcode => $op, payload => $data } if $f->{fin};
    }
    return;
}

# Reads until a close frame; returns its code (1005 when empty), or undef.
sub read_close {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    while (my $f = $self->read_frame($deadline - time)) {
        next unless $f->{opcode} == 8;
        return 1005 if length $f->{payload} < 2;
        $self->{close_reason} = substr($f->{payload}, 2);
        return unpack 'n', $f->{payload};
    }
    return;
}

sub close_reason { $_[0]{close_reason} }

# 1 once the server has closed the TCP connection (within $timeout).
sub wait_eof {
    my ($self, $timeout) = @_;
    my $deadline = time + ($timeout // $self->{timeout});
    while (!$self->{eof}) {
        $self->{buf} = '';
        last unless $self->_fill($deadline) || $self->{eof};
    }
    return $self->{eof} ? 1 : 0;
}

sub close { my $s = $_[0]{sock}; close $s if $s }

1;
