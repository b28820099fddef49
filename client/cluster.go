package client

import (
	"context"
	"net/http"
)

// ClusterStatus is a cluster node's view of the cluster (GET /v1/cluster).
type ClusterStatus struct {
	// NodeID, Address and State describe the node that answered.
	NodeID  string `json:"node_id"`
	Address string `json:"address"`
	State   string `json:"state"`
	// LeaderID and LeaderAddress are empty when no leader is known.
	LeaderID      string        `json:"leader_id"`
	LeaderAddress string        `json:"leader_address"`
	Term          uint64        `json:"term"`
	LastIndex     uint64        `json:"last_index"`
	CommitIndex   uint64        `json:"commit_index"`
	AppliedIndex  uint64        `json:"applied_index"`
	Nodes         []ClusterNode `json:"nodes"`
}

// ClusterNode is one member of the cluster and its health as it reported it.
type ClusterNode struct {
	ID           string `json:"id"`
	Address      string `json:"address"`
	Suffrage     string `json:"suffrage"`
	Leader       bool   `json:"leader"`
	Reachable    bool   `json:"reachable"`
	State        string `json:"state,omitempty"`
	Term         uint64 `json:"term,omitempty"`
	LastIndex    uint64 `json:"last_index,omitempty"`
	AppliedIndex uint64 `json:"applied_index,omitempty"`
	Error        string `json:"error,omitempty"`
}

// ClusterStatus returns the cluster as the server sees it; a 404 Error on
// a single server.
func (c *Client) ClusterStatus(ctx context.Context) (*ClusterStatus, error) {
	var out ClusterStatus
	if err := c.do(ctx, http.MethodGet, "/v1/cluster", nil, nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClusterJoin adds the running node id, reachable at its cluster address
// addr, as a voter.
func (c *Client) ClusterJoin(ctx context.Context, id, addr string) (*ClusterStatus, error) {
	var out ClusterStatus
	in := map[string]string{"node_id": id, "addr": addr}
	if err := c.do(ctx, http.MethodPost, "/v1/cluster/join", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClusterLeave removes the node id from the cluster.
func (c *Client) ClusterLeave(ctx context.Context, id string) (*ClusterStatus, error) {
	var out ClusterStatus
	in := map[string]string{"node_id": id}
	if err := c.do(ctx, http.MethodPost, "/v1/cluster/leave", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
