package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
	"k8s.io/kubernetes/pkg/kubelet/cm/devicemanager"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"
)

func TestContainerOptions(t *testing.T) {
	opts := &devicemanager.DeviceRunContainerOptions{
		Envs:        []kubecontainer.EnvVar{{Name: "A", Value: "1"}},
		Mounts:      []kubecontainer.Mount{{ContainerPath: "/c", HostPath: "/h", ReadOnly: true}},
		Devices:     []kubecontainer.DeviceInfo{{PathOnHost: "/dev/x", PathInContainer: "/dev/y", Permissions: "r"}},
		Annotations: []kubecontainer.Annotation{{Name: "k", Value: "v"}},
		CDIDevices:  []kubecontainer.CDIDevice{{Name: "vendor.com/class=dev"}},
	}
	ids := devicemanager.ResourceDeviceInstances{
		"akri.sh/cam": {"b": &pluginapi.Device{ID: "b"}, "a": &pluginapi.Device{ID: "a"}},
	}
	got := containerOptions(&v1.Container{Name: "c"}, false, opts, ids)
	want := containerRunOptions{
		Name:        "c",
		Env:         map[string]string{"A": "1"},
		Mounts:      []mountOption{{ContainerPath: "/c", HostPath: "/h", ReadOnly: true}},
		Devices:     []deviceOption{{PathOnHost: "/dev/x", PathInContainer: "/dev/y", Permissions: "r"}},
		Annotations: map[string]string{"k": "v"},
		CDIDevices:  []string{"vendor.com/class=dev"},
		DeviceIDs:   map[string][]string{"akri.sh/cam": {"a", "b"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("containerOptions:\n got %+v\nwant %+v", got, want)
	}
}

func TestContainerOptionsWithoutDevicesIsEmptyNotNull(t *testing.T) {
	data, err := json.Marshal(containerOptions(&v1.Container{Name: "c"}, true, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"c","init":true,"env":{},"mounts":[],"devices":[],"annotations":{},"cdiDevices":[],"deviceIds":{}}`
	if string(data) != want {
		t.Fatalf("got %s\nwant %s", data, want)
	}
}

func TestRunOptionsWriter(t *testing.T) {
	w := runOptionsWriter{dir: filepath.Join(t.TempDir(), "pods")}
	pod := &v1.Pod{}
	pod.Namespace, pod.Name, pod.UID = "ns", "p", types.UID("u1")
	if err := w.write(pod, podRunOptions{Namespace: "ns", Name: "p", UID: "u1"}); err != nil {
		t.Fatal(err)
	}
	var back podRunOptions
	data, err := os.ReadFile(filepath.Join(w.dir, "ns_p_u1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &back); err != nil || back.UID != "u1" {
		t.Fatalf("read back %+v, %v", back, err)
	}
	if err := w.remove(pod); err != nil {
		t.Fatal(err)
	}
	if err := w.remove(pod); err != nil {
		t.Fatalf("second remove: %v", err)
	}
}

func TestContainerDevices(t *testing.T) {
	devs := devicemanager.ResourceDeviceInstances{
		"r": {
			"d0": &pluginapi.Device{ID: "d0"},
			"d1": &pluginapi.Device{ID: "d1", Topology: &pluginapi.TopologyInfo{
				Nodes: []*pluginapi.NUMANode{{ID: 0}, {ID: 1}}}},
		},
	}
	got := containerDevices(devs)
	if len(got) != 3 {
		t.Fatalf("want one entry for d0 and one per NUMA node of d1, got %v", got)
	}
}
