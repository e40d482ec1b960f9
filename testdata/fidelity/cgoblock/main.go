// cgoblock: goroutines blocked inside a C call (a read from a pipe nobody writes), then a
// debug=2 dump on stdout. The site must be the Go line that made the call, not cgo's stub.
package main

/*
#include <unistd.h>

static int block_read(int fd) {
	char c;
	return (int)read(fd, &c, 1);
}
*/
import "C"

import (
	"os"
	"runtime/pprof"
	"time"
)

func reader(fd int) {
	C.block_read(C.int(fd)) // SITE: cgo
}

func main() {
	r, _, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		go reader(int(r.Fd()))
	}
	time.Sleep(200 * time.Millisecond)
	pprof.Lookup("goroutine").WriteTo(os.Stdout, 2)
}
