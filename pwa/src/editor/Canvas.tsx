/**
 * The node canvas. React Flow draws the blocks and wires; this component feeds it the design,
 * turns its events into commands (a whole drag is one command), and handles touch: one finger
 * drags a block or pans, two fingers pan and zoom (see usePinchPan), taps wire ports together.
 */
import {
  Background,
  BackgroundVariant,
  ReactFlow,
  applyNodeChanges,
  useNodesInitialized,
  useReactFlow,
  type Connection,
  type Edge as FlowEdge,
  type NodeChange,
  type NodeTypes,
  type OnNodeDrag,
  type ReactFlowInstance,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type MouseEvent } from "react";
import { GRID_SIZE } from "../model/graph";
import { showToast } from "../ui/toast";
import { connectInto, BlockNodeComponent } from "./BlockNode";
import { moveBlocks } from "./commands";
import { syncNodes, toFlowEdges, type BlockNode } from "./flow";
import { select, setConnectFrom, useEditor } from "./store";
import { usePinchPan } from "./usePinchPan";
import { useValidation } from "./validation";

export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 2;
/** Room around the design when fitting it to the screen, as a fraction of the viewport. */
export const FIT_PADDING = 0.15;
/** Fitting never zooms in past this, so a small design is not blown up. */
export const FIT_MAX_ZOOM = 1;
/** Wires are easy to tap: this much around the line counts, in canvas units. */
const EDGE_HIT_WIDTH = 28;
const SNAP_GRID: [number, number] = [GRID_SIZE, GRID_SIZE];
const NODE_TYPES: NodeTypes = { block: BlockNodeComponent };

/** Zoom and pan so the whole design shows. */
export function fitDesign(flow: ReactFlowInstance<BlockNode>): Promise<boolean> {
  return flow.fitView({ padding: FIT_PADDING, maxZoom: FIT_MAX_ZOOM });
}

const onlyLayoutChanges = (change: NodeChange<BlockNode>) => change.type === "position" || change.type === "dimensions";

export function Canvas() {
  const design = useEditor((s) => s.design);
  const selection = useEditor((s) => s.selection);
  const connectFrom = useEditor((s) => s.connectFrom);
  const offending = useValidation((s) => s.offending);
  const flow = useReactFlow<BlockNode>();
  const container = useRef<HTMLDivElement>(null);
  usePinchPan(container);

  const [nodes, setNodes] = useState<BlockNode[]>([]);
  useEffect(() => {
    setNodes((previous) => (design ? syncNodes(previous, { design, selection, offending, connectFrom }) : []));
  }, [design, selection, offending, connectFrom]);
  const edges = useMemo(() => (design ? toFlowEdges(design.edges, selection) : []), [design, selection]);

  // Fit each newly opened design to the screen once its blocks are in React Flow and measured.
  const initialised = useNodesInitialized();
  const fitPending = useRef<string | null>(null);
  const designId = design?.id ?? null;
  useEffect(() => {
    fitPending.current = designId;
  }, [designId]);
  useEffect(() => {
    if (!fitPending.current || !initialised || nodes.length === 0) return;
    const frame = requestAnimationFrame(() => {
      fitPending.current = null;
      void fitDesign(flow);
    });
    return () => cancelAnimationFrame(frame);
  }, [nodes, initialised, flow]);

  // Selection and positions are the editor's; React Flow only reports sizes and drag moves.
  const onNodesChange = useCallback((changes: NodeChange<BlockNode>[]) => {
    const layout = changes.filter(onlyLayoutChanges);
    if (layout.length > 0) setNodes((current) => applyNodeChanges(layout, current));
  }, []);

  const onNodeDragStop: OnNodeDrag<BlockNode> = useCallback((_event, _node, dragged) => {
    moveBlocks(new Map(dragged.map((node) => [node.id, node.position])));
  }, []);

  const onNodeClick = useCallback((_event: MouseEvent, node: BlockNode) => {
    const pending = useEditor.getState().connectFrom;
    if (pending === node.id) setConnectFrom(null);
    else if (pending) connectInto(node.id);
    else select({ kind: "block", id: node.id });
  }, []);

  const onEdgeClick = useCallback((_event: MouseEvent, edge: FlowEdge) => {
    select({ kind: "edge", edge: [edge.source, edge.target] });
  }, []);

  const onPaneClick = useCallback(() => {
    if (useEditor.getState().connectFrom) showToast("Wiring cancelled.");
    select(null);
  }, []);

  // Dragging from an output port to an input port (mouse, pen) wires like two taps.
  const onConnect = useCallback(({ source, target }: Connection) => {
    setConnectFrom(source);
    connectInto(target);
  }, []);

  return (
    <div ref={container} className={connectFrom ? "canvas canvas--connecting" : "canvas"}>
      <ReactFlow<BlockNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onNodeDragStop={onNodeDragStop}
        onNodeClick={onNodeClick}
        onEdgeClick={onEdgeClick}
        onPaneClick={onPaneClick}
        onConnect={onConnect}
        defaultEdgeOptions={{ interactionWidth: EDGE_HIT_WIDTH }}
        snapToGrid
        snapGrid={SNAP_GRID}
        minZoom={MIN_ZOOM}
        maxZoom={MAX_ZOOM}
        panOnDrag={false}
        zoomOnPinch={false}
        zoomOnDoubleClick={false}
        selectNodesOnDrag={false}
        connectOnClick={false}
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={null}
        onlyRenderVisibleElements
        proOptions={{ hideAttribution: true }}
      >
        <Background variant={BackgroundVariant.Dots} gap={GRID_SIZE * 2} size={1.5} />
      </ReactFlow>
    </div>
  );
}
