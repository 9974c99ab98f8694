package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	pb "github.com/akri-py/akri-py/examples/handlers/go/v0"
)

const (
	callTimeout  = 5 * time.Second
	firstBackoff = 200 * time.Millisecond
	maxBackoff   = 10 * time.Second
)

// registrar keeps the handler registered with the agent on this node.
type registrar struct {
	log     *slog.Logger
	socket  string // $DISCOVERY_HANDLERS_DIRECTORY/agent-registration.sock
	request *pb.RegisterDiscoveryHandlerRequest
	dropped <-chan struct{}
}

// run registers, retrying with capped exponential back-off while the agent is absent, and
// registers again whenever the agent's socket is created again (a new agent) or the agent drops
// a Discover stream. It returns nil when ctx ends, or an error if the directory cannot be watched.
func (r *registrar) run(ctx context.Context) error {
	watcher, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %s: %w", filepath.Dir(r.socket), err)
	}
	defer watcher.Close()
	if err := watcher.Add(filepath.Dir(r.socket)); err != nil {
		return fmt.Errorf("watching %s: %w", filepath.Dir(r.socket), err)
	}
	recreated := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case event, ok := <-watcher.Events:
				if !ok {
					return
				}
				if event.Name == r.socket && event.Has(fsnotify.Create) {
					select {
					case recreated <- struct{}{}:
					default:
					}
				}
			case _, ok := <-watcher.Errors:
				if !ok {
					return
				}
			}
		}
	}()

	backoff := firstBackoff
	for {
		if err := r.register(ctx); err != nil {
			r.log.Info("registration_retry", "handler", r.request.Name, "error", err.Error(),
				"retry_in_seconds", backoff.Seconds())
			if !wait(ctx, backoff, recreated, r.dropped) {
				return nil
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = firstBackoff
		r.log.Info("registered", "handler", r.request.Name, "endpoint", r.request.Endpoint,
			"shared", r.request.Shared)
		select {
		case <-ctx.Done():
			return nil
		case <-recreated:
			r.log.Info("agent_socket_recreated", "handler", r.request.Name)
		case <-r.dropped:
			r.log.Info("stream_dropped", "handler", r.request.Name)
		}
	}
}

// wait sleeps for d unless ctx ends (false) or a reason to register at once arrives (true).
func wait(ctx context.Context, d time.Duration, now ...<-chan struct{}) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	case <-now[0]:
	case <-now[1]:
	}
	return true
}

func (r *registrar) register(ctx context.Context) error {
	conn, err := grpc.NewClient("unix://"+r.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	call, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err = pb.NewRegistrationClient(conn).RegisterDiscoveryHandler(call, r.request, grpc.WaitForReady(false))
	return err
}
