// Package external is tested only from package external_test.
package external

import "sync"

// Wait blocks until wg is done.
func Wait(wg *sync.WaitGroup) { wg.Wait() }
