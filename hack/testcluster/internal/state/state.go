// Package state is the on-disk record of one test cluster: where its files are, which ports,
// network namespace and processes it uses. `up` writes it, `down` and `env` read it.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the name of the state file inside the state directory.
const FileName = "state.json"

// Process is one background process of the cluster.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// Exe is the resolved binary path; `down` signals a PID only while /proc/PID/exe still
	// points at it, so a recycled PID is never hit.
	Exe string `json:"exe"`
	Log string `json:"log"`
}

// Ports are the loopback ports of the control plane.
type Ports struct {
	EtcdClient int `json:"etcdClient"`
	EtcdPeer   int `json:"etcdPeer"`
	APIServer  int `json:"apiServer"`
	KCM        int `json:"kcm"`
}

// State is the content of DIR/state.json.
type State struct {
	Dir        string    `json:"dir"`
	Subnet     string    `json:"subnet"`
	Gateway    string    `json:"gateway"`
	Netns      string    `json:"netns"`
	Veth       string    `json:"veth"`
	NodeName   string    `json:"nodeName"`
	BinDir     string    `json:"binDir"`
	Ports      Ports     `json:"ports"`
	Processes  []Process `json:"processes"`
	Kubeconfig string    `json:"kubeconfig"`
}

// Path returns the state file of dir.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Load reads the state of dir. It returns an error wrapping os.ErrNotExist when there is none.
func Load(dir string) (*State, error) {
	b, err := os.ReadFile(Path(dir))
	if err != nil {
		return nil, fmt.Errorf("read cluster state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", Path(dir), err)
	}
	return &s, nil
}

// Exists reports whether dir holds a state file.
func Exists(dir string) bool {
	_, err := os.Stat(Path(dir))
	return !errors.Is(err, os.ErrNotExist)
}

// Save writes the state atomically.
func (s *State) Save() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode cluster state: %w", err)
	}
	tmp := Path(s.Dir) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	if err := os.Rename(tmp, Path(s.Dir)); err != nil {
		return fmt.Errorf("write cluster state: %w", err)
	}
	return nil
}

// Remove deletes the state file; a missing file is not an error.
func Remove(dir string) error {
	if err := os.Remove(Path(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove cluster state: %w", err)
	}
	return nil
}

// LogDir is where the cluster's processes write their logs.
func LogDir(dir string) string { return filepath.Join(dir, "logs") }
