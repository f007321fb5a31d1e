#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# make soak: the gateway under hours of mixed traffic (not part of CI).
#
# Starts the whole stack (Redis with OpenSRF's ACL accounts, the test
# OpenSRF, Apache with the bridge), runs t/soak/soak.py's CONNECTIONS
# clients for SECONDS (about 1% of them hostile: CONNECT floods,
# non-readers, oversized frames), and writes a report: calls made, errors
# by kind, the hostile connections and how they ended, each child's
# memory after the warm-up and at the end, Redis's peak memory, the Redis
# keys left once the clients are gone, and what the error log says.
# Exits 1 when a limit is broken (an error, a child growing by 1 MB or
# more, a key left, a crash in the log).
# Usage: soak.pl [--seconds N] [--connections N] [--warmup N] [--report FILE]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Getopt::Long;
use JSON::XS;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);
use OSRFWS::Gateway;
use OSRFWS::Util qw(wait_until);

my %o = (seconds => 3600, connections => 200, report => 'soak-report.txt');
GetOptions(\%o, 'seconds=i', 'connections=i', 'warmup=i', 'report=s') or die "bad options\n";
# memory is compared from the end of the warm-up (a sixth of the run, at
# least a minute): by then each child has held its largest message once
$o{warmup} //= $o{seconds} / 6 > 60 ? int($o{seconds} / 6) : 60;
my $GROWTH_LIMIT_KB = 1024;

sub stamp { strftime('%Y-%m-%d %H:%M:%S UTC', gmtime) }
sub say_now { print stamp(), " @_\n" }
$| = 1;

my $max = $o{connections} + 40;
my $MAX_MESSAGE = 16 * 1024 * 1024;
my $gw = OSRFWS::Gateway->new(
    osrf => { workers => 8 },
    apache => { max_clients => $max, start_servers => $o{connections} + 10,
                min_spare => 5, max_spare => $max, log_level => 'info',
                max_message => $MAX_MESSAGE });
my $started = stamp();
say_now("stack up: Apache on port ", $gw->httpd->port, ", Redis on ", $gw->redis->port);

# VmRSS of each child, in kB
sub child_rss {
    my %rss;
    for my $pid ($gw->httpd->children) {
        open my $fh, '<', "/proc/$pid/status" or next;
        while (<$fh>) { $rss{$pid} = $1 if /^VmRSS:\s+(\d+) kB/ }
    }
    return \%rss;
}

my $client_out = "$o{report}.client.json";
my $pid = fork // die "fork: $!";
if (!$pid) {
    open STDOUT, '>', $client_out or die $!;
    exec '/usr/bin/python3', "$FindBin::Bin/soak.py", $gw->url, $o{connections}, $o{seconds},
        $MAX_MESSAGE or POSIX::_exit(127);
}
say_now("clients started (pid $pid): $o{connections} connections for $o{seconds} s");

# Redis's memory (INFO memory), sampled every few seconds while the
# clients run: its peak is what hostile clients could make it hold.
my ($redis_peak, $redis_peak_at) = (0, '');
sub sample_redis {
    my $info = eval { $gw->redis->admin->info('memory') } or return;
    my $used = $info->{used_memory} // 0;
    ($redis_peak, $redis_peak_at) = ($used, stamp()) if $used > $redis_peak;
}
sub sleep_sampling {
    my ($seconds) = @_;
    my $until = time + $seconds;
    while ((my $left = $until - time) > 0) {
        sample_redis();
        sleep($left < 5 ? $left : 5);      # the pace of the samples
    }
}

my $warmup = $o{warmup} < $o{seconds} / 2 ? $o{warmup} : int($o{seconds} / 4);
sleep_sampling($warmup);
# requests each child has logged so far (activity lines, OSRFWS02010)
sub requests_by_child {
    my %n;
    my $log = $gw->httpd->error_log;
    $n{$1}++ while $log =~ /\[pid (\d+):tid \d+\][^\n]*OSRFWS02010/g;
    return \%n;
}

# A child that has served few requests has not yet held the largest
# messages: its buffers still grow to their high-water mark, which is not
# a leak.  Memory is compared for the children warmed by then.
my $WARM_REQUESTS = 50;
my $rss_all = child_rss();
my $served = requests_by_child();
my $rss_start = { map { $_ => $rss_all->{$_} } grep { ($served->{$_} // 0) >= $WARM_REQUESTS } keys %$rss_all };
say_now("memory after the $warmup s warm-up: ", scalar(keys %$rss_all), " children, ",
        scalar(keys %$rss_start), " warmed (at least $WARM_REQUESTS requests)");
my $rss_end;
my $end_at = time + $o{seconds} - $warmup - 15;
while (time < $end_at) {
    sleep_sampling(($end_at - time) < 60 ? ($end_at - time > 0 ? $end_at - time : 0) : 60);
    $rss_end = child_rss();
    my @g = map { $rss_end->{$_} - $rss_start->{$_} } grep { $rss_end->{$_} } keys %$rss_start;
    my ($max_g) = sort { $b <=> $a } @g;
    say_now(sprintf "%d children, max growth so far %d kB", scalar(keys %$rss_end), $max_g // 0);
}
$rss_end = child_rss();
# until the clients end (their own deadline), a sample a second
sample_redis() while waitpid($pid, POSIX::WNOHANG()) == 0 && sleep(1);
my $client_rc = $? >> 8;
my $stats = eval { local $/; open my $fh, '<', $client_out or die; decode_json(<$fh>) }
    // { error => "no client output (exit $client_rc)" };

my $keys_gone = wait_until(sub { !grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching }, 60);
my @keys_left = grep { /^opensrf:client:gateway:/ } $gw->redis->keys_matching;

my $log = $gw->httpd->error_log;
my %by_number;
$by_number{$1}++ while $log =~ /(OSRFWS\d{5})/g;
my @crashes = grep { /Segmentation|exit signal|AH00052|AddressSanitizer/ } split /\n/, $log;
my @problems = $gw->httpd->log_problems;

my (@rows, $worst, $n_both);
for my $p (sort { $a <=> $b } keys %$rss_start) {
    next unless exists $rss_end->{$p};
    my $g = $rss_end->{$p} - $rss_start->{$p};
    $n_both++;
    $worst = $g if !defined $worst || $g > $worst;
    push @rows, sprintf "  %7d %9d %9d %+8d", $p, $rss_start->{$p}, $rss_end->{$p}, $g;
}
my @sorted_g = sort { $a <=> $b } map { $rss_end->{$_} - $rss_start->{$_} }
               grep { exists $rss_end->{$_} } keys %$rss_start;
my $median = @sorted_g ? $sorted_g[$#sorted_g / 2] : 0;

my $errors = $stats->{total_errors} // 1;
my $ok = !$client_rc && !$errors && !@keys_left && !@crashes && defined $worst
         && $worst < $GROWTH_LIMIT_KB;

open my $r, '>', $o{report} or die "$o{report}: $!";
print $r "mod_osrf_websocket soak report\n";
print $r "started $started, ended ", stamp(), "\n";
print $r "$o{connections} connections, $o{seconds} s of traffic ($stats->{seconds} s measured), ",
         "$stats->{connections} connections opened in all\n\n";
print $r "calls made: ", $stats->{total_calls} // 0, "\n";
print $r sprintf("  %-10s %d\n", $_, $stats->{calls}{$_}) for sort keys %{ $stats->{calls} // {} };
print $r "errors: $errors\n";
print $r sprintf("  %-30s %d\n", $_, $stats->{errors}{$_}) for sort keys %{ $stats->{errors} // {} };
print $r "  client: $stats->{error}\n" if $stats->{error};
print $r "hostile clients: ", $stats->{hostile_connections} // 0, " of $o{connections}, ",
         "attacks by kind and how they ended:\n";
for my $kind (sort keys %{ $stats->{hostile} // {} }) {
    my $h = $stats->{hostile}{$kind};
    print $r sprintf("  %-14s %s\n", $kind, join(', ', map { "$_ x$h->{$_}" } sort keys %$h));
}
print $r "\nchild memory (VmRSS, kB) after the $warmup s warm-up and at the end, children",
         " warmed then (at least $WARM_REQUESTS requests) and alive at both: ", $n_both // 0,
         " (", scalar(keys %$rss_all) - scalar(keys %$rss_start), " of ", scalar(keys %$rss_all),
         " children not warmed yet at the start are left out)\n";
print $r "  growth: max ", $worst // 'n/a', " kB, median $median kB (limit < $GROWTH_LIMIT_KB kB)\n";
print $r "      pid     start       end   growth\n", join("\n", @rows), "\n";
printf $r "\nRedis peak memory (used_memory, sampled every 5 s): %.1f MB at %s\n",
          $redis_peak / 1048576, $redis_peak_at || 'n/a';
print $r "Redis keys of the gateway left at the end: ", scalar(@keys_left),
         (@keys_left ? "\n  " . join("\n  ", @keys_left) : ''), "\n";
print $r "\nerror log: ", join(', ', map { "$_ x$by_number{$_}" } sort keys %by_number), "\n";
print $r "  crashes: ", scalar(@crashes), "\n", map { "  $_\n" } @crashes;
print $r "  error-level lines: ", scalar(@problems), "\n", map { "  $_\n" } @problems[0 .. ($#problems < 9 ? $#problems : 9)];
print $r "\nresult: ", ($ok ? 'PASS' : 'FAIL'), "\n";
close $r;
say_now("report written to $o{report}: ", $ok ? 'PASS' : 'FAIL');
exit($ok ? 0 : 1);
