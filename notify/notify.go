package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nicholas-fedor/shoutrrr/pkg/router"
	"github.com/nicholas-fedor/shoutrrr/pkg/types"
)

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// with the notification secret, the way GitHub signs its webhooks, so a
// receiver can reuse the check it has for those.
const SignatureHeader = "X-Dswap-Signature-256"

// DefaultTimeout bounds one notification, retries included.
const DefaultTimeout = 30 * time.Second

// Notifier sends every Event to its targets in the background.
type Notifier struct {
	targets []target
	log     *slog.Logger
	timeout time.Duration
	// delivered, when set, is told each target's outcome (metrics).
	delivered func(target, outcome string)
	wg        sync.WaitGroup
}

// target is one place notifications go.
type target interface {
	// kind is webhook or the shoutrrr service's scheme (slack, smtp…).
	kind() string
	// String names the target without its secrets, for logs.
	String() string
	send(ctx context.Context, ev Event) error
}

// Options configure a Notifier.
type Options struct {
	// URLs are http(s) URLs, which get the signed JSON webhook, and
	// shoutrrr URLs (slack://, telegram://, smtp://, generic://…).
	URLs []string
	// Secret signs the JSON webhook; without it the webhook is sent
	// unsigned.
	Secret  string
	Timeout time.Duration
	Log     *slog.Logger
	// Delivered, when set, is told each delivery's outcome: its target's
	// kind and "delivered" or "failed".
	Delivered func(kind, outcome string)
}

// New checks every URL and returns a Notifier for them; nil when there
// are none. A URL that cannot be used is an error at start, not a silent
// loss of every message later.
func New(opts Options) (*Notifier, error) {
	if len(opts.URLs) == 0 {
		return nil, nil
	}
	n := &Notifier{log: opts.Log, timeout: opts.Timeout, delivered: opts.Delivered}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.timeout <= 0 {
		n.timeout = DefaultTimeout
	}
	for _, raw := range opts.URLs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" && u.Opaque == "" {
			return nil, fmt.Errorf("notification URL %s is not a URL: want http(s)://HOST/PATH for the JSON webhook, or a shoutrrr URL such as slack://… or smtp://…", Redact(raw))
		}
		switch u.Scheme {
		case "http", "https":
			n.targets = append(n.targets, &webhook{url: u, secret: []byte(opts.Secret), client: &http.Client{}})
		default:
			sr, err := router.New(nil, raw)
			if err != nil {
				// shoutrrr's error may quote the URL, and with it a token.
				return nil, fmt.Errorf("notification URL %s is not one shoutrrr can send to (see https://shoutrrr.nickfedor.com/services/overview/ for the URL of each service): %s", Redact(raw), redactIn(err.Error(), raw))
			}
			sr.Timeout = n.timeout
			n.targets = append(n.targets, &chat{url: u, raw: raw, router: sr})
		}
	}
	return n, nil
}

// Targets names where notifications go, without secrets.
func (n *Notifier) Targets() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, t := range n.targets {
		out = append(out, t.String())
	}
	return out
}

// Notify sends ev to every target in the background and returns at once:
// a notification never holds up, let alone fails, a swap. Failures are
// logged.
func (n *Notifier) Notify(ctx context.Context, ev Event) {
	if n == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for _, t := range n.targets {
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			sctx, cancel := context.WithTimeout(ctx, n.timeout)
			defer cancel()
			outcome := "delivered"
			if err := t.send(sctx, ev); err != nil {
				outcome = "failed"
				n.log.Warn("a notification was not delivered; the swap is not affected", "target", t.String(), "service", ev.Service, "result", ev.Result, "error", err)
			} else {
				n.log.Debug("notification delivered", "target", t.String(), "service", ev.Service, "result", ev.Result)
			}
			if n.delivered != nil {
				n.delivered(t.kind(), outcome)
			}
		}()
	}
}

// Wait waits for the notifications in flight, at most until ctx ends: a
// CLI run waits before exiting, a sidecar when it stops.
func (n *Notifier) Wait(ctx context.Context) error {
	if n == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("notifications still being sent: %w", ctx.Err())
	}
}

// Redact shows a URL's scheme and host only: paths, queries and user
// info of notification URLs hold tokens.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "(a malformed URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

func redactIn(msg, raw string) string {
	if raw == "" {
		return msg
	}
	return strings.ReplaceAll(msg, raw, Redact(raw))
}

// Sign is the SignatureHeader value for a body.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhook POSTs the event as JSON, signed when there is a secret.
type webhook struct {
	url    *url.URL
	secret []byte
	client *http.Client
}

func (w *webhook) kind() string   { return "webhook" }
func (w *webhook) String() string { return Redact(w.url.String()) }

// webhookRetries are the pauses before the second and third attempts: a
// receiver being restarted should not lose the message.
var webhookRetries = []time.Duration{time.Second, 3 * time.Second}

func (w *webhook) send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding the notification: %w", err)
	}
	delivery := make([]byte, 8)
	_, _ = rand.Read(delivery)
	var last error
	for attempt := 0; ; attempt++ {
		retry := false
		retry, last = w.post(ctx, body, hex.EncodeToString(delivery), ev.Kind)
		if last == nil || !retry || attempt >= len(webhookRetries) {
			return last
		}
		t := time.NewTimer(webhookRetries[attempt])
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (then gave up: %v)", last, ctx.Err())
		case <-t.C:
		}
	}
}

// post sends once and says whether another try could help.
func (w *webhook) post(ctx context.Context, body []byte, delivery, kind string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("building the request to %s: %w", w, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "dswap")
	req.Header.Set("X-Dswap-Event", kind)
	req.Header.Set("X-Dswap-Delivery", delivery)
	if len(w.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(w.secret, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // its message repeats the URL
		}
		return ctx.Err() == nil, fmt.Errorf("posting to %s: %w", w, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests, fmt.Errorf("%s answered %s", w, resp.Status)
	}
	return false, nil
}

// chat sends the event's text through shoutrrr.
type chat struct {
	url    *url.URL
	raw    string
	router *router.ServiceRouter
}

func (c *chat) kind() string   { return c.url.Scheme }
func (c *chat) String() string { return Redact(c.raw) }

func (c *chat) send(ctx context.Context, ev Event) error {
	// shoutrrr takes no context; its router bounds each send by its
	// Timeout, which is the notifier's.
	params := types.Params{}
	params.SetTitle(ev.Title())
	done := make(chan []error, 1)
	go func() { done <- c.router.Send(ev.Text(), &params) }()
	select {
	case <-ctx.Done():
		return fmt.Errorf("sending to %s: %w", c, ctx.Err())
	case errs := <-done:
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("sending to %s: %s", c, redactIn(err.Error(), c.raw))
			}
		}
		return nil
	}
}
