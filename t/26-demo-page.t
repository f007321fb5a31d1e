# The demo page in headless Chromium against the demo stack: it calls
# opensrf.math, echo, a stateful session and a stream through the gateway,
# and shows round-trip times.  OSRFWS_SCREENSHOT=FILE saves a screenshot.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Gateway;
use OSRFWS::Chromium;
use OSRFWS::Util qw(srcdir);

plan skip_all => 'chromium is not installed' unless OSRFWS::Chromium::binary();
my $gw = OSRFWS::Gateway->new(apache => { docroot => srcdir() . '/demo' });
my $browser = OSRFWS::Chromium->new;
my $page = $browser->open_page($gw->httpd->http_url('/index.html'));

ok $page->wait_js(q{document.getElementById('status').textContent === 'open'}, 20),
    'the page connects to the osrf endpoint';
my $text = sub { my $id = shift; "document.getElementById('$id').textContent" };
my $click = sub { $page->eval_js("document.querySelector('$_[0]').click(), 1") };

$click->('button[data-m=add]');
like $page->wait_js($text->('math'), 10), qr/^add = 5 /, 'opensrf.math add shows 5';
$click->('button[data-m=div]');
like $page->wait_js(qq{(t => /div/.test(t) && t)(@{[ $text->('math') ]})}, 10),
    qr/^div = 0\.6/, 'opensrf.math div';
$click->('#echo');
like $page->wait_js($text->('echo-out'), 10), qr/hello, OpenSRF/, 'echo';
$click->('#connect');
ok $page->wait_js(qq{@{[ $text->('session') ]} === 'connected'}, 10), 'stateful CONNECT';
$click->('#whoami');
like $page->wait_js(qq{(t => /worker/.test(t) && t)(@{[ $text->('session') ]})}, 10),
    qr/served by worker \d+/, 'whoami inside the session';
$click->('#stream');
like $page->wait_js(qq{(t => /complete/.test(t) && t)(@{[ $text->('stream-out') ]})}, 10),
    qr/^1 2 3 .* 25 \W 25 results, complete/, 'streaming results shown as they arrive';
$click->('#bench');
ok $page->wait_js(qq{@{[ $text->('count') ]} === '100'}, 30), '100 round trips measured';
my $median = $page->eval_js($text->('median'));
like $median, qr/^\d+\.\d\d$/, "median round trip shown ($median ms)";
$page->screenshot($ENV{OSRFWS_SCREENSHOT}) if $ENV{OSRFWS_SCREENSHOT};
is_deeply [ $gw->httpd->log_problems ], [], 'no errors in the error log';
done_testing;
