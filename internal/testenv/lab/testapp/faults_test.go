package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFaultsFailTheirShareAndSpareHealthz(t *testing.T) {
	f, err := loadFaults(func(k string) string { return map[string]string{"FAIL_RATE": "20%"}[k] })
	require.NoError(t, err)
	h := f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	failed := 0
	for range 500 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code == http.StatusInternalServerError {
			failed++
		}
	}
	assert.Equal(t, 100, failed, "20% of 500 requests")
	for range 20 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		assert.Equal(t, http.StatusOK, rec.Code, "/healthz never fails on purpose")
	}
}

func TestFaultsAddLatency(t *testing.T) {
	f, err := loadFaults(func(k string) string { return map[string]string{"EXTRA_LATENCY": "30ms"}[k] })
	require.NoError(t, err)
	h := f.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	start := time.Now()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestFaultsRefuseBadValues(t *testing.T) {
	for _, v := range []string{"1.5", "-0.1", "abc", "120%"} {
		_, err := loadFaults(func(k string) string { return map[string]string{"FAIL_RATE": v}[k] })
		assert.Error(t, err, v)
	}
}
