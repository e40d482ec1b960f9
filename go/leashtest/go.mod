module goleash.dev/leashtest

go 1.26
