module goleash.bench/lintgen

go 1.27
