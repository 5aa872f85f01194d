// Package browser drives a real Chromium for the tests of the sidecar's
// status page: find the browser, open a tab, wait for what a page shows,
// take screenshots.
package browser

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// Env names the browser to use instead of the first one found on PATH.
const Env = "DSWAP_CHROMIUM"

// Find returns the path of the browser to drive: $DSWAP_CHROMIUM, else
// Debian's chromium (or chromium-browser, google-chrome) on PATH.
func Find() (string, error) {
	candidates := []string{"chromium", "chromium-browser", "google-chrome"}
	if p := os.Getenv(Env); p != "" {
		candidates = []string{p}
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium found (%s); install it with scripts/chromium.sh (apt-get install chromium) or name one in %s", strings.Join(candidates, ", "), Env)
}

// Tab is one tab of a Chromium of its own, closed by Close.
type Tab struct {
	// Ctx runs chromedp actions in the tab; it has no deadline, so each
	// action should take one from Within.
	Ctx     context.Context
	path    string
	cancels []context.CancelFunc
}

// Start starts the browser at path with a window of width × height and
// opens a tab. The browser lives until Close.
func Start(path string, width, height int) (*Tab, error) {
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		// Chromium's sandbox needs user namespaces that a root CI job
		// does not have; the pages are the tests' own, on 127.0.0.1.
		chromedp.NoSandbox,
		chromedp.WindowSize(width, height),
	)...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	tab := &Tab{Ctx: ctx, path: path, cancels: []context.CancelFunc{cancelAlloc, cancelTab}}
	// The browser's life is bound to the context of its first action, so
	// it starts without a deadline.
	if err := chromedp.Do(ctx); err != nil {
		tab.Close()
		return nil, fmt.Errorf("starting Chromium %s: %w", path, err)
	}
	return tab, nil
}

// Path is the browser's executable.
func (b *Tab) Path() string { return b.path }

// Close ends the tab and the browser.
func (b *Tab) Close() {
	for i := len(b.cancels) - 1; i >= 0; i-- {
		b.cancels[i]()
	}
	b.cancels = nil
}

// Within is the tab's context with a deadline d from now; its cancel is
// called by Close if not before.
func (b *Tab) Within(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(b.Ctx, d)
	b.cancels = append(b.cancels, cancel)
	return ctx
}

// WaitFor polls a JavaScript predicate in the page every 100 ms until it
// is true, for at most d. When it stays false the error holds what the
// page shows, so that a failure says what was there instead.
func (b *Tab) WaitFor(what, expr string, d time.Duration) error {
	_, err := chromedp.Run(b.Within(d+5*time.Second), chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err == nil {
		return nil
	}
	text, _ := chromedp.Run(b.Within(5*time.Second), chromedp.Evaluate[string](`document.body.innerText`))
	return fmt.Errorf("the page did not show %s within %s: %w\nthe page shows:\n%s", what, d, err, text)
}

// Screenshot saves the whole page as a PNG file in dir and returns its path.
func (b *Tab) Screenshot(dir, name string) (string, error) {
	// Quality 100 is PNG; anything less is JPEG.
	png, err := chromedp.Run(b.Within(30*time.Second), chromedp.FullScreenshot(100))
	if err != nil {
		return "", fmt.Errorf("screenshot %s: %w", name, err)
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, png, 0o644)
}

// Login fills the status page's login form at base with token and sends it.
func (b *Tab) Login(base, token string) error {
	if err := chromedp.Do(b.Within(30*time.Second), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		return fmt.Errorf("opening the status page at %s: %w", base, err)
	}
	if err := chromedp.Do(b.Within(30*time.Second), chromedp.SendKeys(chromedp.ID("token"), token)); err != nil {
		return err
	}
	_, err := chromedp.RunResponse(b.Within(30*time.Second), chromedp.Click(chromedp.ID("login-submit")))
	return err
}

// Eval evaluates a JavaScript expression in the tab's page, within 10 s,
// and decodes its value.
func Eval[T any](b *Tab, expr string) (T, error) {
	return chromedp.Run(b.Within(10*time.Second), chromedp.Evaluate[T](expr))
}
