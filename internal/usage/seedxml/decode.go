package seedxml

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlSpace is the white space XML allows between elements; Decode trims it
// from both ends of a value.
const xmlSpace = " \t\r\n"

// Decode reads a whole KeyUsageEvents file, accepting at most
// DefaultMaxEvents events. See DecodeMax.
func Decode(r io.Reader) ([]Event, error) {
	return DecodeMax(r, DefaultMaxEvents)
}

// DecodeMax reads a whole KeyUsageEvents file and returns its events in file
// order, or an *Error and no events. It refuses: malformed XML, a root other
// than <KeyUsageEvents>, any other element, attribute or namespace, text
// outside values, a child present twice, a missing or empty volSer or
// dateTime, a dateTime ParseJavaTime refuses, a value longer than
// MaxValueBytes, and more than maxEvents events (maxEvents <= 0 means
// DefaultMaxEvents). Comments, processing instructions and directives outside
// events are skipped. Values are trimmed of surrounding white space; the file
// must be UTF-8.
func DecodeMax(r io.Reader, maxEvents int) ([]Event, error) {
	if maxEvents <= 0 {
		maxEvents = DefaultMaxEvents
	}
	p := &parser{d: xml.NewDecoder(r), max: maxEvents}
	events, err := p.file()
	if err != nil {
		return nil, err
	}
	return events, nil
}

// parser walks the token stream; pos is where the last token read began.
type parser struct {
	d         *xml.Decoder
	max       int
	line, col int
}

// next returns the next token and records where it began.
func (p *parser) next() (xml.Token, error) {
	p.line, p.col = p.d.InputPos()
	tok, err := p.d.Token()
	if err == nil {
		return tok, nil
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return nil, &Error{Line: syn.Line, Msg: syn.Msg, Err: err}
	}
	if err == io.EOF {
		return nil, err
	}
	line, _ := p.d.InputPos()
	return nil, &Error{Line: line, Msg: fmt.Sprintf("read: %v", err), Err: err}
}

// errorf reports a problem at the start of the last token read.
func (p *parser) errorf(format string, args ...any) error {
	return &Error{Line: p.line, Column: p.col, Msg: fmt.Sprintf(format, args...)}
}

// file reads the prolog, the root element and what follows it.
func (p *parser) file() ([]Event, error) {
	var events []Event
	seenRoot := false
	for {
		tok, err := p.next()
		if err == io.EOF {
			if !seenRoot {
				return nil, p.errorf("no <%s> element", elemRoot)
			}
			return events, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if seenRoot {
				return nil, p.errorf("element <%s> after </%s>", t.Name.Local, elemRoot)
			}
			if err := p.checkStart(t, elemRoot, ""); err != nil {
				return nil, err
			}
			seenRoot = true
			if events, err = p.root(); err != nil {
				return nil, err
			}
		case xml.CharData:
			if err := p.onlySpace(t, "the document"); err != nil {
				return nil, err
			}
		}
		// Comments, processing instructions (the XML declaration) and
		// directives outside the root are skipped; encoding/xml does not
		// expand entities a DOCTYPE declares.
	}
}

// checkStart accepts an element named want, without namespace or attributes.
func (p *parser) checkStart(t xml.StartElement, want, parent string) error {
	if t.Name.Local != want || t.Name.Space != "" {
		if parent == "" {
			return p.errorf("root element <%s>: want <%s>", qname(t.Name), want)
		}
		return p.errorf("unknown element <%s> in <%s>", qname(t.Name), parent)
	}
	if len(t.Attr) > 0 {
		return p.errorf("<%s>: unexpected attribute %s", want, qname(t.Attr[0].Name))
	}
	return nil
}

// root reads the events up to </KeyUsageEvents>.
func (p *parser) root() ([]Event, error) {
	var events []Event
	for {
		tok, err := p.next()
		if err != nil {
			return nil, p.eof(err, elemRoot)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.checkStart(t, elemEvent, elemRoot); err != nil {
				return nil, err
			}
			if len(events) >= p.max {
				return nil, p.errorf("more than %d events", p.max)
			}
			ev, err := p.event()
			if err != nil {
				return nil, err
			}
			events = append(events, ev)
		case xml.EndElement:
			return events, nil
		case xml.CharData:
			if err := p.onlySpace(t, "<"+elemRoot+">"); err != nil {
				return nil, err
			}
		}
	}
}

// event reads the children of one <KeyUsageEvent> up to its end tag.
func (p *parser) event() (Event, error) {
	var ev Event
	startLine, startCol := p.line, p.col
	seen := map[string]bool{}
	for {
		tok, err := p.next()
		if err != nil {
			return Event{}, p.eof(err, elemEvent)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			dst := ev.field(name)
			if dst == nil && name != elemDateTime || t.Name.Space != "" {
				return Event{}, p.errorf("unknown element <%s> in <%s>", qname(t.Name), elemEvent)
			}
			if err := p.checkStart(t, name, elemEvent); err != nil {
				return Event{}, err
			}
			if seen[name] {
				return Event{}, p.errorf("<%s> appears twice in <%s>", name, elemEvent)
			}
			seen[name] = true
			line, col := p.line, p.col
			v, err := p.value(name)
			if err != nil {
				return Event{}, err
			}
			if name == elemVolSer && v == "" {
				return Event{}, &Error{Line: line, Column: col, Msg: "volSer is empty"}
			}
			if name != elemDateTime {
				*dst = v
				continue
			}
			if v == "" {
				return Event{}, &Error{Line: line, Column: col, Msg: "dateTime is empty"}
			}
			tm, err := ParseJavaTime(v)
			if err != nil {
				return Event{}, &Error{Line: line, Column: col, Msg: fmt.Sprintf("dateTime %q: not a date: %v", v, err), Err: err}
			}
			ev.Time = tm
		case xml.EndElement:
			switch {
			case ev.VolSer == "":
				return Event{}, &Error{Line: startLine, Column: startCol, Msg: fmt.Sprintf("<%s> without a volSer", elemEvent)}
			case !seen[elemDateTime]:
				return Event{}, &Error{Line: startLine, Column: startCol, Msg: fmt.Sprintf("<%s> without a dateTime", elemEvent)}
			}
			return ev, nil
		case xml.CharData:
			if err := p.onlySpace(t, "<"+elemEvent+">"); err != nil {
				return Event{}, err
			}
		default:
			// Comments and processing instructions between children are skipped.
			if _, ok := tok.(xml.Directive); ok {
				return Event{}, p.errorf("directive in <%s>", elemEvent)
			}
		}
	}
}

// field returns where the value of a child element goes, nil for dateTime
// and unknown names.
func (ev *Event) field(name string) *string {
	switch name {
	case elemDriveSSN:
		return &ev.DriveSSN
	case elemVolSer:
		return &ev.VolSer
	case elemDriveWWN:
		return &ev.DriveWWN
	case elemKeyAlias1:
		return &ev.KeyAlias1
	case elemKeyAlias2:
		return &ev.KeyAlias2
	}
	return nil
}

// value reads the text of a child element up to its end tag: text and CDATA
// only, trimmed, at most MaxValueBytes.
func (p *parser) value(name string) (string, error) {
	line, col := p.line, p.col
	var b strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", p.eof(err, name)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > 4*MaxValueBytes {
				return "", &Error{Line: line, Column: col, Msg: fmt.Sprintf("<%s>: value longer than %d bytes", name, MaxValueBytes)}
			}
			b.Write(t)
		case xml.EndElement:
			v := strings.Trim(b.String(), xmlSpace)
			if len(v) > MaxValueBytes {
				return "", &Error{Line: line, Column: col, Msg: fmt.Sprintf("<%s>: value longer than %d bytes", name, MaxValueBytes)}
			}
			return v, nil
		case xml.StartElement:
			return "", p.errorf("element <%s> inside <%s>", qname(t.Name), name)
		default:
			return "", p.errorf("comment, directive or processing instruction inside <%s>", name)
		}
	}
}

// onlySpace refuses text other than white space between elements.
func (p *parser) onlySpace(t xml.CharData, where string) error {
	text := string(t)
	s := strings.TrimLeft(text, xmlSpace)
	if s == "" {
		return nil
	}
	// Point at the text itself, not at the white space before it.
	line, col := p.line, p.col
	for _, c := range text[:len(text)-len(s)] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	s = strings.TrimRight(s, xmlSpace)
	if len(s) > 20 {
		s = s[:20] + "..."
	}
	return &Error{Line: line, Column: col, Msg: fmt.Sprintf("unexpected text %q in %s", s, where)}
}

// eof turns an end of input inside an element into an *Error.
func (p *parser) eof(err error, in string) error {
	if err == io.EOF {
		line, _ := p.d.InputPos()
		return &Error{Line: line, Msg: fmt.Sprintf("unexpected end of file inside <%s>", in)}
	}
	return err
}

// qname writes an XML name with its namespace, if any.
func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}
