// Package sleepy holds a test that runs far longer than anyone waits: goleash's signal test
// stops it with SIGTERM while it sleeps.
package sleepy

import (
	"os"
	"strconv"
	"time"
)

// Nap writes this process's pid and its parent's (the go command) to path, then sleeps.
func Nap(path string, d time.Duration) error {
	pids := strconv.Itoa(os.Getpid()) + " " + strconv.Itoa(os.Getppid()) + "\n"
	if err := os.WriteFile(path+".tmp", []byte(pids), 0o644); err != nil {
		return err
	}
	// Renamed into place so the reader never sees half a line.
	if err := os.Rename(path+".tmp", path); err != nil {
		return err
	}
	time.Sleep(d)
	return nil
}
