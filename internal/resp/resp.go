// Package resp is a small Redis client: what presign's shared state needs
// (scripts and plain commands over RESP2), on net/http's footing — a pool
// of connections, deadlines from the context, TLS for rediss://, AUTH and
// SELECT from the URL.
//
// It is presign's own rather than go-redis because of what that library
// costs the AWS Lambda function: 591 KB of the zip (3.26 MB without it,
// 3.85 MB with it) and a cold start of 1.21× the minimal bootstrap against
// 1.13× (docs/benchmarks.md). Commands it does not know, it still sends:
// Do takes any arguments and reads any RESP2 answer.
package resp

import (
	"bufio"
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options are a Client's settings besides its URL.
type Options struct {
	// DialTimeout bounds a connection's set-up (dial, TLS, AUTH, SELECT);
	// 0 means 5 s.
	DialTimeout time.Duration
	// IOTimeout bounds a command when the context has no earlier deadline;
	// 0 means 3 s.
	IOTimeout time.Duration
	// PoolSize is the most idle connections kept; 0 means 8.
	PoolSize int
}

// Client sends commands to one Redis. It is safe for concurrent use.
type Client struct {
	addr     string
	user     string
	password string
	db       int
	tls      *tls.Config // nil: plain TCP
	o        Options
	pool     chan *conn
	closed   chan struct{}
	once     sync.Once
}

// URLForm is how a Redis URL is written.
const URLForm = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or rediss:// for TLS"

// ParseURL reads a Redis URL. Its errors, which read after "the URL",
// never quote the URL or a part of it: it may hold a password.
func ParseURL(raw string) (addr, user, password string, db int, useTLS bool, err error) {
	bad := func(why string) error { return fmt.Errorf("%s: write %s", why, URLForm) }
	u, perr := url.Parse(raw)
	switch {
	case perr != nil:
		return "", "", "", 0, false, bad("is not a URL (percent-encode reserved characters in a password)")
	case u.Scheme != "redis" && u.Scheme != "rediss":
		return "", "", "", 0, false, bad("must start with redis:// or rediss:// (TLS)")
	case u.Opaque != "" || u.Hostname() == "":
		return "", "", "", 0, false, bad("has no host")
	case u.Fragment != "" || u.RawQuery != "":
		return "", "", "", 0, false, bad("must have no query (?…) or fragment (#…)")
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", "", 0, false, bad("has no port number 1..65535")
	}
	if path := strings.Trim(u.Path, "/"); path != "" {
		n, err := strconv.Atoi(path)
		if err != nil || n < 0 || n > 1<<20 || strings.Contains(path, "/") {
			return "", "", "", 0, false, bad("has a path that is not a database number (like /0)")
		}
		db = n
	}
	if u.User != nil {
		user = u.User.Username()
		password, _ = u.User.Password()
	}
	return net.JoinHostPort(u.Hostname(), port), user, password, db, u.Scheme == "rediss", nil
}

// New returns the Client of the Redis at rawURL; it does not connect until
// first used.
func New(rawURL string, o Options) (*Client, error) {
	addr, user, password, db, useTLS, err := ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("resp: the URL %w", err)
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.IOTimeout == 0 {
		o.IOTimeout = 3 * time.Second
	}
	if o.PoolSize == 0 {
		o.PoolSize = 8
	}
	c := &Client{addr: addr, user: user, password: password, db: db, o: o,
		pool: make(chan *conn, o.PoolSize), closed: make(chan struct{})}
	if useTLS {
		host, _, _ := net.SplitHostPort(addr)
		c.tls = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}

// Close closes the idle connections; commands after it fail.
func (c *Client) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.dropIdle()
	})
	return nil
}

// ErrClosed is the error of a command after Close.
var ErrClosed = errors.New("resp: client closed")

// Error is an error answer of Redis ("-ERR ...", "-NOSCRIPT ...").
type Error string

func (e Error) Error() string { return "redis: " + string(e) }

// Value is a RESP2 answer.
type Value struct {
	Kind  Kind
	Str   string  // Simple and Bulk
	Int   int64   // Integer
	Array []Value // Array
}

// Kind is a RESP2 answer's type.
type Kind byte

const (
	Null Kind = iota // a null bulk string or array
	Simple
	Integer
	Bulk
	Array
)

// Int64 reads an answer that is a number: an integer, or a bulk or simple
// string of decimal digits.
func (v Value) Int64() (int64, error) {
	switch v.Kind {
	case Integer:
		return v.Int, nil
	case Bulk, Simple:
		return strconv.ParseInt(v.Str, 10, 64)
	}
	return 0, fmt.Errorf("resp: the answer is not a number (kind %d)", v.Kind)
}

type conn struct {
	net.Conn
	r *bufio.Reader
	w *bufio.Writer
}

// Do sends the command args and returns Redis's answer; an error answer
// is an Error. A command that fails on an idle connection from the pool
// for any reason but a timeout (the connection died while idle: Redis
// restarted, or a proxy dropped it) is sent once more on a new
// connection, and the other idle connections, as old, are dropped: a
// Redis that restarts costs no command an error. The command is then sent
// twice at most if the first one reached Redis before the connection
// broke, which presign's scripts tolerate (a rate-limit token taken
// twice; a quota count keyed by upload).
func (c *Client) Do(ctx context.Context, args ...string) (Value, error) {
	select {
	case <-c.closed:
		return Value{}, ErrClosed
	default:
	}
	cn, pooled, err := c.get(ctx)
	if err != nil {
		return Value{}, err
	}
	v, err := c.roundTrip(ctx, cn, args)
	var rerr Error
	if err != nil && !errors.As(err, &rerr) {
		cn.Close() // a broken stream is never reused
		if !pooled || isTimeout(err) || ctx.Err() != nil {
			return Value{}, err
		}
		c.dropIdle()
		if cn, _, err = c.get(ctx); err != nil {
			return Value{}, err
		}
		if v, err = c.roundTrip(ctx, cn, args); err != nil && !errors.As(err, &rerr) {
			cn.Close()
			return Value{}, err
		}
	}
	c.put(cn)
	return v, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dropIdle closes every idle connection.
func (c *Client) dropIdle() {
	for {
		select {
		case cn := <-c.pool:
			cn.Close()
		default:
			return
		}
	}
}

func (c *Client) roundTrip(ctx context.Context, cn *conn, args []string) (Value, error) {
	deadline := time.Now().Add(c.o.IOTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := cn.SetDeadline(deadline); err != nil {
		return Value{}, err
	}
	writeCommand(cn.w, args)
	if err := cn.w.Flush(); err != nil {
		return Value{}, err
	}
	return readValue(cn.r, 0)
}

// get takes an idle connection (pooled) or makes one.
func (c *Client) get(ctx context.Context) (cn *conn, pooled bool, err error) {
	select {
	case cn := <-c.pool:
		return cn, true, nil
	default:
	}
	cn, err = c.dial(ctx)
	return cn, false, err
}

// dial makes a connection: TCP (and TLS), AUTH and SELECT.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.o.DialTimeout)
	defer cancel()
	d := &net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, err
	}
	if c.tls != nil {
		tc := tls.Client(raw, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		raw = tc
	}
	cn := &conn{Conn: raw, r: bufio.NewReader(raw), w: bufio.NewWriter(raw)}
	var setup [][]string
	switch {
	case c.password != "" && c.user != "":
		setup = append(setup, []string{"AUTH", c.user, c.password})
	case c.password != "":
		setup = append(setup, []string{"AUTH", c.password})
	}
	if c.db != 0 {
		setup = append(setup, []string{"SELECT", strconv.Itoa(c.db)})
	}
	for _, cmd := range setup {
		if _, err := c.roundTrip(ctx, cn, cmd); err != nil {
			cn.Close()
			return nil, fmt.Errorf("resp: %s: %w", cmd[0], err) // never the password
		}
	}
	return cn, nil
}

// put keeps cn for the next command, or closes it when the pool is full.
func (c *Client) put(cn *conn) {
	select {
	case <-c.closed:
		cn.Close()
		return
	default:
	}
	select {
	case c.pool <- cn:
	default:
		cn.Close()
	}
}

// writeCommand writes args as a RESP array of bulk strings.
func writeCommand(w *bufio.Writer, args []string) {
	w.WriteByte('*')
	w.WriteString(strconv.Itoa(len(args)))
	w.WriteString("\r\n")
	for _, a := range args {
		w.WriteByte('$')
		w.WriteString(strconv.Itoa(len(a)))
		w.WriteString("\r\n")
		w.WriteString(a)
		w.WriteString("\r\n")
	}
}

// Bounds of what readValue takes: presign's answers are numbers, short
// strings and small arrays.
const (
	maxLine  = 64 << 10
	maxBulk  = 1 << 20
	maxArray = 1 << 16
	maxDepth = 8
)

var errProtocol = errors.New("resp: malformed answer")

// readValue reads one RESP2 value.
func readValue(r *bufio.Reader, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errProtocol
	}
	line, err := readLine(r)
	if err != nil {
		return Value{}, err
	}
	if len(line) == 0 {
		return Value{}, errProtocol
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return Value{Kind: Simple, Str: body}, nil
	case '-':
		return Value{}, Error(body)
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return Value{}, errProtocol
		}
		return Value{Kind: Integer, Int: n}, nil
	case '$':
		n, err := strconv.Atoi(body)
		switch {
		case err != nil || n < -1 || n > maxBulk:
			return Value{}, errProtocol
		case n == -1:
			return Value{Kind: Null}, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return Value{}, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return Value{}, errProtocol
		}
		return Value{Kind: Bulk, Str: string(buf[:n])}, nil
	case '*':
		n, err := strconv.Atoi(body)
		switch {
		case err != nil || n < -1 || n > maxArray:
			return Value{}, errProtocol
		case n == -1:
			return Value{Kind: Null}, nil
		}
		v := Value{Kind: Array, Array: make([]Value, 0, min(n, 64))}
		for range n {
			e, err := readValue(r, depth+1)
			if err != nil {
				return Value{}, err // an error element fails the whole answer
			}
			v.Array = append(v.Array, e)
		}
		return v, nil
	}
	return Value{}, errProtocol
}

// readLine reads a line ended by CRLF, without it.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", errProtocol
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	if len(b) < 2 || b[len(b)-2] != '\r' {
		return "", errProtocol
	}
	return string(b[:len(b)-2]), nil
}

// Script is a Lua script run with EVALSHA, loaded with EVAL when Redis
// does not know it yet.
type Script struct {
	src, sha string
}

// NewScript returns the Script of src.
func NewScript(src string) *Script {
	sum := sha1.Sum([]byte(src))
	return &Script{src: src, sha: hex.EncodeToString(sum[:])}
}

// Run runs s with keys and args.
func (s *Script) Run(ctx context.Context, c *Client, keys []string, args ...string) (Value, error) {
	cmd := func(verb, body string) []string {
		out := append([]string{verb, body, strconv.Itoa(len(keys))}, keys...)
		return append(out, args...)
	}
	v, err := c.Do(ctx, cmd("EVALSHA", s.sha)...)
	var rerr Error
	if errors.As(err, &rerr) && strings.HasPrefix(string(rerr), "NOSCRIPT") {
		return c.Do(ctx, cmd("EVAL", s.src)...)
	}
	return v, err
}
