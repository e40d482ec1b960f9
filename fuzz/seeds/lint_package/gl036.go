package gl036

import "context"

type Status struct{ term int }

type node struct {
	status chan chan Status
	stop   chan struct{}
	term   int
}

func newNode() *node {
	return &node{status: make(chan chan Status), stop: make(chan struct{})}
}

func (n *node) run() {
	for {
		select {
		case c := <-n.status:
			c <- Status{term: n.term}
		case <-n.stop:
			return
		}
	}
}

// Positive: after Stop, run has returned and nobody receives n.status.
func (n *node) Status() Status {
	c := make(chan Status)
	n.status <- c // want GL036
	return <-c
}

func (n *node) Stop() { close(n.stop) }

type agent struct {
	statusCh chan int
	active   int
	done     chan int
}

func newAgent() *agent { return &agent{statusCh: make(chan int), done: make(chan int)} }

// The receiver returns only when every sender has reported (a count), so plain sends are fine.
func (a *agent) Run(ctx context.Context) {
	for {
		select {
		case <-a.statusCh:
			a.active--
			if a.active == 0 {
				return
			}
		case <-ctx.Done():
			if a.active == 0 {
				return
			}
		}
	}
}

// Negative: the receiver only stops after every sender is done.
func (a *agent) report(epoch int) {
	a.statusCh <- epoch
}

type server struct {
	reqc  chan int
	stopc chan struct{}
}

func newServer() *server { return &server{reqc: make(chan int), stopc: make(chan struct{})} }

func (s *server) loop() {
	for {
		select {
		case r := <-s.reqc:
			_ = r
		case <-s.stopc:
			return
		}
	}
}

// Negative: the sender watches the same stop signal.
func (s *server) Do(r int) bool {
	select {
	case s.reqc <- r:
		return true
	case <-s.stopc:
		return false
	}
}

func (s *server) Stop() { close(s.stopc) }
