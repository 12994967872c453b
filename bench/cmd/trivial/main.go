// Command trivial is the floor that scripts/bench-http.sh measures
// `presign serve` against: an http.Server with the same settings as
// presign serve's (timeouts, header limit) whose one handler answers every
// request 200 with a short text body and logs nothing.
//
//	trivial -addr 127.0.0.1:8081
package main

import (
	"flag"
	"log"
	"net"
	"net/http"

	"presign.dev/internal/httpserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address")
	flag.Parse()
	body := []byte("ok\n")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(body)
	})
	// presign serve's settings (httpserver.New), so that the two servers
	// differ only in their handler.
	srv := httpserver.New(h, nil)
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(srv.Serve(ln))
}
