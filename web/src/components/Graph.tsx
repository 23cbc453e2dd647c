import { Graph as DagreGraph, layout } from "@dagrejs/dagre";
import { Background, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo, type ReactNode } from "react";

export interface GraphNode {
  id: string;
  label: ReactNode;
  className?: string;
}

const WIDTH = 190;
const HEIGHT = 70;

/** A left-to-right graph of labelled boxes (laid out by dagre, drawn by React Flow). */
export function FlowGraph({ nodes, edges, label }: { nodes: GraphNode[]; edges: [string, string][]; label: string }) {
  const drawn = useMemo(() => {
    const graph = new DagreGraph();
    graph.setGraph({ rankdir: "LR", nodesep: 20, ranksep: 40 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const node of nodes) graph.setNode(node.id, { width: WIDTH, height: HEIGHT });
    for (const [from, to] of edges) graph.setEdge(from, to);
    layout(graph);
    const flowNodes: Node[] = nodes.map((node) => {
      const placed = graph.node(node.id);
      return {
        id: node.id, position: { x: placed.x - WIDTH / 2, y: placed.y - HEIGHT / 2 },
        className: `graph-node ${node.className ?? ""}`, data: { label: node.label },
        style: { width: WIDTH, height: HEIGHT }, connectable: false, draggable: false,
      };
    });
    const flowEdges: Edge[] = edges.map(([from, to]) => ({ id: `${from}->${to}`, source: from, target: to }));
    return { nodes: flowNodes, edges: flowEdges };
  }, [nodes, edges]);
  return (
    <div className="dag" aria-label={label}>
      <ReactFlow nodes={drawn.nodes} edges={drawn.edges} fitView nodesConnectable={false}
        proOptions={{ hideAttribution: true }}>
        <Background />
      </ReactFlow>
    </div>
  );
}

export function shortDigest(digest: unknown): string {
  return typeof digest === "string" && digest ? digest.slice(0, 12) : "—";
}
