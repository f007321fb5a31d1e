#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# bench/run's body (bench/run builds the tree and raises the fd limit
# first).  Every measurement is taken --runs times, gateway and floor side
# by side in the same run (the machine is shared: ratios of one run are
# what compares); the table quotes medians.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Getopt::Long;
use IPC::Open2;
use JSON::XS;
use POSIX ();
use Time::HiRes qw(sleep time);
use OSRFWS::BenchStack;
use OSRFWS::Util qw(wait_until free_port stop_by_pidfile tempdir);

my %o = (runs => 3, sizes => '100,1000,5000', seconds => 10);
GetOptions(\%o, 'runs=i', 'sizes=s', 'seconds=i', 'quick', 'out=s', 'only=s') or die "bad options\n";
if ($o{quick}) { $o{runs} = 1; $o{sizes} = '100,1000' if $o{sizes} eq '100,1000,5000'; $o{seconds} = 3 }
my %only = map { $_ => 1 } split /,/, $o{only} // '';
sub want { !%only || $only{$_[0]} }
my $out = $o{out} // "$FindBin::Bin/results";
mkdir $out;
my $tmp = tempdir();
my $json = JSON::XS->new->canonical->pretty;
my (%runs, %dumps);     # name => [result per run]; latency samples of run 1

# Stopped early: exit, so every daemon is stopped by its pid file.
$SIG{INT} = $SIG{TERM} = sub { die "interrupted\n" };

sub say_ { print scalar(gmtime), " | @_\n" }

my $stack = OSRFWS::BenchStack->new(maxclients => 19000, workers => 2);
my $lg = $stack->bin('loadgen');
my $rport = $stack->redis->port;
my %cpu_bus = (router => $stack->pid('router'), service => $stack->pid('service'),
               redis => $stack->redis->pid);

# Runs the load generator; its JSON line, or dies with what it said.
sub lg {
    my (@args) = @_;
    my $cmd = join ' ', $lg, @args, '2>>', "$tmp/loadgen.err";
    my $outp = `$cmd`;
    my ($line) = grep { /^\{/ } reverse split /\n/, $outp;
    die "loadgen @args failed:\n$outp\n" . `tail -5 $tmp/loadgen.err` unless $line;
    my $r = decode_json($line);
    warn "loadgen @args: $r->{errors} errors\n" if $r->{errors};
    return $r;
}

sub keep { my ($name, $r) = @_; push @{ $runs{$name} }, $r; $r }

sub cpu_args {
    my ($httpd) = @_;
    my @a = map { "--cpu $_=$cpu_bus{$_}" } sort keys %cpu_bus;
    push @a, "--cpu gateway=" . $httpd->pid if $httpd;
    return @a;
}

sub apache {
    my (%a) = @_;
    my $h = $stack->apache(%a);
    wait_until(sub { $h->pid }, 10) or die "no apache pid";
    # prefork has started its StartServers children once they all exist
    my $want = $a{start_servers} // 4;
    wait_until(sub { $h->children >= $want }, 60);
    return $h;
}

sub delayproxy {
    my ($to_port) = @_;
    my $port = free_port();
    my $pidfile = "$tmp/delay-$port.pid";
    my $pid = fork // die;
    if (!$pid) {
        exec $stack->bin('delayproxy'), '--listen', $port, '--to', "127.0.0.1:$to_port",
            '--rtt-ms', 20, '--pidfile', $pidfile or POSIX::_exit(127);
    }
    wait_until(sub { -s $pidfile }, 5) or die "delay proxy did not start";
    return bless { port => $port, pid => $pid }, 'BenchProxy';
}

sub BenchProxy::DESTROY { my ($p) = @_; local $?; kill 'TERM', $p->{pid}; waitpid($p->{pid}, 0) }


# --- memory: PSS and RSS of every Apache process -----------------------------------

sub rollup {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps_rollup" or return;
    my %m;
    while (<$fh>) { $m{$1} = $2 if /^(\w+):\s+(\d+) kB/ }
    return \%m;
}

sub threads_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/status" or return 0;
    while (<$fh>) { return $1 if /^Threads:\s+(\d+)/ }
    return 0;
}

# What one busy child's private memory is made of (kB by mapping).
sub child_breakdown {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps" or return {};
    my (%by, $name);
    while (<$fh>) {
        if (/^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/) {
            $name = $1 eq '' ? 'anonymous (thread stacks, mmap)' : $1;
            $name =~ s{.*/}{};
        } elsif (/^Private_(?:Clean|Dirty):\s+(\d+) kB/) {
            $by{$name} += $1;
        }
    }
    my %top;
    for my $k (sort { $by{$b} <=> $by{$a} } keys %by) {
        last if keys %top >= 8;
        $top{$k} = $by{$k} if $by{$k};
    }
    return \%top;
}

sub apache_memory {
    my ($h) = @_;
    my @pids = ($h->pid, $h->children);
    my %t = (pss => 0, rss => 0, busy => 0, busy_pss => 0, busy_rss => 0, busy_private => 0);
    my $sample;
    for my $pid (@pids) {
        my $m = rollup($pid) or next;
        $t{pss} += $m->{Pss};
        $t{rss} += $m->{Rss};
        if ($pid != $h->pid && threads_of($pid) >= 2) {     # holds a bridge
            $t{busy}++;
            $t{busy_pss} += $m->{Pss};
            $t{busy_rss} += $m->{Rss};
            $t{busy_private} += $m->{Private_Clean} + $m->{Private_Dirty};
            $sample //= $pid;
        }
    }
    $t{processes} = scalar @pids;
    $t{breakdown} = child_breakdown($sample) if $sample;
    return \%t;
}

sub redis_memory { $stack->redis->admin->info('memory')->{used_memory} }

# N idle OpenSRF connections (one call each), then every one calls at once.
sub memory_and_scale {
    my ($n, $label, @extra) = @_;
    my $tls = grep { $_ eq '--tls' } @extra;
    my $h = apache(max_clients => $n + 64, start_servers => $n + 16, min_spare => 8,
                   max_spare => $n + 64, tls => $tls);
    my $port = $tls ? $h->tls_port : $h->port;
    sleep 2;
    my $idle = apache_memory($h);
    my $redis0 = redis_memory();
    my $pid = open2(my $from, my $to, join(' ', $lg, 'hold', '--port', $port, '--conns', $n,
                    '--quiet-errors', '--spread-s', 10, cpu_args($h), @extra, "2>>$tmp/loadgen.err"));
    my $ready = <$from>;
    die "hold $n: no answer\n" . `tail -5 $tmp/loadgen.err` unless $ready && $ready =~ /ready/;
    $ready = decode_json($ready);
    sleep 7;        # idle: past the listener's first quiet BLPOP (5 s)
    my $mem = apache_memory($h);
    my $redis1 = redis_memory();
    print $to "go\n";
    $to->flush;
    my $all = <$from>;
    print $to "go\n";
    $to->flush;
    my $spread = <$from>;
    close $to;
    waitpid($pid, 0);
    $all = $all ? decode_json($all) : { errors => -1 };
    $spread = $spread ? decode_json($spread) : { errors => -1 };
    my %r = (
        n => $n, open => $ready->{open}, setup_seconds => $ready->{setup_seconds},
        pss_total_kb => $mem->{pss}, rss_total_kb => $mem->{rss},
        pss_per_conn_kb => $mem->{pss} / $n, rss_per_conn_kb => $mem->{rss} / $n,
        busy_children => $mem->{busy},
        busy_child_pss_kb => $mem->{busy} ? $mem->{busy_pss} / $mem->{busy} : 0,
        busy_child_rss_kb => $mem->{busy} ? $mem->{busy_rss} / $mem->{busy} : 0,
        busy_child_private_kb => $mem->{busy} ? $mem->{busy_private} / $mem->{busy} : 0,
        idle_pss_total_kb => $idle->{pss},
        added_pss_per_conn_kb => ($mem->{pss} - $idle->{pss}) / $n,
        processes => $mem->{processes},
        redis_bytes_per_conn => ($redis1 - $redis0) / $n,
        breakdown_kb => $mem->{breakdown},
        scale_completed => $all->{completed}, scale_errors => $all->{errors},
        scale_p50_us => $all->{p50_us}, scale_p99_us => $all->{p99_us},
        scale_max_us => $all->{max_us}, scale_seconds => $all->{seconds},
        spread_completed => $spread->{completed}, spread_errors => $spread->{errors},
        spread_p50_us => $spread->{p50_us}, spread_p99_us => $spread->{p99_us},
        spread_max_us => $spread->{max_us},
    );
    say_ sprintf "memory %-8s N=%-5d PSS %.0f kB/conn (busy child %.0f kB PSS, %.0f kB RSS);"
        . " redis %.0f B/conn; all-call p99 %.1f ms (%s/%d); spread over 10 s p99 %.1f ms", $label, $n,
        $r{pss_per_conn_kb}, $r{busy_child_pss_kb}, $r{busy_child_rss_kb},
        $r{redis_bytes_per_conn}, ($r{scale_p99_us} // 0) / 1000,
        $r{scale_completed} // 0, $n, ($r{spread_p99_us} // 0) / 1000;
    $h->stop;
    return \%r;
}

# --- the runs ------------------------------------------------------------------------

# --only profile: where the gateway's CPU goes under 20 x 8 in flight
# (perf, software clock: this VM has no hardware counters), into
# profile.txt.  Not part of the default runs.
if ($only{profile}) {
    my $h = apache(max_clients => 64, start_servers => 32, tls => 0);
    my $port = $h->port;
    my $pid = fork // die;
    if (!$pid) { exec "$lg run --port $port --conns 20 --depth 8 --seconds 12 --quiet-errors >/dev/null" }
    sleep 3;
    my $pids = join ',', $h->pid, $h->children;
    system("perf record -q -e cpu-clock -F 2000 -g -p $pids -o $tmp/perf.data -- sleep 6 2>/dev/null");
    waitpid($pid, 0);
    system("perf report -i $tmp/perf.data --stdio --no-children --sort dso,symbol --percent-limit 0.7"
           . " -g none 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -60 > $out/profile.txt");
    system("perf report -i $tmp/perf.data --stdio --no-children --sort dso --percent-limit 0.5"
           . " -g none 2>/dev/null | grep -v '^#' | grep -v '^\$' | head -25 > $out/profile-dso.txt");
    say_ "wrote $out/profile.txt, profile-dso.txt";
    $h->stop;
    $stack->stop;
    exit 0;
}

my @sizes = split /,/, $o{sizes};
# in an eval: interrupted or failed, every lexical Apache and proxy is
# stopped as the stack unwinds, then the rest here
eval {
for my $run (1 .. $o{runs}) {
    say_ "run $run of $o{runs}";

    # latency, throughput, connection setup, deflate: one gateway, sized
    # for 200 connections at once with children ready
    my $h = apache(max_clients => 512, start_servers => 256, min_spare => 32,
                   max_spare => 300, tls => 1);
    my ($ws, $wss) = ($h->port, $h->tls_port);
    my @cpu = cpu_args($h);
    my $d1 = $run == 1 ? "--dump $tmp/lat-" : undef;

    if (want('latency')) {
    keep('latency_floor', lg("run --bus --port $rport --requests 5000", @cpu,
                              $d1 ? "${d1}floor" : ()));
    keep('latency_ws', lg("run --port $ws --requests 5000", @cpu, $d1 ? "${d1}ws" : ()));
    keep('latency_wss', lg("run --tls --port $wss --requests 5000", @cpu,
                           $d1 ? "${d1}wss" : ()));
    say_ sprintf "latency p50/p99 us: floor %.0f/%.0f ws %.0f/%.0f wss %.0f/%.0f",
        map { @{ $runs{$_}[-1] }{qw(p50_us p99_us)} } qw(latency_floor latency_ws latency_wss);
    }

    for my $shape (want('throughput') ? ([20, 8], [200, 1]) : ()) {
        my ($c, $d) = @$shape;
        my $base = "run --conns $c --depth $d --seconds $o{seconds} --quiet-errors";
        keep("tput_${c}x${d}_floor", lg("$base --bus --port $rport", @cpu));
        keep("tput_${c}x${d}_ws", lg("$base --port $ws", @cpu));
        say_ sprintf "throughput %dx%d rps: floor %.0f ws %.0f; gateway CPU %.1f us/req", $c, $d,
            $runs{"tput_${c}x${d}_floor"}[-1]{rps}, $runs{"tput_${c}x${d}_ws"}[-1]{rps},
            $runs{"tput_${c}x${d}_ws"}[-1]{gateway_cpu_us_per_req};
    }

    if (want('connect')) {
    keep('connect_floor', lg("new --bus --port $rport --count 500", @cpu));
    keep('connect_ws', lg("new --port $ws --count 500", @cpu));
    keep('connect_wss', lg("new --tls --port $wss --count 500", @cpu));
    say_ sprintf "connect p50/p99 us: floor %.0f/%.0f ws %.0f/%.0f wss %.0f/%.0f",
        map { @{ $runs{$_}[-1] }{qw(p50_us p99_us)} } qw(connect_floor connect_ws connect_wss);
    }

    # issue 9: a large result, with and without permessage-deflate
    for my $z (want('deflate') ? ('', '--deflate') : ()) {
        my $k = $z ? 'deflate' : 'plain';
        keep("records_$k", lg("run --records --port $ws --requests 100 $z", @cpu));
    }
    if (want('deflate')) {      # the same at zlib level 1 (the default is 6)
        my $h1 = apache(max_clients => 16, start_servers => 4,
                        conf => "WebSocketCompressionLevel 1");
        keep('records_deflate1', lg("run --records --port", $h1->port, "--requests 100 --deflate",
                                    cpu_args($h1)));
        $h1->stop;
    }

    # the seed's table, and deflate, over 20 ms of added round trip
    if (want('rtt')) {
    my %px = (ws => delayproxy($ws), wss => delayproxy($wss));
    for my $t ('ws', 'wss') {
        my $p = "--port $px{$t}{port}" . ($t eq 'wss' ? ' --tls' : '');
        keep("rtt_${t}_persistent_burst", lg("run $p --depth 10 --requests 10"));
        keep("rtt_${t}_new_burst", lg("new $p --count 10 --concurrency 10"));
        keep("rtt_${t}_persistent_sparse", lg("run $p --requests 3 --gap-ms 300"));
        keep("rtt_${t}_new_sparse", lg("new $p --count 3 --concurrency 1 --gap-ms 300"));
    }
    for my $z ('', '--deflate') {
        my $k = $z ? 'deflate' : 'plain';
        keep("records_rtt_$k", lg("run --records --port $px{ws}{port} --requests 20 $z"));
    }
    %px = ();
    say_ sprintf "rtt sparse ms per request: ws persistent %.1f new %.1f; wss persistent %.1f new %.1f",
        map { $runs{$_}[-1]{mean_us} / 1000 }
        qw(rtt_ws_persistent_sparse rtt_ws_new_sparse rtt_wss_persistent_sparse rtt_wss_new_sparse);
    }
    $h->stop;

    # connection storm on a fresh instance: conf/envvars' sizing, and the
    # sizing for a storm
    for my $s (want('storm') ? (['old', 1024, 32, 16, 64], ['default', 1024, 1024, 64, 1024]) : ()) {
        my ($name, $max, $start, $min, $maxs) = @$s;
        my $hs = apache(max_clients => $max, start_servers => $start, min_spare => $min,
                        max_spare => $maxs);
        keep("storm_$name", lg("new --port", $hs->port, "--count 1000 --concurrency 1000 --keep-open",
                               "--quiet-errors", cpu_args($hs)));
        say_ sprintf "storm (%s: StartServers %d): 1000 first replies in %.2f s, %d errors",
            $name, $start, $runs{"storm_$name"}[-1]{seconds}, $runs{"storm_$name"}[-1]{errors};
        $hs->stop;
    }

    for my $n (want('memory') ? @sizes : ()) {
        keep("memory_ws_$n", memory_and_scale($n, 'ws'));
    }
    if (want('memory')) {
        keep('memory_wss_1000', memory_and_scale(1000, 'wss', '--tls'));
        keep('memory_deflate_1000', memory_and_scale(1000, 'deflate', '--deflate'));
    }
    $dumps{$_} = "$tmp/lat-$_" for $run == 1 ? qw(floor ws wss) : ();
}
1;
} or do {
    my $why = $@;
    $stack->stop;
    die $why;
};
$stack->stop;

# --- medians, table, plots -------------------------------------------------------------

sub median {
    my @v = sort { $a <=> $b } grep { defined } @_;
    return undef unless @v;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my %med;
for my $name (keys %runs) {
    my %keys = map { %$_ } @{ $runs{$name} };
    for my $k (keys %keys) {
        next if ref $runs{$name}[0]{$k} || ($runs{$name}[0]{$k} // '') !~ /^-?[\d.]+(?:e[-+]?\d+)?$/;
        $med{$name}{$k} = median(map { $_->{$k} } @{ $runs{$name} });
    }
    $med{$name}{breakdown_kb} = $runs{$name}[0]{breakdown_kb} if $runs{$name}[0]{breakdown_kb};
}

chomp(my $cpu = `lscpu | sed -n 's/^Model name: *//p' | head -1`);
chomp(my $kernel = `uname -r`);
chomp(my $apache = `/usr/sbin/apache2 -v | sed -n 's/^Server version: //p'`);
my %machine = (date => scalar(gmtime) . ' UTC', cpu => $cpu, cores => POSIX::sysconf(84) // 2,
               memory_gib => int(`awk '/MemTotal/ {print \$2}' /proc/meminfo` / 1048576 + 0.5),
               kernel => $kernel, apache => $apache, runs => $o{runs},
               load_before => (split ' ', `cat /proc/loadavg`)[0]);

open my $jf, '>', "$out/latest.json" or die $!;
print $jf $json->encode({ machine => \%machine, median => \%med, runs => \%runs });
close $jf;

sub f { my ($v, $d) = @_; defined $v ? sprintf("%.${\($d // 0)}f", $v) : '-' }
sub ms { f(($_[0] // 0) / 1000, $_[1] // 2) }
my $m = \%med;
my @t;
push @t, "Machine: $machine{cpu}, $machine{cores} cores, $machine{memory_gib} GiB, Linux $machine{kernel},"
    . " $machine{apache}; $machine{date}; medians of $machine{runs} runs; shared with other jobs.", '';
push @t, '| Measurement | Gateway | Floor (bus only) | Target |', '|---|---|---|---|';
for my $n (@sizes) {
    my $r = $m->{"memory_ws_$n"} or next;
    push @t, sprintf "| Memory, %d idle ws connections: PSS (RSS) per connection | %s kB (%s kB); busy child %s kB PSS | - | %s |",
        $n, f($r->{pss_per_conn_kb}), f($r->{rss_per_conn_kb}), f($r->{busy_child_pss_kb}),
        $n == 1000 ? '<= 250 kB' : '';
}
for my $k (['wss', '<= 350 kB'], ['deflate', '']) {
    my $r = $m->{"memory_$k->[0]_1000"} or next;
    push @t, sprintf "| Memory, 1000 idle %s connections: PSS (RSS) per connection | %s kB (%s kB) | - | %s |",
        $k->[0] eq 'wss' ? 'wss' : 'ws + permessage-deflate', f($r->{pss_per_conn_kb}),
        f($r->{rss_per_conn_kb}), $k->[1];
}
for my $n (@sizes) {
    my $r = $m->{"memory_ws_$n"} or next;
    push @t, sprintf "| Redis memory per gateway connection (N=%d) | %s B | - | |", $n,
        f($r->{redis_bytes_per_conn});
}
my $big = $sizes[-1];
if (my $r = $m->{"memory_ws_$big"}) {
    push @t, sprintf "| Scale: %d open, each calls, the calls spread over 10 s: p50 / p99 | %s / %s ms (%s answered) | - | p99 < 50 ms at 5000 |",
        $big, ms($r->{spread_p50_us}), ms($r->{spread_p99_us}), f($r->{spread_completed});
    push @t, sprintf "| Scale: %d open, all call at the same instant: p50 / p99 (a burst: throughput-bound) | %s / %s ms (%s answered) | - | |",
        $big, ms($r->{scale_p50_us}), ms($r->{scale_p99_us}), f($r->{scale_completed});
}
my ($lf, $lw, $ls) = @$m{qw(latency_floor latency_ws latency_wss)};
push @t, sprintf "| Latency, 5000 sequential adds: p50 / p90 / p99 / max (ws) | %s / %s / %s / %s ms | %s / %s / %s / %s ms | p50 <= floor + 0.1 ms; p99 <= 2x floor |",
    (map { ms($lw->{$_}, 3) } qw(p50_us p90_us p99_us max_us)),
    (map { ms($lf->{$_}, 3) } qw(p50_us p90_us p99_us max_us));
push @t, sprintf "| Latency, same over wss: p50 / p99 | %s / %s ms | | |", ms($ls->{p50_us}, 3), ms($ls->{p99_us}, 3);
for my $s ('20x8', '200x1') {
    my ($g, $f) = ($m->{"tput_${s}_ws"}, $m->{"tput_${s}_floor"});
    push @t, sprintf "| Throughput %s: req/s, p99 | %s req/s (%s%% of floor), p99 %s ms | %s req/s, p99 %s ms | >= 80%% of floor |",
        $s, f($g->{rps}), f(100 * $g->{rps} / ($f->{rps} || 1)), ms($g->{p99_us}, 1), f($f->{rps}),
        ms($f->{p99_us}, 1);
    push @t, sprintf "| Gateway CPU per request, %s (all Apache processes) | %s us | (router %s us, service %s us, Redis %s us) | <= 50 us |",
        $s, f($g->{gateway_cpu_us_per_req}, 1), f($f->{router_cpu_us_per_req}, 1),
        f($f->{service_cpu_us_per_req}, 1), f($f->{redis_cpu_us_per_req}, 1);
    push @t, sprintf "| Load generator CPU per 1000 requests, %s | %s ms | %s ms | |", $s,
        f($g->{client_cpu_ms_per_1000}, 1), f($f->{client_cpu_ms_per_1000}, 1);
}
my ($cf, $cw, $cs) = @$m{qw(connect_floor connect_ws connect_wss)};
push @t, sprintf "| New connection to first reply, 500 sequential: p50 / p99 | ws %s / %s ms; wss %s / %s ms | %s / %s ms (TCP + AUTH + call) | p50 <= 1 ms |",
    ms($cw->{p50_us}, 2), ms($cw->{p99_us}, 2), ms($cs->{p50_us}, 2), ms($cs->{p99_us}, 2),
    ms($cf->{p50_us}, 2), ms($cf->{p99_us}, 2);
for my $s (['old', 'StartServers 32, MinSpare 16: the old conf/envvars'], ['default', 'StartServers 1024, MinSpare 64, MaxSpare 1024: conf/envvars now']) {
    my $r = $m->{"storm_$s->[0]"} or next;
    push @t, sprintf "| Storm: 1000 clients at once, all first replies (%s) | %s s, p99 %s ms, %s failed | - | < 2 s |",
        $s->[1], f($r->{seconds}, 2), ms($r->{p99_us}, 0), f($r->{errors});
}
push @t, '', '20 ms added round trip (bench/delayproxy), opensrf.math add:', '',
    '| | ws persistent | ws new connection per request | wss persistent | wss new connection per request |',
    '|---|---|---|---|---|';
push @t, sprintf "| Burst of 10 requests: all answered | %s ms | %s ms | %s ms | %s ms |",
    map { ms($m->{$_}{seconds} * 1e6, 1) }
    qw(rtt_ws_persistent_burst rtt_ws_new_burst rtt_wss_persistent_burst rtt_wss_new_burst);
push @t, sprintf "| 3 sparse requests (300 ms apart): per request | %s ms | %s ms | %s ms | %s ms |",
    map { ms($m->{$_}{mean_us}, 1) }
    qw(rtt_ws_persistent_sparse rtt_ws_new_sparse rtt_wss_persistent_sparse rtt_wss_new_sparse);
my ($rp, $rd, $rtp, $rtd) = @$m{qw(records_plain records_deflate records_rtt_plain records_rtt_deflate)};
push @t, '', 'permessage-deflate (issue 9): opensrf.bench records, 500 nested fieldmapper-like records, ws:', '',
    '| | without | with permessage-deflate |', '|---|---|---|';
push @t, sprintf "| Bytes on the wire per reply | %s | %s (ratio %s) |", f($rp->{rx_bytes_per_req}),
    f($rd->{rx_bytes_per_req}), f($rp->{rx_bytes_per_req} / ($rd->{rx_bytes_per_req} || 1), 1);
push @t, sprintf "| Latency p50 / p99, loopback | %s / %s ms | %s / %s ms |", ms($rp->{p50_us}), ms($rp->{p99_us}),
    ms($rd->{p50_us}), ms($rd->{p99_us});
push @t, sprintf "| Latency p50, 20 ms added RTT | %s ms | %s ms |", ms($rtp->{p50_us}), ms($rtd->{p50_us});
push @t, sprintf "| Gateway CPU per reply | %s us | %s us |", f($rp->{gateway_cpu_us_per_req}),
    f($rd->{gateway_cpu_us_per_req});
if (my $r1 = $m->{records_deflate1}) {
    push @t, sprintf "| WebSocketCompressionLevel 1: bytes, latency p50, gateway CPU per reply | | %s B, %s ms, %s us |",
        f($r1->{rx_bytes_per_req}), ms($r1->{p50_us}), f($r1->{gateway_cpu_us_per_req});
}
push @t, sprintf "| Client CPU per reply (inflate included) | %s us | %s us |",
    f($rp->{client_cpu_ms_per_1000}), f($rd->{client_cpu_ms_per_1000});
if (my ($a, $b) = @$m{qw(memory_ws_1000 memory_deflate_1000)}) {
    push @t, sprintf "| Memory per idle connection (N=1000), PSS | %s kB | %s kB |", f($a->{pss_per_conn_kb}),
        f($b->{pss_per_conn_kb}) if $a && $b;
}
open my $tf, '>', "$out/latest.md" or die $!;
print $tf join("\n", @t), "\n";
close $tf;
print join("\n", @t), "\n";

# Plots: memory per connection against N; the latency distribution.
if (-x '/usr/bin/gnuplot') {
    open my $mf, '>', "$tmp/memory.dat" or die $!;
    for my $n (@sizes) {
        my $r = $m->{"memory_ws_$n"} or next;
        printf $mf "%d %.1f %.1f %.1f\n", $n, $r->{pss_per_conn_kb}, $r->{rss_per_conn_kb},
            $r->{busy_child_private_kb};
    }
    close $mf;
    for my $k (keys %dumps) {
        open my $in, '<', $dumps{$k} or next;
        my @v = <$in>;
        close $in;
        open my $o, '>', "$tmp/cdf-$k.dat" or die $!;
        for my $q (0 .. 200) {
            my $i = int($q / 200 * $#v);
            printf $o "%.1f %.4f\n", $v[$i] / 1000, $i / $#v;
        }
        close $o;
    }
    system('gnuplot', '-e', "tmp='$tmp'; out='$out'", "$FindBin::Bin/plot.gp") == 0
        or warn "gnuplot failed\n";
}
say_ "wrote $out/latest.json, latest.md, memory.svg, latency.svg";
