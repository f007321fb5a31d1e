# SPDX-License-Identifier: GPL-2.0-or-later
# Two independent real clients complete echo round trips of 0 B, 125 B,
# 64 KiB and 4 MiB through the module, over ws and wss: headless Chromium
# and Python's websockets library.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Apache;
use OSRFWS::Chromium;

my $httpd = OSRFWS::Apache->new(tls => 1);
my @want = ('text 0 ok', 'text 125 ok', 'text 65536 ok', 'text 4194304 ok', 'binary ok');

SKIP: {
    skip 'chromium is not installed', 4 unless OSRFWS::Chromium::binary();
    my $browser = OSRFWS::Chromium->new;
    for my $scheme (qw(ws wss)) {
        my ($page_url, $ws_url) = $scheme eq 'ws'
            ? ($httpd->http_url('/echo.html'), $httpd->url('/echo'))
            : ('https://127.0.0.1:' . $httpd->tls_port . '/echo.html', $httpd->tls_url('/echo'));
        my $page = $browser->open_page("$page_url?url=$ws_url");
        my $out = $page->wait_js(
            q{(t => /DONE|ERROR/.test(t) && t)(document.getElementById('out').textContent)}, 60);
        ok defined $out && $out =~ /DONE/, "Chromium echo over $scheme finished"
            or diag $out // 'no result';
        is_deeply [ grep { length } split /\n/, ($out // '') =~ s/DONE//r ], \@want,
            "Chromium: every size intact over $scheme";
        $page->close;
    }
}

for my $url ($httpd->url('/echo'), $httpd->tls_url('/echo')) {
    my $out = `/usr/bin/python3 $FindBin::Bin/clients/echo.py $url 2>&1`;
    is $?, 0, "python websockets over $url" or diag $out;
    is_deeply [ split /\n/, $out ], [ @want, 'ping ok' ], "python: every size intact over $url";
}

is_deeply [ $httpd->log_problems ], [], 'no errors in the error log';
done_testing;
