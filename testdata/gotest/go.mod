module goleash.test/gotest

go 1.27
