module goleash.bench/tracestates

go 1.27

require golang.org/x/exp v0.0.0-20261120182113-8801fbdfac81
