package late

import "testing"

func TestFlushSoon(t *testing.T) {
	FlushSoon(300e6) // 300 ms: ends after the test, inside the default 1 s window.
}
