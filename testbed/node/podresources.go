// The kubelet's pod-resources API (v1, and v1alpha1 as the kubelet also serves it), on a Unix
// socket, backed by this node's pods and device manager. CPUs, memory and dynamic resources are not
// managed here and are reported empty.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	podresourcesv1 "k8s.io/kubelet/pkg/apis/podresources/v1"
	podresourcesv1alpha1 "k8s.io/kubelet/pkg/apis/podresources/v1alpha1"
	"k8s.io/kubernetes/pkg/kubelet/apis/podresources"

	"google.golang.org/grpc"
)

// podResourcesServer is a running pod-resources gRPC server.
type podResourcesServer struct {
	grpc   *grpc.Server
	socket string
}

// servePodResources listens on socket (replacing a stale one) and serves in the background.
func servePodResources(ctx context.Context, socket string, pods *podSource, devices *deviceHost) (
	*podResourcesServer, error) {
	providers := podresources.PodResourcesProviders{
		Pods:             pods,
		Devices:          devices,
		Cpus:             noCPUs{},
		Memory:           noMemory{},
		DynamicResources: noDynamicResources{},
	}
	if err := os.MkdirAll(filepath.Dir(socket), 0o750); err != nil {
		return nil, err
	}
	if err := os.Remove(socket); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("removing stale %s: %w", socket, err)
	}
	listener, err := net.Listen("unix", socket)
	if err != nil {
		return nil, fmt.Errorf("pod-resources socket: %w", err)
	}
	server := grpc.NewServer()
	podresourcesv1alpha1.RegisterPodResourcesListerServer(server, podresources.NewV1alpha1PodResourcesServer(providers))
	podresourcesv1.RegisterPodResourcesListerServer(server, podresources.NewV1PodResourcesServer(ctx, providers))
	go func() {
		if err := server.Serve(listener); err != nil {
			klog.FromContext(ctx).Error(err, "pod-resources server stopped")
		}
	}()
	return &podResourcesServer{grpc: server, socket: socket}, nil
}

// stop ends the server and unlinks its socket.
func (s *podResourcesServer) stop() {
	s.grpc.Stop()
	_ = os.Remove(s.socket)
}

type noCPUs struct{}

func (noCPUs) GetCPUs(*v1.Pod, *v1.Container) []int64 { return nil }
func (noCPUs) GetPodCPUs(string) []int64              { return nil }
func (noCPUs) GetAllocatableCPUs() []int64            { return nil }

type noMemory struct{}

func (noMemory) GetMemory(klog.Logger, *v1.Pod, *v1.Container) []*podresourcesv1.ContainerMemory {
	return nil
}
func (noMemory) GetPodMemory(klog.Logger, string) []*podresourcesv1.ContainerMemory { return nil }
func (noMemory) GetAllocatableMemory(klog.Logger) []*podresourcesv1.ContainerMemory {
	return nil
}

type noDynamicResources struct{}

func (noDynamicResources) GetDynamicResources(klog.Logger, *v1.Pod, *v1.Container) []*podresourcesv1.DynamicResource {
	return nil
}
