package many

import "testing"

func TestLeakThousand(t *testing.T) { Broadcast(1, 1000) }
