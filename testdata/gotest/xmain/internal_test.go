package xmain

import "testing"

func TestInternalClean(t *testing.T) {}
