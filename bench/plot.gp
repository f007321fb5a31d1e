# SPDX-License-Identifier: GPL-2.0-or-later
# bench/run's plots (gnuplot -e "tmp='DIR'; out='DIR'" bench/plot.gp).
set terminal svg size 640,400 font "sans,11"
set key top right
set grid

set output out.'/memory.svg'
set title 'Memory per idle OpenSRF connection (ws), all Apache processes'
set xlabel 'idle connections'
set ylabel 'kB per connection'
set logscale x
set yrange [0:*]
plot tmp.'/memory.dat' using 1:2 with linespoints lw 2 title 'PSS', \
     '' using 1:3 with linespoints lw 2 title 'RSS (what top shows)', \
     '' using 1:4 with linespoints lw 2 title 'private, busy child'

set output out.'/latency.svg'
set title '5000 sequential opensrf.math add calls: latency distribution'
set xlabel 'ms'
set ylabel 'fraction of calls'
set logscale x
set yrange [0:1]
set key bottom right
plot tmp.'/cdf-floor.dat' using 1:2 with lines lw 2 title 'floor (bus only)', \
     tmp.'/cdf-ws.dat' using 1:2 with lines lw 2 title 'gateway, ws', \
     tmp.'/cdf-wss.dat' using 1:2 with lines lw 2 title 'gateway, wss'
