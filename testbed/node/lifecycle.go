// The pod lifecycle of a node that runs no containers: admit each new pod through the device
// manager (as the kubelet's HandlePodAdditions does), record its run options, report it Running and
// Ready, and confirm deletions so that graceful deletion and garbage collection complete.
package main

import (
	"context"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	v1qos "k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
)

// podLifecycle handles the pods of one node, one at a time, like the kubelet's admission.
type podLifecycle struct {
	client  kubernetes.Interface
	node    string
	nodeIP  string
	pods    *podSource
	devices *deviceHost // set once the device manager runs, before run()
	runOpts runOptionsWriter

	queue    workqueue.TypedRateLimitingInterface[string]
	admitted map[types.UID]bool // only touched by the worker
	// initialSynced is set once the pods found at start have been (re-)admitted: the kubelet's
	// "all sources ready", until which the device manager trusts containers reported running.
	initialSynced atomic.Bool
}

func newPodLifecycle(client kubernetes.Interface, node, nodeIP string, pods *podSource,
	runOpts runOptionsWriter) *podLifecycle {
	return &podLifecycle{
		client:   client,
		node:     node,
		nodeIP:   nodeIP,
		pods:     pods,
		runOpts:  runOpts,
		queue:    workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		admitted: map[types.UID]bool{},
	}
}

func (l *podLifecycle) enqueue(key string) {
	l.queue.Add(key)
}

// run processes queued pods until ctx ends.
func (l *podLifecycle) run(ctx context.Context) {
	go func() {
		<-ctx.Done()
		l.queue.ShutDown()
	}()
	logger := klog.FromContext(ctx)
	l.syncExisting(ctx)
	for {
		key, quit := l.queue.Get()
		if quit {
			return
		}
		if err := l.sync(ctx, key); err != nil {
			logger.Error(err, "pod sync failed, will retry", "pod", key)
			l.queue.AddRateLimited(key)
		} else {
			l.queue.Forget(key)
		}
		l.queue.Done(key)
	}
}

// syncExisting admits the pods already bound here, oldest first, as a restarted kubelet does.
func (l *podLifecycle) syncExisting(ctx context.Context) {
	pods := l.pods.GetPods()
	sort.Slice(pods, func(i, j int) bool {
		return pods[i].CreationTimestamp.Before(&pods[j].CreationTimestamp)
	})
	for _, pod := range pods {
		key, err := cache.MetaNamespaceKeyFunc(pod)
		if err != nil {
			continue
		}
		if err := l.sync(ctx, key); err != nil {
			klog.FromContext(ctx).Error(err, "pod sync failed, will retry", "pod", key)
			l.queue.AddRateLimited(key)
		}
	}
	l.initialSynced.Store(true)
}

// sync brings one pod one step towards where the kubelet would take it.
func (l *podLifecycle) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	pod, err := l.pods.lister.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case pod.DeletionTimestamp != nil:
		return l.confirmDeletion(ctx, pod)
	case pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed:
		return nil
	case l.admitted[pod.UID]:
		return l.markRunning(ctx, pod)
	}
	others := make([]*v1.Pod, 0)
	for _, p := range l.pods.activePods() {
		if p.UID != pod.UID {
			others = append(others, p)
		}
	}
	result := l.devices.admit(ctx, pod, others)
	if !result.Admit {
		klog.FromContext(ctx).Info("pod rejected", "pod", key, "reason", result.Reason, "message", result.Message)
		return l.reject(ctx, pod, result.Reason, result.Message)
	}
	if err := l.recordRunOptions(ctx, pod); err != nil {
		return err
	}
	l.admitted[pod.UID] = true
	return l.markRunning(ctx, pod)
}

// confirmDeletion is the kubelet's final delete once the containers are gone (here: at once).
func (l *podLifecycle) confirmDeletion(ctx context.Context, pod *v1.Pod) error {
	delete(l.admitted, pod.UID)
	if err := l.runOpts.remove(pod); err != nil {
		return err
	}
	err := l.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: new(int64),
		Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// reject mirrors kubelet.rejectPod: phase Failed with the admission result's reason.
func (l *podLifecycle) reject(ctx context.Context, pod *v1.Pod, reason, message string) error {
	updated := pod.DeepCopy()
	updated.Status = v1.PodStatus{
		Phase:    v1.PodFailed,
		Reason:   reason,
		Message:  "Pod was rejected: " + message,
		QOSClass: v1qos.GetPodQOS(pod),
	}
	_, err := l.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

// recordRunOptions writes what the device manager would give each container.
func (l *podLifecycle) recordRunOptions(ctx context.Context, pod *v1.Pod) error {
	out := podRunOptions{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID), Node: l.node}
	add := func(containers []v1.Container, init bool) error {
		for i := range containers {
			c := &containers[i]
			opts, err := l.devices.runOptions(ctx, pod, c)
			if err != nil {
				return fmt.Errorf("run options of container %s: %w", c.Name, err)
			}
			ids := l.devices.manager.GetDevices(string(pod.UID), c.Name)
			out.Containers = append(out.Containers, containerOptions(c, init, opts, ids))
		}
		return nil
	}
	if err := add(pod.Spec.InitContainers, true); err != nil {
		return err
	}
	if err := add(pod.Spec.Containers, false); err != nil {
		return err
	}
	return l.runOpts.write(pod, out)
}

// markRunning reports every init container completed and every container running and ready.
func (l *podLifecycle) markRunning(ctx context.Context, pod *v1.Pod) error {
	if isRunningAndReady(pod) {
		return nil
	}
	now := metav1.NewTime(time.Now())
	updated := pod.DeepCopy()
	status := &updated.Status
	status.Phase = v1.PodRunning
	status.Reason, status.Message = "", ""
	status.HostIP, status.PodIP = l.nodeIP, l.nodeIP
	status.HostIPs = []v1.HostIP{{IP: l.nodeIP}}
	status.PodIPs = []v1.PodIP{{IP: l.nodeIP}}
	status.QOSClass = v1qos.GetPodQOS(pod)
	if status.StartTime == nil {
		status.StartTime = &now
	}
	for _, t := range []v1.PodConditionType{v1.PodReadyToStartContainers, v1.PodInitialized, v1.ContainersReady,
		v1.PodReady, v1.PodScheduled} {
		setCondition(status, t, now)
	}
	status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		status.InitContainerStatuses = append(status.InitContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: containerID(pod, c.Name), Ready: true,
			State: v1.ContainerState{Terminated: &v1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}},
		})
	}
	status.ContainerStatuses = nil
	started := true
	for _, c := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, v1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: c.Image, ContainerID: containerID(pod, c.Name), Ready: true,
			Started: &started, State: v1.ContainerState{Running: &v1.ContainerStateRunning{StartedAt: now}},
		})
	}
	_, err := l.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

func containerID(pod *v1.Pod, name string) string {
	return fmt.Sprintf("akri-testbed://%s/%s", pod.UID, name)
}

func setCondition(status *v1.PodStatus, t v1.PodConditionType, now metav1.Time) {
	for i := range status.Conditions {
		if status.Conditions[i].Type == t {
			if status.Conditions[i].Status != v1.ConditionTrue {
				status.Conditions[i].Status = v1.ConditionTrue
				status.Conditions[i].LastTransitionTime = now
				status.Conditions[i].Reason, status.Conditions[i].Message = "", ""
			}
			return
		}
	}
	status.Conditions = append(status.Conditions, v1.PodCondition{Type: t, Status: v1.ConditionTrue,
		LastTransitionTime: now})
}

func isRunningAndReady(pod *v1.Pod) bool {
	if pod.Status.Phase != v1.PodRunning || len(pod.Status.ContainerStatuses) != len(pod.Spec.Containers) {
		return false
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}
