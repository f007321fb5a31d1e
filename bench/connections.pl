#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/connections' body (bench/connections builds the tree and raises
# the process limits first).  N OpenSRF connections: each makes one call
# and stays open; memory of the instance and of Redis; each calls again,
# the calls spread over 10 s; then a graceful restart: every client
# reconnects within 2 s of its 1001 and makes a call (the storm).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Getopt::Long;
use HTTP::Tiny;
use IPC::Open2;
use JSON::XS;
use POSIX ();
use Time::HiRes qw(sleep time);
use OSRFWS::BenchStack;
use OSRFWS::Util qw(wait_until tempdir);
$| = 1;

my %o = (clients => 10000, 'storm-s' => 2, 'spread-s' => 10);
GetOptions(\%o, 'clients=i', 'sources=i', 'storm-s=f', 'spread-s=f', 'out=s')
    or die "usage: bench/connections [--clients N] [--sources K] [--storm-s W] [--spread-s S] [--out DIR]\n";
my $N = $o{clients};
# Redis holds two bus connections per child and needs a descriptor for
# each: where this command may not raise its open file limit that far (a
# container without CAP_SYS_RESOURCE), Redis cuts its maxclients to the
# limit less 32, and the clients measured are what fits, said so.
my $fd_limit = POSIX::sysconf(POSIX::_SC_OPEN_MAX());
my $fits = int(($fd_limit - 32 - 100) / 2);
if ($fits < $N) {
    print scalar(gmtime), " | the open file limit ($fd_limit, not raised further here) lets Redis"
        . " hold the bus connections of $fits clients, not $N: measuring $fits\n";
    $N = $fits;
}
# a source address per 5000 clients: well inside one address's ephemeral
# ports towards the gateway's one port
$o{sources} //= int(($N + 4999) / 5000);
# the profile of README.websockets "Sizing" (osrf-websocket-setup --clients)
my $SPARE = int($N / 100) > 64 ? int($N / 100) : 64;
my $MAX = $N + int($N / 4) + $SPARE;
my $backlog = $N < 65535 ? $N : 65535;
my $out = $o{out} // "$FindBin::Bin/results";
mkdir $out;
my $tmp = tempdir();
$SIG{INT} = $SIG{TERM} = sub { die "interrupted\n" };
sub say_ { print scalar(gmtime), " | @_\n" }
sub slurp { open my $fh, '<', $_[0] or return ''; local $/; <$fh> // '' }
sub sysctl { my $v = slurp("/proc/sys/" . ($_[0] =~ tr{.}{/}r)); $v =~ s/\s+/ /g; $v =~ s/ $//; $v }

# --- kernel limits: what N needs, what this machine has ---------------------------
# Each child holding a WebSocket is two tasks (the connection thread and
# the bus listener); in a storm the old generation exits while the new
# one starts: count both.  Redis and the load generator hold a descriptor
# per connection; the gateway's bus connections all go to Redis's one
# port from 127.0.0.1 (two per child, the old generation's in TIME_WAIT).
sub limits {
    my ($lo, $hi) = split ' ', sysctl('net.ipv4.ip_local_port_range');
    my $tasks = () = glob '/proc/[0-9]*/task/[0-9]*';
    my @l = (
        ['kernel.pid_max', sysctl('kernel.pid_max'), 2 * $MAX + $tasks + 1000,
         'every thread takes a pid: two per child at most, and no more children than slots'],
        ['kernel.threads-max', sysctl('kernel.threads-max'), 2 * $MAX + $tasks + 1000, ''],
        ['net.core.somaxconn', sysctl('net.core.somaxconn'), $backlog,
         'caps ListenBacklog: the storm waits there for children'],
        ['net.ipv4.tcp_max_syn_backlog', sysctl('net.ipv4.tcp_max_syn_backlog'), $backlog, ''],
        ['net.ipv4.ip_local_port_range', $hi - $lo + 1, 4 * $N + 1000,
         "ports from 127.0.0.1 to Redis: two per child, and in a storm the old generation's"
         . " in TIME_WAIT (tcp_tw_reuse " . sysctl('net.ipv4.tcp_tw_reuse') . "; the clients:"
         . " $o{sources} source addresses)"],
        ['fs.file-max', sysctl('fs.file-max'), 8 * $N + 10000, ''],
        ['fs.nr_open', sysctl('fs.nr_open'), 4 * $N + 1000, 'the most one process (Redis) may open'],
        ['ulimit -n (this command)', POSIX::sysconf(POSIX::_SC_OPEN_MAX()), 2 * $MAX + 1032,
         "Redis's maxclients and 32"],
    );
    return [ map { { name => $_->[0], have => $_->[1], need => $_->[2], why => $_->[3],
                     met => $_->[1] >= $_->[2] ? 1 : 0 } } @l ];
}
my $limits = limits();
for my $l (@$limits) {
    next if $l->{met};
    my $fix = $l->{name} =~ /^ulimit/ ? ''
            : $l->{name} =~ /port_range/ ? " (a range of as many ports: sysctl -w $l->{name}='1024 65535')"
            : " (sysctl -w $l->{name}=$l->{need})";
    say_ "limit: $l->{name} is $l->{have}, $N clients need $l->{need}$fix";
}

# --- the stack ------------------------------------------------------------------------
my $stack = OSRFWS::BenchStack->new(maxclients => 2 * $MAX + 1000, workers => 2);
my $redis = $stack->redis;
my $status_conf = <<"CONF";
ListenBacklog $backlog
<Location /osrf-ws-status>
    Require all granted
    SetHandler osrf-websocket-status
</Location>
CONF
my $t0 = time;
my $h = $stack->apache(max_clients => $MAX, start_servers => $N + $SPARE,
                       min_spare => $SPARE, max_spare => $N + $SPARE, conf => $status_conf);
wait_until(sub { $h->children >= $N + $SPARE }, 900, 1)
    or die "only " . scalar($h->children) . " of " . ($N + $SPARE) . " children started\n";
my $start_s = time - $t0;
say_ sprintf "instance up: %d children in %.1f s", $N + $SPARE, $start_s;

sub rollup {
    my %m;
    open my $fh, '<', "/proc/$_[0]/smaps_rollup" or return \%m;
    while (<$fh>) { $m{$1} = $2 if /^(\w+):\s+(\d+) kB/ }
    return \%m;
}
sub threads_of { slurp("/proc/$_[0]/status") =~ /^Threads:\s+(\d+)/m ? $1 : 0 }

# PSS and RSS of every process of the instance, and its tasks
sub instance {
    my %t = (pss_kb => 0, rss_kb => 0, processes => 0, tasks => 0, busy => 0);
    for my $pid ($h->pid, $h->children) {
        my $m = rollup($pid);
        next unless defined $m->{Pss};
        $t{pss_kb} += $m->{Pss};
        $t{rss_kb} += $m->{Rss};
        $t{processes}++;
        my $n = threads_of($pid);
        $t{tasks} += $n;
        $t{busy}++ if $n >= 2 && $pid != $h->pid;
    }
    return \%t;
}
sub redis_info {
    my $a = $redis->admin;
    my $mem = $a->info('memory');
    my $cl = $a->info('clients');
    return { used_memory => $mem->{used_memory}, used_memory_rss => $mem->{used_memory_rss},
             connected_clients => $cl->{connected_clients} - 1 };    # less this one
}
sub status_page {
    my $r = HTTP::Tiny->new(timeout => 10)->get($h->http_url('/osrf-ws-status?json'));
    return $r->{success} ? eval { decode_json($r->{content}) } : undef;
}

my $idle = instance();
my $redis0 = redis_info();
my $lg_cmd = join ' ', $stack->bin('loadgen'), 'hold', '--port', $h->port, '--conns', $N,
    '--sources', $o{sources}, '--spread-s', $o{'spread-s'}, '--storm-s', $o{'storm-s'},
    '--cpu', 'gateway=' . $h->pid, "2>>$tmp/loadgen.err";
# Why reconnections failed, from the load generator's lines: refused
# handshakes by status, and where the others were lost (connecting, in
# the handshake, open: a 1001 from a child of the old generation).
sub retry_causes {
    my ($err) = @_;
    my %c;
    $c{"handshake $1"}++ while $err =~ /handshake refused: HTTP\/1\.1 (\d+)/g;
    my @state = qw(connecting tls handshake auth open done);
    $c{"lost while $state[$1]" . ($2 ? ", close $2" : '')}++
        while $err =~ /reconnection of \d+ lost \(state (\d), close (\d+)\)/g;
    $c{"connect: $1"}++ while $err =~ /loadgen: connect: (.+)/g;
    return \%c;
}
my $lg = open2(my $from, my $to, $lg_cmd);
END { if ($lg) { local $?; kill 'TERM', $lg; waitpid($lg, 0) } }
# What went wrong, before the instance and its logs go.
sub why {
    my @log = grep { !/AH00161/ } $h->log_problems;
    my %count;
    $count{ s/^\[[^]]*\] //r =~ s/\[pid \d+:tid \d+\] //r =~ s/\[client [^]]*\] //r }++ for @log;
    my @top = grep { defined } (sort { $count{$b} <=> $count{$a} } keys %count)[0 .. 9];
    my @lg = grep { defined } (split /\n/, slurp("$tmp/loadgen.err"))[-10 .. -1];
    return join '', (map { "  $count{$_} x $_\n" } @top), "the load generator:\n", map { "  $_\n" } @lg;
}
sub line {
    my ($what) = @_;
    my $l = <$from> // die "loadgen stopped before $what; the gateway's log:\n" . why();
    return decode_json($l);
}
sub tell_lg { print $to "$_[0]\n"; $to->flush }

my %r = (clients => $N, clients_asked => $o{clients}, fd_limit => $fd_limit, sources => $o{sources}, start_s => $start_s, limits => $limits,
         idle_instance => $idle);
$r{ready} = line('ready');
die "only $r{ready}{open} of $N connections opened; the gateway's log:\n" . why()
    if $r{ready}{open} != $N;
say_ sprintf "%d connections open in %.1f s, each answered", $N, $r{ready}{setup_seconds};
# idle: past the bus listener's first quiet BLPOP (5 s), as bench/run
sleep 7;
$r{open_instance} = instance();
$r{open_redis} = redis_info();
$r{redis_before} = $redis0;
$r{status_open} = status_page();
my $m = $r{open_instance};
say_ sprintf "open: PSS %.0f MB (%.0f kB per connection), RSS %.0f MB; %d processes, %d tasks;"
    . " Redis %.1f MB, %d clients", $m->{pss_kb} / 1024, $m->{pss_kb} / $N, $m->{rss_kb} / 1024,
    $m->{processes}, $m->{tasks}, $r{open_redis}{used_memory} / 1048576,
    $r{open_redis}{connected_clients};

tell_lg('go');
$r{all_call} = line('all-call');
tell_lg('go');
$r{spread} = line('spread');
say_ sprintf "spread over %g s: %d answered, p50 %.2f ms, p99 %.2f ms", $o{'spread-s'},
    $r{spread}{completed}, $r{spread}{p50_us} / 1000, $r{spread}{p99_us} / 1000;

tell_lg('storm');
line('storming');
my $gen0 = $h->restarts;
my $ts = time;
$h->graceful;
$r{storm} = line('storm');
wait_until(sub { $h->restarts > $gen0 }, 60);
$r{storm_retry_causes} = retry_causes(slurp("$tmp/loadgen.err"));
$r{after_storm_instance} = instance();
$r{after_storm_redis} = redis_info();
$r{status_after} = status_page();
my $s = $r{storm};
say_ sprintf "storm: %d of %d 1001, %d answered, all %.2f s after the first 1001"
    . " (p99 %.0f ms), %d retries by %d clients (at most %d each)", $s->{closed_1001}, $N,
    $s->{answered}, $s->{all_answered_s}, $s->{p99_us} / 1000, $s->{retries},
    $s->{clients_retried}, $s->{max_retries};
close $to;
waitpid($lg, 0);
$lg = undef;
($r{ss}) = grep { /^TCP:/ } split /\n/, `ss -s 2>/dev/null`;
$r{log_problems} = [ (grep { !/AH00161/ } $h->log_problems)[0 .. 9] ];
$h->stop;
$stack->stop;

# --- the table ---------------------------------------------------------------------------
chomp(my $cpu = `lscpu | sed -n 's/^Model name: *//p' | head -1`);
chomp(my $kernel = `uname -r`);
$r{machine} = sprintf "%s, %d cores, %d GiB, Linux %s; %s UTC", $cpu,
    POSIX::sysconf(84) // 2, int(slurp('/proc/meminfo') =~ /MemTotal:\s+(\d+)/ && $1 / 1048576 + 0.5),
    $kernel, scalar gmtime;
my ($o1, $rd, $rb) = ($r{open_instance}, $r{open_redis}, $r{redis_before});
my $ms = sub { sprintf '%.2f', ($_[0] // 0) / 1000 };
my @t = ("Machine: $r{machine}; shared with other jobs.", '',
    '| Measurement | Result | Target |', '|---|---|---|',
    sprintf("| %d connections open (each made one call), from %d source addresses%s | %d open, set up in %.1f s | %d |",
            $N, $o{sources}, $N < $o{clients} ? " (of $o{clients} asked: the open file limit $fd_limit caps Redis at "
            . ($fd_limit - 32) . " clients, two per connection)" : '', $r{ready}{open},
            $r{ready}{setup_seconds}, $o{clients}),
    sprintf("| Instance: PSS / RSS, total (per connection) | %.0f MB (%.0f kB) / %.0f MB (%.0f kB) | <= 200 kB PSS |",
            $o1->{pss_kb} / 1024, $o1->{pss_kb} / $N, $o1->{rss_kb} / 1024, $o1->{rss_kb} / $N),
    sprintf("| Instance: processes, tasks (threads) | %d, %d | |", $o1->{processes}, $o1->{tasks}),
    sprintf("| Redis used_memory (growth per connection), connected_clients | %.1f MB (%.0f B), %d | |",
            $rd->{used_memory} / 1048576, ($rd->{used_memory} - $rb->{used_memory}) / $N,
            $rd->{connected_clients}),
    sprintf("| Each calls again, spread over %g s: answered, p50 / p99 | %d, %s / %s ms | all, p99 < 50 ms |",
            $o{'spread-s'}, $r{spread}{completed}, $ms->($r{spread}{p50_us}), $ms->($r{spread}{p99_us})),
    sprintf("| All call at the same instant (a burst): p50 / p99 | %s / %s ms | |",
            $ms->($r{all_call}{p50_us}), $ms->($r{all_call}{p99_us})),
    sprintf("| Storm: 1001 received, reconnected within %g s, answered | %d, %d | all |",
            $o{'storm-s'}, $s->{closed_1001}, $s->{answered}),
    sprintf("| Storm: first 1001 to all answered; per client 1001 to answer p50 / p99 | %.2f s; %s / %s ms | < 30 s |",
            $s->{all_answered_s}, $ms->($s->{p50_us}), $ms->($s->{p99_us})),
    sprintf("| Storm: retries (clients retrying, most by one) | %d (%d, %d) | none beyond one |",
            $s->{retries}, $s->{clients_retried}, $s->{max_retries}),
    sprintf("| Storm: why reconnections failed | %s | |",
            join('; ', map { "$_: $r{storm_retry_causes}{$_}" } sort keys %{ $r{storm_retry_causes} })
            || 'none'),
    sprintf("| Kernel limits short (all others met) | %s | |",
            join('; ', map { "$_->{name} $_->{have} < $_->{need}" } grep { !$_->{met} } @$limits)
            || 'none'));
open my $jf, '>', "$out/connections.json" or die $!;
print $jf JSON::XS->new->canonical->pretty->encode(\%r);
close $jf;
open my $tf, '>', "$out/connections.md" or die $!;
print $tf join("\n", @t), "\n";
close $tf;
print join("\n", @t), "\n";
say_ "wrote $out/connections.json, connections.md";
