module goleash.bench/gen

go 1.27
