// Command akri-testbed-stub-plugin runs Kubernetes' own device-plugin test double
// (pkg/kubelet/cm/devicemanager/plugin/v1beta1.Stub) against a testbed node: it serves
// <device-plugin-dir>/<socket-name>, registers <resource> with <device-plugin-dir>/kubelet.sock, and
// re-registers whenever kubelet.sock is re-created (a node restart). Allocate answers with an env
// variable listing the allocated device ids, one mount and one device node per id, so tests can
// check what reaches the pod's run options.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"k8s.io/klog/v2"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	plugin "k8s.io/kubernetes/pkg/kubelet/cm/devicemanager/plugin/v1beta1"
)

func main() {
	dir := flag.String("device-plugin-dir", "", "the node's device-plugin directory (required)")
	resource := flag.String("resource", "testbed.akri.sh/stub", "extended resource name to register")
	count := flag.Int("devices", 2, "number of healthy devices to advertise (ids dev-0, dev-1, ...)")
	socketName := flag.String("socket-name", "", "socket file name in the directory (default derived from the resource)")
	klog.InitFlags(nil)
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "--device-plugin-dir is required")
		os.Exit(2)
	}
	if *socketName == "" {
		*socketName = strings.NewReplacer("/", "_", ".", "_").Replace(*resource) + ".sock"
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *dir, *resource, *socketName, *count); err != nil {
		klog.Background().Error(err, "stub device plugin failed")
		os.Exit(1)
	}
}

func run(ctx context.Context, dir, resource, socketName string, count int) error {
	logger := klog.Background().WithValues("resource", resource)
	ctx = klog.NewContext(ctx, logger)
	devs := make([]*pluginapi.Device, 0, count)
	for i := 0; i < count; i++ {
		devs = append(devs, &pluginapi.Device{ID: fmt.Sprintf("dev-%d", i), Health: pluginapi.Healthy})
	}
	stub := plugin.NewDevicePluginStub(logger, devs, filepath.Join(dir, socketName), resource, false, false)
	stub.SetAllocFunc(allocate)
	if err := stub.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer func() { _ = stub.Stop(logger) }()
	kubeletSocket := filepath.Join(dir, "kubelet.sock")
	if err := stub.Register(ctx, kubeletSocket, resource, dir); err != nil {
		return fmt.Errorf("register with %s: %w", kubeletSocket, err)
	}
	go stub.Watch(ctx, kubeletSocket, resource, dir)
	<-ctx.Done()
	return nil
}

// allocate answers one container request per container with the ids as env, mounts and devices.
func allocate(r *pluginapi.AllocateRequest, _ map[string]*pluginapi.Device) (*pluginapi.AllocateResponse, error) {
	resp := &pluginapi.AllocateResponse{}
	for _, req := range r.ContainerRequests {
		ids := append([]string(nil), req.DevicesIds...)
		sort.Strings(ids)
		c := &pluginapi.ContainerAllocateResponse{
			Envs:        map[string]string{"STUB_DEVICES": strings.Join(ids, ",")},
			Annotations: map[string]string{"testbed.akri.sh/devices": strings.Join(ids, ",")},
		}
		for _, id := range ids {
			c.Mounts = append(c.Mounts, &pluginapi.Mount{
				ContainerPath: "/run/stub/" + id, HostPath: "/tmp/stub/" + id, ReadOnly: true})
			c.Devices = append(c.Devices, &pluginapi.DeviceSpec{
				ContainerPath: "/dev/stub-" + id, HostPath: "/dev/null", Permissions: "rw"})
		}
		resp.ContainerResponses = append(resp.ContainerResponses, c)
	}
	return resp, nil
}
