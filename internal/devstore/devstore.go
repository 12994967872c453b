// Package devstore runs a real, S3-compatible object store inside the current
// process for `presign dev`. It embeds Versity Gateway (embedgw) with its posix
// backend, so requests — including SigV4 presigned URLs and browser POST
// policies — are authenticated by versitygw's own S3 server exactly as S3
// would, and objects end up as plain files on disk.
//
// Only the presign CLI imports this package; the Lambda and Cloud Function
// builds must not (it pulls in the whole gateway).
//
// Process-wide effects, all undone by Close:
//
//   - Only one Store may run per process at a time (embedgw supports a single
//     gateway per process); a second concurrent Start fails.
//   - The posix backend resolves bucket paths relative to the working
//     directory and therefore chdirs the whole process into
//     DataDir/buckets. Start records the previous working directory and Close
//     restores it. While a Store runs, other code in the process must not
//     rely on relative paths or call os.Chdir.
package devstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/embedgw"
	"github.com/versity/versitygw/s3api"
	"github.com/versity/versitygw/s3api/utils"
)

// Layout of Config.DataDir. versitygw refuses a metadata sidecar directory
// inside the backend root, so buckets and metadata are siblings.
const (
	// BucketsDirName is the directory inside DataDir that holds one
	// directory per bucket; objects are plain files below it.
	BucketsDirName = "buckets"
	// MetaDirName is the directory inside DataDir that holds the sidecar
	// metadata (ACLs, CORS, ETags, content types, user metadata, ...).
	MetaDirName = "meta"
)

const (
	// startTimeout bounds Start even when ctx has no deadline.
	startTimeout = 30 * time.Second
	// closeTimeout bounds Close. The gateway itself gives in-flight requests
	// at most 10s to finish, so this only trips if the gateway is wedged.
	closeTimeout = 30 * time.Second

	maxConnections    = 250
	maxRequests       = 100
	multipartMaxParts = 10000
	corsMaxAgeSeconds = 3600
)

// corsMethods and corsExposeHeaders are the fixed parts of the bucket CORS rule.
var (
	corsMethods       = []string{"GET", "PUT", "POST", "DELETE", "HEAD"}
	corsExposeHeaders = []string{"ETag", "Location"}
)

// Config of the embedded store. All fields required except CORSOrigins.
type Config struct {
	// Addr is the listen address, e.g. "127.0.0.1:9000". It must be host:port
	// with a non-empty host and a non-zero port; the gateway listens on that
	// address only (a host name listens on every address it resolves to).
	Addr string
	// DataDir is the root directory of the store, created if missing.
	// Buckets are directories inside DataDir/buckets (objects are plain files
	// there); metadata goes to the sidecar directory DataDir/meta rather than
	// to extended attributes, so any filesystem works. A relative DataDir is
	// resolved against the working directory at the time of Start.
	DataDir string
	// Region is the region clients must sign requests for.
	Region string
	// AccessKeyID and SecretAccessKey are the credentials of the store's
	// single (root) account. Requests signed with anything else get 403.
	AccessKeyID     string
	SecretAccessKey string
	// Bucket is created on first start if missing and reused later.
	Bucket string
	// CORSOrigins are the bucket CORS AllowedOrigins. Each entry may use S3's
	// single '*' wildcard, e.g. "http://localhost:*" (or "*" alone). Empty
	// means no CORS configuration: browsers get no cross-origin access.
	CORSOrigins []string
}

// Store is a running embedded gateway. Create it with Start and stop it with
// Close.
type Store struct {
	endpoint string
	origWD   string
	cancel   context.CancelFunc
	done     chan struct{} // closed when the gateway goroutine has returned
	runErr   error         // gateway's return value; read only after done is closed

	closeOnce sync.Once
	closeErr  error
}

// active is set from the start of Start until the gateway has stopped and the
// working directory is restored (end of Close, or failure of Start).
var active atomic.Bool

// Start runs the gateway in this process and returns once it answers S3
// requests on cfg.Addr and cfg.Bucket exists with the CORS rule for
// cfg.CORSOrigins (AllowedMethods GET PUT POST DELETE HEAD, AllowedHeaders
// "*", ExposeHeaders ETag and Location, MaxAgeSeconds 3600). The CORS rule
// is rewritten on every Start (and removed when CORSOrigins is empty).
//
// Start fails, and never hangs, if the config is invalid, the port is taken,
// another Store is already running in this process, ctx ends, or the gateway
// is not ready within 30 seconds. On failure nothing keeps running and the
// working directory is restored.
func Start(ctx context.Context, cfg Config) (*Store, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("devstore: start: %w", err)
	}
	if !active.CompareAndSwap(false, true) {
		return nil, errors.New("devstore: a store is already running in this process")
	}

	s, err := start(ctx, cfg)
	if err != nil {
		if s == nil || s.stopped() {
			active.Store(false)
		} // else the gateway is wedged and still owns the port and cwd
		return nil, err
	}
	return s, nil
}

// start does the work of Start. On failure it returns the Store too if a
// gateway was launched, so the caller can tell whether it has stopped.
func start(ctx context.Context, cfg Config) (*Store, error) {
	ctx, cancelStart := context.WithTimeout(ctx, startTimeout)
	defer cancelStart()

	origWD, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("devstore: get working directory: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("devstore: data dir: %w", err)
	}
	bucketsDir := filepath.Join(dataDir, BucketsDirName)
	metaDir := filepath.Join(dataDir, MetaDirName)
	for _, d := range []string{bucketsDir, metaDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("devstore: create data dir: %w", err)
		}
	}

	// The sidecar storer is handed over directly rather than through
	// PosixOpts.SideCarDir: that option only adds a check we satisfy by
	// construction plus a line printed on stdout. metaDir is absolute, which
	// matters because posix.New changes the working directory.
	sidecar, err := meta.NewSideCar(metaDir)
	if err != nil {
		return nil, fmt.Errorf("devstore: metadata dir: %w", err)
	}
	be, err := posix.New(bucketsDir, sidecar, posix.PosixOpts{})
	if err != nil {
		// posix.New may already have changed directory.
		_ = os.Chdir(origWD)
		return nil, fmt.Errorf("devstore: posix backend: %w", err)
	}

	ready := make(chan struct{})
	var readyOnce sync.Once
	gwCfg := &embedgw.Config{
		RootUserAccess:    cfg.AccessKeyID,
		RootUserSecret:    cfg.SecretAccessKey,
		Region:            cfg.Region,
		Ports:             []string{cfg.Addr},
		MaxConnections:    maxConnections,
		MaxRequests:       maxRequests,
		MultipartMaxParts: multipartMaxParts,
		// Quiet drops the startup banner and the per-request log lines.
		Quiet: true,
		// Passing the single-account IAM service ourselves is equivalent to
		// leaving every IAM field empty, minus the line auth.New prints.
		IAMService: auth.NewIAMServiceSingle(auth.Account{
			Access: cfg.AccessKeyID,
			Secret: cfg.SecretAccessKey,
			Role:   auth.RoleAdmin,
		}),
		S3Options: []s3api.Option{
			s3api.WithOnListen(func() { readyOnce.Do(func() { close(ready) }) }),
		},
	}

	runCtx, cancel := context.WithCancel(context.Background())
	s := &Store{
		endpoint: "http://" + cfg.Addr,
		origWD:   origWD,
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		s.runErr = embedgw.RunVersityGW(runCtx, be, gwCfg)
		// RunVersityGW skips this on its early error returns; on the normal
		// path it already ran and this second call is a harmless no-op error.
		be.Shutdown()
	}()

	fail := func(err error) (*Store, error) {
		if stopErr := s.stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return s, err
	}

	select {
	case <-ready:
	case <-s.done:
		// The gateway gave up before listening, e.g. the port is taken.
		err := s.runErr
		if err == nil {
			err = errors.New("gateway exited")
		}
		if cdErr := os.Chdir(origWD); cdErr != nil {
			err = errors.Join(err, fmt.Errorf("restore working directory: %w", cdErr))
		}
		return s, fmt.Errorf("devstore: start gateway on %s: %w", cfg.Addr, err)
	case <-ctx.Done():
		return fail(fmt.Errorf("devstore: gateway on %s not ready: %w", cfg.Addr, context.Cause(ctx)))
	}

	if err := setupBucket(ctx, s.endpoint, cfg); err != nil {
		return fail(err)
	}
	return s, nil
}

// Endpoint returns the store's base URL, "http://" + Config.Addr, for
// path-style S3 clients.
func (s *Store) Endpoint() string { return s.endpoint }

// Close stops the gateway and waits until it has stopped (in-flight requests
// get up to 10s to finish), then restores the working directory Start found,
// so Start can be called again in the same process. Calling Close more than
// once returns the first result. It returns the gateway's error if the
// gateway had failed while running.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.stop()
		if s.stopped() {
			active.Store(false)
		}
	})
	return s.closeErr
}

// stopped reports whether the gateway goroutine has returned.
func (s *Store) stopped() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop cancels the gateway, waits (bounded) for it to return and restores the
// working directory.
func (s *Store) stop() error {
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(closeTimeout):
		// Keep active set: the gateway may still own the listener and cwd.
		return fmt.Errorf("devstore: gateway did not stop within %v", closeTimeout)
	}
	var errs []error
	if s.runErr != nil {
		errs = append(errs, fmt.Errorf("devstore: gateway: %w", s.runErr))
	}
	if err := os.Chdir(s.origWD); err != nil {
		errs = append(errs, fmt.Errorf("devstore: restore working directory: %w", err))
	}
	return errors.Join(errs...)
}

func validate(cfg Config) error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	if host, port, err := net.SplitHostPort(cfg.Addr); err != nil {
		bad("Addr %q: must be host:port: %v", cfg.Addr, err)
	} else {
		if host == "" {
			bad("Addr %q: host is required (e.g. 127.0.0.1:%s)", cfg.Addr, port)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			bad("Addr %q: port must be a number in 1-65535", cfg.Addr)
		}
	}
	if cfg.DataDir == "" {
		bad("DataDir is required")
	}
	if cfg.Region == "" {
		bad("Region is required")
	}
	if cfg.AccessKeyID == "" {
		bad("AccessKeyID is required")
	}
	if cfg.SecretAccessKey == "" {
		bad("SecretAccessKey is required")
	}
	if cfg.Bucket == "" {
		bad("Bucket is required")
	} else if !utils.IsValidBucketName(cfg.Bucket) {
		bad("Bucket %q: not a valid S3 bucket name", cfg.Bucket)
	}
	for _, o := range cfg.CORSOrigins {
		if strings.TrimSpace(o) == "" {
			bad("CORSOrigins: empty origin")
		} else if strings.Count(o, "*") > 1 {
			bad("CORSOrigins %q: at most one '*' wildcard is allowed", o)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("devstore: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// setupBucket creates the bucket (if missing) and sets its CORS rule through
// the gateway itself, signed with the root credentials like any client.
func setupBucket(ctx context.Context, endpoint string, cfg Config) error {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := s3.New(s3.Options{
		Region:       cfg.Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
		HTTPClient:   &http.Client{Transport: tr},
	})

	in := &s3.CreateBucketInput{Bucket: aws.String(cfg.Bucket)}
	if cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{
			LocationConstraint: s3types.BucketLocationConstraint(cfg.Region),
		}
	}
	if _, err := client.CreateBucket(ctx, in); err != nil {
		var owned *s3types.BucketAlreadyOwnedByYou
		if !errors.As(err, &owned) {
			return fmt.Errorf("devstore: create bucket %q: %w", cfg.Bucket, err)
		}
	}

	if len(cfg.CORSOrigins) == 0 {
		if _, err := client.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String(cfg.Bucket)}); err != nil {
			return fmt.Errorf("devstore: remove bucket CORS: %w", err)
		}
		return nil
	}
	_, err := client.PutBucketCors(ctx, &s3.PutBucketCorsInput{
		Bucket: aws.String(cfg.Bucket),
		CORSConfiguration: &s3types.CORSConfiguration{
			CORSRules: []s3types.CORSRule{corsRule(cfg.CORSOrigins)},
		},
	})
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			return fmt.Errorf("devstore: set bucket CORS: %s: %s", apiErr.ErrorCode(), apiErr.ErrorMessage())
		}
		return fmt.Errorf("devstore: set bucket CORS: %w", err)
	}
	return nil
}

func corsRule(origins []string) s3types.CORSRule {
	return s3types.CORSRule{
		AllowedOrigins: append([]string(nil), origins...),
		AllowedMethods: append([]string(nil), corsMethods...),
		AllowedHeaders: []string{"*"},
		ExposeHeaders:  append([]string(nil), corsExposeHeaders...),
		MaxAgeSeconds:  aws.Int32(corsMaxAgeSeconds),
	}
}
