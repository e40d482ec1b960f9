module goleash.test/gotesttimeout

go 1.27
