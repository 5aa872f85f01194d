package server

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dswap-dev/dswap/swap"
)

// Metrics is the sidecar's Prometheus metrics, an Observer of its swaps,
// keeper and webhooks. Labels are bounded: services, phases, results and
// the image each service last swapped to (one series per service).
type Metrics struct {
	reg              *prometheus.Registry
	swaps            *prometheus.CounterVec
	swapDuration     *prometheus.HistogramVec
	phaseDuration    *prometheus.HistogramVec
	healthyToTraffic *prometheus.HistogramVec
	rollbacks        *prometheus.CounterVec
	repairs          *prometheus.CounterVec
	hooks            *prometheus.CounterVec
	notifications    *prometheus.CounterVec
	lastSuccess      *prometheus.GaugeVec
	image            *prometheus.GaugeVec

	mu        sync.Mutex
	lastImage map[string]string // service → image label set in image
}

// NewMetrics registers dswap's metrics and the Go and process collectors.
// running, when set, reports the swaps in progress.
func NewMetrics(running func() int) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), lastImage: map[string]string{}}
	long := []float64{0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600}
	short := []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 15, 30}
	m.swaps = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswap_swaps_total",
		Help: "Swaps and rollbacks that ended, by service, kind (swap, rollback) and result (swapped, noop, failed, rolled-back, error)."},
		[]string{"service", "kind", "result"})
	m.swapDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dswap_swap_duration_seconds",
		Help: "Duration of a swap from its start to its end, by service and result.", Buckets: long},
		[]string{"service", "result"})
	m.phaseDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dswap_swap_phase_duration_seconds",
		Help: "Time a swap spent in each phase (plan, create, health, flip, monitor, drain, remove, rollback), by service.", Buckets: long},
		[]string{"service", "phase"})
	m.healthyToTraffic = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "dswap_swap_healthy_to_traffic_seconds",
		Help: "Time from the new container(s) being healthy to Traefik showing the route to them, by service.", Buckets: short},
		[]string{"service"})
	m.rollbacks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswap_rollbacks_total",
		Help: "Swaps undone, by service and reason: the phase that failed (create, health, flip, monitor, …) or cancelled."},
		[]string{"service", "reason"})
	m.repairs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswap_keeper_repairs_total",
		Help: "Routes the keeper put right, by service and repair: routed (the route file was rewritten) or interrupted-swap (containers of an interrupted swap were removed)."},
		[]string{"service", "repair"})
	m.hooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswap_webhook_deliveries_total",
		Help: "Webhook deliveries received, by source (github, registry) and outcome (accepted, ignored, unauthorized, rejected, unavailable, off)."},
		[]string{"source", "outcome"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswap_notifications_total",
		Help: "Notifications sent, by target kind (webhook or the shoutrrr service) and outcome (delivered, failed)."},
		[]string{"target", "outcome"})
	m.lastSuccess = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dswap_last_successful_swap_timestamp_seconds",
		Help: "Unix time of the service's last successful swap or rollback."}, []string{"service"})
	m.image = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dswap_service_image_info",
		Help: "The image a service's last successful swap moved it to (value 1)."}, []string{"service", "image"})
	m.reg.MustRegister(m.swaps, m.swapDuration, m.phaseDuration, m.healthyToTraffic, m.rollbacks, m.repairs, m.hooks,
		m.notifications, m.lastSuccess, m.image,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if running != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dswap_swaps_running",
			Help: "Swaps and rollbacks in progress in this sidecar."}, func() float64 { return float64(running()) }))
	}
	return m
}

// Handler serves the metrics in Prometheus' exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics are registered, for tests and for
// collectors of other packages.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SwapEnded counts the swap and records its durations.
func (m *Metrics) SwapEnded(end SwapEnd) {
	out := end.Outcome
	service := out.Service
	result := out.Result
	var failed *swap.FailedError
	isFailed := errors.As(end.Err, &failed)
	if isFailed && failed.Phase == swap.PhaseMonitor {
		result = "rolled-back"
	}
	m.swaps.WithLabelValues(service, end.Kind, result).Inc()
	switch {
	case isFailed:
		m.rollbacks.WithLabelValues(service, failed.Phase.String()).Inc()
	case errors.Is(end.Err, context.Canceled):
		m.rollbacks.WithLabelValues(service, "cancelled").Inc()
	}
	res := end.Result
	if res == nil || res.Noop {
		return
	}
	if res.Total > 0 {
		m.swapDuration.WithLabelValues(service, result).Observe(res.Total.Seconds())
	}
	for phase, d := range phaseDurations(res.Steps) {
		m.phaseDuration.WithLabelValues(service, phase.String()).Observe(d.Seconds())
	}
	if res.RoutedAfterHealthy > 0 {
		m.healthyToTraffic.WithLabelValues(service).Observe(res.RoutedAfterHealthy.Seconds())
	}
	if end.Err == nil && out.Succeeded() {
		m.lastSuccess.WithLabelValues(service).Set(float64(time.Now().UnixNano()) / 1e9)
		m.setImage(service, res.ToImage)
	}
}

// setImage keeps one info series per service: the old image's series is
// deleted, so a query for the service's image finds exactly one.
func (m *Metrics) setImage(service, image string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.lastImage[service]; ok && old != image {
		m.image.DeleteLabelValues(service, old)
	}
	m.lastImage[service] = image
	m.image.WithLabelValues(service, image).Set(1)
}

// RouteRepaired counts what the keeper repaired.
func (m *Metrics) RouteRepaired(got swap.Reconciled) {
	if len(got.Repaired) > 0 {
		m.repairs.WithLabelValues(got.Service, "interrupted-swap").Inc()
	}
	if got.Upkeep == swap.UpkeepRouted {
		m.repairs.WithLabelValues(got.Service, "routed").Inc()
	}
}

// HookDelivered counts a webhook delivery.
func (m *Metrics) HookDelivered(source, outcome string) {
	m.hooks.WithLabelValues(source, outcome).Inc()
}

// NotificationDelivered counts a notification; notify.Options.Delivered.
func (m *Metrics) NotificationDelivered(target, outcome string) {
	m.notifications.WithLabelValues(target, outcome).Inc()
}

// phaseDurations adds up the time spent in each phase: a step lasts until
// the next one. A rollout in batches goes through a phase more than once.
func phaseDurations(steps []swap.Step) map[swap.Phase]time.Duration {
	out := map[swap.Phase]time.Duration{}
	for i := 0; i+1 < len(steps); i++ {
		if d := steps[i+1].At.Sub(steps[i].At); d >= 0 {
			out[steps[i].Phase] += d
		}
	}
	return out
}
