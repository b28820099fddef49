package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/keywarden/keywarden/internal/cluster"
)

// Cluster is the cluster node behind /v1/cluster (*cluster.Store).
type Cluster interface {
	// Status reports the node's view of the cluster and each member's
	// health; it answers without a quorum.
	Status(ctx context.Context) (cluster.Status, error)
	// Join adds a node as a voter (forwarded to the leader).
	Join(ctx context.Context, id, addr string) error
	// Leave removes a node (forwarded to the leader).
	Leave(ctx context.Context, id string) error
}

// ClusterJoin is the body of POST /v1/cluster/join.
type ClusterJoin struct {
	// NodeID is the new node's --node-id.
	NodeID string `json:"node_id"`
	// Addr is the new node's cluster address (its --cluster-addr, or
	// --cluster-advertise), HOST:PORT.
	Addr string `json:"addr"`
}

// ClusterLeave is the body of POST /v1/cluster/leave.
type ClusterLeave struct {
	NodeID string `json:"node_id"`
}

// clusterNode returns the node, or a 404 on a single server.
func (h *Handler) clusterNode() (Cluster, error) {
	if h.cfg.Cluster == nil {
		return nil, notFound("this server is not a cluster node (start it with --cluster-addr)")
	}
	return h.cfg.Cluster, nil
}

func (h *Handler) clusterStatus(w http.ResponseWriter, c *call) error {
	n, err := h.clusterNode()
	if err != nil {
		return err
	}
	st, err := n.Status(c.ctx)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (h *Handler) clusterJoin(w http.ResponseWriter, c *call) error {
	n, err := h.clusterNode()
	if err != nil {
		return err
	}
	var req ClusterJoin
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	req.NodeID, req.Addr = strings.TrimSpace(req.NodeID), strings.TrimSpace(req.Addr)
	if req.NodeID == "" || req.Addr == "" {
		return badRequest("node_id and addr (the new node's cluster address, HOST:PORT) are required")
	}
	if err := n.Join(c.ctx, req.NodeID, req.Addr); err != nil {
		return err
	}
	return h.clusterStatus(w, c)
}

func (h *Handler) clusterLeave(w http.ResponseWriter, c *call) error {
	n, err := h.clusterNode()
	if err != nil {
		return err
	}
	var req ClusterLeave
	if err := decodeJSON(c.r, &req, false); err != nil {
		return err
	}
	if strings.TrimSpace(req.NodeID) == "" {
		return badRequest("node_id is required")
	}
	if err := n.Leave(c.ctx, strings.TrimSpace(req.NodeID)); err != nil {
		return err
	}
	return h.clusterStatus(w, c)
}
