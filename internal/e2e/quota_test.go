package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"presign.dev/httpapi"
	"presign.dev/internal/config"
	"presign.dev/internal/redistest"
	"presign.dev/internal/s3test"
	"presign.dev/internal/service"
)

// TestQuotaAcrossInstances: two presign instances built by service.New from
// one configuration file, as two replicas run, in front of one Versity
// Gateway, with a quota of 2 MiB per caller. With store redis (a real
// redis-server) they share the counts: an upload completed through A
// counts at B, once however often it is completed, through either; B refuses a
// put whose declared size would go over (413) and, once another upload
// (a multipart one, through B) fills the quota, every upload of that
// caller through either instance (403), while another API key still
// uploads. With store memory, each instance counts alone.
func TestQuotaAcrossInstances(t *testing.T) {
	srv := s3test.Start(t, "versitygw")
	redisURL := redistest.Start(t)
	const aliceKey, bobKey = "quota-alice-key-0123456789", "quota-bob-key-0123456789"
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return hex.EncodeToString(s[:]) }
	env := map[string]string{"S3_SECRET": srv.SecretAccessKey, "UPLOAD_SECRET": "quota-uploads-secret-0123456789abcdef", "REDIS_URL": redisURL}
	// One quota window for the whole test, whatever the hour (the replicas'
	// clocks agree).
	start := time.Now()
	clock := func() time.Time { return start }

	// replicas starts two instances of the configuration with the given
	// limits.store; each returns alice's and bob's targets.
	replicas := func(t *testing.T, store string) (a, b, bobA, bobB Target) {
		redis := ""
		if store == config.StoreRedis {
			redis = `, redis_url: "${env:REDIS_URL}"`
		}
		file := fmt.Sprintf(`
backends:
  - {name: store, endpoint: %q, region: %s, bucket: %s, access_key_id: %s, secret_access_key: "${env:S3_SECRET}"}
auth:
  api_keys:
    - {name: alice, sha256: %s}
    - {name: bob, sha256: %s}
uploads: {secrets: [{id: q1, secret: "${env:UPLOAD_SECRET}"}]}
limits: {quota: 2MiB, quota_period: 24h, store: %s%s}
rules:
  - {name: quota, who: {api_keys: [alice, bob]}, ops: [put, post, multipart], keys: ["quota/**"]}
`, srv.Endpoint, srv.Region, srv.Bucket, srv.AccessKeyID, hash(aliceKey), hash(bobKey), store, redis)
		cfg, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "quota.yaml", []byte(file))
		if err != nil {
			t.Fatal(err)
		}
		var apis [2]string
		for i := range apis {
			s, err := service.New(cfg, service.Options{Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			api := httptest.NewServer(s.Handler)
			t.Cleanup(api.Close)
			apis[i] = api.URL
		}
		tg := func(api, key string) Target { return Target{Flavor: srv.Name, API: api, APIKey: key, Store: srv} }
		return tg(apis[0], aliceKey), tg(apis[1], aliceKey), tg(apis[0], bobKey), tg(apis[1], bobKey)
	}
	// ask asks tg for op (put with its size, post or a multipart start) at key.
	ask := func(t *testing.T, tg Target, op, key string, size int) (int, []byte) {
		t.Helper()
		if op == "multipart" {
			return callAPI(t, tg, "POST", "/v1/uploads", map[string]any{"key": key, "size": size})
		}
		// Under a quota, put and post declare their size.
		req := map[string]any{"op": op, "key": key, "content_length": size}
		return callAPI(t, tg, "POST", "/v1/presign", req)
	}
	complete := func(t *testing.T, tg Target, token string, parts []httpapi.CompletePart) {
		t.Helper()
		status, body := completeUpload(t, tg, token, parts)
		expectStatus(t, "complete", status, body, 200)
	}
	// put uploads size bytes at key with a put granted by tg, completes it
	// there, and returns its upload token.
	put := func(t *testing.T, tg Target, key string, size int) string {
		t.Helper()
		status, body := ask(t, tg, "put", key, size)
		expectStatus(t, "presign put "+key, status, body, 200)
		var g httpapi.PresignResponse
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatal(err)
		}
		status, body = use(t, "PUT", g.URL, g.Headers, randomBytes(t, size))
		expectStatus(t, "PUT "+key, status, body, 200)
		complete(t, tg, g.Upload, nil)
		return g.Upload
	}
	refused := func(t *testing.T, what string, status int, body []byte, want int, says string) {
		t.Helper()
		if status != want || !strings.Contains(string(body), says) {
			t.Errorf("%s: %d %s; want %d saying %q", what, status, body, want, says)
		}
	}

	t.Run("redis: the instances share the quota", func(t *testing.T) {
		a, b, bobA, bobB := replicas(t, config.StoreRedis)
		token := put(t, a, "quota/redis/first.bin", mib)
		complete(t, a, token, nil) // a repeated complete counts once

		// B has seen nothing of the upload but the count A made.
		status, body := ask(t, b, "put", "quota/redis/over.bin", mib+1)
		refused(t, "B: a put over what is left", status, body, 413, "would go over the quota: 1048576 of 2097152 bytes per 24h are left")
		status, body = ask(t, b, "multipart", "quota/redis/over.bin", mib+1)
		refused(t, "B: a multipart upload over what is left", status, body, 413, "would go over the quota")
		complete(t, b, token, nil) // a repeated complete through the other instance counts once too

		// What is left, 1 MiB (the first upload counted once), through B,
		// as a multipart upload.
		up := startUpload(t, b, map[string]any{"key": "quota/redis/second.bin", "size": mib})
		p := signParts(t, b, up.Upload, 1)[0]
		status, etag, rb := putPart(t, p, randomBytes(t, mib))
		expectStatus(t, "PUT part 1", status, rb, 200)
		complete(t, b, up.Upload, []httpapi.CompletePart{{PartNumber: 1, ETag: etag}})
		complete(t, a, up.Upload, nil)

		for _, tg := range []Target{a, b} {
			for _, op := range []string{"put", "post", "multipart"} {
				status, body := ask(t, tg, op, "quota/redis/more.bin", 1)
				refused(t, tg.API+": "+op+" at the quota", status, body, 403, "over quota: 2097152 of the 2097152 bytes allowed per 24h are used")
			}
		}
		for _, tg := range []Target{bobA, bobB} {
			if status, body := ask(t, tg, "put", "quota/redis/bob.bin", 2*mib); status != 200 {
				t.Errorf("bob's put of 2 MiB through %s: %d %s", tg.API, status, body)
			}
		}
		for _, key := range []string{"quota/redis/first.bin", "quota/redis/second.bin"} {
			if _, size, _ := a.Store.HeadObject(t, key); size != mib {
				t.Errorf("%s: the store holds %d bytes, want 1 MiB", key, size)
			}
		}
	})

	t.Run("memory: each instance counts alone", func(t *testing.T) {
		a, b, _, _ := replicas(t, config.StoreMemory)
		token := put(t, a, "quota/memory/full.bin", 2*mib)
		status, body := ask(t, a, "put", "quota/memory/more.bin", 1)
		refused(t, "A at the quota", status, body, 403, "over quota")
		if status, body := ask(t, b, "put", "quota/memory/more.bin", 2*mib); status != 200 {
			t.Errorf("B, which counted nothing: %d %s", status, body)
		}
		// B verifies A's upload, and counts it in its own memory.
		complete(t, b, token, nil)
		status, body = ask(t, b, "put", "quota/memory/more.bin", 1)
		refused(t, "B at the quota", status, body, 403, "over quota")
	})
}
