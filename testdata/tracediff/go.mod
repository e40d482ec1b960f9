module goleash.test/tracediff

go 1.27
