module goleash.bench/tracegen

go 1.27
