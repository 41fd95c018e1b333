/**
 * The node canvas. React Flow draws the blocks and wires; this component feeds it the design,
 * turns its events into commands (a whole drag is one command), and handles touch: one finger
 * drags a block or pans, two fingers pan and zoom (see usePinchPan), taps wire ports together.
 * Arrow keys move the selected block a grid cell (four with Shift), each press one command.
 */
import {
  Background,
  BackgroundVariant,
  ReactFlow,
  applyNodeChanges,
  useNodesInitialized,
  useReactFlow,
  useStore,
  useStoreApi,
  type Connection,
  type Edge as FlowEdge,
  type EdgeTypes,
  type NodeChange,
  type NodeTypes,
  type OnNodeDrag,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type MouseEvent } from "react";
import { findComponent, GRID_SIZE } from "../model/graph";
import { showToast } from "../ui/toast";
import { BlockNodeComponent, isFar } from "./BlockNode";
import { moveBlocks, nudgeBlock, NUDGE_CELLS, NUDGE_FAST_CELLS } from "./commands";
import { syncNodes, toFlowEdges, type BlockNode } from "./flow";
import { select, useEditor } from "./store";
import { usePinchPan } from "./usePinchPan";
import { fitDesign } from "./viewport";
import { useValidation } from "./validation";
import { WireEdge } from "./WireEdge";
import { tapBlock, wire } from "./wiring";

export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 2;
const SNAP_GRID: [number, number] = [GRID_SIZE, GRID_SIZE];
const NODE_TYPES: NodeTypes = { block: BlockNodeComponent };
const EDGE_TYPES: EdgeTypes = { wire: WireEdge };

const onlyLayoutChanges = (change: NodeChange<BlockNode>) => change.type === "position" || change.type === "dimensions";

const ARROW_DIRECTIONS: Readonly<Record<string, { x: number; y: number; name: string }>> = {
  ArrowUp: { x: 0, y: -1, name: "up" },
  ArrowDown: { x: 0, y: 1, name: "down" },
  ArrowLeft: { x: -1, y: 0, name: "left" },
  ArrowRight: { x: 1, y: 0, name: "right" },
};

/** The id of the block whose node (or a port inside it) is the event's target. */
function blockIdOf(target: EventTarget): string | undefined {
  return target instanceof HTMLElement ? target.closest<HTMLElement>(".react-flow__node")?.dataset.id : undefined;
}

export function Canvas() {
  const design = useEditor((s) => s.design);
  const selection = useEditor((s) => s.selection);
  const connectFrom = useEditor((s) => s.connectFrom);
  const offending = useValidation((s) => s.offending);
  const far = useStore(isFar);
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

  // Taps on blocks are handled by the blocks; from the keyboard, Enter or Space on a focused
  // block counts as a tap.
  const onKeyDown = useCallback((event: KeyboardEvent) => {
    const target = event.target;
    if (!(target instanceof HTMLElement) || !target.classList.contains("react-flow__node") || !target.dataset.id) return;
    if (event.key !== "Enter" && event.key !== " ") return;
    event.preventDefault();
    tapBlock(target.dataset.id);
  }, []);

  // React Flow's own arrow-key moves change a node's position outside the command stack (unsaved,
  // not undoable), so arrow keys on a block are caught before they reach it and become commands.
  const flowStore = useStoreApi<BlockNode>();
  const onKeyDownCapture = useCallback(
    (event: KeyboardEvent) => {
      const direction = ARROW_DIRECTIONS[event.key];
      const id = direction && blockIdOf(event.target);
      if (!id) return;
      event.preventDefault(); // no page scroll either
      event.stopPropagation();
      const selection = useEditor.getState().selection;
      if (selection?.kind !== "block" || selection.id !== id) return;
      const cells = event.shiftKey ? NUDGE_FAST_CELLS : NUDGE_CELLS;
      if (!nudgeBlock(id, { x: direction.x * cells, y: direction.y * cells })) return;
      // Say where it went, as React Flow's own keyboard move would for a screen reader.
      const design = useEditor.getState().design;
      const position = design && findComponent(design, id)?.position;
      const { ariaLabelConfig } = flowStore.getState();
      if (position) flowStore.setState({ ariaLiveMessage: ariaLabelConfig["node.a11yDescription.ariaLiveMessage"]({ direction: direction.name, ...position }) });
    },
    [flowStore],
  );

  const onEdgeClick = useCallback((_event: MouseEvent, edge: FlowEdge) => {
    select({ kind: "edge", edge: [edge.source, edge.target] });
  }, []);

  const onPaneClick = useCallback(() => {
    if (useEditor.getState().connectFrom) showToast("Wiring cancelled.");
    select(null);
  }, []);

  // Dragging from an output port to an input port (mouse, pen) wires like two taps.
  const onConnect = useCallback(({ source, target }: Connection) => wire(source, target), []);

  return (
    <div ref={container} className={["canvas", connectFrom && "canvas--connecting", far && "canvas--far"].filter(Boolean).join(" ")} onKeyDown={onKeyDown} onKeyDownCapture={onKeyDownCapture}>
      <ReactFlow<BlockNode>
        nodes={nodes}
        edges={edges}
        nodeTypes={NODE_TYPES}
        edgeTypes={EDGE_TYPES}
        onNodesChange={onNodesChange}
        onNodeDragStop={onNodeDragStop}
        onEdgeClick={onEdgeClick}
        onPaneClick={onPaneClick}
        onConnect={onConnect}
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
        {/* Far out the dots would be noise, and costly to repaint on every frame of a pan. */}
        {!far && <Background variant={BackgroundVariant.Dots} gap={GRID_SIZE * 2} size={1.5} />}
      </ReactFlow>
    </div>
  );
}
