import { Graph, layout } from "@dagrejs/dagre";
import { Background, Controls, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import type { Step } from "../api/types";
import { formatDuration } from "./lists";

const NODE_WIDTH = 170;
const NODE_HEIGHT = 78;

/** Edges between steps: each step's upstream steps, or (when the spec no longer compiles) the order they ran in. */
export function stepEdges(steps: Step[]): [string, string][] {
  const names = new Set(steps.map((step) => step.name));
  if (steps.every((step) => step.upstream === null)) {
    const ordered = [...steps].sort((a, b) => a.position - b.position);
    return ordered.slice(1).map((step, index) => [ordered[index].name, step.name]);
  }
  return steps.flatMap((step) => (step.upstream ?? []).filter((from) => names.has(from)).map((from) => [from, step.name] as [string, string]));
}

/** Positions from a left-to-right dagre layout of the steps. */
export function layoutSteps(steps: Step[], edges: [string, string][]): Map<string, { x: number; y: number }> {
  const graph = new Graph();
  graph.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 48 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const step of steps) graph.setNode(step.name, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const [from, to] of edges) graph.setEdge(from, to);
  layout(graph);
  return new Map(steps.map((step) => {
    const placed = graph.node(step.name);
    return [step.name, { x: placed.x - NODE_WIDTH / 2, y: placed.y - NODE_HEIGHT / 2 }];
  }));
}

export function RunDag({ steps, selected, onSelect }:
  { steps: Step[]; selected: string | null; onSelect: (name: string) => void }) {
  const { nodes, edges } = useMemo(() => {
    const pairs = stepEdges(steps);
    const places = layoutSteps(steps, pairs);
    const flowNodes: Node[] = steps.map((step) => ({
      id: step.name,
      position: places.get(step.name) ?? { x: 0, y: 0 },
      className: `step-node ${step.state}`,
      selected: step.name === selected,
      data: { label: <StepLabel step={step} /> },
      style: { width: NODE_WIDTH, height: NODE_HEIGHT },
      connectable: false,
      draggable: false,
    }));
    const flowEdges: Edge[] = pairs.map(([from, to]) => ({ id: `${from}->${to}`, source: from, target: to, animated: steps.find((s) => s.name === to)?.state === "running" }));
    return { nodes: flowNodes, edges: flowEdges };
  }, [steps, selected]);
  return (
    <div className="dag" aria-label="the run's steps as a graph">
      <ReactFlow nodes={nodes} edges={edges} fitView nodesConnectable={false} proOptions={{ hideAttribution: true }}
        onNodeClick={(_, node) => onSelect(node.id)}>
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

function StepLabel({ step }: { step: Step }) {
  return (
    <div className="step-label">
      <strong>{step.name}</strong> <span className={`state ${step.state}`}>{step.state}</span>
      <div className="hint">
        {formatDuration(step.duration_s)}
        {step.cache_hit && " · cached"}
        {step.attempts > 1 && ` · ${step.attempts} attempts`}
      </div>
    </div>
  );
}
