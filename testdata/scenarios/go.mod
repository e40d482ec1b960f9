module goleash.test/scenarios

go 1.27
