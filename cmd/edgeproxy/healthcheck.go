package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"
)

// healthcheckBudget is the whole healthcheck's time limit: it must finish
// within 2 s (the container engine's timeout is larger) even when nothing
// listens or the server hangs.
const healthcheckBudget = 1500 * time.Millisecond

// healthcheckCommand GETs /readyz?verbose (or /livez?verbose with --live) on
// health.listen: exit 0 on 200, else 1 with the reasons on stderr.
func healthcheckCommand(c *cli, _ []string) error {
	s, err := c.load()
	if err != nil {
		return err
	}
	path := "/readyz"
	if c.opts.live {
		path = "/livez"
	}
	url := "http://" + dialAddress(s.Health.Listen) + path + "?verbose"
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckBudget)
	defer cancel()
	code, body, err := httpGet(ctx, url)
	if err != nil {
		fmt.Fprintf(c.stderr, "edgeproxy healthcheck: %s: %v\n", url, err)
		return &exitError{code: exitFailure}
	}
	if code == http.StatusOK {
		fmt.Fprint(c.stdout, body)
		return nil
	}
	fmt.Fprintf(c.stderr, "edgeproxy healthcheck: %s: HTTP %d\n%s", url, code, body)
	return &exitError{code: exitFailure}
}

// dialAddress turns a listen address into one to dial: a wildcard host
// (0.0.0.0, ::, empty) is reached on loopback.
func dialAddress(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// httpGet fetches url within ctx and returns the status and (at most 64 KiB of) the body.
func httpGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 0, "", fmt.Errorf("no answer within %s", healthcheckBudget)
		}
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is printed already
		}
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, string(body), fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, string(body), nil
}
