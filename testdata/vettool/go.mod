module goleash.test/vettool

go 1.27
