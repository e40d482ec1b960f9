module goleash.test/tracever

go 1.22
