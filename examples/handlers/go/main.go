// Command names-discovery-handler is a small Akri discovery handler written in Go: it shows that
// a handler can be written in any gRPC language. It speaks the v0 protocol
// (proto/akri_proto/discovery/v0/discovery.proto, Go code generated into ./v0):
//
//   - it serves v0.DiscoveryHandler/Discover on $DISCOVERY_HANDLERS_DIRECTORY/<name>.sock
//     (or on $POD_IP:$DISCOVERY_HANDLER_PORT when POD_IP is set);
//   - it registers through $DISCOVERY_HANDLERS_DIRECTORY/agent-registration.sock, retrying while
//     the agent is absent, and registers again when the agent restarts (the registration socket
//     is created again) or drops a Discover stream;
//   - its devices are the names listed in the Configuration's discoveryDetails:
//     "names: [alpha, beta]", one device per name, with the property GO_DEVICE_NAME.
//
// Environment: DISCOVERY_HANDLERS_DIRECTORY (required), DISCOVERY_HANDLER_NAME (default
// "go-names"), DISCOVERY_HANDLER_SHARED (true/false, default false), POD_IP,
// DISCOVERY_HANDLER_PORT (default 10000). Logs are JSON lines on stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"

	pb "github.com/akri-py/akri-py/examples/handlers/go/v0"
)

const (
	registrationSocket = "agent-registration.sock"
	defaultName        = "go-names"
	defaultPort        = 10000
	stopGrace          = 5 * time.Second
)

type settings struct {
	directory string
	name      string
	shared    bool
	podIP     string
	port      int
}

func readSettings() (settings, error) {
	s := settings{name: defaultName, port: defaultPort}
	s.directory = os.Getenv("DISCOVERY_HANDLERS_DIRECTORY")
	if s.directory == "" {
		return s, errors.New("environment variable DISCOVERY_HANDLERS_DIRECTORY: is required")
	}
	absolute, err := filepath.Abs(s.directory)
	if err != nil {
		return s, fmt.Errorf("environment variable DISCOVERY_HANDLERS_DIRECTORY: %w", err)
	}
	s.directory = absolute
	if v := os.Getenv("DISCOVERY_HANDLER_NAME"); v != "" {
		s.name = v
	}
	if v := os.Getenv("DISCOVERY_HANDLER_SHARED"); v != "" {
		shared, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("environment variable DISCOVERY_HANDLER_SHARED: expected true or false (it is %.40q)", v)
		}
		s.shared = shared
	}
	s.podIP = os.Getenv("POD_IP")
	if v := os.Getenv("DISCOVERY_HANDLER_PORT"); v != "" {
		port, err := strconv.Atoi(v)
		if err != nil || port < 0 || port > 65535 {
			return s, fmt.Errorf("environment variable DISCOVERY_HANDLER_PORT: expected 0 to 65535 (it is %.40q)", v)
		}
		s.port = port
	}
	return s, nil
}

// listen opens the handler's endpoint: its Unix socket (a stale file is removed first) or TCP.
func listen(s settings) (net.Listener, *pb.RegisterDiscoveryHandlerRequest, error) {
	request := &pb.RegisterDiscoveryHandlerRequest{Name: s.name, Shared: s.shared}
	if s.podIP != "" {
		lis, err := net.Listen("tcp", net.JoinHostPort(s.podIP, strconv.Itoa(s.port)))
		if err != nil {
			return nil, nil, err
		}
		port := lis.Addr().(*net.TCPAddr).Port
		request.Endpoint = "http://" + net.JoinHostPort(s.podIP, strconv.Itoa(port))
		request.EndpointType = pb.RegisterDiscoveryHandlerRequest_NETWORK
		return lis, request, nil
	}
	path := filepath.Join(s.directory, s.name+".sock")
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	lis, err := net.Listen("unix", path)
	if err != nil {
		return nil, nil, err
	}
	request.Endpoint = path
	request.EndpointType = pb.RegisterDiscoveryHandlerRequest_UDS
	return lis, request, nil
}

func run(log *slog.Logger) int {
	s, err := readSettings()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s discovery handler: %v\n", defaultName, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	lis, request, err := listen(s)
	if err != nil {
		log.Error("listen_failed", "handler", s.name, "error", err.Error())
		return 1
	}
	dropped := make(chan struct{}, 1)
	server := grpc.NewServer()
	pb.RegisterDiscoveryHandlerServer(server, &discoverer{log: log, dropped: dropped})
	served := make(chan error, 1)
	go func() { served <- server.Serve(lis) }()
	log.Info("serving", "handler", s.name, "endpoint", request.Endpoint)

	registrar := &registrar{
		log:     log,
		socket:  filepath.Join(s.directory, registrationSocket),
		request: request,
		dropped: dropped,
	}
	registered := make(chan error, 1)
	go func() { registered <- registrar.run(ctx) }()

	status := 0
	select {
	case <-ctx.Done():
		log.Info("stopping", "handler", s.name, "reason", "signal")
	case err := <-served:
		log.Error("serve_failed", "handler", s.name, "error", fmt.Sprint(err))
		status = 1
	case err := <-registered:
		log.Error("registration_failed", "handler", s.name, "error", fmt.Sprint(err))
		status = 1
	}
	stop()
	stopped := make(chan struct{})
	go func() { server.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(stopGrace):
		server.Stop() // streams that outlive the grace period are cut
	}
	// Closing the listener removed the socket file; make sure of it for a Unix endpoint.
	if request.EndpointType == pb.RegisterDiscoveryHandlerRequest_UDS {
		_ = os.Remove(request.Endpoint)
	}
	return status
}

const usage = `usage: names-discovery-handler [-h]

An Akri discovery handler in Go: one device per name in discoveryDetails ("names: [a, b]").

environment variables:
  DISCOVERY_HANDLERS_DIRECTORY  required: where the agent's registration socket is
  DISCOVERY_HANDLER_NAME        the handler name it registers (default go-names)
  DISCOVERY_HANDLER_SHARED      true or false (default false)
  POD_IP                        serve on POD_IP:DISCOVERY_HANDLER_PORT instead of a socket
  DISCOVERY_HANDLER_PORT        default 10000
`

func main() {
	for _, arg := range os.Args[1:] {
		if arg == "-h" || arg == "--help" {
			fmt.Print(usage)
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "names-discovery-handler: unexpected argument %.40q (see --help)\n", arg)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	os.Exit(run(log))
}
