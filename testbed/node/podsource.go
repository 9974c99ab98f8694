// The pods bound to this node, as the kubelet's API-server pod source sees them: an informer on
// spec.nodeName=<node>. It also answers the kubelet's pod queries (active pods, pod by name).
package main

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/kubelet/cm/containermap"
)

// podSource watches the pods bound to one node.
type podSource struct {
	factory informers.SharedInformerFactory
	lister  listersv1.PodLister
	synced  cache.InformerSynced
}

func newPodSource(client kubernetes.Interface, nodeName string) *podSource {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", nodeName).String()
		}))
	informer := factory.Core().V1().Pods()
	return &podSource{
		factory: factory,
		lister:  informer.Lister(),
		synced:  informer.Informer().HasSynced,
	}
}

// start runs the informer, calls handle with the key of every pod that changes, and waits (at
// most a minute) until the first list is in.
func (p *podSource) start(ctx context.Context, handle func(key string)) error {
	informer := p.factory.Core().V1().Pods().Informer()
	enqueue := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			handle(key)
		}
	}
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	p.factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(syncCtx.Done(), p.synced) {
		return fmt.Errorf("pod informer did not sync within a minute")
	}
	return nil
}

// activePods is the kubelet's GetActivePods: every pod bound here that has not terminated.
// The device manager drops the allocations of any pod it does not return.
func (p *podSource) activePods() []*v1.Pod {
	all, err := p.lister.List(labels.Everything())
	if err != nil {
		return nil
	}
	active := make([]*v1.Pod, 0, len(all))
	for _, pod := range all {
		if pod.Status.Phase != v1.PodSucceeded && pod.Status.Phase != v1.PodFailed {
			active = append(active, pod)
		}
	}
	return active
}

// runningContainers is this node's stand-in for the container runtime's list at start-up: the
// containers of Running pods that it reported running (with the ids it gave them).
func (p *podSource) runningContainers() runningContainers {
	out := runningContainers{containers: containermap.NewContainerMap(), ids: sets.New[string]()}
	for _, pod := range p.activePods() {
		if pod.Status.Phase != v1.PodRunning {
			continue
		}
		for _, status := range pod.Status.ContainerStatuses {
			if status.State.Running != nil && status.ContainerID == containerID(pod, status.Name) {
				out.containers.Add(string(pod.UID), status.Name, status.ContainerID)
				out.ids.Insert(status.ContainerID)
			}
		}
	}
	return out
}

// The podresources.PodsProvider methods.

func (p *podSource) GetActivePods() []*v1.Pod { return p.activePods() }

func (p *podSource) GetPods() []*v1.Pod {
	all, _ := p.lister.List(labels.Everything())
	return all
}

func (p *podSource) GetPodByName(namespace, name string) (*v1.Pod, bool) {
	pod, err := p.lister.Pods(namespace).Get(name)
	return pod, err == nil
}
