// Command zeebe-go-probe is a tlsmatrix client probe: it connects to a Zeebe
// gateway with the official Zeebe Go client, sends one Topology request and
// prints exactly one JSON line on stdout describing the outcome.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc/status"
)

type success struct {
	OK             bool   `json:"ok"`
	Brokers        int    `json:"brokers"`
	ClusterSize    int32  `json:"cluster_size"`
	GatewayVersion string `json:"gateway_version"`
}

type failure struct {
	OK    bool   `json:"ok"`
	Stage string `json:"stage"`
	Error string `json:"error"`
	// Chain holds err.Error(), errors.Unwrap(err).Error(), ... (outermost first).
	Chain []string `json:"chain"`
	// GRPCCode is the gRPC status code name, when the error carries one.
	GRPCCode string `json:"grpc_code,omitempty"`
}

func emit(v any) {
	line, _ := json.Marshal(v)
	os.Stdout.Write(append(line, '\n'))
}

func fail(stage string, err error) {
	f := failure{Stage: stage, Error: err.Error()}
	for e := err; e != nil; e = errors.Unwrap(e) {
		f.Chain = append(f.Chain, e.Error())
	}
	if s, ok := status.FromError(err); ok && stage == "topology" {
		f.GRPCCode = s.Code().String()
	}
	emit(f)
	os.Exit(1)
}

func main() {
	fs := flag.NewFlagSet("zeebe-go-probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	address := fs.String("address", "", "gateway HOST:PORT (required)")
	plaintext := fs.Bool("plaintext", false, "use a plaintext (non-TLS) connection")
	ca := fs.String("ca", "", "path to a PEM CA certificate to trust")
	timeout := fs.Duration("timeout", 5*time.Second, "deadline for the topology request")
	if err := fs.Parse(os.Args[1:]); err != nil {
		fail("usage", err)
	}
	if *address == "" {
		fail("usage", errors.New("--address is required"))
	}
	if fs.NArg() > 0 {
		fail("usage", errors.New("unexpected argument: "+fs.Arg(0)))
	}

	// NewClient applies the ZEEBE_* environment overrides itself.
	client, err := zbc.NewClient(&zbc.ClientConfig{
		GatewayAddress:         *address,
		UsePlaintextConnection: *plaintext,
		CaCertificatePath:      *ca,
	})
	if err != nil {
		fail("new-client", err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	topology, err := client.NewTopologyCommand().Send(ctx)
	if err != nil {
		client.Close()
		fail("topology", err)
	}
	emit(success{
		OK:             true,
		Brokers:        len(topology.GetBrokers()),
		ClusterSize:    topology.GetClusterSize(),
		GatewayVersion: topology.GetGatewayVersion(),
	})
}
