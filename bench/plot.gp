# bench/plot.gp PREFIX LATENCY — called by bench/report.py: draws PREFIX-ratios.png from
# PREFIX-ratios.dat ("case" ratio min max better: 1 higher is better, 2 lower is better) and
# PREFIX-latency.png from PREFIX-latency.dat ("pNN" then median/min/max for kernel, nstack and
# nstack with busy polling) when LATENCY is 1.
prefix = ARG1

set terminal pngcairo size 1100,520 noenhanced font ",10"
set style fill solid 0.6 border -1
set grid ytics
set rmargin 8

set output prefix."-ratios.png"
set title "nstack / kernel, median of the runs (bars: min-max)\nblue: higher is better (throughput, rate) - red: lower is better (latency, CPU, memory)"
set boxwidth 0.6
set yrange [0:*]
set xtics rotate by -35 left
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 2
set ylabel "nstack / kernel"
plot prefix."-ratios.dat" using 0:2:($5 == 1 ? 0x3060c0 : 0xc03030):xtic(1) with boxes lc rgb variable notitle, \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" pt -1 notitle
unset arrow 1

if (ARG2 eq "1") {
	set output prefix."-latency.png"
	set title "sockperf TCP ping-pong, half round trip (median of the runs, bars: min-max)"
	set ylabel "µs (log scale)"
	set logscale y
	set yrange [*:*]
	set xtics norotate
	set style data histogram
	set style histogram errorbars gap 1 lw 1
	set key top left
	plot prefix."-latency.dat" using 2:3:4:xtic(1) title "kernel", \
	     "" using 5:6:7 title "nstack", \
	     "" using 8:9:10 title "nstack, NSTACK_BUSY_POLL_US"
}
