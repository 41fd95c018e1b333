// Writes the app icons in public/ as real PNGs: a small block graph (four blocks, four wires) on
// the app's dark background. No image library: shapes are signed distance functions, sampled
// 4x4 per pixel for anti-aliasing, and the PNG is assembled by hand with zlib.
// Run: npm run icons
import { writeFileSync } from "node:fs";
import { deflateSync } from "node:zlib";

const OUT_DIR = new URL("../public/", import.meta.url);
const SUPERSAMPLE = 4; // samples per pixel along each axis
const BACKGROUND = [0x1b, 0x1f, 0x2a];
const WIRE = [0xcb, 0xd5, 0xe1];

/** Shapes in unit coordinates (0..1 across the icon's content box), drawn in order. */
const SHAPES = [
  { kind: "wire", from: [0.5, 0.22], to: [0.28, 0.5] },
  { kind: "wire", from: [0.5, 0.22], to: [0.72, 0.5] },
  { kind: "wire", from: [0.28, 0.5], to: [0.5, 0.78] },
  { kind: "wire", from: [0.72, 0.5], to: [0.5, 0.78] },
  { kind: "block", centre: [0.5, 0.22], colour: [0x0e, 0xa5, 0xe9] },
  { kind: "block", centre: [0.28, 0.5], colour: [0x8b, 0x5c, 0xf6] },
  { kind: "block", centre: [0.72, 0.5], colour: [0xd9, 0x46, 0xef] },
  { kind: "block", centre: [0.5, 0.78], colour: [0xef, 0x44, 0x44] },
];
const BLOCK_HALF = [0.15, 0.085];
const BLOCK_RADIUS = 0.04;
const WIRE_HALF_WIDTH = 0.022;

function roundedBox(px, py, cx, cy, hx, hy, r) {
  const qx = Math.abs(px - cx) - hx + r;
  const qy = Math.abs(py - cy) - hy + r;
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0));
  return outside + Math.min(Math.max(qx, qy), 0) - r;
}

function segment(px, py, [ax, ay], [bx, by], halfWidth) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy) - halfWidth;
}

/** The colour and opacity at a point: background plate, then wires, then blocks. */
function sample(u, v, { fullBleed, contentScale }) {
  const plate = fullBleed ? -1 : roundedBox(u, v, 0.5, 0.5, 0.5, 0.5, 0.2);
  if (plate > 0) return null;
  let colour = BACKGROUND;
  // Content is scaled about the centre so maskable icons keep it inside the safe zone.
  const x = 0.5 + (u - 0.5) / contentScale;
  const y = 0.5 + (v - 0.5) / contentScale;
  for (const shape of SHAPES) {
    const d = shape.kind === "wire"
      ? segment(x, y, shape.from, shape.to, WIRE_HALF_WIDTH)
      : roundedBox(x, y, shape.centre[0], shape.centre[1], BLOCK_HALF[0], BLOCK_HALF[1], BLOCK_RADIUS);
    if (d <= 0) colour = shape.kind === "wire" ? WIRE : shape.colour;
  }
  return colour;
}

function render(size, options) {
  const rgba = new Uint8Array(size * size * 4);
  const n = SUPERSAMPLE * SUPERSAMPLE;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const c = sample((px + (sx + 0.5) / SUPERSAMPLE) / size, (py + (sy + 0.5) / SUPERSAMPLE) / size, options);
          if (c) { r += c[0]; g += c[1]; b += c[2]; a += 1; }
        }
      }
      const i = (py * size + px) * 4;
      // Colour is the mean over covered samples (straight alpha), alpha the covered fraction.
      rgba[i] = a ? Math.round(r / a) : 0;
      rgba[i + 1] = a ? Math.round(g / a) : 0;
      rgba[i + 2] = a ? Math.round(b / a) : 0;
      rgba[i + 3] = Math.round((255 * a) / n);
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function png(size, rgba) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  const rows = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    rows[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(rows, y * (size * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(rows, { level: 9 })),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// Maskable icons are cropped to a circle of 80% of their size, so their content shrinks to fit.
const ICONS = [
  { file: "icon-192.png", size: 192, fullBleed: false, contentScale: 1 },
  { file: "icon-512.png", size: 512, fullBleed: false, contentScale: 1 },
  { file: "icon-maskable-512.png", size: 512, fullBleed: true, contentScale: 0.72 },
  { file: "apple-touch-icon.png", size: 180, fullBleed: true, contentScale: 0.85 },
];

for (const { file, size, ...options } of ICONS) {
  writeFileSync(new URL(file, OUT_DIR), png(size, render(size, options)));
  console.log(`wrote public/${file} (${size}x${size})`);
}
