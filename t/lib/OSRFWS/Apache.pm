# SPDX-License-Identifier: GPL-2.0-or-later
package OSRFWS::Apache;
# A throwaway secondary Apache instance built from conf/httpd.conf, on free
# loopback ports, with the modules of this build.  Stopped by its pid file.
use strict;
use warnings;
use Cwd qw(abs_path);
use OSRFWS::Util qw(free_port wait_for_port wait_until tempdir
                    read_pidfile pid_alive srcdir builddir);

# Options: tls => 1, bridge => 1, conf => "extra directives",
# env => { VAR => value }, max_clients, start_servers, ping_interval,
# max_message, log_level, docroot, httpd_conf => another main
# configuration file in place of conf/httpd.conf (same variables),
# stop_timeout (seconds the parent has to stop before KILL: 15),
# configure_only => 1 (not started: for config_test).
sub new {
    my ($class, %opt) = @_;
    my $self = OSRFWS::Util::stop_object_at_exit(bless { opt => \%opt }, $class);
    $self->{dir} = tempdir();
    $self->{port} = $opt{port} // free_port();
    $self->{tls_port} = $opt{tls_port} // free_port() if $opt{tls};
    mkdir "$self->{dir}/$_" for qw(logs conf.d);
    chmod 0755, "$self->{dir}/logs";
    $self->_copy_docroot($opt{docroot} // abs_path(srcdir()) . '/t/www');
    $self->_write_conf($opt{conf} // '');
    $self->_make_cert if $opt{tls};
    $self->start unless $opt{configure_only};
    return $self;
}

# httpd -t (what apachectl -t runs) on an instance made with
# configure_only: whether it passed, and what httpd printed.
sub config_test {
    my ($self) = @_;
    my $out = "$self->{dir}/logs/config_test.out";
    open my $saved_out, '>&', \*STDOUT or die $!;
    open my $saved_err, '>&', \*STDERR or die $!;
    open STDOUT, '>', $out or die $!;
    open STDERR, '>&', \*STDOUT or die $!;
    my $rc = $self->_httpd('-t');
    open STDOUT, '>&', $saved_out or die $!;
    open STDERR, '>&', $saved_err or die $!;
    return ($rc == 0, _slurp($out));
}

sub dir      { $_[0]{dir} }
sub port     { $_[0]{port} }
sub tls_port { $_[0]{tls_port} }
sub url      { my ($s, $path) = @_; "ws://127.0.0.1:$s->{port}" . ($path // '') }
sub tls_url  { my ($s, $path) = @_; "wss://127.0.0.1:$s->{tls_port}" . ($path // '') }
sub http_url { my ($s, $path) = @_; "http://127.0.0.1:$s->{port}" . ($path // '') }
sub pidfile  { "$_[0]{dir}/httpd.pid" }
sub pid      { read_pidfile($_[0]->pidfile) }
sub error_log_file { "$_[0]{dir}/logs/error.log" }

sub _modules_dir {
    my $b = builddir();
    return -d "$b/.libs" ? abs_path("$b/.libs") : abs_path($b);
}

# The children (www-data when root starts Apache) read the pages: a copy in
# the run directory, as the checkout may be where they cannot go (/root/x).
sub _copy_docroot {
    my ($self, $from) = @_;
    my $www = "$self->{dir}/www";
    system('cp', '-RL', '--', $from, $www) == 0 or die "cannot copy $from to $www";
    system('chmod', '-R', 'a+rX', '--', $www) == 0 or die "cannot open $www to the children";
}

sub _write_conf {
    my ($self, $extra) = @_;
    open my $fh, '>', "$self->{dir}/conf.d/test.conf" or die $!;
    print $fh $extra, "\n";
    close $fh;
}

# Rewrites the extra directives (used before a graceful restart).
sub set_conf { my ($self, $extra) = @_; $self->_write_conf($extra) }

sub _make_cert {
    my ($self) = @_;
    my $d = $self->{dir};
    system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
           . " -keyout $d/key.pem -out $d/cert.pem 2>$d/openssl.log") == 0
        or die "openssl failed";
    chmod 0644, "$d/key.pem";
}

sub env {
    my ($self) = @_;
    my $o = $self->{opt};
    my $src = abs_path(srcdir());
    my %env = (
        APACHE_RUN_USER        => $> == 0 ? 'www-data' : scalar getpwuid($>),
        APACHE_RUN_GROUP       => $> == 0 ? 'www-data' : scalar getgrgid($)),
        OSRF_WS_SERVER_ROOT    => $self->{dir},
        OSRF_WS_CONF_DIR       => "$src/conf",
        OSRF_WS_LOCAL_CONF_DIR => "$self->{dir}/conf.d",
        OSRF_WS_SERVER_NAME    => '127.0.0.1',
        OSRF_WS_PID_FILE       => $self->pidfile,
        OSRF_WS_LOG_DIR        => "$self->{dir}/logs",
        OSRF_WS_LOG_LEVEL      => $o->{log_level} // 'info',
        OSRF_WS_HTTPD_MODULES  => $ENV{OSRFWS_HTTPD_MODULES} // '/usr/lib/apache2/modules',
        OSRF_WS_MODULES        => _modules_dir(),
        OSRF_WS_DOCUMENT_ROOT  => "$self->{dir}/www",
        OSRF_WS_LISTEN         => "127.0.0.1:$self->{port}",
        OSRF_WS_TLS_LISTEN     => "127.0.0.1:" . ($self->{tls_port} // 0),
        OSRF_WS_TLS_CERT       => "$self->{dir}/cert.pem",
        OSRF_WS_TLS_KEY        => "$self->{dir}/key.pem",
        OSRF_WS_MAX_CLIENTS    => $o->{max_clients} // 64,
        OSRF_WS_START_SERVERS  => $o->{start_servers} // 4,
        OSRF_WS_MIN_SPARE      => $o->{min_spare} // 2,
        OSRF_WS_MAX_SPARE      => $o->{max_spare} // 8,
        OSRF_WS_MAX_MESSAGE    => $o->{max_message} // '16M',
        OSRF_WS_PING_INTERVAL  => $o->{ping_interval} // 30,
        LD_BIND_NOW            => 1,    # as conf/envvars
        %{ $o->{env} // {} },
    );
    if (($ENV{OSRFWS_SANITIZERS} // '') eq 'yes') {
        chomp(my $asan = `gcc -print-file-name=libasan.so`);
        $env{LD_PRELOAD} = $asan;
        $env{ASAN_OPTIONS} = "detect_leaks=0:abort_on_error=0:log_path=$self->{dir}/logs/asan";
        $env{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$self->{dir}/logs/ubsan";
    }
    return %env;
}

sub _httpd {
    my ($self, @args) = @_;
    my $o = $self->{opt};
    my @defines;
    push @defines, '-D', 'OSRF_TLS' if $o->{tls};
    push @defines, '-D', 'OSRF_BRIDGE' if $o->{bridge};
    my $httpd = $ENV{OSRFWS_HTTPD} || '/usr/sbin/apache2';
    local %ENV = (%ENV, $self->env);
    return system($httpd, '-f', $o->{httpd_conf} // abs_path(srcdir()) . '/conf/httpd.conf',
                  @defines, @args);
}

# What httpd printed while starting (configuration errors come there,
# before the error log is open).
sub start_output_file { "$_[0]{dir}/logs/start.out" }

sub start {
    my ($self) = @_;
    open my $saved, '>&', \*STDERR or die $!;
    open STDERR, '>', $self->start_output_file or die $!;
    my $rc = $self->_httpd('-k', 'start');
    open STDERR, '>&', $saved or die $!;
    $rc == 0
        or die "apache did not start:\n" . _slurp($self->start_output_file) . $self->error_log;
    wait_for_port($self->{port}, 15)
        or die "apache does not answer on $self->{port}:\n" . $self->error_log;
    wait_for_port($self->{tls_port}, 15) if $self->{tls_port};
    # the parent listens before it writes its pid file
    $self->{known_pid} = wait_until(sub { $self->pid }, 10) or die "apache wrote no pid file";
    # and logs that it runs a little later: graceful_and_wait counts these
    # lines, so a restart right after the start must not take this one
    wait_until(sub { $self->restarts }, 10);
    $self->{started} = 1;
    return $self;
}

# SIGUSR1: graceful restart; SIGWINCH: graceful stop.
sub graceful      { my $p = $_[0]->pid; kill 'USR1', $p if $p }
sub graceful_stop { my $p = $_[0]->pid; kill 'WINCH', $p if $p }

# How many times the parent has (re)read its configuration.
sub restarts { my ($self) = @_; scalar(() = $self->error_log =~ /resuming normal operations/g) }

# A graceful restart, then waits until the parent has read its
# configuration again (connections before that may reach old children).
sub graceful_and_wait {
    my ($self, $timeout) = @_;
    my $before = $self->restarts;
    $self->graceful;
    return wait_until(sub { $self->restarts > $before }, $timeout // 10);
}

# TERM to the parent, which stops its children; KILL after a bounded wait.
# A child outlives a killed parent (reparented to init, it would serve on),
# so the children are noted before the KILL, and any left are killed too.
sub stop {
    my ($self) = @_;
    return unless $self->{started};
    $self->{started} = 0;
    my $parent = $self->pid // $self->{known_pid};
    $self->children;
    kill 'TERM', $parent if $parent;
    my $killed = !wait_until(sub { !pid_alive($parent) }, $self->{opt}{stop_timeout} // 15);
    if ($killed) {
        $self->children;
        kill 'KILL', $parent;
        wait_until(sub { !pid_alive($parent) }, 5);
    }
    my $left = sub { grep { $self->_is_ours($_) } @{ $self->{seen_children} // [] } };
    return if !$killed && wait_until(sub { !$left->() }, 10);
    kill 'KILL', $left->();
    wait_until(sub { !$left->() }, 5);
}

# A pid seen as a child is still a process of this instance (not a pid
# the system has given to another program, another Apache, since): its
# environment has this instance's pid file.
sub _is_ours {
    my ($self, $pid) = @_;
    return 0 unless pid_alive($pid);
    open my $fh, '<', "/proc/$pid/environ" or return 0;
    local $/;
    my $env = <$fh> // '';
    return index("\0$env", "\0OSRF_WS_PID_FILE=" . $self->pidfile . "\0") >= 0;
}

sub DESTROY { local $?; $_[0]->stop }

# Pids of the parent's children now (prefork: one per connection).
sub children {
    my ($self) = @_;
    my $parent = $self->pid // $self->{known_pid} or return ();
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;
        close $fh;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @kids, $pid if $ppid == $parent;
    }
    my %seen = map { $_ => 1 } @{ $self->{seen_children} // [] }, @kids;
    $self->{seen_children} = [ keys %seen ];
    return @kids;
}

sub error_log { _slurp($_[0]->error_log_file) }

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return <$fh> // '';
}

# Problems a test must not leave behind: crashes, errors, sanitizer reports.
sub log_problems {
    my ($self) = @_;
    my @bad = grep { /\[(?:[a-z_]+:)?(?:error|crit|alert|emerg)\]|AH00052|Segmentation/ }
              split /\n/, $self->error_log;
    for my $f (glob "$self->{dir}/logs/asan* $self->{dir}/logs/ubsan*") {
        open my $fh, '<', $f or next;
        local $/;
        push @bad, "sanitizer report $f:\n" . (<$fh> // '');
    }
    return @bad;
}

1;
