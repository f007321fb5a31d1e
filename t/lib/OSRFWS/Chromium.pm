# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Chromium;
# Headless Chromium (Debian's) driven over the DevTools protocol, with our
# own WebSocket client: open a page, evaluate JavaScript in it.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use JSON::PP qw(encode_json decode_json);
use POSIX ();
use OSRFWS::Util qw(tempdir wait_until pid_alive);
use OSRFWS::WSClient;

sub binary { (grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser))[0] }

sub new {
    my ($class) = @_;
    my $bin = binary() or die "no chromium";
    my $self = OSRFWS::Util::stop_object_at_exit(bless { dir => tempdir(), id => 0 }, $class);
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        chdir $self->{dir};     # a core of a crashed tab (t/29) lands there
        open STDOUT, '>', "$self->{dir}/chromium.log";
        open STDERR, '>&', \*STDOUT;
        # its own scratch directories (org.chromium.Chromium.*), which it
        # leaves behind when stopped, go with the test's directory
        mkdir "$self->{dir}/tmp";
        $ENV{TMPDIR} = "$self->{dir}/tmp";
        exec $bin, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-extensions',
            '--ignore-certificate-errors', "--user-data-dir=$self->{dir}/profile",
            '--remote-debugging-port=0', 'about:blank'
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $portfile = "$self->{dir}/profile/DevToolsActivePort";
    wait_until(sub { -s $portfile }, 30) or die "chromium did not start";
    open my $fh, '<', $portfile or die $!;
    chomp(my $port = <$fh>);
    $self->{port} = $port;
    return $self;
}

sub _http {
    my ($self, $method, $path) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                  Timeout => 10) or die $!;
    print $s "$method $path HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           . "Content-Length: 0\r\nConnection: close\r\n\r\n";
    my ($resp, $body) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        last unless sysread($s, my $chunk, 65536);
        $resp .= $chunk;
        my ($head, $rest) = split /\r\n\r\n/, $resp, 2;
        next unless defined $rest;
        my ($len) = $head =~ /Content-Length:\s*(\d+)/i;
        if (defined $len && length($rest) >= $len) { $body = substr($rest, 0, $len); last }
    }
    die "devtools: no answer to $method $path" unless defined $body;
    return decode_json($body);
}

# Opens a tab on $url; returns its DevTools connection.
sub open_page {
    my ($self, $url) = @_;
    my $t = $self->_http('PUT', '/json/new?about:blank');
    my ($path) = $t->{webSocketDebuggerUrl} =~ m{^ws://[^/]+(/.*)$};
    my $ws = OSRFWS::WSClient->connect(port => $self->{port}, path => $path,
                                       timeout => 30);
    die "devtools handshake failed" unless $ws->status == 101;
    my $page = OSRFWS::Chromium::Page->new($ws, $t->{id}, $self);
    $page->call('Page.navigate', url => $url);
    return $page;
}

sub close_page { my ($self, $id) = @_; eval { $self->_http('GET', "/json/close/$id") } }

sub stop {
    my ($self) = @_;
    local $?;           # waitpid must not become the test's exit status
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    wait_until(sub { !pid_alive($pid) }, 10) or kill 'KILL', $pid;
    waitpid($pid, 0);
    # its helpers (zygote, renderers, crash handler) can outlive it for a
    # moment, still writing into the profile: they go before the directory
    my @helpers = $self->helpers;
    kill 'TERM', @helpers if @helpers;
    wait_until(sub { !$self->helpers }, 10) or kill 'KILL', $self->helpers;
}

# The processes whose command line names this browser's directory.
sub helpers {
    my ($self) = @_;
    my @pids;
    for my $f (glob '/proc/[0-9]*/cmdline') {
        open my $fh, '<', $f or next;
        local $/;
        my $cmd = <$fh> // '';
        push @pids, $f =~ m{^/proc/(\d+)/} if index($cmd, $self->{dir}) >= 0;
    }
    return @pids;
}

sub DESTROY { $_[0]->stop }

package OSRFWS::Chromium::Page;
use JSON::PP qw(encode_json decode_json);
use Time::HiRes qw(time);

sub new { my ($c, $ws, $id, $browser) = @_; bless { ws => $ws, id => $id, n => 0, browser => $browser }, $c }

sub call {
    my ($self, $method, %params) = @_;
    my $id = ++$self->{n};
    $self->{ws}->send_text(encode_json({ id => $id, method => $method, params => \%params }));
    my $deadline = time + 30;
    while (time < $deadline) {
        my $m = $self->{ws}->read_message($deadline - time) or last;
        my $msg = eval { decode_json($m->{payload}) } or next;
        return $msg->{result} if ($msg->{id} // 0) == $id;
    }
    die "devtools: no answer to $method";
}

# The value of a JavaScript expression (promises awaited).
sub eval_js {
    my ($self, $expr) = @_;
    my $r = $self->call('Runtime.evaluate', expression => $expr,
                        returnByValue => JSON::PP::true, awaitPromise => JSON::PP::true);
    return $r->{result}{value};
}

# Runs $code as the body of an async function in the page; returns what
# it returns (through JSON), or dies with the page's exception.
sub run {
    my ($self, $code) = @_;
    my $out = $self->eval_js("(async () => { try { return JSON.stringify({ ok: await (async () => { $code })() }) }"
                             . " catch (e) { return JSON.stringify({ error: String(e && e.stack || e) }) } })()");
    die "no answer from the page\n" unless defined $out;
    my $r = JSON::PP->new->decode($out);   # characters already
    die "page: $r->{error}\n" if exists $r->{error};
    return $r->{ok};
}

# Waits until $expr is truthy in the page; returns its value.
sub wait_js {
    my ($self, $expr, $timeout) = @_;
    return OSRFWS::Util::wait_until(sub { eval { $self->eval_js($expr) } }, $timeout // 30, 0.2);
}

# The whole page, not only the viewport.
sub screenshot {
    my ($self, $file) = @_;
    my $m = $self->call('Page.getLayoutMetrics');
    my $size = $m->{cssContentSize} // $m->{contentSize};
    my $r = $self->call('Page.captureScreenshot', format => 'png',
        captureBeyondViewport => JSON::PP::true,
        clip => { x => 0, y => 0, width => $size->{width}, height => $size->{height}, scale => 1 });
    require MIME::Base64;
    open my $fh, '>:raw', $file or die $!;
    print $fh MIME::Base64::decode_base64($r->{data});
    close $fh;
}

sub close { my ($self) = @_; $self->{ws}->close; $self->{browser}->close_page($self->{id}) }

# Crashes the tab's renderer (no pagehide, no unload: as a tab killed by
# the system); no answer comes.
sub crash {
    my ($self) = @_;
    $self->{ws}->send_text(encode_json({ id => ++$self->{n}, method => 'Page.crash', params => {} }));
}

1;
