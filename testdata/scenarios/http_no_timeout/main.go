// http_no_timeout: a sync job calls an upstream through an http.Client that has no Timeout (and
// requests without a deadline). The upstream (a loopback server on 127.0.0.1) accepts the
// requests but its handler never answers, so 11 callers wait forever inside client.Get
// (select, in net/http's persistConn.roundTrip). The calls run under the pprof labels
// {tenant: globex, req: sync-42}. The connection's readLoop sits in IO wait and keeps the
// callers' channels reachable, so the runtime's leak detector does not flag them.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/pprof"

	"goleash.test/scenarios/internal/snap"
)

// upstreamClient has no Timeout: a request to a server that never answers waits forever.
var upstreamClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}

// upstream is the loopback server; kept in a package variable, as a real server would be.
var upstream *http.Server

// fetchStatus asks the upstream for the status of one item.
func fetchStatus(baseURL string, item int) (int, error) {
	resp, err := upstreamClient.Get(fmt.Sprintf("%s/status/%d", baseURL, item)) // blocks forever
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// stuckHandler never writes a response: it waits until the client goes away.
func stuckHandler(w http.ResponseWriter, r *http.Request) {
	<-r.Context().Done()
}

func startUpstream() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	upstream = &http.Server{Handler: http.HandlerFunc(stuckHandler)}
	go upstream.Serve(ln)
	return "http://" + ln.Addr().String()
}

func start() {
	base := startUpstream()
	pprof.Do(context.Background(), pprof.Labels("tenant", "globex", "req", "sync-42"), func(context.Context) {
		for i := 0; i < 11; i++ {
			go func() {
				if _, err := fetchStatus(base, i); err != nil {
					log.Print(err)
				}
			}()
		}
	})
}

func main() {
	start()
	snap.Take()
}
