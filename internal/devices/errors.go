package devices

import (
	"errors"
	"fmt"
)

// detailError is a sentinel error with a message for the person who caused
// it. Error reads "devices: <message>"; errors.Is still matches the
// sentinel.
type detailError struct {
	sentinel error
	msg      string
}

func (e *detailError) Error() string { return "devices: " + e.msg }
func (e *detailError) Unwrap() error { return e.sentinel }

func detailf(sentinel error, format string, args ...any) error {
	return &detailError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func invalidf(format string, args ...any) error { return detailf(ErrInvalid, format, args...) }
func existsf(format string, args ...any) error  { return detailf(ErrExists, format, args...) }
func notFoundf(format string, args ...any) error {
	return detailf(ErrNotFound, format, args...)
}

func isExists(err error) bool { return errors.Is(err, ErrExists) }
