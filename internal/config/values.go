package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// assign sets k in c to v: a string, int64, bool or []string as the native
// parser produces them. The error says what is allowed.
func assign(c *Config, k *key, v any) error {
	switch k.kind {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
		}
		*(k.ptr(c).(*bool)) = b
	case kindInt:
		n, ok := v.(int64)
		if !ok || n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
		}
		*(k.ptr(c).(*int)) = int(n)
	case kindSize:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case string:
			var err error
			if n, err = parseSize(x); err != nil {
				return fmt.Errorf("want %s, got %q", k.allowedText(), x)
			}
		default:
			return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
		}
		if n < 0 || n > math.MaxInt32 {
			return fmt.Errorf("want %s, got %d", k.allowedText(), n)
		}
		switch p := k.ptr(c).(type) {
		case *int64:
			*p = n
		case *int:
			*p = int(n)
		}
	case kindDuration:
		s, ok := v.(string)
		if !ok {
			if n, isInt := v.(int64); isInt && n == 0 {
				s = "0s"
			} else {
				return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
			}
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return fmt.Errorf("want %s, got %q", k.allowedText(), s)
		}
		*(k.ptr(c).(*time.Duration)) = d
	case kindList:
		list, ok := v.([]string)
		if !ok {
			return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
		}
		out := make([]string, 0, len(list))
		for _, item := range list {
			item = strings.TrimSpace(item)
			if len(k.allowed) > 0 {
				canon, err := pick(item, k.allowed)
				if err != nil {
					return err
				}
				item = canon
			}
			if slices.Contains(out, item) {
				return fmt.Errorf("%q is listed twice", item)
			}
			out = append(out, item)
		}
		*(k.ptr(c).(*[]string)) = out
	default:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want %s, got %s", k.allowedText(), describe(v))
		}
		if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return errors.New("contains a control character")
		}
		switch k.kind {
		case kindEnum:
			canon, err := pick(s, k.allowed)
			if err != nil {
				return err
			}
			s = canon
		case kindAddr:
			if s != "" {
				if err := checkAddr(s); err != nil {
					return fmt.Errorf("want %s: %w", k.allowedText(), err)
				}
			}
		}
		*(k.ptr(c).(*string)) = s
	}
	return nil
}

// assignRaw sets k from an unquoted text, as environment variables and
// flags give it: lists are comma-separated.
func assignRaw(c *Config, k *key, raw string) error {
	switch k.kind {
	case kindBool:
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		return assign(c, k, b)
	case kindInt:
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return fmt.Errorf("want %s, got %q", k.allowedText(), raw)
		}
		return assign(c, k, n)
	case kindList:
		var list []string
		for _, p := range strings.Split(raw, ",") {
			if p = strings.TrimSpace(p); p != "" {
				list = append(list, p)
			}
		}
		return assign(c, k, list)
	}
	return assign(c, k, raw)
}

// pick returns the allowed value s names (case-insensitive), or an error
// listing them with a suggestion.
func pick(s string, allowed []string) (string, error) {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(s), a) {
			return a, nil
		}
	}
	shown := make([]string, 0, len(allowed))
	for _, a := range allowed {
		if a == "" {
			a = `"" (off)`
		}
		shown = append(shown, a)
	}
	msg := fmt.Sprintf("%q is not allowed: want one of %s", s, strings.Join(shown, ", "))
	if m := suggest(s, allowed); m != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", m)
	}
	return "", errors.New(msg)
}

func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int64:
		return fmt.Sprintf("the number %d", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case []string:
		return "a list"
	}
	return fmt.Sprintf("%v", v)
}

// checkAddr accepts HOST:PORT with a numeric port 0–65535.
func checkAddr(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
	}
	return nil
}

// parseSize reads "10240", "10 KiB", "10MiB", "1 GiB" (also KB, MB, GB as
// powers of 1024, as the seed's KiB sizes are).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	mult := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
		"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30}
	m, ok := mult[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	if n > math.MaxInt64/m {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n * m, nil
}
