module goleash.bench/fakepprof

go 1.27
