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
	"syscall"
	"time"
)

// krakendConfig holds the part of a KrakenD configuration file the oracle
// reads. Unknown keys are ignored.
type krakendConfig struct {
	Port int        `json:"port"`
	TLS  *tlsConfig `json:"tls"`
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

// handler: GET /__health like KrakenD CE; everything else 404 like its gin
// router (which marks unmatched routes as incomplete).
func handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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

	srv := &http.Server{Handler: handler(), TLSConfig: tlsCfg}
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
