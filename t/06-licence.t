# SPDX-License-Identifier: GPL-2.0-or-later
# The licence, GPL-2.0-or-later as OpenSRF's and Evergreen's: its text in
# COPYING, Debian's copyright file saying so, and an SPDX line near the top
# of every source file (code, scripts, build files, configuration, pages).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use OSRFWS::Util qw(srcdir);

my $src = srcdir();
my @files = grep { length } split /\0/, `git -C '$src' ls-files -z 2>/dev/null`;
plan skip_all => 'not a git checkout: nothing is committed here' unless @files;

my $SPDX = 'SPDX-License-Identifier: GPL-2.0-or-later';
my $source = qr/\.(?:c|h|t|pm|pl|py|mk|js|mjs|ts|html|conf|gp|sh|xml|8|am|ac)$/;
my (@checked, @missing);
for my $file (grep { !m{^t/fuzz/corpus/} } @files) {
    open my $fh, '<', "$src/$file" or next;
    my @head = grep { defined } map { scalar <$fh> } 1 .. 5;
    next unless $file =~ $source || ($head[0] // '') =~ /^#!/;
    push @checked, $file;
    push @missing, $file unless grep { /\Q$SPDX\E/ } @head;
}
cmp_ok scalar @checked, '>', 100, scalar(@checked) . ' source files found';
is_deeply \@missing, [], "each names its licence ($SPDX) in its first lines";

my $copying = do { local $/; open my $fh, '<', "$src/COPYING" or die "COPYING: $!"; <$fh> };
like $copying, qr/GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/, 'COPYING holds the GPL version 2';
my $copyright = do { local $/; open my $fh, '<', "$src/debian/copyright" or die $!; <$fh> };
like $copyright, qr/^License: GPL-2\+$/m, 'debian/copyright: GPL-2+';
unlike $copyright, qr/unspecified/, 'debian/copyright: no licence left unspecified';
done_testing;
