/** The block palette: every catalogue block, with its colour and one-line doc. Tap to add. */
import { useStoreApi } from "@xyflow/react";
import { catalogue } from "../model/catalogue";
import { BottomSheet } from "../ui/BottomSheet";
import { openSheet } from "../ui/sheets";
import { showToast } from "../ui/toast";
import { addBlock } from "./commands";
import { BLOCK_HEIGHT, BLOCK_WIDTH } from "./layout";
import { useRevealBlock } from "./viewport";

const BLOCKS = [...catalogue.blocks.values()];

export function Palette() {
  const store = useStoreApi();
  const reveal = useRevealBlock();

  const add = (type: string, label: string) => {
    // The centre of what the canvas shows now, in canvas units.
    const { width, height, transform } = store.getState();
    const [x, y, zoom] = transform;
    const centre = { x: (width / 2 - x) / zoom - BLOCK_WIDTH / 2, y: (height / 2 - y) / zoom - BLOCK_HEIGHT / 2 };
    const id = addBlock(type, centre);
    openSheet(null);
    if (!id) return;
    showToast(`Added ${label} ${id}.`);
    // The free spot nearest the centre may be off screen when the middle is crowded.
    reveal(id);
  };

  return (
    <BottomSheet title="Blocks" subtitle="Tap a block to add it in the middle of the canvas." size="tall" onClose={() => openSheet(null)}>
      <ul className="palette">
        {BLOCKS.map(({ type, spec }) => (
          <li key={type}>
            <button type="button" className="palette__item" aria-label={`Add ${spec.label}`} onClick={() => add(type, spec.label)}>
              <span className="palette__swatch" style={{ background: spec.color }} aria-hidden="true" />
              <span className="palette__text">
                <span className="palette__label">{spec.label}</span>
                <span className="palette__doc">{spec.doc}</span>
              </span>
            </button>
          </li>
        ))}
      </ul>
    </BottomSheet>
  );
}
