package audit

// Readier is implemented by a Recorder that can tell, before a request's
// work is done, whether it will be able to record it (the trail's sinks
// are writable). Front ends that fail closed refuse a request up front
// when Ready fails, so that no key is created or served that could not be
// recorded.
type Readier interface {
	Ready() error
}

// Ready reports whether r can accept records now: r's Ready when it
// implements Readier, else nil (a Recorder that cannot tell is assumed
// ready; its Record error still refuses the reply).
func Ready(r Recorder) error {
	if rd, ok := r.(Readier); ok {
		return rd.Ready()
	}
	return nil
}
