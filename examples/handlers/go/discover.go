package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gopkg.in/yaml.v3"

	pb "github.com/akri-py/akri-py/examples/handlers/go/v0"
)

// PropertyName is the broker environment variable that carries a device's name.
const PropertyName = "GO_DEVICE_NAME"

const maxShown = 80

type details struct {
	Names []string `yaml:"names"`
}

// parseDetails reads "names: [a, b]" (YAML or JSON); unknown keys, empty or repeated names are
// refused with the field and the value named.
func parseDetails(text string) ([]string, error) {
	decoder := yaml.NewDecoder(bytes.NewBufferString(text))
	decoder.KnownFields(true)
	var d details
	if err := decoder.Decode(&d); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("discoveryDetails: names is required (e.g. \"names: [alpha, beta]\")")
		}
		return nil, fmt.Errorf("discoveryDetails: %.200s", err.Error())
	}
	if d.Names == nil {
		return nil, errors.New("discoveryDetails: names is required (e.g. \"names: [alpha, beta]\")")
	}
	seen := make(map[string]bool, len(d.Names))
	for i, name := range d.Names {
		if name == "" {
			return nil, fmt.Errorf("discoveryDetails: names[%d]: must not be empty", i)
		}
		if seen[name] {
			return nil, fmt.Errorf("discoveryDetails: names[%d]: %.*q is listed twice", i, maxShown, name)
		}
		seen[name] = true
	}
	return d.Names, nil
}

// devices is one Device per name: the name is its id and its GO_DEVICE_NAME property.
func devices(names []string) []*pb.Device {
	out := make([]*pb.Device, 0, len(names))
	for _, name := range names {
		out = append(out, &pb.Device{Id: name, Properties: map[string]string{PropertyName: name}})
	}
	return out
}

// discoverer serves v0.DiscoveryHandler: it sends the device list once, then keeps the stream
// open (the list never changes for a given request). When the agent drops the stream, it asks
// the registrar to register again (the agent may have restarted).
type discoverer struct {
	pb.UnimplementedDiscoveryHandlerServer
	log     *slog.Logger
	dropped chan<- struct{}
}

func (d *discoverer) Discover(request *pb.DiscoverRequest, stream grpc.ServerStreamingServer[pb.DiscoverResponse]) error {
	names, err := parseDetails(request.GetDiscoveryDetails())
	if err != nil {
		d.log.Warn("discover_refused", "error", err.Error())
		return status.Error(codes.InvalidArgument, err.Error())
	}
	if err := stream.Send(&pb.DiscoverResponse{Devices: devices(names)}); err != nil {
		d.signalDropped()
		return err
	}
	d.log.Info("devices_sent", "devices", len(names))
	<-stream.Context().Done()
	d.log.Info("stream_ended", "reason", stream.Context().Err().Error())
	d.signalDropped()
	return nil
}

func (d *discoverer) signalDropped() {
	select {
	case d.dropped <- struct{}{}:
	default: // a registration is already due
	}
}
