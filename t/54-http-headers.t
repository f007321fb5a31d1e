# SPDX-License-Identifier: GPL-2.0-or-later
# What the instance tells about itself over plain HTTP and TLS: TRACE is
# refused (405), the Server header is just "Apache", and error pages carry
# no server signature.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use IO::Socket::INET;
use IO::Socket::SSL;
use OSRFWS::Apache;

my $httpd = OSRFWS::Apache->new(tls => 1);

# One request on a fresh connection; the whole answer (Connection: close).
sub http {
    my ($sock, $method, $path) = @_;
    print $sock "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        . "X-Secret: sesame\r\n\r\n";
    local $/;
    my $answer = <$sock> // '';
    close $sock;
    my ($status) = $answer =~ m{^HTTP/1\.1 (\d+)};
    my ($server) = $answer =~ /^Server: ([^\r\n]*)/mi;
    my ($body) = $answer =~ /\r\n\r\n(.*)\z/s;
    return { status => $status // 0, server => $server // '', body => $body // '' };
}

my %connect = (
    plain => sub { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $httpd->port,
                                         Timeout => 5) or die "connect: $!" },
    tls   => sub { IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $httpd->tls_port,
                                        SSL_verify_mode => SSL_VERIFY_NONE, Timeout => 5)
                       or die "connect: $SSL_ERROR" },
);
for my $how (qw(plain tls)) {
    my $trace = http($connect{$how}->(), 'TRACE', '/echo.html');
    is $trace->{status}, 405, "$how: TRACE answers 405";
    unlike $trace->{body}, qr/sesame/, "$how: TRACE echoes no header back";
    my $get = http($connect{$how}->(), 'GET', '/echo.html');
    is $get->{status}, 200, "$how: a page is served";
    is $get->{server}, 'Apache', "$how: the Server header is just \"Apache\"";
    my $missing = http($connect{$how}->(), 'GET', '/no-such-page');
    is $missing->{status}, 404, "$how: a missing page is 404";
    is $missing->{server}, 'Apache', "$how: so is its Server header";
    unlike $missing->{body}, qr{Apache/|Server at|<address>}i,
        "$how: the error page has no server signature";
}
is_deeply [ $httpd->log_problems ], [], 'no errors in Apache\'s error log';
done_testing;
