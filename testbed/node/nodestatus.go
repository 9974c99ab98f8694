// The Node object: registration, status (through the kubelet's own setters) and the Lease.
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"

	cadvisorapi "github.com/google/cadvisor/lib/model"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-helpers/apimachinery/lease"
	nodeutil "k8s.io/component-helpers/node/util"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/kubelet/cm"
	"k8s.io/kubernetes/pkg/kubelet/nodestatus"
	kubeletutil "k8s.io/kubernetes/pkg/kubelet/util"
	"k8s.io/utils/clock"
)

const (
	// statusSyncPeriod is how often the status is recomputed; it is only sent when it changed
	// (so new device-plugin capacity shows within a second) or statusReportPeriod passed.
	statusSyncPeriod   = time.Second
	statusReportPeriod = time.Minute
	leaseDuration      = 40 // seconds, the kubelet's default
	leaseRenewInterval = 10 * time.Second
	kubeletVersion     = "v1.37.2"
)

// nodeStatus keeps one Node object registered and its status current.
type nodeStatus struct {
	client  kubernetes.Interface
	name    string
	nodeIP  string
	cpu     resource.Quantity
	memory  resource.Quantity
	maxPods int
	devices *deviceHost
	setters []nodestatus.Setter
	bootID  string
}

// register creates the Node if it does not exist yet (a restarted node keeps its object, as a
// restarted kubelet does).
func (s *nodeStatus) register(ctx context.Context) error {
	s.bootID = fmt.Sprintf("%s-%d", s.name, time.Now().UnixNano())
	s.setters = s.buildSetters()
	node := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: s.name,
			Labels: map[string]string{
				v1.LabelHostname:   s.name,
				v1.LabelOSStable:   runtime.GOOS,
				v1.LabelArchStable: runtime.GOARCH,
			},
		},
	}
	_, err := s.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("registering node %s: %w", s.name, err)
	}
	return s.sync(ctx, true)
}

// run recomputes the status every statusSyncPeriod until ctx ends.
func (s *nodeStatus) run(ctx context.Context) {
	lastReport := time.Now()
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		force := time.Since(lastReport) >= statusReportPeriod
		if err := s.sync(ctx, force); err != nil {
			klog.FromContext(ctx).Error(err, "node status update failed")
			return
		}
		if force {
			lastReport = time.Now()
		}
	}, statusSyncPeriod)
}

// sync applies the setters to the current Node and patches its status if anything but the
// heartbeat times changed, or always when force is set.
func (s *nodeStatus) sync(ctx context.Context, force bool) error {
	old, err := s.client.CoreV1().Nodes().Get(ctx, s.name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	node := old.DeepCopy()
	for _, set := range s.setters {
		if err := set(ctx, node); err != nil {
			return err
		}
	}
	if !force && apiequality.Semantic.DeepEqual(withoutHeartbeats(old.Status), withoutHeartbeats(node.Status)) {
		return nil
	}
	_, _, err = nodeutil.PatchNodeStatus(s.client.CoreV1(), types.NodeName(s.name), old, node)
	return err
}

// buildSetters returns the kubelet's own setters for what this node reports: machine info with the
// device plugins' capacity and allocatable, and the Ready condition; plus addresses and versions.
func (s *nodeStatus) buildSetters() []nodestatus.Setter {
	noErr := func() error { return nil }
	logEvent := func(eventType, event, message string) {
		klog.Background().Info("node event", "type", eventType, "event", event, "message", message)
	}
	machineInfo := func() (*cadvisorapi.MachineInfo, error) {
		return &cadvisorapi.MachineInfo{
			NumCores:       int(s.cpu.Value()),
			MemoryCapacity: uint64(s.memory.Value()),
			MachineID:      s.name,
			SystemUUID:     s.name,
			BootID:         s.bootID,
		}, nil
	}
	ephemeral := func(klog.Logger, bool) v1.ResourceList {
		return v1.ResourceList{v1.ResourceEphemeralStorage: resource.MustParse("100Gi")}
	}
	return []nodestatus.Setter{
		s.addresses,
		nodestatus.MachineInfo(s.name, s.maxPods, 0, machineInfo, ephemeral, s.devices.capacity,
			func() v1.ResourceList { return nil }, logEvent, func() *bool { return nil }, true),
		s.versions,
		nodestatus.ReadyCondition(time.Now, noErr, noErr, noErr, func() cm.Status { return cm.Status{} },
			noErr, func(logger klog.Logger, eventType, event string) { logEvent(eventType, event, "") }, true),
	}
}

func (s *nodeStatus) addresses(_ context.Context, node *v1.Node) error {
	node.Status.Addresses = []v1.NodeAddress{
		{Type: v1.NodeInternalIP, Address: s.nodeIP},
		{Type: v1.NodeHostName, Address: s.name},
	}
	return nil
}

func (s *nodeStatus) versions(_ context.Context, node *v1.Node) error {
	hostname, _ := os.Hostname()
	node.Status.NodeInfo.KubeletVersion = kubeletVersion
	node.Status.NodeInfo.OperatingSystem = runtime.GOOS
	node.Status.NodeInfo.Architecture = runtime.GOARCH
	node.Status.NodeInfo.ContainerRuntimeVersion = "akri-testbed://none"
	node.Status.NodeInfo.KernelVersion = "testbed"
	node.Status.NodeInfo.OSImage = "akri-testbed on " + hostname
	return nil
}

// withoutHeartbeats is status with the condition heartbeat times cleared, for change detection.
func withoutHeartbeats(status v1.NodeStatus) v1.NodeStatus {
	out := *status.DeepCopy()
	for i := range out.Conditions {
		out.Conditions[i].LastHeartbeatTime = metav1.Time{}
	}
	return out
}

// runLease renews kube-node-lease/<node> with the kubelet's lease controller until ctx ends.
func runLease(ctx context.Context, client kubernetes.Interface, nodeName string) {
	controller := lease.NewController(clock.RealClock{}, client, nodeName, leaseDuration, nil,
		leaseRenewInterval, nodeName, v1.NamespaceNodeLease,
		kubeletutil.SetNodeOwnerFunc(ctx, client, nodeName))
	controller.Run(ctx)
}
