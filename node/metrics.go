package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics are the node's own series; the HTTP layer registers the
// request series in the same registry.
type nodeMetrics struct {
	corrupt   prometheus.Counter
	collected prometheus.Counter
	swept     prometheus.Counter
	sweptB    prometheus.Counter
	repaired  prometheus.Counter
	moved     prometheus.Counter
	movedB    prometheus.Counter
	dropped   prometheus.Counter
	received  prometheus.Counter
	pending   prometheus.Gauge
	underRepl prometheus.Gauge
}

func newNodeMetrics(n *Node) *nodeMetrics {
	m := &nodeMetrics{
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_chunk_corrupt_total",
			Help: "Chunk reads that failed checksum verification.",
		}),
		collected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_gc_collected_chunks_total",
			Help: "Unreferenced chunk records removed from the metadata by this node as leader.",
		}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_gc_swept_chunks_total",
			Help: "Chunks deleted from this node's disk because no metadata references them.",
		}),
		sweptB: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_gc_swept_bytes_total",
			Help: "Bytes of the chunks counted by attachments_gc_swept_chunks_total.",
		}),
		repaired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_chunk_repairs_total",
			Help: "Local chunk copies replaced or filled in from another node.",
		}),
		moved: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_rebalance_copied_chunks_total",
			Help: "Chunk copies this node sent to owners that lacked them.",
		}),
		movedB: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_rebalance_copied_bytes_total",
			Help: "Bytes of the copies counted by attachments_rebalance_copied_chunks_total.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_rebalance_dropped_chunks_total",
			Help: "Local copies deleted because every owner holds the chunk and this node is not one.",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "attachments_peer_chunk_bytes_received_total",
			Help: "Chunk bytes other nodes sent to this one (writes and rebalancing).",
		}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attachments_rebalance_pending_chunks",
			Help: "Chunks this node held at its last rebalance pass that were not where the layout wants them.",
		}),
		underRepl: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "attachments_under_replicated_chunks",
			Help: "Chunks whose first reachable owner is this node and that have fewer " +
				"copies than the layout asks, at the last pass.",
		}),
	}
	n.registry.MustRegister(m.corrupt, m.collected, m.swept, m.sweptB, m.repaired, m.moved,
		m.movedB, m.dropped, m.received, m.pending, m.underRepl, &storeCollector{n: n})
	return m
}

// storeCollector reports the sizes of the metadata and the chunk store at
// scrape time, so the figures are never stale and cost nothing between
// scrapes.
type storeCollector struct{ n *Node }

var (
	descStorage = prometheus.NewDesc("attachments_storage_bytes",
		"Bytes this node's chunk store occupies on disk, pack files including dead space.", nil, nil)
	descChunkBytes = prometheus.NewDesc("attachments_chunk_store_bytes",
		"Bytes of the live chunks held by this node's chunk store.", nil, nil)
	descStored = prometheus.NewDesc("attachments_stored_bytes",
		"Bytes of distinct chunks the cluster metadata references (after deduplication).", nil, nil)
	descLogical = prometheus.NewDesc("attachments_logical_bytes",
		"Sum of the sizes of all live references, as if nothing were deduplicated.", nil, nil)
	descRefs = prometheus.NewDesc("attachments_ref_count",
		"Live references across the cluster.", nil, nil)
	descFiles = prometheus.NewDesc("attachments_files",
		"Distinct files (contents) with at least one live reference.", nil, nil)
	descChunks = prometheus.NewDesc("attachments_chunks",
		"Distinct chunks recorded in the metadata.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStorage, descChunkBytes, descStored, descLogical,
		descRefs, descFiles, descChunks} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.n.chunks.Stats()
	ch <- prometheus.MustNewConstMetric(descStorage, prometheus.GaugeValue, float64(st.DiskBytes))
	ch <- prometheus.MustNewConstMetric(descChunkBytes, prometheus.GaugeValue, float64(st.StoredBytes))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ms, err := c.n.meta.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descRefs, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(descStored, prometheus.GaugeValue, float64(ms.StoredBytes))
	ch <- prometheus.MustNewConstMetric(descLogical, prometheus.GaugeValue, float64(ms.LogicalBytes))
	ch <- prometheus.MustNewConstMetric(descRefs, prometheus.GaugeValue, float64(ms.LiveReferences))
	ch <- prometheus.MustNewConstMetric(descFiles, prometheus.GaugeValue, float64(ms.Files))
	ch <- prometheus.MustNewConstMetric(descChunks, prometheus.GaugeValue, float64(ms.Chunks))
}
