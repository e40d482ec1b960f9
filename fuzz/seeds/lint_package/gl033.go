package gl033

type event int

type cacheWatcher struct {
	input  chan event
	result chan event
	done   chan struct{}
	stop   chan struct{}
	out    chan event
}

func newCacheWatcher(size int) *cacheWatcher {
	w := &cacheWatcher{
		input:  make(chan event, size),
		result: make(chan event, size),
		done:   make(chan struct{}),
		stop:   make(chan struct{}),
	}
	go w.process()
	go w.loop()
	return w
}

// Positive: nothing in the package receives from result.
func (w *cacheWatcher) send(e event) {
	w.result <- e // want GL033
}

func (w *cacheWatcher) process() {
	for e := range w.input {
		w.send(e)
	}
}

func (w *cacheWatcher) Stop() {
	close(w.input)
}

// Positive: nothing sends on or closes done.
func (w *cacheWatcher) Wait() {
	<-w.done // want GL033
}

// Positive: the loop's only exit receives from stop, which nobody closes.
func (w *cacheWatcher) loop() {
	for {
		select {
		case <-w.stop: // want GL033
			return
		case e := <-w.input:
			_ = e
		}
	}
}

// Negative: the channel is handed out, so its partner may be elsewhere.
func (w *cacheWatcher) Events() <-chan event {
	return w.out
}

func (w *cacheWatcher) emit(e event) {
	w.out <- e
}

type server struct {
	quit chan struct{}
	errc chan error
}

// Negative: quit is closed on shutdown.
func (s *server) serve() {
	for {
		select {
		case <-s.quit:
			return
		default:
		}
	}
}

func (s *server) shutdown() { close(s.quit) }

// Negative: errc is assigned a channel made elsewhere.
func (s *server) wait(errc chan error) error {
	s.errc = errc
	return <-s.errc
}

type stopper struct {
	quiescer chan struct{}
}

func newStopper() *stopper { return &stopper{quiescer: make(chan struct{})} }

// An accessor (with a nil guard) hands out only a receive side.
func (s *stopper) ShouldQuiesce() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.quiescer
}

type store struct{ stopper *stopper }

func (s *store) Stopper() *stopper { return s.stopper }

// Positive: through two accessors, a receive (a one-case select) on a channel nobody closes.
func (s *store) process() {
	select {
	case <-s.Stopper().ShouldQuiesce(): // want GL033
	}
}

type request struct {
	key   string
	reply chan int
}

type cache struct {
	reqs chan request
	hook chan string
}

func newCache() *cache { return &cache{reqs: make(chan request)} }

// Negative: the reply channel of a request received in a select is sent on.
func (c *cache) serve(stop <-chan struct{}) {
	for {
		select {
		case r := <-c.reqs:
			r.reply <- len(r.key)
		case <-stop:
			return
		}
	}
}

func (c *cache) get(key string) int {
	r := request{key: key, reply: make(chan int)}
	c.reqs <- r // want GL036
	return <-r.reply
}

// Negative: a test hook, nil unless a test sets it.
func (c *cache) evict(key string) {
	if c.hook != nil {
		c.hook <- key
	}
}
