# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Util;
# Small helpers shared by the tests: free loopback ports, bounded waits,
# daemons stopped by their pid files (never by process name).
use strict;
use warnings;
use Exporter 'import';
use Cwd qw(abs_path);
use File::Temp ();
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket ();
use POSIX ();
use Scalar::Util ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(free_port wait_for_port wait_until tempdir stop_by_pidfile
                    pid_alive read_pidfile srcdir builddir rss_kb http_get
                    copy_source_tree stop_at_exit stop_object_at_exit);

sub srcdir   { $ENV{OSRFWS_SRCDIR}   // _repo_root() }
sub builddir { $ENV{OSRFWS_BUILDDIR} // default_builddir() }

# script/build's release build, so that after it a plain `prove t/NN-x.t`
# from the repository runs; a build in the source tree otherwise.
sub default_builddir {
    my $release = _repo_root() . '/build/release';
    return -e "$release/mod_osrf_websocket.la" ? $release : _repo_root();
}

sub _repo_root {
    my $dir = __FILE__;
    $dir =~ s{/t/lib/OSRFWS/Util\.pm$}{};
    return $dir eq __FILE__ ? '.' : $dir;
}

# A port nobody listens on now, for a daemon to listen on soon.  Below
# the kernel's ephemeral range when there is room (a client connection
# cannot take it meanwhile), and reserved for this process's life by an
# abstract unix socket named after it: tests running at the same time
# (prove -j) never get the same port.
my @reserved;
sub free_port {
    my $low = _ephemeral_low();
    for (1 .. 100) {
        my $try = $low > 12000 ? 10000 + int(rand($low - 10000)) : 0;
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => $try, Proto => 'tcp', ReuseAddr => 1)
            or next;
        my $port = $s->sockport;
        close $s;
        my $hold = IO::Socket::UNIX->new(Type => Socket::SOCK_STREAM(),
                                         Local => "\0osrfws-port-$port") or next;
        push @reserved, $hold;
        return $port;
    }
    die "free_port: no free port found";
}

sub _ephemeral_low {
    open my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range' or return 0;
    my ($low) = (<$fh> // '') =~ /^(\d+)/;
    return $low // 0;
}

# Calls $check until it returns true or $timeout seconds pass.
sub wait_until {
    my ($check, $timeout, $step) = @_;
    my $deadline = time + ($timeout // 10);
    while (time < $deadline) {
        my $v = $check->();
        return $v if $v;
        sleep($step // 0.05);
    }
    return;
}

sub wait_for_port {
    my ($port, $timeout) = @_;
    return wait_until(sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp', Timeout => 1);
        close $s if $s;
        return $s ? 1 : 0;
    }, $timeout // 10);
}

# A temporary directory others (www-data) can enter, removed at exit;
# kept with OSRFWS_KEEP=1 (the logs of a failed test: its path is printed).
sub tempdir {
    my $keep = $ENV{OSRFWS_KEEP};
    my $dir = File::Temp::tempdir('osrfws-XXXXXX', TMPDIR => 1, CLEANUP => !$keep);
    chmod 0755, $dir;
    print STDERR "# kept: $dir\n" if $keep;
    return $dir;
}

sub read_pidfile {
    my ($file) = @_;
    open my $fh, '<', $file or return;
    my $pid = <$fh>;
    close $fh;
    return unless defined $pid && $pid =~ /^\s*(\d+)/;
    return $1;
}

# A process's resident memory now (VmRSS, kB); 0 when it is gone.
sub rss_kb {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return 0;
}

sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid;
    # a zombie child of ours counts as gone
    waitpid($pid, POSIX::WNOHANG());
    return 0 unless kill(0, $pid);
    # so does any zombie: it has exited, only its parent has not reaped it
    # yet (init, for a daemon such as Redis or Apache, may take a second)
    open my $fh, '<', "/proc/$pid/stat" or return 1;
    return (<$fh> // '') =~ /^\d+ \(.*\) Z / ? 0 : 1;
}

# TERM, then KILL after $timeout seconds.  Returns 1 once the process is gone.
# $known is the pid read when the daemon started: File::Temp removes the
# temporary directories (pid files included) in an END block, before the
# objects of a test's file scope are destroyed, so a pid file may be gone
# while its daemon still runs.
sub stop_by_pidfile {
    my ($file, $timeout, $signal, $known) = @_;
    my $pid = read_pidfile($file) // $known or return 1;
    kill($signal // 'TERM', $pid);
    return 1 if wait_until(sub { !pid_alive($pid) }, $timeout // 10);
    kill 'KILL', $pid;
    return wait_until(sub { !pid_alive($pid) }, 5) ? 1 : 0;
}

# GET http://127.0.0.1:$port$path over HTTP/1.0: (status, {lower-cased
# headers}, body); status 0 when nothing answered.  Options: headers =>
# {name => value}, from => a local address.
sub http_get {
    my ($port, $path, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $o{timeout} // 5,
                                  ($o{from} ? (LocalAddr => $o{from}) : ()))
        or return (0, {}, '');
    my $h = join '', map { "$_: $o{headers}{$_}\r\n" } keys %{ $o{headers} // {} };
    print $s "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n$h\r\n";
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($code) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    my %hdr = map { /^([^:]+):\s*(.*)$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
    return ($code // 0, \%hdr, $body // '');
}

# A copy of the source tree in $to (a new directory): what git tracks and
# new files it does not ignore, or every file outside build/ without git.
sub copy_source_tree {
    my ($to) = @_;
    my $src = abs_path(srcdir());
    my $list = -e "$src/.git" ? "git -C '$src' ls-files -co --exclude-standard"
             : "find . -path ./build -prune -o \\( -type f -o -type l \\) -print";
    mkdir $to or die "$to: $!";
    system("cd '$src' && $list | grep -v '^build/' | tar -cf - -T - | tar -xf - -C '$to'") == 0
        or die "cannot copy the source tree to $to";
    return $to;
}

# Processes a test started itself (not through a harness object): they are
# stopped when it exits, on every path (a failed check that dies, too),
# TERM then KILL, each wait bounded.  END blocks run before the global
# destruction that would wait for a piped child's exit.
my %stop_at_exit;
sub stop_at_exit {
    $stop_at_exit{$_} = $$ for grep { $_ } @_;
    return $_[0];
}

# The harness's daemons (Apache, Redis, the test OpenSRF, ...) are stopped
# at exit before File::Temp's END block removes their directories (it runs
# after this one): a daemon still running then would write into a
# directory being removed, which would stay.  Weak references: an object
# the test has dropped has stopped already.
my @stop_objects;
sub stop_object_at_exit {
    my ($obj) = @_;
    push @stop_objects, [ $obj, $$ ];
    Scalar::Util::weaken($stop_objects[-1][0]);
    return $obj;
}

# Pids: only children of this process not yet reaped (a pid reaped earlier
# may belong to another program by now).
END {
    local $?;
    $_->[1] == $$ && $_->[0] && $_->[0]->stop for reverse @stop_objects;
    my @ours = grep { $stop_at_exit{$_} == $$ && waitpid($_, POSIX::WNOHANG()) == 0 }
               keys %stop_at_exit;
    kill 'TERM', @ours;
    my $gone = sub { !grep { pid_alive($_) } @ours };
    wait_until($gone, 30) or kill('KILL', @ours) && wait_until($gone, 5);
}

1;
