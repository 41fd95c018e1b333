/** Sizes on the canvas, in canvas units (CSS px at zoom 1). The CSS uses the same numbers. */

/** Every block is drawn at this size. */
export const BLOCK_WIDTH = 176;
export const BLOCK_HEIGHT = 64;
export const BLOCK_SIZE = { width: BLOCK_WIDTH, height: BLOCK_HEIGHT } as const;
/** Room kept between a new block and its neighbours. */
export const BLOCK_GAP = 32;
/** Side of a port's square touch target (--touch in styles.css). */
export const PORT_SIZE = 44;
/** Below this zoom, blocks draw as plain rectangles, without text or ports. */
export const FAR_ZOOM = 0.4;
