// Run options files: what the container runtime would be told for each container of an admitted
// pod, as the device manager computed it. Tests read these instead of a container's environment.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/kubelet/cm/devicemanager"
)

// podRunOptions is the content of <run-options-dir>/<namespace>_<name>_<uid>.json.
type podRunOptions struct {
	Namespace  string                `json:"namespace"`
	Name       string                `json:"name"`
	UID        string                `json:"uid"`
	Node       string                `json:"node"`
	Containers []containerRunOptions `json:"containers"`
}

type containerRunOptions struct {
	Name        string              `json:"name"`
	Init        bool                `json:"init"`
	Env         map[string]string   `json:"env"`
	Mounts      []mountOption       `json:"mounts"`
	Devices     []deviceOption      `json:"devices"`
	Annotations map[string]string   `json:"annotations"`
	CDIDevices  []string            `json:"cdiDevices"`
	DeviceIDs   map[string][]string `json:"deviceIds"`
}

type mountOption struct {
	ContainerPath string `json:"containerPath"`
	HostPath      string `json:"hostPath"`
	ReadOnly      bool   `json:"readOnly"`
}

type deviceOption struct {
	PathOnHost      string `json:"pathOnHost"`
	PathInContainer string `json:"pathInContainer"`
	Permissions     string `json:"permissions"`
}

// containerOptions converts the device manager's answer for one container.
func containerOptions(container *v1.Container, init bool, opts *devicemanager.DeviceRunContainerOptions,
	ids devicemanager.ResourceDeviceInstances) containerRunOptions {
	out := containerRunOptions{
		Name:        container.Name,
		Init:        init,
		Env:         map[string]string{},
		Mounts:      []mountOption{},
		Devices:     []deviceOption{},
		Annotations: map[string]string{},
		CDIDevices:  []string{},
		DeviceIDs:   map[string][]string{},
	}
	for resourceName, devs := range ids {
		for id := range devs {
			out.DeviceIDs[resourceName] = append(out.DeviceIDs[resourceName], id)
		}
		sort.Strings(out.DeviceIDs[resourceName])
	}
	if opts == nil {
		return out
	}
	for _, e := range opts.Envs {
		out.Env[e.Name] = e.Value
	}
	for _, m := range opts.Mounts {
		out.Mounts = append(out.Mounts, mountOption{ContainerPath: m.ContainerPath, HostPath: m.HostPath, ReadOnly: m.ReadOnly})
	}
	for _, d := range opts.Devices {
		out.Devices = append(out.Devices, deviceOption{PathOnHost: d.PathOnHost, PathInContainer: d.PathInContainer,
			Permissions: d.Permissions})
	}
	for _, a := range opts.Annotations {
		out.Annotations[a.Name] = a.Value
	}
	for _, c := range opts.CDIDevices {
		out.CDIDevices = append(out.CDIDevices, c.Name)
	}
	return out
}

// runOptionsWriter writes and removes the per-pod files.
type runOptionsWriter struct {
	dir string
}

func (w runOptionsWriter) path(pod *v1.Pod) string {
	return filepath.Join(w.dir, fmt.Sprintf("%s_%s_%s.json", pod.Namespace, pod.Name, pod.UID))
}

// write replaces the pod's file atomically.
func (w runOptionsWriter) write(pod *v1.Pod, opts podRunOptions) error {
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(opts, "", "  ")
	if err != nil {
		return err
	}
	tmp := w.path(pod) + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, w.path(pod))
}

func (w runOptionsWriter) remove(pod *v1.Pod) error {
	if err := os.Remove(w.path(pod)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
