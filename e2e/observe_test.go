package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dswap-dev/dswap/notify"
)

// receiver is a notification endpoint on 127.0.0.1: the signed JSON
// webhook at /hook and shoutrrr's generic service at /chat.
type receiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	hooks  []notify.Event
	chats  []map[string]string
	forged int // deliveries whose signature did not verify
}

func newReceiver(t *testing.T, secret string) *receiver {
	rc := &receiver{secret: secret}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		switch r.URL.Path {
		case "/hook":
			if r.Header.Get(notify.SignatureHeader) != notify.Sign([]byte(secret), body) {
				rc.forged++
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			var ev notify.Event
			if json.Unmarshal(body, &ev) == nil {
				rc.hooks = append(rc.hooks, ev)
			}
		case "/chat":
			var m map[string]string
			if json.Unmarshal(body, &m) == nil {
				rc.chats = append(rc.chats, m)
			}
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) received() ([]notify.Event, []map[string]string, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]notify.Event(nil), rc.hooks...), append([]map[string]string(nil), rc.chats...), rc.forged
}

// tcpSidecar is `dswap serve` on this host with its API on a TCP port.
type tcpSidecar struct {
	api, metrics, token string
	logs                *syncBuffer
}

func serveTCP(t *testing.T, env ...string) *tcpSidecar {
	t.Helper()
	ports := freePorts(t, 2)
	s := &tcpSidecar{api: "http://127.0.0.1:" + ports[0], metrics: "http://127.0.0.1:" + ports[1], token: randomHex(16), logs: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, suite.dswap, "serve", "--listen", "127.0.0.1:"+ports[0], "--metrics-listen", "127.0.0.1:"+ports[1], "--resync", "0s")
	cmd.Env = withEnv(os.Environ(),
		"DSWAP_ROUTES_DIR="+suite.lab.RoutesDir,
		"DSWAP_TRAEFIK_API="+suite.lab.APIURL,
		"DSWAP_TRAEFIK_CONTAINER="+suite.lab.TraefikName,
		"DSWAP_TOKEN="+s.token,
	)
	cmd.Env = withEnv(cmd.Env, env...)
	cmd.Stderr, cmd.Stdout = s.logs, s.logs
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("dswap serve:\n%s", s.logs)
		}
	})
	require.Eventually(t, func() bool { return s.get(t, s.api+"/metrics", s.token) == http.StatusOK }, time.Minute, 100*time.Millisecond,
		"dswap serve did not answer; its log:\n%s", s.logs)
	return s
}

func (s *tcpSidecar) get(t *testing.T, url, token string) int {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// scrape reads the sidecar's metrics through the API, with its token.
func (s *tcpSidecar) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.api+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// sample finds the metric of a family whose labels include want.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	if m := sample(fams, name, labels); m != nil {
		return m.GetCounter().GetValue()
	}
	return 0
}

func histCount(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (uint64, float64) {
	if m := sample(fams, name, labels); m != nil {
		return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
	}
	return 0, 0
}

// A swap through the sidecar moves its metrics and sends a signed JSON
// notification and a shoutrrr message; a failed swap too, with its reason.
func TestSidecarMetricsAndNotifications(t *testing.T) {
	svc := startService(t, "observe", serviceOpts{})
	secret := randomHex(16)
	rc := newReceiver(t, secret)
	chatURL := "generic://" + strings.TrimPrefix(rc.srv.URL, "http://") + "/chat?disabletls=yes&template=json"
	side := serveTCP(t, "DSWAP_NOTIFY="+rc.srv.URL+"/hook;"+chatURL, "DSWAP_NOTIFY_SECRET="+secret)

	// The metrics need the token on the API's address, and are open on
	// --metrics-listen.
	assert.Equal(t, http.StatusUnauthorized, side.get(t, side.api+"/metrics", ""))
	assert.Equal(t, http.StatusOK, side.get(t, side.metrics+"/metrics", ""))

	svcLabel := map[string]string{"service": svc.name}
	phase := func(p string) map[string]string { return map[string]string{"service": svc.name, "phase": p} }
	before := side.scrape(t)
	host := []string{"DSWAP_HOST=" + side.api, "DSWAP_TOKEN=" + side.token}

	run := runDswapEnv(t, host, "up", image(imgV2), "--service", svc.name, "--drain", "3s", "--output", "json")
	require.Equal(t, 0, run.code, run.stderr)
	after := side.scrape(t)
	swapped := map[string]string{"service": svc.name, "kind": "swap", "result": "swapped"}
	assert.Equal(t, 1.0, counter(after, "dswap_swaps_total", swapped)-counter(before, "dswap_swaps_total", swapped))
	for _, p := range []string{"health", "flip", "drain"} {
		n0, _ := histCount(before, "dswap_swap_phase_duration_seconds", phase(p))
		n1, sum := histCount(after, "dswap_swap_phase_duration_seconds", phase(p))
		assert.Equal(t, n0+1, n1, "phase %s observed once", p)
		assert.Positive(t, sum, "phase %s took time", p)
		t.Logf("phase %s: %.3fs", p, sum)
	}
	n, routed := histCount(after, "dswap_swap_healthy_to_traffic_seconds", svcLabel)
	assert.Equal(t, uint64(1), n)
	assert.InDelta(t, run.result.RoutedAfterHealthy, routed, 0.01, "the histogram holds the swap's own figure")
	n, total := histCount(after, "dswap_swap_duration_seconds", map[string]string{"service": svc.name, "result": "swapped"})
	assert.Equal(t, uint64(1), n)
	t.Logf("swap: %.2fs in total, traffic moved %.3fs after healthy", total, routed)
	img := sample(after, "dswap_service_image_info", svcLabel)
	require.NotNil(t, img)
	assert.Contains(t, img.String(), image(imgV2))
	assert.Positive(t, sample(after, "dswap_last_successful_swap_timestamp_seconds", svcLabel).GetGauge().GetValue())

	// A swap that fails its health check is rolled back, counted with
	// its reason, and does not change the image the metrics show.
	run = runDswapEnv(t, host, "up", image(imgNeverHealthy), "--service", svc.name, "--health-timeout", "5s", "--output", "json")
	require.Equal(t, 1, run.code, run.stderr)
	failedAfter := side.scrape(t)
	failed := map[string]string{"service": svc.name, "kind": "swap", "result": "failed"}
	assert.Equal(t, 1.0, counter(failedAfter, "dswap_swaps_total", failed))
	assert.Equal(t, 1.0, counter(failedAfter, "dswap_rollbacks_total", map[string]string{"service": svc.name, "reason": "health"}))
	assert.Contains(t, sample(failedAfter, "dswap_service_image_info", svcLabel).String(), image(imgV2))

	// Both notifications arrive, signed, on both paths.
	require.Eventually(t, func() bool {
		hooks, chats, _ := rc.received()
		return len(hooks) >= 2 && len(chats) >= 2
	}, 30*time.Second, 100*time.Millisecond, "notifications did not arrive")
	hooks, chats, forged := rc.received()
	assert.Zero(t, forged)
	byResult := map[string]notify.Event{}
	for _, ev := range hooks {
		assert.Equal(t, svc.name, ev.Service)
		byResult[ev.Result] = ev
	}
	ok, bad := byResult[notify.ResultSwapped], byResult[notify.ResultFailed]
	assert.Equal(t, image(imgV1), ok.From)
	assert.Equal(t, image(imgV2), ok.To)
	require.NotNil(t, ok.Durations)
	assert.InDelta(t, routed, ok.Durations.RoutedAfterHealthy, 0.01, "the message carries the swap's own figures")
	assert.Equal(t, image(imgNeverHealthy), bad.To)
	assert.Equal(t, "health", bad.FailedPhase)
	assert.NotEmpty(t, bad.Reason)
	assert.Contains(t, bad.HealthOutput, "503", "the last health output is in the message")
	t.Logf("failure notification: reason %q, last health output %q", bad.Reason, bad.HealthOutput)
	var titles []string
	for _, c := range chats {
		titles = append(titles, c["title"])
	}
	assert.Contains(t, titles, "dswap: "+svc.name+" swapped to "+image(imgV2))
	assert.Contains(t, titles, "dswap: swap of "+svc.name+" to "+image(imgNeverHealthy)+" failed; rolled back")

	delivered := side.scrape(t)
	assert.Equal(t, 2.0, counter(delivered, "dswap_notifications_total", map[string]string{"target": "webhook", "outcome": "delivered"}))
	assert.Equal(t, 2.0, counter(delivered, "dswap_notifications_total", map[string]string{"target": "generic", "outcome": "delivered"}))
}

// A local `dswap up --notify` sends the signed JSON before it exits.
func TestUpNotifies(t *testing.T) {
	svc := startService(t, "upnotify", serviceOpts{})
	secret := randomHex(16)
	rc := newReceiver(t, secret)
	run := runDswapEnv(t, []string{"DSWAP_NOTIFY_SECRET=" + secret}, "up", image(imgV2), "--service", svc.name, "--drain", "3s", "--notify", rc.srv.URL+"/hook")
	require.Equal(t, 0, run.code, run.stderr)
	hooks, _, forged := rc.received()
	assert.Zero(t, forged)
	require.Len(t, hooks, 1, "the message is sent before dswap up exits")
	assert.Equal(t, notify.ResultSwapped, hooks[0].Result)
	assert.Equal(t, "cli", hooks[0].Trigger)
	assert.Equal(t, image(imgV2), hooks[0].To)
}
