package ec2sim

import "sync"

// EventKind says what happened to an instance.
type EventKind string

const (
	// InstanceRunning fires when an instance leaves pending (after Options.BootDelay).
	InstanceRunning EventKind = "InstanceRunning"
	// InstanceShuttingDown fires when a terminated instance starts shutting down, with a
	// ShutdownDelay only; InstanceTerminated follows when the delay ends.
	InstanceShuttingDown EventKind = "InstanceShuttingDown"
	// InstanceTerminated fires when an instance reaches terminated.
	InstanceTerminated EventKind = "InstanceTerminated"
)

// Event is one instance lifecycle change, carrying the instance as it was just after it.
type Event struct {
	Kind     EventKind
	Instance Instance
}

// watcher buffers events without bound so the simulator never blocks on a slow reader and never
// drops an event; a pump goroutine hands them out in order.
type watcher struct {
	out  chan Event
	done chan struct{}
	stop sync.Once

	mu     sync.Mutex
	queue  []Event
	notify chan struct{}
}

func newWatcher() *watcher {
	w := &watcher{out: make(chan Event), done: make(chan struct{}), notify: make(chan struct{}, 1)}
	go w.pump()
	return w
}

func (w *watcher) push(e Event) {
	w.mu.Lock()
	w.queue = append(w.queue, e)
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *watcher) cancel() { w.stop.Do(func() { close(w.done) }) }

func (w *watcher) pump() {
	defer close(w.out)
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			select {
			case <-w.notify:
				continue
			case <-w.done:
				return
			}
		}
		next := w.queue[0]
		w.queue = w.queue[1:]
		w.mu.Unlock()
		select {
		case w.out <- next:
		case <-w.done:
			return
		}
	}
}

// Watch subscribes to instance events from now on. The channel closes after cancel or Close.
func (s *Sim) Watch() (<-chan Event, func()) {
	w := newWatcher()
	s.mu.Lock()
	if s.closed {
		w.cancel()
	} else {
		s.watchers[w] = struct{}{}
	}
	s.mu.Unlock()
	return w.out, func() {
		s.mu.Lock()
		delete(s.watchers, w)
		s.mu.Unlock()
		w.cancel()
	}
}

// emit must be called with s.mu held, which keeps events in state-change order.
func (s *Sim) emit(kind EventKind, r *record) {
	e := Event{Kind: kind, Instance: r.snapshot()}
	for w := range s.watchers {
		w.push(e)
	}
}
