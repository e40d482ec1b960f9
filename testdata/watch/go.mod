module goleash.test/watch

go 1.27
