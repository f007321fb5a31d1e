# SPDX-License-Identifier: GPL-2.0-or-later
# The project stands on its own: no committed file names a path outside
# the repository (a machine's directories, a sibling checkout), and every
# mention of the protocol notes names the project's own, docs/PROTOCOL.md.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(srcdir);

my $src = srcdir();
my @files = grep { length } split /\0/, `git -C '$src' ls-files -z 2>/dev/null`;
plan skip_all => 'not a git checkout: nothing is committed here' unless @files;

# Written in pieces, so this file does not match itself.
my $outside = join '|', map { quotemeta } '/wo' . 'rk/', '../sha' . 'red', 'sha' . 'red/PROTOCOL';
my $protocol = 'PROTOCOL' . '.md';
my (@outside, @protocol);
for my $file (@files) {
    open my $fh, '<', "$src/$file" or next;
    next if -B $fh;
    while (my $line = <$fh>) {
        push @outside, "$file:$.: $line" if $line =~ /$outside/;
        push @protocol, "$file:$.: $line"
            if $line =~ /\Q$protocol\E/ && $line !~ m{docs/\Q$protocol\E} && $file !~ m{^docs/};
    }
}
ok -f "$src/docs/$protocol", "docs/$protocol is in the repository";
is_deeply \@outside, [], 'no committed file names a path outside the repository';
is_deeply \@protocol, [], "every mention of $protocol names docs/$protocol";
done_testing;
