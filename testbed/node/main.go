// Command akri-testbed-node plays the kubelet's part for one node of the Akri testbed, using the
// kubelet's own code wherever the kubelet has code for it:
//
//   - the device manager (pkg/kubelet/cm/devicemanager) serves the device-plugin Registration API on
//     <device-plugin-dir>/kubelet.sock and runs ListAndWatch against registered plugins;
//   - the node status setters (pkg/kubelet/nodestatus) publish capacity and allocatable, and the
//     lease controller (k8s.io/component-helpers/apimachinery/lease) keeps the node's Lease fresh;
//   - pods bound to the node are admitted through the topology manager, which calls the device
//     manager's Allocate exactly as the kubelet does; then they are marked Running and Ready, and
//     each container's run options (env, mounts, devices) are written to <run-options-dir>;
//   - the pod-resources v1 API (pkg/kubelet/apis/podresources) is served on <pod-resources-socket>.
//
// No container is ever started: this is a node for control-plane and device-plugin tests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// config holds the command-line settings of one node process.
type config struct {
	kubeconfig         string
	nodeName           string
	rootDir            string
	devicePluginDir    string
	podResourcesSocket string
	runOptionsDir      string
	nodeIP             string
	cpu                string
	memory             string
	maxPods            int
}

func parseFlags() config {
	var c config
	klog.InitFlags(nil)
	flag.StringVar(&c.kubeconfig, "kubeconfig", "", "kubeconfig of the API server (required)")
	flag.StringVar(&c.nodeName, "node-name", "", "name of the Node object (required)")
	flag.StringVar(&c.rootDir, "root-dir", "", "this node's kubelet directory (required)")
	flag.StringVar(&c.devicePluginDir, "device-plugin-dir", "",
		"where kubelet.sock and the device plugins' sockets live (default <root-dir>/device-plugins)")
	flag.StringVar(&c.podResourcesSocket, "pod-resources-socket", "",
		"pod-resources API socket (default <root-dir>/pod-resources/kubelet.sock)")
	flag.StringVar(&c.runOptionsDir, "run-options-dir", "",
		"one JSON file per admitted pod with its containers' run options (default <root-dir>/pods)")
	flag.StringVar(&c.nodeIP, "node-ip", "127.0.0.1", "InternalIP of the node and IP of its pods")
	flag.StringVar(&c.cpu, "cpu", "4", "cpu capacity reported for the node")
	flag.StringVar(&c.memory, "memory", "8Gi", "memory capacity reported for the node")
	flag.IntVar(&c.maxPods, "max-pods", 110, "pods capacity reported for the node")
	flag.Parse()
	if c.kubeconfig == "" || c.nodeName == "" || c.rootDir == "" {
		fmt.Fprintln(os.Stderr, "--kubeconfig, --node-name and --root-dir are required")
		os.Exit(2)
	}
	if c.devicePluginDir == "" {
		c.devicePluginDir = filepath.Join(c.rootDir, "device-plugins")
	}
	if c.podResourcesSocket == "" {
		c.podResourcesSocket = filepath.Join(c.rootDir, "pod-resources", "kubelet.sock")
	}
	if c.runOptionsDir == "" {
		c.runOptionsDir = filepath.Join(c.rootDir, "pods")
	}
	return c
}

func main() {
	cfg := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	ctx = klog.NewContext(ctx, klog.Background().WithValues("node", cfg.nodeName))
	if err := run(ctx, cfg); err != nil {
		klog.FromContext(ctx).Error(err, "node process failed")
		klog.Flush()
		os.Exit(1)
	}
	klog.Flush()
}

// run wires the parts together and blocks until ctx is cancelled.
func run(ctx context.Context, cfg config) error {
	logger := klog.FromContext(ctx)
	cpu, err := resource.ParseQuantity(cfg.cpu)
	if err != nil {
		return fmt.Errorf("--cpu=%q: %w", cfg.cpu, err)
	}
	memory, err := resource.ParseQuantity(cfg.memory)
	if err != nil {
		return fmt.Errorf("--memory=%q: %w", cfg.memory, err)
	}
	restConfig, err := clientcmd.BuildConfigFromFlags("", cfg.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig=%q: %w", cfg.kubeconfig, err)
	}
	restConfig.UserAgent = "akri-testbed-node/" + cfg.nodeName
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	pods := newPodSource(client, cfg.nodeName)
	lifecycle := newPodLifecycle(client, cfg.nodeName, cfg.nodeIP, pods, runOptionsWriter{dir: cfg.runOptionsDir})
	// The pods come first: the device manager needs to know which containers already run.
	if err := pods.start(ctx, lifecycle.enqueue); err != nil {
		return err
	}
	getNode := func(ctx context.Context, _ bool) (*v1.Node, error) {
		return client.CoreV1().Nodes().Get(ctx, cfg.nodeName, metav1.GetOptions{})
	}
	devices, err := startDevices(ctx, cfg.devicePluginDir, pods.activePods, getNode, pods.runningContainers(),
		lifecycle.initialSynced.Load)
	if err != nil {
		return err
	}
	defer func() {
		if err := devices.stop(logger); err != nil {
			logger.Error(err, "stopping the device manager")
		}
	}()
	lifecycle.devices = devices

	status := &nodeStatus{
		client:  client,
		name:    cfg.nodeName,
		nodeIP:  cfg.nodeIP,
		cpu:     cpu,
		memory:  memory,
		maxPods: cfg.maxPods,
		devices: devices,
	}
	if err := status.register(ctx); err != nil {
		return err
	}
	go status.run(ctx)
	go runLease(ctx, client, cfg.nodeName)

	prServer, err := servePodResources(ctx, cfg.podResourcesSocket, pods, devices)
	if err != nil {
		return err
	}
	defer prServer.stop()

	logger.Info("node ready", "devicePluginSocket", devices.socketPath,
		"podResourcesSocket", cfg.podResourcesSocket, "runOptionsDir", cfg.runOptionsDir)
	lifecycle.run(ctx)
	logger.Info("node stopping")
	return nil
}
