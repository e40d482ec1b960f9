package leashtest_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"goleash.dev/leashtest"
)

// The package's own tests are checked the way a user's would be; the sender
// TestProvenLeakIsReported leaks on purpose can never end, so it is ignored here.
func TestMain(m *testing.M) {
	leashtest.VerifyTestMain(m, leashtest.IgnoreCreatedBy("goleash.dev/leashtest_test.TestProvenLeakIsReported.func1"))
}

// recorder stands in for *testing.T to see what VerifyNone reports.
type recorder struct{ errors []string }

func (r *recorder) Error(args ...any) { r.errors = append(r.errors, fmt.Sprint(args...)) }

func send(ch chan int) { ch <- 1 }

// startSenders leaves n goroutines blocked on ch until release is called.
func startSenders(n int) (release func()) {
	ch := make(chan int)
	for i := 0; i < n; i++ {
		go send(ch)
	}
	return func() {
		for i := 0; i < n; i++ {
			<-ch
		}
	}
}

// reporter says which report leashtest writes here: goleash's when it is on PATH.
func reporter() string {
	if _, err := exec.LookPath("goleash"); err == nil && os.Getenv("LEASHTEST_GOLEASH") != "off" {
		return "goleash"
	}
	return "built-in"
}

func TestVerifyNoneReportsTheLeftoverGoroutinesGrouped(t *testing.T) {
	release := startSenders(3)
	defer release()
	var r recorder
	leashtest.VerifyNone(&r, leashtest.MaxRetryAttempts(3))
	if len(r.errors) != 1 {
		t.Fatalf("want one error, got %q", r.errors)
	}
	report := r.errors[0]
	t.Logf("report by %s:\n%s", reporter(), report)
	if !strings.Contains(report, "found unexpected goroutines (3)") {
		t.Errorf("no count in %q", report)
	}
	switch reporter() {
	case "goleash":
		// goleash analyze's grouped report: one group of three, its site and creator.
		for _, want := range []string{"×3", "leashtest_test.send", "leashtest_test.startSenders"} {
			if !strings.Contains(report, want) {
				t.Errorf("goleash's report lacks %q:\n%s", want, report)
			}
		}
		if strings.Contains(report, "install goleash") {
			t.Errorf("the built-in report was used though goleash is on PATH:\n%s", report)
		}
	default:
		for _, want := range []string{
			"3 goroutine(s) left running, in 1 group(s)",
			"×3  [chan send]  goleash.dev/leashtest_test.send",
			"created by goleash.dev/leashtest_test.startSenders",
		} {
			if !strings.Contains(report, want) {
				t.Errorf("the built-in report lacks %q:\n%s", want, report)
			}
		}
	}
}

func TestIgnoreOptions(t *testing.T) {
	release := startSenders(2)
	defer release()
	for name, option := range map[string]leashtest.Option{
		"top":        leashtest.IgnoreTopFunction("goleash.dev/leashtest_test.send"),
		"any":        leashtest.IgnoreAnyFunction("goleash.dev/leashtest_test.send"),
		"created-by": leashtest.IgnoreCreatedBy("goleash.dev/leashtest_test.startSenders"),
		"prefix":     leashtest.IgnoreTopFunction("goleash.dev/leashtest_test.*"),
		"current":    leashtest.IgnoreCurrent(),
	} {
		if err := leashtest.Find(option, leashtest.MaxRetryAttempts(2)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A goroutine that ends a little after the test is waited for, not reported.
func TestLateGoroutinesAreWaitedFor(t *testing.T) {
	done := make(chan struct{})
	go func() {
		time.Sleep(30 * time.Millisecond)
		close(done)
	}()
	var r recorder
	leashtest.VerifyNone(&r)
	if len(r.errors) != 0 {
		t.Errorf("reported a goroutine that ended: %q", r.errors)
	}
	<-done
}

// A goroutine the runtime proves leaked (nothing can reach its channel) is reported without
// waiting out the retries.
func TestProvenLeakIsReported(t *testing.T) {
	stop := make(chan struct{})
	go func() {
		ch := make(chan int)
		go send(ch) // ch is dropped: this sender can never finish
		<-stop
	}()
	defer close(stop)
	err := leashtest.Find(leashtest.IgnoreTopFunction("goleash.dev/leashtest_test.TestProvenLeakIsReported.func1"))
	var leak *leashtest.LeakError
	if !errors.As(err, &leak) || leak.Goroutines != 1 {
		t.Fatalf("want one leaked goroutine, got %v", err)
	}
}
