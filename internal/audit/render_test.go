package audit

import (
	"strings"
	"testing"
	"time"
)

// TestRenderLikeTheSeed renders the seed's sample record (a successful
// 3592 write) and compares it with the seed's layout.
func TestRenderLikeTheSeed(t *testing.T) {
	r := Record{Seq: 7, Event: Event{
		Time: time.Date(2011, 10, 18, 19, 35, 9, 0, time.UTC), Type: TypeKey, Protocol: ProtoDevice,
		Operation: "Write Request", Client: Client{Serial: "000007888422", WWN: "500507630240FBCC"},
		Volser: "WXY662", Labels: []string{"Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20", "Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21"},
		Outcome: Success,
	}}
	var b strings.Builder
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	want := `Runtime event:
timestamp= Tue Oct 18 19:35:09 GMT 2011
event source= keywarden.device
outcome= result= successful
event type= SECURITY_RUNTIME
resource= name= Write Request: Drive Serial Number: 000007888422 WWN:500507630240FBCC VolSer: WXY662 Key Alias/Label[0]: Tape_Sol_Tst_Shr_Pvt_1024_Lbl_20 Key Alias/Label[1]: Tape_Sol_Tst_Shr_Pvt_1024_Lbl_21;type=device
seq= 7

`
	if b.String() != want {
		t.Fatalf("rendered:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRenderDenial(t *testing.T) {
	r := Record{Seq: 9, Event: Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Node: "kw-1", Type: TypeAuth, Protocol: ProtoKMIP,
		Operation: "Get", Client: Client{Name: "lib", Role: "device", Fingerprint: "ff00"}, Remote: "10.0.0.1:4000",
		Objects: []string{"id-1"}, Outcome: Denied, Reason: "certificate revoked", Latency: 1500 * time.Microsecond,
	}}
	var b strings.Builder
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Authentication event:\n", "ComponentId= kw-1\n", "outcome= result= denied\n",
		"event type= SECURITY_AUTHN\n", "resource= name= Get: Object[0]: id-1;type=kmip\n",
		"client= lib role=device fingerprint=ff00\n", "remote= 10.0.0.1:4000\n", "reason= certificate revoked\n",
		"latency= 1.5ms\n", "seq= 9\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("rendering lacks %q:\n%s", want, b.String())
		}
	}
}
