/**
 * A wire between two blocks. Ports are 44px touch targets centred on the blocks' edges, and
 * React Flow anchors edges at the far side of a port's box; the wire is drawn from port centre
 * to port centre instead, so it meets the blocks whatever the size of the touch target.
 */
import { BaseEdge, getBezierPath, Position, type EdgeProps } from "@xyflow/react";
import { memo } from "react";
import { PORT_SIZE } from "./layout";


/** Move an anchor from the outer side of its port box back to the port's centre. */
function portCentre(x: number, y: number, position: Position): { x: number; y: number } {
  const half = PORT_SIZE / 2;
  switch (position) {
    case Position.Top:
      return { x, y: y + half };
    case Position.Bottom:
      return { x, y: y - half };
    case Position.Left:
      return { x: x + half, y };
    case Position.Right:
      return { x: x - half, y };
  }
}

function WireEdgeView({ sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition, interactionWidth }: EdgeProps) {
  const source = portCentre(sourceX, sourceY, sourcePosition);
  const target = portCentre(targetX, targetY, targetPosition);
  const [path] = getBezierPath({ sourceX: source.x, sourceY: source.y, sourcePosition, targetX: target.x, targetY: target.y, targetPosition });
  return <BaseEdge path={path} interactionWidth={interactionWidth} />;
}

export const WireEdge = memo(WireEdgeView);
