package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// verify checks a delivery's signature as the Standard Webhooks scheme
// defines it, written here from the scheme, independently of the library
// that signs: v1,base64(HMAC-SHA256(key, id "." timestamp "." body)), the
// key the base64 after "whsec_".
func verify(secret, id, timestamp string, body []byte, header string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Split(header, " ") {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// The scheme's published test vector: the verifier above and the
// library's signer agree with it.
func TestStandardWebhooksVector(t *testing.T) {
	const secret, id, ts, body, want = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
		`{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if !verify(secret, id, ts, []byte(body), want) || verify(secret, id, ts, []byte(body+" "), want) {
		t.Fatal("the test verifier disagrees with the scheme's vector")
	}
	s, err := New([]Endpoint{{Name: "a", URL: "http://example.com/", Secret: secret}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.endpoints[0].signer.Sign(id, time.Unix(1614265330, 0), []byte(body)); got != want {
		t.Errorf("signed %s, want %s", got, want)
	}
}

// receiver is a real HTTP receiver on 127.0.0.1: it answers each request
// with the next of its answers (the last one repeats) and records what it
// got.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	got     []delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{answers: answers}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivery{r.Header.Clone(), body})
		answer := rc.answers[min(len(rc.got), len(rc.answers))-1]
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func status(code int, body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G"

var testNow = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// newSender returns a Sender of one endpoint at url (private addresses
// allowed, the receivers here are local) whose sleeps are recorded.
func newSender(t *testing.T, url string, mod func(*Endpoint, *Options)) (*Sender, *[]time.Duration) {
	var slept []time.Duration
	e := Endpoint{Name: "app", URL: url, Secret: testSecret, AllowPrivate: true}
	o := Options{Now: func() time.Time { return testNow }, Timeout: 2 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	if mod != nil {
		mod(&e, &o)
	}
	s, err := New([]Endpoint{e}, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, &slept
}

var testEvent = struct {
	Type, ID string
	Data     any
}{EventUploadCompleted, "msg_0123456789abcdef", map[string]any{"key": "a.bin", "size": 10}}

func deliver(s *Sender) (json.RawMessage, error) {
	return s.Deliver(context.Background(), testEvent.Type, testEvent.ID, testEvent.Data)
}

func TestDelivery(t *testing.T) {
	rc := newReceiver(t, status(200, `{"photo_id": 42}`))
	s, _ := newSender(t, rc.srv.URL+"/hooks", nil)
	data, err := deliver(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"photo_id": 42}` {
		t.Errorf("server data %s", data)
	}
	// Delivered again (a repeated complete): the same webhook-id.
	if _, err := deliver(s); err != nil {
		t.Fatal(err)
	}
	if len(rc.got) != 2 {
		t.Fatalf("%d deliveries, want 2", len(rc.got))
	}
	for _, d := range rc.got {
		h := d.header
		if h.Get("webhook-id") != testEvent.ID || h.Get("webhook-timestamp") != strconv.FormatInt(testNow.Unix(), 10) ||
			h.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", h)
		}
		if !verify(testSecret, h.Get("webhook-id"), h.Get("webhook-timestamp"), d.body, h.Get("webhook-signature")) {
			t.Errorf("signature %q does not verify", h.Get("webhook-signature"))
		}
		var body map[string]any
		if err := json.Unmarshal(d.body, &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"type": EventUploadCompleted, "timestamp": "2026-12-06T12:00:00Z", "data": map[string]any{"key": "a.bin", "size": 10.0}}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("body (-want +got):\n%s", diff)
		}
	}
}

func TestRetries(t *testing.T) {
	rc := newReceiver(t, status(500, ""), status(503, ""), status(204, ""))
	s, slept := newSender(t, rc.srv.URL, nil)
	data, err := deliver(s)
	if err != nil || data != nil {
		t.Fatalf("delivery: %s, %v", data, err)
	}
	if len(rc.got) != 3 || len(*slept) != 2 {
		t.Fatalf("%d attempts, %d pauses; want 3 and 2", len(rc.got), len(*slept))
	}
	for i, d := range *slept {
		base := 200 * time.Millisecond << i
		if d < base/2 || d > base*3/2 {
			t.Errorf("pause %d: %v, want %v ± 50%%", i+1, d, base)
		}
	}
	// The same signature each time: one event, one timestamp.
	if rc.got[0].header.Get("webhook-signature") != rc.got[2].header.Get("webhook-signature") {
		t.Error("attempts of one delivery are signed differently")
	}

	// Every attempt fails: not delivered, naming the receiver.
	failing := newReceiver(t, status(500, "no"))
	s, _ = newSender(t, failing.srv.URL, nil)
	if _, err := deliver(s); !errors.Is(err, ErrNotDelivered) || !strings.Contains(err.Error(), "app") {
		t.Errorf("failing receiver: %v", err)
	}
	if len(failing.got) != 3 {
		t.Errorf("%d attempts at a failing receiver, want 3", len(failing.got))
	}
	// A 4xx refusal is final.
	refusing := newReceiver(t, status(400, "bad"))
	s, _ = newSender(t, refusing.srv.URL, nil)
	if _, err := deliver(s); err == nil || len(refusing.got) != 1 {
		t.Errorf("refusing receiver: %v after %d attempts; want an error after 1", err, len(refusing.got))
	}
}

func TestTimeoutAndRedirects(t *testing.T) {
	hanging := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	s, _ := newSender(t, hanging.srv.URL, func(_ *Endpoint, o *Options) { o.Timeout = 100 * time.Millisecond; o.Attempts = 2 })
	start := time.Now()
	if _, err := deliver(s); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("hanging receiver: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("two attempts of 100 ms took %v", elapsed)
	}

	// The budget bounds the whole delivery, attempts and pauses included.
	s, _ = newSender(t, hanging.srv.URL, func(_ *Endpoint, o *Options) {
		o.Timeout, o.Budget, o.Attempts, o.Sleep = 5*time.Second, 300*time.Millisecond, 3, nil
	})
	start = time.Now()
	if _, err := deliver(s); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("over budget: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("a delivery with a 300 ms budget took %v", elapsed)
	}

	target := newReceiver(t, status(200, `{"hijacked":true}`))
	redirecting := newReceiver(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target.srv.URL, http.StatusFound) })
	s, _ = newSender(t, redirecting.srv.URL, nil)
	if _, err := deliver(s); err == nil {
		t.Error("a redirect counted as delivered")
	}
	if len(target.got) != 0 || len(redirecting.got) != 1 {
		t.Errorf("a redirect was followed, or tried again (%d attempts)", len(redirecting.got))
	}
	// An error never carries the receiver's URL (its query may hold a token).
	s, _ = newSender(t, "http://127.0.0.1:1/hooks?token=secret-token", nil)
	if _, err := deliver(s); err == nil || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("unreachable receiver: %v", err)
	}
}

// Receivers are delivered to at once: each of two answers only once both
// requests have arrived, which only a parallel delivery satisfies.
func TestParallelReceivers(t *testing.T) {
	arrived := make(chan struct{}, 4)
	var mu sync.Mutex
	count := 0
	wait := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		count++
		if count == 2 {
			close(arrived)
		}
		mu.Unlock()
		select {
		case <-arrived:
			w.WriteHeader(200)
		case <-r.Context().Done():
		}
	}
	a, b := newReceiver(t, wait), newReceiver(t, wait)
	s, err := New([]Endpoint{{Name: "a", URL: a.srv.URL, Secret: testSecret, AllowPrivate: true}, {Name: "b", URL: b.srv.URL, Secret: testSecret, AllowPrivate: true}},
		Options{Timeout: 2 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := deliver(s); err != nil {
		t.Errorf("two receivers waiting for each other: %v", err)
	}
}

func TestAddressGuard(t *testing.T) {
	rc := newReceiver(t, status(200, ""))
	for _, url := range []string{rc.srv.URL, strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1)} {
		s, _ := newSender(t, url, func(e *Endpoint, _ *Options) { e.AllowPrivate = false })
		if _, err := deliver(s); !errors.Is(err, ErrNotDelivered) || !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("%s without allow_private: %v", url, err)
		}
	}
	if len(rc.got) != 0 {
		t.Errorf("a loopback receiver was reached %d times without allow_private", len(rc.got))
	}
	for addr, want := range map[string][2]bool{ // allowed without, with allow_private
		"93.184.216.34":       {true, true},
		"2606:4700::1111":     {true, true},
		"10.1.2.3":            {false, true},
		"192.168.1.1":         {false, true},
		"127.0.0.1":           {false, true},
		"::1":                 {false, true},
		"fd12::1":             {false, true},
		"169.254.169.254":     {false, false},
		"fe80::1":             {false, false},
		"fd00:ec2::254":       {false, false},
		"0.0.0.0":             {false, false},
		"::ffff:127.0.0.1":    {false, true},
		"224.0.0.1":           {false, false},
		"100.100.100.200":     {false, false}, // Alibaba Cloud's metadata service
		"100.64.0.1":          {false, false},
		"198.18.0.1":          {false, false},
		"192.0.0.1":           {false, false},
		"0.1.2.3":             {false, false},
		"255.255.255.255":     {false, false},
		"240.0.0.1":           {false, false},
		"64:ff9b::a9fe:a9fe":  {false, false}, // NAT64 of 169.254.169.254
		"64:ff9b::a00:1":      {false, true},  // NAT64 of 10.0.0.1
		"64:ff9b::808:808":    {true, true},   // NAT64 of 8.8.8.8
		"2002:a9fe:a9fe::1":   {false, false}, // 6to4 of 169.254.169.254
		"2002:808:808::1":     {true, true},
		"::a9fe:a9fe":         {false, false}, // IPv4-compatible
		"2001:0:4136:e378::1": {false, false}, // Teredo
		"fec0::1":             {false, false},
	} {
		a := netip.MustParseAddr(addr).Unmap()
		for i, allow := range []bool{false, true} {
			if got := checkAddr(a, allow) == nil; got != want[i] {
				t.Errorf("%s (allow_private %v): allowed %v, want %v", addr, allow, got, want[i])
			}
		}
	}
}

func TestServerDataBounds(t *testing.T) {
	big := `{"x":"` + strings.Repeat("a", MaxServerData) + `"}`
	for body, want := range map[string]string{`{"a":1}`: `{"a":1}`, big: "", `[1,2]`: "", `not json`: "", `{"a":`: "", "": ""} {
		rc := newReceiver(t, status(200, body))
		s, _ := newSender(t, rc.srv.URL, nil)
		data, err := deliver(s)
		if err != nil || string(data) != want {
			t.Errorf("answer %.20q: server data %.20q, %v; want %.20q", body, data, err, want)
		}
	}
}

func TestValidateEndpoints(t *testing.T) {
	ps := ValidateEndpoints([]Endpoint{
		{Name: "ok", URL: "https://app.example.com/hooks", Secret: testSecret, Events: []string{EventUploadCompleted}},
		{Name: "ok", URL: "ftp://x", Secret: "whsec_c2hvcnQ=", Events: []string{"upload.started"}},
		{Name: "", URL: "https://u:p@x/", Secret: "plain-secret-0123456789abcdef0123"},
	})
	var got []string
	for _, p := range ps {
		got = append(got, p.Field)
		if strings.Contains(p.Message, "c2hvcnQ") || strings.Contains(p.Message, "plain-secret") {
			t.Errorf("%s quotes a secret: %s", p.Field, p.Message)
		}
	}
	want := []string{"[1].name", "[1].url", "[1].secret", "[1].events[0]", "[2].name", "[2].url", "[2].secret"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}
