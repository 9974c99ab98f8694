// The kubelet's device manager and topology manager, hosted outside the kubelet.
//
// The kubelet builds its device manager with devicemanager.NewManagerImpl, which always serves on
// the compile-time path /var/lib/kubelet/device-plugins/kubelet.sock. To give every testbed node
// its own directory, this file reaches the constructor that NewManagerImpl delegates to and that
// the kubelet's own unit tests use with a temporary path (devicemanager.newManagerImpl); the device
// manager itself runs unchanged.
package main

import (
	"context"
	"fmt"
	"path/filepath"
	_ "unsafe" // for go:linkname

	cadvisorapi "github.com/google/cadvisor/lib/model"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2"
	podresourcesapi "k8s.io/kubelet/pkg/apis/podresources/v1"
	"k8s.io/kubernetes/pkg/kubelet/cm/containermap"
	"k8s.io/kubernetes/pkg/kubelet/cm/devicemanager"
	"k8s.io/kubernetes/pkg/kubelet/cm/topologymanager"
	kubeletconfig "k8s.io/kubernetes/pkg/kubelet/config"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
)

// newManagerImpl is devicemanager.newManagerImpl: NewManagerImpl with the socket path as a parameter.
//
//go:linkname newManagerImpl k8s.io/kubernetes/pkg/kubelet/cm/devicemanager.newManagerImpl
func newManagerImpl(logger klog.Logger, socketPath string, topology []cadvisorapi.Node,
	topologyAffinityStore topologymanager.Store) (*devicemanager.ManagerImpl, error)

// runningContainers is what the kubelet learns from the container runtime at start: which
// container ids belong to which pod and container, and which of them run.
type runningContainers struct {
	containers containermap.ContainerMap
	ids        sets.Set[string]
}

// deviceHost owns the device manager and the admission handlers that use it.
type deviceHost struct {
	manager    *devicemanager.ManagerImpl
	topology   topologymanager.Manager
	admitters  []lifecycle.PodAdmitHandler
	socketPath string
}

// nodeGetter returns the current Node object (the kubelet's GetCachedNode).
type nodeGetter = func(ctx context.Context, useCache bool) (*v1.Node, error)

// startDevices creates the managers as the kubelet's container manager does (topology policy
// "none", the kubelet's default) and starts the Registration server on <dir>/kubelet.sock. Like
// the kubelet, the start removes every stale socket in dir, so plugins must re-register.
//
// Admission uses the kubelet's two resource handlers, in the kubelet's order: the topology
// manager (which calls Allocate) and the predicate handler (node fit, with the device manager's
// UpdatePluginResources).
//
// running lists the containers that this node reported running before it (re)started, so that,
// as after a kubelet restart, their devices are kept from the checkpoint instead of allocated
// anew; sourcesReady tells when the pods seen at start have all been re-admitted.
func startDevices(ctx context.Context, dir string, activePods devicemanager.ActivePodsFunc, getNode nodeGetter,
	running runningContainers, sourcesReady func() bool) (*deviceHost, error) {
	logger := klog.FromContext(ctx)
	topology, err := topologymanager.NewManager(logger, nil, topologymanager.PolicyNone,
		topologymanager.ContainerTopologyScope, nil)
	if err != nil {
		return nil, fmt.Errorf("topology manager: %w", err)
	}
	socketPath := filepath.Join(dir, "kubelet.sock")
	manager, err := newManagerImpl(logger, socketPath, nil, topology)
	if err != nil {
		return nil, fmt.Errorf("device manager: %w", err)
	}
	topology.AddHintProvider(logger, manager)
	ready := kubeletconfig.NewSourcesReady(func(sets.Set[string]) bool { return sourcesReady() })
	if err := manager.Start(logger, activePods, ready, running.containers, running.ids); err != nil {
		return nil, fmt.Errorf("device manager start on %s: %w", socketPath, err)
	}
	admitters := []lifecycle.PodAdmitHandler{
		topology,
		lifecycle.NewPredicateAdmitHandler(getNode, lifecycle.NewAdmissionFailureHandlerStub(),
			manager.UpdatePluginResources),
	}
	return &deviceHost{manager: manager, topology: topology, admitters: admitters, socketPath: socketPath}, nil
}

// admit runs the kubelet's resource admission for a pod that is being added; the first handler
// that rejects decides. The topology manager calls the device manager's Allocate for every init
// and app container in order.
func (d *deviceHost) admit(ctx context.Context, pod *v1.Pod, otherPods []*v1.Pod) lifecycle.PodAdmitResult {
	attrs := &lifecycle.PodAdmitAttributes{Pod: pod, OtherPods: otherPods, Operation: lifecycle.AddOperation}
	for _, handler := range d.admitters {
		if result := handler.Admit(ctx, attrs); !result.Admit {
			return result
		}
	}
	return lifecycle.PodAdmitResult{Admit: true}
}

// runOptions is what the device manager would hand the container runtime for one container.
func (d *deviceHost) runOptions(ctx context.Context, pod *v1.Pod, container *v1.Container) (
	*devicemanager.DeviceRunContainerOptions, error) {
	return d.manager.GetDeviceRunContainerOptions(ctx, pod, container)
}

// capacity is the kubelet's GetDevicePluginResourceCapacity.
func (d *deviceHost) capacity(logger klog.Logger) (v1.ResourceList, v1.ResourceList, []string) {
	return d.manager.GetCapacity(logger)
}

func (d *deviceHost) stop(logger klog.Logger) error {
	return d.manager.Stop(logger)
}

// The podresources.DevicesProvider methods, as the kubelet's container manager implements them.

func (d *deviceHost) UpdateAllocatedDevices(logger klog.Logger) {
	d.manager.UpdateAllocatedDevices(logger)
}

func (d *deviceHost) GetDevices(podUID, containerName string) []*podresourcesapi.ContainerDevices {
	return containerDevices(d.manager.GetDevices(podUID, containerName))
}

func (d *deviceHost) GetAllocatableDevices(logger klog.Logger) []*podresourcesapi.ContainerDevices {
	return containerDevices(d.manager.GetAllocatableDevices(logger))
}

// containerDevices mirrors the kubelet's unexported containerDevicesFromResourceDeviceInstances
// (pkg/kubelet/cm/container_manager.go): one entry per device, or per device and NUMA node.
func containerDevices(devs devicemanager.ResourceDeviceInstances) []*podresourcesapi.ContainerDevices {
	var out []*podresourcesapi.ContainerDevices
	for resourceName, resourceDevs := range devs {
		for devID, dev := range resourceDevs {
			topo := dev.GetTopology()
			if topo == nil {
				out = append(out, &podresourcesapi.ContainerDevices{
					ResourceName: resourceName,
					DeviceIds:    []string{devID},
				})
				continue
			}
			for _, node := range topo.GetNodes() {
				out = append(out, &podresourcesapi.ContainerDevices{
					ResourceName: resourceName,
					DeviceIds:    []string{devID},
					Topology: &podresourcesapi.TopologyInfo{
						Nodes: []*podresourcesapi.NUMANode{{ID: node.GetID()}},
					},
				})
			}
		}
	}
	return out
}
