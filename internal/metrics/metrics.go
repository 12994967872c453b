// Package metrics exposes presign's Prometheus metrics. Only `presign serve`
// and `presign dev` wire it in; the serverless builds leave it out.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"presign.dev/httpapi"
)

// Metrics counts requests by route and status and times them. Labels hold
// route names and status codes only: never keys, principals or URLs.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	uploads  *prometheus.CounterVec // multipart upload events
	partURLs prometheus.Counter
	bytes    prometheus.Counter // of completed uploads
	// rateLimit counts the rate limiter's decisions by outcome.
	rateLimit *prometheus.CounterVec
	// observed caches each route and status's children of requests and
	// duration (requestKey → *requestObs): a request finds both with one
	// lookup instead of hashing its labels twice.
	observed sync.Map
}

type requestKey struct {
	route  string
	status int
}

type requestObs struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New returns Metrics on a registry of its own (with Go and process collectors).
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presign_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "presign_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1},
		}, []string{"route"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presign_uploads_total", Help: "Multipart upload events: created, completed, aborted, over_limit (aborted at complete).",
		}, []string{"event"}),
		partURLs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presign_upload_part_urls_total", Help: "Part URLs signed.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "presign_uploaded_bytes_total", Help: "Bytes of completed multipart uploads.",
		}),
		rateLimit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "presign_rate_limit_decisions_total",
			Help: "Rate limit decisions: allowed, limited (429), store_error_open (the store down, allowed), store_error_closed (the store down, refused 503).",
		}, []string{"outcome"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.uploads, m.partURLs, m.bytes, m.rateLimit, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest implements httpapi.Observer.
func (m *Metrics) ObserveRequest(route string, status int, elapsed time.Duration) {
	// Routes are the handler's names and statuses the ones it writes: the
	// cache is as bounded as the labels.
	k := requestKey{route, status}
	o, ok := m.observed.Load(k)
	if !ok {
		o, _ = m.observed.LoadOrStore(k, &requestObs{
			count:    m.requests.WithLabelValues(route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	obs := o.(*requestObs)
	obs.count.Inc()
	obs.duration.Observe(elapsed.Seconds())
}

// ObserveUpload implements httpapi.Observer.
func (m *Metrics) ObserveUpload(event string, n int64) {
	switch event {
	case httpapi.PartURLsSigned:
		m.partURLs.Add(float64(n))
		return
	case httpapi.UploadCompleted:
		m.bytes.Add(float64(n))
	}
	m.uploads.WithLabelValues(event).Inc()
}

// ObserveRateLimit implements ratelimit.Observer.
func (m *Metrics) ObserveRateLimit(outcome string) {
	m.rateLimit.WithLabelValues(outcome).Inc()
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
