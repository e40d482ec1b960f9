package names

import (
	"fmt"
	"testing"
)

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		leak bool
	}{
		{"quiet case", false},
		{"leaks here", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.leak {
				Forget()
			}
		})
	}
}

func TestStartsItDirectly(t *testing.T) {
	ch := make(chan int)
	go send(ch)
	t.Log("the sender above is never received from")
}

func TestInlinedConstructor(t *testing.T) {
	w := NewWaiter()
	_ = w
}

func FuzzParse(f *testing.F) {
	f.Add(3)
	f.Fuzz(func(t *testing.T, n int) {
		if n == 3 {
			Forget()
		}
	})
}

func ExampleForget() {
	Forget()
	fmt.Println("forgotten")
	// Output: forgotten
}
