// tlsmatrix-http-oracle: an HTTPS server whose server-side TLS behaves like
// KrakenD CE's (lura's transport/http/server), used as the oracle that the
// Rust reference HTTP gateway is compared against.
//
// Usage: tlsmatrix-http-oracle --config FILE [--listen ADDR] [--strict-versions]
//
// The behaviour of the TLS layer follows lura's ParseTLSConfigWithLogger,
// loadCertPool and RunServerWithLoggerFactory (see README.md); the code here
// is our own.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// krakendConfig holds the part of a KrakenD configuration file the oracle
// reads. Unknown keys are ignored.
type krakendConfig struct {
	Port        int                        `json:"port"`
	TLS         *tlsConfig                 `json:"tls"`
	ClientTLS   *clientTLSConfig           `json:"client_tls"`
	Endpoints   []endpointConfig           `json:"endpoints"`
	ExtraConfig map[string]json.RawMessage `json:"extra_config"`
}

// endpointConfig is one `endpoints` entry (lura's config.EndpointConfig, the
// parts the oracle uses).
type endpointConfig struct {
	Endpoint string          `json:"endpoint"`
	Method   string          `json:"method"`
	Backend  []backendConfig `json:"backend"`
}

// backendConfig is one `backend` entry.
type backendConfig struct {
	Host        []string                   `json:"host"`
	URLPattern  string                     `json:"url_pattern"`
	Method      string                     `json:"method"`
	ExtraConfig map[string]json.RawMessage `json:"extra_config"`
}

// clientTLSConfig mirrors KrakenD's `client_tls` (service level in CE; per
// backend under extra_config."backend/http/client".client_tls in Enterprise).
type clientTLSConfig struct {
	AllowInsecureConnections bool         `json:"allow_insecure_connections"`
	CaCerts                  []string     `json:"ca_certs"`
	DisableSystemCaPool      bool         `json:"disable_system_ca_pool"`
	MinVersion               string       `json:"min_version"`
	MaxVersion               string       `json:"max_version"`
	CurvePreferences         []uint16     `json:"curve_preferences"`
	CipherSuites             []uint16     `json:"cipher_suites"`
	ClientCerts              []clientCert `json:"client_certs"`
}

type clientCert struct {
	Certificate string `json:"certificate"`
	PrivateKey  string `json:"private_key"`
}

type backendHTTPClient struct {
	ClientTLS *clientTLSConfig `json:"client_tls"`
}

type routerConfig struct {
	ReturnErrorMsg bool `json:"return_error_msg"`
}

type keyPair struct {
	PublicKey  string `json:"public_key"`
	PrivateKey string `json:"private_key"`
}

// tlsConfig mirrors the keys of lura's config.TLS (server side).
type tlsConfig struct {
	IsDisabled               bool      `json:"disabled"`
	PublicKey                string    `json:"public_key"`
	PrivateKey               string    `json:"private_key"`
	Keys                     []keyPair `json:"keys"`
	CaCerts                  []string  `json:"ca_certs"`
	DisableSystemCaPool      bool      `json:"disable_system_ca_pool"`
	MinVersion               string    `json:"min_version"`
	MaxVersion               string    `json:"max_version"`
	CurvePreferences         []uint16  `json:"curve_preferences"`
	PreferServerCipherSuites bool      `json:"prefer_server_cipher_suites"`
	CipherSuites             []uint16  `json:"cipher_suites"`
	EnableMTLS               bool      `json:"enable_mtls"`
}

// KrakenD's defaults (lura transport/http/server/server.go).
const (
	defaultPort  = 8080 // lura config.defaultPort
	loggerPrefix = "[SERVICE: HTTP Server]"
)

var (
	errPublicKey  = errors.New("public key not defined")
	errPrivateKey = errors.New("private key not defined")

	defaultCurves = []tls.CurveID{tls.CurveP521, tls.CurveP384, tls.CurveP256}

	defaultCipherSuites = []uint16{
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305,
	}

	tlsVersions = map[string]uint16{
		"SSL3.0": tls.VersionSSL30, //nolint:staticcheck // KrakenD accepts the name
		"TLS10":  tls.VersionTLS10,
		"TLS11":  tls.VersionTLS11,
		"TLS12":  tls.VersionTLS12,
		"TLS13":  tls.VersionTLS13,
	}
)

var strictVersions bool

// krakendLog prints a line like KrakenD's logger does for non-fatal problems
// (KrakenD logs them and keeps going).
func krakendLog(level, msg string) {
	fmt.Fprintf(os.Stderr, "log: %s: %s\n", level, msg)
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "error: %s\n", err)
	os.Exit(1)
}

// parseVersion: unknown or empty names fall back to TLS 1.3, as in KrakenD.
func parseVersion(field, name string) (uint16, error) {
	if v, ok := tlsVersions[name]; ok {
		return v, nil
	}
	if strictVersions && name != "" {
		return 0, fmt.Errorf("tls.%s: unknown TLS version %q (KrakenD would silently use TLS13)", field, name)
	}
	return tls.VersionTLS13, nil
}

func parseCurves(ids []uint16) []tls.CurveID {
	if len(ids) == 0 {
		return defaultCurves
	}
	out := make([]tls.CurveID, len(ids))
	for i, id := range ids {
		out[i] = tls.CurveID(id)
	}
	return out
}

func parseCiphers(ids []uint16) []uint16 {
	if len(ids) == 0 {
		return defaultCipherSuites
	}
	return append([]uint16(nil), ids...)
}

// certPool: the system pool (unless disabled) plus every readable ca_certs
// file. Unreadable files are logged and skipped, as in KrakenD.
func certPool(disableSystem bool, caCerts []string) *x509.CertPool {
	pool := x509.NewCertPool()
	if !disableSystem {
		if sys, err := x509.SystemCertPool(); err == nil {
			pool = sys
		} else {
			krakendLog("ERROR", fmt.Sprintf("%s Cannot load system CA pool: %s", loggerPrefix, err))
		}
	}
	for _, path := range caCerts {
		ca, err := os.ReadFile(path)
		if err != nil {
			krakendLog("ERROR", fmt.Sprintf("%s Cannot load certificate CA %s: %s", loggerPrefix, path, err))
			continue
		}
		pool.AppendCertsFromPEM(ca)
	}
	return pool
}

// keyPairs: the `keys` list, then the top-level public_key/private_key pair
// when either is set (lura appends it after the list).
func keyPairs(c *tlsConfig) []keyPair {
	pairs := append([]keyPair(nil), c.Keys...)
	if c.PublicKey != "" || c.PrivateKey != "" {
		pairs = append(pairs, keyPair{PublicKey: c.PublicKey, PrivateKey: c.PrivateKey})
	}
	return pairs
}

// buildTLS returns nil when TLS is off (no `tls` object, or tls.disabled).
func buildTLS(c *tlsConfig) (*tls.Config, error) {
	if c == nil || c.IsDisabled {
		return nil, nil
	}
	minV, err := parseVersion("min_version", c.MinVersion)
	if err != nil {
		return nil, err
	}
	maxV, err := parseVersion("max_version", c.MaxVersion)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:               minV,
		MaxVersion:               maxV,
		CurvePreferences:         parseCurves(c.CurvePreferences),
		PreferServerCipherSuites: c.PreferServerCipherSuites, //nolint:staticcheck // ignored by Go, set like KrakenD
		CipherSuites:             parseCiphers(c.CipherSuites),
	}

	pairs := keyPairs(c)
	if len(pairs) == 0 {
		return nil, errPublicKey
	}

	if c.EnableMTLS {
		// Client CAs = system pool (unless disable_system_ca_pool) + ca_certs +
		// the server's own public_key file(s).
		pool := certPool(c.DisableSystemCaPool, c.CaCerts)
		for _, p := range pairs {
			pem, err := os.ReadFile(p.PublicKey)
			if err != nil {
				krakendLog("ERROR", fmt.Sprintf("%s Cannot load public key %s: %s", loggerPrefix, p.PublicKey, err))
				continue
			}
			pool.AppendCertsFromPEM(pem)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}

	for _, p := range pairs {
		if p.PublicKey == "" {
			return nil, errPublicKey
		}
		if p.PrivateKey == "" {
			return nil, errPrivateKey
		}
		cert, err := tls.LoadX509KeyPair(p.PublicKey, p.PrivateKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg, nil
}

// buildClientTLS: the tls.Config lura's ParseClientTLSConfigWithLogger builds
// from client_tls: InsecureSkipVerify, RootCAs from the system pool (unless
// disabled) plus ca_certs, versions (unset: TLS13), curves and ciphers, and
// the client_certs key pairs (one that cannot be loaded is logged and left
// out).
func buildClientTLS(c *clientTLSConfig) *tls.Config {
	if c == nil {
		return nil
	}
	minV, _ := parseVersion("min_version", c.MinVersion)
	maxV, _ := parseVersion("max_version", c.MaxVersion)
	cfg := &tls.Config{
		InsecureSkipVerify: c.AllowInsecureConnections, //nolint:gosec // KrakenD's allow_insecure_connections
		RootCAs:            certPool(c.DisableSystemCaPool, c.CaCerts),
		MinVersion:         minV,
		MaxVersion:         maxV,
		CurvePreferences:   parseCurves(c.CurvePreferences),
		CipherSuites:       parseCiphers(c.CipherSuites),
	}
	for _, cc := range c.ClientCerts {
		cert, err := tls.LoadX509KeyPair(cc.Certificate, cc.PrivateKey)
		if err != nil {
			krakendLog("ERROR", fmt.Sprintf("%s Cannot load client certificate %s (private key %s): %s", loggerPrefix, cc.Certificate, cc.PrivateKey, err))
			continue
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	return cfg
}

// route is an endpoint with the client that calls its first backend.
type route struct {
	endpoint string
	method   string
	url      string
	bMethod  string
	client   *http.Client
}

func buildRoutes(kc *krakendConfig) []route {
	var routes []route
	for _, e := range kc.Endpoints {
		method := strings.ToUpper(e.Method)
		if method == "" {
			method = http.MethodGet
		}
		r := route{endpoint: e.Endpoint, method: method}
		if len(e.Backend) > 0 {
			b := e.Backend[0]
			ct := kc.ClientTLS
			if raw, ok := b.ExtraConfig["backend/http/client"]; ok {
				var hc backendHTTPClient
				if err := json.Unmarshal(raw, &hc); err == nil && hc.ClientTLS != nil {
					ct = hc.ClientTLS
				}
			}
			host := ""
			if len(b.Host) > 0 {
				host = b.Host[0]
			}
			r.url = host + b.URLPattern
			r.bMethod = strings.ToUpper(b.Method)
			if r.bMethod == "" {
				r.bMethod = method
			}
			// A transport of its own, like KrakenD's per-backend client: no
			// HTTP/2 attempt once TLSClientConfig is set.
			transport := &http.Transport{
				Proxy:               nil,
				TLSHandshakeTimeout: 10 * time.Second,
				TLSClientConfig:     buildClientTLS(ct),
			}
			r.client = &http.Client{Transport: transport, Timeout: 2 * time.Second}
		}
		routes = append(routes, r)
	}
	return routes
}

func returnErrorMsg(kc *krakendConfig) bool {
	for _, ns := range []string{"router", "github_com/luraproject/lura/router/gin"} {
		if raw, ok := kc.ExtraConfig[ns]; ok {
			var rc routerConfig
			if err := json.Unmarshal(raw, &rc); err == nil && rc.ReturnErrorMsg {
				return true
			}
		}
	}
	return false
}

// serveRoute calls the backend like lura's proxy and answers like lura's
// router/gin endpoint handler: the backend's JSON re-encoded, or 500 with
// X-Krakend-Completed: false, the error logged as "[ENDPOINT: /path] err"
// and written as the body only with return_error_msg.
func serveRoute(w http.ResponseWriter, r *http.Request, rt route, errMsg bool) {
	w.Header().Set("X-Krakend", "Version 2.12.0")
	if rt.client == nil {
		w.Header().Set("X-Krakend-Completed", "true")
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write([]byte("{}"))
		return
	}
	fail := func(err error) {
		krakendLog("ERROR", fmt.Sprintf("[ENDPOINT: %s] %s", rt.endpoint, err))
		w.Header().Set("X-Krakend-Completed", "false")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		if errMsg {
			_, _ = w.Write([]byte(err.Error()))
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), rt.bMethod, rt.url, nil)
	if err != nil {
		fail(err)
		return
	}
	req.Header.Set("User-Agent", "KrakenD Version 2.12.0")
	resp, err := rt.client.Do(req)
	if err != nil {
		fail(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		fail(fmt.Errorf("invalid status code %d", resp.StatusCode))
		return
	}
	var data map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		fail(fmt.Errorf("invalid character in the backend answer: %w", err))
		return
	}
	body, _ := json.Marshal(data)
	w.Header().Set("X-Krakend-Completed", "true")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// handler: the configured endpoints, GET /__health like KrakenD CE;
// everything else 404 like its gin router (which marks unmatched routes as
// incomplete).
func handler(routes []route, errMsg bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range routes {
			if rt.endpoint == r.URL.Path && rt.method == r.Method {
				serveRoute(w, r, rt, errMsg)
				return
			}
		}
		if r.URL.Path == "/__health" {
			if r.Method != http.MethodGet {
				w.Header().Set("Content-Type", "text/plain")
				w.WriteHeader(http.StatusMethodNotAllowed)
				_, _ = w.Write([]byte("405 method not allowed"))
				return
			}
			body, _ := json.Marshal(map[string]any{
				"agents": map[string]any{},
				"now":    time.Now().String(),
				"status": "ok",
			})
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(body)
			return
		}
		w.Header().Set("X-Krakend-Completed", "false")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte("404 page not found"))
	})
}

func main() {
	var configPath, listen string
	flag.StringVar(&configPath, "config", "", "KrakenD JSON configuration file (required)")
	flag.StringVar(&listen, "listen", "", "address to bind (default: \":\" + the config's port, 8080 if unset); port 0 picks a free port")
	flag.BoolVar(&strictVersions, "strict-versions", false, "reject unknown min_version/max_version names (KrakenD falls back to TLS13)")
	flag.Parse()
	if configPath == "" || flag.NArg() != 0 {
		fatal(errors.New("usage: tlsmatrix-http-oracle --config FILE [--listen ADDR] [--strict-versions]"))
	}

	raw, err := os.ReadFile(configPath)
	if err != nil {
		fatal(fmt.Errorf("reading the configuration file: %w", err))
	}
	var kc krakendConfig
	if err := json.Unmarshal(raw, &kc); err != nil {
		fatal(fmt.Errorf("parsing the configuration file %s: %w", configPath, err))
	}

	tlsCfg, err := buildTLS(kc.TLS)
	if err != nil {
		fatal(err)
	}

	if listen == "" {
		port := kc.Port
		if port == 0 {
			port = defaultPort
		}
		listen = ":" + strconv.Itoa(port)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		fatal(err)
	}

	srv := &http.Server{Handler: handler(buildRoutes(&kc), returnErrorMsg(&kc)), TLSConfig: tlsCfg}
	done := make(chan error, 1)
	go func() {
		if tlsCfg == nil {
			done <- srv.Serve(ln)
		} else {
			// Certificates are already in TLSConfig; ServeTLS adds "h2" to
			// NextProtos like KrakenD's ListenAndServeTLS.
			done <- srv.ServeTLS(ln, "", "")
		}
	}()

	fmt.Fprintf(os.Stdout, "TLSMATRIX-READY %s\n", ln.Addr().String())
	_ = os.Stdout.Sync()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sigs:
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
		os.Exit(0)
	case err := <-done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fatal(err)
		}
	}
}
