package kmip

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ovh/kmip-go"
	"github.com/ovh/kmip-go/payloads"

	"github.com/keywarden/keywarden/internal/audit"
	"github.com/keywarden/keywarden/internal/barrier/barriertest"
	"github.com/keywarden/keywarden/internal/keys"
	"github.com/keywarden/keywarden/internal/store"
)

// hookStore is a store that runs after once, right after the at-th command
// it applied: a concurrent writer acting between two batch items.
type hookStore struct {
	store.Store
	mu    sync.Mutex
	n, at int
	after func()
	ran   bool
}

func (h *hookStore) Apply(ctx context.Context, cmd store.Command) error {
	if err := h.Store.Apply(ctx, cmd); err != nil {
		return err
	}
	h.mu.Lock()
	h.n++
	run := h.after != nil && h.n == h.at
	h.ran = h.ran || run
	h.mu.Unlock()
	if run {
		h.after()
	}
	return nil
}

type undoEnv struct {
	r   *Router
	m   *keys.Manager
	st  *hookStore
	mem *audit.Memory
}

func newUndoEnv(t *testing.T) *undoEnv {
	t.Helper()
	sealed := barriertest.New(t)
	st := &hookStore{Store: sealed.Store}
	m, err := keys.New(keys.Options{Store: st, Barrier: sealed.Barrier})
	if err != nil {
		t.Fatal(err)
	}
	mem := &audit.Memory{}
	return &undoEnv{r: NewRouter(m, nil, WithAudit(mem, "node-1")), m: m, st: st, mem: mem}
}

// undoBatch sends items as one 1.4 batch with the Undo option.
func (e *undoEnv) undoBatch(t *testing.T, items ...kmip.OperationPayload) kmip.ResponseMessage {
	t.Helper()
	msg := kmip.NewRequestMessage(kmip.V1_4, items...)
	msg.Header.BatchErrorContinuationOption = kmip.BatchErrorContinuationOptionUndo
	return roundTrip(t, e.r, msg)
}

// create makes an AES key outside any batch.
func (e *undoEnv) create(t *testing.T, name string) string {
	t.Helper()
	resp := roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_4, aesCreate(name)))
	if it := resp.BatchItem[0]; it.ResultStatus != kmip.ResultStatusSuccess {
		t.Fatalf("create %s: %v %s", name, it.ResultReason, it.ResultMessage)
	}
	return resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
}

// state is what the store holds for one object: its attributes, state and
// key material as the core reads them, and its index entries.
type state struct {
	found bool
	obj   keys.Object
	index [][]byte
}

func (e *undoEnv) state(t *testing.T, id string) state {
	t.Helper()
	var s state
	o, err := e.m.Get(context.Background(), id)
	switch {
	case err == nil:
		s.found, s.obj = true, *o
	case !errors.Is(err, keys.ErrNotFound):
		t.Fatalf("get %s: %v", id, err)
	}
	// "index" is the core's index bucket: every entry ends with its object id.
	err = e.st.View(func(r store.Reader) error {
		return r.Scan("index", nil, nil, func(k, _ []byte) (bool, error) {
			if bytes.HasSuffix(k, []byte(id)) {
				s.index = append(s.index, bytes.Clone(k))
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// locate returns the objects named name.
func (e *undoEnv) locate(t *testing.T, name string) []string {
	t.Helper()
	resp := roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_4, &payloads.LocateRequestPayload{Attribute: []kmip.Attribute{
		{AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: name, NameType: kmip.NameTypeUninterpretedTextString}},
	}}))
	return resp.BatchItem[0].ResponsePayload.(*payloads.LocateResponsePayload).UniqueIdentifier
}

func statuses(resp kmip.ResponseMessage) []kmip.ResultStatus {
	var out []kmip.ResultStatus
	for _, it := range resp.BatchItem {
		out = append(out, it.ResultStatus)
	}
	return out
}

// outcomes lists the audit events as "Operation outcome".
func (e *undoEnv) outcomes() []string {
	var out []string
	for _, ev := range e.mem.Events() {
		out = append(out, ev.Operation+" "+string(ev.Outcome))
	}
	return out
}

var missing = &payloads.GetRequestPayload{UniqueIdentifier: "no-such-object"}

func TestUndoRemovesCreatedObjects(t *testing.T) {
	e := newUndoEnv(t)
	resp := e.undoBatch(t,
		aesCreate("undo-1"),
		&payloads.ActivateRequestPayload{},
		&payloads.GetRequestPayload{},
		&payloads.DestroyRequestPayload{}, // fails: the key is Active
		&payloads.GetRequestPayload{},     // never runs
	)
	U, F := kmip.ResultStatusOperationUndone, kmip.ResultStatusOperationFailed
	if got, want := statuses(resp), []kmip.ResultStatus{U, U, U, F}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v (the item after the failure is not answered)", got, want)
	}
	if resp.Header.BatchCount != 4 || resp.BatchItem[3].ResultReason != kmip.ResultReasonPermissionDenied {
		t.Fatalf("batch count %d, failed item %v", resp.Header.BatchCount, resp.BatchItem[3].ResultReason)
	}
	id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	if got := resp.BatchItem[1].ResponsePayload.(*payloads.ActivateResponsePayload).UniqueIdentifier; got != id {
		t.Fatalf("undone Activate answers %q, want its payload for %q", got, id)
	}
	if s := e.state(t, id); s.found || len(s.index) != 0 {
		t.Fatalf("after undo: found %v, %d index entries; want the object and its index entries gone", s.found, len(s.index))
	}
	if ids := e.locate(t, "undo-1"); len(ids) != 0 {
		t.Fatalf("Locate finds %v after undo", ids)
	}
	want := []string{"Create success", "Activate success", "Get success", "Destroy failure",
		"Create undone", "Activate undone", "Get undone", "Locate success"}
	if got := e.outcomes(); !slices.Equal(got, want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
	for _, ev := range e.mem.Events()[4:7] {
		if !slices.Contains(ev.Objects, id) || ev.Reason != reasonUndone {
			t.Fatalf("undone event %+v: want object %s and reason %q", ev, id, reasonUndone)
		}
	}
}

func TestUndoRestoresObjects(t *testing.T) {
	custom := func(name, v string) kmip.Attribute {
		return kmip.Attribute{AttributeName: kmip.AttributeName(name), AttributeValue: v}
	}
	tests := []struct {
		name  string
		setup func(id string) []kmip.OperationPayload
		items func(id string) []kmip.OperationPayload
	}{
		{
			name: "add, modify and delete attribute",
			setup: func(id string) []kmip.OperationPayload {
				return []kmip.OperationPayload{
					&payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: custom("x-keep", "1")},
					&payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: custom("x-gone", "2")},
				}
			},
			items: func(id string) []kmip.OperationPayload {
				return []kmip.OperationPayload{
					&payloads.AddAttributeRequestPayload{UniqueIdentifier: id, Attribute: custom("x-new", "3")},
					&payloads.ModifyAttributeRequestPayload{UniqueIdentifier: id, Attribute: custom("x-keep", "changed")},
					&payloads.DeleteAttributeRequestPayload{UniqueIdentifier: id, AttributeName: "x-gone"},
					&payloads.ModifyAttributeRequestPayload{UniqueIdentifier: id, Attribute: kmip.Attribute{
						AttributeName: kmip.AttributeNameName, AttributeValue: kmip.Name{NameValue: "renamed", NameType: kmip.NameTypeUninterpretedTextString}}},
					missing,
				}
			},
		},
		{
			name: "destroy",
			items: func(id string) []kmip.OperationPayload {
				return []kmip.OperationPayload{&payloads.DestroyRequestPayload{UniqueIdentifier: id}, missing}
			},
		},
		{
			name: "activate, revoke and destroy",
			items: func(id string) []kmip.OperationPayload {
				return []kmip.OperationPayload{
					&payloads.ActivateRequestPayload{UniqueIdentifier: id},
					&payloads.RevokeRequestPayload{UniqueIdentifier: id, RevocationReason: kmip.RevocationReason{RevocationReasonCode: kmip.RevocationReasonCodeKeyCompromise}},
					&payloads.DestroyRequestPayload{UniqueIdentifier: id},
					missing,
				}
			},
		},
		{
			name: "re-key",
			items: func(id string) []kmip.OperationPayload {
				return []kmip.OperationPayload{&payloads.RekeyRequestPayload{UniqueIdentifier: id}, missing}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newUndoEnv(t)
			id := e.create(t, "restored")
			if tc.setup != nil {
				resp := roundTrip(t, e.r, kmip.NewRequestMessage(kmip.V1_4, tc.setup(id)...))
				for _, it := range resp.BatchItem {
					if it.ResultStatus != kmip.ResultStatusSuccess {
						t.Fatalf("setup: %v %s", it.ResultReason, it.ResultMessage)
					}
				}
			}
			before := e.state(t, id)
			if before.obj.Value == nil {
				t.Fatal("the key has no material before the batch")
			}
			items := tc.items(id)
			resp := e.undoBatch(t, items...)
			last := len(items) - 1
			for i, it := range resp.BatchItem[:last] {
				if it.ResultStatus != kmip.ResultStatusOperationUndone {
					t.Fatalf("item %d: %v %v %s, want Operation Undone", i, it.ResultStatus, it.ResultReason, it.ResultMessage)
				}
			}
			if it := resp.BatchItem[last]; it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonItemNotFound {
				t.Fatalf("failing item: %v %v", it.ResultStatus, it.ResultReason)
			}
			after := e.state(t, id)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("object not restored:\nbefore %+v\nafter  %+v", before, after)
			}
			if got := e.locate(t, "restored"); !slices.Equal(got, []string{id}) {
				t.Fatalf("Locate by the original name finds %v, want %s", got, id)
			}
			if got := e.locate(t, "renamed"); len(got) != 0 {
				t.Fatalf("Locate by the undone name finds %v", got)
			}
			if rk, ok := resp.BatchItem[0].ResponsePayload.(*payloads.RekeyResponsePayload); ok {
				if s := e.state(t, rk.UniqueIdentifier); s.found || len(s.index) != 0 {
					t.Fatalf("the replacement key %s survived the undo", rk.UniqueIdentifier)
				}
			}
		})
	}
}

func TestUndoRefusesToClobberAConcurrentChange(t *testing.T) {
	e := newUndoEnv(t)
	ctx := context.Background()
	var created string
	// The batch's Create is the first command, its Add Attribute the
	// second: another client then changes the new object.
	e.st.at = 2
	e.st.after = func() {
		ids, _, err := e.m.Locate(ctx, keys.LocateQuery{Attributes: []kmip.Attribute{{AttributeName: kmip.AttributeNameName,
			AttributeValue: kmip.Name{NameValue: "contended", NameType: kmip.NameTypeUninterpretedTextString}}}})
		if err != nil || len(ids) != 1 {
			t.Errorf("concurrent writer: locate %v %v", ids, err)
			return
		}
		created = ids[0]
		if _, err := e.m.AddAttribute(ctx, created, kmip.Attribute{AttributeName: "x-other", AttributeValue: "theirs"}); err != nil {
			t.Errorf("concurrent writer: %v", err)
		}
	}
	resp := e.undoBatch(t,
		aesCreate("contended"),
		&payloads.AddAttributeRequestPayload{Attribute: kmip.Attribute{AttributeName: "x-mine", AttributeValue: "ours"}},
		missing,
	)
	if !e.st.ran || created == "" {
		t.Fatal("the concurrent writer did not run")
	}
	S, F := kmip.ResultStatusSuccess, kmip.ResultStatusOperationFailed
	if got, want := statuses(resp), []kmip.ResultStatus{S, S, F}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v: items that were not undone stand", got, want)
	}
	if msg := resp.BatchItem[2].ResultMessage; !strings.Contains(msg, "not undone") {
		t.Fatalf("failed item message %q does not say the batch was not undone", msg)
	}
	s := e.state(t, created)
	if !s.found {
		t.Fatal("the object was removed although another client changed it")
	}
	for _, name := range []kmip.AttributeName{"x-mine", "x-other"} {
		if _, ok := s.obj.Attr(name); !ok {
			t.Fatalf("attribute %s lost", name)
		}
	}
	want := []string{"Create success", "AddAttribute success", "Get failure", "Create failure", "AddAttribute failure"}
	if got := e.outcomes(); !slices.Equal(got, want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
	if ev := e.mem.Events()[3]; ev.Reason != reasonNotUndone {
		t.Fatalf("audit reason %q, want %q", ev.Reason, reasonNotUndone)
	}
}

func TestUndoRefusesIrreversibleOperations(t *testing.T) {
	e := newUndoEnv(t)
	resp := e.undoBatch(t, aesCreate("never"), &PollRequestPayload{AsynchronousCorrelationValue: []byte("cv")})
	for i, it := range resp.BatchItem {
		if it.ResultStatus != kmip.ResultStatusOperationFailed || it.ResultReason != kmip.ResultReasonFeatureNotSupported ||
			!strings.Contains(it.ResultMessage, "Poll cannot be undone") {
			t.Fatalf("item %d: %v %v %q, want Feature Not Supported naming Poll", i, it.ResultStatus, it.ResultReason, it.ResultMessage)
		}
	}
	if len(resp.BatchItem) != 2 {
		t.Fatalf("%d items answered, want 2", len(resp.BatchItem))
	}
	if ids := e.locate(t, "never"); len(ids) != 0 {
		t.Fatalf("a refused batch ran its Create: %v", ids)
	}
}

func TestUndoBatchThatSucceedsStands(t *testing.T) {
	e := newUndoEnv(t)
	resp := e.undoBatch(t, aesCreate("kept"), &payloads.ActivateRequestPayload{})
	S := kmip.ResultStatusSuccess
	if got, want := statuses(resp), []kmip.ResultStatus{S, S}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	if s := e.state(t, id); !s.found || s.obj.State != kmip.StateActive {
		t.Fatalf("after a successful Undo batch: found %v, state %v", s.found, s.obj.State)
	}
	// A failing first item leaves nothing to undo.
	resp = e.undoBatch(t, missing, aesCreate("not-run"))
	if got, want := statuses(resp), []kmip.ResultStatus{kmip.ResultStatusOperationFailed}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
}

// failingRecorder refuses its at-th event and records the others.
type failingRecorder struct {
	mu     sync.Mutex
	n, at  int
	events []audit.Event
}

func (f *failingRecorder) Record(_ context.Context, e audit.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.n == f.at {
		return audit.ErrUnavailable
	}
	f.events = append(f.events, e)
	return nil
}

func TestUndoWhenAnItemCannotBeAudited(t *testing.T) {
	e := newUndoEnv(t)
	rec := &failingRecorder{at: 2}
	WithAudit(rec, "node-1")(e.r)
	// Activate runs, but its event is refused: the item is answered a
	// failure (fail closed), and its own write is undone with the Create.
	resp := e.undoBatch(t, aesCreate("unaudited"), &payloads.ActivateRequestPayload{}, &payloads.GetRequestPayload{})
	U, F := kmip.ResultStatusOperationUndone, kmip.ResultStatusOperationFailed
	if got, want := statuses(resp), []kmip.ResultStatus{U, F}; !slices.Equal(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if msg := resp.BatchItem[1].ResultMessage; msg != errAuditUnavailable.Message {
		t.Fatalf("failed item message %q", msg)
	}
	id := resp.BatchItem[0].ResponsePayload.(*payloads.CreateResponsePayload).UniqueIdentifier
	if s := e.state(t, id); s.found || len(s.index) != 0 {
		t.Fatalf("after undo: found %v, %d index entries", s.found, len(s.index))
	}
	if n := len(rec.events); n != 2 || rec.events[1].Outcome != audit.Undone || rec.events[1].Operation != "Create" {
		t.Fatalf("recorded %+v, want the Create and its undo", rec.events)
	}
}
